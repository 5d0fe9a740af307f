package tui

import (
	"context"
	"errors"
	"fmt"
	"math"
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

// The Distill screen's fields, in order.
const (
	fdTeacher = iota
	fdStudent
	fdTemp
	fdAlpha
	fdEpochs
	fdLabelled
	fdSeeds
	fdSeed
	numDistillFields
)

// distillScreen is the form for distilling a finished run's model (the
// teacher) into a smaller student, and the live view of the run: the
// validation accuracy of the scratch and the distilled student of the seed
// being trained, on one chart with the teacher's as a line, and when it
// finishes a table of teacher, scratch and distilled student.
type distillScreen struct {
	c      *common
	keys   distillKeys
	form   techForm
	bases  *basePicker
	notice string

	run    lab.RunID
	state  runState
	spec   lab.DistillSpec
	stats  core.Stats
	phase  string // the Stats.Phase of the last student event
	seed   uint64 // the seed whose students are on the chart
	done   int    // students finished before the current one
	last   map[string]float64
	err    error
	result *lab.Result
	chart  *curveChart
	bar    progress.Model
	w, h   int
}

type distillKeys struct {
	formKeys
	Start, Cancel key.Binding
}

func newDistillScreen(c *common) screen {
	st := c.styles
	s := &distillScreen{c: c, bases: newBasePicker(c)}
	s.chart = newCurveChart(st, "Validation accuracy",
		&curve{name: "scratch", style: st.Val, glyph: "──"},
		&curve{name: "distilled", style: st.Train, braille: true, glyph: "⠤⠤"})
	s.keys = distillKeys{Start: relabel(keyStart, "s", "start distilling"), Cancel: keyStop}
	f := make([]*field, numDistillFields)
	f[fdTeacher] = newField(st, "teacher", "", s.bases.validate("to distill from"))
	f[fdStudent] = newField(st, "student", "mlp:16", func(v string) error { return validModel(v, s.shape()) })
	f[fdTemp] = newField(st, "temperature", strconv.FormatFloat(core.DefaultTemperature, 'g', -1, 64),
		validPositiveFloat("the temperature", 100))
	f[fdAlpha] = newField(st, "alpha", "0.7", validAlpha)
	f[fdEpochs] = newField(st, "epochs", "10", validInt("epochs", 1, 10000))
	f[fdLabelled] = newField(st, "labelled %", "100", validPercent("the labelled fraction", true))
	f[fdSeeds] = newField(st, "seeds", strconv.Itoa(lab.DefaultSeeds), validInt("seeds", 1, 20))
	f[fdSeed] = newField(st, "first seed", strconv.FormatUint(c.seed, 10), validSeed)
	s.form = techForm{fields: f, keys: newFormKeys()}
	s.bar = newBar(st)
	s.updateKeys()
	return s
}

func validAlpha(v string) error {
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || !(x >= 0 && x <= 1) {
		return errors.New("alpha (the weight of the teacher's term) must be a number from 0 to 1")
	}
	return nil
}

// shape is the sample shape of the teacher's dataset when it is a built-in
// one (nil otherwise: the lab then checks the student when the run starts).
func (s *distillScreen) shape() []int {
	if s.bases == nil || len(s.form.fields) <= fdTeacher {
		return nil // the form is being built
	}
	d, _ := s.bases.dataFor(parseRun(s.form.fields[fdTeacher].value()))
	return builtinShape(d.Name)
}

func (s *distillScreen) Title() string { return "Distill" }

func (s *distillScreen) Init() tea.Cmd { return nil }

func (s *distillScreen) Editing() bool { return s.form.editing }

func (s *distillScreen) Back() bool {
	if s.form.back() {
		s.updateKeys()
		return true
	}
	return false
}

func (s *distillScreen) active() bool {
	return s.state.live()
}

func (s *distillScreen) updateKeys() {
	s.form.updateKeys(true)
	s.keys.formKeys = s.form.keys
	s.keys.Start.SetEnabled(!s.form.editing)
	s.keys.Cancel.SetEnabled(!s.form.editing && s.active() && s.run != 0)
}

func (s *distillScreen) ShortHelp() []key.Binding {
	k := s.keys
	return []key.Binding{k.Up, k.Edit, k.Left, k.Save, k.Abort, k.Start, k.Cancel}
}

func (s *distillScreen) FullHelp() [][]key.Binding {
	k := s.keys
	return [][]key.Binding{{k.Up, k.Down, k.Edit, k.Left}, {k.Save, k.Abort, k.Start, k.Cancel}}
}

func (s *distillScreen) Update(msg tea.Msg) tea.Cmd {
	defer func() {
		s.updateKeys()
		s.chart.setSize(s.chartSize()) // the table takes room when the run ends
	}()
	if changed, want := s.bases.observe(msg); changed {
		s.bases.sync(s.form.fields[fdTeacher], want)
		s.form.fields[fdStudent].check() // the teacher's data may have another shape
	}
	switch msg := msg.(type) {
	case tea.KeyMsg:
		return s.handleKey(msg)
	case runStartedMsg:
		if msg.owner == s.Title() {
			s.startedRun(msg)
		}
	case labEventMsg:
		if msg.Run != 0 && msg.Run == s.run {
			s.handleEvent(lab.Event(msg))
		}
	}
	return nil
}

func (s *distillScreen) handleKey(msg tea.KeyMsg) tea.Cmd {
	if ok, cmd := s.form.handleKey(msg, &s.notice); ok {
		if s.form.focus == fdTeacher {
			s.form.fields[fdStudent].check()
		}
		return cmd
	}
	switch {
	case key.Matches(msg, s.keys.Start):
		return s.start()
	case key.Matches(msg, s.keys.Cancel) && s.active() && s.run != 0:
		s.notice = fmt.Sprintf("cancelling run %d…", s.run)
		return cancelRun(s.c.lab, s.run)
	}
	return nil
}

// distillSpec reads the (valid) form into the job's spec.
func (s *distillScreen) distillSpec() lab.DistillSpec {
	v := func(i int) string { return s.form.fields[i].value() }
	num := func(i int) float64 { x, _ := strconv.ParseFloat(v(i), 64); return x }
	whole := func(i int) int { x, _ := strconv.Atoi(v(i)); return x }
	seed, _ := strconv.ParseUint(v(fdSeed), 10, 64)
	teacher := parseRun(v(fdTeacher))
	data, _ := s.bases.dataFor(teacher)
	return lab.DistillSpec{Data: data, TeacherRun: teacher, Student: v(fdStudent), Temperature: num(fdTemp),
		Alpha: num(fdAlpha), Epochs: whole(fdEpochs), LabelledFrac: percentOf(v(fdLabelled)), Seeds: whole(fdSeeds), Seed: seed}
}

func (s *distillScreen) start() tea.Cmd {
	if s.active() {
		s.notice = "a run is already going: x cancels it"
		return nil
	}
	if p := s.form.firstError(); p != "" {
		s.notice = "cannot start: " + p
		return nil
	}
	spec := s.distillSpec()
	if _, err := spec.Resolve(); err != nil { // no I/O: the teacher is a run, not a file
		s.notice = "cannot start: " + err.Error()
		return nil
	}
	s.state, s.notice = runPending, ""
	return startJob(s.c.ctx, s.c.lab, s.Title(), lab.TaskDistill, spec, spec.Data, spec.Job())
}

func (s *distillScreen) startedRun(msg runStartedMsg) {
	spec, _ := msg.config.(lab.DistillSpec)
	s.spec, s.run, s.stats, s.err, s.result = spec, msg.id, core.Stats{}, nil, nil
	s.phase, s.seed, s.done, s.last = "", spec.Seed, 0, map[string]float64{}
	s.state = runQueued
	if msg.id == 0 {
		s.state, s.notice = runFailed, "the lab is shutting down; no run was started"
	}
	s.chart.reset(spec.Epochs)
	s.chart.setRef(math.NaN(), "")
	s.chart.title = fmt.Sprintf("Validation accuracy, seed %d", spec.Seed)
	s.chart.draw()
}

// parsePhase reads "scratch seed 3" or "distilled seed 3".
func parsePhase(p string) (kind string, seed uint64, ok bool) {
	kind, rest, found := strings.Cut(p, " seed ")
	if !found || (kind != lab.PhaseScratch && kind != lab.PhaseDistilled) {
		return "", 0, false
	}
	n, err := strconv.ParseUint(rest, 10, 64)
	return kind, n, err == nil
}

func (s *distillScreen) handleEvent(e lab.Event) {
	switch e.Kind {
	case lab.Started:
		s.state = runRunning
	case lab.Progress:
		s.state = runRunning
		st := e.Stats
		if st.Phase == lab.PhaseTeacher {
			s.chart.setRef(st.ValAcc, fmt.Sprintf("teacher %s", pct(st.ValAcc)))
			return
		}
		kind, seed, ok := parsePhase(st.Phase)
		if !ok {
			return
		}
		if st.Phase != s.phase {
			if s.phase != "" {
				s.done++
			}
			s.phase = st.Phase
		}
		if seed != s.seed {
			s.seed = seed
			s.chart.reset(max(1, st.Epochs))
			s.chart.title = fmt.Sprintf("Validation accuracy, seed %d", seed)
		}
		s.stats = st
		if st.Epochs > 0 && float64(st.Epochs) != s.chart.epochs {
			s.chart.epochs = float64(st.Epochs)
		}
		if st.EpochDone {
			c := s.chart.curves[0]
			if kind == lab.PhaseDistilled {
				c = s.chart.curves[1]
			}
			c.s.push(point{float64(st.Epoch), st.ValAcc})
			s.last[st.Phase] = st.ValAcc
		}
		s.chart.draw()
	case lab.Finished:
		s.state, s.result = runDone, e.Result
		if math.IsNaN(s.chart.ref) && e.Result.TeacherAccuracy != nil {
			s.chart.setRef(*e.Result.TeacherAccuracy, "teacher (test) "+pct(*e.Result.TeacherAccuracy))
		}
	case lab.Failed:
		s.err, s.state = e.Err, runFailed
		if errors.Is(e.Err, context.Canceled) {
			s.state = runCancelled
		}
		s.notice = ""
	}
}

// students is the number of students the run trains.
func (s *distillScreen) students() int { return 2 * max(1, s.spec.Seeds) }

func (s *distillScreen) formWidth() int { return min(38, max(28, s.w/3)) }

// tableH is the height of the finished run's table and verdict.
const distillTableH = 9

func (s *distillScreen) chartSize() (int, int) {
	rw := max(0, s.w-s.formWidth()-2)
	avail := s.h - 3
	if s.state == runDone {
		avail -= distillTableH
	} else {
		avail -= min(s.spec.Seeds, 3) + 1
	}
	return rw, min(20, max(5, avail))
}

func (s *distillScreen) SetSize(w, h int) {
	s.w, s.h = w, h
	s.chart.setSize(s.chartSize())
	s.bar.Width = max(8, s.w-s.formWidth()-2-50)
}

func (s *distillScreen) View() string {
	fw := s.formWidth()
	info := ""
	if id := parseRun(s.form.fields[fdTeacher].value()); id != 0 {
		info = s.bases.describe(id)
	}
	form := s.form.view(s.c.styles, "Distill a teacher", info, s.notice, fw)
	return hjoin(2, []string{form, s.runView()}, []int{fw, max(0, s.w-fw-2)})
}

func (s *distillScreen) statusLine() string {
	st := s.c.styles
	r := fmt.Sprintf("run %d", s.run)
	switch s.state {
	case runNone:
		return st.Muted.Render("no run yet: choose a teacher, fill in the form and press s")
	case runRunning:
		line := st.Accent.Render(r+" distilling") + fmt.Sprintf(" run %d → %s", s.spec.TeacherRun, s.spec.Student)
		if s.phase != "" {
			line += fmt.Sprintf(" · student %d/%d: %s", s.done+1, s.students(), s.phase)
		}
		return line
	case runDone:
		res := s.result
		return st.Good.Render(fmt.Sprintf("%s finished: %s distilled from run %d, %d seed(s), %s", r, res.Arch,
			s.spec.TeacherRun, max(1, s.spec.Seeds), seconds(res.TrainSeconds)))
	}
	return runStateLine(st, s.state, r, s.err)
}

func (s *distillScreen) progressLine() string {
	t := s.stats
	if !s.active() || t.Epochs == 0 {
		return ""
	}
	student := runProgress(t)
	done := (float64(s.done) + student) / float64(s.students())
	left := "—"
	if student > 0 {
		// This student's pace, over the students left.
		per := float64(t.Elapsed) / student
		left = dur(time.Duration(per * (float64(s.students()-s.done) - student)))
	}
	return fmt.Sprintf("epoch %d/%d %s all %.0f%% · %s/s eta %s", t.Epoch, t.Epochs, s.bar.ViewAs(student), 100*done,
		count(t.SamplesPerSec), left)
}

func (s *distillScreen) runView() string {
	st := s.c.styles
	rw := max(0, s.w-s.formWidth()-2)
	head := vjoin(wrapUpTo(st.Plain, s.statusLine(), rw, 2), fit(s.progressLine(), rw, 1))
	if s.state == runFailed {
		head = wrapText(st.Bad, ansi.Strip(s.statusLine()), rw, 3)
	}
	head = block(head, rw, 3)
	if s.state == runNone {
		return vjoin(head, "", wrapText(st.Muted,
			"Distillation shows here: for each seed, the same student trained from the labels alone (scratch) and "+
				"from the teacher (distilled), their validation accuracy on one chart with the teacher's as a line, "+
				"then a table of teacher and students on the test split.", rw, 5))
	}
	cw, ch := s.chartSize()
	chart := block(s.chart.View(), cw, ch)
	if s.state == runDone {
		return vjoin(head, chart, s.tableView(rw))
	}
	return vjoin(head, chart, s.seedLines(rw))
}

// seedLines are the last validation accuracy of each student trained so
// far, newest seeds last (at most three).
func (s *distillScreen) seedLines(w int) string {
	st := s.c.styles
	var lines []string
	for k := range max(1, s.spec.Seeds) {
		seed := s.spec.Seed + uint64(k)
		sc, okS := s.last[fmt.Sprintf("%s seed %d", lab.PhaseScratch, seed)]
		di, okD := s.last[fmt.Sprintf("%s seed %d", lab.PhaseDistilled, seed)]
		if !okS && !okD {
			continue
		}
		line := fmt.Sprintf("seed %d, last val acc: scratch %s · distilled %s", seed, pctOr(sc, okS), pctOr(di, okD))
		lines = append(lines, fit(line, w, 1))
	}
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	if len(lines) == 0 {
		return ""
	}
	return st.Muted.Render(strings.Join(lines, "\n"))
}

func pctOr(v float64, ok bool) string {
	if !ok {
		return "—"
	}
	return pct(v)
}

// tableView compares teacher, scratch and distilled student on the test
// split, then says in words whether distillation helped.
func (s *distillScreen) tableView(w int) string {
	st := s.c.styles
	r := s.result
	t := table{selected: -1, cols: []column{{title: "model"}, {title: "arch"}, {title: "test acc", right: true},
		{title: "params", right: true}, {title: "size", right: true}, {title: "latency", right: true}}}
	narrow := w < 66 // the architectures go in the heading
	spread := func(sp *lab.Spread) string {
		if sp == nil {
			return "—"
		}
		if len(sp.Runs) < 2 {
			return pct(sp.Mean)
		}
		return fmt.Sprintf("%s ± %.1f", pct(sp.Mean), 100*sp.SD)
	}
	if b := r.Baseline; b != nil {
		t.rows = append(t.rows, []cell{{text: "teacher"}, {text: b.Arch}, {text: pct(deref(r.TeacherAccuracy))},
			{text: count(float64(b.NonzeroParams))}, {text: bytesText(b.SizeBytes)}, {text: fmt.Sprintf("%.1fµs", b.LatencyMicros)}})
	}
	students := [][2]string{{"scratch", spread(r.ScratchAccuracy)}, {"distilled", spread(r.DistilledAccuracy)}}
	for _, sd := range students {
		t.rows = append(t.rows, []cell{{text: sd[0]}, {text: r.Arch}, {text: sd[1]},
			{text: count(float64(r.NonzeroParams))}, {text: bytesText(r.SizeBytes)}, {text: fmt.Sprintf("%.1fµs", r.LatencyMicros)}})
	}
	n := max(1, len(deref2(r.DistilledAccuracy)))
	title := fmt.Sprintf("Test split, mean ± sd over %d seed(s)", n)
	if narrow {
		t.cols = append(t.cols[:1:1], t.cols[2:]...)
		for i, row := range t.rows {
			t.rows[i] = append(row[:1:1], row[2:]...)
		}
		title = fmt.Sprintf("Test split, %d seed(s): students %s", n, r.Arch)
	}
	lines := []string{heading(st, title, w), t.View(st, w, len(t.rows)+1),
		wrapUpTo(st.Muted, "both students share one architecture: params, size and latency are measured once, "+
			"on the first seed's distilled student; Results lists both students", w, 2)}
	verdict, style := distillVerdict(r)
	lines = append(lines, wrapUpTo(style(st), verdict, w, 2))
	return strings.Join(lines, "\n")
}

func deref2(sp *lab.Spread) []float64 {
	if sp == nil {
		return nil
	}
	return sp.Runs
}

// distillVerdict says in words whether the distilled student beat the
// scratch one by more than the spread over seeds.
func distillVerdict(r *lab.Result) (string, func(*Styles) interface{ Render(...string) string }) {
	muted := func(st *Styles) interface{ Render(...string) string } { return st.Muted }
	good := func(st *Styles) interface{ Render(...string) string } { return st.Good }
	warn := func(st *Styles) interface{ Render(...string) string } { return st.Warn }
	sc, di := r.ScratchAccuracy, r.DistilledAccuracy
	if sc == nil || di == nil {
		return "", muted
	}
	d := 100 * (di.Mean - sc.Mean)
	noise := 100 * (sc.SD + di.SD)
	switch {
	case len(di.Runs) < 2:
		return fmt.Sprintf("distilled − scratch: %+.1f points, from one seed: no spread to judge it by", d), muted
	case d > noise:
		return fmt.Sprintf("distillation helped: %+.1f points, more than the seeds' spread (%.1f)", d, noise), good
	case d < -noise:
		return fmt.Sprintf("distillation did not help: %+.1f points, worse than from scratch beyond the seeds' spread", d), warn
	}
	return fmt.Sprintf("no clear difference: %+.1f points, within the seeds' spread (%.1f)", d, noise), warn
}
