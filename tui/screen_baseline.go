package tui

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/progress"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

// runState is where the screen's current run is in its life.
type runState int

const (
	runNone runState = iota
	runPending
	runQueued
	runRunning
	runDone
	runFailed
	runCancelled
)

// The form's fields, in order.
const (
	fModel = iota
	fAct
	fOpt
	fLR
	fBatch
	fEpochs
	fDropout
	fPatience
	fSeed
	numFields
)

// baselineScreen is the form for training a baseline and the live view of
// its run: charts, per-epoch table, progress and, for 2-D data, the decision
// regions over the data.
type baselineScreen struct {
	c      *common
	keys   baselineKeys
	form   techForm
	notice string // why s refused, or what just happened

	data    string        // the dataset spec trained on
	ds      *core.Dataset // its preview, for the decision regions plot
	run     lab.RunID     // the run on view; 0 before the first
	state   runState
	runSpec lab.TrainSpec // of the run on view
	stats   core.Stats
	err     error
	result  *lab.Result
	regions *regionGrid

	loss, acc *lineChart
	epochs    []core.Stats // finished epochs, newest last (bounded)
	bar       progress.Model
	w, h      int
	plot      string // drawn decision-regions plot
}

type baselineKeys struct {
	formKeys
	Start, Cancel key.Binding
}

// maxEpochRows bounds the per-epoch history kept for the table.
const maxEpochRows = 200

func newBaselineScreen(c *common) screen {
	st := c.styles
	s := &baselineScreen{c: c, data: c.data,
		keys: baselineKeys{Start: relabel(keyStart, "s", "start training"), Cancel: keyStop},
		loss: newLineChart(st, "Loss", false), acc: newLineChart(st, "Accuracy", true)}
	if s.data == "" {
		s.data = defaultData()
	}
	f := make([]*field, numFields)
	f[fModel] = newField(st, "model", "mlp:32,32", func(v string) error { return validModel(v, s.shape()) })
	f[fAct] = newField(st, "activation", "relu", validChoice("activation", core.Activations), core.Activations...)
	f[fOpt] = newField(st, "optimizer", "adam", validChoice("optimizer", core.Optimizers), core.Optimizers...)
	f[fLR] = newField(st, "learning rate", "0.01", validPositiveFloat("the learning rate", 10))
	f[fBatch] = newField(st, "batch size", "32", validInt("the batch size", 1, 65536))
	f[fEpochs] = newField(st, "epochs", "30", validInt("epochs", 1, 10000))
	f[fDropout] = newField(st, "dropout", "0", validRate)
	f[fPatience] = newField(st, "patience", "0", validInt("patience", 0, 10000))
	f[fSeed] = newField(st, "seed", strconv.FormatUint(c.seed, 10), validSeed)
	s.form = techForm{fields: f, keys: newFormKeys()}
	s.bar = newBar(st)
	s.updateKeys()
	return s
}

func (s *baselineScreen) Title() string { return "Baseline" }

func (s *baselineScreen) Init() tea.Cmd { return nil }

func (s *baselineScreen) Editing() bool { return s.form.editing }

func (s *baselineScreen) Back() bool {
	if s.form.back() {
		s.updateKeys()
		return true
	}
	return false
}

// shape is the sample shape of the dataset trained on: from its preview, or
// from the built-in list while it loads; nil when unknown.
func (s *baselineScreen) shape() []int {
	if s.ds != nil {
		return s.ds.SampleShape
	}
	return builtinShape(s.data)
}

// live says whether a run in state r has not ended.
func (r runState) live() bool { return r == runPending || r == runQueued || r == runRunning }

// runStateLine is the status line of a run that is starting, queued,
// cancelled or failed (with err, when known); r names the run.
func runStateLine(st *Styles, state runState, r string, err error) string {
	switch state {
	case runPending:
		return st.Muted.Render("starting…")
	case runQueued:
		return st.Muted.Render(r + " queued, waiting for a worker")
	case runCancelled:
		return st.Warn.Render(r + " cancelled")
	}
	if err != nil {
		return st.Bad.Render(r + " failed: " + err.Error())
	}
	return st.Bad.Render(r + " failed")
}

// active says whether the run on view has not ended.
func (s *baselineScreen) active() bool {
	return s.state.live()
}

// updateKeys enables the bindings that apply now, so help shows only those.
func (s *baselineScreen) updateKeys() {
	s.form.updateKeys(true)
	k := &s.keys
	k.formKeys = s.form.keys
	ed := s.form.editing
	k.Start.SetEnabled(!ed)
	k.Cancel.SetEnabled(!ed && s.active() && s.run != 0)
}

func (s *baselineScreen) ShortHelp() []key.Binding {
	k := s.keys
	return []key.Binding{k.Up, k.Edit, k.Left, k.Save, k.Abort, k.Start, k.Cancel}
}

