package tui

import (
	"fmt"
	"math"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/optlab/optlab/core"
)

// eighths are the partial blocks of a vertical bar, one eighth to seven.
var eighths = []rune("▁▂▃▄▅▆▇")

// quantHist is a histogram of float values with a quantization grid drawn
// over it: the clipping range as two vertical markers (values outside it
// are clipped, their bars drawn ▓ instead of █) and, under the bars, a tick
// per grid point when the ticks are at least two columns apart; otherwise
// the last line says the grid is too fine to draw and gives its step.
type quantHist struct {
	hist             core.Histogram
	clipMin, clipMax float64
	step             float64
}

// View draws the histogram in w×h cells: h−2 rows of bars, the axis with
// the grid ticks and the clip range as [ and ], and a line of figures.
func (q quantHist) View(st *Styles, w, h int) string {
	if w < 8 || h < 3 || len(q.hist.Counts) == 0 {
		return ""
	}
	lo := math.Min(float64(q.hist.Min), q.clipMin)
	hi := math.Max(float64(q.hist.Max), q.clipMax)
	if hi <= lo {
		hi = lo + 1
	}
	pad := (hi - lo) * 0.02
	lo, hi = lo-pad, hi+pad
	col := func(x float64) int {
		return min(w-1, max(0, int((x-lo)/(hi-lo)*float64(w))))
	}
	// Per column, the counts of the bins overlapping it, shared out in
	// proportion to the overlap, so wide terminals show a smooth shape.
	cols := make([]float64, w)
	n := len(q.hist.Counts)
	bw := float64(q.hist.Max-q.hist.Min) / float64(n)
	for c := range w {
		xa := lo + float64(c)*(hi-lo)/float64(w)
		xb := xa + (hi-lo)/float64(w)
		for b, cnt := range q.hist.Counts {
			if cnt == 0 {
				continue
			}
			ba := float64(q.hist.Min) + float64(b)*bw
			bb := ba + bw
			if bw == 0 { // every value the same
				if ba >= xa && ba < xb {
					cols[c] += float64(cnt)
				}
				continue
			}
			if ov := math.Min(xb, bb) - math.Max(xa, ba); ov > 0 {
				cols[c] += float64(cnt) * ov / bw
			}
		}
	}
	most := 0.0
	for _, v := range cols {
		most = math.Max(most, v)
	}
	rows := h - 2
	cmin, cmax := col(q.clipMin), col(q.clipMax)
	levels := 0
	if q.step > 0 {
		levels = int(math.Round((q.clipMax-q.clipMin)/q.step)) + 1
	}
	var lines []string
	for r := range rows {
		var b strings.Builder
		for c := range w {
			lvl := 0
			if most > 0 {
				lvl = int(math.Round(cols[c] / most * float64(rows*8)))
				if cols[c] > 0 && lvl == 0 {
					lvl = 1 // a bin with weights is never drawn empty
				}
			}
			fill := lvl - (rows-1-r)*8
			clipped := c < cmin || c > cmax
			switch {
			case fill >= 8 && clipped:
				b.WriteString(st.Warn.Render("▓"))
			case fill >= 8:
				b.WriteString(st.Accent.Render("█"))
			case fill > 0 && clipped:
				b.WriteString(st.Warn.Render(string(eighths[fill-1])))
			case fill > 0:
				b.WriteString(st.Accent.Render(string(eighths[fill-1])))
			case c == cmin || c == cmax:
				b.WriteString(st.Warn.Render("┊"))
			default:
				b.WriteByte(' ')
			}
		}
		lines = append(lines, b.String())
	}
	axis := []rune(strings.Repeat("─", w))
	fine := levels < 2 || 2*levels > cmax-cmin+1
	if !fine {
		for i := range levels {
			axis[col(q.clipMin+float64(i)*q.step)] = '┴'
		}
	}
	axis[cmin], axis[cmax] = '[', ']'
	lines = append(lines, st.Faint.Render(string(axis[:cmin]))+st.Warn.Render("[")+
		st.Muted.Render(string(axis[cmin+1:max(cmin+1, cmax)]))+st.Warn.Render(string(axis[cmax:cmax+1]))+
		st.Faint.Render(string(axis[cmax+1:])))
	if cmin == cmax { // the range is one column: the ] hides the [
		lines[len(lines)-1] = st.Faint.Render(string(axis[:cmin])) + st.Warn.Render("]") + st.Faint.Render(string(axis[cmin+1:]))
	}
	short := fmt.Sprintf("%d levels, step %s", levels, num3(q.step))
	if fine && levels >= 2 {
		short = fmt.Sprintf("grid too fine to draw: step %s, %d levels", num3(q.step), levels)
	}
	clip := fmt.Sprintf("clip [%s, %s] · ", num3(q.clipMin), num3(q.clipMax))
	left, right := num3(lo+pad), num3(hi-pad)
	mid := w - ansi.StringWidth(left) - ansi.StringWidth(right) - 2
	switch info := clip + short; {
	case mid >= ansi.StringWidth(info):
		gap := mid - ansi.StringWidth(info)
		lines = append(lines, st.Muted.Render(left+" "+strings.Repeat(" ", gap/2)+info+strings.Repeat(" ", gap-gap/2)+" "+right))
	case w >= ansi.StringWidth(info):
		lines = append(lines, st.Muted.Render(info))
	default:
		lines = append(lines, st.Muted.Render(fit(short, w, 1)))
	}
	return strings.Join(lines, "\n")
}

// num3 formats a value with three significant digits.
func num3(v float64) string {
	if v == 0 {
		return "0"
	}
	return fmt.Sprintf("%.3g", v)
}
