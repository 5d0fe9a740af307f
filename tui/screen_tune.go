package tui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

// The Tune screen's fields, in order: the settings, the space file, the
// study file, then (from numTuneFields on) the search space's parameters,
// one field each.
const (
	ftStrategy = iota
	ftTrials
	ftWorkers
	ftEpochs
	ftObjective
	ftMedian
	ftSeed
	ftFile
	ftStudy
	numTuneFields
)

// tuneObjectives are the objective choices: accuracy alone, or with latency
// or size minimized alongside it.
var tuneObjectives = []string{"accuracy", "accuracy,latency", "accuracy,size"}

// Messages of the Tune screen. tag numbers the studies the screen has
// started, so that a message about an earlier one is dropped.
type (
	// tuneCreatedMsg carries a study made (or resumed from its file) in a
	// Cmd, not yet running.
	tuneCreatedMsg struct {
		tag     int
		study   *lab.TuneStudy
		snap    lab.TuneSnapshot   // the study as made: a resumed one's trials so far
		path    string             // its study file as typed; "" for none
		full    string             // path with ~/ expanded
		resumed bool               // it was read from path
		ctx     context.Context    // the study's, for Run
		cancel  context.CancelFunc // cancels ctx
		done    chan struct{}      // closed when Run returns
		workers int
		err     error
	}
	// tuneStudyFileMsg is what the study file at path holds, read in a
	// Cmd: nothing yet (a new study is saved there), a saved study, or why
	// it cannot be used.
	tuneStudyFileMsg struct {
		path   string // as typed
		full   string // with ~/ expanded
		exists bool
		snap   lab.TuneSnapshot // the saved study, when it exists
		err    error
	}
	// tuneSnapMsg is a snapshot taken after the study changed.
	tuneSnapMsg struct {
		tag  int
		snap lab.TuneSnapshot
	}
	// tuneDoneMsg says Run returned, with the study's last snapshot.
	tuneDoneMsg struct {
		tag  int
		res  *lab.Result
		err  error
		snap lab.TuneSnapshot
	}
	// tuneNoticeMsg is the outcome of a command, in words.
	tuneNoticeMsg struct {
		tag  int
		text string
		bad  bool
	}
)

// tuneScreen is the form for a hyperparameter search, with an editor of its
// search space (screen_tune_space.go), and the live view of the study: a
// leaderboard of trials sorted by validation accuracy with a sparkline of
// each one's curve, the best so far against the epochs spent, a scatter of
// one parameter against accuracy, the parameters' importance and, with two
// objectives, the Pareto set. The study runs in a Cmd; the root feeds it
// every lab event (observe).
type tuneScreen struct {
	c         *common
	keys      tuneKeys
	form      techForm
	data      string
	notice    string
	noticeBad bool
	showForm  bool // the form is on view (always before the first study)

	// The search space as edited in the form's rows.
	space       core.Space // what the rows make; nil while it has a problem
	spaceErr    error      // the problem of the space as a whole, or with the strategy
	grid        int        // the space's grid size; 0 while it has a problem
	spaceFrom   string     // where the rows came from: "default" or a file's name
	spaceTexts  []string   // the rows as they came, "name=text", to tell an edit
	edited      bool       // the rows differ from spaceTexts
	adding      bool       // the picker of a parameter to add is open
	pick        int        // the picked parameter, an index into missing()
	fileErr     error      // why fileErrPath could not be read
	fileErrPath string

	// The study file: what the last read of it found, and how the study
	// it holds differs from the form's (its values, "" when alike).
	studyInfo *tuneStudyFileMsg
	studyDiff string

	tag     int
	state   runState
	study   *lab.TuneStudy
	runPath string // the study file of the study on view, as typed; "" for none
	runFull string // runPath with ~/ expanded
	cancel  context.CancelFunc
	done    chan struct{} // closed when the study's Run returns
	snap    *lab.TuneSnapshot
	result  *lab.Result
	err     error
	order   []int // indices into snap.Trials, best first
	sel     int   // the selected trial's ID
	param   int   // the parameter the scatter shows

	w, h int
	// Drawn when the snapshot or the size change.
	bestView, scatterView string
}

type tuneKeys struct {
	formKeys
	Start, Up, Down, Param, Cancel, CancelAll, Baseline, New key.Binding
	// The space editor's: a parameter added or removed, and the picker's.
	// Dismiss is for the footer only: esc reaches the picker through Back.
	Add, Remove, Pick, PickNext, Confirm, Dismiss key.Binding
}

