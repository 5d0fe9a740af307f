package tui

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

// Tests of the Tune screen's search-space editor. On the form, the space
// file is 7 downs from the strategy and the first parameter (lr) 8.

// tuneSpaceStates are the editor's states for the golden and layout tests.
var tuneSpaceStates = []struct {
	name string
	set  func(t testing.TB, m *Model)
}{
	{"tune-space-invalid", func(_ testing.TB, m *Model) {
		showScreen(m, "Tune")
		press(m, "down", "down", "down", "down", "down", "down", "down", "down")
		press(m, "enter", "ctrl+u", "log-uniform 0 .. 0.1", "enter")
	}},
	{"tune-space-add", func(_ testing.TB, m *Model) {
		showScreen(m, "Tune")
		press(m, "left") // grid
		for range 15 {
			press(m, "down") // dropout
		}
		press(m, "d", "a", "right") // the picker on model
	}},
}

func init() {
	states = append(states, tuneSpaceStates...)
}

// editRow replaces the text of the focused field.
func editRow(m *Model, text string) { press(m, "enter", "ctrl+u", text, "enter") }

func TestTuneSpaceEditsReachTheStudy(t *testing.T) {
	m, _ := newTestModel(t, 120, 40)
	showScreen(m, "Tune")
	s := tune(m)
	press(m, "left", "down") // grid; trials
	editRow(m, "5000")
	for range 7 {
		press(m, "down") // lr
	}
	editRow(m, "log-uniform 1e-3..1e-2 points 2")
	for range 7 {
		press(m, "down") // dropout
	}
	press(m, "d")
	if s.form.fields[s.form.focus].label != "weight_decay" || !strings.Contains(s.notice, "removed dropout") {
		t.Fatalf("after d: focus on %q, notice %q", s.form.fields[s.form.focus].label, s.notice)
	}
	press(m, "a", "right", "right", "right", "left", "enter") // hidden, model, schedule, dropout, back to schedule
	if s.adding || s.form.fields[s.form.focus].label != "schedule" {
		t.Fatalf("after adding: picker open %v, focus on %q", s.adding, s.form.fields[s.form.focus].label)
	}
	press(m, "a", "esc") // the picker closes without adding
	if s.adding || len(s.spaceRows()) != 8 {
		t.Fatalf("esc: picker open %v, %d rows", s.adding, len(s.spaceRows()))
	}
	// 2 lr × 3 batch × 3 units × 2 layers × 3 activations × 3 optimizers
	// × 3 weight decays × 3 schedules.
	const grid = 2916
	v := ansi.Strip(m.View())
	for _, want := range []string{"Search space (edited) · grid of 2916", "5000  → all 2916",
		"lr            log-uniform 1e-3 .. 0.01 points 2", "schedule      constant, step, cosine"} {
		if !strings.Contains(v, want) {
			t.Fatalf("the view lacks %q:\n%s", want, v)
		}
	}
	cmd := press(m, "s")
	if cmd == nil {
		t.Fatalf("s returned no Cmd: %q", s.notice)
	}
	created, ok := cmd().(tuneCreatedMsg)
	if !ok || created.err != nil {
		t.Fatalf("the start Cmd gave %#v", created)
	}
	t.Cleanup(created.cancel)
	spec := created.study.Spec()
	want := lab.DefaultSpace()
	want[0] = core.Dim{Name: "lr", Kind: core.LogUniform, Low: 1e-3, High: 1e-2, Points: 2}
	want = append(want[:len(want)-1], core.Dim{Name: "schedule", Kind: core.Categorical, Values: core.Schedules})
	if !reflect.DeepEqual(spec.Space, want) {
		t.Errorf("the study's space\n %+v\nwant\n %+v", spec.Space, want)
	}
	if spec.Search.Strategy != "grid" || spec.Search.Trials != grid {
		t.Errorf("search %+v: want the whole grid of %d", spec.Search, grid)
	}
}

