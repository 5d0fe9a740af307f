package tui

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

// Fixtures and tests of the Quantize, Tune and Architecture screens. No
// training: the quantize fixtures quantize fixtureBase on random inputs, the
// tune fixtures are snapshots written out, and the architecture study is a
// fake.

func quant(m *Model) *quantScreen { return screenNamed(m, "Quantize").(*quantScreen) }

func tune(m *Model) *tuneScreen { return screenNamed(m, "Tune").(*tuneScreen) }

func archS(m *Model) *archScreen { return screenNamed(m, "Architecture").(*archScreen) }

// calibData is 256 random samples of 64 features for calibration.
func calibData() *core.Dataset {
	r := rand.New(rand.NewPCG(7, 7))
	d := &core.Dataset{Name: "calib", SampleShape: []int{64}, Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}}
	for i := range 256 {
		for range 64 {
			d.X = append(d.X, float32(r.NormFloat64()))
		}
		d.Y = append(d.Y, i%10)
	}
	return d
}

// quantRecord quantizes fixtureBase at bits and returns its record, with
// made-up but plausible accuracy, size and latency.
func quantRecord(t testing.TB, bits int, mode string) *lab.Result {
	t.Helper()
	cfg := core.QuantConfig{Mode: mode, Bits: bits}
	if mode == "qat" {
		cfg.Mode = "ptq" // the figures of a QAT run's grids are those of PTQ at its end
	}
	_, rep, err := core.Quantize(fixtureBase(t), calibData(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep.Config.Mode = mode
	drop := map[int]float64{8: 0.002, 6: 0.006, 4: 0.03, 3: 0.09, 2: 0.41}[bits]
	r := &lab.Result{Task: lab.TaskQuantize, Dataset: "moons", Arch: "mlp:32,16", TestAccuracy: 0.965 - drop,
		TestLoss: 0.13, Params: 2778, NonzeroParams: 2778, SizeBytes: int64(600 + 2778*bits/8), MACs: 2592,
		LatencyMicros: 2.1, ThroughputSPS: 900000, Seed: 1, Bits: bits, Mode: mode, Granularity: rep.Config.Granularity,
		Quant: &rep}
	if mode == "qat" {
		r.Epochs = 3
		for e := 1; e <= 3; e++ {
			st := fixtureStats(e, 20, true)
			st.Epochs, st.Phase, st.Bits = 3, "qat", bits
			r.History = append(r.History, st)
		}
	}
	return r
}

// quantBase is the float model's record as the quantize job measures it.
func quantBase() *lab.Result {
	b := fixtureResult(0, "mlp:32,16", 0.965, 12000)
	b.LatencyMicros, b.History = 3.4, nil
	return b
}

// quantResult is run id's result: one width, or a sweep over lab.SweepBits.
func quantResult(t testing.TB, id lab.RunID, sweep bool) *lab.Result {
	r := *quantRecord(t, 8, "ptq")
	r.Run, r.Baseline = id, quantBase()
	if sweep {
		for _, b := range lab.SweepBits {
			r.Sweep = append(r.Sweep, quantRecord(t, b, "ptq"))
		}
	}
	return &r
}

// tuneFixture is a snapshot of a random search of six trials, two
// objectives when two is set.
func tuneFixture(done, two bool) lab.TuneSnapshot {
	space := lab.DefaultSpace()
	spec := lab.TuneSpec{Data: lab.DataSpec{Name: "moons", Seed: 1}, Space: space,
		Search: core.SearchConfig{Strategy: "random", Trials: 6, MaxEpochs: 3}, Objectives: []string{"accuracy"}}
	if two {
		spec.Objectives = []string{"accuracy", "latency"}
	}
	params := func(lr float64, batch, units, layers int, act, opt string, wd, do float64) map[string]any {
		return map[string]any{"lr": lr, "batch": batch, "units": units, "layers": layers, "activation": act,
			"optimizer": opt, "weight_decay": wd, "dropout": do}
	}
	trials := []lab.TrialRecord{
		{ID: 1, Params: params(0.0031, 64, 128, 2, "relu", "adam", 1.2e-5, 0.12), Status: lab.TrialDone, Epochs: 3,
			ValAccuracy: 0.962, TestAccuracy: 0.958, LatencyMicros: 4.1, Curve: []float64{0.91, 0.95, 0.962}, Run: 3},
		{ID: 2, Params: params(0.00012, 32, 20, 1, "tanh", "momentum", 0.004, 0.02), Status: lab.TrialDone, Epochs: 3,
			ValAccuracy: 0.71, TestAccuracy: 0.70, LatencyMicros: 1.2, Curve: []float64{0.42, 0.61, 0.71}, Run: 4},
		{ID: 3, Params: params(0.012, 128, 64, 1, "gelu", "adamw", 3e-4, 0.25), Status: lab.TrialRunning, Epochs: 2,
			ValAccuracy: 0.948, Curve: []float64{0.90, 0.948}, Run: 5},
		{ID: 4, Params: params(0.024, 32, 200, 2, "relu", "adam", 2e-6, 0.05), Status: lab.TrialFailed, Epochs: 1,
			ValAccuracy: 0.31, Curve: []float64{0.31}, Reason: "training diverged", Run: 6},
		{ID: 5, Params: params(0.0008, 64, 40, 2, "relu", "adamw", 1e-5, 0.18), Status: lab.TrialRunning, Epochs: 1,
			ValAccuracy: 0.88, Curve: []float64{0.88}, Run: 7},
		{ID: 6, Params: params(0.0019, 128, 90, 1, "gelu", "adam", 6e-5, 0.09), Status: lab.TrialRunning, Run: 0},
	}
	snap := lab.TuneSnapshot{Spec: spec, Trials: trials, Best: 1,
		BestCurve:   []lab.BestPoint{{TotalEpochs: 1, Trial: 1, Value: 0.91}, {TotalEpochs: 3, Trial: 1, Value: 0.95}, {TotalEpochs: 6, Trial: 1, Value: 0.962}},
		TotalEpochs: 9, Elapsed: 4200 * time.Millisecond, ImportanceEpochs: 1, ImportanceTrials: 5,
		Importance: []core.Importance{{Name: "lr", Value: 0.46}, {Name: "batch", Value: 0.05}, {Name: "units", Value: 0.21},
			{Name: "layers", Value: 0.02}, {Name: "activation", Value: 0.11}, {Name: "optimizer", Value: 0.08},
			{Name: "weight_decay", Value: 0.04}, {Name: "dropout", Value: 0.03}}}
	if two {
		snap.Pareto = []int{1, 2}
	}
	if done {
		snap.Done = true
		snap.Trials[2].Status, snap.Trials[2].Epochs, snap.Trials[2].ValAccuracy = lab.TrialDone, 3, 0.951
		snap.Trials[2].TestAccuracy, snap.Trials[2].Curve, snap.Trials[2].LatencyMicros = 0.947, []float64{0.90, 0.948, 0.951}, 2.6
		snap.Trials[4].Status, snap.Trials[4].Reason = lab.TrialStopped, "below the median"
		snap.Trials[5].Status, snap.Trials[5].Epochs, snap.Trials[5].ValAccuracy = lab.TrialDone, 3, 0.93
		snap.Trials[5].TestAccuracy, snap.Trials[5].Curve, snap.Trials[5].Run = 0.925, []float64{0.81, 0.9, 0.93}, 8
		snap.Trials[5].LatencyMicros = 2.0
		snap.TotalEpochs = 14
		if two {
			snap.Pareto = []int{1, 2, 3, 6}
		}
	}
	return snap
}

// startTune starts a study from the Tune screen's form (its Cmd run as the
// runtime would, without running the study) and returns its tag.
func startTune(t testing.TB, m *Model, keys ...string) int {
	t.Helper()
	showScreen(m, "Tune")
	press(m, keys...)
	cmd := press(m, "s")
	if cmd == nil {
		t.Fatalf("s returned no Cmd: %q", tune(m).notice)
	}
	msg := cmd()
	if c, ok := msg.(tuneCreatedMsg); !ok || c.err != nil {
		t.Fatalf("the start Cmd gave %#v", msg)
	}
	m.Update(msg) // the Cmds that run and follow the study are not run
	return tune(m).tag
}

// fakeArch is an architecture study whose candidates are runs 2, 3, ...
type fakeArch struct {
	mu        sync.Mutex
	specs     []string
	first     lab.RunID
	ended     map[lab.RunID]bool
	res       *lab.ArchResult
	cancelled bool
}

func newFakeArch(first lab.RunID, specs ...string) *fakeArch {
	return &fakeArch{specs: specs, first: first, ended: map[lab.RunID]bool{}}
}

func (a *fakeArch) Observe(e lab.Event) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.Spec0(e.Run) == "" {
		return false
	}
	if e.Kind == lab.Finished || e.Kind == lab.Failed {
		a.ended[e.Run] = true
	}
	return true
}

func (a *fakeArch) Spec0(id lab.RunID) string {
	if i := int(id - a.first); id >= a.first && i < len(a.specs) {
		return a.specs[i]
	}
	return ""
}

func (a *fakeArch) Spec(id lab.RunID) string { return a.Spec0(id) }

func (a *fakeArch) Done() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.ended) == len(a.specs)
}

