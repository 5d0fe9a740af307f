package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

const archSummary = `optlab arch: train candidate architectures on the same split and budget, and compare
accuracy against parameters, MACs, size and latency, marking the Pareto front

  optlab arch --data mnist-images.gz --candidates "mlp:256,128 cnn:16,32 mobile:16,32,64@0.5" --epochs 10

Specs: mlp:H1,H2,... | linear | cnn:C1,C2,...[@W][/HEAD] | mobile:C1,C2,...[@W][/HEAD]
(W: width multiplier; HEAD: flat or gap, by default flat for cnn and gap for mobile).
Figures are those of each candidate's deployable model (BatchNorm folded), timed one model at a time.`

// defaultCandidates are the architectures compared when --candidates is not given.
const defaultCandidates = "mlp:256,128 cnn:16,32 mobile:16,32,64@0.5"

func cmdArch(ctx context.Context, args []string, stdout, _ io.Writer) error {
	var c commonFlags
	var s lab.ArchSpec
	var candidates string
	var layers bool
	fs := flag.NewFlagSet("arch", flag.ContinueOnError)
	c.register(fs)
	fs.Lookup("out").Usage = "an existing directory where each candidate's model is saved, named after its spec"
	fs.StringVar(&candidates, "candidates", defaultCandidates, "model specs separated by spaces")
	fs.StringVar(&s.Optimizer, "opt", "adam", "optimizer: "+strings.Join(core.Optimizers, ", "))
	fs.Float64Var(&s.LR, "lr", 0, "learning rate (default 0.001 for adam/adamw, 0.01 for sgd/momentum)")
	fs.IntVar(&s.Batch, "batch", 64, "mini-batch size")
	fs.IntVar(&s.Epochs, "epochs", 10, "training epochs of every candidate")
	fs.Float64Var(&s.Dropout, "dropout", 0, "dropout rate: after each mlp hidden layer, before a cnn's or mobile's dense head")
	fs.IntVar(&s.Workers, "workers", 0, "candidates trained at once (default: the number of CPUs)")
	fs.BoolVar(&layers, "layers", false, "also print every candidate's per-layer parameters, MACs and latency")
	if err := parseFlags(fs, args, stdout, archSummary); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	if err := oneOf("opt", s.Optimizer, core.Optimizers); err != nil {
		return err
	}
	if err := positive("epochs", s.Epochs); err != nil {
		return err
	}
	if err := positive("batch", s.Batch); err != nil {
		return err
	}
	if s.LR < 0 || s.Workers < 0 {
		return badInput("--lr and --workers must not be negative")
	}
	if s.Dropout < 0 || s.Dropout >= 1 {
		return badInput("--dropout must be in [0, 1) (got %g)", s.Dropout)
	}
	if c.out != "" {
		if fi, err := os.Stat(c.out); err != nil || !fi.IsDir() {
			return badInput("--out %s: not an existing directory", c.out)
		}
	}
	s.Candidates = strings.Fields(candidates)
	s.Data, s.Seed, s.OutDir = c.dataSpec(), c.seed, c.out

	l := lab.New(lab.Options{Workers: s.Workers})
	defer l.Shutdown(defaultShutdown)
	data, err := l.Data(ctx, s.Data)
	if err != nil {
		return usageError{err}
	}
	if err := s.Validate(data.Train); err != nil {
		return badInput("--candidates: %v", err)
	}
	study, err := l.StartArch(ctx, s)
	if err != nil {
		return badInput("%v", err)
	}
	rep := newReporter(stdout, c.json)
	width := 0
	for _, spec := range s.Candidates {
		width = max(width, len(spec))
	}
	for e := range l.Events() {
		if !study.Observe(e) {
			continue
		}
		if c.json {
			switch e.Kind {
			case lab.Started:
				rep.started(e)
			case lab.Progress:
				rep.progress(e)
			case lab.Failed:
				rep.failed(e)
			}
		} else {
			printArchEvent(stdout, width, study.Spec(e.Run), e)
		}
		if study.Done() {
			break
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if !c.json {
		fmt.Fprintln(stdout, "\nmeasuring the folded models, one at a time...")
	}
	res, err := study.Result(ctx)
	if err != nil {
		return err
	}
	if c.json {
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(b))
	} else {
		printArchTable(stdout, res, layers)
	}
	for _, cand := range res.Candidates {
		if cand.Result != nil {
			return nil
		}
	}
	return errors.New("every candidate failed")
}

// printArchEvent prints one candidate's epoch, end or failure as a line
// tagged with its spec (the candidates train concurrently, so lines of
// different runs interleave).
func printArchEvent(w io.Writer, width int, spec string, e lab.Event) {
	s := e.Stats
	switch {
	case e.Kind == lab.Progress && s.EpochDone:
		fmt.Fprintf(w, "%-*s  epoch %*d/%d  loss %.4f  val acc %5.1f%%  %s samples/s  %s\n", width, spec,
			len(fmt.Sprint(s.Epochs)), s.Epoch, s.Epochs, s.TrainLoss, 100*s.ValAcc, thousands(s.SamplesPerSec),
			s.Elapsed.Round(100*time.Millisecond))
	case e.Kind == lab.Finished:
		fmt.Fprintf(w, "%-*s  done: test accuracy %.2f%% after %d epochs in %.1fs\n", width, spec,
			100*e.Result.TestAccuracy, e.Result.Epochs, e.Result.TrainSeconds)
	case e.Kind == lab.Failed:
		fmt.Fprintf(w, "%-*s  failed: %v\n", width, spec, e.Err)
	}
}

// printArchTable prints the candidates' figures, and their per-layer costs
// when layers is set.
func printArchTable(w io.Writer, res *lab.ArchResult, layers bool) {
	rows := [][]string{{"candidate", "params", "MACs", "size (B)", "latency", "accuracy", "pareto"}}
	for _, c := range res.Candidates {
		r := c.Result
		if r == nil {
			rows = append(rows, []string{c.Spec, "", "", "", "", "", "failed: " + c.Err.Error()})
			continue
		}
		var front []string
		if c.Pareto {
			front = append(front, "MACs")
		}
		if c.ParetoLatency {
			front = append(front, "latency")
		}
		mark := strings.Join(front, ", ")
		if mark == "" {
			mark = "-"
		}
		rows = append(rows, []string{c.Spec, thousands(float64(r.Params)), thousands(float64(r.MACs)),
			thousands(float64(r.SizeBytes)), fmt.Sprintf("%.1f µs", r.LatencyMicros),
			fmt.Sprintf("%.2f%%", 100*r.TestAccuracy), mark})
	}
	fmt.Fprintf(w, "\n%d candidates on %s, %d epochs each, seed %d\n", len(res.Candidates), res.Dataset, res.Epochs, res.Seed)
	printColumns(w, rows, 1, 5)
	fmt.Fprintln(w, "pareto: no other candidate is as accurate with fewer MACs (or lower latency, a measurement)")
	if !layers {
		return
	}
	for _, c := range res.Candidates {
		if c.Result == nil {
			continue
		}
		fmt.Fprintf(w, "\n%s, per layer (batch 1):\n", c.Spec)
		rows := [][]string{{"layer", "output", "params", "MACs", "latency"}}
		for _, lc := range c.Layers {
			shape := make([]string, len(lc.OutShape))
			for i, d := range lc.OutShape {
				shape[i] = fmt.Sprint(d)
			}
			rows = append(rows, []string{lc.Name[:strings.Index(lc.Name, ":")+1] + " " + lc.Desc,
				strings.Join(shape, "x"), thousands(float64(lc.Params)), thousands(float64(lc.MACs)),
				fmt.Sprintf("%.1f µs", lc.LatencyMicros)})
		}
		printColumns(w, rows, 2, 4)
	}
}

// printColumns prints rows as aligned columns, indented by two spaces:
// columns from..to (inclusive) are numbers, aligned right.
func printColumns(w io.Writer, rows [][]string, from, to int) {
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, cell := range r {
			widths[i] = max(widths[i], len([]rune(cell)))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		b.WriteString(" ")
		for i, cell := range r {
			pad := strings.Repeat(" ", widths[i]-len([]rune(cell)))
			b.WriteString(" ")
			if i >= from && i <= to {
				b.WriteString(pad + cell)
			} else if i < len(r)-1 {
				b.WriteString(cell + pad)
			} else {
				b.WriteString(cell)
			}
		}
		fmt.Fprintln(w, b.String())
	}
}
