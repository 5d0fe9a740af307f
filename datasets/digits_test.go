package datasets

import (
	"slices"
	"testing"

	"github.com/optlab/optlab/core"
)

func TestDigitsImages(t *testing.T) {
	d := Digits(1000, 0.1, 1)
	if !slices.Equal(d.SampleShape, []int{16, 16, 1}) || d.Classes[0] != "0" || d.Classes[9] != "9" {
		t.Fatalf("shape %v, classes %v", d.SampleShape, d.Classes)
	}
	for i := range d.Len() {
		var peak, sum float32
		for _, v := range d.Sample(i) {
			if v < 0 || v > 1 {
				t.Fatalf("sample %d has value %v outside [0, 1]", i, v)
			}
			peak, sum = max(peak, v), sum+v
		}
		// Ink on a dark background: a stroke reaches near full intensity and
		// covers well under half the image.
		if mean := sum / 256; peak < 0.6 || mean > 0.4 {
			t.Fatalf("sample %d (a %d): peak %.2f, mean %.2f", i, d.Y[i], peak, mean)
		}
	}
	clean := Digits(10, 0, 1)
	for i, v := range clean.Sample(0)[:16] {
		if v != 0 {
			t.Fatalf("noise 0: top row pixel %d is %v, want 0", i, v)
		}
	}
}

// nearestCentroidAccuracy classifies test by the closest class mean of train.
func nearestCentroidAccuracy(train, test *core.Dataset) float64 {
	f, k := train.Features(), train.NumClasses()
	centroids := make([]float64, k*f)
	counts := classCounts(train)
	for i, y := range train.Y {
		for j, v := range train.Sample(i) {
			centroids[y*f+j] += float64(v) / float64(counts[y])
		}
	}
	correct := 0
	for i, y := range test.Y {
		best, bestDist := -1, 0.0
		for c := range k {
			var dist float64
			for j, v := range test.Sample(i) {
				e := float64(v) - centroids[c*f+j]
				dist += e * e
			}
			if best < 0 || dist < bestDist {
				best, bestDist = c, dist
			}
		}
		if best == y {
			correct++
		}
	}
	return float64(correct) / float64(test.Len())
}

// A template-matching classifier must do far better than chance, and far
// from perfectly: digits is meant to separate linear models from MLPs.
// (Measured with the default 8000 samples, 80/20: softmax regression about
// 86%, an MLP with 128 hidden units about 97%.)
func TestDigitsNotTriviallySeparable(t *testing.T) {
	train, test := Split(Digits(3000, 0.1, 1), 0.3, 1)
	acc := nearestCentroidAccuracy(train, test)
	t.Logf("nearest-centroid accuracy %.3f", acc)
	if acc < 0.4 || acc > 0.85 {
		t.Errorf("nearest-centroid accuracy %.3f, want within [0.4, 0.85]", acc)
	}
}
