package lab_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

// runOne starts job on l and returns the run's events up to its end.
func runOne(t *testing.T, l *lab.Lab, task string, config any, job lab.Job) []lab.Event {
	t.Helper()
	id := l.Start(t.Context(), task, config, job)
	var evs []lab.Event
	timeout := time.After(30 * time.Second)
	for {
		select {
		case e := <-l.Events():
			if e.Run != id {
				continue
			}
			evs = append(evs, e)
			if e.Kind == lab.Finished || e.Kind == lab.Failed {
				return evs
			}
		case <-timeout:
			t.Fatalf("run %d did not end; events so far: %s", id, kinds(evs))
		}
	}
}

func TestTrainAndEvalEndToEnd(t *testing.T) {
	l := lab.New(lab.Options{Workers: 1})
	defer l.Shutdown(time.Second)
	out := filepath.Join(t.TempDir(), "moons.safetensors")
	// A non-default size and noise: eval must regenerate exactly this data.
	spec := lab.TrainSpec{Data: lab.DataSpec{Name: "moons", Seed: 1, Samples: 600, Noise: 0.15}, Model: "mlp:16", Epochs: 30,
		LR: 0.01, Seed: 1, Out: out}

	start := time.Now()
	evs := runOne(t, l, lab.TaskTrain, spec, spec.Job())
	took := time.Since(start)
	last := evs[len(evs)-1]
	if last.Kind != lab.Finished {
		t.Fatalf("train run ended with %v: %v", last.Kind, last.Err)
	}
	if took > 2*time.Second { // about 0.3 s, most of it timing inference
		t.Errorf("training a tiny model took %v", took)
	}
	if evs[0].Kind != lab.Started || evs[0].Config.(lab.TrainSpec) != spec {
		t.Errorf("first event %+v, want Started with the spec", evs[0])
	}
	r := last.Result
	if r.TestAccuracy < 0.85 || r.TestAccuracy > 1 {
		t.Errorf("test accuracy %v on moons, want at least 0.85", r.TestAccuracy)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	const params = 2*16 + 16 + 16*2 + 2
	if r.Task != lab.TaskTrain || r.Dataset != "moons" || r.Arch != "mlp:16" || r.Params != params ||
		r.NonzeroParams > params || r.MACs != 2*16+16*2 || r.SizeBytes != fi.Size() || r.Epochs != 30 ||
		r.Seed != 1 || r.Out != out || r.Run != evs[0].Run {
		t.Errorf("result record %+v", r)
	}
	if r.LatencyMicros <= 0 || r.ThroughputSPS <= 0 || r.TrainSeconds <= 0 || r.TrainSamplesPerSec <= 0 || r.TestLoss <= 0 {
		t.Errorf("unmeasured figures: latency %v µs, throughput %v/s, train %v s at %v/s, loss %v",
			r.LatencyMicros, r.ThroughputSPS, r.TrainSeconds, r.TrainSamplesPerSec, r.TestLoss)
	}
	if r.Model == nil || len(r.History) != 30 || !r.History[29].EpochDone || len(r.Metrics.Confusion) != 2 {
		t.Errorf("model %v, %d history entries, confusion %v", r.Model, len(r.History), r.Metrics.Confusion)
	}
	test := 0
	for _, row := range r.Metrics.Confusion {
		for _, n := range row {
			test += n
		}
	}
	if test != 120 { // 20% of 600 samples
		t.Errorf("the confusion matrix counts %d test samples, want 120", test)
	}

	// Evaluating the saved file on the split recorded in it gives the same figures.
	eval := lab.EvalSpec{ModelFile: out}
	evs = runOne(t, l, lab.TaskEval, eval, eval.Job())
	last = evs[len(evs)-1]
	if last.Kind != lab.Finished {
		t.Fatalf("eval run ended with %v: %v", last.Kind, last.Err)
	}
	if e := last.Result; e.Task != lab.TaskEval || e.TestAccuracy != r.TestAccuracy || e.TestLoss != r.TestLoss ||
		e.SizeBytes != r.SizeBytes || e.Arch != r.Arch || e.Dataset != r.Dataset {
		t.Errorf("eval result %+v\ndiffers from training's %+v", e, r)
	}
	if b, ok := l.Baseline(); !ok || b != r {
		t.Errorf("baseline = %v, want the train run's result", b)
	}
}

func TestTrainWithoutOutStillMeasuresSize(t *testing.T) {
	l := lab.New(lab.Options{})
	defer l.Shutdown(time.Second)
	spec := lab.TrainSpec{Data: lab.DataSpec{Name: "xor", Samples: 200, Seed: 2}, Model: "linear", Epochs: 1}
	evs := runOne(t, l, lab.TaskTrain, spec, spec.Job())
	last := evs[len(evs)-1]
	if last.Kind != lab.Finished {
		t.Fatalf("ended with %v: %v", last.Kind, last.Err)
	}
	if r := last.Result; r.SizeBytes <= int64(r.Params)*4 || r.Out != "" {
		t.Errorf("size %d bytes for %d float32 parameters, out %q", r.SizeBytes, r.Params, r.Out)
	}
}

func TestJobErrorsFail(t *testing.T) {
	l := lab.New(lab.Options{})
	defer l.Shutdown(time.Second)
	for _, tc := range []struct {
		name string
		job  lab.Job
		want string
	}{
		{"bad model", lab.TrainSpec{Data: lab.DataSpec{Name: "moons"}, Model: "cnn:3"}.Job(), "cnn:3"},
		{"bad data", lab.TrainSpec{Data: lab.DataSpec{Name: "nosuchset"}, Model: "mlp:4"}.Job(), "nosuchset"},
		{"bad fraction", lab.TrainSpec{Data: lab.DataSpec{Name: "moons", TestFrac: 1.5}, Model: "mlp:4"}.Job(), "test fraction"},
		{"missing file", lab.EvalSpec{ModelFile: filepath.Join(t.TempDir(), "none.safetensors")}.Job(), "no such file"},
		{"wrong data", lab.EvalSpec{Data: lab.DataSpec{Name: "blobs"}, ModelFile: savedModel(t, l)}.Job(), "features"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs := runOne(t, l, "train", nil, tc.job)
			last := evs[len(evs)-1]
			if last.Kind != lab.Failed || !strings.Contains(last.Err.Error(), tc.want) {
				t.Errorf("ended with %v %v, want Failed mentioning %q", last.Kind, last.Err, tc.want)
			}
		})
	}
}

