package core

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestParetoFrontsAndCrowding(t *testing.T) {
	// Two objectives to maximize. 0-3 trade off; 4 and its duplicate 6 are
	// dominated by 1 only; 5 by 4; 7 (NaN counts as -Inf) by 5.
	pts := [][]float64{{1, 0}, {0.8, 0.5}, {0.5, 0.6}, {0, 1}, {0.7, 0.4}, {0.4, 0.4}, {0.7, 0.4}, {math.NaN(), 0.2}}
	fronts := paretoFronts(pts)
	if want := [][]int{{0, 1, 2, 3}, {4, 6}, {5}, {7}}; !slices.EqualFunc(fronts, want, slices.Equal) {
		t.Errorf("fronts = %v, want %v", fronts, want)
	}
	// Along objective 0 the front runs 3, 2, 1, 0 over a range of 1: 2's
	// neighbours are 0.8 apart, 1's 0.5. Along objective 1 it runs 0, 1,
	// 2, 3: 1's neighbours are 0.6 apart, 2's 0.5. The ends are infinite.
	d := crowding(pts, fronts[0])
	want := []float64{math.Inf(1), 0.5 + 0.6, 0.8 + 0.5, math.Inf(1)}
	for i := range d {
		if math.Abs(d[i]-want[i]) > 1e-12 && d[i] != want[i] {
			t.Errorf("crowding of %d = %g, want %g", fronts[0][i], d[i], want[i])
		}
	}
	// Equal points spread nothing: no infinite ends, distance 0.
	if d := crowding(pts, fronts[1]); !slices.Equal(d, []float64{0, 0}) {
		t.Errorf("crowding of duplicates = %v, want zeros", d)
	}
	if got, want := paretoOrder(pts), []int{0, 3, 2, 1, 4, 6, 5, 7}; !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}

	// A NaN point on the front: the end of objective 0, and its neighbour
	// there is infinitely far from it.
	nan := [][]float64{{math.NaN(), 1.5}, {0, 1}, {0.5, 0.6}, {1, 0}}
	d = crowding(nan, []int{0, 1, 2, 3})
	if !math.IsInf(d[0], 1) || !math.IsInf(d[1], 1) || !math.IsInf(d[3], 1) || math.Abs(d[2]-1/1.5) > 1e-12 {
		t.Errorf("crowding with a NaN point = %v, want [+Inf +Inf 0.667 +Inf]", d)
	}
	if got, want := paretoOrder(nan), []int{0, 1, 3, 2}; !slices.Equal(got, want) {
		t.Errorf("order with a NaN point = %v, want %v", got, want)
	}

	// One objective: by value, lower index first on ties, NaN last.
	one := [][]float64{{0.5}, {0.7}, {0.5}, {math.NaN()}, {0.9}}
	if got, want := paretoOrder(one), []int{4, 1, 0, 2, 3}; !slices.Equal(got, want) {
		t.Errorf("order with one objective = %v, want %v", got, want)
	}
	if got := paretoOrder(nil); len(got) != 0 {
		t.Errorf("order of nothing = %v", got)
	}
}

// wideAsymptote is asymptote with a stronger pull towards width, so that
// accuracy and cost (the width) conflict.
func wideAsymptote(p Point) float64 {
	d := math.Log10(p[0]) + 2.5
	return 0.9 - 0.04*d*d + 0.08*math.Log2(p[1]/8)/5
}

// accuracyAndCost is a two-objective problem: a learning curve rising
// towards wideAsymptote, and minus the cost, the width over 256, which a
// trial knows from its start.
func accuracyAndCost(p Point, e int) []float64 {
	rate := 0.6 + 0.2*math.Abs(math.Sin(7*p[0]*1000))
	return []float64{wideAsymptote(p) * (1 - 0.4*math.Exp(-rate*float64(e))), -p[1] / 256}
}

