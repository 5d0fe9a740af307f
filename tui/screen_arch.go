package tui

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

// The Architecture screen's fields, in order.
const (
	faCands = iota
	faEpochs
	faBatch
	faOpt
	faLR
	faWorkers
	faSeed
	numArchFields
)

// archStudy is what the screen needs of a running architecture study;
// *lab.ArchStudy satisfies it, and tests use a fake.
type archStudy interface {
	Observe(e lab.Event) bool
	Spec(id lab.RunID) string
	Done() bool
	Cancel()
	Result(ctx context.Context) (*lab.ArchResult, error)
}

// archLab is a lab that runs architecture studies (*lab.Lab); archStarter
// one that hands out another archStudy (a test's fake lab).
type (
	archLab interface {
		StartArch(ctx context.Context, s lab.ArchSpec) (*lab.ArchStudy, error)
	}
	archStarter interface {
		startArch(ctx context.Context, s lab.ArchSpec) (archStudy, error)
	}
)

// startArchOn starts an architecture study on l.
func startArchOn(ctx context.Context, l Lab, spec lab.ArchSpec) (archStudy, error) {
	switch x := l.(type) {
	case archStarter:
		return x.startArch(ctx, spec)
	case archLab:
		st, err := x.StartArch(ctx, spec)
		if err != nil {
			return nil, err
		}
		return st, nil
	}
	return nil, errors.New("this lab cannot run architecture studies")
}

// Messages of the Architecture screen, tagged with the study they concern.
type (
	archStartedMsg struct {
		tag   int
		study archStudy
		err   error
	}
	// archObservedMsg follows a candidate's end: whether every one has ended.
	archObservedMsg struct {
		tag  int
		done bool
	}
	archResultMsg struct {
		tag int
		res *lab.ArchResult
		err error
	}
)

// archCand is one candidate as the screen follows it.
type archCand struct {
	spec  string
	run   lab.RunID
	state runState
	stats core.Stats
	res   *lab.Result // its training run's result, before the study measures it again
	err   error
}

// archScreen is the form for an architecture comparison and its live view:
// the candidates table (spec, parameters, MACs, size, latency, accuracy,
// Pareto mark), accuracy against MACs or latency with the frontier joined,
// and the selected candidate's cost per layer.
type archScreen struct {
	c         *common
	keys      archKeys
	form      techForm
	data      string
	ds        *core.Dataset
	notice    string
	noticeBad bool
	showForm  bool

	tag       int
	state     runState
	measuring bool
	spec      lab.ArchSpec
	study     archStudy
	early     []lab.Event // events that came before the study did
	cands     []archCand
	result    *lab.ArchResult
	err       error
	sel       int
	byLatency bool // the scatter's X axis: latency, else MACs

	w, h        int
	scatterView string
}

type archKeys struct {
	formKeys
	Start, Up, Down, Axis, Baseline, Cancel, CancelAll, New key.Binding
}

func newArchScreen(c *common) screen {
	st := c.styles
	s := &archScreen{c: c, data: c.data, showForm: true}
	if s.data == "" {
		s.data = defaultData()
	}
	s.keys = archKeys{Start: relabel(keyStart, "s", "start comparison"),
		Up: relabel(keyUp, "↑/↓", "candidate"), Down: relabel(keyDown, "↑/↓", "candidate"),
		Axis:      key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "MACs/latency")),
		Baseline:  relabel(keyEnter, "enter", "make baseline"),
		Cancel:    key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "cancel candidate")),
		CancelAll: key.NewBinding(key.WithKeys("X"), key.WithHelp("X", "cancel all")),
		New:       key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "new comparison"))}
	f := make([]*field, numArchFields)
	f[faCands] = newField(st, "candidates", "mlp:64 mlp:128,64", s.validCands)
	f[faCands].input.CharLimit = 512
	f[faEpochs] = newField(st, "epochs", "10", validInt("epochs", 1, 10000))
	f[faBatch] = newField(st, "batch size", "32", validInt("the batch size", 1, 65536))
	f[faOpt] = newField(st, "optimizer", "adam", validChoice("optimizer", core.Optimizers), core.Optimizers...)
	f[faLR] = newField(st, "learning rate", "0.01", validPositiveFloat("the learning rate", 10))
	f[faWorkers] = newField(st, "at once", "0", validInt("candidates at once (0: all)", 0, 64))
	f[faSeed] = newField(st, "seed", strconv.FormatUint(c.seed, 10), validSeed)
	s.form = techForm{fields: f, keys: newFormKeys()}
	s.updateKeys()
	return s
}

