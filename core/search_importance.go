package core

import (
	"math"
	"slices"
)

// Importance is how much of the objective's variance one parameter
// explains.
type Importance struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"` // in [0, 1]
	Bins  int     `json:"bins"`  // groups the trials were split into
}

// ParamImportance estimates, for each parameter of space, the share of the
// variance of values (one per point) that the parameter explains on its
// own: a main-effect-only simplification of fANOVA (Hutter et al. 2014)
// that needs no surrogate model.
//
// The trials are grouped by the parameter's value: by choice for a
// categorical parameter; for a numeric one into k = min(5, round(√n))
// groups of about equal size by rank on its own scale (equal values stay
// together, so an integer with few values gets a group per value). The
// share is the bias-corrected correlation ratio ε² = (SS_between −
// (k−1)·MS_within) / SS_total, where SS_between = Σ_groups n_g·(mean_g −
// mean)², clipped to [0, 1]. Without the correction (that is η² =
// SS_between/SS_total), a parameter with no effect would still score about
// (k−1)/(n−1) from noise alone. Shares of different parameters need not sum
// to one: interactions are not separated, and correlated parameters share
// credit. Infinite and NaN values are left out; with fewer than four points,
// or none varying, every share is 0.
func ParamImportance(space Space, points []Point, values []float64) []Importance {
	var ps []Point
	var vs []float64
	for i, v := range values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			ps, vs = append(ps, points[i]), append(vs, v)
		}
	}
	out := make([]Importance, len(space))
	for i, d := range space {
		out[i].Name = d.Name
		if len(vs) < 4 {
			continue
		}
		groups := groupBy(d, i, ps)
		out[i].Bins = countGroups(groups)
		out[i].Value = epsilonSquared(groups, vs)
	}
	return out
}

// groupBy assigns each point a group number by dimension i's value.
func groupBy(d Dim, i int, ps []Point) []int {
	g := make([]int, len(ps))
	if d.Kind == Categorical {
		for j, p := range ps {
			g[j] = int(p[i])
		}
		return g
	}
	n := len(ps)
	k := min(5, int(math.Round(math.Sqrt(float64(n)))))
	order := make([]int, n)
	for j := range order {
		order[j] = j
	}
	slices.SortStableFunc(order, func(a, b int) int {
		x, y := d.toInternal(ps[a][i]), d.toInternal(ps[b][i])
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	// A point's group is set by the rank of the first point with its value.
	first := 0
	for r, j := range order {
		if r > 0 && ps[j][i] != ps[order[r-1]][i] {
			first = r
		}
		g[j] = first * k / n
	}
	return g
}

func countGroups(g []int) int {
	n := 0
	for _, c := range groupCounts(g) {
		if c > 0 {
			n++
		}
	}
	return n
}

// groupCounts returns the number of points in each group, indexed by group.
func groupCounts(g []int) []float64 {
	cnt := make([]float64, slices.Max(g)+1)
	for _, x := range g {
		cnt[x]++
	}
	return cnt
}

// epsilonSquared is the bias-corrected share of the variance of vs
// explained by the grouping g.
func epsilonSquared(g []int, vs []float64) float64 {
	n := float64(len(vs))
	var mean float64
	for _, v := range vs {
		mean += v
	}
	mean /= n
	cnt := groupCounts(g)
	sum := make([]float64, len(cnt))
	var ssTotal float64
	for j, v := range vs {
		sum[g[j]] += v
		ssTotal += (v - mean) * (v - mean)
	}
	k := float64(countGroups(g))
	if ssTotal == 0 || k < 2 || n <= k {
		return 0
	}
	var ssBetween float64
	for grp, c := range cnt {
		if c > 0 {
			m := sum[grp] / c
			ssBetween += c * (m - mean) * (m - mean)
		}
	}
	msWithin := (ssTotal - ssBetween) / (n - k)
	return min(max((ssBetween-(k-1)*msWithin)/ssTotal, 0), 1)
}
