package tui

import (
	"strings"
	"testing"
)

// TestTableLeavesOutOptionalColumns: a table too wide for its space drops
// optional columns, the highest drop first, instead of cutting the last
// column in half; a wide enough space shows them all.
func TestTableLeavesOutOptionalColumns(t *testing.T) {
	st := NewStyles(plainRenderer())
	tb := table{selected: -1, cols: []column{{title: "run"}, {title: "accuracy", right: true},
		{title: "params", right: true, drop: 2}, {title: "train time", right: true, drop: 1}},
		rows: [][]cell{{{text: "1"}, {text: "96.8%"}, {text: "9.6k"}, {text: "211ms"}}}}
	for _, c := range []struct {
		width int
		want  []string
		gone  []string
	}{
		{80, []string{"accuracy", "params", "train time", "211ms"}, nil},
		{30, []string{"accuracy", "train time", "211ms"}, []string{"params"}},
		{20, []string{"accuracy", "96.8%"}, []string{"params", "train time"}},
	} {
		view := tb.View(st, c.width, 5)
		for _, line := range strings.Split(view, "\n") {
			if n := len([]rune(line)); n > c.width {
				t.Errorf("width %d: line %q is %d wide", c.width, line, n)
			}
		}
		for _, w := range c.want {
			if !strings.Contains(view, w) {
				t.Errorf("width %d: %q missing from\n%s", c.width, w, view)
			}
		}
		for _, g := range c.gone {
			if strings.Contains(view, g) {
				t.Errorf("width %d: %q shown in\n%s", c.width, g, view)
			}
		}
	}
}
