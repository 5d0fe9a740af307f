package tui

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

func (m *Model) activeTitle() string { return m.screens[m.active].Title() }

func baseline(m *Model) *baselineScreen { return m.screens[1].(*baselineScreen) }

func results(m *Model) *resultsScreen { return screenNamed(m, "Results").(*resultsScreen) }

func TestKeysRouteBetweenScreens(t *testing.T) {
	m, _ := newTestModel(t, 100, 30)
	steps := []struct {
		key, want string
	}{
		{"2", "Baseline"}, {"8", "Results"}, {"1", "Data"}, {"9", "Data"}, // no 9th screen: stay
		{"tab", "Baseline"}, {"tab", "Prune"}, {"tab", "Quantize"}, {"tab", "Distill"}, {"tab", "Tune"},
		{"tab", "Architecture"}, {"tab", "Results"}, {"tab", "Data"},
		{"shift+tab", "Results"}, {"shift+tab", "Architecture"},
		{"esc", "Results"}, {"esc", "Data"}, {"esc", "Results"}, // back through the visits
	}
	for i, s := range steps {
		press(m, s.key)
		if got := m.activeTitle(); got != s.want {
			t.Fatalf("step %d: after %q the screen is %q, want %q", i, s.key, got, s.want)
		}
	}
}

func TestHelpToggleChangesFooter(t *testing.T) {
	m, _ := newTestModel(t, 100, 30)
	short := m.View()
	press(m, "?")
	if !m.help.ShowAll {
		t.Fatal("? did not turn full help on")
	}
	full := m.View()
	if !strings.Contains(full, "previous screen") || strings.Contains(short, "previous screen") {
		t.Fatalf("full help should list shift+tab, short help not:\nshort:\n%s\nfull:\n%s", short, full)
	}
	press(m, "?")
	if m.help.ShowAll {
		t.Fatal("? did not turn full help off")
	}
}

func TestQuitCancelsRuns(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c"} {
		m, f := newTestModel(t, 100, 30)
		cmd := press(m, k)
		if cmd == nil {
			t.Fatalf("%s returned no Cmd", k)
		}
		if f.cancelAll != 0 {
			t.Fatalf("%s: Update cancelled runs itself instead of in a Cmd", k)
		}
		// tea.Sequence yields a sequenceMsg: run its Cmds in order.
		msg := cmd()
		var sawQuit bool
		for _, c := range sequence(msg) {
			if _, ok := c().(tea.QuitMsg); ok {
				sawQuit = true
			}
		}
		if f.cancelAll != 1 || !sawQuit {
			t.Fatalf("%s: cancelAll=%d, quit=%v; want both", k, f.cancelAll, sawQuit)
		}
	}
}

// sequence returns the Cmds of a tea.Sequence message (an unexported slice
// type of Cmds).
func sequence(msg tea.Msg) []tea.Cmd {
	v := reflect.ValueOf(msg)
	if v.Kind() != reflect.Slice {
		return nil
	}
	var cmds []tea.Cmd
	for i := range v.Len() {
		if c, ok := v.Index(i).Interface().(tea.Cmd); ok && c != nil {
			cmds = append(cmds, c)
		}
	}
	return cmds
}

func TestStartReturnsCmdAndStartsNothing(t *testing.T) {
	m, f := newTestModel(t, 100, 30)
	press(m, "2")
	cmd := press(m, "s")
	if cmd == nil {
		t.Fatal("s returned no Cmd")
	}
	if f.startedCount() != 0 {
		t.Fatal("Update started a run itself")
	}
	run(m, cmd)
	if f.startedCount() != 1 {
		t.Fatalf("running the Cmd started %d runs, want 1", f.startedCount())
	}
	spec := f.started[0]
	if spec.Model != "mlp:32,32" || spec.Data.Name != "moons" || spec.Epochs != 30 || spec.Data.Seed != 1 {
		t.Fatalf("started %+v", spec)
	}
	if b := baseline(m); b.run != 1 || b.state != runQueued {
		t.Fatalf("baseline screen tracks run %d in state %d", b.run, b.state)
	}
	// A second s while the run is going is refused, in words.
	if cmd := press(m, "s"); cmd != nil {
		t.Fatal("s started a second run while one is going")
	}
	if !strings.Contains(baseline(m).notice, "already") {
		t.Fatalf("notice %q does not say a run is going", baseline(m).notice)
	}
}

