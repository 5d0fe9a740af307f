package tui

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

// Tests of the Tune screen's search-space editor and study file. On the
// form, the space file is 7 downs from the strategy, the study file 8 and
// the first parameter (lr) 9.

// tuneSpaceStates are the editor's states for the golden and layout tests.
var tuneSpaceStates = []struct {
	name string
	set  func(t testing.TB, m *Model)
}{
	{"tune-space-invalid", func(_ testing.TB, m *Model) {
		showScreen(m, "Tune")
		press(m, "down", "down", "down", "down", "down", "down", "down", "down", "down")
		press(m, "enter", "ctrl+u", "log-uniform 0 .. 0.1", "enter")
	}},
	{"tune-space-add", func(_ testing.TB, m *Model) {
		showScreen(m, "Tune")
		press(m, "left") // grid
		for range 16 {
			press(m, "down") // dropout
		}
		press(m, "d", "a", "right") // the picker on model
	}},
	{"tune-study-file", func(t testing.TB, m *Model) {
		t.Setenv("HOME", t.TempDir()) // the field shows ~/study.json, the same on every machine
		home, _ := os.UserHomeDir()
		savedStudy(t, filepath.Join(home, "study.json"))
		showScreen(m, "Tune")
		setStudyFile(m, "~/study.json")
	}},
}

// savedStudy writes the state file of a study that has not run yet, which
// differs from the form's defaults in its trials, max epochs and seed.
func savedStudy(t testing.TB, path string) {
	t.Helper()
	spec := lab.TuneSpec{Data: lab.DataSpec{Name: "moons", Seed: 1},
		Search: core.SearchConfig{Strategy: "random", Trials: 2, MaxEpochs: 3, Seed: 7}}
	if _, err := lab.NewTuneStudy(spec, path); err != nil {
		t.Fatal(err)
	}
}