// validCands checks the candidate list: specs separated by spaces, none
// twice, each one buildable for the data's sample shape when it is known.
func (s *archScreen) validCands(v string) error {
	specs := strings.Fields(v)
	if len(specs) == 0 {
		return errors.New("give one or more model specs separated by spaces, e.g. mlp:64 mlp:128,64")
	}
	for i, sp := range specs {
		if slices.Contains(specs[:i], sp) {
			return fmt.Errorf("%s is listed twice", sp)
		}
		var err error
		if shape := s.shape(); shape != nil {
			err = validModel(sp, shape)
		} else {
			err = core.ValidateSpec(sp)
		}
		if err != nil {
			return fmt.Errorf("%s: %v", sp, err)
		}
	}
	return nil
}

// shape is the data's sample shape, nil while unknown.
func (s *archScreen) shape() []int {
	if s == nil {
		return nil
	}
	if s.ds != nil {
		return s.ds.SampleShape
	}
	return builtinShape(s.data)
}

func (s *archScreen) Title() string { return "Architecture" }

func (s *archScreen) Init() tea.Cmd { return nil }

func (s *archScreen) Editing() bool { return s.showForm && s.form.editing }

func (s *archScreen) Back() bool {
	switch {
	case s.showForm && s.form.back():
	case s.showForm && s.study != nil:
		s.showForm = false
	default:
		return false
	}
	s.updateKeys()
	return true
}

func (s *archScreen) running() bool { return s.state == runPending || s.state == runRunning }

func (s *archScreen) updateKeys() {
	s.form.updateKeys(s.showForm)
	k := &s.keys
	k.formKeys = s.form.keys
	onForm := s.showForm
	ed := onForm && s.form.editing
	k.Start.SetEnabled(onForm && !ed)
	has := !onForm && len(s.cands) > 0
	k.Up.SetEnabled(has)
	k.Down.SetEnabled(has)
	k.Axis.SetEnabled(has)
	k.Baseline.SetEnabled(has)
	k.Cancel.SetEnabled(has && s.state == runRunning)
	k.CancelAll.SetEnabled(has && s.state == runRunning)
	k.New.SetEnabled(!onForm)
}

func (s *archScreen) ShortHelp() []key.Binding {
	k := s.keys
	return []key.Binding{k.formKeys.Up, k.Edit, k.Left, k.Save, k.Abort, k.Start,
		k.Up, k.Baseline, k.Axis, k.Cancel, k.CancelAll, k.New}
}

func (s *archScreen) FullHelp() [][]key.Binding {
	k := s.keys
	return [][]key.Binding{{k.formKeys.Up, k.formKeys.Down, k.Edit, k.Left}, {k.Save, k.Abort, k.Start},
		{k.Up, k.Down, k.Baseline, k.Axis}, {k.Cancel, k.CancelAll, k.New}}
}

// observe passes the end of a run to the study in a Cmd (Observe may start
// the next candidate on the lab); events that come before the study does
// are kept and passed once it arrives.
func (s *archScreen) observe(e lab.Event) tea.Cmd {
	switch {
	case s.state == runPending:
		if len(s.early) < 1024 {
			s.early = append(s.early, e)
		}
	case s.study != nil && s.state == runRunning && (e.Kind == lab.Finished || e.Kind == lab.Failed):
		return observeArch(s.tag, s.study, e)
	}
	return nil
}

// observeArch returns a Cmd that passes e to st and says whether every
// candidate has ended.
func observeArch(tag int, st archStudy, events ...lab.Event) tea.Cmd {
	return func() tea.Msg {
		for _, e := range events {
			st.Observe(e)
		}
		return archObservedMsg{tag: tag, done: st.Done()}
	}
}

