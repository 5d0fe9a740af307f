package tui

import (
	"fmt"
	"math"

	"github.com/NimbleMarkets/ntcharts/canvas"
	"github.com/NimbleMarkets/ntcharts/canvas/runes"
	"github.com/NimbleMarkets/ntcharts/linechart"
	"github.com/charmbracelet/lipgloss"
)

// curve is one named series of a curveChart. Braille curves and
// box-drawing curves differ in shape as well as colour, so two of them stay
// apart without colour.
type curve struct {
	name    string
	style   lipgloss.Style
	braille bool
	glyph   string // the legend's sample of the line
	s       series
}

// curveChart plots accuracies (fractions, on a percentage axis) of several
// series against epochs, with an optional horizontal reference line (a
// teacher's accuracy, say) drawn dotted. Like lineChart it is drawn when
// its data or size change, and View returns the drawing.
type curveChart struct {
	st       *Styles
	title    string
	epochs   float64
	curves   []*curve
	ref      float64 // the reference line's value; NaN for none
	refLabel string
	w, h     int
	view     string
}

func newCurveChart(st *Styles, title string, curves ...*curve) *curveChart {
	for _, c := range curves {
		c.s.cap = seriesCap
	}
	return &curveChart{st: st, title: title, epochs: 1, curves: curves, ref: math.NaN()}
}

// reset clears the curves (not the reference) for a run of epochs.
func (c *curveChart) reset(epochs int) {
	c.epochs = float64(max(1, epochs))
	for _, cv := range c.curves {
		cv.s = series{cap: seriesCap}
	}
	c.draw()
}

func (c *curveChart) setSize(w, h int) {
	if w != c.w || h != c.h {
		c.w, c.h = w, h
		c.draw()
	}
}

// setRef sets the reference line (NaN for none).
func (c *curveChart) setRef(v float64, label string) {
	c.ref, c.refLabel = v, label
	c.draw()
}

// yRange runs from the lowest value's tenth (reference included) to 100%.
func (c *curveChart) yRange() (float64, float64) {
	lo := math.Inf(1)
	for _, cv := range c.curves {
		for _, p := range cv.s.pts {
			lo = min(lo, p.Y)
		}
	}
	if !math.IsNaN(c.ref) {
		lo = min(lo, c.ref)
	}
	if math.IsInf(lo, 1) {
		return 0, 1
	}
	return max(0, math.Floor(lo*10-1e-9)/10), 1
}

func (c *curveChart) draw() {
	st := c.st
	legend := st.Heading.Render(c.title)
	if !math.IsNaN(c.ref) {
		legend += "  " + st.Warn.Render("┈┈") + " " + c.refLabel
	}
	for _, cv := range c.curves {
		legend += "  " + cv.style.Render(cv.glyph) + " " + cv.name
	}
	legend = fit(legend, c.w, 1)
	if c.w < 12 || c.h < 5 {
		c.view = legend
		return
	}
	lo, hi := c.yRange()
	lc := linechart.New(c.w, c.h-1, 0, c.epochs, lo, hi,
		linechart.WithXYSteps(max(4, (c.w-8)/8), 2),
		linechart.WithStyles(st.Axis, st.Muted, st.Plain),
		linechart.WithXLabelFormatter(func(_ int, v float64) string { return fmt.Sprintf("%.0f", v) }),
		linechart.WithYLabelFormatter(func(_ int, v float64) string { return fmt.Sprintf("%3.0f%%", 100*v) }))
	lc.DrawXYAxisAndLabel()
	pt := func(p point) canvas.Float64Point { return canvas.Float64Point{X: p.X, Y: p.Y} }
	if !math.IsNaN(c.ref) {
		lc.DrawRuneLineWithStyle(pt(point{0, c.ref}), pt(point{c.epochs, c.ref}), '┈', st.Warn)
	}
	for _, cv := range c.curves {
		pts := cv.s.pts
		if !cv.braille {
			pts = thin(pts, max(2, (c.w-8)/3))
		}
		switch {
		case len(pts) == 1 && cv.braille:
			lc.DrawBrailleLineWithStyle(pt(pts[0]), pt(pts[0]), cv.style)
		case len(pts) == 1:
			lc.DrawRuneWithStyle(pt(pts[0]), '─', cv.style)
		}
		for i := 1; i < len(pts); i++ {
			if cv.braille {
				lc.DrawBrailleLineWithStyle(pt(pts[i-1]), pt(pts[i]), cv.style)
			} else {
				lc.DrawLineWithStyle(pt(pts[i-1]), pt(pts[i]), runes.ThinLineStyle, cv.style)
			}
		}
	}
	c.view = legend + "\n" + lc.View()
}

func (c *curveChart) View() string { return c.view }
