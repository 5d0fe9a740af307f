package tui

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/progress"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

// The Prune screen's fields, in order.
const (
	fpModel = iota
	fpMethod
	fpSparsity
	fpSchedule
	fpEpochs
	fpRewind
	fpLayout
	fpSeed
	numPruneFields
)

// pruneScreen is the form for pruning a finished run's model and the live
// view of the run: the sparsity reached, accuracy over the fine-tuning
// epochs, per-layer sparsity, a heatmap of a layer's weights with its zeros
// blank, and, on v, the sensitivity of each layer.
type pruneScreen struct {
	c      *common
	keys   pruneKeys
	form   techForm
	bases  *basePicker
	notice string

	run     lab.RunID // the prune run on view; 0 before the first
	state   runState
	spec    lab.PruneSpec
	stats   core.Stats
	offset  int    // epochs of earlier rewinding rounds, for the chart's x axis
	phase   string // the last Stats.Phase
	err     error
	result  *lab.Result
	acc     *lineChart
	bar     progress.Model
	layers  []share // per layer: its sparsity, and the layout it is saved in
	layersK string  // what the bars show: "final" or "live"

	// The heatmap: the matrices of one model, which layer is drawn, and
	// what they are of. matsTag numbers the requests so a late answer to an
	// older one is dropped.
	mats     []weightMatrix
	matsErr  error
	layer    int
	matsOf   string
	matsTag  int
	matsWant lab.RunID

	// The sensitivity analysis: its run, the base run it analyses, its
	// figures, and whether it is on view.
	showSens  bool
	sensRun   lab.RunID
	sensState runState
	sensBase  lab.RunID
	sensErr   error
	sens      []core.LayerSensitivity

	w, h int
}

type pruneKeys struct {
	formKeys
	Start, Cancel, Sens, Layer, PrevLayer key.Binding
}

func newPruneScreen(c *common) screen {
	st := c.styles
	s := &pruneScreen{c: c, bases: newBasePicker(c), acc: newLineChart(st, "Accuracy (fine-tuning)", true)}
	s.keys = pruneKeys{Start: relabel(keyStart, "s", "start pruning"), Cancel: keyStop,
		Sens:      key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "sensitivity")),
		Layer:     key.NewBinding(key.WithKeys("]"), key.WithHelp("[/]", "layer")),
		PrevLayer: key.NewBinding(key.WithKeys("["), key.WithHelp("[/]", "layer"))}
	f := make([]*field, numPruneFields)
	f[fpModel] = newField(st, "model", "", s.bases.validate("to prune"))
	f[fpMethod] = newField(st, "criterion", "lamp", validChoice("criterion", core.PruneMethods), core.PruneMethods...)
	f[fpSparsity] = newField(st, "sparsity %", "90", validPercent("the target sparsity", false))
	f[fpSchedule] = newField(st, "schedule", lab.ScheduleOneShot, validChoice("schedule", pruneSchedules), pruneSchedules...)
	f[fpEpochs] = newField(st, "fine-tune ep.", "5", validInt("fine-tune epochs", 0, 10000))
	f[fpRewind] = newField(st, "rewind", "no", validChoice("rewind", yesNo), yesNo...)
	f[fpLayout] = newField(st, "saved layout", "sparse", validChoice("layout", pruneLayouts), pruneLayouts...)
	f[fpSeed] = newField(st, "seed", strconv.FormatUint(c.seed, 10), validSeed)
	s.form = techForm{fields: f, keys: newFormKeys()}
	s.keys.formKeys = s.form.keys
	s.bar = newBar(st)
	s.updateKeys()
	return s
}

var (
	pruneSchedules = []string{lab.ScheduleOneShot, lab.ScheduleGradual}
	yesNo          = []string{"no", "yes"}
	// sparse: converted to CSR where that is smaller (the real effect);
	// dense: zeros kept in dense matrices, the control.
	pruneLayouts = []string{"sparse", "dense"}
)

