package tui

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

// Fixtures and tests of the Prune and Distill screens and of the technique
// results on the Results screen. No training: models are built, and pruned,
// from fixed seeds.

func prune(m *Model) *pruneScreen { return screenNamed(m, "Prune").(*pruneScreen) }

func distill(m *Model) *distillScreen { return screenNamed(m, "Distill").(*distillScreen) }

// fixtureBase is a base model for the technique screens: an MLP on 64
// features (like digits) with 10 classes.
func fixtureBase(t testing.TB) *core.Model {
	t.Helper()
	classes := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	m, err := core.Build("mlp:32,16", []int{64}, classes, core.BuildOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// fixturePruned prunes fixtureBase at 90%, globally, and converts it to the
// sparse layout, as the prune job does (without fine-tuning).
func fixturePruned(t testing.TB) (*core.Model, core.PruneReport) {
	t.Helper()
	p, rep, err := core.Prune(fixtureBase(t), core.PruneConfig{Method: "global", Sparsity: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	final := core.ToSparse(p)
	for i, l := range rep.Layers {
		rep.Layers[i].Layout = core.Layout(final.Layers[l.Index])
	}
	return final, rep
}

// trainedBase starts a baseline run on the Baseline screen (run 1) and
// finishes it with fixtureBase as its model.
func trainedBase(t testing.TB, m *Model) {
	t.Helper()
	press(m, "2")
	run(m, press(m, "s"))
	res := fixtureResult(1, "mlp:32,32", 0.965, 5400)
	res.Model = fixtureBase(t)
	deliver(m, lab.Event{Run: 1, Kind: lab.Finished, Result: res})
}

// deliver gives e to the screens as the root does and runs the Cmds they
// return, but not the root's re-armed lab listener: left waiting in its
// goroutine, it would take the next event a test sends on the fake lab.
func deliver(m *Model, e lab.Event) {
	run(m, m.broadcast(labEventMsg(e)))
}

// prunedResult is the result of pruning run 1 at 90%: a third of the size,
// and no faster (the honest case).
func prunedResult(t testing.TB, id lab.RunID) *lab.Result {
	mdl, rep := fixturePruned(t)
	sp := rep.Sparsity
	base := fixtureResult(0, "mlp:32,32", 0.965, 5400)
	base.Task, base.LatencyMicros, base.History = lab.TaskTrain, 3.4, nil
	r := &lab.Result{Task: lab.TaskPrune, Dataset: "moons", Arch: "mlp:32,32", TestAccuracy: 0.958, TestLoss: 0.14,
		Params: 1218, NonzeroParams: 150, SizeBytes: 1800, MACs: 1152, LatencyMicros: 3.6, ThroughputSPS: 700000,
		TrainSeconds: 0.8, Epochs: 2, Seed: 1, Run: id, Baseline: base, Sparsity: &sp, Method: "global",
		Layers: rep.Layers, Model: mdl,
		Metrics: core.Metrics{Loss: 0.14, Accuracy: 0.958, Confusion: [][]int{{95, 5}, {3, 97}},
			PerClass: []core.ClassMetrics{{Class: "0", Precision: 0.969, Recall: 0.950, F1: 0.960, Support: 100},
				{Class: "1", Precision: 0.951, Recall: 0.970, F1: 0.960, Support: 100}}}}
	for e := 1; e <= 2; e++ {
		st := fixtureStats(e, 20, true)
		st.Epochs, st.Sparsity, st.Phase = 2, sp, core.PhaseFineTune
		r.History = append(r.History, st)
	}
	return r
}

// pruneProgress is fine-tuning epoch e of 2 at step s of 20.
func pruneProgress(e, s int, done bool) core.Stats {
	st := fixtureStats(e, s, done)
	st.Epochs, st.Sparsity, st.Phase = 2, 0.9, core.PhaseFineTune
	return st
}

// fixtureSensitivity is a sensitivity analysis of three layers, the last
// one the most sensitive.
func fixtureSensitivity() []core.LayerSensitivity {
	var out []core.LayerSensitivity
	for i, name := range []string{"0:dense", "2:dense", "4:dense"} {
		ls := core.LayerSensitivity{Name: name, Weights: 1000 / (i + 1)}
		for _, s := range core.SensitivitySparsities {
			acc := 0.96 - math.Pow(s, 4-float64(i))*0.5*float64(i+1)/3
			ls.Points = append(ls.Points, core.SensitivityPoint{Sparsity: s, Accuracy: acc})
		}
		out = append(out, ls)
	}
	return out
}

// distillProgress is a student's epoch e of 4 (validation figures when
// done), in phase "kind seed N".
func distillProgress(kind string, seed uint64, e int, done bool, acc float64) core.Stats {
	st := fixtureStats(e, 20, done)
	st.Epochs, st.Phase = 4, fmt.Sprintf("%s seed %d", kind, seed)
	if done {
		st.ValAcc = acc
	}
	return st
}

// distilledResult is a finished distillation over three seeds.
func distilledResult(id lab.RunID) *lab.Result {
	ta := 0.965
	teacher := fixtureResult(0, "mlp:32,32", ta, 5400)
	teacher.History = nil
	// The first seed's scratch student, registered by the lab as the next run.
	scratch := &lab.Result{Task: lab.TaskDistillScratch, Dataset: "moons", Arch: "mlp:16", TestAccuracy: 0.93, TestLoss: 0.25,
		Params: 322, NonzeroParams: 322, SizeBytes: 2100, MACs: 288, LatencyMicros: 2.0, ThroughputSPS: 2e6,
		TrainSeconds: 0.9, Epochs: 4, Seed: 1, Run: id + 1, Baseline: teacher,
		Metrics: core.Metrics{Loss: 0.25, Accuracy: 0.93, Confusion: [][]int{{93, 7}, {7, 93}},
			PerClass: []core.ClassMetrics{{Class: "0", Precision: 0.93, Recall: 0.93, F1: 0.93, Support: 100},
				{Class: "1", Precision: 0.93, Recall: 0.93, F1: 0.93, Support: 100}}}}
	return &lab.Result{Task: lab.TaskDistill, Dataset: "moons", Arch: "mlp:16", TestAccuracy: 0.951, TestLoss: 0.2,
		Params: 322, NonzeroParams: 322, SizeBytes: 2100, MACs: 288, LatencyMicros: 1.9, ThroughputSPS: 2e6,
		TrainSeconds: 1.1, Epochs: 4, Seed: 1, Run: id, Baseline: teacher, TeacherAccuracy: &ta,
		ScratchAccuracy:   &lab.Spread{Mean: 0.931, SD: 0.004, Runs: []float64{0.93, 0.935, 0.927}},
		DistilledAccuracy: &lab.Spread{Mean: 0.949, SD: 0.003, Runs: []float64{0.951, 0.946, 0.95}},
		Metrics: core.Metrics{Loss: 0.2, Accuracy: 0.951, Confusion: [][]int{{95, 5}, {5, 95}},
			PerClass: []core.ClassMetrics{{Class: "0", Precision: 0.95, Recall: 0.95, F1: 0.95, Support: 100},
				{Class: "1", Precision: 0.95, Recall: 0.95, F1: 0.95, Support: 100}}},
		Scratch: scratch}
}

// distillRunning starts a distillation of run 1 (run 2) and feeds it the
// teacher's event, seed 1's two students and part of seed 2's scratch one.
func distillRunning(t testing.TB, m *Model) {
	trainedBase(t, m)
	showScreen(m, "Distill")
	run(m, press(m, "s"))
	m.Update(labEventMsg{Run: 2, Kind: lab.Started})
	m.Update(labEventMsg{Run: 2, Kind: lab.Progress, Stats: core.Stats{Phase: lab.PhaseTeacher, EpochDone: true, ValAcc: 0.962}})
	for _, kind := range []string{lab.PhaseScratch, lab.PhaseDistilled} {
		for e := 1; e <= 4; e++ {
			acc := 0.80 + 0.03*float64(e)
			if kind == lab.PhaseDistilled {
				acc += 0.02
			}
			m.Update(labEventMsg{Run: 2, Kind: lab.Progress, Stats: distillProgress(kind, 1, e, true, acc)})
		}
	}
	m.Update(labEventMsg{Run: 2, Kind: lab.Progress, Stats: distillProgress(lab.PhaseScratch, 2, 1, true, 0.84)})
	m.Update(labEventMsg{Run: 2, Kind: lab.Progress, Stats: distillProgress(lab.PhaseScratch, 2, 2, false, 0)})
}

// The technique screens' states, drawn by the golden and layout tests.
var techniqueStates = []struct {
	name string
	set  func(t testing.TB, m *Model)
}{
	{"prune-idle", func(t testing.TB, m *Model) {
		trainedBase(t, m)
		showScreen(m, "Prune")
		run(m, press(m, "down")) // move to the criterion; weights of run 1 load
	}},
	{"prune-running", func(t testing.TB, m *Model) {
		trainedBase(t, m)
		showScreen(m, "Prune")
		run(m, press(m, "s"))
		m.Update(labEventMsg{Run: 2, Kind: lab.Started})
		m.Update(labEventMsg{Run: 2, Kind: lab.Progress, Stats: pruneProgress(1, 20, true)})
		m.Update(labEventMsg{Run: 2, Kind: lab.Progress, Stats: pruneProgress(2, 8, false)})
	}},
	{"prune-finished", func(t testing.TB, m *Model) {
		trainedBase(t, m)
		showScreen(m, "Prune")
		run(m, press(m, "s"))
		deliver(m, lab.Event{Run: 2, Kind: lab.Finished, Result: prunedResult(t, 2)})
	}},
	{"prune-sensitivity", func(t testing.TB, m *Model) {
		trainedBase(t, m)
		showScreen(m, "Prune")
		run(m, press(m, "v"))
		m.Update(labEventMsg{Run: 2, Kind: lab.Finished, Result: &lab.Result{Task: lab.TaskSensitivity,
			Sensitivity: fixtureSensitivity()}})
	}},
	{"distill-idle", func(t testing.TB, m *Model) {
		trainedBase(t, m)
		showScreen(m, "Distill")
	}},
	{"distill-running", func(t testing.TB, m *Model) { distillRunning(t, m) }},
	{"distill-finished", func(t testing.TB, m *Model) {
		distillRunning(t, m)
		m.Update(labEventMsg{Run: 2, Kind: lab.Finished, Result: distilledResult(2)})
	}},
	{"results-techniques", func(t testing.TB, m *Model) {
		trainedBase(t, m)
		showScreen(m, "Prune")
		run(m, press(m, "s"))
		m.Update(labEventMsg{Run: 2, Kind: lab.Finished, Result: prunedResult(t, 2)})
		showScreen(m, "Distill")
		run(m, press(m, "s"))
		m.Update(labEventMsg{Run: 3, Kind: lab.Finished, Result: distilledResult(3)})
		showScreen(m, "Results")
		press(m, "down")
	}},
}

func init() {
	for _, s := range techniqueStates {
		states = append(states, s)
	}
}

func TestPruneStartReturnsCmdAndStartsNothing(t *testing.T) {
	m, f := newTestModel(t, 100, 30)
	trainedBase(t, m)
	showScreen(m, "Prune")
	p := prune(m)
	if got := p.form.fields[fpModel].value(); got != "run 1" {
		t.Fatalf("model field %q, want the baseline, run 1", got)
	}
	cmd := press(m, "s")
	if cmd == nil {
		t.Fatal("s returned no Cmd")
	}
	if f.startedCount() != 1 {
		t.Fatal("Update started a run itself")
	}
	run(m, cmd)
	spec, ok := f.config(2).(lab.PruneSpec)
	if !ok || f.tasks[1] != lab.TaskPrune {
		t.Fatalf("run 2 started with %T (%s), want a PruneSpec", f.config(2), f.tasks[1])
	}
	want := lab.PruneSpec{Data: lab.DataSpec{Name: "moons", Seed: 1}, BaseRun: 1, Method: "lamp", Sparsity: 0.9,
		Schedule: lab.ScheduleOneShot, Epochs: 5, Seed: 1, SnapshotEvery: 1}
	if spec != want {
		t.Fatalf("started %+v\nwant    %+v", spec, want)
	}
	if p.run != 2 || p.state != runQueued {
		t.Fatalf("prune screen tracks run %d in state %d", p.run, p.state)
	}
	if cmd := press(m, "s"); cmd != nil || !strings.Contains(p.notice, "already") {
		t.Fatalf("a second s while the run goes: cmd %v, notice %q", cmd != nil, p.notice)
	}
	// Events: unknown runs are ignored, the run's own update the screen, and
	// the listener is re-armed after each.
	for _, e := range []lab.Event{
		{Run: 2, Kind: lab.Started},
		{Run: 2, Kind: lab.Progress, Stats: pruneProgress(1, 20, true)},
		{Run: 99, Kind: lab.Progress, Stats: pruneProgress(2, 20, true)},
		{Run: 99, Kind: lab.Failed, Err: core.ErrDiverged},
	} {
		_, cmd := m.Update(labEventMsg(e))
		f.events <- lab.Event{Run: 1234, Kind: lab.Progress}
		if !yields(cmd, labEventMsg{Run: 1234, Kind: lab.Progress}) {
			t.Fatalf("the listener was not re-armed after %+v", e)
		}
	}
	if p.stats.Epoch != 1 || p.state != runRunning || p.err != nil || p.stats.Sparsity != 0.9 {
		t.Fatalf("after the events: epoch %d, state %d, err %v, sparsity %g", p.stats.Epoch, p.state, p.err, p.stats.Sparsity)
	}
	if !strings.Contains(ansi.Strip(m.View()), "sparsity 90.0%") {
		t.Fatal("the current sparsity is not on screen")
	}
}

func TestPruneFinishedShowsHonestNumbersAndHeatmap(t *testing.T) {
	m, _ := newTestModel(t, 120, 40)
	trainedBase(t, m)
	showScreen(m, "Prune")
	run(m, press(m, "s"))
	p := prune(m)
	cmd := m.broadcast(labEventMsg{Run: 2, Kind: lab.Finished, Result: prunedResult(t, 2)})
	if len(p.mats) > 0 && p.mats[0].sparsity() > 0.5 {
		t.Fatal("the pruned weights were read in Update")
	}
	run(m, cmd)
	if len(p.mats) != 3 || p.mats[0].Rows != 32 || p.mats[0].Cols != 64 {
		t.Fatalf("heatmap matrices %d, first %dx%d; want 3, 32x64", len(p.mats), p.mats[0].Rows, p.mats[0].Cols)
	}
	var zeros, n int
	for _, w := range p.mats {
		zeros, n = zeros+w.Zeros, n+len(w.Abs)
	}
	if got := float64(zeros) / float64(n); math.Abs(got-0.9) > 0.01 {
		t.Fatalf("the heatmap's matrices are %.3f zero, want 0.9 (read from the sparse model)", got)
	}
	view := ansi.Strip(m.View())
	for _, want := range []string{"no faster than the baseline: 3.6 µs vs 3.4 µs.", "Weights of run 2 (pruned)", "csr"} {
		if !strings.Contains(view, want) {
			t.Errorf("the view lacks %q:\n%s", want, view)
		}
	}
	press(m, "]")
	if p.layer != 1 {
		t.Fatalf("] moved to layer %d, want 1", p.layer)
	}
	press(m, "[", "[")
	if p.layer != 2 {
		t.Fatalf("[[ moved to layer %d, want 2 (wrapping)", p.layer)
	}
}

func TestPruneFormRefusesBadValues(t *testing.T) {
	cases := []struct {
		set  map[int]string
		want string
	}{
		{map[int]string{fpSparsity: "100"}, "target sparsity"},
		{map[int]string{fpSparsity: "ninety"}, "target sparsity"},
		{map[int]string{fpEpochs: "-1"}, "fine-tune epochs"},
		{map[int]string{fpSeed: "x"}, "seed"},
		{map[int]string{fpMethod: "structured", fpSchedule: lab.ScheduleGradual}, "gradual"},
		{map[int]string{fpMethod: "random", fpRewind: "yes"}, "magnitude"},
		{map[int]string{fpEpochs: "0", fpSchedule: lab.ScheduleGradual}, "fine-tune epoch"},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			m, f := newTestModel(t, 100, 30)
			trainedBase(t, m)
			showScreen(m, "Prune")
			p := prune(m)
			for i, v := range c.set {
				for p.form.focus != i {
					press(m, "down")
				}
				if len(p.form.fields[i].choices) > 0 {
					for p.form.fields[i].value() != v {
						press(m, "right")
					}
					continue
				}
				press(m, "enter", "ctrl+u")
				for _, r := range v {
					press(m, string(r))
				}
				press(m, "enter")
			}
			if cmd := press(m, "s"); cmd != nil {
				t.Fatal("s returned a Cmd with an invalid form")
			}
			if !strings.HasPrefix(p.notice, "cannot start") || !strings.Contains(p.notice, c.want) {
				t.Fatalf("notice %q does not give the reason (%q)", p.notice, c.want)
			}
			if f.startedCount() != 1 {
				t.Fatal("a run started")
			}
			if !strings.Contains(ansi.Strip(m.View()), "cannot start") {
				t.Fatal("the refusal is not on screen")
			}
		})
	}
	t.Run("no model", func(t *testing.T) {
		m, f := newTestModel(t, 100, 30)
		showScreen(m, "Prune")
		if cmd := press(m, "s"); cmd != nil || f.startedCount() != 0 {
			t.Fatal("s started a run with no model to prune")
		}
		if p := prune(m); !strings.Contains(p.notice, "train a baseline first") {
			t.Fatalf("notice %q", p.notice)
		}
	})
}

func TestPruneModelFollowsResultsSelection(t *testing.T) {
	m, _ := newTestModel(t, 100, 30)
	trainedBase(t, m)
	r2 := fixtureResult(2, "mlp:8", 0.94, 1400)
	r2.Model = fixtureBase(t)
	m.Update(labEventMsg{Run: 2, Kind: lab.Finished, Result: r2})
	p, d := prune(m), distill(m)
	if p.chosen() != 1 || parseRun(d.form.fields[fdTeacher].value()) != 1 {
		t.Fatal("the screens should offer the baseline (run 1) first")
	}
	showScreen(m, "Results")
	run(m, press(m, "down")) // the Cmd tells the screens
	if p.chosen() != 2 || parseRun(d.form.fields[fdTeacher].value()) != 2 {
		t.Fatalf("after selecting run 2 on Results: prune offers run %d, distill %s", p.chosen(), d.form.fields[fdTeacher].value())
	}
	showScreen(m, "Prune")
	press(m, "right") // cycle the model field by hand
	if p.chosen() != 1 {
		t.Fatalf("→ on the model field gives run %d, want 1", p.chosen())
	}
}

func TestSensitivityKeyStartsAnalysis(t *testing.T) {
	m, f := newTestModel(t, 100, 30)
	trainedBase(t, m)
	showScreen(m, "Prune")
	cmd := press(m, "v")
	if cmd == nil || f.startedCount() != 1 {
		t.Fatal("v must return a Cmd and start nothing itself")
	}
	run(m, cmd)
	spec, ok := f.config(2).(lab.SensitivitySpec)
	if !ok || spec.BaseRun != 1 || spec.Data.Name != "moons" {
		t.Fatalf("started %#v", f.config(2))
	}
	p := prune(m)
	if !p.showSens || p.sensRun != 2 {
		t.Fatalf("showSens %v, sensRun %d", p.showSens, p.sensRun)
	}
	m.Update(labEventMsg{Run: 2, Kind: lab.Finished, Result: &lab.Result{Task: lab.TaskSensitivity, Sensitivity: fixtureSensitivity()}})
	if len(p.sens) != 3 || p.sensState != runDone {
		t.Fatalf("sensitivity: %d layers, state %d", len(p.sens), p.sensState)
	}
	if r := results(m); len(r.results) != 1 {
		t.Fatalf("the sensitivity analysis joined Results (%d results)", len(r.results))
	}
	press(m, "v")
	if p.showSens {
		t.Fatal("v again should hide the view")
	}
	if cmd := press(m, "v"); cmd != nil {
		t.Fatal("v on a model already analysed started it again")
	}
}

func TestDistillStartAndLiveCurves(t *testing.T) {
	m, f := newTestModel(t, 100, 30)
	trainedBase(t, m)
	showScreen(m, "Distill")
	cmd := press(m, "s")
	if cmd == nil || f.startedCount() != 1 {
		t.Fatal("s must return a Cmd and start nothing itself")
	}
	run(m, cmd)
	spec, ok := f.config(2).(lab.DistillSpec)
	want := lab.DistillSpec{Data: lab.DataSpec{Name: "moons", Seed: 1}, TeacherRun: 1, Student: "mlp:16", Temperature: 4,
		Alpha: 0.7, Epochs: 10, LabelledFrac: 1, Seeds: 3, Seed: 1}
	if !ok || spec != want {
		t.Fatalf("started %+v\nwant    %+v", spec, want)
	}
	d := distill(m)
	m.Update(labEventMsg{Run: 2, Kind: lab.Progress, Stats: core.Stats{Phase: lab.PhaseTeacher, EpochDone: true, ValAcc: 0.96}})
	if d.chart.ref != 0.96 {
		t.Fatalf("teacher line at %g, want 0.96", d.chart.ref)
	}
	m.Update(labEventMsg{Run: 2, Kind: lab.Progress, Stats: distillProgress(lab.PhaseScratch, 1, 1, true, 0.8)})
	m.Update(labEventMsg{Run: 2, Kind: lab.Progress, Stats: distillProgress(lab.PhaseDistilled, 1, 1, true, 0.85)})
	m.Update(labEventMsg{Run: 7, Kind: lab.Progress, Stats: distillProgress(lab.PhaseDistilled, 1, 2, true, 0.1)}) // not ours
	if n0, n1 := len(d.chart.curves[0].s.pts), len(d.chart.curves[1].s.pts); n0 != 1 || n1 != 1 {
		t.Fatalf("scratch %d points, distilled %d; want 1 each", n0, n1)
	}
	if d.done != 1 || !strings.Contains(d.statusLine(), "student 2/6: distilled seed 1") {
		t.Fatalf("status %q (done %d)", ansi.Strip(d.statusLine()), d.done)
	}
	m.Update(labEventMsg{Run: 2, Kind: lab.Progress, Stats: distillProgress(lab.PhaseScratch, 2, 1, true, 0.81)})
	if d.seed != 2 || len(d.chart.curves[1].s.pts) != 0 || len(d.chart.curves[0].s.pts) != 1 {
		t.Fatal("a new seed should clear the chart for its own students")
	}
	m.Update(labEventMsg{Run: 2, Kind: lab.Finished, Result: distilledResult(2)})
	view := ansi.Strip(m.View())
	for _, want := range []string{"teacher", "scratch", "distilled", "93.1% ± 0.4", "distillation helped"} {
		if !strings.Contains(view, want) {
			t.Errorf("the finished view lacks %q:\n%s", want, view)
		}
	}
	cmd = press(m, "x")
	if cmd != nil {
		t.Fatal("x with no run going returned a Cmd")
	}
}

func TestDistillFormRefusesBadValues(t *testing.T) {
	cases := []struct {
		field int
		value string
		want  string
	}{
		{fdStudent, "foo:3", "unknown model"},
		{fdTemp, "0", "temperature"},
		{fdAlpha, "1.5", "alpha"},
		{fdEpochs, "0", "epochs"},
		{fdLabelled, "0", "labelled"},
		{fdSeeds, "0", "seeds"},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			m, f := newTestModel(t, 100, 30)
			trainedBase(t, m)
			showScreen(m, "Distill")
			d := distill(m)
			for d.form.focus != c.field {
				press(m, "down")
			}
			press(m, "enter", "ctrl+u")
			for _, r := range c.value {
				press(m, string(r))
			}
			press(m, "enter")
			if cmd := press(m, "s"); cmd != nil || f.startedCount() != 1 {
				t.Fatal("an invalid form started a run")
			}
			if !strings.HasPrefix(d.notice, "cannot start") || !strings.Contains(d.notice, c.want) {
				t.Fatalf("notice %q does not give the reason (%q)", d.notice, c.want)
			}
		})
	}
}

