package lab

import (
	"context"
	"errors"

	"github.com/optlab/optlab/core"
)

// errRunEnd is what a trial's recorder returns to end training when the
// strategy pauses or stops the trial.
var errRunEnd = errors.New("lab: the strategy ended the run")

// trialJob returns the job of one run of trial id: train from the paused
// training state if the study still has it, else from scratch, reporting
// each epoch to the study until it says pause or stop; keep the training
// state of a paused trial for a later promotion; evaluate the model on the
// test split and measure its size (and its speed, with a latency
// objective); and hand the result to the study.
func (s *TuneStudy) trialJob(id int, spec TrainSpec, seg segment) Job {
	return func(ctx context.Context, rec core.Recorder) (*Result, error) {
		data, err := loadSplits(ctx, spec.Data)
		if err != nil {
			return nil, err
		}
		c := s.checkout(id, seg.from)
		if c == nil {
			c = &checkpoint{state: &core.TrainState{}}
			c.model, err = core.Build(spec.Model, data.Train.SampleShape, data.Train.Classes,
				core.BuildOptions{Activation: spec.Activation, Dropout: spec.Dropout, Seed: spec.Seed})
			if err != nil {
				return nil, err
			}
			c.model.Norm = core.FitStandardizer(data.Train)
		}
		from := c.epochs
		var end core.Decision
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
			return nil
		}
		// With the paused state, training goes on exactly as if it had
		// never stopped.
		rep, err := core.Train(ctx, c.model, data.Train, data.Val, core.TrainConfig{
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
		c.epochs = from + rep.Epochs
		m := c.model
		if end == core.Pause {
			s.checkin(id, c)
			m = m.Clone() // the result's model must not change when training goes on
		}
		for i := range rep.History {
			rep.History[i].Epoch += from
			rep.History[i].Trial = id
		}
		res := &Result{Task: TaskTrial, Arch: spec.Model, TrainSeconds: rep.Seconds,
			TrainSamplesPerSec: rep.SamplesPerSec, Epochs: c.epochs, Seed: spec.Seed, History: rep.History}
		if s.timed() {
			if err := measure(ctx, res, m, data); err != nil {
				return nil, err
			}
		} else {
			// Timing takes a quarter second and is noisy while other trials
			// train: without a latency objective only the best trial is
			// timed, once the study is over.
			s.keepTestSplit(data.Test)
			evaluate(res, m, data.Test)
		}
		info := core.ModelInfo{Task: TaskTrial, Dataset: spec.Data.withDefaults().Name, Epochs: c.epochs,
			Seed: spec.Seed, TestAccuracy: res.TestAccuracy, Optimizer: spec.Optimizer, Activation: spec.Activation}
		if res.SizeBytes, err = save("", m, info); err != nil {
			return nil, err
		}
		s.runDone(id, res)
		return res, nil
	}
}
