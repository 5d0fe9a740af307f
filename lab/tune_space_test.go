package lab_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

func TestFormatDimRoundTrip(t *testing.T) {
	cases := []struct {
		dim  core.Dim
		text string
	}{
		{core.Dim{Name: "lr", Kind: core.LogUniform, Low: 1e-4, High: 3e-2}, "log-uniform 1e-4 .. 0.03"},
		{core.Dim{Name: "batch", Kind: core.Categorical, Values: []string{"32", "64", "128"}}, "32, 64, 128"},
		{core.Dim{Name: "units", Kind: core.Integer, Low: 16, High: 256, Log: true}, "int 16 .. 256 log"},
		{core.Dim{Name: "units", Kind: core.Integer, Low: 16, High: 256, Log: true, Points: 4}, "int 16 .. 256 log points 4"},
		{core.Dim{Name: "layers", Kind: core.Integer, Low: 1, High: 2}, "int 1 .. 2"},
		{core.Dim{Name: "weight_decay", Kind: core.LogUniform, Low: 1e-6, High: 1e-2}, "log-uniform 1e-6 .. 0.01"},
		{core.Dim{Name: "dropout", Kind: core.Uniform, Low: 0, High: 0.3, Points: 5}, "uniform 0 .. 0.3 points 5"},
		{core.Dim{Name: "dropout", Kind: core.Categorical, Values: []string{"0.1"}}, "0.1"},
		{core.Dim{Name: "lr", Kind: core.Uniform, Low: 0.1234567890123, High: 2.5e6}, "uniform 0.1234567890123 .. 2.5e6"},
		{core.Dim{Name: "hidden", Kind: core.Categorical, Values: []string{"128", "256,128"}}, `128, "256,128"`},
		{core.Dim{Name: "hidden", Kind: core.Categorical, Values: []string{"256,128"}}, `"256,128"`},
		{core.Dim{Name: "model", Kind: core.Categorical, Values: []string{"linear", "mlp:128,64", "cnn:8,16/gap"}}, `linear, "mlp:128,64", "cnn:8,16/gap"`},
	}
	for _, c := range cases {
		got := lab.FormatDim(c.dim)
		if got != c.text {
			t.Errorf("FormatDim(%+v) = %q, want %q", c.dim, got, c.text)
		}
		back, err := lab.ParseDimText(c.dim.Name, got)
		if err != nil {
			t.Errorf("ParseDimText(%q, %q): %v", c.dim.Name, got, err)
			continue
		}
		if !reflect.DeepEqual(back, c.dim) {
			t.Errorf("%q read back as %+v, want %+v", got, back, c.dim)
		}
	}
	// Every parameter's suggested range survives the round trip, and so
	// does the default space.
	for _, name := range lab.TuneParams {
		d, ok := lab.SuggestDim(name)
		if !ok {
			t.Fatalf("no suggestion for %q", name)
		}
		if back, err := lab.ParseDimText(name, lab.FormatDim(d)); err != nil || !reflect.DeepEqual(back, d) {
			t.Errorf("%s: %q read back as %+v, %v", name, lab.FormatDim(d), back, err)
		}
	}
	if _, ok := lab.SuggestDim("size"); ok {
		t.Error("a suggestion for an unknown parameter")
	}
}

// TestParseDimTextMatchesSpaceFile reads the space file of the CLI help and
// the same space written one parameter a line: the two agree.
func TestParseDimTextMatchesSpaceFile(t *testing.T) {
	file, err := lab.ParseSpace([]byte(`
lr: {log_uniform: [1e-4, 3e-2]}
units: {int: [16, 256], log: true, points: 4}
layers: {int: [1, 2]}
batch: [32, 64, 128]
activation: [relu, tanh]
dropout: 0.1
`))
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]string{
		"lr":         "log_uniform 1e-4..3e-2", // the file's spelling, no spaces
		"units":      "int 16 .. 256 log points 4",
		"layers":     "  int 1 ..2",
		"batch":      "32,64 ,  128",
		"activation": "relu, tanh",
		"dropout":    "0.1",
	}
	for _, d := range file {
		got, err := lab.ParseDimText(d.Name, lines[d.Name])
		if err != nil || !reflect.DeepEqual(got, d) {
			t.Errorf("%s: %q read as %+v, %v; the file says %+v", d.Name, lines[d.Name], got, err, d)
		}
	}
}

func TestParseDimTextErrors(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"lr", "", `parameter "lr": give a range such as "uniform 0 .. 0.3"`},
		{"lr", "log-uniform 1e-4", `parameter "lr": want "log-uniform LOW .. HIGH"`},
		{"lr", "log-uniform 1e-4 ..", `want "log-uniform LOW .. HIGH"`},
		{"lr", "uniform fast .. 1", `parameter "lr": "fast" is not a number`},
		{"lr", "log-uniform 0 .. 0.1", `parameter "lr": a log scale needs a positive lower bound, got 0`},
		{"dropout", "uniform 0.3 .. 0.1", `parameter "dropout": the range [0.3, 0.1] is empty`},
		{"dropout", "uniform 0 .. 0.3 log", "log applies to int ranges; use log-uniform for reals"},
		{"dropout", "uniform 0 .. 1.5", `parameter "dropout": 1.5 is not a rate in [0, 1)`},
		{"units", "int 16 .. 256 points", "points takes a whole number of at least 1"},
		{"units", "int 16 .. 256 points 0", "points takes a whole number of at least 1"},
		{"units", "int 16 .. 256 wide", `unexpected "wide" after the range`},
		{"units", "int 1.5 .. 4", "an integer range needs whole-number bounds"},
		{"batch", "uniform 16 .. 64", `parameter "batch" takes whole numbers`},
		{"batch", "32, 64.5", `parameter "batch": 64.5 is not a whole number`},
		{"activation", "uniform 0 .. 1", `parameter "activation" takes a list of choices`},
		{"activation", "relu, swish", `parameter "activation": swish is not one of relu`},
		{"activation", "relu, relu", `value "relu" appears twice`},
		{"activation", "relu,, tanh", "the list has an empty value"},
		{"activation", "relu,", "the list has an empty value"},
		{"hidden", `128, "256,128`, "a quote is not closed"},
		{"hidden", `128, "256"x`, `"256"x is not quoted properly`},
		{"hidden", `128, 25"6"`, `25"6": quote the whole value`},
		{"hidden", "128, 0", `parameter "hidden": model spec`},
		{"size", "1, 2", `unknown parameter "size"`},
		{"epochs", "0, 3", `parameter "epochs": 0 is not a number of at least 1`},
	}
	for _, c := range cases {
		_, err := lab.ParseDimText(c.name, c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %q: %v, want an error containing %q", c.name, c.text, err, c.want)
		}
	}
}

func TestValidateSpaceChecksTheWholeSpace(t *testing.T) {
	units, _ := lab.SuggestDim("units")
	hidden, _ := lab.SuggestDim("hidden")
	if err := lab.ValidateSpace(core.Space{units, hidden}); err == nil || !strings.Contains(err.Error(), "one of: units and layers, hidden, or model") {
		t.Errorf("units and hidden: %v", err)
	}
	if err := lab.ValidateSpace(nil); err == nil || !strings.Contains(err.Error(), "no parameters") {
		t.Errorf("an empty space: %v", err)
	}
	if err := lab.ValidateSpace(lab.DefaultSpace()); err != nil {
		t.Errorf("the default space: %v", err)
	}
}
