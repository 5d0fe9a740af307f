package lab

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/optlab/optlab/core"
)

// Task names, as they appear in Result.Task and in Start's task argument.
const (
	TaskTrain = "train"
	TaskEval  = "eval"
)

// Result is the record of one finished run: the JSON result record of the
// design (section 5), plus what the lab keeps beside it for the screens.
// Results reached through events or the registry are snapshots: never modify
// them.
//
// In JSON a result always carries "type": "result".
type Result struct {
	Task               string  `json:"task"`
	Dataset            string  `json:"dataset"`
	Arch               string  `json:"model"` // architecture spec, e.g. "mlp:128,64"
	TestAccuracy       float64 `json:"test_accuracy"`
	TestLoss           float64 `json:"test_loss"`
	Params             int     `json:"params"`
	NonzeroParams      int     `json:"nonzero_params"`
	SizeBytes          int64   `json:"size_bytes"` // of the saved model file
	MACs               int64   `json:"macs"`       // per sample
	LatencyMicros      float64 `json:"latency_us"` // median single-sample forward pass
	ThroughputSPS      float64 `json:"throughput_sps"`
	TrainSeconds       float64 `json:"train_seconds"`
	TrainSamplesPerSec float64 `json:"train_samples_per_sec"`
	Epochs             int     `json:"epochs"`
	Seed               uint64  `json:"seed"`
	Out                string  `json:"out,omitempty"`     // where the model was saved
	Stopped            string  `json:"stopped,omitempty"` // why training ended early, e.g. early stopping
	Baseline           *Result `json:"baseline,omitempty"`

	// Technique fields: each task fills its own and leaves the rest zero.
	Sparsity *float64 `json:"sparsity,omitempty"` // prune: fraction of weights that are zero
	Method   string   `json:"method,omitempty"`   // prune: pruning method
	Bits     int      `json:"bits,omitempty"`     // quantize: bit width
	Mode     string   `json:"mode,omitempty"`     // quantize: mode
	// quantize: per-channel or per-tensor; per-layer SQNR, written under
	// "layers" (see MarshalJSON); the full report, with grids and
	// histograms, for screens; and with a bit-width sweep, one record per width.
	Granularity string            `json:"granularity,omitempty"`
	QuantLayers []QuantLayer      `json:"-"`
	Quant       *core.QuantReport `json:"-"`
	Sweep       []*Result         `json:"sweep,omitempty"`
	// prune: per-layer sparsity, written under "layers" unless QuantLayers
	// is set (see MarshalJSON).
	Layers      []core.LayerSparsity    `json:"layers,omitempty"`
	Sensitivity []core.LayerSensitivity `json:"sensitivity,omitempty"` // sensitivity: accuracy per layer and sparsity
	// distill: the teacher's test accuracy, and the test accuracies of the
	// students trained from labels alone and from the teacher, one run per seed.
	TeacherAccuracy   *float64 `json:"teacher_accuracy,omitempty"`
	ScratchAccuracy   *Spread  `json:"scratch_accuracy,omitempty"`
	DistilledAccuracy *Spread  `json:"distilled_accuracy,omitempty"`

	// Tune fields: the fields above are the best trial's.
	Best        *TrialRecord  `json:"best,omitempty"`         // the best trial, with its run's result record
	Trials      []TrialRecord `json:"trials,omitempty"`       // every trial, in ID order
	TotalEpochs int           `json:"total_epochs,omitempty"` // epochs trained, summed over all trials and runs
	Pareto      []int         `json:"pareto,omitempty"`       // with two objectives: IDs of the trials on the Pareto front

	// Not in the JSON record.
	Run RunID `json:"-"` // the run that produced it; set by the Lab
	// Scratch is, on a distill result, the first seed's scratch student as a
	// result of its own (Task TaskDistillScratch, Baseline the teacher). The
	// Lab registers it beside the distilled student under a RunID of its
	// own, allocated when the distill run finishes (no Started or Finished
	// event names that ID), and sets its Run; from then on Result and
	// Results return it like any finished run's. Its figures are in the
	// JSON record as scratch_accuracy, so it is not written again.
	Scratch *Result `json:"-"`
	// Data is the dataset and split the figures were measured on, so a later
	// technique can work on exactly the same split.
	Data    DataSpec     `json:"-"`
	Model   *core.Model  `json:"-"` // the model itself; clone it before use
	Metrics core.Metrics `json:"-"` // test metrics: per-class figures and confusion matrix
	History []core.Stats `json:"-"` // one entry per finished epoch
}