func newTuneScreen(c *common) screen {
	st := c.styles
	s := &tuneScreen{c: c, data: c.data, showForm: true}
	if s.data == "" {
		s.data = defaultData()
	}
	s.keys = tuneKeys{Start: relabel(keyStart, "s", "start study"),
		Up: relabel(keyUp, "↑/↓", "trial"), Down: relabel(keyDown, "↑/↓", "trial"),
		Param:     key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "scatter parameter")),
		Cancel:    key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "cancel trial")),
		CancelAll: key.NewBinding(key.WithKeys("X"), key.WithHelp("X", "cancel study")),
		Baseline:  relabel(keyEnter, "enter", "make baseline"),
		New:       key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "new study")),
		Add:       key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "add parameter")),
		Remove:    key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "remove parameter")),
		Pick:      relabel(keyLeft, "←/→", "parameter"), PickNext: relabel(keyRight, "←/→", "parameter"),
		Confirm: relabel(keyEnter, "enter", "add"), Dismiss: relabel(keyAbort, "esc", "cancel")}
	f := make([]*field, numTuneFields)
	f[ftStrategy] = newField(st, "strategy", "random", validChoice("strategy", core.Strategies), core.Strategies...)
	f[ftTrials] = newField(st, "trials", "8", validInt("trials", 1, 10000))
	f[ftWorkers] = newField(st, "workers", "2", validInt("workers", 1, 64))
	f[ftEpochs] = newField(st, "max epochs", "27", validInt("max epochs", 1, 10000))
	f[ftObjective] = newField(st, "objective", "accuracy", validChoice("objective", tuneObjectives), tuneObjectives...)
	f[ftMedian] = newField(st, "median stop", "no", validChoice("median stop", yesNo), yesNo...)
	f[ftSeed] = newField(st, "seed", strconv.FormatUint(c.seed, 10), validSeed)
	f[ftFile] = newField(st, "space file", "", s.validFile)
	f[ftFile].input.CharLimit = 256
	f[ftFile].input.Placeholder = "a YAML file (optional)"
	f[ftFile].input.PlaceholderStyle = st.Muted
	f[ftStudy] = newField(st, "study file", "", s.validStudy)
	f[ftStudy].input.CharLimit = 256
	f[ftStudy].input.Placeholder = "save and resume (optional)"
	f[ftStudy].input.PlaceholderStyle = st.Muted
	s.form = techForm{fields: f, keys: newFormKeys()}
	s.setSpace(lab.DefaultSpace(), "default")
	s.updateKeys()
	return s
}

func (s *tuneScreen) Title() string { return "Tune" }

func (s *tuneScreen) Init() tea.Cmd { return nil }

func (s *tuneScreen) Editing() bool { return s.showForm && s.form.editing }

func (s *tuneScreen) Back() bool {
	switch {
	case s.showForm && s.adding:
		s.adding = false
	case s.showForm && s.form.back():
	case s.showForm && s.snap != nil:
		s.showForm = false
	default:
		return false
	}
	s.updateKeys()
	return true
}

func (s *tuneScreen) running() bool {
	return s.state == runPending || s.state == runRunning
}

func (s *tuneScreen) updateKeys() {
	s.form.updateKeys(s.showForm && !s.adding)
	k := &s.keys
	k.formKeys = s.form.keys
	onForm := s.showForm
	ed := onForm && s.form.editing
	k.Start.SetEnabled(onForm && !ed && !s.adding)
	if s.resumes() {
		k.Start.SetHelp("s", "resume study")
	} else {
		k.Start.SetHelp("s", "start study")
	}
	k.Add.SetEnabled(onForm && !ed && !s.adding && len(s.missing()) > 0)
	k.Remove.SetEnabled(onForm && !ed && !s.adding && s.form.focus >= numTuneFields)
	for _, b := range []*key.Binding{&k.Pick, &k.PickNext, &k.Confirm, &k.Dismiss} {
		b.SetEnabled(onForm && s.adding)
	}
	trials := !onForm && s.snap != nil && len(s.snap.Trials) > 0
	k.Up.SetEnabled(trials)
	k.Down.SetEnabled(trials)
	k.Param.SetEnabled(!onForm && s.snap != nil)
	k.Baseline.SetEnabled(trials)
	k.Cancel.SetEnabled(trials && s.state == runRunning)
	k.CancelAll.SetEnabled(!onForm && s.state == runRunning)
	k.New.SetEnabled(!onForm)
}

func (s *tuneScreen) ShortHelp() []key.Binding {
	k := s.keys
	return []key.Binding{k.formKeys.Up, k.Edit, k.Left, k.Save, k.Abort, k.Start, k.Add, k.Remove,
		k.Pick, k.Confirm, k.Dismiss, k.Up, k.Baseline, k.Param, k.Cancel, k.CancelAll, k.New}
}

func (s *tuneScreen) FullHelp() [][]key.Binding {
	k := s.keys
	return [][]key.Binding{{k.formKeys.Up, k.formKeys.Down, k.Edit, k.Left}, {k.Save, k.Abort, k.Start},
		{k.Add, k.Remove, k.Pick, k.Confirm, k.Dismiss},
		{k.Up, k.Down, k.Baseline, k.Param}, {k.Cancel, k.CancelAll, k.New}}
}

// observe passes every lab event to the running study, which never blocks.
// When the lab quits, it cancels the studies' context before their runs
// (Model.quit), so a trial whose run ends that way stays resumable in the
// study file rather than ending as cancelled.
func (s *tuneScreen) observe(e lab.Event) tea.Cmd {
	if s.study == nil || s.state != runRunning {
		return nil
	}
	s.study.Observe(e)
	return nil
}