func (s *archScreen) Update(msg tea.Msg) tea.Cmd {
	defer s.updateKeys()
	switch msg := msg.(type) {
	case tea.KeyMsg:
		return s.handleKey(msg)
	case datasetChosenMsg:
		s.data, s.ds = msg.name, msg.ds
		s.form.fields[faCands].check()
	case datasetLoadedMsg:
		if msg.name == s.data && msg.err == nil {
			s.ds = msg.ds
			s.form.fields[faCands].check()
		}
	case labEventMsg:
		if s.study == nil || s.state == runPending {
			return nil
		}
		return s.handleEvent(lab.Event(msg))
	case archStartedMsg:
		return s.started(msg)
	case archObservedMsg:
		if msg.tag != s.tag || !msg.done || s.measuring || s.result != nil {
			return nil
		}
		s.measuring = true
		st, ctx, tag := s.study, s.c.ctx, s.tag
		return func() tea.Msg {
			res, err := st.Result(ctx)
			return archResultMsg{tag: tag, res: res, err: err}
		}
	case archResultMsg:
		if msg.tag != s.tag {
			return nil
		}
		s.measuring = false
		s.result, s.err = msg.res, msg.err
		switch {
		case msg.err != nil && errors.Is(msg.err, context.Canceled):
			s.state = runCancelled
		case msg.err != nil:
			s.state = runFailed
		default:
			s.state = runDone
			if s.allCancelled() {
				s.state = runCancelled
			}
		}
		s.redraw()
	case baselineSetMsg:
		if c := s.selected(); c != nil && c.run == msg.run {
			if msg.ok {
				s.notice, s.noticeBad = fmt.Sprintf("%s (run %d) is the baseline", c.spec, c.run), false
			} else {
				s.notice, s.noticeBad = fmt.Sprintf("run %d has no result in the lab to be the baseline", c.run), true
			}
		}
	}
	return nil
}

// allCancelled says whether no candidate finished because the study was
// cancelled.
func (s *archScreen) allCancelled() bool {
	for _, c := range s.cands {
		if c.state != runCancelled {
			return false
		}
	}
	return len(s.cands) > 0
}

func (s *archScreen) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := s.keys
	if s.showForm {
		if ok, cmd := s.form.handleKey(msg, &s.notice); ok {
			return cmd
		}
		if key.Matches(msg, k.Start) {
			return s.start()
		}
		return nil
	}
	switch {
	case key.Matches(msg, k.Up) && len(s.cands) > 0:
		s.sel = max(0, s.sel-1)
		s.redraw()
	case key.Matches(msg, k.Down) && len(s.cands) > 0:
		s.sel = min(len(s.cands)-1, s.sel+1)
		s.redraw()
	case key.Matches(msg, k.Axis):
		s.byLatency = !s.byLatency
		s.redraw()
	case key.Matches(msg, k.New):
		s.showForm = true
	case key.Matches(msg, k.Baseline):
		return s.makeBaseline()
	case key.Matches(msg, k.Cancel) && s.state == runRunning:
		c := s.selected()
		if c == nil || c.run == 0 || (c.state != runQueued && c.state != runRunning) {
			s.notice, s.noticeBad = "the selected candidate is not training: nothing to cancel", true
			return nil
		}
		s.notice, s.noticeBad = fmt.Sprintf("cancelling %s…", c.spec), false
		return cancelRun(s.c.lab, c.run)
	case key.Matches(msg, k.CancelAll) && s.state == runRunning:
		s.notice, s.noticeBad = "cancelling every candidate…", false
		st := s.study
		return func() tea.Msg { st.Cancel(); return nil }
	}
	return nil
}

func (s *archScreen) selected() *archCand {
	if s.sel < len(s.cands) {
		return &s.cands[s.sel]
	}
	return nil
}

// makeBaseline marks the selected candidate's training run as the
// baseline, or says why it cannot be.
func (s *archScreen) makeBaseline() tea.Cmd {
	c := s.selected()
	if c == nil {
		return nil
	}
	switch {
	case c.run == 0:
		s.notice, s.noticeBad = c.spec+" has not started: nothing to mark", true
	case c.state != runDone:
		s.notice, s.noticeBad = c.spec+" has no finished model yet", true
	default:
		l, id := s.c.lab, c.run
		s.notice = ""
		return func() tea.Msg { return baselineSetMsg{run: id, ok: l.SetBaseline(id)} }
	}
	return nil
}

