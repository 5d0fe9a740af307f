package datasets

import (
	"math"

	"github.com/optlab/optlab/core"
)

// Split divides d into rest and held, stratified by class: for each class
// with count samples, held gets round(frac·count) of them, chosen at random
// for the seed, but at least one and at most count-1 when count ≥ 2 (frac
// in (0, 1)). frac ≤ 0 holds nothing out; frac ≥ 1 holds out every labelled
// sample. Unlabelled samples (label -1) always go to rest. Both parts keep
// d's sample order, and the same seed gives the same split.
func Split(d *core.Dataset, frac float64, seed uint64) (rest, held *core.Dataset) {
	byClass := make([][]int, d.NumClasses())
	for i, y := range d.Y {
		if y >= 0 {
			byClass[y] = append(byClass[y], i)
		}
	}
	r := newRand(seed, streamSplit)
	inHeld := make([]bool, d.Len())
	for _, idx := range byClass {
		k := heldCount(len(idx), frac)
		r.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		for _, i := range idx[:k] {
			inHeld[i] = true
		}
	}
	var restIdx, heldIdx []int
	for i, h := range inHeld {
		if h {
			heldIdx = append(heldIdx, i)
		} else {
			restIdx = append(restIdx, i)
		}
	}
	return d.Subset(restIdx), d.Subset(heldIdx)
}

// heldCount is how many of a class's count samples Split holds out.
func heldCount(count int, frac float64) int {
	switch {
	case frac <= 0:
		return 0
	case frac >= 1:
		return count
	case count < 2:
		return 0 // a lone sample is worth more for training
	}
	return min(max(int(math.Round(frac*float64(count))), 1), count-1)
}

// TrainValTest splits d three ways, stratified by class. The test part,
// testFrac of each class, is split off first, so it is the same for a given
// testFrac and seed whatever valFrac is; validation is valFrac of what
// remains, and train the rest.
func TrainValTest(d *core.Dataset, testFrac, valFrac float64, seed uint64) (train, val, test *core.Dataset) {
	rest, test := Split(d, testFrac, seed)
	// A different seed for the second split, so its shuffles are not the
	// first split's over again.
	train, val = Split(rest, valFrac, seed^0x9e3779b97f4a7c15)
	return train, val, test
}

// Subsample returns about n samples of d (exactly n when every class
// divides evenly), stratified by class and chosen for the seed, in d's
// order. It returns d itself when n ≤ 0 or n ≥ d.Len().
func Subsample(d *core.Dataset, n int, seed uint64) *core.Dataset {
	if n <= 0 || n >= d.Len() {
		return d
	}
	_, held := Split(d, float64(n)/float64(d.Len()), seed)
	return held
}

// Standardize fits a standardizer on train only and returns it with
// standardized copies of train and of each of others, in order. The inputs
// are not modified.
func Standardize(train *core.Dataset, others ...*core.Dataset) (*core.Standardizer, *core.Dataset, []*core.Dataset) {
	s := core.FitStandardizer(train)
	out := make([]*core.Dataset, len(others))
	for i, o := range others {
		out[i] = s.Transform(o)
	}
	return s, s.Transform(train), out
}