// newBar is a progress bar in the lab's colours, or '#' and '.' without.
func newBar(st *Styles) progress.Model {
	b := progress.New(progress.WithoutPercentage(), progress.WithColorProfile(st.Renderer.ColorProfile()))
	if st.NoColor {
		b.Full, b.Empty = '#', '.'
	} else {
		b.FullColor, b.EmptyColor = st.BarFull, st.BarEmpty
	}
	return b
}

// validPercent checks a percentage in [0, 100), or (0, 100] with upper.
func validPercent(what string, upper bool) func(string) error {
	return func(v string) error {
		x, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
		switch {
		case err != nil || math.IsNaN(x):
		case upper && x > 0 && x <= 100:
			return nil
		case !upper && x >= 0 && x < 100:
			return nil
		}
		if upper {
			return fmt.Errorf("%s must be a percentage above 0 and at most 100", what)
		}
		return fmt.Errorf("%s must be a percentage from 0 up to (not including) 100", what)
	}
}

// percentOf reads a valid percentage field as a fraction.
func percentOf(v string) float64 {
	x, _ := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
	return x / 100
}

func (s *pruneScreen) Title() string { return "Prune" }

func (s *pruneScreen) Init() tea.Cmd { return nil }

func (s *pruneScreen) Editing() bool { return s.form.editing }

func (s *pruneScreen) Back() bool {
	switch {
	case s.form.back():
	case s.showSens:
		s.showSens = false
	default:
		return false
	}
	s.updateKeys()
	return true
}

func (s *pruneScreen) active() bool {
	return s.state.live()
}

func (s *pruneScreen) sensActive() bool {
	return s.sensState.live()
}

func (s *pruneScreen) updateKeys() {
	s.form.updateKeys(true)
	k := &s.keys
	k.formKeys = s.form.keys
	ed := s.form.editing
	k.Start.SetEnabled(!ed)
	k.Sens.SetEnabled(!ed)
	k.Cancel.SetEnabled(!ed && (s.active() && s.run != 0 || s.sensActive() && s.sensRun != 0))
	k.Layer.SetEnabled(!ed && !s.showSens && len(s.mats) > 1)
	k.PrevLayer.SetEnabled(!ed && !s.showSens && len(s.mats) > 1)
	if s.showSens {
		k.Sens.SetHelp("v", "hide sensitivity")
	} else {
		k.Sens.SetHelp("v", "sensitivity")
	}
}

func (s *pruneScreen) ShortHelp() []key.Binding {
	k := s.keys
	return []key.Binding{k.Up, k.Edit, k.Left, k.Save, k.Abort, k.Start, k.Sens, k.Layer, k.Cancel}
}

func (s *pruneScreen) FullHelp() [][]key.Binding {
	k := s.keys
	return [][]key.Binding{{k.Up, k.Down, k.Edit, k.Left}, {k.Save, k.Abort, k.Start, k.Cancel}, {k.Sens, k.Layer}}
}

// chosen is the run the model field names (0 when none).
func (s *pruneScreen) chosen() lab.RunID { return parseRun(s.form.fields[fpModel].value()) }

func (s *pruneScreen) Update(msg tea.Msg) tea.Cmd {
	defer func() {
		s.updateKeys()
		_, cw, ch, _, _, _ := s.rightLayout() // the head grows when the run ends
		s.acc.setSize(cw, ch)
	}()
	if changed, want := s.bases.observe(msg); changed {
		s.bases.sync(s.form.fields[fpModel], want)
	}
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case tea.KeyMsg:
		cmd = s.handleKey(msg)
	case runStartedMsg:
		if msg.owner == s.Title() {
			s.startedRun(msg)
		}
	case labEventMsg:
		switch {
		case msg.Run == 0:
		case msg.Run == s.run:
			cmd = s.handleEvent(lab.Event(msg))
		case msg.Run == s.sensRun:
			s.handleSensEvent(lab.Event(msg))
		}
	case weightsMsg:
		// Reads run concurrently: only the answer to the latest request
		// counts, so an earlier epoch's snapshot never replaces a later one
		// or the final model.
		if msg.run == s.matsWant && msg.tag == s.matsTag && s.matsTag > 0 {
			s.mats, s.matsErr = msg.mats, msg.err
			s.layer = min(s.layer, max(0, len(s.mats)-1))
			if s.layersK != "final" && s.run != 0 && msg.run == s.run {
				s.layers = barsFromMats(s.mats)
				s.layersK = "live"
			}
		}
	}
	return tea.Batch(cmd, s.syncWeights())
}