// archSpec reads the (valid) form.
func (s *archScreen) archSpec() lab.ArchSpec {
	v := func(i int) string { return s.form.fields[i].value() }
	whole := func(i int) int { x, _ := strconv.Atoi(v(i)); return x }
	lr, _ := strconv.ParseFloat(v(faLR), 64)
	seed, _ := strconv.ParseUint(v(faSeed), 10, 64)
	return lab.ArchSpec{Data: lab.DataSpec{Name: s.data, Seed: s.c.seed}, Candidates: strings.Fields(v(faCands)),
		Epochs: whole(faEpochs), Batch: whole(faBatch), Optimizer: v(faOpt), LR: lr, Workers: whole(faWorkers), Seed: seed}
}

// start validates the form and returns the Cmd that starts the study.
func (s *archScreen) start() tea.Cmd {
	if s.running() {
		s.notice, s.noticeBad = "a comparison is already running: X cancels it", true
		return nil
	}
	if p := s.form.firstError(); p != "" {
		s.notice, s.noticeBad = "cannot start: "+p, true
		return nil
	}
	spec := s.archSpec()
	if err := spec.Validate(nil); err != nil {
		s.notice, s.noticeBad = "cannot start: "+err.Error(), true
		return nil
	}
	s.tag++
	s.spec, s.state, s.notice, s.noticeBad = spec, runPending, "", false
	s.study, s.early, s.result, s.err, s.measuring, s.sel = nil, nil, nil, nil, false, 0
	s.cands = nil
	for _, c := range spec.Candidates {
		s.cands = append(s.cands, archCand{spec: c, state: runQueued})
	}
	s.showForm = false
	s.redraw()
	tag, ctx, l := s.tag, s.c.ctx, s.c.lab
	return func() tea.Msg {
		st, err := startArchOn(ctx, l, spec)
		return archStartedMsg{tag: tag, study: st, err: err}
	}
}

// started takes the new study and replays the events that came first.
func (s *archScreen) started(msg archStartedMsg) tea.Cmd {
	if msg.tag != s.tag {
		if msg.study != nil {
			st := msg.study
			return func() tea.Msg { st.Cancel(); return nil }
		}
		return nil
	}
	early := s.early
	s.early = nil
	if msg.err != nil {
		s.state, s.notice, s.noticeBad = runNone, "cannot start: "+msg.err.Error(), true
		s.cands, s.showForm = nil, true
		return nil
	}
	s.study, s.state = msg.study, runRunning
	var cmds []tea.Cmd
	var ends []lab.Event
	for _, e := range early {
		cmds = append(cmds, s.handleEvent(e))
		if e.Kind == lab.Finished || e.Kind == lab.Failed {
			ends = append(ends, e)
		}
	}
	cmds = append(cmds, observeArch(s.tag, s.study, ends...))
	return tea.Batch(cmds...)
}

// handleEvent follows the candidates' runs.
func (s *archScreen) handleEvent(e lab.Event) tea.Cmd {
	i := slices.IndexFunc(s.cands, func(c archCand) bool { return c.run != 0 && c.run == e.Run })
	var cmd tea.Cmd
	if i < 0 {
		if e.Kind != lab.Started {
			return nil
		}
		spec := s.study.Spec(e.Run)
		i = slices.IndexFunc(s.cands, func(c archCand) bool { return c.spec == spec && c.run == 0 })
		if spec == "" || i < 0 {
			return nil
		}
		s.cands[i].run = e.Run
		// Tell the other screens which data the run trains on.
		if ts, ok := e.Config.(lab.TrainSpec); ok {
			id := e.Run
			cmd = func() tea.Msg {
				return runStartedMsg{owner: "Architecture", id: id, task: lab.TaskTrain, spec: ts, config: ts, data: ts.Data}
			}
		}
	}
	c := &s.cands[i]
	switch e.Kind {
	case lab.Started:
		c.state = runRunning
	case lab.Progress:
		c.state, c.stats = runRunning, e.Stats
	case lab.Finished:
		c.state, c.res = runDone, e.Result
		if n := len(e.Result.History); n > 0 {
			c.stats = e.Result.History[n-1]
		}
	case lab.Failed:
		c.state, c.err = runFailed, e.Err
		if errors.Is(e.Err, context.Canceled) {
			c.state = runCancelled
		}
	}
	s.redraw()
	return cmd
}

