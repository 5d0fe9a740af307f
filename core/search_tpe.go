package core

import (
	"math"
	"math/rand/v2"
)

// tpe is the multivariate tree-structured Parzen estimator (Bergstra et al.
// 2011, "Algorithms for Hyper-Parameter Optimization", §4, with the joint
// kernel density of Falkner et al. 2018, "BOHB: Robust and Efficient
// Hyperparameter Optimization at Scale", built as Optuna's TPESampler does
// with multivariate and constant_liar set). Until startup trials have
// finished it samples at random. Then it splits the n finished trials into
// good (the best min(⌈gamma·n⌉, 25)) and bad, fits a density l(x) to the
// good points and g(x) to the bad ones and the running trials' points,
// draws SearchConfig.Candidates points from l and returns the one with the largest
// l(x)/g(x), which maximizes expected improvement under the model.
//
// Each density is an equally weighted mixture of one component per point
// and a prior component. A component is a product of one kernel per
// parameter, so a draw keeps the combination of values that made a point
// good (the learning rate that suits its optimizer and batch size), where
// the univariate TPE of the original paper, one mixture per parameter,
// pairs values from different good points. A numeric parameter (on its log
// scale if it has one) gets a Gaussian truncated to its range, of width
// 0.2·n^(-1/(d+4)) of the range for n points in d dimensions (Scott's rule
// at a fixed scale), at least range/min(100, n+2); the prior is a Gaussian
// at the middle as wide as the range. A categorical parameter gets weight
// 1 + 1/(n+1) on the point's choice and 1/(n+1) on every choice, normalized,
// which sharpens as points accrue; the prior is uniform.
//
// A running trial counts as a bad point (the constant liar of Ginsbourger
// et al. 2010, "Kriging Is Well-Suited to Parallelize Optimization", lying
// with the worst value): g(x) grows around it, so parallel workers spread
// out instead of proposing near-duplicates of a point being trained.
//
// With several objectives it is MOTPE (Ozaki et al. 2020, "Multiobjective
// Tree-Structured Parzen Estimator for Computationally Expensive
// Optimization Problems"): the good trials are the first ones in the order
// of paretoOrder, that is whole non-dominated fronts in turn, the last one
// cut by crowding distance (where MOTPE uses hypervolume contributions), so
// that l(x) models the region near the Pareto front. With one objective
// that order is by value, ties to the trial that finished first.
type tpe struct {
	space      Space
	r          *rand.Rand
	startup    int
	gamma      float64
	candidates int
}

// maxGood caps the good set, as Optuna and hyperopt do, so that l(x) stays
// on the very best points of a long study.
const maxGood = 25

func (t *tpe) sample(done []observation, running []Point) Point {
	if len(done) < t.startup || len(done) < 2 {
		return t.space.Sample(t.r)
	}
	values := make([][]float64, len(done))
	for i, o := range done {
		values[i] = o.values
	}
	order := paretoOrder(values)
	nGood := int(math.Ceil(t.gamma * float64(len(done))))
	nGood = min(max(nGood, 1), maxGood, len(done)-1)
	good := make([]Point, nGood)
	bad := make([]Point, 0, len(done)-nGood+len(running))
	for i, j := range order {
		if i < nGood {
			good[i] = done[j].point
		} else {
			bad = append(bad, done[j].point)
		}
	}
	bad = append(bad, running...)
	l, g := newKDE(t.space, good), newKDE(t.space, bad)

	var best []float64
	bestScore := math.Inf(-1)
	for range t.candidates {
		x := l.draw(t.r)
		if s := l.logPDF(x) - g.logPDF(x); s > bestScore || best == nil {
			best, bestScore = x, s
		}
	}
	p := make(Point, len(t.space))
	for i, d := range t.space {
		p[i] = best[i]
		if d.Kind != Categorical {
			p[i] = d.fromInternal(best[i])
		}
	}
	return p
}

// kde is a Parzen estimator over a whole space: an equally weighted mixture
// of one product kernel per point and a prior. Its coordinates are internal
// (Dim.toInternal; choice indices for categorical parameters).
type kde struct {
	centres [][]float64 // per component, one per dimension; the last is the prior
	axes    []kdeAxis
}

