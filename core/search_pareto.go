package core

import (
	"cmp"
	"math"
	"slices"
)

// ParetoFront returns the indices, in increasing order, of the points that
// no other point dominates. Every objective is to be maximized (negate one
// to minimize it); a point dominates another when it is at least as good in
// every objective and better in one. Equal points do not dominate each
// other, so duplicates on the front are all kept. NaN counts as the worst.
func ParetoFront(points [][]float64) []int {
	if fronts := paretoFronts(points); len(fronts) > 0 {
		return fronts[0]
	}
	return nil
}

func dominates(a, b []float64) bool {
	better := false
	for k := range a {
		x, y := worst(a[k]), worst(b[k])
		if x < y {
			return false
		}
		if x > y {
			better = true
		}
	}
	return better
}

// paretoOrder returns the indices of points, best first, as NSGA-II selects
// (Deb et al. 2002, "A Fast and Elitist Multiobjective Genetic Algorithm:
// NSGA-II"): by non-dominated front, then within a front by crowding
// distance, larger first, then by lower index. Every objective is
// maximized and NaN counts as the worst. With one objective the fronts are
// the groups of equal values and every crowding distance is 0, so the
// order is by decreasing value, the lower index first on ties.
func paretoOrder(points [][]float64) []int {
	order := make([]int, 0, len(points))
	for _, front := range paretoFronts(points) {
		d := crowding(points, front)
		byDistance := make([]int, len(front)) // positions in front
		for i := range byDistance {
			byDistance[i] = i
		}
		slices.SortStableFunc(byDistance, func(a, b int) int { return cmp.Compare(d[b], d[a]) })
		for _, i := range byDistance {
			order = append(order, front[i])
		}
	}
	return order
}

// paretoFronts sorts points into non-dominated fronts (NSGA-II's fast
// non-dominated sort): the first holds the points nothing dominates, the
// second those dominated only by points of the first, and so on. Each front
// lists indices in increasing order.
func paretoFronts(points [][]float64) [][]int {
	n := len(points)
	beats := make([][]int, n) // the points each point dominates
	count := make([]int, n)   // how many points dominate each point
	for i := range n {
		for j := range n {
			if i != j && dominates(points[i], points[j]) {
				beats[i] = append(beats[i], j)
				count[j]++
			}
		}
	}
	var front []int
	for i := range n {
		if count[i] == 0 {
			front = append(front, i)
		}
	}
	var fronts [][]int
	for len(front) > 0 {
		fronts = append(fronts, front)
		var next []int
		for _, i := range front {
			for _, j := range beats[i] {
				if count[j]--; count[j] == 0 {
					next = append(next, j)
				}
			}
		}
		slices.Sort(next)
		front = next
	}
	return fronts
}

// crowding returns the crowding distance of each point of front (indices
// into points), in front's order: per objective, the gap between a point's
// neighbours along that objective over the front's range, summed; the
// extremes of an objective get +Inf, unless the whole front shares one
// value there (then the objective adds nothing). A gap to a point at -Inf
// (NaN counts as one) is infinite.
func crowding(points [][]float64, front []int) []float64 {
	d := make([]float64, len(front))
	if len(front) == 0 {
		return d
	}
	pos := make([]int, len(front)) // positions in front, sorted per objective
	for k := range points[front[0]] {
		v := func(i int) float64 { return worst(points[front[pos[i]]][k]) }
		for i := range pos {
			pos[i] = i
		}
		slices.SortStableFunc(pos, func(a, b int) int {
			return cmp.Compare(worst(points[front[a]][k]), worst(points[front[b]][k]))
		})
		last := len(pos) - 1
		lo, hi := v(0), v(last)
		if !(hi > lo) {
			continue
		}
		d[pos[0]], d[pos[last]] = math.Inf(1), math.Inf(1)
		for i := 1; i < last; i++ {
			g := (v(i+1) - v(i-1)) / (hi - lo)
			if math.IsNaN(g) { // Inf/Inf: a neighbour at -Inf
				g = math.Inf(1)
			}
			d[pos[i]] += g
		}
	}
	return d
}
