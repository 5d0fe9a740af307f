package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

// reporter prints one run's events: JSON lines, or readable lines with a
// progress bar when stdout is a terminal.
type reporter struct {
	w        io.Writer
	json     bool
	terminal bool // draw an in-place progress bar
	barShown bool
	// headings prints a heading line in readable output whenever
	// Stats.Phase changes (a distillation's students, trained in turn).
	headings bool
	phase    string // the phase of the last Progress event, for headings
}

func newReporter(w io.Writer, asJSON bool) *reporter {
	r := &reporter{w: w, json: asJSON}
	if f, ok := w.(*os.File); ok && !asJSON {
		r.terminal = term.IsTerminal(f.Fd())
	}
	return r
}

// follow starts job on l and prints its events until it ends, returning its
// result. Events of other runs are ignored.
func follow(ctx context.Context, l *lab.Lab, rep *reporter, task string, config any, job lab.Job) (*lab.Result, error) {
	id := l.Start(ctx, task, config, job)
	for e := range l.Events() {
		if e.Run != id {
			continue
		}
		switch e.Kind {
		case lab.Started:
			rep.started(e)
		case lab.Progress:
			rep.progress(e)
		case lab.Finished:
			rep.clearBar()
			return e.Result, nil
		case lab.Failed:
			rep.clearBar()
			rep.failed(e)
			return nil, e.Err
		}
	}
	return nil, errors.New("the lab closed before the run ended")
}

func (r *reporter) line(v map[string]any) {
	b, _ := json.Marshal(v)
	fmt.Fprintln(r.w, string(b))
}

func (r *reporter) started(e lab.Event) {
	if r.json {
		r.line(map[string]any{"type": "started", "run": e.Run, "task": e.Task, "config": e.Config})
	}
}

func (r *reporter) progress(e lab.Event) {
	s := e.Stats
	if s.Phase == lab.PhaseTeacher {
		r.teacher(e)
		return
	}
	if r.headings && !r.json && s.Phase != r.phase {
		r.clearBar()
		fmt.Fprintf(r.w, "%s:\n", s.Phase)
	}
	r.phase = s.Phase
	if r.json {
		if s.EpochDone {
			v := map[string]any{"type": "epoch", "run": e.Run, "epoch": s.Epoch, "epochs": s.Epochs,
				"train_loss": round(s.TrainLoss, 6), "train_accuracy": round(s.TrainAcc, 6),
				"val_loss": round(s.ValLoss, 6), "val_accuracy": round(s.ValAcc, 6), "lr": s.LR,
				"samples_per_sec": round(s.SamplesPerSec, 1), "elapsed_s": round(s.Elapsed.Seconds(), 3)}
			if s.Phase != "" {
				v["phase"] = s.Phase
			}
			if s.Sparsity != 0 {
				v["sparsity"] = round(s.Sparsity, 6)
			}
			r.line(v)
		}
		return
	}
	if s.EpochDone {
		r.clearBar()
		fmt.Fprintf(r.w, "epoch %*d/%d  loss %.4f  acc %5.1f%%  val loss %.4f  val acc %5.1f%%  %s samples/s  %s\n",
			len(fmt.Sprint(s.Epochs)), s.Epoch, s.Epochs, s.TrainLoss, 100*s.TrainAcc, s.ValLoss, 100*s.ValAcc,
			thousands(s.SamplesPerSec), s.Elapsed.Round(100*time.Millisecond))
		return
	}
	if r.terminal && s.Steps > 0 {
		const width = 30
		done := width * s.Step / s.Steps
		fmt.Fprintf(r.w, "\repoch %d/%d [%s%s] %3d%%  loss %.4f", s.Epoch, s.Epochs,
			strings.Repeat("█", done), strings.Repeat("░", width-done), 100*s.Step/s.Steps, s.TrainLoss)
		r.barShown = true
	}
}

// teacher prints a distillation teacher's validation figures on their own
// line.
func (r *reporter) teacher(e lab.Event) {
	s := e.Stats
	if r.json {
		r.line(map[string]any{"type": "teacher", "run": e.Run,
			"val_loss": round(s.ValLoss, 6), "val_accuracy": round(s.ValAcc, 6)})
		return
	}
	fmt.Fprintf(r.w, "teacher  val loss %.4f  val acc %5.1f%%\n", s.ValLoss, 100*s.ValAcc)
}

func (r *reporter) clearBar() {
	if r.barShown {
		fmt.Fprint(r.w, "\r\033[K")
		r.barShown = false
	}
}

func (r *reporter) failed(e lab.Event) {
	if !r.json {
		return
	}
	status := "failed"
	if errors.Is(e.Err, context.Canceled) {
		status = "cancelled"
	} else if errors.Is(e.Err, core.ErrDiverged) {
		status = "diverged"
	}
	r.line(map[string]any{"type": "error", "run": e.Run, "status": status, "error": e.Err.Error()})
}

// result prints the final record: as the last JSON line, or as a summary.
func (r *reporter) result(res *lab.Result) error {
	if r.json {
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(r.w, string(b))
		return err
	}
	if res.Stopped != "" {
		fmt.Fprintln(r.w, res.Stopped)
	}
	fmt.Fprintf(r.w, "\n%s on %s\n", res.Arch, res.Dataset)
	rows := [][2]string{
		{"test accuracy", fmt.Sprintf("%.2f%%  (loss %.4f)", 100*res.TestAccuracy, res.TestLoss)},
		{"parameters", fmt.Sprintf("%s  (%s non-zero)", thousands(float64(res.Params)), thousands(float64(res.NonzeroParams)))},
		{"MACs/sample", thousands(float64(res.MACs))},
		{"size on disk", fmt.Sprintf("%s bytes", thousands(float64(res.SizeBytes)))},
		{"latency", fmt.Sprintf("%.1f µs per sample (median, batch 1)", res.LatencyMicros)},
		{"throughput", fmt.Sprintf("%s samples/s (batches of %d)", thousands(res.ThroughputSPS), core.ThroughputBatch)},
	}
	if res.TrainSeconds > 0 {
		rows = append(rows, [2]string{"training", fmt.Sprintf("%d epochs in %.1fs, %s samples/s", res.Epochs, res.TrainSeconds, thousands(res.TrainSamplesPerSec))})
	}
	if res.Out != "" {
		rows = append(rows, [2]string{"saved to", res.Out})
	}
	for _, row := range rows {
		fmt.Fprintf(r.w, "  %-14s %s\n", row[0], row[1])
	}
	return nil
}

// thousands formats v rounded to an integer with thin separators: 12,345.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
