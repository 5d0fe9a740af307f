package core

import (
	"cmp"
	"slices"
)

// rungs returns the budgets, in epochs, of successive halving's rungs from
// minE to maxE with reduction factor eta: rung k of K trains
// floor(maxE / eta^(K-k)) epochs, where K is the largest k with
// minE·eta^K ≤ maxE. The top rung is maxE itself and each rung is about eta
// times the one below; when maxE/minE is a power of eta they are exactly
// minE·eta^k.
func rungs(minE, maxE, eta int) []int {
	k := 0
	for p := minE * eta; p <= maxE; p *= eta {
		k++
	}
	out := make([]int, k+1)
	div := 1
	for i := k; i >= 0; i-- {
		out[i] = maxE / div
		div *= eta
	}
	return out
}

// rungEntry is a trial's values on reaching a rung.
type rungEntry struct {
	id     int
	values []float64 // NaN mapped to -Inf
}

// topOf returns the best n entries, best first. With one objective that is
// by value, the older trial first on ties. With several it is the order of
// paretoOrder (non-dominated front, then crowding distance), the older
// trial first on ties: the NSGA-II selection of MO-ASHA (Schmucker et al.
// 2021, "Multi-objective Asynchronous Successive Halving").
func topOf(entries []rungEntry, n int) []rungEntry {
	s := slices.Clone(entries)
	slices.SortFunc(s, func(a, b rungEntry) int { return cmp.Compare(a.id, b.id) })
	points := make([][]float64, len(s))
	for i, e := range s {
		points[i] = e.values
	}
	order := paretoOrder(points)
	top := make([]rungEntry, min(n, len(s)))
	for i := range top {
		top[i] = s[order[i]]
	}
	return top
}

// Trial states inside the strategies.
const (
	running = iota
	paused
	ended
)

// asha is asynchronous successive halving (Li et al. 2018, "A System for
// Massively Parallel Hyperparameter Tuning", Algorithm 2) with minimum
// early-stopping rate 0. Rung k trains rungs[k] epochs. A trial that reaches
// rung k is promoted to rung k+1 when it is among the top
// floor(n_k/eta) of the n_k trials that have reached rung k so far and has
// not been promoted from k before. Whenever a worker is free (a trial
// reached a rung, or Next is asked) the promotable trial of the highest
// rung goes on, the best first; a trial reaching a rung goes on in the same
// run (Promote) only when it is that trial. Only when nothing is promotable
// does Next start a new configuration. With several objectives
// the top of a rung is chosen as topOf says (MO-ASHA).
type asha struct {
	sample     func() Point
	trials     int
	eta        int
	objectives int
	rungs      []int
	created    int
	byID       map[int]*ashaTrial
	reached    [][]rungEntry // per rung, in order of arrival
}

type ashaTrial struct {
	point Point
	next  int // index of the rung the trial trains towards
	state int
}

func newASHA(c SearchConfig, sample func() Point) *asha {
	r := rungs(c.MinEpochs, c.MaxEpochs, c.Eta)
	return &asha{sample: sample, trials: c.Trials, eta: c.Eta, objectives: c.Objectives, rungs: r,
		byID: map[int]*ashaTrial{}, reached: make([][]rungEntry, len(r))}
}

// promotion returns the paused trial to promote next and the rung it is
// in: the first of the top 1/eta of the highest rung that has one not
// promoted yet (get_job of Algorithm 2).
func (a *asha) promotion() (id, k int, ok bool) {
	for k := len(a.rungs) - 2; k >= 0; k-- {
		for _, e := range topOf(a.reached[k], len(a.reached[k])/a.eta) {
			if t := a.byID[e.id]; t.state == paused && t.next == k {
				return e.id, k, true
			}
		}
	}
	return 0, 0, false
}

func (a *asha) Next() (Trial, bool) {
	top := len(a.rungs) - 1
	if id, k, ok := a.promotion(); ok {
		t := a.byID[id]
		t.state, t.next = running, k+1
		return Trial{ID: id, Point: t.point, From: a.rungs[k], MaxEpochs: a.rungs[top]}, true
	}
	if a.created >= a.trials {
		return Trial{}, false
	}
	a.created++
	t := &ashaTrial{point: a.sample()}
	a.byID[a.created] = t
	return Trial{ID: a.created, Point: t.point, MaxEpochs: a.rungs[top]}, true
}

func (a *asha) Report(id, epoch int, values ...float64) Decision {
	v := reported(values, a.objectives)
	t := a.byID[id]
	if t == nil || t.state != running {
		return Stop
	}
	k := t.next
	if epoch < a.rungs[k] {
		return Continue
	}
	a.reached[k] = append(a.reached[k], rungEntry{id, v})
	if k == len(a.rungs)-1 {
		t.state = ended
		return Stop
	}
	// The trial's worker is free: it goes on only if it is what get_job
	// would hand that worker. A promotable trial of a higher rung, or a
	// better one of its own, goes first; this one waits, paused, and may
	// drop out of its rung's top as more trials arrive.
	t.state = paused
	if next, _, ok := a.promotion(); ok && next == id {
		t.state, t.next = running, k+1
		return Promote
	}
	return Pause
}

func (a *asha) End(id int) {
	if t := a.byID[id]; t != nil {
		t.state = ended
	}
}
