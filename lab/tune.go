package lab

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/optlab/optlab/core"
)

// Task names of tuning: the study's result is a "tune" record, and each
// trial trains in runs of task "trial".
const (
	TaskTune  = "tune"
	TaskTrial = "trial"
)

// Objectives lists the objective names a TuneSpec accepts. The first,
// validation accuracy, is always maximized. A second one, latency
// (latency_us) or size (size_bytes), is minimized alongside it: the
// strategy ranks trials on both (multi-objective ASHA, Hyperband and TPE;
// see core.Strategy), and the result reports the Pareto set.
var Objectives = []string{"accuracy", "latency", "size"}

// Trial statuses, as in TrialRecord.Status.
const (
	TrialRunning   = "running"   // training, or waiting to (again, after a resume)
	TrialPaused    = "paused"    // reached a rung of asha or hyperband; may be promoted
	TrialDone      = "done"      // trained its whole budget
	TrialStopped   = "stopped"   // stopped early: not promoted, the median rule, or the study's budget
	TrialFailed    = "failed"    // its training failed, e.g. diverged
	TrialCancelled = "cancelled" // cancelled with TuneStudy.Cancel
)

// TuneSpec describes a hyperparameter search. It is plain data, saved in the
// study's state file. Zero fields take the defaults listed.
type TuneSpec struct {
	Data  DataSpec   `json:"data"`
	Space core.Space `json:"space"` // default DefaultSpace(); names from TuneParams
	// Search picks the strategy, the trial count and the per-trial budget;
	// its Seed also seeds each trial's initialization and shuffling.
	// Its Objectives is set from Objectives.
	Search     core.SearchConfig `json:"search"`
	Objectives []string          `json:"objectives,omitempty"` // default ["accuracy"]
	Budget     core.Budget       `json:"budget,omitzero"`      // bounds the whole study (epochs summed over trials, wall time over all sessions)
	// Base holds the training settings the space does not set; its model
	// defaults to mlp:128. Its Data, Epochs, Patience, Seed and Out are
	// ignored.
	Base TrainSpec `json:"base,omitzero"`
	Out  string    `json:"out,omitempty"` // kept up to date with the best model so far
}

// resolve validates s and fills in its defaults, the search's included.
func (s TuneSpec) resolve() (TuneSpec, error) {
	if len(s.Space) == 0 {
		s.Space = DefaultSpace()
	}
	if err := validateTuneSpace(s.Space); err != nil {
		return s, err
	}
	if len(s.Objectives) == 0 {
		s.Objectives = []string{"accuracy"}
	}
	if s.Objectives[0] != Objectives[0] || len(s.Objectives) > 2 ||
		len(s.Objectives) == 2 && !slices.Contains(Objectives[1:], s.Objectives[1]) {
		return s, fmt.Errorf("objectives %v: want accuracy, optionally followed by latency or size", s.Objectives)
	}
	s.Search.Objectives = len(s.Objectives)
	var err error
	if s.Search, err = s.Search.Resolve(s.Space); err != nil {
		return s, err
	}
	if s.Budget.Epochs < 0 || s.Budget.Time < 0 {
		return s, errors.New("a budget must not be negative")
	}
	if s.Base.Model == "" {
		s.Base.Model = "mlp:128"
	}
	return s, nil
}

// TrialRecord is one trial as the result record and the state file show it.
type TrialRecord struct {
	ID            int            `json:"id"`
	Params        map[string]any `json:"params"`
	Status        string         `json:"status"`
	Epochs        int            `json:"epochs"`       // epochs its model has trained
	ValAccuracy   float64        `json:"val_accuracy"` // after its last epoch
	TestAccuracy  float64        `json:"test_accuracy"`
	LatencyMicros float64        `json:"latency_us,omitempty"` // with a latency objective; known before the first epoch
	SizeBytes     int64          `json:"size_bytes,omitempty"` // of its model file, less the trial's own figures; with a size objective, known before the first epoch
	Curve         []float64      `json:"curve,omitempty"`      // validation accuracy after each epoch, as the strategy saw it
	Reason        string         `json:"reason,omitempty"`     // why it stopped or failed
	// Result is the record of the trial's last finished run (the best
	// trial's only, in a tune result).
	Result *Result `json:"result,omitempty"`
	Run    RunID   `json:"-"` // its current or last run in this session; 0 if none
}