func (a *fakeArch) Cancel() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cancelled = true
}

func (a *fakeArch) Result(context.Context) (*lab.ArchResult, error) { return a.res, nil }

// archFixture is the result of comparing mlp:64 (run 2) and mlp:128,64
// (run 3): the bigger one more accurate, both on the frontier.
func archFixture() *lab.ArchResult {
	small := fixtureResult(2, "mlp:64", 0.951, 18400)
	small.Params, small.NonzeroParams, small.MACs, small.LatencyMicros = 4810, 4810, 4736, 2.3
	big := fixtureResult(3, "mlp:128,64", 0.972, 58300)
	big.Params, big.NonzeroParams, big.MACs, big.LatencyMicros = 17226, 17226, 16896, 6.8
	return &lab.ArchResult{Task: lab.TaskArch, Dataset: "moons", Epochs: 10, Seed: 1, Candidates: []lab.ArchCandidate{
		{Spec: "mlp:64", Run: 2, Result: small, Pareto: true, ParetoLatency: true, Layers: []lab.LayerCost{
			{Name: "0:dense", Desc: "dense 64→64", OutShape: []int{64}, Params: 4160, MACs: 4096, LatencyMicros: 1.4},
			{Name: "1:relu", Desc: "relu", OutShape: []int{64}},
			{Name: "2:dense", Desc: "dense 64→10", OutShape: []int{10}, Params: 650, MACs: 640, LatencyMicros: 0.3}}},
		{Spec: "mlp:128,64", Run: 3, Result: big, Pareto: true, ParetoLatency: true, Layers: []lab.LayerCost{
			{Name: "0:dense", Desc: "dense 64→128", OutShape: []int{128}, Params: 8320, MACs: 8192, LatencyMicros: 2.9},
			{Name: "1:relu", Desc: "relu", OutShape: []int{128}},
			{Name: "2:dense", Desc: "dense 128→64", OutShape: []int{64}, Params: 8256, MACs: 8192, LatencyMicros: 2.8},
			{Name: "3:relu", Desc: "relu", OutShape: []int{64}},
			{Name: "4:dense", Desc: "dense 64→10", OutShape: []int{10}, Params: 650, MACs: 640, LatencyMicros: 0.4}}},
	}}
}

