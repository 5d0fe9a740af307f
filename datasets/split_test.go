package datasets

import (
	"slices"
	"testing"

	"github.com/optlab/optlab/core"
)

// indexed returns a dataset whose sample i holds the single value i, with
// counts[c] samples of class c, interleaved.
func indexed(counts ...int) *core.Dataset {
	d := &core.Dataset{Name: "indexed", SampleShape: []int{1}, Classes: classNames(len(counts))}
	left := slices.Clone(counts)
	for more := true; more; {
		more = false
		for c := range left {
			if left[c] > 0 {
				left[c]--
				d.Y = append(d.Y, c)
				d.X = append(d.X, float32(len(d.X)))
				more = true
			}
		}
	}
	return d
}

// ids returns the sample identities of an indexed dataset's part.
func ids(d *core.Dataset) []int {
	out := make([]int, d.Len())
	for i, v := range d.X {
		out[i] = int(v)
	}
	return out
}

func TestSplitStratified(t *testing.T) {
	d := indexed(500, 300, 101, 7, 2, 1)
	rest, held := Split(d, 0.2, 42)
	// round(0.2·count), at least 1 where count ≥ 2, none for a lone sample.
	wantHeld := []int{100, 60, 20, 1, 1, 0}
	if got := classCounts(held); !slices.Equal(got, wantHeld) {
		t.Errorf("held class counts %v, want %v", got, wantHeld)
	}
	for c, k := range classCounts(rest) {
		if k+wantHeld[c] != classCounts(d)[c] {
			t.Errorf("class %d: %d in rest + %d held != %d", c, k, wantHeld[c], classCounts(d)[c])
		}
	}
	// Disjoint, covering, each part in the original order, labels kept.
	r, h := ids(rest), ids(held)
	if !slices.IsSorted(r) || !slices.IsSorted(h) {
		t.Error("parts are not in the original order")
	}
	all := slices.Concat(r, h)
	slices.Sort(all)
	if len(slices.Compact(all)) != d.Len() || all[0] != 0 || all[len(all)-1] != d.Len()-1 {
		t.Error("parts overlap or miss samples")
	}
	for _, part := range []*core.Dataset{rest, held} {
		for i, id := range ids(part) {
			if part.Y[i] != d.Y[id] {
				t.Fatalf("sample %d changed label", id)
			}
		}
	}

	rest2, held2 := Split(d, 0.2, 42)
	if !slices.Equal(ids(rest2), r) || !slices.Equal(ids(held2), h) {
		t.Error("same seed, different split")
	}
	if _, held3 := Split(d, 0.2, 43); slices.Equal(ids(held3), h) {
		t.Error("seeds 42 and 43 give the same split")
	}
}

func TestSplitEdges(t *testing.T) {
	d := indexed(10, 10)
	d.Y[3], d.Y[4] = -1, -1 // unlabelled samples never go to held
	for _, tt := range []struct {
		frac     float64
		wantHeld int
	}{{0, 0}, {-1, 0}, {0.5, 10}, {0.99, 16}, {1, 18}} { // 9 labelled per class; round(4.5) = 5
		rest, held := Split(d, tt.frac, 1)
		if held.Len() != tt.wantHeld || rest.Len()+held.Len() != d.Len() {
			t.Errorf("frac %v: %d held, %d rest; want %d held", tt.frac, held.Len(), rest.Len(), tt.wantHeld)
		}
		if slices.Contains(held.Y, -1) {
			t.Errorf("frac %v: an unlabelled sample was held out", tt.frac)
		}
	}
}

func TestTrainValTest(t *testing.T) {
	d := indexed(400, 200, 100)
	train, val, test := TrainValTest(d, 0.2, 0.25, 7)
	if got, want := []int{train.Len(), val.Len(), test.Len()}, []int{420, 140, 140}; !slices.Equal(got, want) {
		t.Errorf("sizes %v, want %v", got, want)
	}
	if got := classCounts(val); !slices.Equal(got, []int{80, 40, 20}) {
		t.Errorf("validation class counts %v", got)
	}
	_, _, test2 := TrainValTest(d, 0.2, 0.1, 7)
	if !slices.Equal(ids(test), ids(test2)) {
		t.Error("the test part depends on valFrac")
	}
	seen := map[int]bool{}
	for _, part := range []*core.Dataset{train, val, test} {
		for _, id := range ids(part) {
			if seen[id] {
				t.Fatalf("sample %d in two parts", id)
			}
			seen[id] = true
		}
	}
}

func TestSubsample(t *testing.T) {
	d := indexed(600, 300, 100)
	s := Subsample(d, 100, 1)
	if got := classCounts(s); !slices.Equal(got, []int{60, 30, 10}) {
		t.Errorf("class counts %v, want [60 30 10]", got)
	}
	if Subsample(d, 0, 1) != d || Subsample(d, 5000, 1) != d {
		t.Error("n ≤ 0 or ≥ Len should return d itself")
	}
}

func TestStandardize(t *testing.T) {
	train := &core.Dataset{X: []float32{1, 10, 3, 30}, Y: []int{0, 1}, SampleShape: []int{2}, Classes: classNames(2)}
	test := &core.Dataset{X: []float32{2, 20}, Y: []int{0}, SampleShape: []int{2}, Classes: classNames(2)}
	s, strain, others := Standardize(train, test)
	if !slices.Equal(s.Mean, []float32{2, 20}) || !slices.Equal(s.Std, []float32{1, 10}) {
		t.Errorf("fitted mean %v std %v, want [2 20] [1 10]: fitted on train only", s.Mean, s.Std)
	}
	if !slices.Equal(strain.X, []float32{-1, -1, 1, 1}) || !slices.Equal(others[0].X, []float32{0, 0}) {
		t.Errorf("standardized train %v, test %v", strain.X, others[0].X)
	}
	if train.X[0] != 1 || test.X[0] != 2 {
		t.Error("inputs were modified")
	}
}
