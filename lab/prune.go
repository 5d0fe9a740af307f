package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/optlab/optlab/core"
)

// Task names of pruning runs.
const (
	TaskPrune       = "prune"
	TaskSensitivity = "sensitivity"
)

// Schedules of PruneSpec.
const (
	ScheduleOneShot = "oneshot" // prune once, then fine-tune
	ScheduleGradual = "gradual" // Zhu & Gupta's polynomial schedule during fine-tuning
)

// PruneSpec describes pruning a trained model and fine-tuning it. It is plain
// data: copy it freely, and pass it as the config of Start. Zero fields take
// the defaults of core.PruneConfig and core.TrainConfig, except those listed.
type PruneSpec struct {
	// Data names the dataset and split, which must be the split the base
	// model was trained on. With ModelFile set and Data.Name empty, the data
	// and split recorded in the file are used.
	Data DataSpec `json:"data,omitempty"`
	// ModelFile is the base model's file. When it is empty, BaseRun names a
	// finished run of the Lab whose model is the base; Data must then be set.
	ModelFile string `json:"model_file,omitempty"`
	BaseRun   RunID  `json:"base_run,omitempty"`
	// Method, Norm and Sparsity are core.PruneConfig's.
	Method   string  `json:"method"`
	Norm     string  `json:"norm,omitempty"`
	Sparsity float64 `json:"sparsity"`
	// Schedule is ScheduleOneShot (the default) or ScheduleGradual, which
	// needs Epochs.
	Schedule string `json:"schedule,omitempty"`
	// Epochs of fine-tuning; 0 prunes without fine-tuning. With Rewind, the
	// epochs of each round.
	Epochs int `json:"finetune_epochs"`
	// Rewind runs iterative magnitude pruning with weight rewinding (the
	// lottery-ticket procedure): rounds of pruning RewindRate of the
	// surviving weights, rewinding the survivors to the base model's
	// initialization (rebuilt from the architecture and seed it records) and
	// retraining for Epochs.
	Rewind     bool    `json:"rewind,omitempty"`
	RewindRate float64 `json:"rewind_rate,omitempty"` // default 0.2
	Optimizer  string  `json:"optimizer,omitempty"`
	LR         float64 `json:"lr,omitempty"`
	Batch      int     `json:"batch,omitempty"`
	// Dense keeps the pruned model in the dense layout, zeros and all,
	// instead of converting its sparse layers to CSR (core.ToSparse): the
	// honest control showing that zeros alone make nothing smaller or faster.
	Dense bool   `json:"dense,omitempty"`
	Seed  uint64 `json:"seed,omitempty"` // fine-tuning shuffle seed and the random method's seed
	Out   string `json:"out,omitempty"`  // where to save the pruned model; "" to keep it only in the lab
	// SnapshotEvery attaches a clone of the model being fine-tuned, zeros
	// and all, to every this many epochs' Progress (Stats.Snapshot), for
	// live views of its weights; 0 for never. With Rewind it counts the
	// epochs of each round.
	SnapshotEvery int `json:"snapshot_every,omitempty"`
}