// kdeAxis is one dimension's kernels.
type kdeAxis struct {
	categorical bool
	// Numeric: the range and every component's width and log of its mass
	// inside the range (for the truncation).
	lo, hi          float64
	sigma, logZ     []float64
	choices         int     // categorical: how many
	logHit, logMiss float64 // categorical: log probability of a point's own choice and of each other one
}

func newKDE(space Space, points []Point) kde {
	n := len(points)
	k := kde{centres: make([][]float64, n+1), axes: make([]kdeAxis, len(space))}
	for c := range k.centres {
		k.centres[c] = make([]float64, len(space))
	}
	for i, d := range space {
		a := &k.axes[i]
		if d.Kind == Categorical {
			a.categorical, a.choices = true, len(d.Values)
			for c, p := range points {
				k.centres[c][i] = p[i]
			}
			w := 1 / float64(n+1) // the prior weight, 1, spread over the n+1 kernels
			total := 1 + float64(a.choices)*w
			a.logHit, a.logMiss = math.Log((1+w)/total), math.Log(w/total)
			continue
		}
		a.lo, a.hi = d.bounds()
		span := a.hi - a.lo
		for c, p := range points {
			k.centres[c][i] = d.toInternal(p[i])
		}
		k.centres[n][i] = a.lo + span/2
		sigma := 0.2 * math.Pow(float64(max(n, 1)), -1/float64(len(space)+4)) * span
		sigma = min(max(sigma, span/math.Min(100, float64(n+2))), span)
		a.sigma, a.logZ = make([]float64, n+1), make([]float64, n+1)
		for c := range n + 1 {
			a.sigma[c] = sigma
			if c == n {
				a.sigma[c] = span
			}
			if span > 0 {
				mu, s := k.centres[c][i], a.sigma[c]
				a.logZ[c] = math.Log(normalCDF((a.hi-mu)/s) - normalCDF((a.lo-mu)/s))
			}
		}
	}
	return k
}

// draw picks a component and samples every coordinate from it.
func (k kde) draw(r *rand.Rand) []float64 {
	c := r.IntN(len(k.centres))
	prior := c == len(k.centres)-1
	x := make([]float64, len(k.axes))
	for i, a := range k.axes {
		mu := k.centres[c][i]
		switch {
		case a.categorical && (prior || a.choices == 1):
			x[i] = float64(r.IntN(a.choices))
		case a.categorical:
			x[i] = mu
			if r.Float64() >= math.Exp(a.logHit) { // another choice, each equally likely
				j := r.IntN(a.choices - 1)
				if j >= int(mu) {
					j++
				}
				x[i] = float64(j)
			}
		case a.hi <= a.lo: // a fixed value
			x[i] = a.lo
		default:
			x[i] = truncNormal(r, mu, a.sigma[c], a.lo, a.hi)
		}
	}
	return x
}

// truncNormal samples a Gaussian truncated to [lo, hi) by rejection, which
// takes a few tries at most: mu lies in the range and sigma is at most its
// width, so a draw lands inside with probability above 1/3.
func truncNormal(r *rand.Rand, mu, sigma, lo, hi float64) float64 {
	for range 100 {
		if x := mu + sigma*r.NormFloat64(); x >= lo && x < hi {
			return x
		}
	}
	return min(max(mu, lo), math.Nextafter(hi, lo))
}

// logPDF returns the log density at x (internal coordinates).
func (k kde) logPDF(x []float64) float64 {
	terms := make([]float64, len(k.centres))
	for c, mu := range k.centres {
		prior := c == len(k.centres)-1
		var s float64
		for i, a := range k.axes {
			switch {
			case a.categorical && prior:
				s -= math.Log(float64(a.choices))
			case a.categorical && x[i] == mu[i]:
				s += a.logHit
			case a.categorical:
				s += a.logMiss
			case a.hi > a.lo:
				z := (x[i] - mu[i]) / a.sigma[c]
				s += -0.5*z*z - math.Log(a.sigma[c]*math.Sqrt(2*math.Pi)) - a.logZ[c]
			}
		}
		terms[c] = s
	}
	return logSumExp(terms) - math.Log(float64(len(terms)))
}

func logSumExp(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = max(m, x)
	}
	if math.IsInf(m, 0) {
		return m
	}
	var s float64
	for _, x := range v {
		s += math.Exp(x - m)
	}
	return m + math.Log(s)
}

func normalCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }
