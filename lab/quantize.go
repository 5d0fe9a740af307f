package lab

import (
	"context"
	"fmt"
	"math"

	"github.com/optlab/optlab/core"
)

// TaskQuantize is the task of quantization runs.
const TaskQuantize = "quantize"

// SweepBits are the bit widths a quantization sweep runs by default.
var SweepBits = []int{8, 6, 4, 3, 2}

// QAT fine-tuning defaults: a trained model needs only a little, gentle
// training to adapt to its grids.
const (
	DefaultQATEpochs = 3
	DefaultQATLR     = 1e-4
)

// QuantizeSpec describes quantizing a trained model. It is plain data: copy
// it freely, and pass it as the config of Start. Zero fields take the
// defaults of core.QuantConfig (ptq, 8 bits, per-channel, symmetric weights,
// asymmetric activations, 1024 calibration samples, min-max clipping), and
// for QAT DefaultQATEpochs epochs of Adam at DefaultQATLR.
type QuantizeSpec struct {
	// Data names the dataset and split, which must be the split the base
	// model was trained on. With ModelFile set and Data.Name empty, the data
	// and split recorded in the file are used.
	Data DataSpec `json:"data,omitempty"`
	// ModelFile is the base model's file. When it is empty, BaseRun names a
	// finished run of the Lab whose model is the base; Data must then be set.
	ModelFile string `json:"model_file,omitempty"`
	BaseRun   RunID  `json:"base_run,omitempty"`

	// Mode, Bits, ActBits, Granularity, WeightScheme, ActScheme, Calib, Clip
	// and Percentile are core.QuantConfig's. Calibration samples are drawn
	// from the training split only.
	Mode         string  `json:"mode,omitempty"`
	Bits         int     `json:"bits,omitempty"`
	ActBits      int     `json:"act_bits,omitempty"`
	Granularity  string  `json:"granularity,omitempty"`
	WeightScheme string  `json:"weight_scheme,omitempty"`
	ActScheme    string  `json:"act_scheme,omitempty"`
	Calib        int     `json:"calib,omitempty"`
	Clip         string  `json:"clip,omitempty"`
	Percentile   float64 `json:"percentile,omitempty"`

	// Sweep, if not empty, runs the quantization once per bit width listed
	// (Bits is then ignored), e.g. SweepBits.
	Sweep []int `json:"sweep,omitempty"`

	// QAT fine-tuning.
	Epochs    int     `json:"epochs,omitempty"`
	LR        float64 `json:"lr,omitempty"`
	Optimizer string  `json:"optimizer,omitempty"`
	Batch     int     `json:"batch,omitempty"`

	Seed uint64 `json:"seed,omitempty"` // calibration draw and QAT shuffling
	Out  string `json:"out,omitempty"`  // where to save the quantized model (with Sweep, the first one's)
}

// QuantLayer is one quantized layer's figures in a quantize result record.
// An SQNR is nil (JSON null) when quantization was exact (infinite SQNR).
type QuantLayer struct {
	Name       string   `json:"name"` // "index:kind", as in core.Summary
	WeightSQNR *float64 `json:"weight_sqnr_db"`
	OutputSQNR *float64 `json:"output_sqnr_db"`
	ScaleMin   float32  `json:"scale_min"` // the range of the weight steps
	ScaleMax   float32  `json:"scale_max"`
}

// Config returns the core configuration of one run at the given bit width.
func (s QuantizeSpec) Config(bits int) core.QuantConfig {
	return core.QuantConfig{Mode: s.Mode, Bits: bits, ActBits: s.ActBits, Granularity: s.Granularity,
		WeightScheme: s.WeightScheme, ActScheme: s.ActScheme, Calib: s.Calib, Clip: s.Clip,
		Percentile: s.Percentile, Seed: s.Seed}
}

// Validate checks the spec's settings before any work starts.
func (s QuantizeSpec) Validate() error {
	for _, b := range s.bits() {
		if err := s.Config(b).Validate(); err != nil {
			return err
		}
	}
	switch {
	case s.Epochs < 0 || s.LR < 0 || s.Batch < 0:
		return fmt.Errorf("epochs, learning rate and batch size must not be negative")
	case s.Mode != "qat" && (s.Epochs != 0 || s.LR != 0 || s.Optimizer != "" || s.Batch != 0):
		return fmt.Errorf("epochs, learning rate, optimizer and batch size apply to mode qat only")
	}
	return nil
}

func (s QuantizeSpec) bits() []int {
	if len(s.Sweep) > 0 {
		return s.Sweep
	}
	return []int{s.Bits}
}