// Job returns the pruning job: load the base model and its data split,
// measure the base (the result's Baseline), prune and fine-tune a copy,
// evaluate it on the test split, convert it to the sparse layout (unless
// Dense), save it (to Out, else to a temporary file, to learn its real size)
// and measure its speed, alternating with the base's (see retime). Progress
// events carry Stats.Sparsity and Stats.Phase, and with SnapshotEvery the
// model's Stats.Snapshot.
func (s PruneSpec) Job() Job {
	return func(ctx context.Context, rec core.Recorder) (*Result, error) {
		cfg := core.PruneConfig{Method: s.Method, Norm: s.Norm, Sparsity: s.Sparsity, Seed: s.Seed}
		if err := s.validate(cfg); err != nil {
			return nil, err
		}
		base, baseRes, data, err := openBase(ctx, s.ModelFile, s.BaseRun, s.Data, errNoBase, "start from", CheckFit)
		if err != nil {
			return nil, err
		}
		spec := data.Spec
		tc := core.TrainConfig{Epochs: s.Epochs, BatchSize: s.Batch, Seed: s.Seed,
			Optimizer: core.OptimizerConfig{Kind: s.Optimizer, LR: s.LR}, SnapshotEvery: s.SnapshotEvery}
		var (
			pruned *core.Model
			prep   core.PruneReport
			trep   core.TrainReport
		)
		switch {
		case s.Rewind:
			init, err := core.Build(baseRes.Arch, base.InShape, base.Classes,
				core.BuildOptions{Activation: activationOf(base), Seed: baseRes.Seed})
			if err != nil {
				return nil, fmt.Errorf("cannot rebuild the base model's initialization to rewind to: %w", err)
			}
			pruned, prep, trep, err = core.IterativePrune(ctx, base, data.Train, data.Val, tc, cfg,
				core.RewindConfig{Weights: init, Rate: s.RewindRate}, rec)
			if err != nil {
				return nil, err
			}
		case s.Epochs == 0:
			if pruned, prep, err = core.Prune(base, cfg); err != nil {
				return nil, err
			}
		default:
			var sched *core.GradualSchedule
			if s.Schedule == ScheduleGradual {
				sched = &core.GradualSchedule{}
			}
			if pruned, prep, trep, err = core.FineTune(ctx, base, data.Train, data.Val, tc, cfg, sched, rec); err != nil {
				return nil, err
			}
		}

		final := pruned
		if !s.Dense {
			final = core.ToSparse(pruned)
		}
		for i, ls := range prep.Layers {
			prep.Layers[i].Layout = core.Layout(final.Layers[ls.Index])
		}
		sparsity := prep.Sparsity
		res := &Result{
			Task:               TaskPrune,
			Arch:               pruned.Arch,
			TrainSeconds:       trep.Seconds,
			TrainSamplesPerSec: trep.SamplesPerSec,
			Epochs:             trep.Epochs,
			Seed:               s.Seed,
			Out:                s.Out,
			Stopped:            trep.Stopped,
			Baseline:           baseRes,
			Sparsity:           &sparsity,
			Method:             prep.Method,
			Layers:             prep.Layers,
			History:            trep.History,
		}
		if err := measure(ctx, res, final, data); err != nil {
			return nil, err
		}
		if err := retime(ctx, baseRes, res, base, final, data.Test); err != nil {
			return nil, err
		}
		// Counted on the dense form, whose parameters are all visible: a
		// sparse layer's are not in Params. MACs stay the saved model's.
		sum := pruned.Summarize()
		res.Params, res.NonzeroParams = sum.Params, sum.NonzeroParams
		info := spec.ModelInfo(TaskPrune)
		info.TestAccuracy, info.Epochs, info.Seed = res.TestAccuracy, trep.Epochs, baseRes.Seed
		info.Optimizer, info.Activation = s.Optimizer, activationOf(base)
		if res.SizeBytes, err = saveReal(s.Out, final, info); err != nil {
			return nil, err
		}
		return res, nil
	}
}

// retime measures the speed of the base and the pruned model twice more,
// alternately, and keeps each one's best figures (lowest median latency,
// highest throughput), so that a burst of load on a shared machine cannot
// fall on one side of the comparison only: timing noise only ever slows a
// measurement down.
func retime(ctx context.Context, base, res *Result, bm, pm *core.Model, test *core.Dataset) error {
	for range 2 {
		for _, r := range []struct {
			res *Result
			m   *core.Model
		}{{base, bm}, {res, pm}} {
			if err := ctx.Err(); err != nil {
				return err
			}
			sp := core.MeasureSpeed(r.m, test, 0)
			r.res.LatencyMicros = min(r.res.LatencyMicros, sp.LatencyMicros)
			r.res.ThroughputSPS = max(r.res.ThroughputSPS, sp.Throughput)
		}
	}
	return nil
}