// savedModel trains a small model on moons and returns its file.
func savedModel(t *testing.T, l *lab.Lab) string {
	out := filepath.Join(t.TempDir(), "m.safetensors")
	spec := lab.TrainSpec{Data: lab.DataSpec{Name: "moons"}, Model: "mlp:4", Epochs: 1, Out: out}
	if evs := runOne(t, l, lab.TaskTrain, spec, spec.Job()); evs[len(evs)-1].Kind != lab.Finished {
		t.Fatalf("training failed: %v", evs[len(evs)-1].Err)
	}
	return out
}

func TestTrainCancel(t *testing.T) {
	l := lab.New(lab.Options{ProgressEvery: time.Millisecond})
	defer l.Shutdown(time.Second)
	spec := lab.TrainSpec{Data: lab.DataSpec{Name: "digits", Samples: 2000}, Model: "mlp:64", Epochs: 1000}
	job := spec.Job()
	var cancelled bool
	evs := runOne(t, l, lab.TaskTrain, spec, func(ctx context.Context, rec core.Recorder) (*lab.Result, error) {
		return job(ctx, func(s core.Stats) error {
			if s.Epoch >= 2 && !cancelled {
				cancelled = true
				l.CancelAll()
			}
			return rec(s)
		})
	})
	if last := evs[len(evs)-1]; last.Kind != lab.Failed || !errors.Is(last.Err, context.Canceled) {
		t.Errorf("ended with %v %v, want Failed(context.Canceled)", last.Kind, last.Err)
	}
}

func TestDataIsCachedPerLab(t *testing.T) {
	l := lab.New(lab.Options{})
	defer l.Shutdown(time.Second)
	a, err := l.Data(t.Context(), lab.DataSpec{Name: "moons", Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := l.Data(t.Context(), lab.DataSpec{Name: "moons", Seed: 3, TestFrac: lab.DefaultTestFrac, ValFrac: lab.DefaultValFrac})
	c, _ := l.Data(t.Context(), lab.DataSpec{Name: "moons", Seed: 4})
	if a.Train != b.Train || a.Test != b.Test || a.Val != b.Val {
		t.Error("equal specs loaded twice")
	}
	if a.Train == c.Train {
		t.Error("different seeds share splits")
	}
	if n := a.Train.Len() + a.Val.Len() + a.Test.Len(); n != 1000 || a.Test.Len() != 200 {
		t.Errorf("split sizes %d/%d/%d, want 1000 in all with 200 for test", a.Train.Len(), a.Val.Len(), a.Test.Len())
	}
	if _, err := l.Data(t.Context(), lab.DataSpec{Name: "nosuchset"}); err == nil {
		t.Error("an unknown dataset loaded")
	}
}

// TestDataCacheLetsGoOfTheLeastRecentlyUsed: moons at 1000 samples takes
// 1000·(2·4 + 8) = 16000 bytes; a budget of two keeps the two last used.
func TestDataCacheLetsGoOfTheLeastRecentlyUsed(t *testing.T) {
	l := lab.New(lab.Options{DataBytes: 32_000})
	defer l.Shutdown(time.Second)
	load := func(seed uint64) lab.Splits {
		s, err := l.Data(t.Context(), lab.DataSpec{Name: "moons", Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	one, two := load(1), load(2)
	if load(1).Train != one.Train { // 1 is now the most recently used
		t.Fatal("a load within the budget was not kept")
	}
	load(3) // over budget: 2 goes
	if load(1).Train != one.Train {
		t.Error("the most recently used load was let go")
	}
	if load(2).Train == two.Train {
		t.Error("the least recently used load was kept past the budget")
	}
}