func (s *tuneScreen) Update(msg tea.Msg) tea.Cmd {
	defer s.updateKeys()
	switch msg := msg.(type) {
	case tea.KeyMsg:
		cmd := s.handleKey(msg)
		s.refreshSpace()
		s.refreshStudy()
		return cmd
	case tuneSpaceMsg:
		s.spaceLoaded(msg)
		s.refreshStudy()
	case tuneStudyFileMsg:
		s.studyRead(msg)
	case datasetChosenMsg:
		s.data = msg.name
		s.refreshStudy()
	case labEventMsg:
		// A trial's run: tell the other screens which data it trains on,
		// so its model can be pruned or quantized on the same split.
		if cfg, ok := msg.Config.(lab.TrialConfig); ok && msg.Kind == lab.Started && s.study != nil {
			id := msg.Run
			return func() tea.Msg {
				return runStartedMsg{owner: "Tune", id: id, task: lab.TaskTrial, spec: cfg.Train, config: cfg, data: cfg.Train.Data}
			}
		}
	case tuneCreatedMsg:
		return s.created(msg)
	case tuneSnapMsg:
		if msg.tag != s.tag || s.state != runRunning {
			return nil
		}
		s.setSnap(msg.snap)
		return waitStudy(msg.tag, s.study, s.done)
	case tuneDoneMsg:
		if msg.tag != s.tag {
			return nil
		}
		s.result, s.err = msg.res, msg.err
		if strings.HasPrefix(s.notice, "cancelling") || strings.HasPrefix(s.notice, "saving the study") {
			s.notice = ""
		}
		switch {
		case msg.err == nil:
			s.state = runDone
		case errors.Is(msg.err, context.Canceled):
			s.state = runCancelled
		default:
			s.state = runFailed
		}
		switch {
		case s.runPath == "":
		case s.state == runDone:
			s.notice, s.noticeBad = "study saved in "+s.runFull, false
		case s.state == runCancelled:
			s.notice, s.noticeBad = "study saved in "+s.runFull+": on the form (n), s resumes it", false
		}
		s.setSnap(msg.snap)
		// The file has changed: what the form says of it is read again.
		if p := s.form.fields[ftStudy].value(); p != "" {
			s.studyInfo = nil
			return s.readStudyFile(p)
		}
	case tuneNoticeMsg:
		if msg.tag == s.tag {
			s.notice, s.noticeBad = msg.text, msg.bad
		}
	case baselineSetMsg:
		if t := s.selected(); t != nil && t.Run == msg.run {
			if msg.ok {
				s.notice, s.noticeBad = fmt.Sprintf("trial %d (run %d) is the baseline", t.ID, t.Run), false
			} else {
				s.notice, s.noticeBad = fmt.Sprintf("run %d has no result in the lab to be the baseline", t.Run), true
			}
		}
	}
	return nil
}

func (s *tuneScreen) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := s.keys
	if s.showForm {
		if s.adding {
			s.spaceKey(msg)
			return nil
		}
		focus, editing := s.form.focus, s.form.editing
		if ok, cmd := s.form.handleKey(msg, &s.notice); ok {
			if editing && !s.form.editing && key.Matches(msg, k.Save) {
				return tea.Batch(cmd, s.kept(focus))
			}
			return cmd
		}
		if key.Matches(msg, k.Start) {
			return s.start()
		}
		s.spaceKey(msg)
		return nil
	}
	switch {
	case key.Matches(msg, k.Up):
		s.move(-1)
	case key.Matches(msg, k.Down):
		s.move(1)
	case key.Matches(msg, k.Param) && s.snap != nil:
		s.param = (s.param + 1) % len(s.scatterAxes())
		s.redraw()
	case key.Matches(msg, k.New):
		s.showForm, s.notice = true, "" // the study's notices are not the form's
	case key.Matches(msg, k.Baseline):
		return s.makeBaseline()
	case key.Matches(msg, k.Cancel) && s.state == runRunning:
		t := s.selected()
		if t == nil {
			return nil
		}
		if t.Status != lab.TrialRunning && t.Status != lab.TrialPaused {
			s.notice, s.noticeBad = fmt.Sprintf("trial %d is %s: nothing to cancel", t.ID, trialStatusText(t.Status, false)), true
			return nil
		}
		st, id, tag := s.study, t.ID, s.tag
		s.notice, s.noticeBad = fmt.Sprintf("cancelling trial %d…", id), false
		return func() tea.Msg {
			if st.Cancel(id) {
				return tuneNoticeMsg{tag: tag, text: fmt.Sprintf("trial %d cancelled", id)}
			}
			return tuneNoticeMsg{tag: tag, text: fmt.Sprintf("trial %d had already ended", id), bad: true}
		}
	case key.Matches(msg, k.CancelAll) && s.state == runRunning:
		s.notice, s.noticeBad = "cancelling the study…", false
		cancel := s.cancel
		return func() tea.Msg { cancel(); return nil }
	}
	return nil
}