func TestListenerReArmedAfterEveryEvent(t *testing.T) {
	m, f := newTestModel(t, 100, 30)
	press(m, "2")
	run(m, press(m, "s"))
	events := []lab.Event{
		{Run: 1, Kind: lab.Started},
		{Run: 1, Kind: lab.Progress, Stats: fixtureStats(1, 3, false)},
		{Run: 99, Kind: lab.Progress, Stats: fixtureStats(1, 3, false)}, // unknown run
		{Run: 1, Kind: lab.Failed, Err: context.Canceled},
		{Run: 7, Kind: lab.Finished, Result: fixtureResult(7, "mlp:4", 0.9, 100)},
	}
	for _, e := range events {
		_, cmd := m.Update(labEventMsg(e))
		if cmd == nil {
			t.Fatalf("no Cmd after a %v event: the listener was not re-armed", e.Kind)
		}
		// The re-armed listener reads the next event from the lab's stream.
		f.events <- lab.Event{Run: 1234, Kind: lab.Progress}
		if !yields(cmd, labEventMsg{Run: 1234, Kind: lab.Progress}) {
			t.Fatalf("the Cmd after a %v event does not read the lab's stream", e.Kind)
		}
	}
}

// yields runs cmd (walking batches) and reports whether one of its messages
// is want.
func yields(cmd tea.Cmd, want labEventMsg) bool {
	if cmd == nil {
		return false
	}
	switch msg := cmd().(type) {
	case tea.BatchMsg:
		for _, c := range msg {
			if yields(c, want) {
				return true
			}
		}
	case labEventMsg:
		return msg.Run == want.Run && msg.Kind == want.Kind
	}
	return false
}

func TestStaleAndUnknownRunsIgnored(t *testing.T) {
	m, _ := newTestModel(t, 100, 30)
	press(m, "2")
	run(m, press(m, "s"))
	b := baseline(m)
	m.Update(labEventMsg{Run: 1, Kind: lab.Progress, Stats: fixtureStats(2, 5, false)})
	m.Update(labEventMsg{Run: 42, Kind: lab.Progress, Stats: fixtureStats(9, 9, false)})
	m.Update(labEventMsg{Run: 42, Kind: lab.Failed, Err: core.ErrDiverged})
	if b.stats.Epoch != 2 || b.state != runRunning || b.err != nil {
		t.Fatalf("an unknown run changed the baseline screen: epoch %d, state %d, err %v", b.stats.Epoch, b.state, b.err)
	}
	// Start a second run: events of the first are now stale.
	m.Update(labEventMsg{Run: 1, Kind: lab.Failed, Err: context.Canceled})
	run(m, press(m, "s"))
	if b.run != 2 {
		t.Fatalf("second run is %d, want 2", b.run)
	}
	m.Update(labEventMsg{Run: 1, Kind: lab.Progress, Stats: fixtureStats(8, 1, false)})
	if b.stats.Epoch != 0 {
		t.Fatalf("a stale run's progress reached the screen: epoch %d", b.stats.Epoch)
	}
}

func TestCancelKeyCancelsSelectedRun(t *testing.T) {
	m, f := newTestModel(t, 100, 30)
	press(m, "2")
	if cmd := press(m, "x"); cmd != nil {
		t.Fatal("x with no run returned a Cmd")
	}
	run(m, press(m, "s"))
	m.Update(labEventMsg{Run: 1, Kind: lab.Started})
	cmd := press(m, "x")
	if cmd == nil || len(f.cancelled) != 0 {
		t.Fatalf("x must return a Cmd and cancel nothing itself (cancelled %v)", f.cancelled)
	}
	cmd()
	if !slices.Equal(f.cancelled, []lab.RunID{1}) {
		t.Fatalf("cancelled %v, want [1]", f.cancelled)
	}
	m.Update(labEventMsg{Run: 1, Kind: lab.Failed, Err: context.Canceled})
	if b := baseline(m); b.state != runCancelled || !strings.Contains(b.statusLine(), "cancelled") {
		t.Fatalf("state %d, status %q", b.state, b.statusLine())
	}
}

func TestDivergedRunSaysSo(t *testing.T) {
	m, _ := newTestModel(t, 100, 30)
	press(m, "2")
	run(m, press(m, "s"))
	m.Update(labEventMsg{Run: 1, Kind: lab.Failed, Err: fmt.Errorf("epoch 3: %w", core.ErrDiverged)})
	if got := baseline(m).statusLine(); !strings.Contains(got, "training diverged") {
		t.Fatalf("status %q does not say the run diverged", got)
	}
}

