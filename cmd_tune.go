package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

const tuneSummary = `optlab tune: search hyperparameters, training trials in parallel

  optlab tune --data digits --strategy asha --trials 27 --workers 2
  optlab tune --data digits --strategy tpe --space space.yaml --resume study.json

Strategies:
  grid       every point of a grid (3 values per range unless "points" says otherwise)
  random     independent uniform draws
  asha       asynchronous successive halving: rungs at 1, 3, 9, 27 epochs by default
             (from --min-epochs, x --eta, up to --max-epochs); a trial goes on when
             it ranks in the top 1/eta of its rung
  hyperband  brackets of successive halving with different starting budgets
  tpe        tree-structured Parzen estimator, multivariate (random for the first
             10 trials; trials still training count as bad, so workers spread out)
--median-stop adds the median stopping rule to any of them. Trials are ranked
by validation accuracy; the test split is only reported. With a second
objective (--objective accuracy,latency or accuracy,size), asha, hyperband
and tpe rank trials on both, by non-dominated sorting and crowding distance
(MO-ASHA, MOTPE), to find the Pareto set; grid, random and --median-stop
look at accuracy alone. Each trial's latency or size is measured once,
before its first epoch.

The default space:
  lr            log-uniform 1e-4 .. 3e-2      activation    relu, tanh or gelu
  batch         32, 64 or 128                 optimizer     adam, adamw or momentum
  units         int 16 .. 256, log scale      weight_decay  log-uniform 1e-6 .. 1e-2
  layers        int 1 .. 2                    dropout       uniform 0 .. 0.3

A space file (YAML) names each parameter with a range, a list or a value:
  lr: {log_uniform: [1e-4, 3e-2]}
  units: {int: [16, 256], log: true, points: 4}
  layers: {int: [1, 2]}
  batch: [32, 64, 128]
  activation: [relu, tanh]
  dropout: 0.1
Parameters: lr, batch, units, layers, hidden (a list such as ["128", "256,128"]),
model, activation, optimizer, schedule, weight_decay, dropout, and epochs
(grid, random and tpe only: asha and hyperband allot epochs up to --max-epochs).

With --resume FILE the study is saved to FILE as it runs; run the same
command again after an interruption and it goes on where it stopped. Trials'
checkpoints (model and training state) are kept in FILE.ckpt/, taken at each
rung and, while a trial trains, at epoch ends as often as keeps writing them
under 5% of its training time (at most 10 s apart): a resumed trial goes on
from its last one. The directory is deleted when the study finishes.`

// tuneStudyFlags are the flags that define a study; the others (--workers,
// --json, --resume) only say how to run it.
var tuneStudyFlags = []string{"data", "label", "test-frac", "seed", "out", "strategy", "trials", "space",
	"budget-epochs", "timeout", "max-epochs", "min-epochs", "eta", "median-stop", "objective"}

func cmdTune(ctx context.Context, args []string, stdout, _ io.Writer) error {
	var c commonFlags
	var spec lab.TuneSpec
	fs := flag.NewFlagSet("tune", flag.ContinueOnError)
	c.register(fs)
	fs.StringVar(&spec.Search.Strategy, "strategy", "random", "search strategy: "+strings.Join(core.Strategies, ", "))
	fs.IntVar(&spec.Search.Trials, "trials", 0, "configurations to try (default: the whole grid for grid, one round of brackets for hyperband, 20 otherwise)")
	workers := fs.Int("workers", runtime.NumCPU(), "trials training at once")
	spaceFile := fs.String("space", "", "search space file (YAML); default: the built-in space above")
	fs.IntVar(&spec.Budget.Epochs, "budget-epochs", 0, "stop the study once its trials have trained this many epochs in all (0: no limit)")
	fs.DurationVar(&spec.Budget.Time, "timeout", 0, "stop the study after this much wall time, over all its sessions (0: no limit)")
	fs.IntVar(&spec.Search.MaxEpochs, "max-epochs", 27, "the most epochs one trial trains")
	fs.IntVar(&spec.Search.MinEpochs, "min-epochs", 1, "asha, hyperband: the smallest budget, in epochs")
	fs.IntVar(&spec.Search.Eta, "eta", 3, "asha, hyperband: the reduction factor")
	fs.BoolVar(&spec.Search.Median, "median-stop", false, "stop trials whose best is below the median of the others' running means")
	fs.Lookup("out").Usage = "where to keep the best model so far (updated as the study runs)"
	objective := fs.String("objective", "accuracy", "accuracy; or accuracy,latency or accuracy,size to search for the Pareto set")
	resume := fs.String("resume", "", "study state file: resumed if it exists, else created; the study is saved to it as it runs")
	if err := parseFlags(fs, args, stdout, tuneSummary); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	if err := oneOf("strategy", spec.Search.Strategy, core.Strategies); err != nil {
		return err
	}
	if err := positive("workers", *workers); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"trials", spec.Search.Trials}, {"max-epochs", spec.Search.MaxEpochs}, {"min-epochs", spec.Search.MinEpochs},
		{"eta", spec.Search.Eta}, {"budget-epochs", spec.Budget.Epochs}} {
		if f.v < 0 {
			return badInput("--%s must not be negative (got %d)", f.name, f.v)
		}
	}
	spec.Objectives = strings.Split(*objective, ",")
	spec.Data, spec.Search.Seed, spec.Out = c.dataSpec(), c.seed, c.out
	if *spaceFile != "" {
		var err error
		if spec.Space, err = lab.ReadSpace(*spaceFile); err != nil {
			return badInput("--space %v", err)
		}
	}
	study, err := openStudy(fs, spec, *resume)
	if err != nil {
		return err
	}

	l := lab.New(lab.Options{Workers: *workers})
	defer l.Shutdown(defaultShutdown)
	if _, err := l.Data(ctx, study.Spec().Data); err != nil {
		return usageError{err}
	}
	p := &tunePrinter{w: stdout, json: c.json, study: study, spec: study.Spec()}
	p.header(*workers)
	type outcome struct {
		res *lab.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := study.Run(ctx, l, *workers)
		done <- outcome{res, err}
	}()
	for {
		select {
		case e := <-l.Events():
			study.Observe(e)
			p.event(e)
		case <-study.Changed():
			p.updates()
		case o := <-done:
			p.updates()
			if o.err != nil {
				if ctx.Err() != nil && *resume != "" {
					return fmt.Errorf("interrupted; go on with: optlab tune --resume %s", *resume)
				}
				return o.err
			}
			return p.result(o.res)
		}
	}
}