// makeBaseline marks the selected trial's run as the baseline, or says why
// it cannot be.
func (s *tuneScreen) makeBaseline() tea.Cmd {
	t := s.selected()
	if t == nil {
		return nil
	}
	switch {
	case t.Run == 0:
		s.notice = fmt.Sprintf("trial %d has no run in this session: nothing to mark", t.ID)
	case t.Status == lab.TrialRunning && s.state == runRunning:
		s.notice = fmt.Sprintf("trial %d is still training: its run %d has no result yet", t.ID, t.Run)
	case t.Status == lab.TrialFailed || t.Status == lab.TrialCancelled:
		s.notice = fmt.Sprintf("trial %d %s: its run has no model", t.ID, trialStatusText(t.Status, false))
	default:
		l, id := s.c.lab, t.Run
		s.notice, s.noticeBad = "", false
		return func() tea.Msg { return baselineSetMsg{run: id, ok: l.SetBaseline(id)} }
	}
	s.noticeBad = true
	return nil
}

// formProblem is the first problem of the form, checked afresh: a
// setting's, the space file's, a parameter's (its error names it), or the
// whole space's.
func (s *tuneScreen) formProblem() string {
	for i, fl := range s.form.fields {
		switch fl.check(); {
		case fl.err == nil:
		case i < numTuneFields:
			return fl.label + ": " + fl.err.Error()
		default:
			return fl.err.Error()
		}
	}
	s.refreshSpace()
	switch {
	case len(s.spaceRows()) == 0:
		return "the search space has no parameters: a adds one"
	case s.spaceErr != nil:
		return s.spaceErr.Error()
	}
	return ""
}

// tuneSpec reads the (valid) form.
func (s *tuneScreen) tuneSpec() (lab.TuneSpec, int) {
	v := func(i int) string { return s.form.fields[i].value() }
	whole := func(i int) int { x, _ := strconv.Atoi(v(i)); return x }
	seed, _ := strconv.ParseUint(v(ftSeed), 10, 64)
	spec := lab.TuneSpec{Data: lab.DataSpec{Name: s.data, Seed: s.c.seed}, Space: s.space,
		Search: core.SearchConfig{Strategy: v(ftStrategy), Trials: whole(ftTrials), MaxEpochs: whole(ftEpochs),
			Median: v(ftMedian) == "yes", Seed: seed},
		Objectives: strings.Split(v(ftObjective), ",")}
	return spec, whole(ftWorkers)
}

// start validates the form and returns the Cmd that makes the study, or
// resumes the one the study file holds (whose spec wins over the form's:
// only the workers are the form's); the study starts running when it
// arrives (created).
func (s *tuneScreen) start() tea.Cmd {
	if s.running() {
		s.notice, s.noticeBad = "a study is already running: X cancels it", true
		return nil
	}
	path, info := s.form.fields[ftStudy].value(), s.studyInfo
	if path != "" && (info == nil || info.path != path) {
		s.notice, s.noticeBad = "cannot start: the study file is still being read", true
		return nil
	}
	resume := s.resumes()
	if p := s.startProblem(resume); p != "" {
		s.notice, s.noticeBad = "cannot start: "+p, true
		return nil
	}
	spec, workers := s.tuneSpec()
	if _, err := spec.Search.Resolve(spec.Space); err != nil && !resume {
		s.notice, s.noticeBad = "cannot start: "+err.Error(), true
		return nil
	}
	full := ""
	if info != nil {
		full = info.full
	}
	s.tag++
	s.state, s.notice, s.noticeBad = runPending, "", false
	s.snap, s.result, s.err, s.study, s.order, s.sel = nil, nil, nil, nil, nil, 0
	tag, parent := s.tag, s.c.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithCancel(parent)
		st, err := openTuneStudy(spec, full, resume)
		if err != nil {
			cancel()
			return tuneCreatedMsg{tag: tag, err: err}
		}
		return tuneCreatedMsg{tag: tag, study: st, snap: st.Snapshot(), path: path, full: full, resumed: resume,
			ctx: ctx, cancel: cancel, done: make(chan struct{}), workers: workers}
	}
}

// startProblem is what keeps the form from starting: the first problem of
// the form, or, to resume a study as its file saved it, of the fields that
// still count (the workers and the file).
func (s *tuneScreen) startProblem(resume bool) string {
	if !resume {
		return s.formProblem()
	}
	for _, i := range []int{ftWorkers, ftStudy} {
		fl := s.form.fields[i]
		if fl.check(); fl.err != nil {
			return fl.label + ": " + fl.err.Error()
		}
	}
	return ""
}

