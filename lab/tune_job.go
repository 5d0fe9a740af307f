package lab

import (
	"context"
	"errors"
	"time"

	"github.com/optlab/optlab/core"
)

// errRunEnd is what a trial's recorder returns to end training when the
// strategy pauses or stops the trial.
var errRunEnd = errors.New("lab: the strategy ended the run")

// trialJob returns the job of one run of trial id: train from the trial's
// checkpoint if the study has one (in memory, or on disk after a resume),
// else from scratch (first finding the trial's cost, with a second
// objective, unless it is known), reporting each epoch to the study until
// it says pause or stop, and, with a state file, taking a checkpoint at
// each rung and at epoch ends spaced by their cost (checkpointCost, at most
// checkpointEvery apart); keep the training state of a paused trial for a
// later promotion; evaluate the model on the test split and measure its
// size; and hand the result to the study.
func (s *TuneStudy) trialJob(id int, spec TrainSpec, seg segment) Job {
	return func(ctx context.Context, rec core.Recorder) (*Result, error) {
		data, err := loadSplits(ctx, spec.Data)
		if err != nil {
			return nil, err
		}
		c, end := s.checkout(id, spec)
		if c == nil {
			c = &checkpoint{state: &core.TrainState{}}
			c.model, err = core.Build(spec.Model, data.Train.SampleShape, data.Train.Classes,
				core.BuildOptions{Activation: spec.Activation, Dropout: spec.Dropout, Seed: spec.Seed})
			if err != nil {
				return nil, err
			}
			c.model.Norm = core.FitStandardizer(data.Train)
		}
		if err := s.measureCost(id, c.model, data.Test); err != nil {
			return nil, err
		}
		// The first checkpoint comes after the first epoch; then they are
		// spaced by their cost (checkpointCost), at most ckptEvery apart.
		from, last, every := c.epochs, time.Now(), time.Duration(0)
		record := func(st core.Stats) error {
			st.Epoch += from
			st.Epochs, st.Trial = seg.max, id
			if err := rec(st); err != nil {
				return err
			}
			if !st.EpochDone {
				return nil
			}
			if end = s.report(id, st.Epoch, st.ValAcc); end == core.Pause || end == core.Stop {
				return errRunEnd
			}
			if end == core.Promote || time.Since(last) >= every {
				// At a rung, as when pausing there, or every so often.
				// The recorder runs between epochs, on the training
				// goroutine: the model and state are whole and still.
				took := s.persist(id, spec, &checkpoint{model: c.model, state: c.state, epochs: st.Epoch})
				last = time.Now()
				every = min(s.ckptEvery, time.Duration(float64(took)/checkpointCost))
			}
			return nil
		}
		// From a checkpoint, training goes on exactly as if it had never
		// stopped.
		var rep core.TrainReport
		if end == core.Continue && from < seg.max {
			rep, err = core.Train(ctx, c.model, data.Train, data.Val, core.TrainConfig{
				Epochs:    seg.max - from,
				BatchSize: spec.Batch,
				Optimizer: core.OptimizerConfig{Kind: spec.Optimizer, LR: spec.LR, WeightDecay: spec.WeightDecay},
				Schedule:  core.ScheduleConfig{Kind: spec.Schedule},
				Seed:      spec.Seed,
				State:     c.state,
			}, record)
			if err != nil && !errors.Is(err, errRunEnd) {
				return nil, err
			}
		}
		c.epochs = from + rep.Epochs
		m := c.model
		if end == core.Pause {
			s.checkin(id, spec, c)
			m = m.Clone() // the result's model must not change when training goes on
		}
		for i := range rep.History {
			rep.History[i].Epoch += from
			rep.History[i].Trial = id
		}
		res := &Result{Task: TaskTrial, Arch: spec.Model, TrainSeconds: rep.Seconds, Data: data.Spec,
			TrainSamplesPerSec: rep.SamplesPerSec, Epochs: c.epochs, Seed: spec.Seed, History: rep.History}
		// Timing a whole run takes a quarter second and is noisy while
		// other trials train: a trial's latency is the one measureCost
		// found (with a latency objective; else none), and only the best
		// trial's speed is measured in full, once the study is over.
		s.keepTestSplit(data.Test)
		evaluate(res, m, data.Test)
		res.LatencyMicros = s.latency(id)
		if res.SizeBytes, err = s.trialSize(m); err != nil {
			return nil, err
		}
		s.runDone(id, res)
		return res, nil
	}
}

// latencyReps is the number of single-sample passes a trial's latency is
// the median of. Other trials train on the other cores meanwhile, so some
// passes run slow; the median of many (MeasureSpeed's default is 300) stays
// steady, and 1000 passes of a small MLP take a few milliseconds.
const latencyReps = 1000

// measureCost finds trial id's cost under the second objective, if any,
// from m, the model it is about to train, and records it. A trial whose
// cost is known (from an earlier run, or the state file) keeps it: the
// strategy has seen it.
func (s *TuneStudy) measureCost(id int, m *core.Model, test *core.Dataset) error {
	s.mu.Lock()
	t := s.trials[id]
	objective, known := s.costObjective(), s.cost(t) > 0
	s.mu.Unlock()
	var c float64
	switch {
	case known:
		return nil
	case objective == "latency":
		// A forward pass writes to the layers: time a copy. Under 1 ns
		// would read as unknown.
		c = max(core.MeasureLatency(m.Clone(), test, latencyReps), 1e-3)
	case objective == "size":
		size, err := s.trialSize(m)
		if err != nil {
			return err
		}
		c = float64(size)
	default:
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setCost(t, c)
	s.save()
	poke(s.changed)
	return nil
}

// latency returns trial id's latency with a latency objective, else 0.
func (s *TuneStudy) latency(id int) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.costObjective() != "latency" {
		return 0
	}
	return s.cost(s.trials[id])
}

// trialSize is the size of a trial's model file: m encoded as a model file
// is, with the study's metadata (task and dataset) but not the trial's own
// figures (accuracy, epochs, seed), whose digits would make trials of one
// architecture differ by a few bytes and split them in the Pareto set. So
// it depends on the architecture alone, and is known before training.
func (s *TuneStudy) trialSize(m *core.Model) (int64, error) {
	return save("", m, core.ModelInfo{Task: TaskTrial, Dataset: s.spec.Data.withDefaults().Name})
}
