package tui

import (
	"fmt"
	"math"
	"strings"

	"github.com/NimbleMarkets/ntcharts/canvas"
	"github.com/NimbleMarkets/ntcharts/canvas/runes"
	"github.com/NimbleMarkets/ntcharts/linechart"
	"github.com/charmbracelet/lipgloss"
)

// How an xySeries joins its points.
const (
	joinNone  = iota // points only
	joinLine         // straight segments in the order given
	joinSteps        // a step function: flat to the next x, then up or down
)

// xySeries is one set of points of an xyPlot. Each point is drawn with its
// own glyph (glyphs[i]) or the series' glyph, so that points stay
// distinguishable without colour; 0 draws no glyph (a line alone).
type xySeries struct {
	name   string
	style  lipgloss.Style
	glyph  rune
	glyphs []rune
	join   int
	pts    []point
}

// xyPlot is a scatter (or line) plot of several series on shared axes,
// drawn with ntcharts: axes with labels, then joins, then points on top.
// A log X axis plots log10(x) and labels it back in x. Categorical X values
// are given as 0, 1, 2, ... with xNames naming them.
type xyPlot struct {
	title    string
	xTitle   string
	series   []xySeries
	logX     bool
	xNames   []string
	xFmt     func(float64) string // label of an x value (after undoing the log)
	yPercent bool                 // y values are fractions drawn as percentages
	yFixed   [2]float64           // when yFixed[1] > yFixed[0], the y range
	xFrom0   bool                 // the X axis starts at 0 (a count)
}

// View draws the plot in w×h cells: a legend line, the chart, and the X
// axis title on the last line when there is room.
func (p xyPlot) View(st *Styles, w, h int) string {
	if w <= 0 || h <= 0 {
		return ""
	}
	legend := st.Heading.Render(p.title)
	for _, s := range p.series {
		if s.name == "" {
			continue
		}
		sample := string(s.glyph)
		switch {
		case s.glyph == 0 && s.join == joinLine:
			sample = "⠤⠤"
		case s.glyph == 0:
			sample = "──"
		}
		legend += "  " + s.style.Render(sample) + " " + s.name
	}
	legend = fit(legend, w, 1)
	if w < 16 || h < 5 {
		return legend
	}
	x0, x1, y0, y1, ok := p.ranges()
	if !ok {
		return vjoin(legend, st.Muted.Render(fit("no points yet", w, 1)))
	}
	chartH := h - 1
	footer := ""
	if p.xTitle != "" && h >= 8 {
		chartH--
		footer = st.Muted.Render(fit(strings.Repeat(" ", max(0, w-len([]rune(p.xTitle))))+p.xTitle, w, 1))
	}
	xLabel := func(_ int, v float64) string {
		if p.xNames != nil {
			i := int(math.Round(v))
			if math.Abs(v-float64(i)) < 0.2 && i >= 0 && i < len(p.xNames) {
				return p.xNames[i]
			}
			return ""
		}
		if p.logX {
			v = math.Pow(10, v)
		}
		if math.Abs(v) < 1e-9 {
			v = 0
		}
		if p.xFmt != nil {
			return strings.Replace(p.xFmt(v), "-0", "0", 1)
		}
		return compactNum(v)
	}
	yLabel := func(_ int, v float64) string {
		if p.yPercent {
			return fmt.Sprintf("%3.0f%%", 100*v)
		}
		return compactNum(v)
	}
	xSteps := max(2, (w-8)/10)
	if p.xNames != nil {
		xSteps = max(1, len(p.xNames)-1)
	}
	lc := linechart.New(w, chartH, x0, x1, y0, y1,
		linechart.WithXYSteps(xSteps, 2),
		linechart.WithStyles(st.Axis, st.Muted, st.Plain),
		linechart.WithXLabelFormatter(xLabel),
		linechart.WithYLabelFormatter(yLabel))
	lc.DrawXYAxisAndLabel()
	at := func(q point) canvas.Float64Point {
		x := q.X
		if p.logX {
			x = math.Log10(math.Max(x, 1e-12))
		}
		return canvas.Float64Point{X: x, Y: q.Y}
	}
	for _, s := range p.series {
		for i := 1; i < len(s.pts); i++ {
			a, b := s.pts[i-1], s.pts[i]
			switch s.join {
			case joinLine:
				lc.DrawBrailleLineWithStyle(at(a), at(b), s.style)
			case joinSteps:
				c := point{b.X, a.Y}
				lc.DrawLineWithStyle(at(a), at(c), runes.ThinLineStyle, s.style)
				if c.Y != b.Y {
					lc.DrawLineWithStyle(at(c), at(b), runes.ThinLineStyle, s.style)
				}
			}
		}
	}
	for _, s := range p.series {
		for i, q := range s.pts {
			g := s.glyph
			if i < len(s.glyphs) {
				g = s.glyphs[i]
			}
			if g != 0 {
				lc.DrawRuneWithStyle(at(q), g, s.style)
			}
		}
	}
	return vjoin(legend, lc.View(), footer)
}

// ranges is the data area: X from the smallest to the largest value (a
// little wider for a single value), Y from the lowest value (for
// percentages, its tenth) to the highest.
func (p xyPlot) ranges() (x0, x1, y0, y1 float64, ok bool) {
	x0, x1, y0, y1 = math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range p.series {
		for _, q := range s.pts {
			if math.IsNaN(q.X) || math.IsNaN(q.Y) || math.IsInf(q.X, 0) || math.IsInf(q.Y, 0) {
				continue
			}
			x := q.X
			if p.logX {
				x = math.Log10(math.Max(x, 1e-12))
			}
			x0, x1 = min(x0, x), max(x1, x)
			y0, y1 = min(y0, q.Y), max(y1, q.Y)
		}
	}
	if math.IsInf(x0, 1) {
		return 0, 0, 0, 0, false
	}
	if p.xNames != nil {
		x0, x1 = -0.5, float64(len(p.xNames))-0.5
	}
	if x1-x0 < 1e-12 {
		pad := math.Max(math.Abs(x0)*0.1, 0.5)
		if p.logX {
			pad = 0.5
		}
		x0, x1 = x0-pad, x1+pad
	} else {
		pad := (x1 - x0) * 0.06
		x0, x1 = x0-pad, x1+pad
	}
	if p.xFrom0 && !p.logX {
		x0 = 0
	}
	switch {
	case p.yFixed[1] > p.yFixed[0]:
		y0, y1 = p.yFixed[0], p.yFixed[1]
	case p.yPercent:
		y0, y1 = max(0, math.Floor(y0*10-1e-9)/10), min(1, math.Ceil(y1*10+1e-9)/10)
		if y1 <= y0 {
			y1 = y0 + 0.1
		}
	default:
		if y1-y0 < 1e-12 {
			y0, y1 = y0-1, y1+1
		} else {
			pad := (y1 - y0) * 0.08
			y0, y1 = y0-pad, y1+pad
		}
	}
	return x0, x1, y0, y1, true
}

// compactNum formats an axis value in few characters: 0.003, 0.25, 12, 3.4k, 1.2M.
func compactNum(v float64) string {
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0"
	case a >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case a >= 1e3:
		return fmt.Sprintf("%.3gk", v/1e3)
	case a >= 1:
		return fmt.Sprintf("%.3g", v)
	case a >= 0.001:
		return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
	}
	return fmt.Sprintf("%.0e", v)
}