// MarshalJSON writes the result record with "type": "result" first.
// A quantize record's QuantLayers go under "layers", in place of pruning's
// Layers (the outer field hides the embedded one).
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result // no methods: avoids recursing into MarshalJSON
	var layers any
	if len(r.QuantLayers) > 0 {
		layers = r.QuantLayers
	} else if len(r.Layers) > 0 {
		layers = r.Layers
	}
	return json.Marshal(struct {
		Type string `json:"type"`
		plain
		Layers any `json:"layers,omitempty"`
	}{"result", plain(r), layers})
}

// Delta is how a result compares with a baseline. Ratios are this result's
// figure over the baseline's (0.25 is a quarter of the size); they are 0 when
// the baseline's figure is unknown (zero).
type Delta struct {
	AccuracyPoints float64 // change in test accuracy, in percentage points
	SizeRatio      float64 // size_bytes over the baseline's
	LatencyRatio   float64 // latency_us over the baseline's
	NonzeroParams  int     // change in non-zero parameters
	MACs           int64   // change in multiply-accumulates per sample
	// Note is a plain-English sentence when the model is no smaller or no
	// faster than the baseline, e.g. "no faster than the baseline: 41.0 µs vs
	// 40.2 µs"; empty otherwise.
	Note string
}

// FasterBelow is the latency ratio a model must stay under to count as faster
// than its baseline in Delta.Note: smaller differences are within the noise
// of a latency measurement.
const FasterBelow = 0.95

// Compare measures r against base. A nil base gives the zero Delta.
func (r *Result) Compare(base *Result) Delta {
	if base == nil {
		return Delta{}
	}
	d := Delta{
		AccuracyPoints: 100 * (r.TestAccuracy - base.TestAccuracy),
		NonzeroParams:  r.NonzeroParams - base.NonzeroParams,
		MACs:           r.MACs - base.MACs,
	}
	var notes []string
	if base.SizeBytes > 0 && r.SizeBytes > 0 {
		d.SizeRatio = float64(r.SizeBytes) / float64(base.SizeBytes)
		if r.SizeBytes >= base.SizeBytes {
			a, b := formatBytes(r.SizeBytes, base.SizeBytes)
			notes = append(notes, fmt.Sprintf("no smaller than the baseline: %s vs %s", a, b))
		}
	}
	if base.LatencyMicros > 0 && r.LatencyMicros > 0 {
		d.LatencyRatio = r.LatencyMicros / base.LatencyMicros
		if d.LatencyRatio >= FasterBelow {
			a, b := formatMicros(r.LatencyMicros, base.LatencyMicros)
			notes = append(notes, fmt.Sprintf("no faster than the baseline: %s vs %s", a, b))
		}
	}
	d.Note = strings.Join(notes, "; ")
	return d
}

// formatBytes formats two sizes in the same way, in kB or MB (powers of 1000),
// falling back to exact bytes when the rounded figures would look equal.
func formatBytes(a, b int64) (string, string) {
	f := func(n int64) string {
		switch {
		case n >= 1_000_000:
			return fmt.Sprintf("%.1f MB", float64(n)/1e6)
		case n >= 1_000:
			return fmt.Sprintf("%.1f kB", float64(n)/1e3)
		}
		return fmt.Sprintf("%d B", n)
	}
	fa, fb := f(a), f(b)
	if fa == fb && a != b {
		return fmt.Sprintf("%d B", a), fmt.Sprintf("%d B", b)
	}
	return fa, fb
}

// formatMicros formats two latencies with one decimal, or more when the
// rounded figures would look equal.
func formatMicros(a, b float64) (string, string) {
	for prec := 1; ; prec++ {
		fa, fb := fmt.Sprintf("%.*f µs", prec, a), fmt.Sprintf("%.*f µs", prec, b)
		if fa != fb || a == b || prec == 3 {
			return fa, fb
		}
	}
}