// candidate is the study's final record of candidate i, or nil.
func (s *archScreen) candidate(i int) *lab.ArchCandidate {
	if s.result == nil || i >= len(s.result.Candidates) {
		return nil
	}
	return &s.result.Candidates[i]
}

// figures is candidate i's result: the study's measurement once it is
// done, else its training run's; final says which.
func (s *archScreen) figures(i int) (r *lab.Result, final bool) {
	if ac := s.candidate(i); ac != nil {
		return ac.Result, true
	}
	return s.cands[i].res, false
}

// Layout.

func (s *archScreen) SetSize(w, h int) {
	s.w, s.h = w, h
	s.redraw()
}

// panes returns the table's height and the size of the bottom row: the
// scatter's width and the layer breakdown's width, and their height.
func (s *archScreen) panes() (tableH, sw, lw, bh int) {
	body := s.h - 2
	tableH = min(len(s.cands)+1, max(3, body/3))
	bh = min(20, max(0, body-tableH-1))
	sw = (s.w - 2) * 9 / 20
	lw = s.w - 2 - sw
	return
}

func (s *archScreen) redraw() {
	s.scatterView = ""
	if len(s.cands) == 0 {
		return
	}
	_, sw, _, bh := s.panes()
	s.scatterView = s.scatter().View(s.c.styles, sw, bh)
}

// candGlyph is candidate i's mark in the scatter: its number.
func candGlyph(i int) rune {
	if i < 9 {
		return rune('1' + i)
	}
	return '+'
}

// scatter plots test accuracy against MACs or latency, each candidate by
// its number, the frontier joined.
func (s *archScreen) scatter() xyPlot {
	st := s.c.styles
	what := "MACs"
	if s.byLatency {
		what = "latency"
	}
	p := xyPlot{title: "Accuracy vs " + what + " (m)", xTitle: what + " per sample", yPercent: true}
	if s.byLatency {
		p.xFmt = func(v float64) string { return compactNum(v) + "µs" }
	}
	others := xySeries{style: st.Accent}
	sel := xySeries{style: st.Val}
	var front []point
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range s.cands {
		r, final := s.figures(i)
		if r == nil {
			continue
		}
		x := float64(r.MACs)
		if s.byLatency {
			if !final {
				continue // timed while others trained: wait for the study's measurement
			}
			x = r.LatencyMicros
		}
		if x <= 0 {
			continue
		}
		lo, hi = min(lo, x), max(hi, x)
		q := point{x, r.TestAccuracy}
		if i == s.sel {
			sel.pts, sel.glyphs = append(sel.pts, q), append(sel.glyphs, candGlyph(i))
		} else {
			others.pts, others.glyphs = append(others.pts, q), append(others.glyphs, candGlyph(i))
		}
		if ac := s.candidate(i); ac != nil && (s.byLatency && ac.ParetoLatency || !s.byLatency && ac.Pareto) {
			front = append(front, q)
		}
	}
	p.logX = hi > 20*lo
	slices.SortFunc(front, func(a, b point) int {
		switch {
		case a.X < b.X:
			return -1
		case a.X > b.X:
			return 1
		}
		return 0
	})
	p.series = []xySeries{{name: "frontier", style: st.Good, join: joinLine, pts: front}, others, sel}
	return p
}

func (s *archScreen) View() string {
	st := s.c.styles
	if s.showForm {
		fw := min(44, max(30, s.w*2/5))
		msg := s.notice
		if s.running() && msg == "" {
			msg = "a comparison is running: esc shows it"
		}
		form := s.form.view(st, "Compare architectures", "data: "+s.data, msg, fw)
		return hjoin(2, []string{form, s.helpView(s.w - fw - 2)}, []int{fw, max(0, s.w-fw-2)})
	}
	return s.studyView()
}

