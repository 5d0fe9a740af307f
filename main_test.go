package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs one command line and returns its exit code, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestBadInputGetsOneLineAndExitCode2(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	text := write("text.csv", "a,b,label\n1,2,x\n3,abc,y\n")
	ragged := write("ragged.csv", "a,b,label\n1,2,x\n3,4\n")
	ok := write("ok.csv", "a,b,label\n1,2,x\n3,4,y\n")
	// 800 features: mlp:65536 is fine on its own but too large on this input.
	header, row := make([]string, 801), make([]string, 801)
	for i := range 800 {
		header[i], row[i] = fmt.Sprintf("x%d", i), "0.5"
	}
	header[800] = "label"
	lines := []string{strings.Join(header, ",")}
	for i := range 20 {
		lines = append(lines, strings.Join(row[:800], ",")+","+"ab"[i%2:i%2+1])
	}
	wide := write("wide.csv", strings.Join(lines, "\n")+"\n")
	badModel := write("bad.safetensors", "\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":1}         ")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"train", "--data", filepath.Join(dir, "missing.csv")}, "missing.csv: no such file"},
		{[]string{"train", "--data", text}, `text.csv line 3: column "b" is not a number ("abc")`},
		{[]string{"train", "--data", ragged}, "ragged.csv line 3: 2 columns, expected 3"},
		{[]string{"train", "--data", ok, "--label", "zz"}, `no column named "zz"`},
		{[]string{"eval", "--model", badModel}, "not an optlab model"},
		{[]string{"eval", "--model", filepath.Join(dir, "none.safetensors")}, "no such file"},
		{[]string{"train", "--model", "cnnn:3"}, `unknown model spec "cnnn:3"`},
		{[]string{"train", "--epochs", "-3"}, "--epochs must be at least 1 (got -3)"},
		{[]string{"train", "--out", filepath.Join(dir, "none", "m.safetensors")}, "no directory"},
		{[]string{"tune", "--out", filepath.Join(dir, "none", "m.safetensors")}, "no directory"},
		// Specs that only the data shows to be wrong are still bad input.
		{[]string{"train", "--data", wide, "--model", "mlp:65536"}, `"mlp:65536" is too large`},
		{[]string{"train", "--data", "moons", "--model", "cnn:4"}, "needs image data"},
		{[]string{"train", "--lr", "x"}, `invalid value "x" for flag -lr`},
		{[]string{"train", "--test-frac", "1.5"}, "--test-frac must be between 0 and 1"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
	}
	for _, c := range cases {
		code, stdout, stderr := runCLI(t, c.args...)
		if code != exitBadUsage {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", c.args, code, stderr)
		}
		if !strings.HasPrefix(stderr, "optlab: ") || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: stderr %q, want one line containing %q", c.args, stderr, c.want)
		}
		if stdout != "" {
			t.Errorf("%v: wrote to stdout: %q", c.args, stdout)
		}
	}
}

func TestTrainJSONThenEvalReproduces(t *testing.T) {
	out := filepath.Join(t.TempDir(), "m.safetensors")
	code, stdout, stderr := runCLI(t, "train", "--data", "moons", "--model", "mlp:16", "--epochs", "5", "--json", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var epochs int
	for _, l := range lines[:len(lines)-1] {
		var ev map[string]any
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("line %q is not JSON: %v", l, err)
		}
		if ev["type"] == "epoch" {
			epochs++
		}
	}
	if epochs != 5 {
		t.Fatalf("%d epoch lines, want 5", epochs)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"type", "task", "dataset", "model", "test_accuracy", "test_loss", "params",
		"nonzero_params", "size_bytes", "macs", "latency_us", "throughput_sps", "train_seconds",
		"train_samples_per_sec", "epochs", "seed", "out"} {
		if _, ok := res[k]; !ok {
			t.Errorf("result record lacks %q", k)
		}
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if res["type"] != "result" || res["size_bytes"].(float64) != float64(st.Size()) {
		t.Fatalf("size_bytes %v, file has %d bytes", res["size_bytes"], st.Size())
	}

	code, stdout, stderr = runCLI(t, "eval", "--model", out, "--json")
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, stderr)
	}
	lines = strings.Split(strings.TrimSpace(stdout), "\n")
	var ev map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &ev); err != nil {
		t.Fatal(err)
	}
	if ev["test_accuracy"] != res["test_accuracy"] || ev["test_loss"] != res["test_loss"] {
		t.Fatalf("eval gives accuracy %v loss %v, training gave %v %v", ev["test_accuracy"], ev["test_loss"],
			res["test_accuracy"], res["test_loss"])
	}

	// Data the model does not take is bad input, not a failed run.
	code, _, stderr = runCLI(t, "eval", "--model", out, "--data", "digits")
	if code != exitBadUsage || !strings.Contains(stderr, "takes 2 features per sample") {
		t.Fatalf("eval on digits: exit %d, stderr %q; want 2 and the feature counts", code, stderr)
	}
}

func TestDivergedRunExitsWith1(t *testing.T) {
	code, _, stderr := runCLI(t, "train", "--data", "moons", "--opt", "sgd", "--lr", "1e30", "--epochs", "3")
	if code != exitFailed || !strings.Contains(stderr, "diverged") {
		t.Fatalf("exit %d, stderr %q; want 1 and a word about divergence", code, stderr)
	}
}

func TestHelpAndDatasets(t *testing.T) {
	code, stdout, _ := runCLI(t, "train", "--help")
	if code != 0 || !strings.Contains(stdout, "-epochs") {
		t.Fatalf("train --help: exit %d, %q", code, stdout)
	}
	code, stdout, _ = runCLI(t, "datasets")
	if code != 0 || !strings.Contains(stdout, "digits") || !strings.Contains(stdout, "16x16x1") {
		t.Fatalf("datasets: exit %d, %q", code, stdout)
	}
}
