package datasets

import (
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/optlab/optlab/core"
)

// Each generator draws from its own PCG stream so that sets generated with
// the same seed are not built from the same random numbers.
const (
	streamSpiral uint64 = 0x5350_4952_414c + iota
	streamCircles
	streamXOR
	streamGauss
	streamMoons
	streamBlobs
	streamDigits
	streamSplit
)

func newRand(seed, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream))
}

// classNames returns "0", "1", ... for k classes.
func classNames(k int) []string {
	names := make([]string, k)
	for i := range names {
		names[i] = strconv.Itoa(i)
	}
	return names
}

// newPlane allocates a 2-D, two-class dataset of n samples.
func newPlane(name string, n int) *core.Dataset {
	n = max(n, 0)
	return &core.Dataset{Name: name, X: make([]float32, 2*n), Y: make([]int, n),
		SampleShape: []int{2}, Classes: classNames(2)}
}

// uniform returns a value in [lo, hi).
func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

// The 2-D sets follow TensorFlow Playground (dataset.ts) in layout and in the
// meaning of noise, except that noise moves points and never relabels them:
// labels alternate 0, 1, 0, 1, ... so classes are balanced exactly.

// Spiral returns two interleaved spiral arms of 1.75 turns out to radius 5.
// Noise displaces each coordinate uniformly by up to ±noise (Playground uses
// 0 to 0.5).
func Spiral(n int, noise float64, seed uint64) *core.Dataset {
	d := newPlane("spiral", n)
	r := newRand(seed, streamSpiral)
	arm := float64(max(n/2, 1))
	for i := range d.Y {
		c := i % 2
		f := float64(i/2) / arm // position along the arm, [0, 1)
		rad := 5 * f
		t := 1.75*2*math.Pi*f + math.Pi*float64(c)
		d.X[2*i] = float32(rad*math.Sin(t) + uniform(r, -1, 1)*noise)
		d.X[2*i+1] = float32(rad*math.Cos(t) + uniform(r, -1, 1)*noise)
		d.Y[i] = c
	}
	return d
}

// Circles returns a disc of radius 2.5 (class 0) inside a ring from 3.5 to 5
// (class 1). Noise displaces each coordinate uniformly by up to ±5·noise, so
// from noise 0.1 the classes start to overlap.
func Circles(n int, noise float64, seed uint64) *core.Dataset {
	const radius = 5
	d := newPlane("circles", n)
	r := newRand(seed, streamCircles)
	for i := range d.Y {
		c := i % 2
		rad := uniform(r, 0, radius*0.5)
		if c == 1 {
			rad = uniform(r, radius*0.7, radius)
		}
		a := uniform(r, 0, 2*math.Pi)
		d.X[2*i] = float32(rad*math.Sin(a) + uniform(r, -radius, radius)*noise)
		d.X[2*i+1] = float32(rad*math.Cos(a) + uniform(r, -radius, radius)*noise)
		d.Y[i] = c
	}
	return d
}

// XOR returns points in [-5.3, 5.3]² labelled by the sign of x·y: class 0
// in the quadrants where x·y > 0, class 1 where it is negative. A margin of
// 0.3 keeps points off the axes; noise displaces each coordinate uniformly by
// up to ±5·noise.
func XOR(n int, noise float64, seed uint64) *core.Dataset {
	const padding = 0.3
	d := newPlane("xor", n)
	r := newRand(seed, streamXOR)
	for i := range d.Y {
		c := i % 2
		x := uniform(r, padding, 5+padding)
		y := uniform(r, padding, 5+padding)
		if r.IntN(2) == 1 {
			x = -x
		}
		if (c == 0) != (x > 0) {
			y = -y
		}
		d.X[2*i] = float32(x + uniform(r, -5, 5)*noise)
		d.X[2*i+1] = float32(y + uniform(r, -5, 5)*noise)
		d.Y[i] = c
	}
	return d
}

