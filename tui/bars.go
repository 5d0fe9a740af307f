package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// barsView draws one horizontal bar per class: its plot glyph, its name, a
// bar scaled to the largest count, and the count. When there are more
// classes than rows, the last row says how many are left out.
func barsView(st *Styles, names []string, counts []int, width, rows int) string {
	if rows <= 0 || width <= 0 || len(counts) == 0 {
		return ""
	}
	most, nameW, numW := 1, 1, 1
	for i, n := range counts {
		most = max(most, n)
		nameW = max(nameW, min(12, ansi.StringWidth(names[i])))
		numW = max(numW, len(fmt.Sprint(n)))
	}
	barW := max(1, width-nameW-numW-5)
	shown := len(counts)
	if shown > rows {
		shown = rows - 1
	}
	var lines []string
	for i := range shown {
		n := counts[i]
		fill := n * barW / most
		if n > 0 && fill == 0 {
			fill = 1
		}
		name := padTo(ansi.Truncate(names[i], nameW, "…"), nameW)
		bar := st.classStyle(i).Render(strings.Repeat("█", fill)) + st.Faint.Render(strings.Repeat("·", barW-fill))
		lines = append(lines, fmt.Sprintf("%s %s %s %*d", st.classStyle(i).Render(string(classGlyph(i))), name, bar, numW, n))
	}
	if shown < len(counts) {
		lines = append(lines, st.Muted.Render(fmt.Sprintf("… %d more classes", len(counts)-shown)))
	}
	return fit(strings.Join(lines, "\n"), width, rows)
}