func TestFormValidation(t *testing.T) {
	cases := []struct {
		field int
		value string
		want  string // in the error
	}{
		{fModel, "mlp:abc", "layer size"},
		{fModel, "foo:3", "unknown model"},
		{fModel, "mlp:60000,60000", "too large"},
		{fLR, "-1", "learning rate"},
		{fLR, "fast", "learning rate"},
		{fEpochs, "0", "epochs"},
		{fBatch, "1.5", "batch size"},
		{fDropout, "1", "dropout"},
		{fSeed, "-3", "seed"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.field, c.value), func(t *testing.T) {
			m, f := newTestModel(t, 100, 30)
			press(m, "2")
			b := baseline(m)
			for b.form.focus != c.field {
				press(m, "down")
			}
			press(m, "enter")
			if !m.screens[m.active].Editing() {
				t.Fatal("enter did not start editing")
			}
			press(m, "ctrl+u") // clear the field
			for _, r := range c.value {
				press(m, string(r))
			}
			press(m, "enter")
			fld := b.form.fields[c.field]
			if fld.value() != c.value {
				t.Fatalf("typed %q, field holds %q (typed keys went elsewhere?)", c.value, fld.value())
			}
			if fld.err == nil || !strings.Contains(fld.err.Error(), c.want) {
				t.Fatalf("error %v, want one mentioning %q", fld.err, c.want)
			}
			if cmd := press(m, "s"); cmd != nil {
				t.Fatal("s returned a Cmd with an invalid field")
			}
			if !strings.Contains(b.notice, "cannot start") || !strings.Contains(b.notice, fld.label) {
				t.Fatalf("notice %q does not give the reason", b.notice)
			}
			if f.startedCount() != 0 {
				t.Fatal("a run started")
			}
			if !strings.Contains(m.View(), "cannot start") {
				t.Fatal("the refusal is not on screen")
			}
		})
	}
}

func TestTypingInAFieldBypassesGlobalKeys(t *testing.T) {
	m, _ := newTestModel(t, 100, 30)
	press(m, "2", "enter", "ctrl+u")
	cmd := press(m, "q", "1", "s", "?")
	if m.activeTitle() != "Baseline" || m.help.ShowAll {
		t.Fatal("typed characters reached the global keys")
	}
	if got := baseline(m).form.fields[fModel].value(); got != "q1s?" {
		t.Fatalf("field holds %q, want q1s?", got)
	}
	_ = cmd
	press(m, "esc") // discard
	if got := baseline(m).form.fields[fModel].value(); got != "mlp:32,32" {
		t.Fatalf("esc kept %q", got)
	}
	if cmd := press(m, "ctrl+c"); cmd == nil {
		t.Fatal("ctrl+c must quit even while editing")
	}
}

func TestChoiceFieldsCycle(t *testing.T) {
	m, _ := newTestModel(t, 100, 30)
	press(m, "2", "down", "right")
	if got := baseline(m).form.fields[fAct].value(); got != core.Activations[1] {
		t.Fatalf("activation %q after →, want %q", got, core.Activations[1])
	}
	press(m, "left", "left")
	if got := baseline(m).form.fields[fAct].value(); got != core.Activations[len(core.Activations)-1] {
		t.Fatalf("activation %q after ←←", got)
	}
}

func TestDataScreenChoosesDataset(t *testing.T) {
	m, _ := newTestModel(t, 100, 30)
	cmd := press(m, "down") // moons → the next built-in
	d := m.screens[0].(*dataScreen)
	next := d.items[d.cursor].Name
	if cmd == nil {
		t.Fatal("moving to an unloaded dataset should load it in a Cmd")
	}
	run(m, press(m, "enter"))
	if m.activeTitle() != "Baseline" || baseline(m).data != next || d.chosen != next {
		t.Fatalf("after enter: screen %s, baseline data %q, chosen %q; want Baseline, %q",
			m.activeTitle(), baseline(m).data, d.chosen, next)
	}
	run(m, press(m, "s"))
	if f := baseline(m); f.runSpec.Data.Name != next {
		t.Fatalf("the run trains on %q, want %q", f.runSpec.Data.Name, next)
	}
}