func (s *baselineScreen) FullHelp() [][]key.Binding {
	k := s.keys
	return [][]key.Binding{{k.Up, k.Down, k.Edit, k.Left}, {k.Save, k.Abort, k.Start, k.Cancel}}
}

func (s *baselineScreen) Update(msg tea.Msg) tea.Cmd {
	defer s.updateKeys()
	switch msg := msg.(type) {
	case tea.KeyMsg:
		return s.handleKey(msg)
	case datasetChosenMsg:
		s.data, s.ds, s.regions = msg.name, msg.ds, nil
		s.notice = "dataset: " + msg.name
		s.form.fields[fModel].check() // a spec may fit one shape and not another
		s.redraw()
		if msg.ds == nil { // its load may have arrived before this message
			return loadDataset(msg.name, s.c.seed)
		}
	case datasetLoadedMsg:
		if msg.name == s.data && msg.err == nil {
			s.ds = msg.ds
			s.form.fields[fModel].check()
			s.redraw()
		}
	case runStartedMsg:
		if msg.owner != s.Title() {
			return nil
		}
		s.startedRun(msg)
	case labEventMsg:
		if msg.Run != s.run || s.run == 0 {
			return nil // a run this screen does not show
		}
		return s.handleEvent(lab.Event(msg))
	case regionsMsg:
		if msg.run == s.run {
			s.regions = &msg.grid
			s.redraw()
		}
	}
	return nil
}

func (s *baselineScreen) handleKey(msg tea.KeyMsg) tea.Cmd {
	if ok, cmd := s.form.handleKey(msg, &s.notice); ok {
		return cmd
	}
	k := s.keys
	switch {
	case key.Matches(msg, k.Start):
		return s.start()
	case key.Matches(msg, k.Cancel):
		if s.active() && s.run != 0 {
			s.notice = fmt.Sprintf("cancelling run %d…", s.run)
			return cancelRun(s.c.lab, s.run)
		}
	}
	return nil
}

// start validates the form and returns the Cmd that starts the run; it
// refuses, saying why, when a field is invalid or a run is going.
func (s *baselineScreen) start() tea.Cmd {
	if s.active() {
		s.notice = "a run is already going: x cancels it"
		return nil
	}
	if p := s.form.firstError(); p != "" {
		s.notice = "cannot start: " + p
		return nil
	}
	spec := s.spec()
	s.state, s.notice = runPending, ""
	return startTraining(s.c.ctx, s.c.lab, s.Title(), spec)
}

// spec reads the (valid) form.
func (s *baselineScreen) spec() lab.TrainSpec {
	v := func(i int) string { return s.form.fields[i].value() }
	num := func(i int) float64 { x, _ := strconv.ParseFloat(v(i), 64); return x }
	whole := func(i int) int { x, _ := strconv.Atoi(v(i)); return x }
	seed, _ := strconv.ParseUint(v(fSeed), 10, 64)
	spec := lab.TrainSpec{Data: lab.DataSpec{Name: s.data, Seed: s.c.seed}, Model: v(fModel), Activation: v(fAct), Optimizer: v(fOpt),
		LR: num(fLR), Dropout: num(fDropout), Batch: whole(fBatch), Epochs: whole(fEpochs),
		Patience: whole(fPatience), Seed: seed}
	if s.ds != nil && s.ds.Features() == 2 {
		// About 30 snapshots per run redraw the decision regions as it learns.
		spec.SnapshotEvery = max(1, spec.Epochs/30)
	}
	return spec
}

// startedRun puts a newly started run on view.
func (s *baselineScreen) startedRun(msg runStartedMsg) {
	s.runSpec = msg.spec
	s.run, s.stats, s.err, s.result, s.regions, s.epochs = msg.id, core.Stats{}, nil, nil, nil, nil
	s.state = runQueued
	if msg.id == 0 {
		s.state, s.notice = runFailed, "the lab is shutting down; no run was started"
	}
	s.loss.reset(msg.spec.Epochs)
	s.acc.reset(msg.spec.Epochs)
	s.redraw()
}