// Gauss returns two Gaussian clouds centred on (2, 2) (class 0) and (-2, -2)
// (class 1). As in Playground, noise from 0 to 0.5 sets the variance from 0.5
// to 4, linearly.
func Gauss(n int, noise float64, seed uint64) *core.Dataset {
	d := newPlane("gauss", n)
	r := newRand(seed, streamGauss)
	sd := math.Sqrt(0.5 + 7*max(noise, 0))
	for i := range d.Y {
		c := i % 2
		centre := 2.0
		if c == 1 {
			centre = -2
		}
		d.X[2*i] = float32(centre + sd*r.NormFloat64())
		d.X[2*i+1] = float32(centre + sd*r.NormFloat64())
		d.Y[i] = c
	}
	return d
}

// Moons returns two interleaved half circles as scikit-learn's make_moons
// does: class 0 on the upper unit half circle, class 1 on the lower one
// shifted to (1, 0.5). Noise is the standard deviation of Gaussian noise
// added to each coordinate.
func Moons(n int, noise float64, seed uint64) *core.Dataset {
	d := newPlane("moons", n)
	r := newRand(seed, streamMoons)
	for i := range d.Y {
		c := i % 2
		t := uniform(r, 0, math.Pi)
		x, y := math.Cos(t), math.Sin(t)
		if c == 1 {
			x, y = 1-x, 0.5-y
		}
		d.X[2*i] = float32(x + noise*r.NormFloat64())
		d.X[2*i+1] = float32(y + noise*r.NormFloat64())
		d.Y[i] = c
	}
	return d
}

// Shape of the blobs set.
const (
	blobsInformative = 5
	blobsRedundant   = 5
	blobsNoise       = 10
	blobsClasses     = 4
	blobsClusters    = 2 // per class
	// blobsSep is half the distance between neighbouring cluster centres
	// (make_classification's class_sep). At scikit-learn's default of 1 the
	// clusters overlap so much that no model passes ~75%; at 3 a small MLP
	// passes 95% while a linear model, facing two clusters per class, trails.
	blobsSep = 3
)

// Blobs returns a tabular set in the manner of scikit-learn's
// make_classification: 20 features, of which the first 5 are informative,
// the next 5 random linear combinations of those, and the last 10 pure
// noise, in 4 classes. Each class is two Gaussian clusters, each with its own
// random covariance, centred on distinct vertices of the hypercube [-3, 3]⁵.
// Noise is the fraction of samples whose label is replaced by a random class
// (make_classification's flip_y), so it caps the attainable accuracy.
func Blobs(n int, noise float64, seed uint64) *core.Dataset {
	const (
		inf = blobsInformative
		f   = blobsInformative + blobsRedundant + blobsNoise
	)
	n = max(n, 0)
	d := &core.Dataset{Name: "blobs", X: make([]float32, n*f), Y: make([]int, n),
		SampleShape: []int{f}, Classes: classNames(blobsClasses)}
	r := newRand(seed, streamBlobs)

	// Cluster centres: distinct hypercube vertices, one bit per dimension.
	clusters := blobsClasses * blobsClusters
	vertices := r.Perm(1 << inf)[:clusters]
	mix := make([][inf * inf]float64, clusters) // per-cluster covariance factor
	for k := range mix {
		for j := range mix[k] {
			mix[k][j] = uniform(r, -1, 1)
		}
	}
	var redundant [inf * blobsRedundant]float64
	for j := range redundant {
		redundant[j] = uniform(r, -1, 1)
	}

	var z, x [inf]float64
	for i := range d.Y {
		c := i % blobsClasses
		k := c*blobsClusters + r.IntN(blobsClusters)
		for j := range z {
			z[j] = r.NormFloat64()
		}
		row := d.X[i*f : (i+1)*f]
		for j := range x {
			x[j] = -blobsSep
			if vertices[k]>>j&1 == 1 {
				x[j] = blobsSep
			}
			for m := range z {
				x[j] += z[m] * mix[k][m*inf+j]
			}
			row[j] = float32(x[j])
		}
		for j := range blobsRedundant {
			var s float64
			for m := range x {
				s += x[m] * redundant[m*blobsRedundant+j]
			}
			row[inf+j] = float32(s)
		}
		for j := inf + blobsRedundant; j < f; j++ {
			row[j] = float32(r.NormFloat64())
		}
		// Both draws happen whatever the noise, so noise changes labels only.
		flip, other := r.Float64() < noise, r.IntN(blobsClasses)
		d.Y[i] = c
		if flip {
			d.Y[i] = other
		}
	}
	return d
}