// archRunning starts a comparison of the two default candidates with a fake
// study (runs 2 and 3), the first finished, the second at epoch 4.
func archRunning(t testing.TB, m *Model) *fakeArch {
	t.Helper()
	trainedBase(t, m)
	showScreen(m, "Architecture")
	if cmd := press(m, "s"); cmd == nil {
		t.Fatalf("s returned no Cmd: %q", archS(m).notice)
	}
	a := newFakeArch(2, "mlp:64", "mlp:128,64")
	s := archS(m)
	run(m, func() tea.Msg { return archStartedMsg{tag: s.tag, study: a} })
	for i, sp := range a.specs {
		id := lab.RunID(2 + i)
		ts := s.spec.Train(sp)
		deliver(m, lab.Event{Run: id, Kind: lab.Started, Task: lab.TaskTrain, Config: ts})
	}
	res := fixtureResult(2, "mlp:64", 0.951, 18400)
	res.Params, res.MACs = 4810, 4736
	deliver(m, lab.Event{Run: 2, Kind: lab.Finished, Result: res})
	st := fixtureStats(4, 20, true)
	deliver(m, lab.Event{Run: 3, Kind: lab.Progress, Stats: st})
	return a
}

var optimizeStates = []struct {
	name string
	set  func(t testing.TB, m *Model)
}{
	{"quant-idle", func(t testing.TB, m *Model) {
		trainedBase(t, m)
		showScreen(m, "Quantize")
	}},
	{"quant-qat-running", func(t testing.TB, m *Model) {
		trainedBase(t, m)
		showScreen(m, "Quantize")
		press(m, "down", "right", "right") // mode: qat
		run(m, press(m, "s"))
		m.Update(labEventMsg{Run: 2, Kind: lab.Started})
		for e := 1; e <= 2; e++ {
			st := fixtureStats(e, 20, true)
			st.Epochs, st.Phase, st.Bits = 3, "qat", 8
			m.Update(labEventMsg{Run: 2, Kind: lab.Progress, Stats: st})
		}
	}},
	{"quant-finished", func(t testing.TB, m *Model) {
		trainedBase(t, m)
		showScreen(m, "Quantize")
		run(m, press(m, "s"))
		deliver(m, lab.Event{Run: 2, Kind: lab.Finished, Result: quantResult(t, 2, false)})
	}},
	{"quant-sweep", func(t testing.TB, m *Model) {
		trainedBase(t, m)
		showScreen(m, "Quantize")
		run(m, press(m, "w"))
		deliver(m, lab.Event{Run: 2, Kind: lab.Finished, Result: quantResult(t, 2, true)})
		press(m, ">", ">") // the 4-bit record
	}},
	{"tune-form", func(t testing.TB, m *Model) { showScreen(m, "Tune") }},
	{"tune-running", func(t testing.TB, m *Model) {
		tag := startTune(t, m)
		m.Update(tuneSnapMsg{tag: tag, snap: tuneFixture(false, false)})
		press(m, "down")
	}},
	{"tune-pareto", func(t testing.TB, m *Model) {
		tag := startTune(t, m, "down", "down", "down", "down", "right") // objective: accuracy,latency
		snap := tuneFixture(true, true)
		m.Update(tuneDoneMsg{tag: tag, snap: snap, res: &lab.Result{Task: lab.TaskTune, Best: &snap.Trials[0]}})
		press(m, "p", "p", "p", "p", "p", "p", "p", "p") // the scatter against latency
	}},
	{"arch-form", func(t testing.TB, m *Model) { showScreen(m, "Architecture") }},
	{"arch-running", func(t testing.TB, m *Model) { archRunning(t, m) }},
	{"arch-finished", func(t testing.TB, m *Model) {
		a := archRunning(t, m)
		a.res = archFixture()
		run(m, m.broadcast(labEventMsg{Run: 3, Kind: lab.Finished, Result: a.res.Candidates[1].Result}))
		run(m, observeArch(archS(m).tag, a, lab.Event{Run: 2, Kind: lab.Finished}, lab.Event{Run: 3, Kind: lab.Finished}))
		press(m, "down")
	}},
}

