package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/optlab/optlab/core"
)

// TaskArch is the task of an architecture study's result record.
const TaskArch = "arch"

// ArchSpec describes an architecture study: every candidate model spec is
// trained on the same split with the same budget (epochs, batch size,
// optimizer, learning rate, seed), so that their figures compare fairly. It
// is plain data. Zero fields take TrainSpec's defaults.
type ArchSpec struct {
	Data       DataSpec `json:"data,omitempty"`
	Candidates []string `json:"candidates"` // model specs, e.g. "mlp:256,128", "cnn:16,32", "mobile:16,32,64@0.5"
	Epochs     int      `json:"epochs,omitempty"`
	Batch      int      `json:"batch,omitempty"`
	LR         float64  `json:"lr,omitempty"`
	Optimizer  string   `json:"optimizer,omitempty"`
	Dropout    float64  `json:"dropout,omitempty"` // as TrainSpec's: after each mlp hidden layer, before a conv net's dense head
	Seed       uint64   `json:"seed,omitempty"`
	// Workers is how many candidates train at once; the others start as
	// earlier ones end. 0 starts them all, leaving the bound to the Lab's
	// pool (which other runs share).
	Workers int `json:"workers,omitempty"`
	// OutDir, if set, is an existing directory where Result saves each
	// finished candidate's deployable model, named after its spec (see
	// ModelFileName).
	OutDir string `json:"out_dir,omitempty"`
}

// ModelFileName is the file name an architecture study gives a candidate's
// model: the spec with ':' as '-', ',' as '_' and '@' as "-w", so
// "mobile:16,32@0.5" is saved as "mobile-16_32-w0.5.safetensors".
func ModelFileName(spec string) string {
	return strings.NewReplacer(":", "-", ",", "_", "@", "-w", "/", "_", " ", "").Replace(spec) + ".safetensors"
}

// Train returns the training spec of candidate model spec.
func (s ArchSpec) Train(model string) TrainSpec {
	return TrainSpec{Data: s.Data, Model: model, Optimizer: s.Optimizer, LR: s.LR, Dropout: s.Dropout,
		Batch: s.Batch, Epochs: s.Epochs, Seed: s.Seed}
}

// Validate checks the study's settings and the grammar of every candidate.
// With a dataset, it also builds each candidate for the data's sample shape
// and classes, so that a spec the data cannot take (a cnn on tabular data)
// is reported before anything runs.
func (s ArchSpec) Validate(d *core.Dataset) error {
	if len(s.Candidates) == 0 {
		return errors.New("an architecture study needs at least one candidate")
	}
	if s.Epochs < 0 || s.Batch < 0 || s.LR < 0 || s.Workers < 0 {
		return errors.New("epochs, batch size, learning rate and workers must not be negative")
	}
	if s.Dropout < 0 || s.Dropout >= 1 {
		return fmt.Errorf("dropout %g is outside [0, 1)", s.Dropout)
	}
	for i, c := range s.Candidates {
		if slices.Contains(s.Candidates[:i], c) {
			return fmt.Errorf("candidate %q is listed twice", c)
		}
		if err := core.ValidateSpec(c); err != nil {
			return err
		}
		if d != nil {
			if _, err := core.Build(c, d.SampleShape, d.Classes, core.BuildOptions{}); err != nil {
				return err
			}
		}
	}
	return nil
}

// ArchStudy follows the training runs of an architecture study. It runs no
// job of its own: it starts one training run per candidate and learns how
// they end from the Lab's events, which its owner passes to Observe. Holding
// no worker slot while its candidates wait for one, it cannot deadlock the
// Lab's pool, whatever the number of candidates and workers. Its methods are
// safe for concurrent use.
type ArchStudy struct {
	lab    *Lab
	ctx    context.Context
	cancel context.CancelFunc
	spec   ArchSpec

	mu      sync.Mutex
	cands   []archRun
	next    int // the next candidate to start
	running int // candidates started and not yet ended
}

// archRun is one candidate's run.
type archRun struct {
	spec string
	id   RunID // 0 until started
	res  *Result
	err  error
	done bool
}

