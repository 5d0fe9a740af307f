package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// DimKind is the kind of a search-space dimension.
type DimKind string

// The kinds of dimensions.
const (
	Uniform     DimKind = "uniform"     // a real number in [Low, High]
	LogUniform  DimKind = "log_uniform" // a real number in [Low, High], Low > 0, uniform in log space
	Integer     DimKind = "int"         // a whole number in [Low, High]; log-uniform when Log is set
	Categorical DimKind = "categorical" // one of Values
)

// Dim is one hyperparameter of a search space.
type Dim struct {
	Name   string   `json:"name"`
	Kind   DimKind  `json:"kind"`
	Low    float64  `json:"low,omitempty"`    // numeric kinds: the range, bounds included
	High   float64  `json:"high,omitempty"`   //
	Log    bool     `json:"log,omitempty"`    // Integer: sample on a log scale
	Values []string `json:"values,omitempty"` // Categorical: the choices
	// Points is how many values a numeric dimension takes in a grid: evenly
	// spaced from Low to High (geometrically when log-scaled), rounded and
	// deduplicated for integers. Default 3, or every integer when an Integer
	// range holds at most 5.
	Points int `json:"points,omitempty"`
}

// Space is a search space: the dimensions in a fixed order, which is the
// order of a Point's coordinates.
type Space []Dim

// Point is one configuration of a Space: per dimension, the value (a whole
// number for Integer) or, for Categorical, the index of the choice. Points
// are plain numbers so that they survive JSON exactly.
type Point []float64

// EpochsDim is the name of the dimension that, when present, sets a trial's
// training budget in epochs (grid, random and TPE only: ASHA and Hyperband
// allot epochs themselves).
const EpochsDim = "epochs"

// Validate reports the first problem with the space, naming the dimension.
func (s Space) Validate() error {
	if len(s) == 0 {
		return fmt.Errorf("the search space has no parameters")
	}
	seen := map[string]bool{}
	for _, d := range s {
		if d.Name == "" {
			return fmt.Errorf("a search-space parameter has no name")
		}
		if seen[d.Name] {
			return fmt.Errorf("parameter %q appears twice", d.Name)
		}
		seen[d.Name] = true
		if err := d.validate(); err != nil {
			return fmt.Errorf("parameter %q: %v", d.Name, err)
		}
	}
	return nil
}

func (d Dim) validate() error {
	if d.Points < 0 {
		return fmt.Errorf("points must not be negative")
	}
	switch d.Kind {
	case Categorical:
		if len(d.Values) == 0 {
			return fmt.Errorf("a categorical parameter needs at least one value")
		}
		for i, v := range d.Values {
			if slices.Contains(d.Values[:i], v) {
				return fmt.Errorf("value %q appears twice", v)
			}
		}
		return nil
	case Uniform, LogUniform, Integer:
	default:
		return fmt.Errorf("unknown kind %q (want uniform, log_uniform, int or categorical)", d.Kind)
	}
	if math.IsNaN(d.Low) || math.IsNaN(d.High) || math.IsInf(d.Low, 0) || math.IsInf(d.High, 0) || d.Low > d.High {
		return fmt.Errorf("the range [%g, %g] is empty or not finite", d.Low, d.High)
	}
	if (d.Kind == LogUniform || d.Kind == Integer && d.Log) && d.Low <= 0 {
		return fmt.Errorf("a log scale needs a positive lower bound, got %g", d.Low)
	}
	if d.Kind == Integer && (d.Low != math.Trunc(d.Low) || d.High != math.Trunc(d.High)) {
		return fmt.Errorf("an integer range needs whole-number bounds, got [%g, %g]", d.Low, d.High)
	}
	return nil
}

// Index returns the position of dimension name, or -1.
func (s Space) Index(name string) int {
	return slices.IndexFunc(s, func(d Dim) bool { return d.Name == name })
}

// Sample draws a point: every dimension independently and uniformly on its
// scale.
func (s Space) Sample(r *rand.Rand) Point {
	p := make(Point, len(s))
	for i, d := range s {
		if d.Kind == Categorical {
			p[i] = float64(r.IntN(len(d.Values)))
			continue
		}
		lo, hi := d.bounds()
		p[i] = d.fromInternal(lo + (hi-lo)*r.Float64())
	}
	return p
}

// bounds is the range of a numeric dimension on its internal scale, on which
// sampling is uniform: the log for log scales, and for integers a half-open
// range [Low, High+1) that floors to a whole number.
func (d Dim) bounds() (lo, hi float64) {
	lo, hi = d.Low, d.High
	if d.Kind == Integer {
		hi++
	}
	if d.logScale() {
		return math.Log(lo), math.Log(hi)
	}
	return lo, hi
}