// openStudy creates the study the flags describe, or resumes the one saved
// in the state file. Flags given with an existing state file must agree
// with it.
func openStudy(fs *flag.FlagSet, spec lab.TuneSpec, state string) (*lab.TuneStudy, error) {
	fresh, err := lab.NewTuneStudy(spec, "")
	if err != nil {
		return nil, badInput("%v", err)
	}
	if state == "" {
		return fresh, nil
	}
	if _, err := os.Stat(state); errors.Is(err, os.ErrNotExist) {
		s, err := lab.NewTuneStudy(spec, state)
		if err != nil {
			return nil, usageError{err}
		}
		return s, nil
	}
	s, err := lab.ResumeTuneStudy(state)
	if err != nil {
		return nil, usageError{err}
	}
	var given []string
	fs.Visit(func(f *flag.Flag) {
		if slices.Contains(tuneStudyFlags, f.Name) {
			given = append(given, "--"+f.Name)
		}
	})
	a, _ := json.Marshal(s.Spec())
	b, _ := json.Marshal(fresh.Spec())
	if len(given) > 0 && string(a) != string(b) {
		return nil, badInput("--resume: %s holds a different study than %s describe; drop them to resume it, or use another file",
			state, strings.Join(given, " "))
	}
	return s, nil
}

// tunePrinter prints a study's progress: one line per trial event, or JSON
// lines with the epochs of every trial as well.
type tunePrinter struct {
	w     io.Writer
	json  bool
	study *lab.TuneStudy
	spec  lab.TuneSpec
	next  int // the next trial update to print
}

func (p *tunePrinter) line(v map[string]any) {
	b, _ := json.Marshal(v)
	fmt.Fprintln(p.w, string(b))
}

func (p *tunePrinter) header(workers int) {
	s := p.spec
	if p.json {
		p.line(map[string]any{"type": "study", "strategy": s.Search.Strategy, "trials": s.Search.Trials,
			"max_epochs": s.Search.MaxEpochs, "workers": workers, "space": s.Space, "objectives": s.Objectives})
		return
	}
	var names []string
	for _, d := range s.Space {
		names = append(names, d.Name)
	}
	median := ""
	if s.Search.Median {
		median = " with the median stopping rule"
	}
	fmt.Fprintf(p.w, "tune: %s search%s over %s on %s\n  %d trials of up to %d epochs, %d at a time\n",
		s.Search.Strategy, median, strings.Join(names, ", "), s.Data.Name, s.Search.Trials, s.Search.MaxEpochs, workers)
}

// event prints the epoch lines of trial runs (JSON only).
func (p *tunePrinter) event(e lab.Event) {
	st := e.Stats
	if !p.json || e.Kind != lab.Progress || !st.EpochDone {
		return
	}
	p.line(map[string]any{"type": "epoch", "run": e.Run, "trial": st.Trial, "epoch": st.Epoch,
		"train_loss": round(st.TrainLoss, 6), "train_accuracy": round(st.TrainAcc, 6),
		"val_loss": round(st.ValLoss, 6), "val_accuracy": round(st.ValAcc, 6),
		"samples_per_sec": round(st.SamplesPerSec, 1), "elapsed_s": round(st.Elapsed.Seconds(), 3)})
}