// hypervolume2 is the area that points (two objectives to maximize)
// dominate above the reference point ref.
func hypervolume2(points [][]float64, ref [2]float64) float64 {
	ps := slices.Clone(points)
	slices.SortFunc(ps, func(a, b []float64) int { return -cmpFloat(a[0], b[0]) })
	var area float64
	y := ref[1]
	for _, p := range ps {
		if p[1] > y && p[0] > ref[0] {
			area += (p[0] - ref[0]) * (p[1] - y)
			y = p[1]
		}
	}
	return area
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// topRung returns the trials of r that trained maxE epochs, and their
// final values under f.
func topRung(r run, maxE int, f func(Point, int) []float64) (ids []int, values [][]float64) {
	for id, e := range r.reached {
		if e == maxE {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		values = append(values, f(r.points[id], maxE))
	}
	return ids, values
}

func TestMOASHAPromotesAlongTheFront(t *testing.T) {
	// Width buys accuracy at a cost. Single-objective ASHA fills its top
	// rung with the most accurate, mostly wide, trials; MO-ASHA, given
	// both objectives, must take cheap trials that single-objective ASHA
	// stopped to the top as well, so that the top rung covers more of the
	// front: a larger hypervolume of the top rung's final values, and a
	// cheaper cheapest trial, for every seed. The same seed gives both
	// runs the same configurations in the same order.
	primary := func(p Point, e int) float64 { return accuracyAndCost(p, e)[0] }
	ref := [2]float64{0.5, -1.01}
	for seed := range uint64(10) {
		so := simulate(mustStrategy(t, lrSpace, SearchConfig{Strategy: "asha", MaxEpochs: 9, Trials: 27, Seed: seed}), 2, primary)
		mo := simulateN(mustStrategy(t, lrSpace, SearchConfig{Strategy: "asha", MaxEpochs: 9, Trials: 27, Seed: seed, Objectives: 2}), 2, accuracyAndCost)
		soTop, soValues := topRung(so, 9, accuracyAndCost)
		moTop, moValues := topRung(mo, 9, accuracyAndCost)
		soHV, moHV := hypervolume2(soValues, ref), hypervolume2(moValues, ref)
		if moHV <= soHV {
			t.Errorf("seed %d: the top rung's hypervolume is %.4f with both objectives, %.4f with accuracy alone", seed, moHV, soHV)
		}
		cheapest := func(r run, ids []int) (id int) {
			for _, i := range ids {
				if id == 0 || r.points[i][1] < r.points[id][1] {
					id = i
				}
			}
			return id
		}
		c := cheapest(mo, moTop)
		if slices.Contains(soTop, c) || mo.points[c][1] >= so.points[cheapest(so, soTop)][1] {
			t.Errorf("seed %d: the cheapest trial at the top rung is %d (width %.0f) with both objectives; with accuracy alone the top rung is %v",
				seed, c, mo.points[c][1], soTop)
		}
	}
}

func TestMOHyperbandCoversMoreOfTheFront(t *testing.T) {
	// Hyperband's last bracket trains every trial in full whatever the
	// objectives, so only the mean over seeds is compared.
	primary := func(p Point, e int) float64 { return accuracyAndCost(p, e)[0] }
	ref := [2]float64{0.5, -1.01}
	var soSum, moSum float64
	for seed := range uint64(10) {
		so := simulate(mustStrategy(t, lrSpace, SearchConfig{Strategy: "hyperband", MaxEpochs: 9, Trials: 27, Seed: seed}), 2, primary)
		mo := simulateN(mustStrategy(t, lrSpace, SearchConfig{Strategy: "hyperband", MaxEpochs: 9, Trials: 27, Seed: seed, Objectives: 2}), 2, accuracyAndCost)
		_, soValues := topRung(so, 9, accuracyAndCost)
		_, moValues := topRung(mo, 9, accuracyAndCost)
		soSum, moSum = soSum+hypervolume2(soValues, ref), moSum+hypervolume2(moValues, ref)
	}
	if moSum <= soSum {
		t.Errorf("mean hypervolume of the trials trained in full: %.4f with both objectives, %.4f with accuracy alone", moSum/10, soSum/10)
	}
}

func TestMOTPEPrefersTheFront(t *testing.T) {
	// Accuracy peaks at lr = 10^-2.5 and grows with width; the cost is the
	// width. The Pareto front is the optimal lr at every width. After its
	// random start MOTPE must propose learning rates near the optimum far
	// more often than random search (about 1 in 5 within half a decade),
	// and, unlike TPE on accuracy alone, which drifts to wide models, keep
	// proposing narrow ones (random search: about 2 in 5 of width ≤ 32).
	space := Space{lrSpace[0], lrSpace[1]}
	f := func(p Point, _ int) []float64 {
		d := math.Log10(p[0]) + 2.5
		return []float64{-d*d + 0.3*math.Log2(p[1]/8), -p[1] / 256}
	}
	share := func(strategy string, objectives int) (near, narrow float64) {
		var total int
		for seed := range uint64(5) {
			s := mustStrategy(t, space, SearchConfig{Strategy: strategy, Trials: 60, MaxEpochs: 1, Seed: seed, Objectives: objectives})
			r := simulateN(s, 1, func(p Point, e int) []float64 { return f(p, e)[:objectives] })
			for id, p := range r.points {
				if id <= 10 { // the random start
					continue
				}
				total++
				if math.Abs(math.Log10(p[0])+2.5) < 0.5 {
					near++
				}
				if p[1] <= 32 {
					narrow++
				}
			}
		}
		return near / float64(total), narrow / float64(total)
	}
	moNear, moNarrow := share("tpe", 2)
	randNear, _ := share("random", 2)
	_, soNarrow := share("tpe", 1)
	if moNear < 0.6 || moNear < 2*randNear {
		t.Errorf("MOTPE proposed %.0f%% of its learning rates within half a decade of the optimum, random search %.0f%%; want ≥ 60%%",
			100*moNear, 100*randNear)
	}
	if moNarrow < 0.25 || moNarrow < 2*soNarrow {
		t.Errorf("MOTPE proposed %.0f%% narrow models (width ≤ 32), TPE on accuracy alone %.0f%%; want ≥ 25%% and twice as many",
			100*moNarrow, 100*soNarrow)
	}
}

func TestMultiObjectiveStrategiesAreDeterministic(t *testing.T) {
	for _, name := range Strategies {
		c := SearchConfig{Strategy: name, MaxEpochs: 9, Trials: 15, Seed: 11, Median: name == "asha", Objectives: 2}
		a := simulateN(mustStrategy(t, lrSpace, c), 3, accuracyAndCost)
		b := simulateN(mustStrategy(t, lrSpace, c), 3, accuracyAndCost)
		if !slices.Equal(a.transcript, b.transcript) {
			t.Errorf("%s: two runs with seed 11 and two objectives differ", name)
		}
	}
}

func TestReportWantsOneValuePerObjective(t *testing.T) {
	for _, median := range []bool{false, true} {
		s := mustStrategy(t, lrSpace, SearchConfig{Strategy: "asha", MaxEpochs: 9, Trials: 3, Objectives: 2, Median: median})
		s.Next()
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "core: ") {
					t.Errorf("median %v: one value for two objectives: recovered %v, want a core panic", median, r)
				}
			}()
			s.Report(1, 1, 0.9)
		}()
	}
	if _, err := (SearchConfig{Objectives: -1}).Resolve(lrSpace); err == nil {
		t.Error("a negative number of objectives was accepted")
	}
}