// syncWeights asks for the matrices the heatmap should show when they are
// not those on view: the pruned model once its run has finished, else the
// chosen base model.
func (s *pruneScreen) syncWeights() tea.Cmd {
	var want lab.RunID
	var m *core.Model
	var of string
	switch {
	case s.result != nil && s.result.Model != nil:
		want, m, of = s.run, s.result.Model, fmt.Sprintf("run %d (pruned)", s.run)
	case s.run != 0 && s.active():
		return nil // snapshots, if the job sends any, arrive with Progress
	default:
		if r := s.bases.find(s.chosen()); r != nil {
			want, m, of = r.Run, r.Model, fmt.Sprintf("run %d (before pruning)", r.Run)
		}
	}
	if want == 0 || (want == s.matsWant && s.matsOf == of) {
		return nil
	}
	return s.requestWeights(want, m, of)
}

func (s *pruneScreen) requestWeights(run lab.RunID, m *core.Model, of string) tea.Cmd {
	s.matsWant, s.matsOf = run, of
	s.matsTag++
	return readWeights(run, s.matsTag, m)
}

func (s *pruneScreen) handleKey(msg tea.KeyMsg) tea.Cmd {
	if ok, cmd := s.form.handleKey(msg, &s.notice); ok {
		return cmd
	}
	k := s.keys
	switch {
	case key.Matches(msg, k.Start):
		return s.start()
	case key.Matches(msg, k.Sens):
		s.showSens = !s.showSens
		if s.showSens {
			return s.startSensitivity()
		}
	case key.Matches(msg, k.Layer) && len(s.mats) > 0:
		s.layer = (s.layer + 1) % len(s.mats)
	case key.Matches(msg, k.PrevLayer) && len(s.mats) > 0:
		s.layer = (s.layer + len(s.mats) - 1) % len(s.mats)
	case key.Matches(msg, k.Cancel):
		switch {
		case s.active() && s.run != 0:
			s.notice = fmt.Sprintf("cancelling run %d…", s.run)
			return cancelRun(s.c.lab, s.run)
		case s.sensActive() && s.sensRun != 0:
			s.notice = fmt.Sprintf("cancelling run %d…", s.sensRun)
			return cancelRun(s.c.lab, s.sensRun)
		}
	}
	return nil
}

// pruneSpec reads the (valid) form into the job's spec.
func (s *pruneScreen) pruneSpec() lab.PruneSpec {
	v := func(i int) string { return s.form.fields[i].value() }
	epochs, _ := strconv.Atoi(v(fpEpochs))
	seed, _ := strconv.ParseUint(v(fpSeed), 10, 64)
	base := s.chosen()
	data, _ := s.bases.dataFor(base)
	spec := lab.PruneSpec{Data: data, BaseRun: base, Method: v(fpMethod), Sparsity: percentOf(v(fpSparsity)),
		Schedule: v(fpSchedule), Epochs: epochs, Rewind: v(fpRewind) == "yes", Dense: v(fpLayout) == "dense", Seed: seed,
		SnapshotEvery: 1} // a snapshot per epoch: live layer bars and heatmap
	if spec.Rewind {
		spec.Schedule = "" // rounds, not a schedule
	}
	return spec
}

// checkPrune says why spec cannot run, in the lab's terms, before anything
// starts; "" when it can.
func checkPrune(spec lab.PruneSpec) string {
	switch {
	case spec.Schedule == lab.ScheduleGradual && spec.Epochs == 0:
		return "a gradual schedule prunes during fine-tuning: give at least 1 fine-tune epoch"
	case spec.Rewind && spec.Epochs == 0:
		return "rewinding retrains after each round: give at least 1 fine-tune epoch"
	case spec.Rewind && spec.Method != "magnitude" && spec.Method != "global" && spec.Method != "lamp":
		return "rewinding ranks weights by magnitude: choose magnitude, global or lamp"
	case spec.Schedule == lab.ScheduleGradual && spec.Method == "structured":
		return "structured pruning removes units at once: it cannot follow a gradual schedule"
	}
	return ""
}

