package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPruneCommand(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.safetensors")
	if code, _, stderr := runCLI(t, "train", "--data", "moons", "--model", "mlp:64,64", "--epochs", "5", "--out", base); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	out := filepath.Join(dir, "pruned.safetensors")
	code, stdout, stderr := runCLI(t, "prune", "--model", base, "--method", "global", "--sparsity", "0.9",
		"--finetune-epochs", "2", "--json", "--out", out)
	if code != 0 {
		t.Fatalf("prune: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var res struct {
		Task      string   `json:"task"`
		Sparsity  *float64 `json:"sparsity"`
		Method    string   `json:"method"`
		SizeBytes int64    `json:"size_bytes"`
		Layers    []struct {
			Name     string  `json:"name"`
			Sparsity float64 `json:"sparsity"`
		} `json:"layers"`
		Baseline *struct {
			SizeBytes int64 `json:"size_bytes"`
		} `json:"baseline"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Task != "prune" || res.Method != "global" || res.Sparsity == nil || *res.Sparsity < 0.89 ||
		len(res.Layers) != 3 || res.SizeBytes != fi.Size() || res.Baseline == nil || res.Baseline.SizeBytes <= res.SizeBytes {
		t.Fatalf("result %s", lines[len(lines)-1])
	}
	if !strings.Contains(lines[len(lines)-2], `"sparsity"`) || !strings.Contains(lines[len(lines)-2], `"phase":"fine-tune"`) {
		t.Fatalf("last epoch event %s", lines[len(lines)-2])
	}

	code, stdout, stderr = runCLI(t, "prune", "--sensitivity", "--model", base)
	if code != 0 || !strings.Contains(stdout, "95%") || strings.Count(stdout, ":dense") != 3 {
		t.Fatalf("sensitivity: exit %d: %s%s", code, stdout, stderr)
	}
	// The dense layout keeps every weight's bytes, and is no faster.
	code, stdout, stderr = runCLI(t, "prune", "--model", base, "--sparsity", "0.9", "--finetune-epochs", "0", "--dense")
	if code != 0 || !strings.Contains(stdout, "1.00x the size") {
		t.Fatalf("dense layout: exit %d: %s%s", code, stdout, stderr)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"prune"}, "--model FILE is required"},
		{[]string{"prune", "--model", base, "--method", "lottery"}, `--method "lottery" is not one of`},
		{[]string{"prune", "--model", base, "--sparsity", "1"}, "--sparsity must be in [0, 1)"},
		{[]string{"prune", "--model", base, "--method", "structured", "--schedule", "gradual"}, "needs an unstructured method"},
		{[]string{"prune", "--model", base, "--rewind", "--finetune-epochs", "0"}, "need --finetune-epochs"},
		{[]string{"prune", "--model", base, "--data", "moons", "--seed", "2"}, "another split"},
		{[]string{"prune", "--model", base, "--data", "blobs"}, "features per sample"},
		{[]string{"prune", "--sensitivity", "--model", base, "--out", out}, "saves no model"},
	} {
		code, stdout, stderr := runCLI(t, c.args...)
		if code != exitBadUsage || !strings.HasPrefix(stderr, "optlab: ") || strings.Count(stderr, "\n") != 1 ||
			!strings.Contains(stderr, c.want) || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line containing %q", c.args, code, stdout, stderr, c.want)
		}
	}
}
