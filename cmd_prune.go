package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

const pruneSummary = `optlab prune: prune a saved model, fine-tune it, and compare it with the original
(accuracy, size on disk, latency, non-zero parameters, MACs)

  optlab prune --model base.safetensors --method global --sparsity 0.9 --finetune-epochs 5 --out sparse.safetensors
  optlab prune --model base.safetensors --method structured --sparsity 0.5
  optlab prune --sensitivity --model base.safetensors
  (without --data, the dataset and split recorded in the model file are used)`

func cmdPrune(ctx context.Context, args []string, stdout, _ io.Writer) error {
	var c commonFlags
	var s lab.PruneSpec
	var sensitivity bool
	fs := flag.NewFlagSet("prune", flag.ContinueOnError)
	c.register(fs)
	fs.StringVar(&s.ModelFile, "model", "", "the model file to prune (required)")
	fs.StringVar(&s.Method, "method", "magnitude", "criterion: magnitude (per layer), global (one threshold), lamp (one threshold on layer-normalized scores: no layer emptied), random (the control), structured (whole units)")
	fs.StringVar(&s.Norm, "norm", "", "structured: rank units by the l1 (default) or l2 norm of their incoming weights")
	fs.Float64Var(&s.Sparsity, "sparsity", 0.5, "fraction of weights to zero (structured: of hidden units to remove), in [0, 1)")
	fs.StringVar(&s.Schedule, "schedule", lab.ScheduleOneShot, "oneshot (prune, then fine-tune) or gradual (Zhu & Gupta's polynomial schedule while fine-tuning)")
	fs.IntVar(&s.Epochs, "finetune-epochs", 5, "fine-tuning epochs (0: none); with --rewind, per round")
	fs.BoolVar(&s.Rewind, "rewind", false, "iterative magnitude pruning with rewinding to the initialization (lottery ticket)")
	fs.Float64Var(&s.RewindRate, "rewind-rate", 0.2, "with --rewind: fraction of the surviving weights pruned per round")
	fs.BoolVar(&s.Dense, "dense", false, "keep the dense layout (zeros stored) instead of the sparse one: the honest control")
	fs.StringVar(&s.Optimizer, "opt", "adam", "fine-tuning optimizer: "+strings.Join(core.Optimizers, ", "))
	fs.Float64Var(&s.LR, "lr", 0, "fine-tuning learning rate (default 0.001 for adam/adamw, 0.01 for sgd/momentum)")
	fs.IntVar(&s.Batch, "batch", 64, "fine-tuning mini-batch size")
	fs.BoolVar(&sensitivity, "sensitivity", false, "instead of pruning, show each layer's validation accuracy when pruned alone at 0-95%")
	c.dataFromModel(fs)
	data, err := c.parseWithModel(fs, args, stdout, pruneSummary, &s.ModelFile)
	if err != nil {
		return err
	}
	s.Data = data
	if sensitivity {
		if c.out != "" {
			return badInput("--sensitivity saves no model: drop --out")
		}
		spec := lab.SensitivitySpec{Data: s.Data, ModelFile: s.ModelFile}
		return runOnBase(ctx, stdout, c.json, s.ModelFile, s.Data, canPrune, lab.TaskSensitivity, spec, spec.Job(), printSensitivity)
	}
	if err := validatePruneSpec(s); err != nil {
		return err
	}
	s.Seed, s.Out = c.seed, c.out
	return runOnBase(ctx, stdout, c.json, s.ModelFile, s.Data, canPrune, lab.TaskPrune, s, s.Job(), printPrune)
}

// validatePruneSpec checks the pruning flags before any work starts, so that
// mistakes get one line and exit code 2.
func validatePruneSpec(s lab.PruneSpec) error {
	if err := oneOf("method", s.Method, core.PruneMethods); err != nil {
		return err
	}
	if err := oneOf("schedule", s.Schedule, []string{lab.ScheduleOneShot, lab.ScheduleGradual}); err != nil {
		return err
	}
	if err := oneOf("opt", s.Optimizer, core.Optimizers); err != nil {
		return err
	}
	if !(s.Sparsity >= 0 && s.Sparsity < 1) {
		return badInput("--sparsity must be in [0, 1) (got %g)", s.Sparsity)
	}
	if s.Norm != "" && (s.Method != "structured" || (s.Norm != "l1" && s.Norm != "l2")) {
		return badInput("--norm takes l1 or l2, with --method structured only")
	}
	if s.Epochs < 0 {
		return badInput("--finetune-epochs must not be negative (got %d)", s.Epochs)
	}
	if err := positive("batch", s.Batch); err != nil {
		return err
	}
	if s.LR < 0 {
		return badInput("--lr must be positive (got %g)", s.LR)
	}
	if !(s.RewindRate > 0 && s.RewindRate < 1) {
		return badInput("--rewind-rate must be in (0, 1) (got %g)", s.RewindRate)
	}
	switch {
	case s.Schedule == lab.ScheduleGradual && s.Method == "structured":
		return badInput("--schedule gradual needs an unstructured method: structured pruning changes the layers' shapes")
	case s.Rewind && s.Method != "magnitude" && s.Method != "global" && s.Method != "lamp":
		return badInput("--rewind ranks weights by magnitude: use --method magnitude, global or lamp")
	case s.Rewind && s.Schedule == lab.ScheduleGradual:
		return badInput("--rewind prunes in rounds: it takes no --schedule gradual")
	case (s.Rewind || s.Schedule == lab.ScheduleGradual) && s.Epochs == 0:
		return badInput("--rewind and --schedule gradual need --finetune-epochs of at least 1")
	}
	return nil
}

