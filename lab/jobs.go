package lab

import (
	"context"
	"fmt"
	"os"

	"github.com/optlab/optlab/core"
)

// TrainSpec describes a training run. It is plain data: copy it freely, and
// pass it as the config of Start. Zero fields take core's defaults (10
// epochs, batches of 64, Adam, a constant learning rate, ReLU, no dropout,
// no early stopping), except Model, which is required.
type TrainSpec struct {
	Data        DataSpec `json:"data,omitempty"`
	Model       string   `json:"model,omitempty"`      // architecture spec, e.g. "mlp:128,64"
	Activation  string   `json:"activation,omitempty"` // hidden activation: relu, leaky_relu, tanh, sigmoid, gelu
	Dropout     float64  `json:"dropout,omitempty"`    // dropout rate after each hidden activation
	Optimizer   string   `json:"optimizer,omitempty"`  // adam, adamw, sgd, momentum
	LR          float64  `json:"lr,omitempty"`         // base learning rate; 0 for the optimizer's default
	WeightDecay float64  `json:"weight_decay,omitempty"`
	Batch       int      `json:"batch,omitempty"`
	Epochs      int      `json:"epochs,omitempty"`
	Patience    int      `json:"patience,omitempty"` // early stopping after this many epochs without improvement; 0 disables it
	Schedule    string   `json:"schedule,omitempty"` // learning-rate schedule: constant, step, cosine
	Seed        uint64   `json:"seed,omitempty"`     // initialization, shuffling and dropout seed
	Out         string   `json:"out,omitempty"`      // where to save the model; "" to keep it only in the lab
	// SnapshotEvery attaches a clone of the model to every this many
	// epochs' Progress (Stats.Snapshot), for live views; 0 for never.
	SnapshotEvery int `json:"snapshot_every,omitempty"`
}

// Job returns the training job: load and split the data (cached per Lab),
// fit the feature standardization on the training part only, build and train
// the model, evaluate it on the test part, save it (to Out, else only
// encoded, to learn its file size) and measure its speed.
func (s TrainSpec) Job() Job {
	return func(ctx context.Context, rec core.Recorder) (*Result, error) {
		data, err := loadSplits(ctx, s.Data)
		if err != nil {
			return nil, err
		}
		m, err := core.Build(s.Model, data.Train.SampleShape, data.Train.Classes,
			core.BuildOptions{Activation: s.Activation, Dropout: s.Dropout, Seed: s.Seed})
		if err != nil {
			return nil, err
		}
		m.Norm = core.FitStandardizer(data.Train)
		rep, err := core.Train(ctx, m, data.Train, data.Val, core.TrainConfig{
			Epochs:        s.Epochs,
			BatchSize:     s.Batch,
			Optimizer:     core.OptimizerConfig{Kind: s.Optimizer, LR: s.LR, WeightDecay: s.WeightDecay},
			Schedule:      core.ScheduleConfig{Kind: s.Schedule},
			Patience:      s.Patience,
			Seed:          s.Seed,
			SnapshotEvery: s.SnapshotEvery,
		}, rec)
		if err != nil {
			return nil, err
		}
		// What is measured and saved is the deployable model: BatchNorm
		// folded into the layer before it (a no-op for MLPs).
		m = core.FoldBatchNorm(m)
		res := &Result{
			Task:               TaskTrain,
			Arch:               s.Model,
			TrainSeconds:       rep.Seconds,
			TrainSamplesPerSec: rep.SamplesPerSec,
			Epochs:             rep.Epochs,
			Seed:               s.Seed,
			Out:                s.Out,
			Stopped:            rep.Stopped,
			History:            rep.History,
		}
		if err := measure(ctx, res, m, data); err != nil {
			return nil, err
		}
		spec := s.Data.withDefaults()
		info := spec.ModelInfo(TaskTrain)
		info.TestAccuracy, info.Epochs, info.Seed = res.TestAccuracy, rep.Epochs, s.Seed
		info.Optimizer, info.Activation = s.Optimizer, s.Activation
		if res.SizeBytes, err = save(s.Out, m, info); err != nil {
			return nil, err
		}
		return res, nil
	}
}

// EvalSpec describes the evaluation of a saved model. Data is the dataset
// whose test split is used; when Data.Name is empty, the data, label column,
// test fraction and seed recorded in the model file are used, so a model is
// evaluated on the very split it was tested on.
type EvalSpec struct {
	Data      DataSpec `json:"data,omitempty"`
	ModelFile string   `json:"model_file,omitempty"`
}

// Job returns the evaluation job: load the model file, evaluate the model on
// the test split and measure its speed; the size is the file's.
func (s EvalSpec) Job() Job {
	return func(ctx context.Context, rec core.Recorder) (*Result, error) {
		m, info, err := core.LoadModel(s.ModelFile)
		if err != nil {
			return nil, err
		}
		fi, err := os.Stat(s.ModelFile)
		if err != nil {
			return nil, err
		}
		spec, err := recordedData(s.ModelFile, info, s.Data)
		if err != nil {
			return nil, err
		}
		data, err := loadSplits(ctx, spec)
		if err != nil {
			return nil, err
		}
		if got, want := data.Test.Features(), featuresOf(m); got != want {
			return nil, fmt.Errorf("%s takes %d features per sample, dataset %q has %d", s.ModelFile, want, data.Test.Name, got)
		}
		if got := data.Test.NumClasses(); got != len(m.Classes) {
			return nil, fmt.Errorf("%s predicts %d classes, dataset %q has %d", s.ModelFile, len(m.Classes), data.Test.Name, got)
		}
		res := &Result{Task: TaskEval, Arch: m.Arch, SizeBytes: fi.Size(), Epochs: info.Epochs, Seed: info.Seed}
		if err := measure(ctx, res, m, data); err != nil {
			return nil, err
		}
		return res, nil
	}
}

// featuresOf is the number of input values per sample m takes.
func featuresOf(m *core.Model) int {
	n := 1
	for _, d := range m.InShape {
		n *= d
	}
	return n
}

// measure evaluates m on the test split and times its inference, filling in
// res's dataset, accuracy, loss, counts and speed, and attaching m and its
// metrics. It stops early with ctx's error.
func measure(ctx context.Context, res *Result, m *core.Model, data Splits) error {
	evaluate(res, m, data.Test)
	if err := ctx.Err(); err != nil {
		return err
	}
	speed := core.MeasureSpeed(m, data.Test, 0)
	res.Data = data.Spec
	res.LatencyMicros, res.ThroughputSPS = speed.LatencyMicros, speed.Throughput
	return ctx.Err()
}

// evaluate is measure without the timing: it evaluates m on test and fills
// in res's dataset name, accuracy, loss and counts, attaching m and its
// metrics.
func evaluate(res *Result, m *core.Model, test *core.Dataset) {
	met := core.Evaluate(m, test)
	sum := m.Summarize()
	res.Dataset, res.TestAccuracy, res.TestLoss = test.Name, met.Accuracy, met.Loss
	res.Params, res.NonzeroParams, res.MACs = sum.Params, sum.NonzeroParams, sum.MACs
	res.Model, res.Metrics = m, met
}

// save writes m to path and returns the file's size. With no path it only
// encodes the model: the size is the same as the file's would be, without
// touching the disk.
func save(path string, m *core.Model, info core.ModelInfo) (int64, error) {
	if path != "" {
		return core.SaveModel(path, m, info)
	}
	b, err := core.EncodeModel(m, info)
	return int64(len(b)), err
}