func init() {
	states = append(states, optimizeStates...)
}

func TestQuantStartReturnsCmdAndStartsNothing(t *testing.T) {
	m, f := newTestModel(t, 120, 40)
	trainedBase(t, m)
	showScreen(m, "Quantize")
	before := f.startedCount()
	cmd := press(m, "s")
	if cmd == nil {
		t.Fatalf("s returned no Cmd: %q", quant(m).notice)
	}
	if f.startedCount() != before {
		t.Fatal("Update started a run itself")
	}
	run(m, cmd)
	spec, ok := f.config(2).(lab.QuantizeSpec)
	if !ok || f.tasks[1] != lab.TaskQuantize {
		t.Fatalf("run 2 is %s %#v, want a quantize run", f.tasks[1], f.config(2))
	}
	if spec.BaseRun != 1 || spec.Mode != "ptq" || spec.Bits != 8 || spec.Granularity != "per-channel" ||
		spec.Clip != "minmax" || spec.Epochs != 0 || spec.Data.Name != "moons" || len(spec.Sweep) != 0 {
		t.Fatalf("spec %+v", spec)
	}
	q := quant(m)
	if q.run != 2 || q.state != runQueued {
		t.Fatalf("screen follows run %d in state %d", q.run, q.state)
	}
	m.Update(labEventMsg{Run: 99, Kind: lab.Finished, Result: quantResult(t, 99, false)})
	if q.result != nil {
		t.Fatal("a run the screen did not start changed it")
	}
	if cmd := press(m, "s"); cmd != nil || !strings.Contains(q.notice, "already going") {
		t.Fatalf("a second s: cmd %v, notice %q", cmd != nil, q.notice)
	}
	deliver(m, lab.Event{Run: 2, Kind: lab.Finished, Result: quantResult(t, 2, false)})
	if q.state != runDone || q.result == nil || q.histView == "" {
		t.Fatalf("after Finished: state %d, histogram %q", q.state, q.histView)
	}
	view := ansi.Strip(m.View())
	for _, want := range []string{"8-bit ptq per-channel", "size ×", "Layers", "Weights of", "grid too fine to draw: step"} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
	// The result joins Results, compared with the model it came from.
	showScreen(m, "Results")
	press(m, "down", "down") // run 2 (run 99 finished first)
	if v := ansi.Strip(m.View()); !strings.Contains(v, "quantize 8-bit ptq") || !strings.Contains(v, "its base model (run 1") {
		t.Fatalf("Results view:\n%s", v)
	}
}

