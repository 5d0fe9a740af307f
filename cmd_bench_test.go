package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestBenchJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("times real workloads")
	}
	code, out, errOut := runCLI(t, "bench", "--epochs", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r benchResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out)
	}
	if r.Type != "result" || r.Task != "bench" || r.Kernels["float32_gemm"] == "" || r.Kernels["int8_gemm"] == "" {
		t.Fatalf("bad header: %+v", r)
	}
	if len(r.Train) != 2 || len(r.Inference) != 4 || len(r.GEMM) != 2 {
		t.Fatalf("want 2 training, 4 inference and 2 GEMM figures, got %+v", r)
	}
	for _, tr := range r.Train {
		if !(tr.SamplesPerSec > 0) || tr.Epochs != 1 || tr.Optimizer != "adam" {
			t.Errorf("training figure %+v", tr)
		}
	}
	for _, i := range r.Inference {
		if !(i.LatencyUS > 0) || !(i.ThroughputSPS > 0) || !slices.Contains([]string{"float32", "int8"}, i.Kind) {
			t.Errorf("inference figure %+v", i)
		}
	}
	for _, g := range r.GEMM {
		if !(g.GFLOPS > 0) {
			t.Errorf("GEMM figure %+v", g)
		}
	}
}

func TestBenchBadUsage(t *testing.T) {
	code, _, errOut := runCLI(t, "bench", "--epochs", "0")
	if code != exitBadUsage || !strings.HasPrefix(errOut, "optlab: ") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}
