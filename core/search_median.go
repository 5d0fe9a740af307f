package core

import "slices"

// medianStop adds the median stopping rule (Golovin et al. 2017, "Google
// Vizier", §3.2.2) to another strategy: after epoch e ≥ grace, a trial
// whose best value so far is strictly below the median of the running means
// (over epochs 1..e) of the other trials that have reached epoch e, stops.
// Vizier takes the median over completed trials; here every other trial
// that got as far counts, running or not, which lets the rule act while the
// first trials are still training and works alongside ASHA and Hyperband,
// whose trials rarely all complete. The rule waits until at least minOthers
// such trials exist, and never overrides a pause. With several objectives
// it looks at the primary one only: a trial that is cheap but slow to learn
// stops like any other laggard.
type medianStop struct {
	inner      Strategy
	objectives int
	grace      int
	minOthers  int
	curves     map[int][]float64 // per trial, the primary value after each epoch
	ids        []int             // trials in order of first report, for a stable iteration
}

func newMedianStop(inner Strategy, objectives, grace, minOthers int) *medianStop {
	return &medianStop{inner: inner, objectives: objectives, grace: grace, minOthers: minOthers, curves: map[int][]float64{}}
}

func (m *medianStop) Next() (Trial, bool) { return m.inner.Next() }

func (m *medianStop) End(id int) { m.inner.End(id) }

func (m *medianStop) Report(id, epoch int, values ...float64) Decision {
	primary := reported(values, m.objectives)[0]
	c, seen := m.curves[id]
	if !seen {
		m.ids = append(m.ids, id)
	}
	if epoch == len(c)+1 {
		m.curves[id] = append(c, primary)
	}
	d := m.inner.Report(id, epoch, values...)
	if (d != Continue && d != Promote) || epoch < m.grace || epoch > len(m.curves[id]) {
		return d
	}
	var means []float64
	for _, other := range m.ids {
		oc := m.curves[other]
		if other == id || len(oc) < epoch {
			continue
		}
		var sum float64
		for _, v := range oc[:epoch] {
			sum += v
		}
		means = append(means, sum/float64(epoch))
	}
	if len(means) < m.minOthers {
		return d
	}
	if slices.Max(m.curves[id][:epoch]) < median(means) {
		m.inner.End(id)
		return Stop
	}
	return d
}

// median returns the median of v, which must not be empty; v is reordered.
func median(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}