func (d Dim) logScale() bool { return d.Kind == LogUniform || d.Kind == Integer && d.Log }

// fromInternal maps a value on the internal scale back to the dimension's
// value, clamped into range.
func (d Dim) fromInternal(x float64) float64 {
	if d.logScale() {
		x = math.Exp(x)
	}
	if d.Kind == Integer {
		x = math.Floor(x)
	}
	return min(max(x, d.Low), d.High)
}

// toInternal maps a value to the internal scale; an integer maps to the
// middle of the cell that floors to it.
func (d Dim) toInternal(v float64) float64 {
	if d.Kind == Integer {
		v += 0.5
	}
	if d.logScale() {
		return math.Log(v)
	}
	return v
}

// Grid returns every point of the grid over s, the first dimension varying
// slowest (see Dim.Points for the values of a numeric dimension).
func (s Space) Grid() []Point {
	axes := make([][]float64, len(s))
	total := 1
	for i, d := range s {
		axes[i] = d.gridValues()
		total *= len(axes[i])
	}
	out := make([]Point, 0, total)
	idx := make([]int, len(s))
	for range total {
		p := make(Point, len(s))
		for i, k := range idx {
			p[i] = axes[i][k]
		}
		out = append(out, p)
		for i := len(idx) - 1; i >= 0; i-- {
			if idx[i]++; idx[i] < len(axes[i]) {
				break
			}
			idx[i] = 0
		}
	}
	return out
}

// GridSize is the number of points Grid returns.
func (s Space) GridSize() int {
	n := 1
	for _, d := range s {
		n *= len(d.gridValues())
	}
	return n
}

// gridValues lists the values a dimension takes in a grid.
func (d Dim) gridValues() []float64 {
	if d.Kind == Categorical {
		v := make([]float64, len(d.Values))
		for i := range v {
			v[i] = float64(i)
		}
		return v
	}
	n := d.Points
	if n == 0 {
		n = 3
		if d.Kind == Integer && d.High-d.Low < 5 {
			n = int(d.High-d.Low) + 1
		}
	}
	if n == 1 || d.Low == d.High {
		mid := (d.Low + d.High) / 2
		if d.logScale() {
			mid = math.Sqrt(d.Low * d.High)
		}
		if d.Kind == Integer {
			mid = math.Round(mid)
		}
		return []float64{mid}
	}
	var v []float64
	for i := range n {
		f := float64(i) / float64(n-1)
		x := d.Low + f*(d.High-d.Low)
		if d.logScale() {
			x = math.Exp(math.Log(d.Low) + f*(math.Log(d.High)-math.Log(d.Low)))
		}
		if i == n-1 {
			x = d.High // exactly, whatever the rounding of exp and log
		}
		if d.Kind == Integer {
			x = math.Round(x)
		}
		if len(v) == 0 || v[len(v)-1] != x {
			v = append(v, x)
		}
	}
	return v
}

// Value returns dimension i of p as a Go value: an int for Integer, a string
// for Categorical (or a number, when the choice reads as one), a float64
// otherwise.
func (s Space) Value(p Point, i int) any {
	d := s[i]
	switch d.Kind {
	case Integer:
		return int(p[i])
	case Categorical:
		v := d.Values[int(p[i])]
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
		return v
	}
	return p[i]
}

// Values returns p as a map from parameter name to Value.
func (s Space) Values(p Point) map[string]any {
	m := make(map[string]any, len(s))
	for i, d := range s {
		m[d.Name] = s.Value(p, i)
	}
	return m
}

// Format returns p as "name=value" pairs in dimension order, with reals to
// three significant digits.
func (s Space) Format(p Point) string { return s.FormatValues(s.Values(p)) }

// FormatValues formats parameter values (as Values returns them) like
// Format; names missing from v are left out.
func (s Space) FormatValues(v map[string]any) string {
	var parts []string
	for _, d := range s {
		x, ok := v[d.Name]
		if !ok {
			continue
		}
		if f, ok := x.(float64); ok {
			x = strconv.FormatFloat(f, 'g', 3, 64)
		}
		parts = append(parts, fmt.Sprintf("%s=%v", d.Name, x))
	}
	return strings.Join(parts, " ")
}

// Contains reports whether p is a valid point of s.
func (s Space) Contains(p Point) bool {
	if len(p) != len(s) {
		return false
	}
	for i, d := range s {
		v := p[i]
		switch {
		case math.IsNaN(v):
			return false
		case d.Kind == Categorical:
			if v != math.Trunc(v) || v < 0 || int(v) >= len(d.Values) {
				return false
			}
		case v < d.Low || v > d.High || d.Kind == Integer && v != math.Trunc(v):
			return false
		}
	}
	return true
}