// setStudyFile enters path in the study file field and reads the file, as
// the runtime would run the Cmd that reads it.
func setStudyFile(m *Model, path string) {
	for tune(m).form.focus != ftStudy {
		press(m, "down")
	}
	if cmd := press(m, "enter", "ctrl+u", path, "enter"); cmd != nil {
		m.Update(cmd())
	}
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
	for range 8 {
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
	for range 9 {
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

// liveTune drives the root model on a real lab as the runtime would: Cmds
// run on goroutines, and their messages and the lab's events reach Update
// on the test's goroutine.
type liveTune struct {
	t       *testing.T
	m       *Model
	msgs    chan tea.Msg
	quit    chan struct{}
	started []lab.TrialConfig // the trial runs started, in order
	trained map[int]bool      // the trials that reported an epoch
	created []tuneCreatedMsg  // the studies made, in order
}

// newLiveTune returns the driver of a model of size 120×40 on a lab with
// one worker, on the Tune screen.
func newLiveTune(t *testing.T) (*liveTune, *lab.Lab) {
	l := lab.New(lab.Options{Workers: 1})
	t.Cleanup(func() { l.Shutdown(10 * time.Second) })
	m := New(t.Context(), l, Options{Data: "moons", Seed: 1, Renderer: plainRenderer()}).(*Model)
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	d := &liveTune{t: t, m: m, msgs: make(chan tea.Msg, 64), quit: make(chan struct{}), trained: map[int]bool{}}
	t.Cleanup(func() { close(d.quit) }) // runs first: the lab's listener returns once Shutdown closes the stream
	d.exec(waitForEvent(l.Events()))
	showScreen(m, "Tune")
	return d, l
}

// exec runs cmd on a goroutine, as the runtime does, and queues its message.
func (d *liveTune) exec(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	go func() {
		msg := cmd()
		select {
		case d.msgs <- msg:
		case <-d.quit:
		}
	}()
}

// press presses keys, running the Cmds they return.
func (d *liveTune) press(keys ...string) {
	for _, k := range keys {
		d.exec(press(d.m, k))
	}
}

// until handles messages until cond holds, failing after a minute.
func (d *liveTune) until(what string, cond func() bool) {
	d.t.Helper()
	deadline := time.After(time.Minute)
	for !cond() {
		select {
		case msg := <-d.msgs:
			d.handle(msg)
		case <-deadline:
			d.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (d *liveTune) handle(msg tea.Msg) {
	switch msg := msg.(type) {
	case nil:
		return
	case tea.BatchMsg:
		for _, c := range msg {
			d.exec(c)
		}
		return
	case labEventMsg:
		if c, ok := msg.Config.(lab.TrialConfig); ok && msg.Kind == lab.Started {
			d.started = append(d.started, c)
		}
		if msg.Kind == lab.Progress && msg.Stats.EpochDone {
			d.trained[msg.Stats.Trial] = true
		}
	case tuneCreatedMsg:
		d.created = append(d.created, msg)
	}
	_, cmd := d.m.Update(msg)
	d.exec(cmd)
}

// endedIDs are the trials of snap that have ended.
func endedIDs(snap *lab.TuneSnapshot) []int {
	var ids []int
	for _, t := range snap.Trials {
		if t.Status != lab.TrialRunning && t.Status != lab.TrialPaused {
			ids = append(ids, t.ID)
		}
	}
	return ids
}

func TestTuneStudyFileSavesAndResumes(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	home, _ := os.UserHomeDir()
	path := filepath.Join(home, "study.json")
	d, l := newLiveTune(t)
	s := tune(d.m)
	// Many tiny trials, one at a time: the study is cancelled long before
	// its end.
	d.press("down", "enter", "ctrl+u", "200", "enter", "down", "enter", "ctrl+u", "1", "enter",
		"down", "enter", "ctrl+u", "2", "enter")
	for s.form.focus != ftStudy {
		d.press("down")
	}
	d.press("enter", "ctrl+u", "~/study.json", "enter")
	d.until("the study file to be read", func() bool { return s.studyInfo != nil })
	if v := ansi.Strip(d.m.View()); !strings.Contains(v, "a new file: the study is saved here as it runs") {
		t.Fatalf("the form does not say the file is new:\n%s", v)
	}
	d.press("s")
	d.until("the study to run", func() bool { return s.state == runRunning })
	b, err := os.ReadFile(path)
	var state struct{ Format string }
	if err != nil || json.Unmarshal(b, &state) != nil || state.Format != "optlab-study" {
		t.Fatalf("%s is not a study file (%v): %.80q", path, err, b)
	}
	if !strings.Contains(s.notice, "saving the study to "+path) {
		t.Fatalf("notice %q", s.notice)
	}

	// X cancels the study once two trials have ended; the file keeps it.
	d.until("two trials to end", func() bool { return s.snap != nil && len(endedIDs(s.snap)) >= 2 })
	d.press("X")
	d.until("the study to be cancelled", func() bool { return s.state == runCancelled })
	if !strings.Contains(s.notice, "study saved in "+path) {
		t.Fatalf("after X: notice %q", s.notice)
	}
	d.press("n")
	d.until("the study file to be read again", func() bool { return s.studyInfo != nil })
	// A trial whose last epoch was done as X came still records its
	// result, after Run has returned: once its run has ended, the file is
	// read once more (enter, enter on the field), to compare with it.
	waitFor(t, func() bool { return len(l.Running()) == 0 })
	d.press("enter", "enter")
	d.until("the study file to be read once more", func() bool { return s.studyInfo != nil })
	before := s.studyInfo.snap
	ended := endedIDs(&before)
	want := fmt.Sprintf("interrupted random study on moons · %d/200 trials ended · s resumes it", len(ended))
	if v := ansi.Strip(d.m.View()); !strings.Contains(v, want) || !strings.Contains(v, "s resume study") {
		t.Fatalf("the form lacks %q and the key s resume study:\n%s", want, v)
	}

	// s resumes it: the trials that had ended are there as they were, and
	// none of them trains again.
	d.press("s")
	d.until("the study to be resumed", func() bool { return len(d.created) == 2 && s.state == runRunning })
	resumed := d.created[1]
	if !resumed.resumed || resumed.full != path {
		t.Fatalf("the second study was not resumed from %s: %+v", path, resumed)
	}
	records := func(snap lab.TuneSnapshot) map[int]lab.TrialRecord {
		out := map[int]lab.TrialRecord{}
		for _, tr := range snap.Trials {
			if slices.Contains(ended, tr.ID) {
				tr.Run = 0 // a run of the earlier session
				out[tr.ID] = tr
			}
		}
		return out
	}
	if got, want := records(resumed.snap), records(before); !reflect.DeepEqual(got, want) {
		t.Fatalf("the resumed study's ended trials\n %+v\nwant\n %+v", got, want)
	}
	from := len(d.started)
	d.until("a new trial to end", func() bool { return len(endedIDs(s.snap)) > len(ended) })
	for _, c := range d.started[from:] {
		if slices.Contains(ended, c.Trial) {
			t.Errorf("trial %d, which had ended, ran again: %+v", c.Trial, c)
		}
	}
	updates, _ := s.study.Updates(0)
	for _, u := range updates {
		if slices.Contains(ended, u.Trial) {
			t.Errorf("the resumed study updated trial %d, which had ended: %+v", u.Trial, u)
		}
	}
	d.press("X")
	d.until("the resumed study to be cancelled", func() bool { return s.state == runCancelled })
}

func TestTuneQuitLeavesTrialsResumable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "study.json")
	d, l := newLiveTune(t)
	s := tune(d.m)
	d.press("down", "enter", "ctrl+u", "200", "enter", "down", "enter", "ctrl+u", "1", "enter")
	for s.form.focus != ftStudy {
		d.press("down")
	}
	d.press("enter", "ctrl+u", path, "enter")
	d.until("the study file to be read", func() bool { return s.studyInfo != nil })
	d.press("s")
	d.until("trial 1 to train", func() bool { return d.trained[1] })
	// q cancels the screens' context, then (its Cmd, which this driver
	// does not run) every run of the lab, the study's trials among them;
	// the runs' ends may still reach the study meanwhile.
	d.press("q")
	l.CancelAll()
	d.until("the study to stop", func() bool {
		if len(d.started) > 1 {
			t.Fatalf("the study went on to trial %d after the lab cancelled trial 1", d.started[1].Trial)
		}
		return s.state == runCancelled
	})
	waitFor(t, func() bool { return len(l.Running()) == 0 })
	st, err := lab.ResumeTuneStudy(path)
	if err != nil {
		t.Fatal(err)
	}
	trials := st.Snapshot().Trials
	if len(trials) != 1 || trials[0].Status != lab.TrialRunning {
		t.Fatalf("the study file holds %+v: want trial 1 still running, to train again on resume", trials)
	}
}

func TestTuneBadStudyFileBlocksStart(t *testing.T) {
	dir := t.TempDir()
	truncated, yaml := filepath.Join(dir, "truncated.json"), filepath.Join(dir, "space.yaml")
	savedStudy(t, truncated)
	b, _ := os.ReadFile(truncated)
	os.WriteFile(truncated, b[:len(b)/2], 0o644)
	os.WriteFile(yaml, []byte("lr: {log_uniform: [1e-3, 1e-2]}\n"), 0o644)
	m, f := newTestModel(t, 120, 40)
	showScreen(m, "Tune")
	s := tune(m)
	for _, c := range []struct{ path, want string }{
		{truncated, "not an optlab study state file"},
		{yaml, "not an optlab study state file"},
		{filepath.Join(dir, "none", "study.json"), "its directory does not exist"},
	} {
		setStudyFile(m, c.path)
		if v := ansi.Strip(m.View()); !strings.Contains(v, c.want) {
			t.Fatalf("%s: the form lacks %q:\n%s", c.path, c.want, v)
		}
		if cmd := press(m, "s"); cmd != nil || s.notice != "cannot start: study file: "+c.want {
			t.Fatalf("%s: cmd %v, notice %q", c.path, cmd != nil, s.notice)
		}
	}
	setStudyFile(m, "")
	if cmd := press(m, "s"); cmd == nil {
		t.Fatalf("without a study file: %q", s.notice)
	}
	if f.startedCount() != 0 {
		t.Fatalf("%d runs started", f.startedCount())
	}
}

func TestTuneMismatchingStudyFileResumesAsSaved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "study.json")
	savedStudy(t, path)
	m, _ := newTestModel(t, 120, 40)
	showScreen(m, "Tune")
	s := tune(m)
	setStudyFile(m, path)
	for _, want := range []string{"interrupted random study on moons · 0/2 trials ended · s resumes it as saved",
		"differs from the form: it has trials 2 · max epochs 3 · seed 7"} {
		if v := ansi.Strip(m.View()); !strings.Contains(v, want) {
			t.Fatalf("the form lacks %q:\n%s", want, v)
		}
	}
	press(m, "up", "up", "up", "up", "up", "up", "up") // trials
	editRow(m, "2")
	if v := ansi.Strip(m.View()); !strings.Contains(v, "differs from the form: it has max epochs 3 · seed 7 ") {
		t.Fatalf("the mismatch is not updated after an edit:\n%s", v)
	}
	cmd := press(m, "s")
	if cmd == nil {
		t.Fatalf("s did not resume: %q", s.notice)
	}
	created, ok := cmd().(tuneCreatedMsg)
	if !ok || created.err != nil || !created.resumed {
		t.Fatalf("the start Cmd gave %#v", created)
	}
	t.Cleanup(created.cancel)
	if sc := created.study.Spec().Search; sc.Trials != 2 || sc.MaxEpochs != 3 || sc.Seed != 7 {
		t.Fatalf("the resumed study's search %+v: want the file's", sc)
	}
}
