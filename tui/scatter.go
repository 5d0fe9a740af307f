package tui

import (
	"fmt"
	"math"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

// bounds is the data area of a 2-D plot.
type bounds struct{ X0, X1, Y0, Y1 float64 }

// dataBounds returns the range of the first two features of d with a 5%
// margin on each side.
func dataBounds(d *core.Dataset) bounds {
	b := bounds{math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)}
	f := d.Features()
	for i := range d.Len() {
		x, y := float64(d.X[i*f]), float64(d.X[i*f+1])
		b.X0, b.X1, b.Y0, b.Y1 = min(b.X0, x), max(b.X1, x), min(b.Y0, y), max(b.Y1, y)
	}
	if d.Len() == 0 {
		return bounds{-1, 1, -1, 1}
	}
	mx, my := 0.05*(b.X1-b.X0)+1e-9, 0.05*(b.Y1-b.Y0)+1e-9
	return bounds{b.X0 - mx, b.X1 + mx, b.Y0 - my, b.Y1 + my}
}

// regionGrid holds the predicted class at the centre of each cell of a W×H
// grid over bounds B; row 0 is the top.
type regionGrid struct {
	W, H int
	B    bounds
	Cls  []int
}

// at returns the class at the grid cell nearest to cell (i, j) of a w×h plot.
func (g *regionGrid) at(i, j, w, h int) int {
	gi, gj := i*g.W/w, j*g.H/h
	return g.Cls[gj*g.W+gi]
}

// The resolution decision regions are computed at; plots of other sizes
// resample it.
const regionW, regionH = 96, 48

// computeRegions returns a Cmd that predicts the class of every cell centre
// of a grid over b with a clone of m (the lab's snapshot is shared and a
// forward pass writes caches into the layers).
func computeRegions(run lab.RunID, m *core.Model, b bounds) tea.Cmd {
	return func() tea.Msg {
		mc := m.Clone()
		f := 1
		for _, s := range mc.InShape {
			f *= s
		}
		x := make([]float32, regionW*regionH*f)
		for j := range regionH {
			for i := range regionW {
				k := (j*regionW + i) * f
				x[k] = float32(b.X0 + (float64(i)+0.5)/regionW*(b.X1-b.X0))
				x[k+1] = float32(b.Y1 - (float64(j)+0.5)/regionH*(b.Y1-b.Y0))
			}
		}
		logits := mc.Predict(x)
		g := regionGrid{W: regionW, H: regionH, B: b, Cls: make([]int, regionW*regionH)}
		for r := range g.Cls {
			row := logits.Row(r)
			for c, v := range row {
				if v > row[g.Cls[r]] {
					g.Cls[r] = c
				}
			}
		}
		return regionsMsg{run: run, grid: g}
	}
}

// scatterView plots the first two features of d on a w×h grid of cells: each
// cell shows the glyph of the class with most points in it, coloured per
// class; with regions, empty cells show the predicted class as a tint (or,
// without colour, as a faint fill glyph).
func scatterView(st *Styles, d *core.Dataset, regions *regionGrid, w, h int) string {
	if w <= 0 || h <= 0 || d == nil || d.Features() < 2 {
		return ""
	}
	b := dataBounds(d)
	if regions != nil {
		b = regions.B
	}
	k := max(1, d.NumClasses())
	counts := make([]int, w*h*k)
	f := d.Features()
	for s := range d.Len() {
		y := d.Y[s]
		if y < 0 {
			continue
		}
		x0, x1 := float64(d.X[s*f]), float64(d.X[s*f+1])
		i := int((x0 - b.X0) / (b.X1 - b.X0) * float64(w))
		j := int((b.Y1 - x1) / (b.Y1 - b.Y0) * float64(h))
		if i < 0 || i >= w || j < 0 || j >= h {
			continue
		}
		counts[(j*w+i)*k+y]++
	}
	var sb strings.Builder
	var run strings.Builder // cells of the same look, rendered together
	var runStyle lipgloss.Style
	runKey := ""
	flush := func() {
		if run.Len() > 0 {
			sb.WriteString(runStyle.Render(run.String()))
			run.Reset()
		}
	}
	for j := range h {
		if j > 0 {
			flush()
			runKey = ""
			sb.WriteByte('\n')
		}
		for i := range w {
			cls, most := -1, 0
			for c := range k {
				if n := counts[(j*w+i)*k+c]; n > most {
					cls, most = c, n
				}
			}
			reg := -1
			if regions != nil {
				reg = regions.at(i, j, w, h)
			}
			var r rune
			var style lipgloss.Style
			key := ""
			switch {
			case cls >= 0:
				r, style, key = classGlyph(cls), st.classStyle(cls), fmt.Sprint("p", cls, reg)
				if reg >= 0 && !st.NoColor {
					style = style.Background(st.Region[reg%len(st.Region)].GetBackground())
				}
			case reg >= 0 && st.NoColor:
				r, style, key = regionGlyphs[reg%len(regionGlyphs)], st.Plain, "g"
			case reg >= 0:
				r, style, key = ' ', st.Region[reg%len(st.Region)], fmt.Sprint("r", reg)
			default:
				r, style, key = ' ', st.Plain, "g"
			}
			if key != runKey {
				flush()
				runKey, runStyle = key, style
			}
			run.WriteRune(r)
		}
	}
	flush()
	return sb.String()
}

// legendView names the classes with their glyphs, as many as fit in w.
func legendView(st *Styles, names []string, w int) string {
	var parts []string
	for i, n := range names {
		parts = append(parts, st.classStyle(i).Render(string(classGlyph(i)))+" "+n)
	}
	return fit(strings.Join(parts, "  "), w, 1)
}
