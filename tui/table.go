package tui

import (
	"slices"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// cell is one table cell: its text and whether it is its column's best
// value (drawn bold and coloured, and marked "*" so it shows without colour).
type cell struct {
	text string
	best bool
}

// column is a table column; numeric columns are right-aligned. A table too
// wide for its space leaves out optional columns, the highest drop first,
// rather than cutting the last ones in half.
type column struct {
	title string
	right bool
	drop  int // 0: always shown
}

// table is a plain table widget: a header, rows, an optional selected row
// marked with "›" (and reverse video where there is colour), and scrolling
// that keeps the selected row in view.
type table struct {
	cols     []column
	rows     [][]cell
	selected int // -1: no selection
}

// View draws at most height lines (header included) of at most width
// columns; when optional columns are left out and it is still too wide, it
// is cut from the right.
func (t table) View(st *Styles, width, height int) string {
	if height <= 0 || width <= 0 {
		return ""
	}
	t = t.fitted(width)
	widths := t.widths()
	align := func(s string, i int) string {
		pad := strings.Repeat(" ", max(0, widths[i]-ansi.StringWidth(s)))
		if t.cols[i].right {
			return pad + s
		}
		return s + pad
	}
	var head []string
	for i, c := range t.cols {
		head = append(head, align(c.title, i))
	}
	lines := []string{st.Header.Render("  " + strings.Join(head, "  "))}

	first := 0
	if visible := height - 1; t.selected >= visible {
		first = t.selected - visible + 1
	}
	for ri := first; ri < len(t.rows) && len(lines) < height; ri++ {
		r := t.rows[ri]
		sel := ri == t.selected
		var parts []string
		for i := range t.cols {
			c := cell{}
			if i < len(r) {
				c = r[i]
			}
			text := c.text
			if c.best {
				text += "*"
			} else if t.cols[i].right {
				text += " " // keep figures aligned with starred ones
			}
			text = align(text, i)
			if c.best && !sel {
				text = st.Best.Render(text)
			}
			parts = append(parts, text)
		}
		line := strings.Join(parts, "  ")
		if sel {
			line = st.Selected.Render("› " + line)
		} else {
			line = "  " + line
		}
		lines = append(lines, fit(line, width, 1))
	}
	return strings.Join(lines, "\n")
}

// widths are the columns' widths: the widest of the title and the cells.
func (t table) widths() []int {
	widths := make([]int, len(t.cols))
	for i, c := range t.cols {
		widths[i] = ansi.StringWidth(c.title)
		for _, r := range t.rows {
			if i < len(r) {
				w := ansi.StringWidth(r[i].text)
				if r[i].best || c.right {
					w++ // the "*" of a best value, or the space that aligns with it
				}
				widths[i] = max(widths[i], w)
			}
		}
	}
	return widths
}

// fitted returns t without the optional columns it has to leave out to be
// at most width columns wide.
func (t table) fitted(width int) table {
	for {
		widths := t.widths()
		total := 2 + 2*(len(widths)-1)
		for _, w := range widths {
			total += w
		}
		out := -1
		for i, c := range t.cols {
			if c.drop > 0 && (out < 0 || c.drop > t.cols[out].drop) {
				out = i
			}
		}
		if total <= width || out < 0 {
			return t
		}
		cols := slices.Delete(slices.Clone(t.cols), out, out+1)
		rows := make([][]cell, len(t.rows))
		for i, r := range t.rows {
			rows[i] = r
			if out < len(r) {
				rows[i] = slices.Delete(slices.Clone(r), out, out+1)
			}
		}
		t.cols, t.rows = cols, rows
	}
}
