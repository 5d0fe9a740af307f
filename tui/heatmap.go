package tui

import (
	"fmt"
	"math"
	"slices"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

// weightMatrix is one layer's weight matrix as magnitudes, [Rows = output
// units, Cols = inputs], read from a model in a Cmd. It is a copy: screens
// may keep it.
type weightMatrix struct {
	Name       string // "index:kind", as in core's reports
	Rows, Cols int
	Abs        []float32 // |w|, row-major
	Zeros      int
}

// sparsity is the matrix's fraction of zero weights.
func (w weightMatrix) sparsity() float64 {
	if len(w.Abs) == 0 {
		return 0
	}
	return float64(w.Zeros) / float64(len(w.Abs))
}

// readWeights returns a Cmd that reads m's weight matrices for run. m may be
// a registered model shared with other runs: it is only read.
func readWeights(run lab.RunID, tag int, m *core.Model) tea.Cmd {
	return func() tea.Msg {
		mats, err := weightMatrices(m)
		return weightsMsg{run: run, tag: tag, mats: mats, err: err}
	}
}

// weightMatrices copies the magnitudes of every layer's 2-D weight matrix
// (dense layers; convolutions as [out channels, k·k·in channels]). Sparse
// layers keep their weights unexported, so the model is first expanded to
// dense layers by pruning it to sparsity 0, which copies it, keeps every
// zero and revives nothing.
func weightMatrices(m *core.Model) ([]weightMatrix, error) {
	if m == nil {
		return nil, fmt.Errorf("the run has no model")
	}
	dense, _, err := core.Prune(m, core.PruneConfig{Method: "magnitude"})
	if err != nil {
		return nil, err
	}
	var out []weightMatrix
	for i, l := range dense.Layers {
		for _, p := range l.Params() {
			if p.Name != "weight" || p.W == nil || len(p.W.Shape) != 2 {
				continue
			}
			w := weightMatrix{Name: fmt.Sprintf("%d:%s", i, l.Spec().Kind), Rows: p.W.Shape[0], Cols: p.W.Shape[1],
				Abs: make([]float32, len(p.W.Data))}
			for j, v := range p.W.Data {
				if v == 0 {
					w.Zeros++
				}
				w.Abs[j] = float32(math.Abs(float64(v)))
			}
			out = append(out, w)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the model has no weight matrices")
	}
	return out, nil
}

// heatShades are the heatmap's levels: blank for a cell whose weights are
// all zero, then four shades by mean magnitude, so it reads without colour.
var heatShades = []rune(" ░▒▓█")

// heatmapView draws w in at most width×height cells: each cell covers a
// block of the matrix (rows are output units, columns inputs), blank when
// every weight in it is zero, else shaded by the block's mean |w| relative
// to the 95th percentile of the blocks' means (so one large weight does not
// wash out the rest).
func heatmapView(st *Styles, w weightMatrix, width, height int) string {
	if width <= 0 || height <= 0 || w.Rows == 0 || w.Cols == 0 {
		return ""
	}
	gw, gh := min(w.Cols, width), min(w.Rows, height)
	means := make([]float64, gw*gh)
	zero := make([]bool, gw*gh)
	for gy := range gh {
		r0, r1 := gy*w.Rows/gh, (gy+1)*w.Rows/gh
		for gx := range gw {
			c0, c1 := gx*w.Cols/gw, (gx+1)*w.Cols/gw
			var sum float64
			nz := 0
			for r := r0; r < r1; r++ {
				for _, v := range w.Abs[r*w.Cols+c0 : r*w.Cols+c1] {
					if v != 0 {
						sum += float64(v)
						nz++
					}
				}
			}
			i := gy*gw + gx
			zero[i] = nz == 0
			means[i] = sum / float64((r1-r0)*(c1-c0))
		}
	}
	var live []float64
	for i, m := range means {
		if !zero[i] {
			live = append(live, m)
		}
	}
	top := 0.0
	if len(live) > 0 {
		slices.Sort(live)
		top = live[min(len(live)-1, int(0.95*float64(len(live))))]
	}
	var b strings.Builder
	for gy := range gh {
		if gy > 0 {
			b.WriteByte('\n')
		}
		var row strings.Builder
		for gx := range gw {
			i := gy*gw + gx
			if zero[i] {
				row.WriteRune(heatShades[0])
				continue
			}
			lvl := 4 // quarters of (0, top]: ░ up to a quarter, █ above three
			if top > 0 {
				lvl = max(1, min(4, int(math.Ceil(means[i]/top*4))))
			}
			row.WriteRune(heatShades[lvl])
		}
		b.WriteString(st.Accent.Render(row.String()))
	}
	return b.String()
}

// heatmapLegend explains the shades in one line.
func heatmapLegend(st *Styles) string {
	return st.Muted.Render("rows: units · columns: inputs · blank: all zero · ░▒▓█ mean |w|")
}
