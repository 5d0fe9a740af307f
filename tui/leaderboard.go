package tui

import (
	"fmt"
	"math"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// Small widgets of the Tune, Architecture and Prune screens.

// sparkline draws the last w values of vs on the scale lo..hi (shared by
// the rows of a table, so rows compare), padded on the left to w columns.
func sparkline(vs []float64, lo, hi float64, w int) string {
	if w <= 0 {
		return ""
	}
	if len(vs) > w {
		vs = vs[len(vs)-w:]
	}
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", w-len(vs)))
	for _, v := range vs {
		b.WriteRune(sparkRune(v, lo, hi))
	}
	return b.String()
}

// share is one bar of shareBars: a name, a fraction in [0, 1] and a note.
type share struct {
	name string
	frac float64
	note string
}

// shareBars draws one bar per entry: the name, a bar filled to its
// fraction (█ the fraction, · the rest), the percentage and the note; notes
// are dropped before the bars get too short. When there are more entries
// than rows, the last row says how many (of what) are left out.
func shareBars(st *Styles, items []share, what string, width, rows int) string {
	if rows <= 0 || width <= 0 || len(items) == 0 {
		return ""
	}
	nameW, noteW := 4, 0
	for _, it := range items {
		nameW = max(nameW, min(16, ansi.StringWidth(it.name)))
		noteW = max(noteW, ansi.StringWidth(it.note))
	}
	barW := width - nameW - 8 - 1
	if noteW > 0 {
		barW -= noteW + 1
	}
	if barW < 6 {
		noteW, barW = 0, width-nameW-9
	}
	barW = max(1, barW)
	shown := len(items)
	if shown > rows {
		shown = rows - 1
	}
	var lines []string
	for _, it := range items[:shown] {
		f := math.Max(0, math.Min(1, it.frac))
		fill := int(math.Round(f * float64(barW)))
		if it.frac > 0 && fill == 0 {
			fill = 1
		}
		bar := st.Accent.Render(strings.Repeat("█", fill)) + st.Faint.Render(strings.Repeat("·", barW-fill))
		line := fmt.Sprintf("%s %s %6.1f%%", padTo(ansi.Truncate(it.name, nameW, "…"), nameW), bar, 100*it.frac)
		if noteW > 0 && it.note != "" {
			line += " " + st.Muted.Render(it.note)
		}
		lines = append(lines, line)
	}
	if shown < len(items) {
		lines = append(lines, st.Muted.Render(strings.TrimSpace(fmt.Sprintf("… %d more %s", len(items)-shown, what))))
	}
	return fit(strings.Join(lines, "\n"), width, rows)
}