func TestQuantSweepAndQAT(t *testing.T) {
	m, f := newTestModel(t, 120, 40)
	trainedBase(t, m)
	showScreen(m, "Quantize")
	run(m, press(m, "w"))
	spec := f.config(2).(lab.QuantizeSpec)
	if len(spec.Sweep) != 5 || spec.Sweep[0] != 8 || spec.Sweep[4] != 2 {
		t.Fatalf("sweep %v", spec.Sweep)
	}
	deliver(m, lab.Event{Run: 2, Kind: lab.Finished, Result: quantResult(t, 2, true)})
	press(m, ">", ">", ">", ">", ">", ">")
	if q := quant(m); q.record().Bits != 2 {
		t.Fatalf("> stops at the last width; on view: %d bits", q.record().Bits)
	}
	if v := ansi.Strip(m.View()); !strings.Contains(v, "Bit-width sweep") || !strings.Contains(v, "size, % of float") ||
		!strings.Contains(v, "3 levels, step") {
		t.Fatalf("sweep view:\n%s", v)
	}
	// QAT: the mode's epochs go into the spec.
	press(m, "down", "right", "right")
	run(m, press(m, "s"))
	if spec := f.config(3).(lab.QuantizeSpec); spec.Mode != "qat" || spec.Epochs != lab.DefaultQATEpochs {
		t.Fatalf("qat spec %+v", spec)
	}
}

func TestQuantFormRefusesBadValues(t *testing.T) {
	m, f := newTestModel(t, 120, 40)
	showScreen(m, "Quantize")
	if cmd := press(m, "s"); cmd != nil || !strings.Contains(quant(m).notice, "train a baseline first") {
		t.Fatalf("without a model: cmd %v, notice %q", cmd != nil, quant(m).notice)
	}
	trainedBase(t, m)
	showScreen(m, "Quantize")
	for range fqCalib {
		press(m, "down")
	}
	press(m, "enter", "ctrl+u", "0", "enter")
	if cmd := press(m, "s"); cmd != nil || !strings.Contains(quant(m).notice, "calibration samples must be") {
		t.Fatalf("calib 0: cmd %v, notice %q", cmd != nil, quant(m).notice)
	}
	if f.startedCount() != 1 {
		t.Fatalf("%d runs started", f.startedCount())
	}
}

