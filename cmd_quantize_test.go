package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestQuantizeCommand(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.safetensors")
	if code, _, stderr := runCLI(t, "train", "--data", "blobs", "--model", "mlp:32", "--epochs", "2", "--out", base); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	out := filepath.Join(dir, "q4.safetensors")
	code, stdout, stderr := runCLI(t, "quantize", "--model", base, "--bits", "4", "--clip", "mse", "--json", "--out", out)
	if code != 0 {
		t.Fatalf("quantize: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var res struct {
		Type, Task, Mode, Granularity string
		Bits                          int
		SizeBytes                     int64 `json:"size_bytes"`
		Layers                        []struct {
			Name       string
			WeightSQNR *float64 `json:"weight_sqnr_db"`
		}
		Baseline *struct {
			SizeBytes int64 `json:"size_bytes"`
		}
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Type != "result" || res.Task != "quantize" || res.Bits != 4 || res.Mode != "ptq" || res.Granularity != "per-channel" ||
		len(res.Layers) != 2 || res.Layers[0].WeightSQNR == nil || res.SizeBytes != fi.Size() ||
		res.Baseline == nil || res.Baseline.SizeBytes <= res.SizeBytes {
		t.Fatalf("result line %s", lines[len(lines)-1])
	}

	code, stdout, stderr = runCLI(t, "quantize", "--model", base, "--mode", "weight-only", "--sweep")
	if code != 0 || !strings.Contains(stdout, "float32") || strings.Count(stdout, "µs") != 6 {
		t.Fatalf("sweep: exit %d, %s\n%s", code, stderr, stdout)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"quantize"}, "--model FILE is required"},
		{[]string{"quantize", "--model", base, "--bits", "9"}, "9 weight bits"},
		{[]string{"quantize", "--model", base, "--mode", "int4"}, `--mode "int4" is not one of`},
		{[]string{"quantize", "--model", base, "--epochs", "2"}, "--epochs applies to --mode qat only"},
		{[]string{"quantize", "--model", base, "--percentile", "99"}, "--clip percentile only"},
		{[]string{"quantize", "--model", base, "--mode", "weight-only", "--act-bits", "4"}, "keeps activations float"},
		{[]string{"quantize", "--model", base, "--mode", "qat", "--epochs", "0"}, "--epochs must be at least 1"},
		{[]string{"quantize", "--model", out}, "cannot be quantized"},
		{[]string{"quantize", "--model", filepath.Join(dir, "none.safetensors")}, "no such file"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "optlab: ") {
			t.Errorf("%v: exit %d, stderr %q, want one line with %q", c.args, code, stderr, c.want)
		}
	}
}