func TestDistillCancel(t *testing.T) {
	m, f := newTestModel(t, 100, 30)
	trainedBase(t, m)
	showScreen(m, "Distill")
	run(m, press(m, "s"))
	m.Update(labEventMsg{Run: 2, Kind: lab.Started})
	cmd := press(m, "x")
	if cmd == nil || len(f.cancelled) != 0 {
		t.Fatal("x must return a Cmd and cancel nothing itself")
	}
	cmd()
	if len(f.cancelled) != 1 || f.cancelled[0] != 2 {
		t.Fatalf("cancelled %v, want [2]", f.cancelled)
	}
	m.Update(labEventMsg{Run: 2, Kind: lab.Failed, Err: context.Canceled})
	if d := distill(m); d.state != runCancelled {
		t.Fatalf("state %d", d.state)
	}
}

func TestResultsShowTechniqueDeltas(t *testing.T) {
	m, _ := newTestModel(t, 120, 40)
	trainedBase(t, m)
	showScreen(m, "Prune")
	run(m, press(m, "s"))
	m.Update(labEventMsg{Run: 2, Kind: lab.Finished, Result: prunedResult(t, 2)})
	showScreen(m, "Results")
	press(m, "down")
	view := ansi.Strip(m.View())
	for _, want := range []string{"prune global 90%", "vs its base model (run 1, mlp:32,32): -0.7 points", "size ×0.33",
		"latency ×1.06", "non-zero params −1.1k (150)", "MACs 0 (1.2k)", "No faster than the baseline: 3.6 µs vs 3.4 µs."} {
		if !strings.Contains(view, want) {
			t.Errorf("the Results view lacks %q:\n%s", want, view)
		}
	}
}