// validate checks the spec's pruning settings before any work starts.
func (s PruneSpec) validate(cfg core.PruneConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	switch {
	case s.Epochs < 0:
		return fmt.Errorf("fine-tuning epochs must not be negative, got %d", s.Epochs)
	case s.SnapshotEvery < 0:
		return fmt.Errorf("snapshot interval must not be negative, got %d", s.SnapshotEvery)
	case s.Schedule != "" && s.Schedule != ScheduleOneShot && s.Schedule != ScheduleGradual:
		return fmt.Errorf("unknown pruning schedule %q (want %s or %s)", s.Schedule, ScheduleOneShot, ScheduleGradual)
	case s.Epochs == 0 && (s.Rewind || s.Schedule == ScheduleGradual):
		return fmt.Errorf("gradual pruning and rewinding need fine-tuning epochs")
	case s.Rewind && s.Schedule == ScheduleGradual:
		return fmt.Errorf("rewinding prunes in rounds: it takes no gradual schedule")
	case s.Rewind && s.Method != "magnitude" && s.Method != "global":
		return fmt.Errorf("rewinding ranks weights by magnitude: use magnitude or global, not %s", s.Method)
	case s.Schedule == ScheduleGradual && s.Method == "structured":
		return fmt.Errorf("structured pruning is one-shot: it cannot follow a gradual schedule")
	}
	return nil
}

// SensitivitySpec describes a sensitivity analysis of a trained model: each
// dense layer alone magnitude-pruned at each sparsity, without fine-tuning,
// and evaluated on the validation split (not the test split: the figures are
// for choosing per-layer sparsities). It is plain data.
type SensitivitySpec struct {
	Data      DataSpec `json:"data,omitempty"`       // as in PruneSpec
	ModelFile string   `json:"model_file,omitempty"` // as in PruneSpec
	BaseRun   RunID    `json:"base_run,omitempty"`
}

// Job returns the sensitivity job: load the model and its split, measure the
// model (the result's own figures) and fill Result.Sensitivity.
func (s SensitivitySpec) Job() Job {
	return func(ctx context.Context, rec core.Recorder) (*Result, error) {
		fit := func(m *core.Model, data Splits) error {
			if err := CheckFit(m, data); err != nil {
				return err
			}
			if data.Val.Len() == 0 {
				return fmt.Errorf("sensitivity needs a validation split, and %s has none", data.Test.Name)
			}
			return nil
		}
		m, res, data, err := openBase(ctx, s.ModelFile, s.BaseRun, s.Data, errNoBase, "start from", fit)
		if err != nil {
			return nil, err
		}
		if res.Sensitivity, err = core.Sensitivity(ctx, m, data.Val, nil); err != nil {
			return nil, err
		}
		res.Task = TaskSensitivity
		return res, nil
	}
}

// errNoBase is loadBase's error for a job given neither a model file nor a
// run of the lab it runs in.
var errNoBase = errors.New("a base model is needed: a model file or a finished run of the lab")

// openBase loads a base model (see loadBase) and the data split it was
// trained on, checks with fit that they go together, and measures the base:
// the returned record is the base's, with its figures.
func openBase(ctx context.Context, file string, run RunID, spec DataSpec, noLab error, purpose string,
	fit func(*core.Model, Splits) error) (*core.Model, *Result, Splits, error) {
	m, res, spec, err := loadBase(ctx, file, run, spec, noLab, purpose)
	if err != nil {
		return nil, nil, Splits{}, err
	}
	data, err := loadSplits(ctx, spec)
	if err != nil {
		return nil, nil, Splits{}, err
	}
	if err := fit(m, data); err != nil {
		return nil, nil, Splits{}, err
	}
	if err := measure(ctx, res, m, data); err != nil {
		return nil, nil, Splits{}, err
	}
	return m, res, data, nil
}

// loadBase loads a base model from its file or from the Lab's results, and
// returns it with the skeleton of its result record (task, architecture,
// size, epochs, seed; measure fills in the rest) and the data spec it was
// trained on, defaults filled in. noLab is the error for a model wanted
// from the Lab's results outside a Lab job or without a run; purpose ends
// the error for a run without a model: "run N has no model to <purpose>".
func loadBase(ctx context.Context, file string, run RunID, spec DataSpec, noLab error, purpose string) (*core.Model, *Result, DataSpec, error) {
	if file == "" {
		l, ok := ctx.Value(labKey{}).(*Lab)
		if !ok || run == 0 {
			return nil, nil, spec, noLab
		}
		r, ok := l.Result(run)
		if !ok || r.Model == nil {
			return nil, nil, spec, fmt.Errorf("run %d has no model to %s", run, purpose)
		}
		if spec.Name == "" {
			spec = r.Data // the very split its figures were measured on
		}
		if spec.Name == "" {
			return nil, nil, spec, fmt.Errorf("run %d does not record its dataset: name one", run)
		}
		// A registered model is shared: forward passes would race on its buffers.
		return r.Model.Clone(), &Result{Task: r.Task, Arch: r.Arch, SizeBytes: r.SizeBytes, Epochs: r.Epochs, Seed: r.Seed},
			spec.withDefaults(), nil
	}
	m, info, spec, err := LoadBase(file, spec)
	if err != nil {
		return nil, nil, spec, err
	}
	fi, err := os.Stat(file)
	if err != nil {
		return nil, nil, spec, err
	}
	return m, &Result{Task: info.Task, Arch: m.Arch, SizeBytes: fi.Size(), Epochs: info.Epochs, Seed: info.Seed}, spec, nil
}

