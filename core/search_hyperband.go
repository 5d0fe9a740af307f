package core

// Bracket is one successive-halving bracket of Hyperband: stage i trains
// N[i] configurations for Epochs[i] epochs each and keeps the best
// floor(N[i]/eta) for stage i+1.
type Bracket struct {
	S      int   // the bracket's index s: it has s+1 stages
	N      []int // configurations per stage
	Epochs []int // epochs per configuration per stage
}

// HyperbandBrackets returns one Hyperband iteration (Li et al. 2017,
// "Hyperband: A Novel Bandit-Based Approach to Hyperparameter
// Optimization"), brackets s = smax down to 0, for budgets from minE to maxE
// epochs and reduction factor eta. With R = maxE/minE, smax = floor(log_eta
// R); bracket s starts floor((smax+1)/(s+1))·eta^s configurations at
// R·eta^-s and stage i keeps floor(n·eta^-i). The floor in the first
// count follows the paper's Table 1 (R=81, eta=3: 81, 27, 9, 6 and 5
// configurations), which its reference code computes with integer
// division; Algorithm 1 writes a ceiling there (giving 81, 34, 15, 8, 5).
// Budgets are rounded as in rungs, so the last stage of every bracket
// trains exactly maxE epochs.
func HyperbandBrackets(minE, maxE, eta int) []Bracket {
	r := rungs(minE, maxE, eta)
	smax := len(r) - 1
	var out []Bracket
	for s := smax; s >= 0; s-- {
		n := (smax + 1) / (s + 1)
		for range s {
			n *= eta
		}
		b := Bracket{S: s}
		for i := 0; i <= s; i++ {
			b.N = append(b.N, n)
			b.Epochs = append(b.Epochs, r[smax-s+i])
			n /= eta
		}
		out = append(out, b)
	}
	return out
}

// hyperband runs Hyperband's brackets in order, repeating the iteration
// until Trials configurations have been created. Within a bracket, stages
// are synchronous as in the paper: a stage's survivors are chosen once all
// its trials have reached its budget or ended. To keep workers busy, the
// next bracket starts creating trials while earlier ones wait for
// stragglers. A bracket cut short by the trial count keeps the best
// floor(n/eta) (at least one) of the trials it has at each stage. With
// several objectives the survivors are chosen as topOf says, as in MO-ASHA.
type hyperband struct {
	sample     func() Point
	trials     int
	eta        int
	objectives int
	plan       []Bracket
	created    int
	active     []*hbBracket
	byID       map[int]*hbTrial
}

type hbBracket struct {
	plan    Bracket
	stage   int                 // the stage in progress
	members [][]int             // trial IDs per stage, in order of creation or promotion
	results []map[int][]float64 // per stage: values of the trials that reached its budget
	queue   []int               // promoted trials not yet handed out by Next
}

type hbTrial struct {
	point Point
	b     *hbBracket
	stage int // the stage the trial trains towards
	state int
}

func newHyperband(c SearchConfig, sample func() Point) *hyperband {
	return &hyperband{sample: sample, trials: c.Trials, eta: c.Eta, objectives: c.Objectives,
		plan: HyperbandBrackets(c.MinEpochs, c.MaxEpochs, c.Eta), byID: map[int]*hbTrial{}}
}

func (h *hyperband) maxEpochs() int { return h.plan[0].Epochs[len(h.plan[0].Epochs)-1] }

func (h *hyperband) Next() (Trial, bool) {
	for _, b := range h.active {
		if len(b.queue) > 0 {
			id := b.queue[0]
			b.queue = b.queue[1:]
			t := h.byID[id]
			t.state = running
			return Trial{ID: id, Point: t.point, From: b.plan.Epochs[t.stage-1], MaxEpochs: h.maxEpochs()}, true
		}
	}
	if h.created >= h.trials {
		return Trial{}, false
	}
	var b *hbBracket
	if n := len(h.active); n > 0 && len(h.active[n-1].members[0]) < h.active[n-1].plan.N[0] {
		b = h.active[n-1]
	} else {
		p := h.plan[len(h.active)%len(h.plan)]
		b = &hbBracket{plan: p, members: make([][]int, p.S+1), results: make([]map[int][]float64, p.S+1)}
		for i := range b.results {
			b.results[i] = map[int][]float64{}
		}
		h.active = append(h.active, b)
	}
	h.created++
	t := &hbTrial{point: h.sample(), b: b}
	h.byID[h.created] = t
	b.members[0] = append(b.members[0], h.created)
	return Trial{ID: h.created, Point: t.point, MaxEpochs: h.maxEpochs()}, true
}

func (h *hyperband) Report(id, epoch int, values ...float64) Decision {
	v := reported(values, h.objectives)
	t := h.byID[id]
	if t == nil || t.state != running {
		return Stop
	}
	b := t.b
	if epoch < b.plan.Epochs[t.stage] {
		return Continue
	}
	b.results[t.stage][id] = v
	if t.stage == b.plan.S {
		t.state = ended
		return Stop
	}
	t.state = paused
	if h.advance(b, id) {
		return Promote
	}
	return Pause
}

func (h *hyperband) End(id int) {
	t := h.byID[id]
	if t == nil || t.state == ended {
		return
	}
	t.state = ended
	h.advance(t.b, 0)
}

// advance closes b's current stage once every member has reached its budget
// or ended, and promotes the survivors: reporter, if among them, goes on at
// once (advance returns true); the others wait in the queue for Next.
func (h *hyperband) advance(b *hbBracket, reporter int) bool {
	i := b.stage
	if i == b.plan.S {
		return false
	}
	if i == 0 && len(b.members[0]) < b.plan.N[0] && h.created < h.trials {
		return false // the stage still expects new trials
	}
	var got []rungEntry
	for _, id := range b.members[i] {
		v, ok := b.results[i][id]
		if !ok && h.byID[id].state != ended {
			return false
		}
		if ok {
			got = append(got, rungEntry{id, v})
		}
	}
	b.stage++
	promoted := false
	for _, e := range topOf(got, max(1, len(b.members[i])/h.eta)) {
		t := h.byID[e.id]
		if t.state == ended {
			continue
		}
		t.stage = i + 1
		b.members[i+1] = append(b.members[i+1], e.id)
		if e.id == reporter {
			t.state, promoted = running, true
		} else {
			b.queue = append(b.queue, e.id)
		}
	}
	for _, id := range b.members[i] {
		if t := h.byID[id]; t.stage == i && t.state == paused {
			t.state = ended // eliminated
		}
	}
	if len(b.members[i+1]) == 0 {
		b.stage = b.plan.S // nothing survived: the bracket is over
	}
	return promoted
}