func TestQuantHistogramMarksClipAndGrid(t *testing.T) {
	st := NewStyles(plainRenderer())
	h := core.Histogram{Min: -1, Max: 1, Counts: make([]int, 64)}
	for i := range h.Counts {
		x := (float64(i) - 31.5) / 20
		h.Counts[i] = int(1000 * math.Exp(-x*x))
	}
	// 2-bit symmetric: three levels, clipping inside the range.
	v := quantHist{hist: h, clipMin: -0.5, clipMax: 0.5, step: 0.5}.View(st, 60, 8)
	lines := strings.Split(v, "\n")
	if len(lines) != 8 {
		t.Fatalf("%d lines", len(lines))
	}
	axis := lines[6]
	if strings.Count(axis, "┴") != 1 || !strings.Contains(axis, "[") || !strings.Contains(axis, "]") {
		t.Fatalf("axis %q: want [ ┴ ] (the middle grid point between the clip marks)", axis)
	}
	if !strings.Contains(v, "▓") || !strings.Contains(lines[7], "3 levels, step 0.5") {
		t.Fatalf("clipped weights are drawn ▓ and the figures given:\n%s", v)
	}
	v = quantHist{hist: h, clipMin: -1, clipMax: 1, step: 2.0 / 254}.View(st, 60, 8)
	if !strings.Contains(v, "grid too fine to draw: step 0.00787, 255 levels") {
		t.Fatalf("a fine grid is named, not drawn:\n%s", v)
	}
	for _, l := range strings.Split(v, "\n") {
		if ansi.StringWidth(l) > 60 {
			t.Fatalf("line %q is wider than 60", l)
		}
	}
}