// Job returns the quantization job: load the base model and its data split,
// measure the base (the result's Baseline), quantize it (calibrating on the
// training split; QAT also fine-tunes on it), evaluate the quantized model on
// the test split, save it (to Out, else to a temporary file, to learn its
// real size) and measure its speed on its own (integer) path. A sweep
// repeats all but the base's measurement per bit width: the record's own
// figures are the first bit width's, and Sweep holds one record per width
// (without Baseline, which is the record's).
// Progress events carry Stats.Bits and Stats.Phase ("ptq", "weight-only" or
// "qat"); QAT's are its training statistics.
func (s QuantizeSpec) Job() Job {
	return func(ctx context.Context, rec core.Recorder) (*Result, error) {
		if err := s.Validate(); err != nil {
			return nil, err
		}
		if s.ModelFile == "" && s.BaseRun == 0 {
			return nil, fmt.Errorf("quantization needs a base model: a model file or a finished run of the lab")
		}
		base, baseRes, data, err := openBase(ctx, s.ModelFile, s.BaseRun, s.Data, errNoBase, "start from", CheckFit)
		if err != nil {
			return nil, err
		}
		spec := data.Spec
		info := spec.ModelInfo(TaskQuantize)
		info.Seed, info.Activation = baseRes.Seed, activationOf(base)
		var runs []*Result
		for i, bits := range s.bits() {
			out := ""
			if i == 0 {
				out = s.Out
			}
			res, err := s.quantize(ctx, rec, base, data, bits, info, out)
			if err != nil {
				return nil, err
			}
			runs = append(runs, res)
		}
		res := *runs[0]
		res.Baseline = baseRes
		if len(s.Sweep) > 0 {
			res.Sweep = runs
		}
		return &res, nil
	}
}

// quantize runs one quantization of base at the given bit width, measures
// the result and saves it to out (or a temporary file).
func (s QuantizeSpec) quantize(ctx context.Context, rec core.Recorder, base *core.Model, data Splits,
	bits int, info core.ModelInfo, out string) (*Result, error) {
	cfg := s.Config(bits)
	var (
		q    *core.Model
		qrep core.QuantReport
		trep core.TrainReport
		err  error
	)
	if cfg.Mode == "qat" {
		tc := core.TrainConfig{Epochs: s.Epochs, BatchSize: s.Batch, Seed: s.Seed,
			Optimizer: core.OptimizerConfig{Kind: s.Optimizer, LR: s.LR}}
		if tc.Epochs == 0 {
			tc.Epochs = DefaultQATEpochs
		}
		if tc.Optimizer.LR == 0 && (s.Optimizer == "" || s.Optimizer == "adam" || s.Optimizer == "adamw") {
			tc.Optimizer.LR = DefaultQATLR
		}
		q, qrep, trep, err = core.QAT(ctx, base, data.Train, data.Val, cfg, tc, rec)
	} else {
		if rec != nil {
			phase := cfg.Mode
			if phase == "" {
				phase = "ptq"
			}
			if err := rec(core.Stats{Bits: bits, Phase: phase}); err != nil {
				return nil, err
			}
		}
		q, qrep, err = core.Quantize(base, data.Train, cfg)
	}
	if err != nil {
		return nil, err
	}
	res := &Result{
		Task:               TaskQuantize,
		Arch:               base.Arch,
		TrainSeconds:       trep.Seconds,
		TrainSamplesPerSec: trep.SamplesPerSec,
		Epochs:             trep.Epochs,
		Seed:               s.Seed,
		Out:                out,
		Stopped:            trep.Stopped,
		Bits:               qrep.Config.Bits,
		Mode:               qrep.Config.Mode,
		Granularity:        qrep.Config.Granularity,
		QuantLayers:        quantLayers(qrep),
		Quant:              &qrep,
		History:            trep.History,
	}
	if err := measure(ctx, res, q, data); err != nil {
		return nil, err
	}
	info.TestAccuracy, info.Epochs = res.TestAccuracy, trep.Epochs
	if res.SizeBytes, err = saveReal(out, q, info); err != nil {
		return nil, err
	}
	return res, nil
}

func quantLayers(r core.QuantReport) []QuantLayer {
	finite := func(v float64) *float64 {
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return nil
		}
		v = math.Round(v*100) / 100
		return &v
	}
	var ls []QuantLayer
	for _, l := range r.Layers {
		ls = append(ls, QuantLayer{Name: l.Name, WeightSQNR: finite(l.WeightSQNR), OutputSQNR: finite(l.OutputSQNR),
			ScaleMin: l.ScaleMin, ScaleMax: l.ScaleMax})
	}
	return ls
}