func TestResultsTrackFinishedRunsAndBaseline(t *testing.T) {
	m, f := newTestModel(t, 100, 30)
	m.Update(labEventMsg{Run: 3, Kind: lab.Finished, Result: fixtureResult(3, "mlp:32", 0.95, 5000)})
	m.Update(labEventMsg{Run: 4, Kind: lab.Finished, Result: fixtureResult(4, "mlp:8", 0.97, 1000)})
	m.Update(labEventMsg{Run: 4, Kind: lab.Finished, Result: fixtureResult(4, "mlp:8", 0.97, 1000)}) // duplicate
	r := results(m)
	if len(r.results) != 2 || r.baseline != 3 {
		t.Fatalf("%d results, baseline %d; want 2 and 3", len(r.results), r.baseline)
	}
	showScreen(m, "Results")
	press(m, "down")
	run(m, press(m, "b"))
	if f.baseline != 4 || r.baseline != 4 {
		t.Fatalf("b marked %d in the lab and %d on screen, want 4", f.baseline, r.baseline)
	}
	tab := r.runsTable()
	acc := tab.rows[1][3] // run, model, made by, test acc (one dataset: no dataset column)
	if !acc.best || tab.rows[0][3].best {
		t.Fatalf("best accuracy not starred on the right row: %+v", tab.rows)
	}
}

func TestExportWritesTheModel(t *testing.T) {
	m, _ := newTestModel(t, 100, 30)
	res := fixtureResult(1, "mlp:4", 0.9, 100)
	mdl, err := core.Build("mlp:4", []int{2}, []string{"0", "1"}, core.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res.Model = mdl
	res.Data = lab.DataSpec{Name: "moons", TestFrac: 0.25, ValFrac: 0.1, Seed: 7, Samples: 400, Noise: 0.2}
	m.Update(labEventMsg{Run: 1, Kind: lab.Finished, Result: res})
	showScreen(m, "Results")
	press(m, "e")
	if !m.screens[m.active].Editing() {
		t.Fatal("e did not open the file name input")
	}
	path := t.TempDir() + "/m.safetensors"
	press(m, "ctrl+u")
	for _, r := range path {
		press(m, string(r))
	}
	cmd := press(m, "enter")
	if cmd == nil {
		t.Fatal("enter returned no save Cmd")
	}
	// Not run(): the save syncs the file to disk, which can take longer than
	// run's wait on a busy machine; this Cmd never waits on the lab.
	m.Update(cmd())
	if r := results(m); r.noticeBad || !strings.Contains(r.notice, "saved") || !strings.Contains(r.notice, " B)") {
		t.Fatalf("notice %q", r.notice)
	}
	_, info, err := core.LoadModel(path)
	if err != nil {
		t.Fatalf("the exported file does not load: %v", err)
	}
	// The file names the split, so that eval measures it on the same test samples.
	if d := res.Data; info.Dataset != d.Name || info.DataSeed != d.Seed || info.TestFrac != d.TestFrac ||
		info.Samples != d.Samples || info.Noise != d.Noise {
		t.Errorf("the exported file records %+v, want the split %+v", info, d)
	}
	// A path that cannot be written gives the error in words.
	press(m, "e", "ctrl+u")
	for _, r := range "/nonexistent/dir/m.safetensors" {
		press(m, string(r))
	}
	m.Update(press(m, "enter")())
	if r := results(m); !r.noticeBad || !strings.Contains(r.notice, "export failed") {
		t.Fatalf("notice %q", r.notice)
	}
}

func TestRegionsComputedInCmdOnFinish(t *testing.T) {
	m, _ := newTestModel(t, 120, 40)
	press(m, "2")
	run(m, press(m, "s"))
	res := fixtureResult(1, "mlp:4", 0.9, 100)
	mdl, err := core.Build("mlp:4", []int{2}, []string{"0", "1"}, core.BuildOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	res.Model = mdl
	_, cmd := m.Update(labEventMsg{Run: 1, Kind: lab.Finished, Result: res})
	b := baseline(m)
	if b.regions != nil {
		t.Fatal("regions computed in Update")
	}
	run(m, cmd)
	if b.regions == nil || len(b.regions.Cls) != regionW*regionH {
		t.Fatal("the regions Cmd did not deliver a grid")
	}
	if !strings.Contains(m.View(), "Decision regions") {
		t.Fatal("the plot is not titled as decision regions")
	}
}