// updates prints the trial updates not printed yet.
func (p *tunePrinter) updates() {
	us, next := p.study.Updates(p.next)
	p.next = next
	for _, u := range us {
		p.update(u)
	}
}

func (p *tunePrinter) update(u lab.TrialUpdate) {
	if p.json {
		v := map[string]any{"type": "trial", "trial": u.Trial, "event": u.Event, "epochs": u.Epochs}
		if u.Run != 0 {
			v["run"] = u.Run
		}
		switch u.Event {
		case "started", "promoted", "resumed":
			v["target_epochs"] = u.Target
			if u.Event == "started" {
				v["params"] = p.params(u.Trial)
			}
		default:
			v["val_accuracy"] = round(u.ValAccuracy, 6)
			v["test_accuracy"] = round(u.TestAccuracy, 6)
		}
		if u.Reason != "" {
			v["reason"] = u.Reason
		}
		p.line(v)
		return
	}
	head := fmt.Sprintf("trial %3d  %-9s", u.Trial, u.Event)
	switch u.Event {
	case "started":
		fmt.Fprintf(p.w, "%s %s\n", head, p.format(u.Trial))
	case "promoted", "resumed":
		fmt.Fprintf(p.w, "%s from %d to at most %d epochs\n", head, u.Epochs, u.Target)
	default:
		msg := fmt.Sprintf("%s %-9s  val %6.2f%%", head, plural(u.Epochs, "epoch"), 100*u.ValAccuracy)
		if u.TestAccuracy > 0 {
			msg += fmt.Sprintf("  test %6.2f%%", 100*u.TestAccuracy)
		}
		if u.Reason != "" {
			msg += "  (" + u.Reason + ")"
		}
		fmt.Fprintln(p.w, msg)
	}
}

// params returns trial id's parameters.
func (p *tunePrinter) params(id int) map[string]any {
	for _, t := range p.study.Snapshot().Trials {
		if t.ID == id {
			return t.Params
		}
	}
	return nil
}

// format returns trial id's parameters as "name=value" pairs.
func (p *tunePrinter) format(id int) string { return p.spec.Space.FormatValues(p.params(id)) }

// result prints the importance and the result: as JSON lines, or as a
// leaderboard and a summary.
func (p *tunePrinter) result(res *lab.Result) error {
	snap := p.study.Snapshot()
	if p.json {
		p.line(map[string]any{"type": "importance", "epochs": snap.ImportanceEpochs, "trials": snap.ImportanceTrials,
			"params": snap.Importance})
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(p.w, string(b))
		return err
	}
	trials := slices.Clone(res.Trials)
	slices.SortStableFunc(trials, func(a, b lab.TrialRecord) int {
		if a.ValAccuracy != b.ValAccuracy {
			if a.ValAccuracy > b.ValAccuracy {
				return -1
			}
			return 1
		}
		return b.Epochs - a.Epochs
	})
	shown := min(len(trials), 10)
	fmt.Fprintf(p.w, "\ntop %d of %d trials by validation accuracy\n", shown, len(trials))
	fmt.Fprintf(p.w, "  trial  status     epochs  val acc  test acc  parameters\n")
	for _, t := range trials[:shown] {
		fmt.Fprintf(p.w, "  %5d  %-9s  %6d  %6.2f%%  %7.2f%%  %s\n", t.ID, t.Status, t.Epochs,
			100*t.ValAccuracy, 100*t.TestAccuracy, p.format(t.ID))
	}
	if snap.ImportanceTrials >= 4 {
		fmt.Fprintf(p.w, "\nparameter importance (share of the variance of validation accuracy after %s, over %d trials)\n",
			plural(snap.ImportanceEpochs, "epoch"), snap.ImportanceTrials)
		imp := slices.Clone(snap.Importance)
		slices.SortStableFunc(imp, func(a, b core.Importance) int {
			switch {
			case a.Value > b.Value:
				return -1
			case a.Value < b.Value:
				return 1
			}
			return 0
		})
		for _, i := range imp {
			fmt.Fprintf(p.w, "  %-13s %5.2f  %s\n", i.Name, i.Value, strings.Repeat("█", int(i.Value*40+0.5)))
		}
	}
	if len(res.Pareto) > 0 {
		fmt.Fprintf(p.w, "\nPareto set (validation accuracy vs %s): trials %s\n", p.spec.Objectives[1], joinInts(res.Pareto))
	}
	b := res.Best
	fmt.Fprintf(p.w, "\nbest: trial %d, %s\n", b.ID, p.format(b.ID))
	fmt.Fprintf(p.w, "  validation accuracy %.2f%% after %d epochs\n", 100*b.ValAccuracy, b.Epochs)
	fmt.Fprintf(p.w, "  epochs trained in all: %s over %d trials, in %.1fs\n", thousands(float64(res.TotalEpochs)),
		len(res.Trials), snap.Elapsed.Seconds())
	r := newReporter(p.w, false)
	return r.result(res)
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

// plural returns "1 epoch", "2 epochs".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