// TrialConfig is the config of a trial run's Started event.
type TrialConfig struct {
	Trial  int            `json:"trial"`
	Params map[string]any `json:"params"`
	From   int            `json:"from"`   // epochs trained before this run: a promoted or resumed trial continues from its checkpoint
	Epochs int            `json:"epochs"` // the most epochs the trial may reach
	Train  TrainSpec      `json:"train"`
}

// TrialUpdate is one change in a study's trials, in the order they
// happened (TuneStudy.Updates).
type TrialUpdate struct {
	Trial int
	Run   RunID // the run concerned; 0 for a paused trial ended by the study
	// Event is "started" (a new trial), "promoted" (goes on training, in
	// the same run or a new one), "resumed" (trained again after the study
	// was resumed; once more, from epoch 0 with a Reason, when the run
	// finds the trial's checkpoint unusable), or the trial's new status
	// when a run ends: "paused", "done", "stopped", "failed" or
	// "cancelled".
	Event        string
	Epochs       int // epochs trained; for "started", "promoted" and "resumed", the epoch it starts from
	Target       int // "started", "promoted", "resumed": the most epochs it may reach
	ValAccuracy  float64
	TestAccuracy float64
	Reason       string
}

// BestPoint is a step of the best-so-far curve: after TotalEpochs epochs of
// the study, trial Trial held the best validation accuracy, Value.
type BestPoint struct {
	TotalEpochs int     `json:"total_epochs"`
	Trial       int     `json:"trial"`
	Value       float64 `json:"value"`
}

// TuneSnapshot is a copy of a study's state.
type TuneSnapshot struct {
	Spec       TuneSpec      // with defaults filled in
	Trials     []TrialRecord // in ID order, without Result
	Best       int           // the best trial's ID; 0 while none has finished a run
	BestCurve  []BestPoint
	Pareto     []int // trial IDs, with several objectives
	Importance []core.Importance
	// Importance compares trials at an equal budget: the ImportanceTrials
	// trials that reached ImportanceEpochs epochs, the largest count at
	// least half of all trials reached.
	ImportanceEpochs, ImportanceTrials int
	TotalEpochs                        int
	Elapsed                            time.Duration // wall time over all sessions
	Done                               bool
}

// Starter is what a study needs of a Lab; *Lab satisfies it.
type Starter interface {
	Start(ctx context.Context, task string, config any, job Job) RunID
	Cancel(id RunID)
}

// TuneStudy is a hyperparameter search driven by a core.Strategy, whose trials
// run as runs of a Lab.
//
// Run coordinates the study on the caller's goroutine, outside the Lab's
// worker pool (a coordinator holding a slot while waiting for its trials
// could deadlock the pool): it starts at most workers trial runs at a time
// with Lab.Start and waits for them to end. It does not read the Lab's event
// stream, which has one reader: whoever reads it (the command line, the TUI)
// must pass every event to Observe, which never blocks. Per-epoch decisions
// do not go through events: each trial's job reports to the study directly
// after every epoch, and stops, pauses or goes on as the strategy decides.
//
// Promotions continue training: a paused trial's model and training state
// (optimizer moments, random source, sample order) stay in memory, and a
// promoted trial resumes from them in a new run, training exactly as if it
// had never paused. Only when they are lost (the study was interrupted
// without a state file, or a checkpoint is damaged) is a trial trained
// again from scratch, up to its new budget; the strategy never sees an
// epoch twice, and the study counts every epoch trained.
//
// With a second objective, latency or size, each trial's cost is found once,
// before its first epoch, and goes with every report of its validation
// accuracy to the strategy, negated (to be maximized). The size is that of
// the trial's model file less the trial's own figures (accuracy, epochs,
// seed), so that it depends on the architecture alone. The latency is the
// median of 1000 single-sample passes, over three times MeasureSpeed's
// default: other trials train meanwhile and slow some passes down, and the
// median of many passes is what keeps the figure steady.
//
// With a state file, every step is saved (atomically) as it happens: the
// sequence of calls made to the strategy, and the trials' records. Trials'
// checkpoints (model and training state) go to the directory FILE.ckpt
// beside it, one per trial: when a trial reaches a rung (paused or
// promoted), and at the end of an epoch once 10 s have passed since its
// last one; the state file records the
// epoch each holds. A trial's checkpoint is deleted when it
// ends for good, the directory when the study finishes. Resuming replays
// the calls into a fresh strategy, which rebuilds its exact state, keeps
// every finished trial, and goes on with paused and interrupted trials from
// their checkpoints, so that only the training since a trial's last
// checkpoint is done again.
//
// A TuneStudy's methods are safe for concurrent use.
type TuneStudy struct {
	spec TuneSpec
	path string // state file; "" for none

	inboxMu sync.Mutex
	inbox   []Event
	open    bool          // Run is accepting events
	wake    chan struct{} // capacity 1: the inbox has events, or a trial was cancelled
	changed chan struct{} // capacity 1: the state changed

	mu        sync.Mutex
	strategy  core.Strategy
	log       []logEntry
	trials    map[int]*trial
	byRun     map[RunID]*trial
	total     int           // epochs trained, all sessions
	before    time.Duration // wall time of earlier sessions
	start     time.Time     // when this session's Run began
	pending   []segment     // runs waiting to start: re-runs after a resume, promotions while the last run ends
	inflight  int
	stopping  bool // interrupted: ignore reports, keep in-flight trials resumable
	done      bool
	stopped   string // why the study ended early, if it did
	best      int
	bestCurve []BestPoint
	out       [2]int // the trial whose model Out holds, and its epochs
	updates   []TrialUpdate
	lab       Starter
	ctx       context.Context
	saveErr   error         // the first failure to write the state file or Out
	test      *core.Dataset // the test split, once a trial has loaded it
	ckptEvery time.Duration // checkpointEvery; tests shorten it
}