// openTuneStudy makes the study: resumed from the file at path, new and
// saved there as it runs, or (no path) in memory only. A new study never
// replaces a file, even one that appeared after the form read the path.
func openTuneStudy(spec lab.TuneSpec, path string, resume bool) (*lab.TuneStudy, error) {
	switch {
	case resume:
		return lab.ResumeTuneStudy(path)
	case path == "":
		return lab.NewTuneStudy(spec, "")
	}
	switch _, err := os.Stat(path); {
	case err == nil:
		return nil, fmt.Errorf("%s exists now: enter on the study file reads it", path)
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	return lab.NewTuneStudy(spec, path)
}

// created puts a new study on view and returns the Cmds that run it and
// follow its changes.
func (s *tuneScreen) created(msg tuneCreatedMsg) tea.Cmd {
	if msg.tag != s.tag {
		if msg.cancel != nil {
			cancel := msg.cancel
			return func() tea.Msg { cancel(); return nil }
		}
		return nil
	}
	if msg.err != nil {
		s.state, s.notice, s.noticeBad = runNone, "cannot start: "+msg.err.Error(), true
		return nil
	}
	s.study, s.cancel, s.done, s.state, s.showForm = msg.study, msg.cancel, msg.done, runRunning, false
	s.runPath, s.runFull = msg.path, msg.full
	switch {
	case msg.resumed:
		ended, going := endedTrials(msg.snap)
		s.notice = fmt.Sprintf("resumed %s: %d trials ended, %d to go on", msg.full, ended, going)
	case msg.path != "":
		s.notice = "saving the study to " + msg.full
	}
	if msg.path != "" {
		s.studyInfo = nil // the running study's file: what was read of it no longer holds
	}
	s.setSnap(msg.snap)
	return tea.Batch(runStudy(msg.tag, msg.ctx, s.c.lab, msg.study, msg.cancel, msg.done, msg.workers),
		waitStudy(msg.tag, msg.study, msg.done))
}

// endedTrials counts a study's trials that have ended and those that have
// not (training, paused, or to train again after a resume).
func endedTrials(snap lab.TuneSnapshot) (ended, going int) {
	for _, t := range snap.Trials {
		if t.Status == lab.TrialRunning || t.Status == lab.TrialPaused {
			going++
		} else {
			ended++
		}
	}
	return ended, going
}

// runStudy returns the Cmd that runs the study to its end on ctx.
func runStudy(tag int, ctx context.Context, l lab.Starter, st *lab.TuneStudy, cancel context.CancelFunc, done chan struct{}, workers int) tea.Cmd {
	return func() tea.Msg {
		res, err := st.Run(ctx, l, workers)
		close(done)
		snap := st.Snapshot()
		cancel()
		return tuneDoneMsg{tag: tag, res: res, err: err, snap: snap}
	}
}

// waitStudy returns a Cmd that waits for the study to change (or for Run
// to return, when done is given), lets changes settle for a tenth of a
// second, and takes a snapshot. Snapshot is called here, not in Update: it
// may wait on the study's lock.
func waitStudy(tag int, st *lab.TuneStudy, done chan struct{}) tea.Cmd {
	return func() tea.Msg {
		select {
		case <-st.Changed():
		case <-done:
			return nil // tuneDoneMsg carries the last snapshot
		}
		time.Sleep(100 * time.Millisecond)
		return tuneSnapMsg{tag: tag, snap: st.Snapshot()}
	}
}

// setSnap takes a new snapshot: re-sorts the leaderboard (keeping the
// selected trial) and redraws the charts.
func (s *tuneScreen) setSnap(snap lab.TuneSnapshot) {
	s.snap = &snap
	s.order = s.order[:0]
	for i := range snap.Trials {
		s.order = append(s.order, i)
	}
	ts := snap.Trials
	slices.SortStableFunc(s.order, func(a, b int) int {
		ea, eb := ts[a].Epochs > 0, ts[b].Epochs > 0
		switch {
		case ea && !eb:
			return -1
		case eb && !ea:
			return 1
		case ts[a].ValAccuracy > ts[b].ValAccuracy:
			return -1
		case ts[a].ValAccuracy < ts[b].ValAccuracy:
			return 1
		}
		return ts[a].ID - ts[b].ID
	})
	if s.selected() == nil && len(s.order) > 0 {
		s.sel = ts[s.order[0]].ID
	}
	s.param = min(s.param, len(s.scatterAxes())-1)
	s.redraw()
}

// selected is the selected trial, or nil.
func (s *tuneScreen) selected() *lab.TrialRecord {
	if s.snap == nil {
		return nil
	}
	for i := range s.snap.Trials {
		if s.snap.Trials[i].ID == s.sel {
			return &s.snap.Trials[i]
		}
	}
	return nil
}

// row is the selected trial's row in the leaderboard, or -1.
func (s *tuneScreen) row() int {
	for r, i := range s.order {
		if s.snap.Trials[i].ID == s.sel {
			return r
		}
	}
	return -1
}

func (s *tuneScreen) move(d int) {
	if s.snap == nil || len(s.order) == 0 {
		return
	}
	r := min(len(s.order)-1, max(0, s.row()+d))
	s.sel = s.snap.Trials[s.order[r]].ID
	s.redraw()
}

// scatterAxes are what the scatter can put on its X axis: each parameter
// of the space, then the second objective when there is one.
func (s *tuneScreen) scatterAxes() []string {
	if s.snap == nil {
		return []string{""}
	}
	var out []string
	for _, d := range s.snap.Spec.Space {
		out = append(out, d.Name)
	}
	if obj := s.snap.Spec.Objectives; len(obj) > 1 {
		out = append(out, obj[1])
	}
	if len(out) == 0 {
		return []string{""}
	}
	return out
}

// Layout.

func (s *tuneScreen) SetSize(w, h int) {
	s.w, s.h = w, h
	for _, fl := range s.form.fields[ftFile:] {
		fl.input.Width = s.spaceInputW()
	}
	s.redraw()
}

// wide says whether the charts sit right of the leaderboard.
func (s *tuneScreen) wide() bool { return s.w >= 110 }

// panes returns the leaderboard's size and the charts' sizes: best-so-far
// and scatter (each w×h), and the importance bars' rows (0: left out).
func (s *tuneScreen) panes() (lw, lh, cw, bestH, scatH, impRows int) {
	body := s.h - 2 // status and notice
	nimp := 0
	if s.snap != nil {
		nimp = len(s.snap.Spec.Space)
	}
	if s.wide() {
		cw = min(56, s.w*2/5)
		lw = s.w - cw - 2
		lh = body - 2 // the selected trial's details
		impRows = min(nimp+1, max(0, body/3))
		if impRows < 3 {
			impRows = 0
		}
		rest := body - impRows
		bestH = rest / 2
		scatH = rest - bestH
		return
	}
	lw = s.w
	n := 1
	if s.snap != nil {
		n = len(s.snap.Trials)
	}
	lh = min(n+1, max(3, (body-1)/2))
	cw = (s.w - 2) / 2
	bestH = max(0, body-lh-1)
	scatH = bestH
	if bestH >= 17 && nimp > 0 {
		impRows = min(nimp+1, bestH-11)
		bestH -= impRows
		scatH = bestH
	}
	return
}

// redraw draws the best-so-far chart and the scatter at their sizes.
func (s *tuneScreen) redraw() {
	s.bestView, s.scatterView = "", ""
	if s.snap == nil {
		return
	}
	_, _, cw, bestH, scatH, _ := s.panes()
	st := s.c.styles
	best := xySeries{name: "best val accuracy", style: st.Train, glyph: '•', join: joinSteps}
	for _, p := range s.snap.BestCurve {
		best.pts = append(best.pts, point{float64(p.TotalEpochs), p.Value})
	}
	if n := len(best.pts); n > 0 && s.snap.TotalEpochs > int(best.pts[n-1].X) {
		last := best.pts[n-1]
		best.pts = append(best.pts, point{float64(s.snap.TotalEpochs), last.Y})
		best.glyphs = make([]rune, n+1)
		for i := range n {
			best.glyphs[i] = '•'
		}
	}
	s.bestView = xyPlot{title: "Best so far", xTitle: "epochs spent", series: []xySeries{best}, yPercent: true, xFrom0: true,
		xFmt: func(v float64) string { return fmt.Sprintf("%.0f", v) }}.
		View(st, cw, bestH)
	s.scatterView = s.scatter().View(st, cw, scatH)
}

// scatter plots the chosen parameter of every trial with an epoch against
// its validation accuracy; the selected trial is drawn ◆. On a second
// objective's axis, the Pareto set is joined.
func (s *tuneScreen) scatter() xyPlot {
	st := s.c.styles
	axes := s.scatterAxes()
	name := axes[min(s.param, len(axes)-1)]
	p := xyPlot{title: "Accuracy vs " + name + " (p)", yPercent: true, xTitle: name}
	dots := xySeries{style: st.Accent, glyph: '•'}
	sel := xySeries{style: st.Val, glyph: '◆'}
	var dim *core.Dim
	for i := range s.snap.Spec.Space {
		if s.snap.Spec.Space[i].Name == name {
			dim = &s.snap.Spec.Space[i]
		}
	}
	if dim != nil {
		p.logX = dim.Kind == core.LogUniform || (dim.Kind == core.Integer && dim.Log)
		if dim.Kind == core.Categorical {
			p.xNames = dim.Values
		}
	} else {
		p.logX = true
		p.xFmt = func(v float64) string { return compactNum(v) }
		if name == "latency" {
			p.xFmt = func(v float64) string { return compactNum(v) + "µs" }
		}
	}
	var front []point
	for _, t := range s.snap.Trials {
		if t.Epochs == 0 {
			continue
		}
		x, ok := 0.0, true
		switch {
		case dim == nil && name == "latency":
			x, ok = t.LatencyMicros, t.LatencyMicros > 0
		case dim == nil:
			x, ok = float64(t.SizeBytes), t.SizeBytes > 0
		case dim.Kind == core.Categorical:
			x = float64(slices.Index(dim.Values, fmt.Sprint(t.Params[name])))
			ok = x >= 0
		default:
			x, ok = lab.ParamNumber(t.Params[name])
		}
		if !ok {
			continue
		}
		q := point{x, t.ValAccuracy}
		if t.ID == s.sel {
			sel.pts = append(sel.pts, q)
		} else {
			dots.pts = append(dots.pts, q)
		}
		if dim == nil && slices.Contains(s.snap.Pareto, t.ID) {
			front = append(front, q)
		}
	}
	p.series = []xySeries{dots, sel}
	if len(front) > 1 {
		slices.SortFunc(front, func(a, b point) int { return cmp.Compare(a.X, b.X) })
		p.series = append([]xySeries{{name: "Pareto set", style: st.Good, join: joinLine, pts: front}}, p.series...)
	}
	return p
}

func (s *tuneScreen) View() string {
	if s.showForm {
		fw, sw := s.formWidths()
		return hjoin(2, []string{s.settingsView(fw), s.spaceView(sw, s.h)}, []int{fw, sw})
	}
	return s.studyView()
}

// formNotice makes a notice read as a refusal ("cannot …", in red) or not.
func (s *tuneScreen) formNotice(msg string, bad bool) string {
	if bad && !strings.HasPrefix(msg, "cannot") && !strings.HasPrefix(msg, "a ") {
		return "cannot: " + msg
	}
	return msg
}

// trialStatusText is a trial's status in words; a trial left running when
// the study was interrupted reads "interrupted".
func trialStatusText(status string, interrupted bool) string {
	switch status {
	case lab.TrialStopped:
		return "stopped early"
	case lab.TrialRunning:
		if interrupted {
			return "interrupted"
		}
	}
	return status
}

// statusLine says what the study is doing.
func (s *tuneScreen) statusLine() string {
	st := s.c.styles
	sn := s.snap
	if s.state == runPending || sn == nil {
		return st.Muted.Render("starting the study…")
	}
	sc := sn.Spec.Search
	counts := map[string]int{}
	for _, t := range sn.Trials {
		counts[t.Status]++
	}
	what := fmt.Sprintf("%s · %d trials · ≤%d epochs each · %d epochs spent · %s", sc.Strategy, sc.Trials, sc.MaxEpochs,
		sn.TotalEpochs, dur(sn.Elapsed))
	switch s.state {
	case runRunning:
		return st.Accent.Render("tuning on "+dataName(sn.Spec.Data)) + " " + what +
			fmt.Sprintf(" · %d running, %d ended", counts[lab.TrialRunning], len(sn.Trials)-counts[lab.TrialRunning]-counts[lab.TrialPaused])
	case runDone:
		line := "study finished: " + what
		if b := s.result; b != nil && b.Best != nil {
			line += fmt.Sprintf(" · best trial %d: %s val, %s test", b.Best.ID, pct(b.Best.ValAccuracy), pct(b.Best.TestAccuracy))
		}
		return st.Good.Render(line)
	case runCancelled:
		return st.Warn.Render("study cancelled: " + what)
	}
	msg := "study failed"
	if s.err != nil {
		msg += ": " + s.err.Error()
	}
	return st.Bad.Render(msg)
}

func (s *tuneScreen) studyView() string {
	st := s.c.styles
	note := s.notice
	style := st.Muted
	if s.noticeBad {
		style = st.Bad
	}
	if note == "" && s.snap != nil && len(s.snap.Spec.Objectives) > 1 {
		note = fmt.Sprintf("objectives: accuracy and %s · Pareto set: %s (◆ in the table)", s.snap.Spec.Objectives[1], idList(s.snap.Pareto))
	}
	if note == "" {
		note = "enter makes the selected trial the baseline · n edits a new study"
	}
	head := vjoin(fit(s.statusLine(), s.w, 1), style.Render(fit(note, s.w, 1)))
	if s.snap == nil {
		return head
	}
	lw, lh, cw, bestH, scatH, impRows := s.panes()
	board := vjoin(s.leaderboard().View(st, lw, lh), s.detailLine(lw))
	if s.wide() {
		right := vjoin(block(s.bestView, cw, bestH), block(s.scatterView, cw, scatH), s.importanceView(cw, impRows))
		return vjoin(head, hjoin(2, []string{board, right}, []int{lw, cw}))
	}
	charts := hjoin(2, []string{s.bestView, s.scatterView}, []int{cw, cw})
	return vjoin(head, block(board, lw, lh+1), charts, s.importanceView(s.w, impRows))
}

func idList(ids []int) string {
	if len(ids) == 0 {
		return "none yet"
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(id)
	}
	return "trials " + strings.Join(parts, ", ")
}

// leaderboard is the trials table, best validation accuracy first.
func (s *tuneScreen) leaderboard() table {
	sn := s.snap
	two := len(sn.Spec.Objectives) > 1
	t := table{selected: s.row(), cols: []column{{title: "trial"}, {title: "status"}, {title: "ep", right: true},
		{title: "val acc", right: true}, {title: "test acc", right: true}}}
	if two {
		t.cols = append(t.cols, column{title: sn.Spec.Objectives[1], right: true})
	}
	t.cols = append(t.cols, column{title: "curve"}, column{title: "parameters"})
	// One scale for every row, over the epochs the sparklines show.
	sw := min(12, max(4, sn.Spec.Search.MaxEpochs))
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, tr := range sn.Trials {
		for _, v := range tr.Curve[max(0, len(tr.Curve)-sw):] {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	interrupted := s.state == runCancelled || s.state == runFailed
	for _, i := range s.order {
		tr := sn.Trials[i]
		id := strconv.Itoa(tr.ID)
		if slices.Contains(sn.Pareto, tr.ID) {
			id += " ◆"
		}
		test := "—"
		if tr.TestAccuracy > 0 {
			test = pct(tr.TestAccuracy)
		}
		val := "—"
		if tr.Epochs > 0 {
			val = pct(tr.ValAccuracy)
		}
		row := []cell{{text: id}, {text: trialStatusText(tr.Status, interrupted)}, {text: strconv.Itoa(tr.Epochs)},
			{text: val, best: tr.ID == sn.Best}, {text: test}}
		if two {
			c := "—"
			if sn.Spec.Objectives[1] == "latency" && tr.LatencyMicros > 0 {
				c = fmt.Sprintf("%.1fµs", tr.LatencyMicros)
			} else if sn.Spec.Objectives[1] == "size" && tr.SizeBytes > 0 {
				c = bytesText(tr.SizeBytes)
			}
			row = append(row, cell{text: c})
		}
		row = append(row, cell{text: sparkline(tr.Curve, lo, hi, sw)}, cell{text: compactParams(sn.Spec.Space, tr.Params)})
		t.rows = append(t.rows, row)
	}
	return t
}

// compactParams formats a trial's parameters briefly, in space order:
// categorical values bare, numbers as name=value.
func compactParams(space core.Space, v map[string]any) string {
	short := map[string]string{"batch": "b", "units": "u", "layers": "l", "weight_decay": "wd", "dropout": "do"}
	var parts []string
	for _, d := range space {
		x, ok := v[d.Name]
		if !ok {
			continue
		}
		name := d.Name
		if n, ok := short[name]; ok {
			name = n
		}
		switch y := x.(type) {
		case string:
			parts = append(parts, y)
		case float64:
			parts = append(parts, name+"="+shortFloat(y))
		default:
			parts = append(parts, fmt.Sprintf("%s=%v", name, y))
		}
	}
	return strings.Join(parts, " ")
}

// shortFloat formats a parameter value in at most about six characters.
func shortFloat(f float64) string {
	a := math.Abs(f)
	switch {
	case a == 0:
		return "0"
	case a < 0.01:
		m := strconv.FormatFloat(f, 'e', 1, 64)
		return strings.Replace(strings.Replace(m, "e-0", "e-", 1), "e+0", "e", 1)
	}
	return strconv.FormatFloat(f, 'g', 3, 64)
}

// detailLine is the selected trial's parameters in full, its run, and why
// it stopped.
func (s *tuneScreen) detailLine(w int) string {
	st := s.c.styles
	t := s.selected()
	if t == nil {
		return ""
	}
	// Why it stopped comes first: the parameters are also in the table, and
	// the end of the line may not fit.
	line := fmt.Sprintf("trial %d", t.ID)
	if t.Reason != "" {
		line += " · " + t.Reason
	}
	if t.Run != 0 {
		line += fmt.Sprintf(" · run %d", t.Run)
	}
	line += ": " + s.snap.Spec.Space.FormatValues(t.Params)
	return st.Muted.Render(wrapUpTo(st.Muted, line, w, 2))
}

// importanceView is the parameters' importance as bars.
func (s *tuneScreen) importanceView(w, rows int) string {
	st := s.c.styles
	if rows < 2 || s.snap == nil {
		return ""
	}
	sn := s.snap
	title := "Importance"
	if sn.ImportanceTrials > 0 {
		title += fmt.Sprintf(" (at %s, %d trials)", plural(sn.ImportanceEpochs, "epoch"), sn.ImportanceTrials)
	}
	if len(sn.Importance) == 0 || sn.ImportanceTrials < 3 {
		return vjoin(heading(st, fit(title, w-2, 1), w), st.Muted.Render(fit("shows once 3 trials have epochs to compare", w, 1)))
	}
	imp := slices.Clone(sn.Importance)
	slices.SortStableFunc(imp, func(a, b core.Importance) int {
		if a.Value > b.Value {
			return -1
		}
		if a.Value < b.Value {
			return 1
		}
		return 0
	})
	items := make([]share, len(imp))
	for i, x := range imp {
		items[i] = share{name: x.Name, frac: x.Value}
	}
	return vjoin(heading(st, fit(title, w-2, 1), w), shareBars(st, items, "", w, rows-1))
}

// plural is "1 epoch", "3 epochs".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
