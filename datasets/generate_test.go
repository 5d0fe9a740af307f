package datasets

import (
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/optlab/optlab/core"
)

func TestBuiltinsShapesBalanceDeterminism(t *testing.T) {
	for _, info := range Builtins() {
		t.Run(info.Name, func(t *testing.T) {
			const n = 400
			b := findBuiltin(info.Name)
			d := b.generate(n, b.noise, 3)
			if err := d.Validate(); err != nil {
				t.Fatal(err)
			}
			if d.Name != info.Name || d.Len() != n || !slices.Equal(d.SampleShape, info.SampleShape) || d.NumClasses() != info.Classes {
				t.Fatalf("got %q, %d samples of %v, %d classes; Info says %q, %v, %d classes",
					d.Name, d.Len(), d.SampleShape, d.NumClasses(), info.Name, info.SampleShape, info.Classes)
			}
			for c, k := range classCounts(d) {
				// Blobs flips 1% of labels by default; the others are exact.
				if want := n / info.Classes; math.Abs(float64(k-want)) > 0.05*float64(want) {
					t.Errorf("class %d has %d samples, want about %d", c, k, want)
				}
			}
			for i, v := range d.X {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || math.Abs(float64(v)) > 100 {
					t.Fatalf("X[%d] = %v", i, v)
				}
			}
			again := b.generate(n, b.noise, 3)
			if !slices.Equal(d.X, again.X) || !slices.Equal(d.Y, again.Y) {
				t.Error("two calls with the same seed differ")
			}
			other := b.generate(n, b.noise, 4)
			if slices.Equal(d.X, other.X) {
				t.Error("seeds 3 and 4 give the same data")
			}
		})
	}
}

func TestBuiltinsOrderAndDefault(t *testing.T) {
	var names []string
	for _, info := range Builtins() {
		names = append(names, info.Name)
		if info.Description == "" || info.Samples <= 0 {
			t.Errorf("%s: incomplete Info %+v", info.Name, info)
		}
	}
	want := []string{"digits", "spiral", "circles", "xor", "gauss", "moons", "blobs"}
	if !slices.Equal(names, want) {
		t.Errorf("Builtins() = %v, want %v", names, want)
	}
	if names[0] != Default {
		t.Errorf("first built-in %q is not Default %q", names[0], Default)
	}
	Builtins()[0].SampleShape[0] = 99 // must not write through to the registry
	if Builtins()[0].SampleShape[0] != digitSize {
		t.Error("Builtins shares SampleShape with the registry")
	}
}

// meanNorm is the mean distance of 2-D points from the origin, per class.
func meanNorm(d *core.Dataset) [2]float64 {
	var sum [2]float64
	for i, y := range d.Y {
		s := d.Sample(i)
		sum[y] += math.Hypot(float64(s[0]), float64(s[1]))
	}
	counts := classCounts(d)
	return [2]float64{sum[0] / float64(counts[0]), sum[1] / float64(counts[1])}
}

func TestPlaneGeometry(t *testing.T) {
	t.Run("circles: inner disc, outer ring", func(t *testing.T) {
		d := Circles(1000, 0, 1)
		for i, y := range d.Y {
			s := d.Sample(i)
			r := math.Hypot(float64(s[0]), float64(s[1]))
			if y == 0 && r > 2.5 || y == 1 && (r < 3.5 || r > 5) {
				t.Fatalf("class %d point at radius %.2f", y, r)
			}
		}
	})
	t.Run("xor: sign of x*y", func(t *testing.T) {
		d := XOR(1000, 0, 1)
		for i, y := range d.Y {
			s := d.Sample(i)
			if (s[0]*s[1] > 0) != (y == 0) || math.Abs(float64(s[0])) < 0.3 || math.Abs(float64(s[1])) < 0.3 {
				t.Fatalf("class %d point at %v", y, s)
			}
		}
	})
	t.Run("gauss: centres", func(t *testing.T) {
		d := Gauss(2000, 0.1, 1)
		var sx [2]float64
		for i, y := range d.Y {
			sx[y] += float64(d.Sample(i)[0]+d.Sample(i)[1]) / 2
		}
		if m0, m1 := sx[0]/1000, sx[1]/1000; math.Abs(m0-2) > 0.15 || math.Abs(m1+2) > 0.15 {
			t.Errorf("class means %.2f, %.2f; want 2, -2", m0, m1)
		}
	})
	t.Run("spiral: radius grows to 5", func(t *testing.T) {
		d := Spiral(1000, 0, 1)
		last := d.Sample(d.Len() - 1)
		if r := math.Hypot(float64(last[0]), float64(last[1])); r < 4.9 || r > 5 {
			t.Errorf("last point at radius %.3f", r)
		}
		if m := meanNorm(d); math.Abs(m[0]-m[1]) > 0.05 {
			t.Errorf("arms have mean radii %.3f and %.3f", m[0], m[1])
		}
	})
	t.Run("moons: on unit half circles", func(t *testing.T) {
		d := Moons(1000, 0, 1)
		for i, y := range d.Y {
			s := d.Sample(i)
			x, z := float64(s[0]), float64(s[1])
			if y == 1 {
				x, z = 1-x, 0.5-z
			}
			if math.Abs(math.Hypot(x, z)-1) > 1e-6 || z < -1e-6 {
				t.Fatalf("class %d point %v off its half circle", y, s)
			}
		}
	})
	t.Run("noise spreads points", func(t *testing.T) {
		if a, b := meanNorm(Circles(1000, 0, 1)), meanNorm(Circles(1000, 0.5, 1)); a == b {
			t.Error("noise 0.5 changed nothing")
		}
	})
}

func TestBlobsFeatureStructure(t *testing.T) {
	d := Blobs(1000, 0, 1)
	const f = blobsInformative + blobsRedundant + blobsNoise
	m := mat.NewDense(d.Len(), blobsInformative+blobsRedundant, nil)
	for i := range d.Len() {
		for j := range blobsInformative + blobsRedundant {
			m.Set(i, j, float64(d.Sample(i)[j]))
		}
	}
	var svd mat.SVD
	if !svd.Factorize(m, mat.SVDNone) {
		t.Fatal("SVD failed")
	}
	sv := svd.Values(nil)
	// The redundant features are combinations of the informative ones, so
	// the first ten columns have rank 5; float32 storage leaves ~1e-7 relative.
	if sv[blobsInformative-1] < 1e-2*sv[0] || sv[blobsInformative] > 1e-5*sv[0] {
		t.Errorf("singular values %v: want 5 large, the rest ~0", sv)
	}
	// Noise features carry no class information: their class means are ~0.
	for c := range blobsClasses {
		var sum float64
		var k int
		for i, y := range d.Y {
			if y == c {
				sum += float64(d.Sample(i)[f-1])
				k++
			}
		}
		if mean := sum / float64(k); math.Abs(mean) > 0.2 {
			t.Errorf("class %d: noise feature mean %.3f", c, mean)
		}
	}
	flipped := Blobs(1000, 0.5, 1)
	if !slices.Equal(d.X, flipped.X) {
		t.Error("label noise changed the features")
	}
	same := 0
	for i := range d.Y {
		if d.Y[i] == flipped.Y[i] {
			same++
		}
	}
	// Half are redrawn, a quarter of those land on the same class: ~62.5%.
	if same < 550 || same > 700 {
		t.Errorf("noise 0.5 kept %d of 1000 labels, want about 625", same)
	}
}
