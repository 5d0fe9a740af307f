package core

// ParetoFront returns the indices, in increasing order, of the points that
// no other point dominates. Every objective is to be maximized (negate one
// to minimize it); a point dominates another when it is at least as good in
// every objective and better in one. Equal points do not dominate each
// other, so duplicates on the front are all kept. NaN counts as the worst.
func ParetoFront(points [][]float64) []int {
	var front []int
	for i, p := range points {
		dominated := false
		for j, q := range points {
			if j != i && dominates(q, p) {
				dominated = true
				break
			}
		}
		if !dominated {
			front = append(front, i)
		}
	}
	return front
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