// StartArch validates s (without data: see ArchSpec.Validate) and starts
// the study's first runs, at most s.Workers of them (all when 0), each a
// TrainSpec job with task "train" and its TrainSpec as config, so screens
// show them like any training run. It returns at once. Pass every event of
// the Lab to the study's Observe, which starts further candidates as runs
// end; once Done, Result gives the study's record. Cancelling ctx, or
// calling Cancel, stops every candidate.
func (l *Lab) StartArch(ctx context.Context, s ArchSpec) (*ArchStudy, error) {
	if err := s.Validate(nil); err != nil {
		return nil, err
	}
	a := &ArchStudy{lab: l, spec: s}
	a.ctx, a.cancel = context.WithCancel(ctx)
	for _, c := range s.Candidates {
		a.cands = append(a.cands, archRun{spec: c})
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.startLocked()
	if a.doneLocked() { // nothing could start: the Lab is shutting down
		a.cancel()
	}
	return a, nil
}

// startLocked starts candidates while the study's bound allows, or marks
// the rest as ended once the study is cancelled.
func (a *ArchStudy) startLocked() {
	limit := a.spec.Workers
	if limit == 0 {
		limit = len(a.cands)
	}
	for a.next < len(a.cands) && a.running < limit {
		c := &a.cands[a.next]
		a.next++
		if err := a.ctx.Err(); err != nil {
			c.err, c.done = err, true
			continue
		}
		ts := a.spec.Train(c.spec)
		c.id = a.lab.Start(a.ctx, TaskTrain, ts, ts.Job())
		if c.id == 0 { // the Lab is shutting down
			c.err, c.done = errors.New("the lab is shutting down"), true
			continue
		}
		a.running++
	}
}

// Observe takes one event of the Lab. It reports whether the event belongs
// to one of the study's runs; Finished and Failed events record the
// candidate's outcome and may start the next candidate.
func (a *ArchStudy) Observe(e Event) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	i := slices.IndexFunc(a.cands, func(c archRun) bool { return c.id != 0 && c.id == e.Run })
	if i < 0 {
		return false
	}
	c := &a.cands[i]
	if c.done || (e.Kind != Finished && e.Kind != Failed) {
		return true
	}
	c.res, c.err, c.done = e.Result, e.Err, true
	a.running--
	a.startLocked()
	if a.doneLocked() {
		a.cancel() // release the study's context; Result does not use it
	}
	return true
}

// Spec returns the model spec of the study's run id, or "" when id is not one
// of its runs.
func (a *ArchStudy) Spec(id RunID) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.cands {
		if c.id != 0 && c.id == id {
			return c.spec
		}
	}
	return ""
}

// Done reports whether every candidate has ended (finished, failed or been
// cancelled).
func (a *ArchStudy) Done() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.doneLocked()
}

// doneLocked is Done with a.mu held.
func (a *ArchStudy) doneLocked() bool {
	for _, c := range a.cands {
		if !c.done {
			return false
		}
	}
	return true
}

// Cancel stops the study: running candidates end with Failed events
// (context.Canceled), and candidates not started yet never start.
func (a *ArchStudy) Cancel() {
	a.cancel()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.startLocked()
}

// ArchResult is the record of an architecture study (design.md §5, task
// "arch"): one candidate record per spec, in the order given. In JSON it
// carries "type": "result".
type ArchResult struct {
	Task       string          `json:"task"` // TaskArch
	Dataset    string          `json:"dataset"`
	Epochs     int             `json:"epochs"`
	Seed       uint64          `json:"seed"`
	Candidates []ArchCandidate `json:"candidates"`
}

// MarshalJSON writes the record with "type": "result" first.
func (r ArchResult) MarshalJSON() ([]byte, error) {
	type plain ArchResult
	return json.Marshal(struct {
		Type string `json:"type"`
		plain
	}{"result", plain(r)})
}