// LoadBase loads a model file and returns it with what it records and the
// data spec to use with it: spec, or when spec.Name is empty the data and
// split recorded in the file, with defaults filled in. It refuses another
// split of the model's own dataset, on which its test accuracy would be
// measured partly on its training samples. Prune and sensitivity jobs run
// these checks; a command can run them first, to report bad input.
func LoadBase(file string, spec DataSpec) (*core.Model, core.ModelInfo, DataSpec, error) {
	m, info, err := core.LoadModel(file)
	if err != nil {
		return nil, info, spec, err
	}
	if spec, err = recordedData(file, info, spec); err != nil {
		return nil, info, spec, err
	}
	spec = spec.withDefaults()
	if err := otherSplit(file, info, spec, fmt.Sprintf("use that split (seed %d)", info.DataSeed)); err != nil {
		return nil, info, spec, err
	}
	return m, info, spec, nil
}

// recordedData is spec, or when spec.Name is empty the data and split
// recorded in the model file (keeping spec's validation fraction).
func recordedData(file string, info core.ModelInfo, spec DataSpec) (DataSpec, error) {
	if spec.Name != "" {
		return spec, nil
	}
	if info.Dataset == "" {
		return spec, fmt.Errorf("%s does not record its dataset: name one", file)
	}
	return DataSpec{Name: info.Dataset, Label: info.Label, TestFrac: info.TestFrac, ValFrac: spec.ValFrac,
		Seed: info.DataSeed, Samples: info.Samples, Noise: info.Noise}, nil
}

// otherSplit refuses spec (with defaults filled in) when it is another split
// of the dataset the model file was trained on; advice ends the message.
func otherSplit(file string, info core.ModelInfo, spec DataSpec, advice string) error {
	if info.Dataset != "" && filepath.Base(info.Dataset) == filepath.Base(spec.Name) &&
		(info.DataSeed != spec.Seed || info.TestFrac != spec.TestFrac || info.Label != spec.Label ||
			info.Samples != spec.Samples || info.Noise != spec.Noise) {
		return fmt.Errorf("%s was trained on another split of %s (seed %d, test fraction %g): "+
			"its test accuracy would be measured partly on its own training samples; %s",
			file, filepath.Base(spec.Name), info.DataSeed, info.TestFrac, advice)
	}
	return nil
}

// CheckFit reports a model and a dataset that do not go together.
func CheckFit(m *core.Model, data Splits) error {
	if got, want := data.Test.Features(), featuresOf(m); got != want {
		return fmt.Errorf("the model takes %d features per sample, dataset %q has %d", want, data.Test.Name, got)
	}
	if got := data.Test.NumClasses(); got != len(m.Classes) {
		return fmt.Errorf("the model predicts %d classes, dataset %q has %d", len(m.Classes), data.Test.Name, got)
	}
	return nil
}

// activationOf is the kind of m's first activation layer ("" for none), which
// with the architecture and seed rebuilds m's initialization.
func activationOf(m *core.Model) string {
	for _, l := range m.Layers {
		if a, ok := l.(*core.Activation); ok {
			return a.Kind
		}
	}
	return ""
}

// saveReal writes m to path and returns the file's size as the file system
// reports it. With no path it writes a temporary file, measures it and
// removes it: size_bytes is always a real file's size.
func saveReal(path string, m *core.Model, info core.ModelInfo) (int64, error) {
	if path == "" {
		f, err := os.CreateTemp("", "optlab-prune-*.safetensors")
		if err != nil {
			return 0, err
		}
		f.Close()
		path = f.Name()
		defer os.Remove(path)
	}
	if _, err := core.SaveModel(path, m, info); err != nil {
		return 0, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