// canPrune reports a model that cannot be pruned: a quantized one.
func canPrune(m *core.Model) error {
	_, _, err := core.Prune(m, core.PruneConfig{})
	return err
}

// runOnBase runs one job on a base model (prune, sensitivity, quantize) on a
// fresh lab. The model file (with usable) and the data are checked first, so
// that problems with them are reported as bad input (exit 2) rather than as
// a failed run. Readable output ends with print.
func runOnBase(ctx context.Context, stdout io.Writer, asJSON bool, file string, spec lab.DataSpec,
	usable func(*core.Model) error, task string, config any, job lab.Job, print func(io.Writer, *lab.Result)) error {
	m, _, spec, err := lab.LoadBase(file, spec)
	if err == nil {
		err = usable(m)
	}
	if err != nil {
		return usageError{err}
	}
	l := lab.New(lab.Options{Workers: 1})
	defer l.Shutdown(defaultShutdown)
	data, err := l.Data(ctx, spec)
	if err == nil {
		err = lab.CheckFit(m, data)
	}
	if err != nil {
		return usageError{err}
	}
	rep := newReporter(stdout, asJSON)
	res, err := follow(ctx, l, rep, task, config, job)
	if err != nil {
		return err
	}
	if asJSON {
		return rep.result(res)
	}
	print(stdout, res)
	return nil
}

// printPrune prints the pruned model's summary, its sparsity per layer and
// its change from the model it started from, with a plain sentence when it
// is no smaller or no faster.
func printPrune(w io.Writer, res *lab.Result) {
	rep := newReporter(w, false)
	rep.result(res)
	fmt.Fprintf(w, "  %-14s %.1f%% of the weights are zero (%s)\n", "sparsity", 100*deref(res.Sparsity), res.Method)
	for _, ls := range res.Layers {
		units := ""
		if ls.RemovedUnits > 0 {
			units = fmt.Sprintf(", %d units removed, %d left", ls.RemovedUnits, ls.Units)
		}
		fmt.Fprintf(w, "    %-12s %5.1f%% of %s weights%s, %s\n", ls.Name, 100*ls.Sparsity, thousands(float64(ls.Weights)), units, layoutText(ls.Layout))
	}
	b := res.Baseline
	if b == nil {
		return
	}
	fmt.Fprintf(w, "  %-14s %.2f%% accuracy, %s bytes, %.1f µs, %s non-zero parameters, %s MACs\n", "baseline",
		100*b.TestAccuracy, thousands(float64(b.SizeBytes)), b.LatencyMicros, thousands(float64(b.NonzeroParams)), thousands(float64(b.MACs)))
	d := res.Compare(b)
	fmt.Fprintf(w, "  %-14s %+.2f points, %.2fx the size, %.2fx the latency, %s non-zero parameters, %s MACs\n", "change",
		d.AccuracyPoints, d.SizeRatio, d.LatencyRatio, signed(d.NonzeroParams), signed(int(d.MACs)))
	if d.Note != "" {
		fmt.Fprintf(w, "  %-14s %s\n", "note", d.Note)
	}
}

// layoutText describes one of core's layer layouts.
func layoutText(layout string) string {
	switch layout {
	case core.LayoutCSR:
		return "stored sparse (CSR), sparse kernel"
	case core.LayoutCSRGEMM:
		return fmt.Sprintf("stored sparse (CSR), computed dense (faster below %.0f%% sparsity)", 100*core.SparseKernelMin)
	}
	return "stored dense"
}

// printSensitivity prints one row per layer: validation accuracy at each
// sparsity, with that layer alone pruned by magnitude.
func printSensitivity(w io.Writer, res *lab.Result) {
	fmt.Fprintf(w, "%s on %s: validation accuracy with one layer magnitude-pruned, no fine-tuning\n\n", res.Arch, res.Dataset)
	if len(res.Sensitivity) == 0 {
		return
	}
	fmt.Fprintf(w, "%-10s %9s", "layer", "weights")
	for _, p := range res.Sensitivity[0].Points {
		fmt.Fprintf(w, " %6s", fmt.Sprintf("%.0f%%", 100*p.Sparsity))
	}
	fmt.Fprintln(w)
	for _, ls := range res.Sensitivity {
		fmt.Fprintf(w, "%-10s %9s", ls.Name, thousands(float64(ls.Weights)))
		for _, p := range ls.Points {
			fmt.Fprintf(w, " %6.2f", 100*p.Accuracy)
		}
		fmt.Fprintln(w)
	}
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

// signed formats a change with its sign and separators: +1,234 or -56.
func signed(v int) string {
	if v > 0 {
		return "+" + thousands(float64(v))
	}
	return thousands(float64(v))
}