// ArchCandidate is one candidate's outcome. A finished candidate has a
// Result with the figures of its deployable model: BatchNorm folded into
// the convolutions (core.FoldBatchNorm), size of that model's file, and
// latency and throughput measured once every candidate had ended, one model
// at a time, so that no candidate is timed while another trains.
type ArchCandidate struct {
	Spec   string
	Run    RunID   // the candidate's training run; 0 if it never started
	Result *Result // nil when the run failed or was cancelled
	Err    error   // why it has no result
	// Pareto: no other candidate is at least as accurate with at most as
	// many MACs (and better in one). MACs are exact, so this mark is stable.
	Pareto bool
	// ParetoLatency is the same against latency, a measurement: candidates
	// whose latencies differ by less than the timing noise may swap marks
	// between runs.
	ParetoLatency bool
	Layers        []LayerCost // per-layer cost of the deployable model
}

// MarshalJSON writes a finished candidate as its result record plus "run",
// "pareto", "pareto_latency" and "layer_costs"; a failed one as its "model",
// "run", "status" ("failed", "diverged" or "cancelled") and "error".
func (c ArchCandidate) MarshalJSON() ([]byte, error) {
	if c.Result == nil {
		return json.Marshal(struct {
			Model  string `json:"model"`
			Run    RunID  `json:"run"`
			Status string `json:"status"`
			Error  string `json:"error"`
			Pareto bool   `json:"pareto"`
		}{c.Spec, c.Run, failureStatus(c.Err), errText(c.Err), false})
	}
	base, err := json.Marshal(c.Result)
	if err != nil {
		return nil, err
	}
	extra, err := json.Marshal(struct {
		Run           RunID       `json:"run"`
		Pareto        bool        `json:"pareto"`
		ParetoLatency bool        `json:"pareto_latency"`
		Layers        []LayerCost `json:"layer_costs,omitempty"`
	}{c.Run, c.Pareto, c.ParetoLatency, c.Layers})
	if err != nil {
		return nil, err
	}
	// Both are JSON objects: splice extra's fields into base's.
	return append(append(base[:len(base)-1], ','), extra[1:]...), nil
}

// failureStatus names how a run without result ended.
func failureStatus(err error) string {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "cancelled"
	case errors.Is(err, core.ErrDiverged):
		return "diverged"
	}
	return "failed"
}

func errText(err error) string {
	if err == nil {
		return "no result"
	}
	return err.Error()
}

// LayerCost is one layer's share of a model's cost.
type LayerCost struct {
	Name          string  `json:"name"` // "index:kind", as in core.Summary
	Desc          string  `json:"desc"` // e.g. "conv 3x3/2 16→32"
	OutShape      []int   `json:"out_shape"`
	Params        int     `json:"params"`
	MACs          int64   `json:"macs"`       // per sample
	LatencyMicros float64 `json:"latency_us"` // median forward time at batch 1
}

// LayerCosts returns the per-layer parameters, MACs and measured latency of
// m (see core.LayerTimes), timing a clone on sample (raw input values), so
// m itself is not touched and may be a shared result's model.
func LayerCosts(m *core.Model, sample []float32) []LayerCost {
	c := m.Clone()
	times := core.LayerTimes(c, sample, 0)
	sum := c.Summarize()
	out := make([]LayerCost, len(sum.Layers))
	for i, ls := range sum.Layers {
		out[i] = LayerCost{Name: ls.Name, Desc: describeLayer(c.Layers[i].Spec()), OutShape: ls.OutShape,
			Params: ls.Params, MACs: ls.MACs, LatencyMicros: times[i]}
	}
	return out
}