func (s *baselineScreen) handleEvent(e lab.Event) tea.Cmd {
	switch e.Kind {
	case lab.Started:
		s.state = runRunning
	case lab.Progress:
		s.state = runRunning
		s.stats = e.Stats
		st := e.Stats
		if float64(st.Epochs) != s.loss.epochs && st.Epochs > 0 {
			s.loss.epochs, s.acc.epochs = float64(st.Epochs), float64(st.Epochs)
		}
		x := float64(st.Epoch-1) + float64(st.Step)/float64(max(1, st.Steps))
		if st.EpochDone {
			x = float64(st.Epoch)
			s.pushEpoch(st)
		}
		s.loss.train.push(point{x, st.TrainLoss})
		s.acc.train.push(point{x, st.TrainAcc})
		s.loss.draw()
		s.acc.draw()
		if st.Snapshot != nil && s.ds != nil && s.ds.Features() == 2 {
			return computeRegions(e.Run, st.Snapshot, dataBounds(s.ds))
		}
	case lab.Finished:
		s.state, s.result = runDone, e.Result
		epochs := s.runSpec.Epochs
		if n := len(e.Result.History); n > 0 {
			s.stats = e.Result.History[n-1]
			epochs = s.stats.Epochs
		}
		// The history is complete where Progress events may have been
		// dropped: redraw from it.
		s.loss.reset(epochs)
		s.acc.reset(epochs)
		s.epochs = nil
		for _, h := range e.Result.History {
			s.pushEpoch(h)
			s.loss.train.push(point{float64(h.Epoch), h.TrainLoss})
			s.acc.train.push(point{float64(h.Epoch), h.TrainAcc})
		}
		s.loss.draw()
		s.acc.draw()
		s.redraw()
		if s.ds != nil && s.ds.Features() == 2 && e.Result.Model != nil {
			return computeRegions(e.Run, e.Result.Model, dataBounds(s.ds))
		}
	case lab.Failed:
		s.err = e.Err
		s.state = runFailed
		if errors.Is(e.Err, context.Canceled) {
			s.state = runCancelled
		}
		s.notice = ""
	}
	return nil
}

// pushEpoch records a finished epoch: the table row and the validation points.
func (s *baselineScreen) pushEpoch(st core.Stats) {
	if n := len(s.epochs); n > 0 && s.epochs[n-1].Epoch == st.Epoch {
		s.epochs[n-1] = st
	} else {
		s.epochs = append(s.epochs, st)
	}
	if len(s.epochs) > maxEpochRows {
		s.epochs = s.epochs[len(s.epochs)-maxEpochRows:]
	}
	s.loss.val.push(point{float64(st.Epoch), st.ValLoss})
	s.acc.val.push(point{float64(st.Epoch), st.ValAcc})
}

// Layout of the screen: the form on the left, the run on the right.

func (s *baselineScreen) formWidth() int { return min(38, max(28, s.w/3)) }

// rightLayout returns the chart size, whether the two charts sit side by
// side, and the table height.
func (s *baselineScreen) rightLayout() (cw, ch int, side bool, tableH int) {
	rw := s.w - s.formWidth() - 2
	avail := s.h - 2 // status and progress lines
	side = rw >= 76
	if side {
		ch = min(16, max(6, avail*3/5))
		return (rw - 2) / 2, ch, true, avail - ch
	}
	if avail >= 26 {
		tableH = min(8, avail-18)
	}
	return rw, max(5, (avail-tableH)/2), false, tableH
}

func (s *baselineScreen) SetSize(w, h int) {
	s.w, s.h = w, h
	cw, ch, _, _ := s.rightLayout()
	s.loss.setSize(cw, ch)
	s.acc.setSize(cw, ch)
	s.bar.Width = max(8, s.w-s.formWidth()-2-42)
	s.redraw()
}

// plotSize is the size of the decision regions plot under the form.
func (s *baselineScreen) plotSize() (int, int) {
	return s.formWidth(), s.h - numFields - 1 - 4 - 3
}

// redraw draws the decision regions plot.
func (s *baselineScreen) redraw() {
	w, h := s.plotSize()
	if s.ds == nil || s.ds.Features() != 2 || h < 4 {
		s.plot = ""
		return
	}
	s.plot = scatterView(s.c.styles, s.ds, s.regions, w, h)
}

func (s *baselineScreen) View() string {
	fw := s.formWidth()
	return hjoin(2, []string{s.formView(fw), s.runView()}, []int{fw, max(0, s.w-fw-2)})
}

func (s *baselineScreen) formView(w int) string {
	st := s.c.styles
	lines := []string{s.form.view(st, "Model · data "+s.data, "", s.notice, w)}
	if s.plot != "" {
		pw, _ := s.plotSize()
		title := "Data"
		switch {
		case s.regions != nil:
			title = "Decision regions"
		case s.active():
			title = "Data (regions when trained)"
		}
		lines = append(lines, heading(st, title, pw), s.plot, legendView(st, s.ds.Classes, pw))
	}
	return strings.Join(lines, "\n")
}