// start validates the form and returns the Cmd that starts the run.
func (s *pruneScreen) start() tea.Cmd {
	if s.active() {
		s.notice = "a run is already going: x cancels it"
		return nil
	}
	if p := s.form.firstError(); p != "" {
		s.notice = "cannot start: " + p
		return nil
	}
	spec := s.pruneSpec()
	if p := checkPrune(spec); p != "" {
		s.notice = "cannot start: " + p
		return nil
	}
	s.state, s.notice = runPending, ""
	if s.form.fields[fpRewind].value() == "yes" && s.form.fields[fpSchedule].value() == lab.ScheduleGradual {
		s.notice = "rewinding prunes in rounds: the gradual schedule is not used"
	}
	return startJob(s.c.ctx, s.c.lab, s.Title(), lab.TaskPrune, spec, spec.Data, spec.Job())
}

// startSensitivity starts the analysis of the chosen model unless it is
// going or already done for that model.
func (s *pruneScreen) startSensitivity() tea.Cmd {
	base := s.chosen()
	if s.sensActive() || (base == s.sensBase && s.sens != nil) {
		return nil
	}
	if err := s.form.fields[fpModel].err; err != nil {
		s.notice = "cannot analyse: " + err.Error()
		return nil
	}
	data, _ := s.bases.dataFor(base)
	spec := lab.SensitivitySpec{Data: data, BaseRun: base}
	s.sensState, s.sensBase, s.sensErr, s.sens = runPending, base, nil, nil
	return startJob(s.c.ctx, s.c.lab, s.Title(), lab.TaskSensitivity, spec, data, spec.Job())
}

func (s *pruneScreen) startedRun(msg runStartedMsg) {
	if msg.task == lab.TaskSensitivity {
		s.sensRun, s.sensState = msg.id, runQueued
		if msg.id == 0 {
			s.sensState, s.notice = runFailed, "the lab is shutting down; no run was started"
		}
		return
	}
	spec, _ := msg.config.(lab.PruneSpec)
	s.spec, s.run, s.stats, s.err, s.result = spec, msg.id, core.Stats{}, nil, nil
	s.offset, s.phase, s.layers, s.layersK = 0, "", nil, ""
	s.state = runQueued
	if msg.id == 0 {
		s.state, s.notice = runFailed, "the lab is shutting down; no run was started"
	}
	s.acc.reset(s.plannedEpochs())
	s.mats, s.matsErr, s.matsWant, s.matsOf = nil, nil, 0, ""
	s.layer = 0
}

// plannedEpochs is the chart's epoch axis: with rewinding, every round's.
func (s *pruneScreen) plannedEpochs() int {
	e := max(1, s.spec.Epochs)
	if s.spec.Rewind && s.spec.Sparsity > 0 {
		rate := s.spec.RewindRate
		if rate == 0 {
			rate = 0.2
		}
		rounds := int(math.Ceil(math.Log(1-s.spec.Sparsity)/math.Log(1-rate) - 1e-9))
		e *= max(1, rounds)
	}
	return e
}