// helpView explains the specs and what the comparison measures.
func (s *archScreen) helpView(w int) string {
	st := s.c.styles
	if w < 20 {
		return ""
	}
	shape := "unknown until loaded"
	if sh := s.shape(); sh != nil {
		shape = fmt.Sprint(sh)
	}
	lines := []string{heading(st, "Candidates", w),
		fit("mlp:128,64          dense layers of 128 and 64 units", w, 1),
		fit("cnn:16,32           conv blocks (images)", w, 1),
		fit("mobile:16,32,64@0.5 depthwise-separable blocks,", w, 1),
		fit("                    width multiplier 0.5 (images)", w, 1),
		st.Muted.Render(fit("sample shape of "+s.data+": "+shape, w, 1)), "",
		wrapText(st.Muted, "Every candidate trains on the same split with the same budget. When all have ended, "+
			"each model is measured again on its own, one at a time (BatchNorm folded, file size, latency), "+
			"so no timing overlaps a training run; the frontier joins the candidates no other beats in both "+
			"accuracy and cost.", w, 6)}
	return strings.Join(lines, "\n")
}

// statusLine says what the comparison is doing.
func (s *archScreen) statusLine() string {
	st := s.c.styles
	n := map[runState]int{}
	for _, c := range s.cands {
		n[c.state]++
	}
	what := fmt.Sprintf("%d candidates on %s · %d epochs each", len(s.cands), dataName(s.spec.Data), s.spec.Epochs)
	switch {
	case s.state == runPending:
		return st.Muted.Render("starting…")
	case s.measuring:
		return st.Accent.Render("measuring each model alone") + " (folded, file size, latency) · " + what
	case s.state == runRunning:
		return st.Accent.Render("training") + fmt.Sprintf(" %s · %d training, %d queued, %d ended", what,
			n[runRunning], n[runQueued], n[runDone]+n[runFailed]+n[runCancelled])
	case s.state == runDone:
		return st.Good.Render("finished: " + what + " · figures measured on each folded model alone")
	case s.state == runCancelled:
		return st.Warn.Render("cancelled: " + what)
	}
	msg := "comparison failed"
	if s.err != nil {
		msg += ": " + s.err.Error()
	}
	return st.Bad.Render(msg)
}

func (s *archScreen) studyView() string {
	st := s.c.styles
	note, style := s.notice, st.Muted
	if s.noticeBad {
		style = st.Bad
	}
	if note == "" {
		note = "◆ on the frontier · * best in column · enter makes the selected candidate the baseline · n edits a new comparison"
	}
	head := vjoin(fit(s.statusLine(), s.w, 1), style.Render(fit(note, s.w, 1)))
	tableH, sw, lw, bh := s.panes()
	return vjoin(head, block(s.candTable().View(st, s.w, tableH), s.w, tableH),
		hjoin(2, []string{s.scatterView, s.layersView(lw, bh)}, []int{sw, lw}))
}

