package tui

import (
	"fmt"
	"math"

	"github.com/NimbleMarkets/ntcharts/canvas"
	"github.com/NimbleMarkets/ntcharts/canvas/runes"
	"github.com/NimbleMarkets/ntcharts/linechart"
)

// point is one value of a series: X in epochs (fractional within an epoch).
type point struct{ X, Y float64 }

// series is a bounded list of points in increasing X. When it is full, every
// other point is dropped, so the whole run stays drawn at a coarser grain.
type series struct {
	pts []point
	cap int
}

func (s *series) push(p point) {
	if math.IsNaN(p.Y) || math.IsInf(p.Y, 0) {
		return // a diverged run must not wreck the scale
	}
	if n := len(s.pts); n > 0 && p.X <= s.pts[n-1].X {
		s.pts[n-1] = p // a newer figure for the same point in training
		return
	}
	s.pts = append(s.pts, p)
	if s.cap > 0 && len(s.pts) > s.cap {
		kept := s.pts[:0]
		for i, q := range s.pts {
			if i%2 == 0 || i == len(s.pts)-1 {
				kept = append(kept, q)
			}
		}
		s.pts = kept
	}
}

// seriesCap bounds the points a chart keeps per series.
const seriesCap = 512

// lineChart plots a training and a validation series against epochs with
// ntcharts: training as a braille line, validation as a box-drawing line,
// so the two differ in shape as well as in colour. It is drawn when its data
// or size change (draw), and View returns the drawing.
type lineChart struct {
	st         *Styles
	title      string
	percent    bool // values are fractions shown as percentages, on a 0–100% axis
	epochs     float64
	train, val series
	w, h       int
	view       string
}

func newLineChart(st *Styles, title string, percent bool) *lineChart {
	return &lineChart{st: st, title: title, percent: percent,
		train: series{cap: seriesCap}, val: series{cap: seriesCap}}
}

// reset clears the data for a run of the given number of epochs.
func (c *lineChart) reset(epochs int) {
	c.epochs = float64(max(1, epochs))
	c.train = series{cap: seriesCap}
	c.val = series{cap: seriesCap}
	c.draw()
}

// setSize sets the size, legend line included, and redraws.
func (c *lineChart) setSize(w, h int) {
	if w != c.w || h != c.h {
		c.w, c.h = w, h
		c.draw()
	}
}

// yRange is the value axis: for percentages from the lowest value's tenth
// to 100%, else from 0 (or the lowest value) to the highest with a little
// headroom.
func (c *lineChart) yRange() (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range []series{c.train, c.val} {
		for _, p := range s.pts {
			lo, hi = min(lo, p.Y), max(hi, p.Y)
		}
	}
	if math.IsInf(lo, 1) {
		return 0, 1
	}
	if c.percent {
		return max(0, math.Floor(lo*10-1e-9)/10), 1
	}
	lo = min(0, lo)
	if hi <= lo {
		hi = lo + 1
	}
	return lo, hi * 1.05
}

func (c *lineChart) yLabel(_ int, v float64) string {
	if c.percent {
		return fmt.Sprintf("%3.0f%%", 100*v)
	}
	switch {
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// draw renders the chart into c.view.
func (c *lineChart) draw() {
	st := c.st
	legend := fit(st.Heading.Render(c.title)+"  "+st.Train.Render("⠤⠤")+" train  "+st.Val.Render("──")+" val", c.w, 1)
	if c.w < 12 || c.h < 5 {
		c.view = legend
		return
	}
	if c.epochs == 0 {
		c.epochs = 1
	}
	lo, hi := c.yRange()
	lc := linechart.New(c.w, c.h-1, 0, c.epochs, lo, hi,
		linechart.WithXYSteps(max(4, (c.w-8)/8), 2),
		linechart.WithStyles(st.Axis, st.Muted, st.Plain),
		linechart.WithXLabelFormatter(func(_ int, v float64) string { return fmt.Sprintf("%.0f", v) }),
		linechart.WithYLabelFormatter(c.yLabel))
	lc.DrawXYAxisAndLabel()
	pt := func(p point) canvas.Float64Point { return canvas.Float64Point{X: p.X, Y: p.Y} }
	if t := c.train.pts; len(t) == 1 {
		lc.DrawBrailleLineWithStyle(pt(t[0]), pt(t[0]), st.Train)
	} else {
		for i := 1; i < len(t); i++ {
			lc.DrawBrailleLineWithStyle(pt(t[i-1]), pt(t[i]), st.Train)
		}
	}
	if v := thin(c.val.pts, max(2, (c.w-8)/3)); len(v) == 1 {
		lc.DrawRuneWithStyle(pt(v[0]), '─', st.Val)
	} else {
		for i := 1; i < len(v); i++ {
			lc.DrawLineWithStyle(pt(v[i-1]), pt(v[i]), runes.ThinLineStyle, st.Val)
		}
	}
	c.view = legend + "\n" + lc.View()
}

// thin averages pts into at most n buckets of consecutive points, so that
// a box-drawing line over many noisy epochs stays a readable line.
func thin(pts []point, n int) []point {
	if len(pts) <= n {
		return pts
	}
	out := make([]point, 0, n)
	for b := range n {
		lo, hi := b*len(pts)/n, (b+1)*len(pts)/n
		var p point
		for _, q := range pts[lo:hi] {
			p.X += q.X
			p.Y += q.Y
		}
		k := float64(hi - lo)
		out = append(out, point{p.X / k, p.Y / k})
	}
	return out
}

// View returns the last drawing.
func (c *lineChart) View() string { return c.view }