// wrapText wraps msg to lines of at most w columns, at most n lines, in style.
func wrapText(style interface{ Render(...string) string }, msg string, w, n int) string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(msg) {
		switch {
		case line == "":
			line = word
		case len([]rune(line))+1+len([]rune(word)) <= w:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	for len(lines) < n {
		lines = append(lines, "")
	}
	for i := range lines {
		lines[i] = style.Render(lines[i])
	}
	return fit(strings.Join(lines, "\n"), w, n)
}

// statusLine says what the run on view is doing, in words.
func (s *baselineScreen) statusLine() string {
	st := s.c.styles
	r := fmt.Sprintf("run %d", s.run)
	switch s.state {
	case runNone:
		return st.Muted.Render("no run yet: fill in the form and press s")
	case runRunning:
		return st.Accent.Render(r+" training") + " " + s.runSpec.Model + " on " + s.runSpec.Data.Name
	case runDone:
		res := s.result
		line := fmt.Sprintf("%s finished: test acc %.1f%%, loss %.3f, %s", r, 100*res.TestAccuracy, res.TestLoss, seconds(res.TrainSeconds))
		if res.Stopped != "" {
			line += " (" + res.Stopped + ")"
		}
		return st.Good.Render(line)
	}
	return runStateLine(st, s.state, r, s.err)
}

// progressLine is the run's progress bar (all epochs, the current one in
// part) with samples/s, elapsed and ETA; after a cancel it stays where the
// run stopped.
func (s *baselineScreen) progressLine() string {
	t := s.stats
	if s.state == runNone || t.Epochs == 0 {
		return ""
	}
	done := runProgress(t)
	left := "—"
	switch {
	case s.active():
		left = eta(t.Elapsed, done)
	case s.state == runDone:
		left = "done"
	}
	return fmt.Sprintf("epoch %d/%d %s %s/s %s eta %s", t.Epoch, t.Epochs, s.bar.ViewAs(done),
		count(t.SamplesPerSec), dur(t.Elapsed), left)
}

func (s *baselineScreen) runView() string {
	st := s.c.styles
	rw := s.w - s.formWidth() - 2
	head := vjoin(fit(s.statusLine(), rw, 1), fit(s.progressLine(), rw, 1))
	if s.state == runFailed { // the reason matters more than the progress
		head = wrapText(st.Bad, ansi.Strip(s.statusLine()), rw, 2)
	}
	if s.state == runNone {
		return vjoin(head, "", st.Muted.Render(wrapText(st.Muted,
			"Training shows here: loss and accuracy per epoch for the training and validation sets, "+
				"a table of epochs and, for 2-D data, the decision regions under the form.", rw, 4)))
	}
	cw, ch, side, tableH := s.rightLayout()
	var charts string
	if side {
		charts = hjoin(2, []string{s.loss.View(), s.acc.View()}, []int{cw, cw})
	} else {
		charts = vjoin(block(s.loss.View(), cw, ch), block(s.acc.View(), cw, ch))
	}
	return vjoin(block(head, rw, 2), charts, s.epochTable(rw, tableH))
}

// epochTable shows the newest finished epochs that fit in h lines.
func (s *baselineScreen) epochTable(w, h int) string {
	if h < 2 || len(s.epochs) == 0 {
		return ""
	}
	t := table{selected: -1, cols: []column{{title: "epoch", right: true}, {title: "train loss", right: true},
		{title: "train acc", right: true}, {title: "val loss", right: true}, {title: "val acc", right: true},
		{title: "lr", right: true}}}
	rows := s.epochs[max(0, len(s.epochs)-(h-1)):]
	for _, e := range rows {
		t.rows = append(t.rows, []cell{{text: strconv.Itoa(e.Epoch)}, {text: fmt.Sprintf("%.4f", e.TrainLoss)},
			{text: pct(e.TrainAcc)}, {text: fmt.Sprintf("%.4f", e.ValLoss)}, {text: pct(e.ValAcc)},
			{text: fmt.Sprintf("%.2g", e.LR)}})
	}
	return t.View(s.c.styles, w, h)
}

// Number formatting shared by the screens.

func pct(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }

func seconds(v float64) string { return dur(time.Duration(v * float64(time.Second))) }

// dur formats a duration compactly: 850ms, 4.2s, 3m05s, 1h02m.
// runProgress is how far a training run is, from 0 to 1: its finished
// epochs and the steps of the current one.
func runProgress(t core.Stats) float64 {
	frac := float64(t.Step) / float64(max(1, t.Steps))
	if t.EpochDone {
		frac = 1
	}
	return (float64(t.Epoch-1) + frac) / float64(max(1, t.Epochs))
}

// eta is the time left when the fraction done of the work took elapsed;
// "—" before there is anything to go by.
func eta(elapsed time.Duration, done float64) string {
	if done <= 0 {
		return "—"
	}
	return dur(time.Duration(float64(elapsed) * (1 - done) / done))
}

func dur(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// count formats a large number with a k or M suffix.
func count(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
