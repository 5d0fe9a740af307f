package lab_test

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

func TestResultJSONFieldNames(t *testing.T) {
	sparsity := 0.5
	r := &lab.Result{Task: "prune", Dataset: "moons", Arch: "mlp:8", TestAccuracy: 0.9, Seed: 1,
		Sparsity: &sparsity, Method: "magnitude", Baseline: &lab.Result{Task: "train"},
		Run: 3, Model: &core.Model{}, History: []core.Stats{{Epoch: 1}}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), `{"type":"result",`) {
		t.Errorf("JSON does not start with the type: %s", b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	// design.md §5, plus the prune fields set above and the baseline object.
	want := []string{"baseline", "dataset", "epochs", "latency_us", "macs", "method", "model",
		"nonzero_params", "params", "seed", "size_bytes", "sparsity", "task", "test_accuracy",
		"test_loss", "throughput_sps", "train_samples_per_sec", "train_seconds", "type"}
	if !slices.Equal(keys, want) {
		t.Errorf("JSON keys = %v\nwant        %v", keys, want)
	}
	if m["model"] != "mlp:8" || m["type"] != "result" {
		t.Errorf("model = %v, type = %v", m["model"], m["type"])
	}
	if base, _ := m["baseline"].(map[string]any); base["task"] != "train" {
		t.Errorf("baseline = %v, want the baseline's record", m["baseline"])
	}
	var back lab.Result
	if err := json.Unmarshal(b, &back); err != nil || back.Arch != "mlp:8" || *back.Sparsity != 0.5 {
		t.Errorf("round trip gave %+v, %v", back, err)
	}
}

func TestCompare(t *testing.T) {
	base := &lab.Result{TestAccuracy: 0.955, SizeBytes: 400000, LatencyMicros: 40.2, NonzeroParams: 101770, MACs: 101632}
	for _, tc := range []struct {
		name string
		r    lab.Result
		want lab.Delta
	}{
		{"smaller and faster",
			lab.Result{TestAccuracy: 0.950, SizeBytes: 100000, LatencyMicros: 20.1, NonzeroParams: 25000, MACs: 25400},
			lab.Delta{AccuracyPoints: -0.5, SizeRatio: 0.25, LatencyRatio: 0.5, NonzeroParams: -76770, MACs: -76232}},
		{"smaller, no faster",
			lab.Result{TestAccuracy: 0.955, SizeBytes: 200000, LatencyMicros: 41.0, NonzeroParams: 50000, MACs: 101632},
			lab.Delta{SizeRatio: 0.5, LatencyRatio: 41.0 / 40.2, NonzeroParams: -51770,
				Note: "no faster than the baseline: 41.0 µs vs 40.2 µs"}},
		{"faster within noise is not faster",
			lab.Result{TestAccuracy: 0.965, SizeBytes: 200000, LatencyMicros: 39.0, NonzeroParams: 101770, MACs: 101632},
			lab.Delta{AccuracyPoints: 1, SizeRatio: 0.5, LatencyRatio: 39.0 / 40.2,
				Note: "no faster than the baseline: 39.0 µs vs 40.2 µs"}},
		{"neither smaller nor faster",
			lab.Result{TestAccuracy: 0.955, SizeBytes: 400007, LatencyMicros: 40.2, NonzeroParams: 101770, MACs: 101632},
			lab.Delta{SizeRatio: 400007.0 / 400000, LatencyRatio: 1,
				Note: "no smaller than the baseline: 400007 B vs 400000 B; no faster than the baseline: 40.2 µs vs 40.2 µs"}},
		{"latency unknown",
			lab.Result{TestAccuracy: 0.955, SizeBytes: 500000, NonzeroParams: 101770, MACs: 101632},
			lab.Delta{SizeRatio: 1.25, Note: "no smaller than the baseline: 500.0 kB vs 400.0 kB"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.r.Compare(base)
			near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
			if !near(got.AccuracyPoints, tc.want.AccuracyPoints) || !near(got.SizeRatio, tc.want.SizeRatio) ||
				!near(got.LatencyRatio, tc.want.LatencyRatio) || got.NonzeroParams != tc.want.NonzeroParams ||
				got.MACs != tc.want.MACs || got.Note != tc.want.Note {
				t.Errorf("Compare =\n %+v\nwant\n %+v", got, tc.want)
			}
		})
	}
	if d := base.Compare(nil); d != (lab.Delta{}) {
		t.Errorf("Compare(nil) = %+v, want the zero Delta", d)
	}
}