func TestHeatmapBlanksZeros(t *testing.T) {
	st := NewStyles(plainRenderer())
	w := weightMatrix{Name: "0:dense", Rows: 2, Cols: 4, Abs: []float32{0, 0, 1, 2, 0, 0, 3, 4}, Zeros: 4}
	got := heatmapView(st, w, 4, 2)
	if got != "  ░▒\n  ▓█" {
		t.Fatalf("heatmap %q", got)
	}
	// Downsampled: a cell is blank only when its whole block is zero.
	if got := heatmapView(st, w, 2, 1); got != " █" {
		t.Fatalf("downsampled heatmap %q", got)
	}
}

func TestSensitivityRowsFit(t *testing.T) {
	st := NewStyles(plainRenderer())
	for _, w := range []int{20, 40, 80} {
		v := sensitivityView(st, fixtureSensitivity(), w, 4)
		lines := strings.Split(v, "\n")
		if len(lines) > 4 {
			t.Fatalf("width %d: %d lines", w, len(lines))
		}
		for _, l := range lines {
			if ansi.StringWidth(l) > w {
				t.Fatalf("width %d: line %q too wide", w, l)
			}
		}
	}
	_ = time.Second
}

// TestResultsListsBothStudents finishes a distillation whose result carries
// the scratch student (run 3, a run the TUI never saw start): Results lists
// both students, compares the scratch one with the teacher, and exports it;
// the technique screens offer it as a base.
func TestResultsListsBothStudents(t *testing.T) {
	m, _ := newTestModel(t, 120, 40)
	trainedBase(t, m)
	showScreen(m, "Distill")
	run(m, press(m, "s"))
	res := distilledResult(2)
	for _, r := range []*lab.Result{res, res.Scratch} {
		mdl, err := core.Build("mlp:16", []int{2}, []string{"0", "1"}, core.BuildOptions{Seed: uint64(r.Run)})
		if err != nil {
			t.Fatal(err)
		}
		r.Model = mdl
	}
	deliver(m, lab.Event{Run: 2, Kind: lab.Finished, Result: res})
	deliver(m, lab.Event{Run: 2, Kind: lab.Finished, Result: res}) // twice: listed once
	showScreen(m, "Results")
	r := screenNamed(m, "Results").(*resultsScreen)
	if len(r.results) != 3 || r.results[1].Run != 2 || r.results[2].Run != 3 {
		t.Fatalf("results %v, want runs 1, 2, 3", r.results)
	}
	tab := r.runsTable()
	if got := []string{tab.rows[1][2].text, tab.rows[2][2].text}; got[0] != "distill" || got[1] != "distill (scratch)" {
		t.Fatalf("made by %q", got)
	}
	if acc := tab.rows[2][3].text; acc != "93.0%" {
		t.Errorf("scratch accuracy %q, want 93.0%%", acc)
	}
	if _, label := r.compareWith(r.results[2]); label != "its teacher (run 1, mlp:32,32)" {
		t.Errorf("the scratch student is compared with %q", label)
	}
	press(m, "down", "down")
	view := ansi.Strip(m.View())
	for _, want := range []string{"distill (scratch)", "Run 3: mlp:16 on moons", "vs its teacher (run 1, mlp:32,32): -3.5 points"} {
		if !strings.Contains(view, want) {
			t.Errorf("the view lacks %q:\n%s", want, view)
		}
	}
	press(m, "e")
	if !r.exporting || !strings.Contains(r.path.Value(), "run3") {
		t.Fatalf("export of run 3: exporting %v, path %q", r.exporting, r.path.Value())
	}
	path := filepath.Join(t.TempDir(), "scratch.safetensors")
	r.path.SetValue(path)
	run(m, press(m, "enter"))
	got, info, err := core.LoadModel(path)
	if err != nil || info.Task != lab.TaskDistillScratch || got.Arch != "mlp:16" {
		t.Fatalf("exported scratch student: %v, %+v", err, info)
	}
	// The Prune screen can start from it, on the distillation's data.
	p := prune(m)
	if p.bases.find(3) == nil {
		t.Fatal("the Prune screen does not offer run 3")
	}
	if d, known := p.bases.dataFor(3); !known || d.Name != "moons" {
		t.Errorf("run 3's data %+v (known %v)", d, known)
	}
}