// candTable is the candidates table; the best of each column is starred
// once there is something to compare.
func (s *archScreen) candTable() table {
	t := table{selected: s.sel, cols: []column{{title: "#"}, {title: "spec"}, {title: "status"},
		{title: "val acc", right: true, drop: 1}, {title: "test acc", right: true}, {title: "params", right: true, drop: 2},
		{title: "MACs", right: true, drop: 3}, {title: "size", right: true}, {title: "latency", right: true}, {title: "front"}}}
	type metric struct {
		get    func(*lab.Result) float64
		higher bool
	}
	metrics := []metric{
		{func(r *lab.Result) float64 { return r.TestAccuracy }, true},
		{func(r *lab.Result) float64 { return float64(r.Params) }, false},
		{func(r *lab.Result) float64 { return float64(r.MACs) }, false},
		{func(r *lab.Result) float64 { return float64(r.SizeBytes) }, false},
		{func(r *lab.Result) float64 { return r.LatencyMicros }, false},
	}
	best := make([]float64, len(metrics))
	seen := make([]int, len(metrics))
	for i, m := range metrics {
		for j := range s.cands {
			r, final := s.figures(j)
			if r == nil || (i >= 3 && !final) {
				continue
			}
			v := m.get(r)
			if seen[i] == 0 || m.higher && v > best[i] || !m.higher && v < best[i] {
				best[i] = v
			}
			seen[i]++
		}
	}
	for i, c := range s.cands {
		r, final := s.figures(i)
		status := map[runState]string{runQueued: "queued", runRunning: "training", runDone: "trained",
			runFailed: "failed", runCancelled: "cancelled"}[c.state]
		if c.state == runRunning && c.stats.Epochs > 0 {
			status = fmt.Sprintf("epoch %d/%d", c.stats.Epoch, c.stats.Epochs)
		}
		if c.state == runFailed && errors.Is(c.err, core.ErrDiverged) {
			status = "diverged"
		}
		if final {
			status = "measured"
		}
		val := "—"
		if c.stats.EpochDone || c.state == runDone {
			val = pct(c.stats.ValAcc)
		}
		row := []cell{{text: string(candGlyph(i))}, {text: c.spec}, {text: status}, {text: val}}
		if r == nil {
			row = append(row, cell{text: "—"}, cell{text: "—"}, cell{text: "—"}, cell{text: "—"}, cell{text: "—"}, cell{text: ""})
		} else {
			texts := []string{pct(r.TestAccuracy), count(float64(r.Params)), count(float64(r.MACs)),
				bytesText(r.SizeBytes), fmt.Sprintf("%.1fµs", r.LatencyMicros)}
			for k, m := range metrics {
				if k >= 3 && !final {
					row = append(row, cell{text: "…"}) // measured alone at the end
					continue
				}
				row = append(row, cell{text: texts[k], best: seen[k] > 1 && m.get(r) == best[k]})
			}
			mark := ""
			if ac := s.candidate(i); ac != nil {
				switch {
				case ac.Pareto && ac.ParetoLatency:
					mark = "◆ both"
				case ac.Pareto:
					mark = "◆ MACs"
				case ac.ParetoLatency:
					mark = "◆ latency"
				}
			}
			row = append(row, cell{text: mark})
		}
		t.rows = append(t.rows, row)
	}
	return t
}

// layersView is the selected candidate's cost per layer: MACs and
// parameters, MACs as a share of the model's, and measured latency.
func (s *archScreen) layersView(w, h int) string {
	st := s.c.styles
	c := s.selected()
	if c == nil || h < 2 || w < 10 {
		return ""
	}
	title := fmt.Sprintf("Cost per layer of %s", c.spec)
	ac := s.candidate(s.sel)
	switch {
	case ac == nil && c.err != nil:
		return vjoin(heading(st, fit(title, w-2, 1), w), wrapText(st.Bad, "no model: "+c.err.Error(), w, 2))
	case ac == nil && s.measuring:
		return vjoin(heading(st, fit(title, w-2, 1), w), st.Muted.Render(fit("measuring…", w, 1)))
	case ac == nil:
		return vjoin(heading(st, fit(title, w-2, 1), w), wrapText(st.Muted,
			"per-layer MACs, parameters and latency once every candidate has ended and been measured", w, 2))
	case ac.Result == nil:
		return vjoin(heading(st, fit(title, w-2, 1), w), wrapText(st.Bad, "no model: "+errText(ac.Err), w, 2))
	}
	var total int64
	for _, l := range ac.Layers {
		total += l.MACs
	}
	t := table{selected: -1, cols: []column{{title: "layer"}, {title: "out", drop: 2}, {title: "params", right: true, drop: 1},
		{title: "MACs", right: true}, {title: "share"}, {title: "µs", right: true}}}
	barW := 8
	for _, l := range ac.Layers {
		frac := 0.0
		if total > 0 {
			frac = float64(l.MACs) / float64(total)
		}
		fill := int(math.Round(frac * float64(barW)))
		if l.MACs > 0 && fill == 0 {
			fill = 1
		}
		t.rows = append(t.rows, []cell{{text: l.Desc}, {text: outShape(l.OutShape)}, {text: count(float64(l.Params))},
			{text: count(float64(l.MACs))}, {text: strings.Repeat("█", fill) + strings.Repeat("·", barW-fill)},
			{text: fmt.Sprintf("%.1f", l.LatencyMicros)}})
	}
	return vjoin(heading(st, fit(title, w-2, 1), w), t.View(st, w, h-1))
}

func errText(err error) string {
	if err == nil {
		return "no result"
	}
	return err.Error()
}

// outShape formats a layer's output shape: 8×8×16.
func outShape(sh []int) string {
	parts := make([]string, len(sh))
	for i, n := range sh {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, "×")
}