func TestTuneInvalidSpaceBlocksStart(t *testing.T) {
	m, f := newTestModel(t, 120, 40)
	showScreen(m, "Tune")
	s := tune(m)
	for range 8 {
		press(m, "down") // lr
	}
	editRow(m, "log-uniform 0 .. 0.1")
	const bad = `parameter "lr": a log scale needs a positive lower bound, got 0`
	// Under the field, the problem without the parameter's name.
	lines := strings.Split(ansi.Strip(m.View()), "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, "› lr            log-uniform 0 .. 0.1") })
	if i < 0 || i+1 == len(lines) || !strings.Contains(lines[i+1], "  a log scale needs a positive lower bound, got 0") {
		t.Fatalf("the problem is not on the line under the field:\n%s", strings.Join(lines, "\n"))
	}
	if cmd := press(m, "s"); cmd != nil || s.notice != "cannot start: "+bad {
		t.Fatalf("an invalid parameter: cmd %v, notice %q", cmd != nil, s.notice)
	}
	editRow(m, "log-uniform 1e-4 .. 0.1")

	// Problems of the space as a whole: the architecture set twice, epochs
	// with a strategy that allots them, no parameters at all.
	press(m, "a", "enter") // hidden, beside units and layers
	if cmd := press(m, "s"); cmd != nil || !strings.Contains(s.notice, "set the architecture with one of: units and layers, hidden, or model") {
		t.Fatalf("hidden and units: cmd %v, notice %q", cmd != nil, s.notice)
	}
	if v := ansi.Strip(m.View()); !strings.Contains(v, "set the architecture with one of") {
		t.Fatalf("the space's problem is not shown:\n%s", v)
	}
	press(m, "d", "a", "left", "enter") // epochs instead
	for s.form.focus != ftStrategy {
		press(m, "down")
	}
	press(m, "right") // asha
	if cmd := press(m, "s"); cmd != nil || !strings.Contains(s.notice, `asha allots epochs itself: drop the "epochs" parameter`) {
		t.Fatalf("asha with epochs: cmd %v, notice %q", cmd != nil, s.notice)
	}
	press(m, "up") // the last row
	for len(s.spaceRows()) > 0 {
		press(m, "d")
	}
	if cmd := press(m, "s"); cmd != nil || !strings.Contains(s.notice, "the search space has no parameters: a adds one") {
		t.Fatalf("no parameters: cmd %v, notice %q", cmd != nil, s.notice)
	}
	if f.startedCount() != 0 {
		t.Fatalf("%d runs started", f.startedCount())
	}
}

func TestTuneSpaceFile(t *testing.T) {
	dir := t.TempDir()
	good, broken := filepath.Join(dir, "small.yaml"), filepath.Join(dir, "broken.yaml")
	os.WriteFile(good, []byte("lr: {log_uniform: [1e-3, 1e-2]}\nbatch: [32, 64]\nhidden: ['64', '128,64']\n"), 0o644)
	os.WriteFile(broken, []byte("lr: {uniform: [1]}\n"), 0o644)
	m, _ := newTestModel(t, 80, 24)
	showScreen(m, "Tune")
	s := tune(m)
	for range 7 {
		press(m, "down") // the space file
	}
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "none.yaml"), "no such file"},
		{broken, "line 1: lr: uniform: want [low, high]"},
	} {
		run(m, press(m, "enter", "ctrl+u", c.path, "enter"))
		if cmd := press(m, "s"); cmd != nil || !strings.Contains(s.notice, "cannot start: space file: ") || !strings.Contains(s.notice, c.want) {
			t.Fatalf("%s: cmd %v, notice %q", c.path, cmd != nil, s.notice)
		}
		if len(s.spaceRows()) != len(lab.DefaultSpace()) {
			t.Fatalf("%s replaced the space", c.path)
		}
	}
	run(m, press(m, "enter", "ctrl+u", good, "enter"))
	want := core.Space{{Name: "lr", Kind: core.LogUniform, Low: 1e-3, High: 1e-2},
		{Name: "batch", Kind: core.Categorical, Values: []string{"32", "64"}},
		{Name: "hidden", Kind: core.Categorical, Values: []string{"64", "128,64"}}}
	if !reflect.DeepEqual(s.space, want) || !strings.Contains(s.notice, "read 3 parameters") {
		t.Fatalf("space %+v, notice %q", s.space, s.notice)
	}
	v := ansi.Strip(m.View())
	for _, line := range []string{"Search space (small.yaml) · grid of 12", `hidden        64, "128,64"`} {
		if !strings.Contains(v, line) {
			t.Fatalf("the view lacks %q:\n%s", line, v)
		}
	}
	if cmd := press(m, "s"); cmd == nil {
		t.Fatalf("the file's space was refused: %q", s.notice)
	}
}

func TestTuneSpaceKeepsTheFocusedRowOnView(t *testing.T) {
	m, _ := newTestModel(t, 60, 20)
	showScreen(m, "Tune")
	s := tune(m)
	for len(s.missing()) > 0 {
		press(m, "a", "enter") // every parameter, each added last
	}
	editRow(m, "0") // epochs: a problem under the last row
	for s.form.focus != ftFile {
		press(m, "down")
	}
	// A problem under the file too, and the full help, which leaves the
	// body fewer lines: the rows no longer all fit.
	run(m, press(m, "enter", filepath.Join(t.TempDir(), "none.yaml"), "enter"))
	press(m, "?")
	for _, name := range []string{"epochs", "lr"} {
		for s.form.fields[s.form.focus].label != name {
			press(m, "down")
		}
		if v := ansi.Strip(m.View()); !strings.Contains(v, "› "+name+" ") {
			t.Fatalf("the focused row %s is not on view:\n%s", name, v)
		}
	}
}
