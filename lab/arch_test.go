package lab

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/optlab/optlab/core"
)

// smallDigits is a small image set that trains in a fraction of a second.
var smallDigits = DataSpec{Name: "digits", Samples: 600, Seed: 1}

// followStudy passes l's events to a until it is done, returning the events
// that belonged to it.
func followStudy(t *testing.T, l *Lab, a *ArchStudy) []Event {
	t.Helper()
	var evs []Event
	timeout := time.After(60 * time.Second)
	for !a.Done() {
		select {
		case e := <-l.Events():
			if a.Observe(e) {
				evs = append(evs, e)
			}
		case <-timeout:
			t.Fatalf("the study did not end; %d events so far", len(evs))
		}
	}
	return evs
}

func TestArchStudyEndToEnd(t *testing.T) {
	// One worker for three candidates that may all start at once: the study
	// must not need a slot of its own.
	l := New(Options{Workers: 1})
	defer l.Shutdown(time.Second)
	dir := t.TempDir()
	s := ArchSpec{Data: smallDigits, Candidates: []string{"mlp:16", "cnn:4", "mobile:4,8"}, Epochs: 2,
		LR: 0.01, Seed: 1, OutDir: dir}
	a, err := l.StartArch(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	evs := followStudy(t, l, a)
	var started []string
	for _, e := range evs {
		if e.Kind == Started {
			ts, ok := e.Config.(TrainSpec)
			if e.Task != TaskTrain || !ok || ts.Epochs != 2 || ts.Data != smallDigits {
				t.Errorf("candidate started as %q with %+v", e.Task, e.Config)
			}
			started = append(started, ts.Model)
		}
	}
	if !slices.Equal(started, s.Candidates) {
		t.Errorf("started %v, want %v in order", started, s.Candidates)
	}
	res, err := a.Result(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.Task != TaskArch || res.Dataset != "digits" || res.Epochs != 2 || len(res.Candidates) != 3 {
		t.Fatalf("record %+v", res)
	}
	anyFront := false
	for i, c := range res.Candidates {
		r := c.Result
		if c.Spec != s.Candidates[i] || r == nil || c.Err != nil {
			t.Fatalf("candidate %d: %+v", i, c)
		}
		if r.Arch != c.Spec || r.Epochs != 2 || r.MACs <= 0 || r.Params <= 0 || r.LatencyMicros <= 0 ||
			r.ThroughputSPS <= 0 || r.TestAccuracy <= 0 || r.TestAccuracy > 1 {
			t.Errorf("%s: figures %+v", c.Spec, r)
		}
		// The record describes the folded model: no BatchNorm left, and its
		// file is the one saved, byte for byte.
		for _, l := range r.Model.Layers {
			if _, ok := l.(*core.BatchNorm); ok {
				t.Errorf("%s: the candidate's model still has a BatchNorm", c.Spec)
			}
		}
		fi, err := os.Stat(filepath.Join(dir, ModelFileName(c.Spec)))
		if err != nil || fi.Size() != r.SizeBytes || r.Out != filepath.Join(dir, ModelFileName(c.Spec)) {
			t.Errorf("%s: saved file %v (%v), size_bytes %d, out %q", c.Spec, fi, err, r.SizeBytes, r.Out)
		}
		if r.MACs != r.Model.Summarize().MACs || len(c.Layers) != len(r.Model.Layers) {
			t.Errorf("%s: %d MACs, %d layer costs for a model of %d MACs and %d layers", c.Spec, r.MACs,
				len(c.Layers), r.Model.Summarize().MACs, len(r.Model.Layers))
		}
		if train, ok := l.Result(c.Run); !ok || train.Arch != c.Spec {
			t.Errorf("%s: run %d is not in the registry as its training run", c.Spec, c.Run)
		}
		anyFront = anyFront || c.Pareto
	}
	if !anyFront {
		t.Error("no candidate is on the Pareto front")
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Type       string           `json:"type"`
		Task       string           `json:"task"`
		Candidates []map[string]any `json:"candidates"`
	}
	if err := json.Unmarshal(b, &rec); err != nil || rec.Type != "result" || rec.Task != "arch" || len(rec.Candidates) != 3 {
		t.Fatalf("JSON %s: %v", b, err)
	}
	for _, c := range rec.Candidates {
		for _, key := range []string{"type", "task", "model", "test_accuracy", "params", "macs", "size_bytes",
			"latency_us", "pareto", "pareto_latency", "layer_costs", "run"} {
			if _, ok := c[key]; !ok {
				t.Errorf("candidate record %v lacks %q", c["model"], key)
			}
		}
	}
}

func TestArchStudyWorkersBound(t *testing.T) {
	l := New(Options{Workers: 2})
	defer l.Shutdown(time.Second)
	a, err := l.StartArch(t.Context(), ArchSpec{Data: smallDigits, Candidates: []string{"mlp:8", "mlp:4", "linear"},
		Epochs: 1, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	running := 0
	for _, e := range followStudy(t, l, a) {
		switch e.Kind {
		case Started:
			if running++; running > 1 {
				t.Fatal("two candidates ran at once with Workers 1")
			}
		case Finished, Failed:
			running--
		}
	}
}

func TestArchStudyCancel(t *testing.T) {
	l := New(Options{Workers: 1})
	defer l.Shutdown(time.Second)
	a, err := l.StartArch(t.Context(), ArchSpec{Data: smallDigits, Candidates: []string{"cnn:8,8", "mlp:8", "linear"},
		Epochs: 50, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	for e := range l.Events() {
		a.Observe(e)
		if e.Kind == Started {
			a.Cancel() // the first is running, the second queued, the third never started
			break
		}
	}
	followStudy(t, l, a)
	res, err := a.Result(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Candidates {
		if c.Result != nil || !errors.Is(c.Err, context.Canceled) {
			t.Errorf("%s after cancel: result %v, error %v", c.Spec, c.Result, c.Err)
		}
	}
	if res.Candidates[2].Run != 0 {
		t.Error("a candidate started after the study was cancelled")
	}
	b, _ := json.Marshal(res.Candidates[0])
	if !strings.Contains(string(b), `"status":"cancelled"`) || !strings.Contains(string(b), `"model":"cnn:8,8"`) {
		t.Errorf("cancelled candidate as JSON: %s", b)
	}
}

func TestArchSpecValidate(t *testing.T) {
	moons, err := readSplits(DataSpec{Name: "moons", Seed: 1}.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		spec ArchSpec
		data *core.Dataset
		msg  string
	}{
		{ArchSpec{}, nil, "at least one candidate"},
		{ArchSpec{Candidates: []string{"mlp:8", "mlp:8"}}, nil, "twice"},
		{ArchSpec{Candidates: []string{"mlp:8", "cnn:8@x"}}, nil, "width multiplier"},
		{ArchSpec{Candidates: []string{"mlp:8"}, Epochs: -1}, nil, "negative"},
		{ArchSpec{Candidates: []string{"mlp:8", "cnn:8"}}, moons.Train, "image data"},
	} {
		if err := c.spec.Validate(c.data); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("Validate(%+v) = %v, want an error about %q", c.spec, err, c.msg)
		}
	}
	if err := (ArchSpec{Candidates: []string{"mlp:8", "linear"}}).Validate(moons.Train); err != nil {
		t.Errorf("valid study refused: %v", err)
	}
}

func TestMarkPareto(t *testing.T) {
	cand := func(acc float64, macs int64, lat float64) ArchCandidate {
		return ArchCandidate{Result: &Result{TestAccuracy: acc, MACs: macs, LatencyMicros: lat}}
	}
	cs := []ArchCandidate{
		cand(0.90, 100, 10), // fewest MACs: on that front; slower and less accurate than the second
		cand(0.95, 1000, 5), // more accurate, more MACs, fastest: on both
		cand(0.94, 2000, 8), // beaten by the second on every count
		cand(0.95, 1000, 6), // ties the second on accuracy and MACs: both stay on the MACs front
		{Spec: "failed", Err: errors.New("diverged")},
	}
	markPareto(cs)
	want := [][2]bool{{true, false}, {true, true}, {false, false}, {true, false}, {false, false}}
	for i, c := range cs {
		if c.Pareto != want[i][0] || c.ParetoLatency != want[i][1] {
			t.Errorf("candidate %d: pareto %v, pareto_latency %v; want %v", i, c.Pareto, c.ParetoLatency, want[i])
		}
	}
}

func TestDescribeLayerAndFileName(t *testing.T) {
	for _, c := range []struct {
		spec core.LayerSpec
		want string
	}{
		{core.LayerSpec{Kind: "conv", C: 1, Out: 16, Kernel: 3, Stride: 1, Pad: 1}, "conv 3x3 1→16"},
		{core.LayerSpec{Kind: "dwconv", C: 8, Kernel: 3, Stride: 2, Pad: 1}, "dwconv 3x3/2 ×8"},
		{core.LayerSpec{Kind: "maxpool", C: 8, Kernel: 2, Stride: 2}, "maxpool 2x2"},
		{core.LayerSpec{Kind: "avgpool", C: 8, Kernel: 3, Stride: 2}, "avgpool 3x3/2"},
		{core.LayerSpec{Kind: "dense", In: 1568, Out: 10}, "dense 1568→10"},
		{core.LayerSpec{Kind: "relu"}, "relu"},
	} {
		if got := describeLayer(c.spec); got != c.want {
			t.Errorf("describeLayer(%+v) = %q, want %q", c.spec, got, c.want)
		}
	}
	if got := ModelFileName("mobile:16,32@0.5"); got != "mobile-16_32-w0.5.safetensors" {
		t.Errorf("file name %q", got)
	}
}
