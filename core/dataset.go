package core

import (
	"fmt"
	"math"
)

// Dataset is a labelled classification set: N samples of SampleShape values
// each, stored row-major in X, and their class indices in Y.
type Dataset struct {
	Name        string    // short name for display, e.g. "moons" or "mnist-t10k"
	X           []float32 // N × prod(SampleShape) values, sample after sample
	Y           []int     // N labels in [0, len(Classes)); -1 marks an unlabelled sample
	SampleShape []int     // e.g. [2] for a 2-D set, [28 28 1] for an image (H, W, C)
	Classes     []string  // class names; len(Classes) is the number of classes
}

// Len is the number of samples.
func (d *Dataset) Len() int { return len(d.Y) }

// Features is the number of values per sample.
func (d *Dataset) Features() int { return numel(d.SampleShape) }

// NumClasses is the number of classes.
func (d *Dataset) NumClasses() int { return len(d.Classes) }

// Sample returns sample i's values (a view).
func (d *Dataset) Sample(i int) []float32 {
	f := d.Features()
	return d.X[i*f : (i+1)*f]
}

// Subset returns a new dataset holding copies of the samples at idx, in order.
func (d *Dataset) Subset(idx []int) *Dataset {
	f := d.Features()
	out := &Dataset{Name: d.Name, SampleShape: append([]int(nil), d.SampleShape...),
		Classes: d.Classes, X: make([]float32, 0, len(idx)*f), Y: make([]int, 0, len(idx))}
	for _, i := range idx {
		out.X = append(out.X, d.Sample(i)...)
		out.Y = append(out.Y, d.Y[i])
	}
	return out
}

// Validate checks that X, Y, SampleShape and Classes agree.
func (d *Dataset) Validate() error {
	f := d.Features()
	if f == 0 {
		return fmt.Errorf("dataset %q has no features", d.Name)
	}
	if len(d.X) != len(d.Y)*f {
		return fmt.Errorf("dataset %q: %d values for %d samples of %d features", d.Name, len(d.X), len(d.Y), f)
	}
	if len(d.Classes) < 2 {
		return fmt.Errorf("dataset %q: needs at least 2 classes, has %d", d.Name, len(d.Classes))
	}
	for i, y := range d.Y {
		if y < -1 || y >= len(d.Classes) {
			return fmt.Errorf("dataset %q: sample %d has label %d outside [0, %d)", d.Name, i, y, len(d.Classes))
		}
	}
	return nil
}

// Standardizer maps features to zero mean and unit variance with statistics
// fitted on a training set. It is stored with a model, so inference applies
// exactly the transform training saw.
type Standardizer struct {
	Mean []float32 `json:"mean"`
	Std  []float32 `json:"std"` // never zero: constant features get 1
}

// FitStandardizer computes mean and standard deviation on d. Tabular data
// (a one-dimensional SampleShape) is standardized per feature. Images
// ([H W C]) are standardized per channel, with one mean and deviation shared by
// all pixels of a channel: per-pixel statistics would blow up border pixels
// that are almost always blank.
func FitStandardizer(d *Dataset) *Standardizer {
	f, n := d.Features(), d.Len()
	groups, group := f, func(j int) int { return j }
	if len(d.SampleShape) == 3 {
		c := d.SampleShape[2]
		groups, group = c, func(j int) int { return j % c }
	}
	sum := make([]float64, groups)
	sq := make([]float64, groups)
	count := make([]float64, groups)
	for i := range n {
		for j, v := range d.Sample(i) {
			sum[group(j)] += float64(v)
			count[group(j)]++
		}
	}
	mean := make([]float64, groups)
	for g := range mean {
		mean[g] = sum[g] / max(count[g], 1)
	}
	for i := range n {
		for j, v := range d.Sample(i) {
			dv := float64(v) - mean[group(j)]
			sq[group(j)] += dv * dv
		}
	}
	s := &Standardizer{Mean: make([]float32, f), Std: make([]float32, f)}
	for j := range f {
		g := group(j)
		sd := math.Sqrt(sq[g] / max(count[g], 1))
		if sd < 1e-6 {
			sd = 1 // a constant feature carries no information; leave its scale alone
		}
		s.Mean[j], s.Std[j] = float32(mean[g]), float32(sd)
	}
	return s
}

// Apply standardizes x (rows of len(s.Mean) values) in place.
func (s *Standardizer) Apply(x []float32) {
	f := len(s.Mean)
	for i := 0; i+f <= len(x); i += f {
		row := x[i : i+f]
		for j := range row {
			row[j] = (row[j] - s.Mean[j]) / s.Std[j]
		}
	}
}

// Transform returns a standardized copy of d.
func (s *Standardizer) Transform(d *Dataset) *Dataset {
	out := *d
	out.X = append([]float32(nil), d.X...)
	s.Apply(out.X)
	return &out
}