func TestTuneStartRunsStudyAndObservesEvents(t *testing.T) {
	m, f := newTestModel(t, 120, 40)
	showScreen(m, "Tune")
	press(m, "down", "enter", "ctrl+u", "3", "enter") // 3 trials
	cmd := press(m, "s")
	if cmd == nil {
		t.Fatalf("s returned no Cmd: %q", tune(m).notice)
	}
	if f.startedCount() != 0 {
		t.Fatal("Update started a run itself")
	}
	created := cmd()
	if f.startedCount() != 0 {
		t.Fatal("making the study started a run")
	}
	_, cmds := m.Update(created)
	s := tune(m)
	if s.study == nil || s.state != runRunning || s.showForm {
		t.Fatalf("the study is not on view: state %d", s.state)
	}
	// Run the study as the runtime would: it starts two trials (2 workers).
	msgs := make(chan tea.Msg, 16)
	go func() {
		for _, c := range cmds().(tea.BatchMsg) {
			go func() { msgs <- c() }()
		}
	}()
	waitFor(t, func() bool { return f.startedCount() == 2 })
	if f.tasks[0] != lab.TaskTrial {
		t.Fatalf("task %q", f.tasks[0])
	}
	// The root passes every event to the study: trial 1's run fails, and the
	// study starts trial 3 in its place.
	m.Update(labEventMsg{Run: 1, Kind: lab.Failed, Err: errors.New("boom")})
	waitFor(t, func() bool { return f.startedCount() == 3 })
	// A snapshot arrives; one from an earlier study is dropped.
	var snap tuneSnapMsg
	for deadline := time.After(10 * time.Second); snap.tag == 0; {
		select {
		case msg := <-msgs:
			if sm, ok := msg.(tuneSnapMsg); ok {
				snap = sm
			}
		case <-deadline:
			t.Fatal("no snapshot after the study changed")
		}
	}
	m.Update(tuneSnapMsg{tag: s.tag - 1, snap: tuneFixture(false, false)})
	if s.snap != nil && len(s.snap.Trials) == 6 {
		t.Fatal("a stale snapshot was taken")
	}
	m.Update(snap)
	if s.snap == nil || len(s.snap.Trials) == 0 {
		t.Fatal("no snapshot on view")
	}
	// X cancels the study in a Cmd; Run then returns.
	cmd = press(m, "X")
	if cmd == nil {
		t.Fatal("X returned no Cmd")
	}
	cmd()
	var done tuneDoneMsg
	timeout := time.After(10 * time.Second)
	for done.tag == 0 {
		select {
		case msg := <-msgs:
			if d, ok := msg.(tuneDoneMsg); ok {
				done = d
			}
		case <-timeout:
			t.Fatal("Run did not return after X")
		}
	}
	m.Update(done)
	if s.state != runCancelled {
		t.Fatalf("state %d after X, want cancelled", s.state)
	}
	if v := ansi.Strip(m.View()); !strings.Contains(v, "study cancelled") || !strings.Contains(v, "boom") {
		t.Fatalf("view:\n%s", v)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTuneFormRefusesBadValues(t *testing.T) {
	m, _ := newTestModel(t, 120, 40)
	showScreen(m, "Tune")
	press(m, "down", "down", "enter", "ctrl+u", "0", "enter") // workers 0
	if cmd := press(m, "s"); cmd != nil || !strings.Contains(tune(m).notice, "workers must be a whole number from 1") {
		t.Fatalf("workers 0: cmd %v, notice %q", cmd != nil, tune(m).notice)
	}
	press(m, "enter", "ctrl+u", "2", "enter")
	press(m, "up", "up", "right", "right") // strategy: hyperband
	press(m, "down", "down", "down", "enter", "ctrl+u", "1", "enter")
	press(m, "up", "up", "up") // back on the strategy
	if cmd := press(m, "s"); cmd == nil {
		t.Fatalf("a valid hyperband study was refused: %q", tune(m).notice)
	}
}

func TestTuneLeaderboardKeys(t *testing.T) {
	m, f := newTestModel(t, 120, 40)
	tag := startTune(t, m)
	s := tune(m)
	m.Update(tuneSnapMsg{tag: tag, snap: tuneFixture(false, false)})
	// Sorted by validation accuracy: 1, 3, 5, 2, 4, then 6 (no epoch yet).
	var order []int
	for _, i := range s.order {
		order = append(order, s.snap.Trials[i].ID)
	}
	if want := []int{1, 3, 5, 2, 4, 6}; !equalInts(order, want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	press(m, "down") // trial 3, running
	if cmd := press(m, "enter"); cmd != nil || !strings.Contains(s.notice, "still training") {
		t.Fatalf("enter on a running trial: cmd %v, notice %q", cmd != nil, s.notice)
	}
	press(m, "down", "down", "down") // trial 4, failed
	if cmd := press(m, "enter"); cmd != nil || !strings.Contains(s.notice, "failed: its run has no model") {
		t.Fatalf("enter on a failed trial: notice %q", s.notice)
	}
	press(m, "up", "up", "up", "up") // trial 1, done
	cmd := press(m, "enter")
	if cmd == nil {
		t.Fatalf("enter on a done trial: %q", s.notice)
	}
	run(m, cmd)
	if f.baseline != 3 || !strings.Contains(s.notice, "trial 1 (run 3) is the baseline") {
		t.Fatalf("baseline %d, notice %q", f.baseline, s.notice)
	}
	if cmd := press(m, "x"); cmd != nil || !strings.Contains(s.notice, "nothing to cancel") {
		t.Fatalf("x on a done trial: notice %q", s.notice)
	}
	press(m, "down")
	if cmd := press(m, "x"); cmd == nil {
		t.Fatal("x on a running trial returned no Cmd")
	}
	before := s.param
	press(m, "p")
	if s.param != before+1 {
		t.Fatal("p does not cycle the scatter's parameter")
	}
	press(m, "n")
	if !s.showForm {
		t.Fatal("n does not open the form")
	}
	if cmd := press(m, "s"); cmd != nil || !strings.Contains(s.notice, "already running") {
		t.Fatalf("s while a study runs: notice %q", s.notice)
	}
	press(m, "esc")
	if s.showForm {
		t.Fatal("esc does not go back to the study")
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// archFakeLab is the fake lab with architecture studies.
type archFakeLab struct {
	*fakeLab
	study *fakeArch
}

func (l *archFakeLab) startArch(ctx context.Context, s lab.ArchSpec) (archStudy, error) {
	var first lab.RunID
	for _, c := range s.Candidates {
		ts := s.Train(c)
		id := l.Start(ctx, lab.TaskTrain, ts, ts.Job())
		if first == 0 {
			first = id
		}
	}
	l.study = newFakeArch(first, s.Candidates...)
	return l.study, nil
}

func TestArchStartBuffersEarlyEventsAndMeasures(t *testing.T) {
	f := newFakeLab()
	fl := &archFakeLab{fakeLab: f}
	m := New(t.Context(), fl, Options{Data: "moons", Seed: 1, Renderer: plainRenderer()}).(*Model)
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	showScreen(m, "Architecture")
	press(m, "down", "enter", "ctrl+u", "3", "enter") // 3 epochs
	cmd := press(m, "s")
	if cmd == nil {
		t.Fatalf("s returned no Cmd: %q", archS(m).notice)
	}
	if f.startedCount() != 0 {
		t.Fatal("Update started a run itself")
	}
	started := cmd()
	if f.startedCount() != 2 {
		t.Fatalf("the Cmd started %d runs, want 2", f.startedCount())
	}
	spec := f.started[1]
	if spec.Model != "mlp:128,64" || spec.Epochs != 3 || spec.Data.Name != "moons" {
		t.Fatalf("candidate spec %+v", spec)
	}
	// Run 1 fails before the study reaches the screen: it is kept.
	m.Update(labEventMsg{Run: 1, Kind: lab.Started, Task: lab.TaskTrain, Config: f.started[0]})
	m.Update(labEventMsg{Run: 1, Kind: lab.Failed, Err: core.ErrDiverged})
	_, c := m.Update(started)
	run(m, c)
	s := archS(m)
	if s.cands[0].run != 1 || s.cands[0].state != runFailed {
		t.Fatalf("candidate 0: run %d state %d", s.cands[0].run, s.cands[0].state)
	}
	if !fl.study.ended[1] {
		t.Fatal("the early Failed event did not reach the study")
	}
	m.Update(labEventMsg{Run: 99, Kind: lab.Finished, Result: fixtureResult(99, "x", 1, 1)}) // not a candidate
	// Run 2 finishes: the study is done, and the screen measures it in a Cmd.
	deliver(m, lab.Event{Run: 2, Kind: lab.Started, Task: lab.TaskTrain, Config: f.started[1]})
	res := archFixture()
	res.Candidates[0].Result, res.Candidates[0].Err, res.Candidates[0].Layers = nil, core.ErrDiverged, nil
	res.Candidates[0].Pareto, res.Candidates[0].ParetoLatency = false, false
	fl.study.res = res
	_, c = m.Update(labEventMsg{Run: 2, Kind: lab.Finished, Result: res.Candidates[1].Result})
	run(m, c)
	if s.state != runDone || s.result == nil {
		t.Fatalf("state %d, result %v", s.state, s.result != nil)
	}
	v := ansi.Strip(m.View())
	for _, want := range []string{"diverged", "◆ both", "Cost per layer of mlp:64", "training diverged"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	if cmd := press(m, "enter"); cmd != nil || !strings.Contains(s.notice, "no finished model") {
		t.Fatalf("enter on the failed candidate: notice %q", s.notice)
	}
	press(m, "down", "m")
	if !s.byLatency {
		t.Fatal("m does not switch the scatter to latency")
	}
	run(m, press(m, "enter"))
	if f.baseline != 2 {
		t.Fatalf("baseline %d, want 2", f.baseline)
	}
}

func TestArchFormRefusesBadCandidates(t *testing.T) {
	m, f := newTestModel(t, 120, 40)
	showScreen(m, "Architecture")
	press(m, "enter", "ctrl+u")
	for _, r := range "mlp:64 mlp:64" {
		press(m, string(r))
	}
	press(m, "enter")
	if cmd := press(m, "s"); cmd != nil || !strings.Contains(archS(m).notice, "listed twice") {
		t.Fatalf("a duplicate: notice %q", archS(m).notice)
	}
	press(m, "enter", "ctrl+u", "b", "o", "g", "u", "s", "enter")
	if cmd := press(m, "s"); cmd != nil || !strings.HasPrefix(archS(m).notice, "cannot start: candidates: bogus") {
		t.Fatalf("a bad spec: notice %q", archS(m).notice)
	}
	// The plain fake lab runs no architecture studies: said, not hidden.
	press(m, "enter", "ctrl+u", "m", "l", "p", ":", "8", "enter")
	cmd := press(m, "s")
	if cmd == nil {
		t.Fatalf("refused: %q", archS(m).notice)
	}
	run(m, cmd)
	if n := archS(m).notice; !strings.Contains(n, "cannot run architecture studies") || f.startedCount() != 0 {
		t.Fatalf("notice %q, %d started", n, f.startedCount())
	}
}

func TestObserverSeesEventsBeforeScreens(t *testing.T) {
	m, _ := newTestModel(t, 100, 30)
	var n int
	for _, s := range m.screens {
		if _, ok := s.(observer); ok {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d observers, want Tune and Architecture", n)
	}
	_, cmd := m.Update(labEventMsg{Run: 5, Kind: lab.Progress})
	if cmd == nil {
		t.Fatal("the listener must be re-armed")
	}
}