func (s *pruneScreen) handleEvent(e lab.Event) tea.Cmd {
	switch e.Kind {
	case lab.Started:
		s.state = runRunning
	case lab.Progress:
		s.state = runRunning
		st := e.Stats
		if st.Phase != s.phase && s.phase != "" && strings.HasPrefix(st.Phase, "round ") {
			s.offset += s.stats.Epochs // a new rewinding round starts at epoch 1
		}
		s.phase, s.stats = st.Phase, st
		x := float64(s.offset+st.Epoch-1) + float64(st.Step)/float64(max(1, st.Steps))
		if st.EpochDone {
			x = float64(s.offset + st.Epoch)
			s.acc.val.push(point{x, st.ValAcc})
		}
		if x > s.acc.epochs {
			s.acc.epochs = math.Ceil(x)
		}
		s.acc.train.push(point{x, st.TrainAcc})
		s.acc.draw()
		if st.Snapshot != nil {
			return s.requestWeights(e.Run, st.Snapshot, fmt.Sprintf("run %d at epoch %d", e.Run, s.offset+st.Epoch))
		}
	case lab.Finished:
		s.state, s.result = runDone, e.Result
		if h := e.Result.History; len(h) > 0 {
			s.stats = h[len(h)-1]
			s.stats.EpochDone = true
			// The history is complete where Progress events may have been
			// dropped: redraw from it, rounds end to end.
			s.acc.reset(len(h))
			for i, st := range h {
				s.acc.train.push(point{float64(i + 1), st.TrainAcc})
				s.acc.val.push(point{float64(i + 1), st.ValAcc})
			}
			s.acc.draw()
		}
		s.layers, s.layersK = nil, "final"
		for _, l := range e.Result.Layers {
			note := l.Layout
			if l.RemovedUnits > 0 {
				note = fmt.Sprintf("−%d units %s", l.RemovedUnits, note)
			}
			s.layers = append(s.layers, share{name: l.Name, frac: l.Sparsity, note: note})
		}
	case lab.Failed:
		s.err, s.state = e.Err, runFailed
		if errors.Is(e.Err, context.Canceled) {
			s.state = runCancelled
		}
		s.notice = ""
	}
	return nil
}

func (s *pruneScreen) handleSensEvent(e lab.Event) {
	switch e.Kind {
	case lab.Started, lab.Progress:
		s.sensState = runRunning
	case lab.Finished:
		s.sensState, s.sens = runDone, e.Result.Sensitivity
	case lab.Failed:
		s.sensErr, s.sensState = e.Err, runFailed
		if errors.Is(e.Err, context.Canceled) {
			s.sensState = runCancelled
		}
	}
}

// barsFromMats is per-layer sparsity counted from weight matrices.
func barsFromMats(mats []weightMatrix) []share {
	out := make([]share, len(mats))
	for i, m := range mats {
		out[i] = share{name: m.Name, frac: m.sparsity()}
	}
	return out
}

// Layout: the form on the left, the run on the right.

func (s *pruneScreen) formWidth() int { return min(38, max(28, s.w/3)) }

// rightLayout returns the right column's width, the chart's size, whether
// the layer bars sit beside the chart, and their width and rows.
func (s *pruneScreen) rightLayout() (rw, cw, ch int, side bool, bw, brows int) {
	rw = max(0, s.w-s.formWidth()-2)
	avail := s.h - lineCount(s.headView(rw))
	nl := max(1, len(s.layers))
	if rw >= 70 {
		cw = rw * 11 / 20
		ch = min(14, max(6, avail*2/5))
		return rw, cw, ch, true, rw - cw - 2, ch - 1
	}
	ch = min(10, max(5, avail/3))
	return rw, rw, ch, false, rw, min(nl, max(1, avail/6))
}

func (s *pruneScreen) SetSize(w, h int) {
	s.w, s.h = w, h
	_, cw, ch, _, _, _ := s.rightLayout()
	s.acc.setSize(cw, ch)
	s.bar.Width = max(8, s.w-s.formWidth()-2-46)
}

func (s *pruneScreen) View() string {
	fw := s.formWidth()
	info := ""
	if id := s.chosen(); id != 0 {
		info = s.bases.describe(id)
		if _, known := s.bases.dataFor(id); !known && info != "" {
			info += " · data: " + s.bases.current + "?"
		}
	}
	form := s.form.view(s.c.styles, "Prune a model", info, s.notice, fw)
	return hjoin(2, []string{form, s.runView()}, []int{fw, max(0, s.w-fw-2)})
}