// TestPruneSnapshotUpdatesLiveViews feeds the Prune screen epoch ends with
// snapshots: the heatmap and the layer bars follow the latest, and a late
// answer for an earlier epoch is dropped.
func TestPruneSnapshotUpdatesLiveViews(t *testing.T) {
	m, _ := newTestModel(t, 120, 40)
	trainedBase(t, m)
	showScreen(m, "Prune")
	run(m, press(m, "s"))
	p := prune(m)
	deliver(m, lab.Event{Run: 2, Kind: lab.Started})
	snap := func(sparsity float64) *core.Model {
		mdl, _, err := core.Prune(fixtureBase(t), core.PruneConfig{Method: "global", Sparsity: sparsity})
		if err != nil {
			t.Fatal(err)
		}
		return mdl
	}
	st1, st2 := pruneProgress(1, 20, true), pruneProgress(2, 20, true)
	st1.Snapshot, st1.Sparsity = snap(0.5), 0.5
	st2.Snapshot = snap(0.9)
	cmd1 := m.broadcast(labEventMsg{Run: 2, Kind: lab.Progress, Stats: st1})
	if len(p.mats) != 0 {
		t.Fatal("the snapshot was read in Update")
	}
	cmd2 := m.broadcast(labEventMsg{Run: 2, Kind: lab.Progress, Stats: st2})
	run(m, cmd2)
	run(m, cmd1) // late: epoch 1's answer after epoch 2's
	if p.matsOf != "run 2 at epoch 2" || len(p.mats) != 3 || p.layersK != "live" || len(p.layers) != 3 {
		t.Fatalf("heatmap of %q, %d matrices, bars %q %d", p.matsOf, len(p.mats), p.layersK, len(p.layers))
	}
	var zeros, n int
	for _, w := range p.mats {
		zeros, n = zeros+w.Zeros, n+len(w.Abs)
	}
	if got := float64(zeros) / float64(n); math.Abs(got-0.9) > 0.01 {
		t.Fatalf("the heatmap is %.3f zero, want epoch 2's 0.9", got)
	}
	view := ansi.Strip(m.View())
	for _, want := range []string{"Layers (live)", "Weights of run 2 at epoch 2"} {
		if !strings.Contains(view, want) {
			t.Errorf("the view lacks %q:\n%s", want, view)
		}
	}
	// The finished run replaces the live view with the pruned model's.
	deliver(m, lab.Event{Run: 2, Kind: lab.Finished, Result: prunedResult(t, 2)})
	if p.matsOf != "run 2 (pruned)" || p.layersK != "final" {
		t.Fatalf("after the run: heatmap of %q, bars %q", p.matsOf, p.layersK)
	}
}