// describeLayer is a short human description of a layer: its kind and the
// sizes that set its cost. A window reads "3x3", or "3x3/2" when its stride
// is not the kind's default (1 for convolutions, the window for pools).
func describeLayer(s core.LayerSpec) string {
	window := func(defaultStride int) string {
		w := fmt.Sprintf("%dx%d", s.Kernel, s.Kernel)
		if s.Stride != defaultStride {
			w += fmt.Sprintf("/%d", s.Stride)
		}
		return w
	}
	switch s.Kind {
	case "dense":
		return fmt.Sprintf("dense %d→%d", s.In, s.Out)
	case "conv":
		return fmt.Sprintf("conv %s %d→%d", window(1), s.C, s.Out)
	case "dwconv":
		return fmt.Sprintf("dwconv %s ×%d", window(1), s.C)
	case "maxpool", "avgpool":
		return s.Kind + " " + window(s.Kernel)
	case "gap":
		return "global avgpool"
	case "batchnorm":
		return fmt.Sprintf("batchnorm %d", s.C)
	case "dropout":
		return fmt.Sprintf("dropout %g", s.Rate)
	}
	return s.Kind
}

// Result returns the study's record once Done reports true. For every
// finished candidate it folds BatchNorm into the preceding layers, then
// measures the folded model afresh: test accuracy and loss, parameters,
// MACs, file size (of the file saved in OutDir, or of the encoding), and
// latency and throughput, one candidate after another so that no timing
// overlaps a training run of this study; it also measures per-layer costs. That takes about a second per candidate: call it from a
// goroutine or a Cmd, not from a UI's Update. It stops early with ctx's
// error.
func (a *ArchStudy) Result(ctx context.Context) (*ArchResult, error) {
	if !a.Done() {
		return nil, errors.New("the architecture study has not ended")
	}
	a.mu.Lock()
	cands := slices.Clone(a.cands)
	a.mu.Unlock()
	data, err := a.lab.Data(ctx, a.spec.Data)
	if err != nil {
		return nil, err
	}
	out := &ArchResult{Task: TaskArch, Dataset: data.Test.Name, Epochs: a.spec.Epochs, Seed: a.spec.Seed}
	for _, c := range cands {
		ac := ArchCandidate{Spec: c.spec, Run: c.id, Err: c.err}
		if c.res != nil {
			res, err := remeasure(ctx, c.res, data, a.spec)
			if err != nil {
				return nil, err
			}
			ac.Result, ac.Err = res, nil
			ac.Layers = LayerCosts(res.Model, data.Test.Sample(0))
			out.Epochs = max(out.Epochs, res.Epochs) // the default budget, when the spec left it zero
		}
		out.Candidates = append(out.Candidates, ac)
	}
	markPareto(out.Candidates)
	return out, ctx.Err()
}

// remeasure returns a copy of a candidate's training result with the figures
// of its BatchNorm-folded model, saved to s.OutDir if set.
func remeasure(ctx context.Context, res *Result, data Splits, s ArchSpec) (*Result, error) {
	r := *res
	m := core.FoldBatchNorm(res.Model)
	if err := measure(ctx, &r, m, data); err != nil {
		return nil, err
	}
	spec := s.Data.withDefaults()
	info := spec.ModelInfo(TaskTrain)
	info.TestAccuracy, info.Epochs, info.Seed, info.Optimizer = r.TestAccuracy, r.Epochs, r.Seed, s.Optimizer
	if s.OutDir != "" {
		r.Out = filepath.Join(s.OutDir, ModelFileName(res.Arch))
	}
	var err error
	if r.SizeBytes, err = save(r.Out, m, info); err != nil {
		return nil, err
	}
	return &r, nil
}

// markPareto sets the Pareto marks of the finished candidates: against MACs
// and against latency, each with test accuracy.
func markPareto(cs []ArchCandidate) {
	dominated := func(i int, cost func(*Result) float64) bool {
		a := cs[i].Result
		for j, c := range cs {
			b := c.Result
			if j == i || b == nil {
				continue
			}
			if b.TestAccuracy >= a.TestAccuracy && cost(b) <= cost(a) &&
				(b.TestAccuracy > a.TestAccuracy || cost(b) < cost(a)) {
				return true
			}
		}
		return false
	}
	for i := range cs {
		if cs[i].Result == nil {
			continue
		}
		cs[i].Pareto = !dominated(i, func(r *Result) float64 { return float64(r.MACs) })
		cs[i].ParetoLatency = !dominated(i, func(r *Result) float64 { return r.LatencyMicros })
	}
}
