package core

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// scalingSpace and scalingMiss model a learning rate whose best value
// depends on two other parameters, as in training: it grows with the batch
// size (the linear scaling rule) and is 100 times higher for momentum SGD
// than for Adam.
var scalingSpace = Space{
	{Name: "lr", Kind: LogUniform, Low: 1e-5, High: 1},
	{Name: "batch", Kind: Integer, Low: 16, High: 1024, Log: true},
	{Name: "optimizer", Kind: Categorical, Values: []string{"adam", "momentum"}},
	{Name: "dropout", Kind: Uniform, Low: 0, High: 0.5},
}

// scalingMiss is how many decades p's learning rate is from the best one
// for its batch size and optimizer.
func scalingMiss(p Point) float64 {
	best := -4 + math.Log10(p[1]/16)
	if p[2] == 1 {
		best += 2
	}
	return math.Log10(p[0]) - best
}

// scaling peaks at 0.95 along a ridge in (lr, batch) for each optimizer;
// dropout only costs.
func scaling(p Point, _ int) float64 {
	d := scalingMiss(p)
	return 0.95 - 0.02*d*d - 0.02*p[3]
}

func TestTPEBeatsRandomWhenParametersInteract(t *testing.T) {
	// 100 seeds of 30 trials with 2 workers: the lab's default study. TPE
	// leads by about 0.001 on average (regret 0.0016 against random's
	// 0.0025) and wins about 7 runs in 10; a univariate TPE, which draws
	// the learning rate and the batch size independently, led by about a
	// third of that when this test was written.
	const seeds = 100
	var tpeSum, randSum float64
	var wins int
	for seed := range uint64(seeds) {
		a := simulate(mustStrategy(t, scalingSpace, SearchConfig{Strategy: "tpe", Trials: 30, MaxEpochs: 1, Seed: seed}), 2, scaling).best
		b := simulate(mustStrategy(t, scalingSpace, SearchConfig{Strategy: "random", Trials: 30, MaxEpochs: 1, Seed: seed}), 2, scaling).best
		tpeSum, randSum = tpeSum+a, randSum+b
		if a > b {
			wins++
		}
	}
	if tpeSum <= randSum || wins < seeds*6/10 {
		t.Errorf("mean best over %d seeds: TPE %.5f, random %.5f; TPE better in %d; want a higher mean and ≥ 60%% of the runs",
			seeds, tpeSum/seeds, randSum/seeds, wins)
	}
}

func TestTPEDrawsKeepCombinations(t *testing.T) {
	// Good points at (lr 1e-4, adam) and (lr 1e-1, momentum). Draws from l
	// with a learning rate near one of them must mostly carry its
	// optimizer: a product of per-parameter densities would pair each
	// learning rate with either optimizer about equally often. Expected
	// share: about 0.84 (one draw in 7 comes from the uniform prior, and an
	// observation's categorical kernel keeps its choice with probability
	// 8/9).
	r := rand.New(rand.NewPCG(1, 2))
	var points []Point
	for i := range 6 {
		p := scalingSpace.Sample(r)
		p[0], p[2] = 1e-4, 0
		if i%2 == 1 {
			p[0], p[2] = 1e-1, 1
		}
		points = append(points, p)
	}
	l := newKDE(scalingSpace, points)
	var near, matched int
	for range 4000 {
		x := l.draw(r)
		lr := math.Log10(math.Exp(x[0]))
		switch {
		case math.Abs(lr+4) < 0.5:
			near++
			if x[2] == 0 {
				matched++
			}
		case math.Abs(lr+1) < 0.5:
			near++
			if x[2] == 1 {
				matched++
			}
		}
	}
	if share := float64(matched) / float64(near); share < 0.75 {
		t.Errorf("%d of %d draws (%.0f%%) near a good learning rate carry that point's optimizer, want ≥ 75%%",
			matched, near, 100*share)
	}
}

func TestTPEAvoidsRunningTrials(t *testing.T) {
	// With 20 trials finished around a peak, TPE proposes a, and a trains.
	// The next proposal is drawn twice from the same random state, so from
	// the same candidates, with a running and without it (as if the
	// strategy ignored running trials). Without, it lands within 0.1 of a
	// in both coordinates about 60% of the time; with a counted as a bad
	// point, under 10%.
	space := Space{{Name: "x", Kind: Uniform, Low: 0, High: 1}, {Name: "y", Kind: Uniform, Low: 0, High: 1}}
	f := func(p Point) float64 { return -math.Hypot(p[0]-0.3, p[1]-0.7) }
	near := func(p, q Point) bool { return math.Abs(p[0]-q[0]) < 0.1 && math.Abs(p[1]-q[1]) < 0.1 }
	const seeds = 100
	var nearIgnoring, nearLying int
	for seed := range uint64(seeds) {
		r := rand.New(rand.NewPCG(seed, 1))
		var done []observation
		for range 20 {
			p := space.Sample(r)
			done = append(done, observation{p, []float64{f(p)}})
		}
		c, _ := SearchConfig{Strategy: "tpe"}.Resolve(space)
		tp := &tpe{space: space, r: r, startup: c.Startup, gamma: c.Gamma, candidates: c.Candidates}
		a := tp.sample(done, nil)
		src := rand.NewPCG(seed, 2)
		same := *src
		tp.r = rand.New(src)
		if near(tp.sample(done, nil), a) {
			nearIgnoring++
		}
		tp.r = rand.New(&same)
		if near(tp.sample(done, []Point{a}), a) {
			nearLying++
		}
	}
	if nearIgnoring < seeds*4/10 || nearLying*4 > nearIgnoring {
		t.Errorf("proposals within 0.1 of a running trial: %d of %d when it is ignored, %d when it counts as bad; want ≥ 40%% and at most a quarter of that",
			nearIgnoring, seeds, nearLying)
	}
}

func TestFIFOTellsTheSamplerWhatIsRunning(t *testing.T) {
	c, err := SearchConfig{Strategy: "random", Trials: 4, MaxEpochs: 1}.Resolve(lrSpace)
	if err != nil {
		t.Fatal(err)
	}
	var seen [][]Point
	n := 0
	s := newFIFO(lrSpace, c, func(_ []observation, running []Point) Point {
		seen = append(seen, slices.Clone(running))
		n++
		return Point{float64(n), 8, 0}
	})
	s.Next()           // trial 1
	s.Next()           // trial 2, while 1 runs
	s.Report(1, 1, .9) // 1 ends with its budget
	s.Next()           // trial 3, while 2 runs
	s.End(2)           // 2 fails
	s.Next()           // trial 4, while 3 runs
	want := [][]Point{nil, {{1, 8, 0}}, {{2, 8, 0}}, {{3, 8, 0}}}
	if !slices.EqualFunc(seen, want, func(a, b []Point) bool {
		return slices.EqualFunc(a, b, func(p, q Point) bool { return slices.Equal(p, q) })
	}) {
		t.Errorf("running trials the sampler saw: %v, want %v", seen, want)
	}
}
