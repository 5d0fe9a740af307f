package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinySpace writes a search space of tiny models and returns its path.
func tinySpace(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "space.yaml")
	if err := os.WriteFile(p, []byte("lr: {log_uniform: [1e-3, 1e-1]}\nunits: {int: [2, 16]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTuneJSONLines(t *testing.T) {
	code, stdout, stderr := runCLI(t, "tune", "--data", "moons", "--strategy", "asha", "--trials", "6",
		"--max-epochs", "3", "--workers", "2", "--space", tinySpace(t), "--objective", "accuracy,latency", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	count := map[string]int{}
	var last map[string]any
	for _, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		count[v["type"].(string)]++
		if v["type"] == "epoch" && v["trial"] == nil {
			t.Errorf("an epoch line without its trial: %s", l)
		}
		last = v
	}
	if count["study"] != 1 || count["trial"] < 12 || count["epoch"] < 6 || count["importance"] != 1 || count["result"] != 1 {
		t.Errorf("line types %v", count)
	}
	if last["type"] != "result" || last["task"] != "tune" || len(last["trials"].([]any)) != 6 ||
		last["total_epochs"].(float64) < 6 || last["best"] == nil || last["pareto"] == nil {
		t.Errorf("last line %v", last)
	}
}

func TestTuneResumesAFinishedStudy(t *testing.T) {
	state := filepath.Join(t.TempDir(), "study.json")
	args := []string{"tune", "--data", "moons", "--strategy", "random", "--trials", "3", "--max-epochs", "2",
		"--space", tinySpace(t), "--resume", state}
	code, first, stderr := runCLI(t, args...)
	if code != exitOK || strings.Count(first, " started ") != 3 {
		t.Fatalf("exit %d, output:\n%s%s", code, first, stderr)
	}
	// The same command again: the study is over, nothing trains.
	code, again, stderr := runCLI(t, args...)
	if code != exitOK || strings.Contains(again, " started ") || !strings.Contains(again, "best: trial") {
		t.Errorf("exit %d, output:\n%s%s", code, again, stderr)
	}
	// Flags that describe another study are refused.
	code, _, stderr = runCLI(t, "tune", "--data", "moons", "--trials", "5", "--resume", state)
	if code != exitBadUsage || !strings.Contains(stderr, "holds a different study than --data --trials") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestTuneBadInput(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("lr: {log_uniform: [1e-3]}\n"), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"tune", "--strategy", "bayes"}, `--strategy "bayes" is not one of grid, random, asha, hyperband, tpe`},
		{[]string{"tune", "--space", bad}, "bad.yaml: line 1: lr: log_uniform: want [low, high]"},
		{[]string{"tune", "--objective", "accuracy,speed"}, "want accuracy, optionally followed by latency or size"},
		{[]string{"tune", "--workers", "0"}, "--workers must be at least 1"},
		{[]string{"tune", "--trials", "-1"}, "--trials must not be negative (got -1)"},
		{[]string{"tune", "--strategy", "asha", "--max-epochs", "9", "--min-epochs", "10"}, "exceeds the largest"},
	}
	for _, c := range cases {
		code, stdout, stderr := runCLI(t, c.args...)
		if code != exitBadUsage || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 || stdout != "" {
			t.Errorf("%v: exit %d, stderr %q, want one line containing %q", c.args, code, stderr, c.want)
		}
	}
}
