package tui

import (
	"fmt"
	"math"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/optlab/optlab/core"
)

// Per-layer row widgets of the Prune screen: one line per layer.

// sparkRunes are a sparkline's eight levels, lowest first.
var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// sparkRune is v's level on the scale lo..hi (the top one when the scale is
// flat), clamped to the levels there are.
func sparkRune(v, lo, hi float64) rune {
	i := len(sparkRunes) - 1
	if hi > lo {
		i = int((v - lo) / (hi - lo) * float64(len(sparkRunes)-1))
	}
	return sparkRunes[min(len(sparkRunes)-1, max(0, i))]
}

// sensitivityView draws one sparkline per layer of its accuracy as that
// layer alone is pruned at rising sparsities, on one scale for all layers
// (from the lowest accuracy to the highest), with the accuracy at the first
// and last sparsity and the highest sparsity that keeps it within one point
// of the unpruned figure. The first line is a header naming the sparsities.
func sensitivityView(st *Styles, sens []core.LayerSensitivity, width, rows int) string {
	if rows <= 0 || width <= 0 || len(sens) == 0 || len(sens[0].Points) == 0 {
		return ""
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	nameW := 5
	for _, l := range sens {
		nameW = max(nameW, min(14, ansi.StringWidth(l.Name)))
		for _, p := range l.Points {
			lo, hi = min(lo, p.Accuracy), max(hi, p.Accuracy)
		}
	}
	pts := sens[0].Points
	first, last := pts[0].Sparsity, pts[len(pts)-1].Sparsity
	// Each point gets k columns; the figures take about 24.
	k := max(1, min(4, (width-nameW-26)/len(pts)))
	sparkW := k * len(pts)
	head := padTo("layer", nameW) + " " + padTo(fmt.Sprintf("%.0f%%", 100*first), sparkW-4) +
		fmt.Sprintf("%4s", fmt.Sprintf("%.0f%%", 100*last)) + "  acc        ≤1 pt"
	lines := []string{st.Header.Render(fit(head, width, 1))}
	shown := len(sens)
	if shown > rows-1 {
		shown = rows - 2
	}
	for _, l := range sens[:max(0, shown)] {
		var spark strings.Builder
		for _, p := range l.Points {
			spark.WriteString(strings.Repeat(string(sparkRune(p.Accuracy, lo, hi)), k))
		}
		keep := l.Points[0].Sparsity
		for _, p := range l.Points {
			if p.Accuracy < l.Points[0].Accuracy-0.01 {
				break
			}
			keep = p.Sparsity
		}
		a0, a1 := l.Points[0].Accuracy, l.Points[len(l.Points)-1].Accuracy
		line := fmt.Sprintf("%s %s  %5.1f→%5.1f%%  %3.0f%%", padTo(l.Name, nameW), st.Accent.Render(spark.String()),
			100*a0, 100*a1, 100*keep)
		lines = append(lines, fit(line, width, 1))
	}
	if shown < len(sens) && rows >= 2 {
		lines = append(lines, st.Muted.Render(fmt.Sprintf("… %d more layers", len(sens)-max(0, shown))))
	}
	return fit(strings.Join(lines, "\n"), width, rows)
}