// costObjective returns the second objective, "latency" or "size", or ""
// without one.
func (s *TuneStudy) costObjective() string {
	if len(s.spec.Objectives) > 1 {
		return s.spec.Objectives[1]
	}
	return ""
}

// cost returns trial t's cost under the second objective: its latency in
// µs or its size in bytes, 0 while unknown or without one.
func (s *TuneStudy) cost(t *trial) float64 {
	switch s.costObjective() {
	case "latency":
		return t.rec.LatencyMicros
	case "size":
		return float64(t.rec.SizeBytes)
	}
	return 0
}

// setCost records trial t's cost under the second objective.
func (s *TuneStudy) setCost(t *trial, c float64) {
	switch s.costObjective() {
	case "latency":
		t.rec.LatencyMicros = c
	case "size":
		t.rec.SizeBytes = int64(c)
	}
}

// keepTestSplit remembers the test split, to time the best model at the end.
func (s *TuneStudy) keepTestSplit(d *core.Dataset) {
	s.mu.Lock()
	s.test = d
	s.mu.Unlock()
}

// trial is the study's view of one trial.
type trial struct {
	rec      TrialRecord
	point    core.Point
	max      int           // the most epochs it may reach
	seg      segment       // its current or last run
	reported int           // the last epoch the strategy has seen
	decision core.Decision // the strategy's last decision about it
	cancel   bool          // Cancel was called while it ran
	active   bool          // a run of it has started and not ended
	ckpt     *checkpoint   // a paused trial's training state, in this session
	saved    int           // with a state file, the epoch its checkpoint on disk holds; 0 for none
	model    *core.Model   // its last run's model, in this session
}

// segment is one run of a trial.
type segment struct {
	trial int
	kind  string // "started", "promoted" or "resumed"
	from  int    // the epoch it starts from, as the strategy issued it
	max   int
	// A re-run after a resume whose run had already been told to pause or
	// stop at epoch stopAt ends there with stopWith.
	stopAt   int
	stopWith core.Decision
}

