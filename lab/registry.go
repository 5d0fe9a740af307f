package lab

// registry holds the results of finished runs. Its fields are guarded by
// Lab.mu.
type registry struct {
	results  []*Result // in finish order
	byID     map[RunID]*Result
	baseline RunID // set by SetBaseline; 0 means the default
}

func newRegistry() registry {
	return registry{byID: make(map[RunID]*Result)}
}

// finish records the result of run id and removes the run from the active
// set, in one step so that Running and Results never disagree. It stores a
// copy of res with Run (and Task, when the job left it empty) filled in, and
// returns that snapshot. A distill result's Scratch is registered too, right
// after it, under a new RunID: the snapshot's Scratch is that entry, Run set.
func (l *Lab) finish(id RunID, task string, res *Result) *Result {
	snap := *res
	snap.Run = id
	if snap.Task == "" {
		snap.Task = task
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forgetLocked(id)
	l.results = append(l.results, &snap)
	l.byID[id] = &snap
	if res.Scratch != nil {
		sc := *res.Scratch
		l.lastID++ // IDs are never reused: this one is nobody else's
		sc.Run, sc.Scratch = l.lastID, nil
		if sc.Task == "" {
			sc.Task = TaskDistillScratch
		}
		l.results = append(l.results, &sc)
		l.byID[sc.Run] = &sc
		snap.Scratch = &sc
	}
	return &snap
}

// Result returns the result of finished run id. The result is a snapshot:
// it must not be modified, and its Model must be cloned before any use that
// changes it (a forward pass caches activations in the layers).
func (l *Lab) Result(id RunID) (*Result, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.byID[id]
	return r, ok
}

// Results returns the results of all finished runs in the order they
// finished, each distill result followed by its scratch student's. The slice is the caller's; the results are shared snapshots.
func (l *Lab) Results() []*Result {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*Result(nil), l.results...)
}

// SetBaseline marks finished run id as the baseline that comparisons refer
// to. It reports false, and changes nothing, when id has not finished.
func (l *Lab) SetBaseline(id RunID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.byID[id]; !ok {
		return false
	}
	l.baseline = id
	return true
}

// Baseline returns the result marked by SetBaseline or, until then, the
// first finished run whose task is "train". It reports false when there is
// neither.
func (l *Lab) Baseline() (*Result, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.baseline != 0 {
		return l.byID[l.baseline], true
	}
	for _, r := range l.results {
		if r.Task == "train" {
			return r, true
		}
	}
	return nil, false
}