// statusLine says what the prune run on view is doing, in words.
func (s *pruneScreen) statusLine() string {
	st := s.c.styles
	r := fmt.Sprintf("run %d", s.run)
	sp := s.spec
	what := fmt.Sprintf("run %d %s → %.0f%%", sp.BaseRun, sp.Method, 100*sp.Sparsity)
	switch s.state {
	case runNone:
		return st.Muted.Render("no run yet: choose a model, fill in the form and press s")
	case runRunning:
		line := st.Accent.Render(r+" pruning") + " " + what
		if s.phase != "" {
			line += " · " + s.phase
		}
		return line
	case runDone:
		res := s.result
		line := fmt.Sprintf("%s finished: %s sparse · test acc %s", r, pct(deref(res.Sparsity)), pct(res.TestAccuracy))
		if b := res.Baseline; b != nil {
			line += fmt.Sprintf(" (%+.1f pt vs base)", res.Compare(b).AccuracyPoints)
		}
		return st.Good.Render(line)
	}
	return runStateLine(st, s.state, r, s.err)
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

// progressLine is the epoch, a bar, the sparsity reached and the pace.
func (s *pruneScreen) progressLine() string {
	t := s.stats
	if s.state == runDone {
		res := s.result
		b := res.Baseline
		if b == nil {
			b = &lab.Result{}
		}
		d := res.Compare(b)
		return fmt.Sprintf("size %s vs %s (×%.2f) · latency %.1fµs vs %.1fµs (×%.2f)\n"+
			"non-zero params %s of %s (base %s) · MACs %s (base %s)",
			bytesText(res.SizeBytes), bytesText(b.SizeBytes), d.SizeRatio, res.LatencyMicros, b.LatencyMicros, d.LatencyRatio,
			count(float64(res.NonzeroParams)), count(float64(res.Params)), count(float64(b.NonzeroParams)),
			count(float64(res.MACs)), count(float64(b.MACs)))
	}
	if s.state == runNone || t.Epochs == 0 {
		if s.active() && s.spec.Epochs == 0 {
			return "pruning without fine-tuning, then measuring"
		}
		return ""
	}
	done, left := runProgress(t), "—"
	if s.active() {
		left = eta(t.Elapsed, done)
	}
	line := fmt.Sprintf("epoch %d/%d %s sparsity %s · eta %s", t.Epoch, t.Epochs, s.bar.ViewAs(done), pct(t.Sparsity), left)
	if s.w-s.formWidth()-2 >= ansi.StringWidth(line)+14 {
		line += fmt.Sprintf(" · %s samples/s", count(t.SamplesPerSec))
	}
	return line
}

// noteLine is the plain sentence when the pruned model is no smaller or no
// faster than its base, or what the sensitivity run is doing.
func (s *pruneScreen) noteLine(w int) string {
	st := s.c.styles
	if s.state == runDone && s.result.Baseline != nil {
		if n := s.result.Compare(s.result.Baseline).Note; n != "" {
			return wrapUpTo(st.Warn, "Honest numbers: "+n+".", w, 2)
		}
		return wrapUpTo(st.Good, "Smaller and faster than its base model, measured side by side.", w, 2)
	}
	return ""
}

// headView is the status (up to two lines), the progress or the finished
// run's figures, and the honest sentence.
func (s *pruneScreen) headView(rw int) string {
	st := s.c.styles
	if s.state == runFailed {
		return block(wrapText(st.Bad, ansi.Strip(s.statusLine()), rw, 3), rw, 3)
	}
	status := wrapUpTo(st.Plain, s.statusLine(), rw, 2)
	if s.state == runDone {
		return vjoin(status, fit(s.progressLine(), rw, 2), s.noteLine(rw))
	}
	return block(vjoin(status, fit(s.progressLine(), rw, 1)), rw, 3)
}

func (s *pruneScreen) runView() string {
	st := s.c.styles
	rw, cw, ch, side, bw, brows := s.rightLayout()
	head := s.headView(rw)
	rest := s.h - lineCount(head)
	if s.showSens {
		return vjoin(head, s.sensView(rw, rest))
	}
	if s.state == runNone && len(s.mats) == 0 {
		return vjoin(head, "", wrapText(st.Muted,
			"Pruning shows here: the sparsity reached, accuracy over the fine-tuning epochs, each layer's sparsity, "+
				"and a heatmap of a layer's weights with the pruned ones blank. v shows how sensitive each layer is.", rw, 4))
	}
	bars := s.barsView(bw, brows)
	var top string
	if s.state == runNone {
		top = ""
	} else if side {
		top = hjoin(2, []string{s.acc.View(), bars}, []int{cw, bw})
	} else {
		top = vjoin(block(s.acc.View(), cw, ch), bars)
	}
	hmH := rest - lineCount(top)
	return vjoin(head, top, s.heatView(rw, hmH))
}

func lineCount(s string) int {
	if s == "" {
		return 0
	}
	return strings.Count(s, "\n") + 1
}

// barsView is the per-layer sparsity, with a heading.
func (s *pruneScreen) barsView(w, rows int) string {
	st := s.c.styles
	title := "Layers"
	switch {
	case s.layersK == "final":
		title = "Layers: sparsity, saved layout"
	case s.layersK == "live":
		title = "Layers (live)"
	}
	if len(s.layers) == 0 {
		msg := "per-layer sparsity each epoch"
		if s.state == runFailed || s.state == runCancelled {
			msg = "no per-layer figures: the run did not finish"
		}
		return vjoin(heading(st, title, w), st.Muted.Render(fit(msg, w, 1)))
	}
	return vjoin(heading(st, title, w), shareBars(st, s.layers, "layers", w, rows))
}

// heatView is the heatmap of the selected layer with a title and a legend.
func (s *pruneScreen) heatView(w, h int) string {
	st := s.c.styles
	if h < 2 || w <= 0 {
		return ""
	}
	switch {
	case s.matsErr != nil:
		return vjoin(heading(st, "Weights", w), st.Bad.Render(fit("no heatmap: "+s.matsErr.Error(), w, 1)))
	case len(s.mats) == 0 && s.active():
		return vjoin(heading(st, "Weights", w), st.Muted.Render(wrapText(st.Muted,
			"the pruned weights show here after each fine-tuning epoch, and when the run finishes", w, 2)))
	case len(s.mats) == 0:
		return ""
	}
	m := s.mats[min(s.layer, len(s.mats)-1)]
	title := fmt.Sprintf("Weights of %s, layer %s: %d×%d, %s zero", s.matsOf, m.Name, m.Rows, m.Cols, pct(m.sparsity()))
	if len(s.mats) > 1 {
		title += fmt.Sprintf(" · [/] layer %d of %d", s.layer+1, len(s.mats))
	}
	lines := []string{heading(st, fit(title, w-2, 1), w)}
	gridH := h - 2
	if gridH < 1 {
		return lines[0]
	}
	lines = append(lines, heatmapView(st, m, w, gridH), fit(heatmapLegend(st), w, 1))
	return strings.Join(lines, "\n")
}

// sensView is the sensitivity analysis: its state, or one sparkline per layer.
func (s *pruneScreen) sensView(w, h int) string {
	st := s.c.styles
	title := "Sensitivity"
	if s.sensBase != 0 {
		title = fmt.Sprintf("Sensitivity of run %d: each layer alone magnitude-pruned, no fine-tuning", s.sensBase)
	}
	head := heading(st, fit(title, w-2, 1), w)
	r := fmt.Sprintf("run %d", s.sensRun)
	var body string
	switch s.sensState {
	case runNone:
		body = st.Muted.Render("v analyses the chosen model")
	case runPending:
		body = st.Muted.Render("starting…")
	case runQueued:
		body = st.Muted.Render(r + " queued, waiting for a worker")
	case runRunning:
		body = st.Accent.Render(r + " pruning each layer at 0–95% and measuring validation accuracy…")
	case runCancelled:
		body = st.Warn.Render(r + " cancelled")
	case runFailed:
		msg := r + " failed"
		if s.sensErr != nil {
			msg += ": " + s.sensErr.Error()
		}
		body = wrapText(st.Bad, msg, w, 2)
	case runDone:
		body = sensitivityView(st, s.sens, w, max(0, h-3))
		body = vjoin(body, wrapText(st.Muted, "validation accuracy from 0% to 95% sparsity, one scale for all layers; "+
			"≤1 pt: the highest sparsity within 1 point of unpruned", w, 2))
	}
	return vjoin(head, body)
}
