package core

import (
	"math"
	"math/rand/v2"
	"slices"
)

// tpe is the tree-structured Parzen estimator (Bergstra et al. 2011,
// "Algorithms for Hyper-Parameter Optimization", §4). Until startup trials
// have finished it samples at random. Then it splits the finished trials at
// the gamma quantile of their values into good (the best ceil(gamma·n)) and
// bad, fits per parameter a density l(x) to the good values and g(x) to the
// bad, draws candidates points from l and returns the one with the largest
// l(x)/g(x) (the product over parameters, as the densities factorize),
// which maximizes expected improvement under the model.
//
// The densities follow hyperopt's adaptive Parzen estimator: for a numeric
// parameter, on its internal scale (log for log scales), a Gaussian at each
// observation with a width equal to the larger gap to its neighbours
// (clipped to [range/min(100, n+1), range]), plus a prior Gaussian at the
// middle of the range with the range as width, all of equal weight and
// truncated to the range. For a categorical parameter, the observed
// frequencies plus a prior weight of one spread evenly over the choices.
//
// With several objectives it is MOTPE (Ozaki et al. 2020, "Multiobjective
// Tree-Structured Parzen Estimator for Computationally Expensive
// Optimization Problems"): the good trials are the first ceil(gamma·n) in
// the order of paretoOrder, that is whole non-dominated fronts in turn,
// the last one cut by crowding distance (where MOTPE uses hypervolume
// contributions), so that l(x) models the region near the Pareto front.
// With one objective that order is by value, ties to the trial that
// finished first.
type tpe struct {
	space      Space
	r          *rand.Rand
	startup    int
	gamma      float64
	candidates int
}

func (t *tpe) sample(done []observation) Point {
	if len(done) < t.startup || len(done) < 2 {
		return t.space.Sample(t.r)
	}
	points := make([][]float64, len(done))
	for i, o := range done {
		points[i] = o.values
	}
	sorted := make([]observation, len(done))
	for i, j := range paretoOrder(points) {
		sorted[i] = done[j]
	}
	nGood := int(math.Ceil(t.gamma * float64(len(sorted))))
	nGood = min(max(nGood, 1), len(sorted)-1)
	good, bad := sorted[:nGood], sorted[nGood:]

	type model struct{ l, g density }
	models := make([]model, len(t.space))
	for i, d := range t.space {
		models[i] = model{fitDensity(d, i, good), fitDensity(d, i, bad)}
	}
	var best Point
	bestScore := math.Inf(-1)
	for range t.candidates {
		p := make(Point, len(t.space))
		var score float64
		for i, d := range t.space {
			x := models[i].l.draw(t.r)
			score += models[i].l.logPDF(x) - models[i].g.logPDF(x)
			if d.Kind == Categorical {
				p[i] = x
			} else {
				p[i] = d.fromInternal(x)
			}
		}
		if score > bestScore {
			best, bestScore = p, score
		}
	}
	return best
}

// density is one parameter's Parzen estimator, on the parameter's internal
// scale (categorical: over choice indices).
type density interface {
	draw(r *rand.Rand) float64
	logPDF(x float64) float64
}

func fitDensity(d Dim, i int, obs []observation) density {
	if d.Kind == Categorical {
		k := len(d.Values)
		p := make([]float64, k)
		for j := range p {
			p[j] = 1 / float64(k) / float64(len(obs)+1)
		}
		for _, o := range obs {
			p[int(o.point[i])] += 1 / float64(len(obs)+1)
		}
		return categoricalDensity(p)
	}
	lo, hi := d.bounds()
	xs := make([]float64, len(obs))
	for j, o := range obs {
		xs[j] = d.toInternal(o.point[i])
	}
	return newParzen(xs, lo, hi)
}

type categoricalDensity []float64

func (c categoricalDensity) draw(r *rand.Rand) float64 {
	u := r.Float64()
	for j, p := range c {
		if u -= p; u < 0 {
			return float64(j)
		}
	}
	return float64(len(c) - 1)
}

func (c categoricalDensity) logPDF(x float64) float64 { return math.Log(c[int(x)]) }

// parzen is an equally weighted mixture of Gaussians truncated to [lo, hi].
type parzen struct {
	lo, hi    float64
	mu, sigma []float64
	logZ      []float64 // log of each component's mass inside [lo, hi]
}

func newParzen(xs []float64, lo, hi float64) parzen {
	p := parzen{lo: lo, hi: hi}
	if hi <= lo { // a fixed value: nothing to model
		return p
	}
	span := hi - lo
	mus := slices.Clone(xs)
	slices.Sort(mus)
	minSigma := span / math.Min(100, float64(len(mus)+1))
	for j, m := range mus {
		left, right := lo, hi
		if j > 0 {
			left = mus[j-1]
		}
		if j < len(mus)-1 {
			right = mus[j+1]
		}
		p.mu = append(p.mu, m)
		p.sigma = append(p.sigma, min(max(m-left, right-m, minSigma), span))
	}
	p.mu = append(p.mu, lo+span/2) // the prior
	p.sigma = append(p.sigma, span)
	for j := range p.mu {
		p.logZ = append(p.logZ, math.Log(normalCDF((hi-p.mu[j])/p.sigma[j])-normalCDF((lo-p.mu[j])/p.sigma[j])))
	}
	return p
}

func (p parzen) draw(r *rand.Rand) float64 {
	if len(p.mu) == 0 {
		return p.lo
	}
	j := r.IntN(len(p.mu))
	for range 100 {
		if x := p.mu[j] + p.sigma[j]*r.NormFloat64(); x >= p.lo && x < p.hi {
			return x
		}
	}
	return min(max(p.mu[j], p.lo), math.Nextafter(p.hi, p.lo))
}

func (p parzen) logPDF(x float64) float64 {
	if len(p.mu) == 0 {
		return 0
	}
	terms := make([]float64, len(p.mu))
	for j := range p.mu {
		z := (x - p.mu[j]) / p.sigma[j]
		terms[j] = -0.5*z*z - math.Log(p.sigma[j]*math.Sqrt(2*math.Pi)) - p.logZ[j]
	}
	m := slices.Max(terms)
	var s float64
	for _, t := range terms {
		s += math.Exp(t - m)
	}
	return m + math.Log(s/float64(len(terms)))
}

func normalCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }
