package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

const distillSummary = `optlab distill: distill a saved teacher into a smaller student, and train the
same student from the labels alone with the same seeds, data order and budget

  optlab distill --teacher teacher.safetensors --student mlp:32 --temperature 4 --alpha 0.7 --labelled-frac 0.1
  (without --data, the dataset and split recorded in the teacher's file are used;
  --seed is then only the first training seed: the runs use seeds N, N+1, ...)`

func cmdDistill(ctx context.Context, args []string, stdout, _ io.Writer) error {
	var c commonFlags
	var s lab.DistillSpec
	fs := flag.NewFlagSet("distill", flag.ContinueOnError)
	c.register(fs)
	fs.StringVar(&s.Teacher, "teacher", "", "the teacher's model file (required)")
	fs.StringVar(&s.Student, "student", "mlp:32", "the student's architecture: mlp:H1,H2,... or linear")
	fs.StringVar(&s.Activation, "act", "relu", "the student's hidden activation: "+strings.Join(core.Activations, ", "))
	fs.Float64Var(&s.Temperature, "temperature", core.DefaultTemperature, "softmax temperature of the soft targets")
	fs.Float64Var(&s.Alpha, "alpha", 0.7, "weight of the distillation term; 1 - alpha goes to the labels' cross-entropy")
	fs.Float64Var(&s.LabelledFrac, "labelled-frac", 1, "fraction of each class of the training split that keeps its label")
	fs.IntVar(&s.Seeds, "seeds", lab.DefaultSeeds, "runs of each student, with seeds --seed, --seed+1, ...")
	fs.StringVar(&s.Optimizer, "opt", "adam", "optimizer: "+strings.Join(core.Optimizers, ", "))
	fs.Float64Var(&s.LR, "lr", 0, "learning rate (default 0.001 for adam/adamw, 0.01 for sgd/momentum)")
	fs.IntVar(&s.Batch, "batch", 64, "mini-batch size")
	fs.IntVar(&s.Epochs, "epochs", 10, "training epochs over the whole training split")
	c.dataFromModel(fs)
	fs.Lookup("out").Usage = "where to write the distilled student of the first seed"
	if err := parseFlags(fs, args, stdout, distillSummary); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	if err := validateDistillSpec(s); err != nil {
		return err
	}
	s.Seed, s.Out = c.seed, c.out
	s.Data = c.modelDataSpec()
	s, err := s.Resolve()
	if err != nil {
		return usageError{err}
	}

	l := lab.New(lab.Options{Workers: 1})
	defer l.Shutdown(defaultShutdown)
	data, err := l.Data(ctx, s.Data)
	if err != nil {
		return usageError{err}
	}
	teacher, _, err := core.LoadModel(s.Teacher)
	if err == nil {
		err = s.CheckFit(teacher, data)
	}
	if err != nil {
		return usageError{err}
	}
	rep := newReporter(stdout, c.json)
	rep.headings = true // one heading per student
	res, err := follow(ctx, l, rep, lab.TaskDistill, s, s.Job())
	if err != nil {
		return err
	}
	if c.json {
		return rep.result(res)
	}
	labelled := data.Train.Len()
	if s.LabelledFrac < 1 {
		labelled = 0
		for _, y := range lab.HoldBackLabels(data.Train, s.LabelledFrac, s.Seed).Y {
			if y >= 0 {
				labelled++
			}
		}
	}
	printDistill(stdout, s, res, labelled, data.Train.Len())
	return nil
}

// validateDistillSpec checks the distillation flags before any work starts,
// so that mistakes get one line and exit code 2.
func validateDistillSpec(s lab.DistillSpec) error {
	if s.Teacher == "" {
		return badInput("distill: --teacher FILE is required")
	}
	if err := core.ValidateSpec(s.Student); err != nil {
		return badInput("--student: %v", err)
	}
	if err := oneOf("act", s.Activation, core.Activations); err != nil {
		return err
	}
	if err := oneOf("opt", s.Optimizer, core.Optimizers); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"epochs", s.Epochs}, {"batch", s.Batch}, {"seeds", s.Seeds}} {
		if err := positive(f.name, f.v); err != nil {
			return err
		}
	}
	if s.LR < 0 {
		return badInput("--lr must be positive (got %g)", s.LR)
	}
	if !(s.Temperature > 0) || math.IsInf(s.Temperature, 0) {
		return badInput("--temperature must be positive (got %g)", s.Temperature)
	}
	if !(s.Alpha >= 0 && s.Alpha <= 1) {
		return badInput("--alpha must be in [0, 1] (got %g)", s.Alpha)
	}
	if !(s.LabelledFrac > 0 && s.LabelledFrac <= 1) {
		return badInput("--labelled-frac must be in (0, 1] (got %g)", s.LabelledFrac)
	}
	return nil
}

// printDistill prints the comparison of teacher, scratch and distilled
// students. labelled of n training samples kept their labels (for the first
// seed; every seed keeps the same number).
func printDistill(w io.Writer, s lab.DistillSpec, res *lab.Result, labelled, n int) {
	t, sc, di := res.Baseline, res.ScratchAccuracy, res.DistilledAccuracy
	fmt.Fprintf(w, "\n%s distilled from %s on %s\n", res.Arch, t.Arch, res.Dataset)
	fmt.Fprintf(w, "  T %g, alpha %g, %d epochs, labels on %s of %s training samples, seeds %d to %d\n\n",
		s.Temperature, s.Alpha, res.Epochs, thousands(float64(labelled)), thousands(float64(n)), s.Seed, s.Seed+uint64(s.Seeds)-1)
	pm := func(sp *lab.Spread) string { return fmt.Sprintf("%.2f%% ± %.2f", 100*sp.Mean, 100*sp.SD) }
	rows := [][5]string{
		{"", "test accuracy", "params", "size", "latency"},
		{"teacher", fmt.Sprintf("%.2f%%", 100*(*res.TeacherAccuracy)), thousands(float64(t.Params)),
			fmt.Sprintf("%s B", thousands(float64(t.SizeBytes))), fmt.Sprintf("%.1f µs", t.LatencyMicros)},
	}
	student := [3]string{thousands(float64(res.Params)), fmt.Sprintf("%s B", thousands(float64(res.SizeBytes))),
		fmt.Sprintf("%.1f µs", res.LatencyMicros)}
	rows = append(rows,
		[5]string{"scratch student", pm(sc), student[0], student[1], student[2]},
		[5]string{"distilled student", pm(di), student[0], student[1], student[2]})
	for _, r := range rows {
		fmt.Fprintf(w, "  %-18s %-16s %10s %12s %10s\n", r[0], r[1], r[2], r[3], r[4])
	}
	pct := func(v []float64) string {
		f := make([]string, len(v))
		for i, x := range v {
			f[i] = fmt.Sprintf("%.2f", 100*x)
		}
		return strings.Join(f, " ")
	}
	fmt.Fprintf(w, "\n  per seed (%%): scratch %s; distilled %s\n", pct(sc.Runs), pct(di.Runs))
	diff, spread := 100*(di.Mean-sc.Mean), 100*(di.SD+sc.SD)
	verdict := "within the seeds' spread: no clear difference"
	switch {
	case len(di.Runs) < 2:
		verdict = "one seed: no spread to compare with (use --seeds 3)"
	case diff > spread:
		verdict = "distillation helped, by more than the seeds' spread"
	case -diff > spread:
		verdict = "distillation hurt, by more than the seeds' spread"
	}
	fmt.Fprintf(w, "  distilled − scratch: %+.2f points (sd %.2f + %.2f): %s\n", diff, 100*di.SD, 100*sc.SD, verdict)
	fmt.Fprintf(w, "  both students have the same architecture; size and latency are the distilled one's (seed %d)\n", s.Seed)
	if res.Out != "" {
		fmt.Fprintf(w, "  saved to %s (the distilled student of seed %d)\n", res.Out, s.Seed)
	}
}