// NewTuneStudy validates spec and returns a study ready to Run. With a path, the
// study's state is written there as it goes (see ResumeTuneStudy), and the
// checkpoints of a study that path held before are deleted.
func NewTuneStudy(spec TuneSpec, path string) (*TuneStudy, error) {
	spec, err := spec.resolve()
	if err != nil {
		return nil, err
	}
	s, err := newStudy(spec, path)
	if err != nil {
		return nil, err
	}
	if path != "" {
		clearCheckpoints(s.checkpointDir())
		s.mu.Lock()
		s.save()
		err := s.saveErr
		s.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

func newStudy(spec TuneSpec, path string) (*TuneStudy, error) {
	st, err := core.NewStrategy(spec.Space, spec.Search)
	if err != nil {
		return nil, err
	}
	return &TuneStudy{spec: spec, path: path, strategy: st, wake: make(chan struct{}, 1),
		changed: make(chan struct{}, 1), trials: map[int]*trial{}, byRun: map[RunID]*trial{}, ckptEvery: checkpointEvery}, nil
}

// Spec returns the study's spec, with defaults filled in.
func (s *TuneStudy) Spec() TuneSpec { return s.spec }

// Changed returns a channel that receives a value after the study's state
// changes (many changes may share one value). Read Snapshot and Updates
// then.
func (s *TuneStudy) Changed() <-chan struct{} { return s.changed }

// Observe passes an event of the Lab's stream to the study. Call it with
// every event while Run runs; events of other runs are ignored. It never
// blocks.
func (s *TuneStudy) Observe(e Event) {
	if e.Kind != Finished && e.Kind != Failed {
		return
	}
	s.inboxMu.Lock()
	if s.open {
		s.inbox = append(s.inbox, e)
	}
	s.inboxMu.Unlock()
	poke(s.wake)
}

// poke sends on a capacity-1 channel without waiting.
func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Run runs the study until every trial has ended, the budget is used up or
// ctx is done, with at most workers trials training at once, and returns
// the tune result. Trials start on l with ctx as their parent context.
// When ctx is done, Run returns at once with ctx's error; runs in progress
// are cancelled through ctx and their trials stay resumable. Run may be
// called once.
func (s *TuneStudy) Run(ctx context.Context, l Starter, workers int) (*Result, error) {
	if workers < 1 {
		return nil, fmt.Errorf("workers must be at least 1, got %d", workers)
	}
	s.mu.Lock()
	if s.lab != nil {
		s.mu.Unlock()
		return nil, errors.New("the study has already run")
	}
	s.lab, s.ctx, s.start = l, ctx, time.Now()
	s.mu.Unlock()
	s.inboxMu.Lock()
	s.open = true
	s.inboxMu.Unlock()
	defer func() {
		s.inboxMu.Lock()
		s.open, s.inbox = false, nil
		s.inboxMu.Unlock()
	}()

	for {
		s.mu.Lock()
		if err := s.saveErr; err != nil {
			s.mu.Unlock()
			return nil, err
		}
		for !s.done && ctx.Err() == nil && s.inflight < workers {
			seg, t, ok := s.nextSegment()
			if !ok {
				break
			}
			if err := s.launch(t, seg); err != nil {
				s.mu.Unlock()
				return nil, err
			}
		}
		idle := s.inflight == 0
		s.mu.Unlock()
		if idle || ctx.Err() != nil {
			break
		}
		select {
		case <-s.wake:
		case <-ctx.Done():
		}
		s.drain()
	}
	if err := ctx.Err(); err != nil {
		s.mu.Lock()
		s.stopping = true
		s.mu.Unlock()
		s.drain() // runs that ended before the interruption keep their results
		s.mu.Lock()
		s.before, s.start = s.elapsed(), time.Time{}
		s.save()
		s.mu.Unlock()
		return nil, err
	}
	return s.finish()
}

// drain handles the lifecycle events Observe has queued.
func (s *TuneStudy) drain() {
	s.inboxMu.Lock()
	events := s.inbox
	s.inbox = nil
	s.inboxMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range events {
		t := s.byRun[e.Run]
		if t == nil {
			continue
		}
		delete(s.byRun, e.Run)
		s.inflight--
		t.active = false
		if e.Kind == Failed {
			s.runFailed(t, e.Err)
		} else if t.model != nil && e.Result.Model == t.model {
			t.rec.Result = e.Result // the Lab's snapshot of the record runDone kept, with its run
		}
	}
	s.save()
	poke(s.changed)
}

// nextSegment returns the next run to start, unless the budget is used up:
// a run waiting in pending (to redo after a resume, or a promotion that came
// while the run that paused the trial was still finishing), else whatever
// the strategy asks for.
func (s *TuneStudy) nextSegment() (segment, *trial, bool) {
	for !s.exhausted() {
		if i := slices.IndexFunc(s.pending, func(g segment) bool { return !s.trials[g.trial].active }); i >= 0 {
			seg := s.pending[i]
			s.pending = slices.Delete(s.pending, i, i+1)
			return seg, s.trials[seg.trial], true
		}
		tr, ok := s.strategy.Next()
		if !ok {
			break
		}
		e := logEntry{Op: "next", ID: tr.ID, From: tr.From, Max: tr.MaxEpochs}
		if tr.From == 0 {
			e.Point = tr.Point
		}
		s.log = append(s.log, e)
		t := s.trials[tr.ID]
		seg := segment{trial: tr.ID, kind: "promoted", from: tr.From, max: tr.MaxEpochs}
		if t == nil {
			t = s.newTrial(tr.ID, tr.Point, tr.MaxEpochs)
			seg.kind = "started"
		}
		if !t.active {
			return seg, t, true
		}
		s.pending = append(s.pending, seg)
	}
	return segment{}, nil, false
}

// dropPending forgets the runs waiting to start for trial id.
func (s *TuneStudy) dropPending(id int) {
	s.pending = slices.DeleteFunc(s.pending, func(g segment) bool { return g.trial == id })
}

// newTrial records a trial the strategy has just created.
func (s *TuneStudy) newTrial(id int, p core.Point, maxEpochs int) *trial {
	t := &trial{point: p, max: maxEpochs,
		rec: TrialRecord{ID: id, Params: s.spec.Space.Values(p), Status: TrialRunning}}
	s.trials[id] = t
	return t
}

// launch starts seg as a run of t.
func (s *TuneStudy) launch(t *trial, seg segment) error {
	spec := s.trainSpec(t)
	from := 0 // without a checkpoint, a trial trains again from scratch
	switch {
	case t.ckpt != nil:
		from = t.ckpt.epochs
	case t.saved > 0:
		from = t.saved // the job notes it if the checkpoint turns out unusable
	}
	cfg := TrialConfig{Trial: t.rec.ID, Params: t.rec.Params, From: from, Epochs: seg.max, Train: spec}
	run := s.lab.Start(s.ctx, TaskTrial, cfg, s.trialJob(t.rec.ID, spec, seg))
	if run == 0 {
		return errors.New("the lab is shutting down")
	}
	t.seg, t.cancel, t.active, t.decision = seg, false, true, core.Continue
	t.rec.Status, t.rec.Run, t.rec.Reason = TrialRunning, run, ""
	s.byRun[run] = t
	s.inflight++
	s.update(TrialUpdate{Trial: t.rec.ID, Run: run, Event: seg.kind, Epochs: from, Target: seg.max})
	s.save()
	return nil
}

// trainSpec is the training spec of trial t.
func (s *TuneStudy) trainSpec(t *trial) TrainSpec {
	spec := trainSpecFor(s.spec.Base, s.spec.Space, t.point)
	spec.Data, spec.Out, spec.Patience = s.spec.Data, "", 0
	spec.Epochs = t.max
	// Trials get different but reproducible initializations and shuffles.
	spec.Seed = s.spec.Search.Seed*1_000_003 + uint64(t.rec.ID)
	return spec
}

// report passes epoch's validation accuracy of trial id to the strategy,
// with the trial's cost (negated) under a second objective, and returns its
// decision, as the trial's job asks after every epoch.
func (s *TuneStudy) report(id, epoch int, value float64) core.Decision {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return core.Stop // the run is being cancelled anyway
	}
	t := s.trials[id]
	s.total++
	if epoch > len(t.rec.Curve) {
		t.rec.Curve = append(t.rec.Curve, value)
	}
	t.rec.Epochs, t.rec.ValAccuracy = epoch, value
	var d core.Decision
	switch {
	case epoch <= t.reported:
		// Training again after a resume: the strategy has seen this epoch.
		d = core.Continue
		if epoch == t.seg.stopAt {
			d = t.seg.stopWith
		}
	default:
		e := logEntry{Op: "report", ID: id, Epoch: epoch, Value: value}
		values := []float64{value}
		if s.costObjective() != "" {
			e.Cost = s.cost(t)
			values = append(values, -e.Cost)
		}
		d = s.strategy.Report(id, epoch, values...)
		t.reported = epoch
		e.Decision = d
		s.log = append(s.log, e)
		if (d == core.Continue || d == core.Promote) && s.exhausted() {
			s.strategy.End(id)
			s.log = append(s.log, logEntry{Op: "end", ID: id})
			d = core.Stop
			t.rec.Reason = s.budgetReason()
		}
		if d == core.Promote {
			s.update(TrialUpdate{Trial: id, Run: t.rec.Run, Event: "promoted", Epochs: epoch, Target: t.max, ValAccuracy: value})
		}
	}
	t.decision = d
	s.noteBest(id, value)
	s.save()
	poke(s.changed)
	return d
}

// noteBest extends the best-so-far curve when trial id's value beats it.
func (s *TuneStudy) noteBest(id int, value float64) {
	if n := len(s.bestCurve); n == 0 || value > s.bestCurve[n-1].Value {
		s.bestCurve = append(s.bestCurve, BestPoint{TotalEpochs: s.total, Trial: id, Value: value})
	}
}

// ids returns the trial IDs in increasing order.
func (s *TuneStudy) ids() []int {
	ids := make([]int, 0, len(s.trials))
	for id := range s.trials {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// exhausted reports whether the study's budget is used up.
func (s *TuneStudy) exhausted() bool {
	if s.spec.Budget.Exhausted(s.total, s.elapsed()) {
		if s.stopped == "" {
			s.stopped = s.budgetReason()
		}
		return true
	}
	return false
}

func (s *TuneStudy) budgetReason() string {
	if b := s.spec.Budget; b.Epochs > 0 && s.total >= b.Epochs {
		return fmt.Sprintf("the study's budget of %d epochs ran out", b.Epochs)
	}
	return fmt.Sprintf("the study's time budget of %v ran out", s.spec.Budget.Time)
}

// elapsed is the study's wall time over all sessions.
func (s *TuneStudy) elapsed() time.Duration {
	if s.start.IsZero() {
		return s.before
	}
	return s.before + time.Since(s.start)
}

// runDone records the result of a run of trial id; the run's job calls it
// just before returning, so that the state file has the result at once.
func (s *TuneStudy) runDone(id int, res *Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.trials[id]
	if s.stopping && t.decision != core.Pause && t.decision != core.Stop {
		return // cut short by the interruption: the trial stays running, to be trained again on resume
	}
	if t.decision != core.Pause && t.decision != core.Stop {
		// The run trained all its epochs without a decision to end (a
		// strategy always decides at MaxEpochs; this is only a safeguard).
		s.strategy.End(t.rec.ID)
		s.log = append(s.log, logEntry{Op: "end", ID: t.rec.ID})
		t.decision = core.Stop
	}
	r := &t.rec
	r.Result, t.model = res, res.Model
	r.Epochs, r.TestAccuracy = res.Epochs, res.TestAccuracy
	r.LatencyMicros, r.SizeBytes = res.LatencyMicros, res.SizeBytes
	if n := len(res.History); n > 0 {
		r.ValAccuracy = res.History[n-1].ValAcc
	}
	switch {
	case t.cancel:
		r.Status = TrialCancelled
		s.dropPending(r.ID)
		s.strategy.End(r.ID)
		s.log = append(s.log, logEntry{Op: "end", ID: r.ID})
	case t.decision == core.Pause:
		r.Status = TrialPaused
	case r.Epochs >= t.max:
		r.Status = TrialDone
	default:
		r.Status = TrialStopped
	}
	if r.Status != TrialPaused {
		s.dropCheckpoint(t)
	}
	s.update(TrialUpdate{Trial: r.ID, Run: r.Run, Event: r.Status, Epochs: r.Epochs,
		ValAccuracy: r.ValAccuracy, TestAccuracy: r.TestAccuracy, Reason: r.Reason})
	s.pickBest()
	s.save()
}

// runFailed records that a run of t failed.
func (s *TuneStudy) runFailed(t *trial, err error) {
	r := &t.rec
	if (s.stopping || s.ctx.Err() != nil) && !t.cancel {
		return // the study was interrupted: the trial stays running, to be trained again on resume
	}
	s.dropCheckpoint(t)
	s.dropPending(r.ID)
	r.Status, r.Reason = TrialFailed, err.Error()
	if t.cancel || errors.Is(err, context.Canceled) { // Cancel, or the run cancelled on the Lab
		r.Status, r.Reason = TrialCancelled, ""
	}
	s.strategy.End(r.ID)
	s.log = append(s.log, logEntry{Op: "end", ID: r.ID})
	s.update(TrialUpdate{Trial: r.ID, Run: r.Run, Event: r.Status, Epochs: r.Epochs, ValAccuracy: r.ValAccuracy, Reason: r.Reason})
}

// Cancel stops trial id: a training trial's run is cancelled, a paused
// trial will not be promoted. It reports false when the trial is not
// running or paused.
func (s *TuneStudy) Cancel(id int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.trials[id]
	if t == nil || s.done {
		return false
	}
	switch t.rec.Status {
	case TrialRunning:
		if t.active {
			t.cancel = true
			s.lab.Cancel(t.rec.Run)
			return true
		}
		if !slices.ContainsFunc(s.pending, func(g segment) bool { return g.trial == id }) {
			return false
		}
	case TrialPaused:
	default:
		return false
	}
	s.dropPending(id)
	s.dropCheckpoint(t)
	t.rec.Status = TrialCancelled
	s.strategy.End(id)
	s.log = append(s.log, logEntry{Op: "end", ID: id})
	s.update(TrialUpdate{Trial: id, Event: TrialCancelled, Epochs: t.rec.Epochs, ValAccuracy: t.rec.ValAccuracy})
	s.save()
	poke(s.wake) // the strategy may now promote others
	return true
}

// update appends a trial update and signals the change.
func (s *TuneStudy) update(u TrialUpdate) {
	s.updates = append(s.updates, u)
	poke(s.changed)
}

// Updates returns the trial updates from index from on (0 for all), and the
// index to pass next time.
func (s *TuneStudy) Updates(from int) ([]TrialUpdate, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	from = min(max(from, 0), len(s.updates))
	return slices.Clone(s.updates[from:]), len(s.updates)
}

// pickBest finds the best trial: the highest validation accuracy among
// trials with a finished run, more epochs and then the lower ID breaking
// ties. When it changes, Out is updated.
func (s *TuneStudy) pickBest() {
	var best *trial
	for _, id := range s.ids() {
		t := s.trials[id]
		if t.rec.Result == nil {
			continue
		}
		if best == nil || cmp.Or(cmp.Compare(t.rec.ValAccuracy, best.rec.ValAccuracy), cmp.Compare(t.rec.Epochs, best.rec.Epochs)) > 0 {
			best = t
		}
	}
	if best == nil {
		return
	}
	s.best = best.rec.ID
	saved := [2]int{best.rec.ID, best.rec.Epochs}
	if s.spec.Out == "" || best.model == nil || s.out == saved {
		return
	}
	if _, err := core.SaveModel(s.spec.Out, best.model, s.modelInfo(best)); err != nil {
		s.fail(err)
		return
	}
	s.out = saved
}

// modelInfo is what the model file of trial t records.
func (s *TuneStudy) modelInfo(t *trial) core.ModelInfo {
	spec, data := s.trainSpec(t), s.spec.Data.withDefaults()
	return core.ModelInfo{Task: TaskTune, Dataset: data.Name, DataSeed: data.Seed, TestFrac: data.TestFrac,
		Label: data.Label, TestAccuracy: t.rec.TestAccuracy, Epochs: t.rec.Epochs, Seed: spec.Seed,
		Optimizer: spec.Optimizer, Activation: spec.Activation}
}

// fail remembers the first failure to write a file; Run returns it.
func (s *TuneStudy) fail(err error) {
	if s.saveErr == nil {
		s.saveErr = err
	}
}

// finish ends the study: paused trials that were never promoted, and runs
// the budget left unstarted, become stopped; then it builds the result.
func (s *TuneStudy) finish() (*Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.ids() {
		t := s.trials[id]
		if t.rec.Status != TrialPaused && t.rec.Status != TrialRunning {
			continue
		}
		s.dropCheckpoint(t)
		t.rec.Status = TrialStopped
		t.rec.Reason = s.stopped
		if t.rec.Reason == "" {
			t.rec.Reason = "not promoted"
		}
		s.update(TrialUpdate{Trial: id, Event: TrialStopped, Epochs: t.rec.Epochs,
			ValAccuracy: t.rec.ValAccuracy, TestAccuracy: t.rec.TestAccuracy, Reason: t.rec.Reason})
	}
	s.done = true
	if s.path != "" {
		clearCheckpoints(s.checkpointDir())
	}
	s.before, s.start = s.elapsed(), time.Time{}
	s.save()
	if s.saveErr != nil {
		return nil, s.saveErr
	}
	return s.result()
}

// result builds the tune result record: the best trial's record, with the
// task "tune", plus the trials, the epochs used and the Pareto set.
func (s *TuneStudy) result() (*Result, error) {
	b := s.trials[s.best]
	if b == nil {
		reason := "no trial ran"
		for _, id := range s.ids() {
			if r := s.trials[id].rec.Reason; r != "" {
				reason = fmt.Sprintf("trial %d: %s", id, r)
				break
			}
		}
		return nil, fmt.Errorf("no trial finished a run (%s)", reason)
	}
	res := *b.rec.Result
	res.Task, res.Run, res.History = TaskTune, 0, nil
	res.Seed, res.Out, res.Stopped = s.spec.Search.Seed, s.spec.Out, s.stopped
	res.Model = b.model
	if res.Model == nil && s.spec.Out != "" {
		// It finished before the study was resumed; Out holds it.
		if m, _, err := core.LoadModel(s.spec.Out); err == nil {
			res.Model = m
		}
	}
	if res.Model != nil {
		// The trials' sizes leave out their own figures (trialSize); the
		// study's is that of the file Out holds, or would.
		var err error
		if res.SizeBytes, err = save("", res.Model, s.modelInfo(b)); err != nil {
			return nil, err
		}
	}
	if res.ThroughputSPS == 0 && res.Model != nil && s.test != nil {
		sp := core.MeasureSpeed(res.Model.Clone(), s.test, 0) // a forward pass writes to the layers
		res.ThroughputSPS = sp.Throughput
		if res.LatencyMicros == 0 { // a latency objective's figure, which the search ranked, stays
			res.LatencyMicros = sp.LatencyMicros
		}
	}
	best := b.rec
	if best.LatencyMicros == 0 {
		r := *best.Result
		r.LatencyMicros, r.ThroughputSPS = res.LatencyMicros, res.ThroughputSPS
		best.LatencyMicros, best.Result = res.LatencyMicros, &r
	}
	res.Best = &best
	for _, id := range s.ids() {
		r := s.trials[id].rec
		r.Result = nil
		res.Trials = append(res.Trials, r)
	}
	res.TotalEpochs = s.total
	if len(s.spec.Objectives) > 1 {
		res.Pareto = s.pareto()
	}
	return &res, nil
}

// Snapshot returns a copy of the study's state.
func (s *TuneStudy) Snapshot() TuneSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := TuneSnapshot{Spec: s.spec, Best: s.best, BestCurve: slices.Clone(s.bestCurve),
		TotalEpochs: s.total, Elapsed: s.elapsed(), Done: s.done}
	snap.Importance, snap.ImportanceEpochs, snap.ImportanceTrials = s.importance()
	for _, id := range s.ids() {
		r := s.trials[id].rec
		r.Result, r.Curve = nil, slices.Clone(r.Curve)
		snap.Trials = append(snap.Trials, r)
	}
	if len(s.spec.Objectives) > 1 {
		snap.Pareto = s.pareto()
	}
	return snap
}

// pareto returns the IDs of the trials with a finished run that no other
// such trial beats in both validation accuracy and the second objective.
func (s *TuneStudy) pareto() []int {
	var ids []int
	var pts [][]float64
	for _, id := range s.ids() {
		r := s.trials[id].rec
		if r.Result == nil {
			continue
		}
		cost := r.LatencyMicros
		if s.spec.Objectives[1] == "size" {
			cost = float64(r.SizeBytes)
		}
		ids = append(ids, id)
		pts = append(pts, []float64{r.ValAccuracy, -cost})
	}
	var front []int
	for _, i := range core.ParetoFront(pts) {
		front = append(front, ids[i])
	}
	return front
}

// importance estimates each parameter's share of the variance of the
// validation accuracy (core.ParamImportance). Trials are compared at an
// equal budget: at the largest epoch count that at least half of the trials
// have reached, over those trials. So multi-fidelity studies, where few
// trials train long, are judged at the early rungs every trial reached.
func (s *TuneStudy) importance() (imp []core.Importance, epochs, trials int) {
	var lens []int
	for _, t := range s.trials {
		if n := len(t.rec.Curve); n > 0 {
			lens = append(lens, n)
		}
	}
	if len(lens) == 0 {
		return core.ParamImportance(s.spec.Space, nil, nil), 0, 0
	}
	slices.Sort(lens)
	e := lens[len(lens)/2] // at least half the trials reached it
	var pts []core.Point
	var vals []float64
	for _, id := range s.ids() {
		if t := s.trials[id]; len(t.rec.Curve) >= e {
			pts, vals = append(pts, t.point), append(vals, t.rec.Curve[e-1])
		}
	}
	return core.ParamImportance(s.spec.Space, pts, vals), e, len(pts)
}
