package tui

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

// The Tune screen's search-space editor, and its study file. The space's
// parameters are the form's fields from numTuneFields on, one per
// parameter, labelled with its name and holding its range, list or value
// in lab.FormatDim's syntax.

// spaceLabelW is the width of the space rows' name column: the longest
// parameter name (weight_decay) and a space.
const spaceLabelW = 13

// settingsLabelW is the width of the settings' label column: the longest
// label (median stop).
const settingsLabelW = 11

// tuneSpaceMsg is the outcome of reading a space file.
type tuneSpaceMsg struct {
	path  string
	space core.Space
	err   error
}

// spaceRows are the fields of the space's parameters.
func (s *tuneScreen) spaceRows() []*field { return s.form.fields[numTuneFields:] }

// newSpaceRow is the field of parameter name, checked as a space file's
// line would be.
func (s *tuneScreen) newSpaceRow(name, text string) *field {
	fl := newField(s.c.styles, name, text, func(v string) error {
		_, err := lab.ParseDimText(name, v)
		return err
	})
	fl.input.CharLimit = 256
	fl.input.Width = s.spaceInputW()
	return fl
}

// setSpace replaces the rows with space, which came from `from` (a file's
// name, or "default").
func (s *tuneScreen) setSpace(space core.Space, from string) {
	s.form.fields = s.form.fields[:numTuneFields]
	s.spaceTexts = s.spaceTexts[:0]
	for _, d := range space {
		fl := s.newSpaceRow(d.Name, lab.FormatDim(d))
		s.form.fields = append(s.form.fields, fl)
		s.spaceTexts = append(s.spaceTexts, d.Name+"="+fl.value())
	}
	s.spaceFrom = from
	s.form.focus = min(s.form.focus, len(s.form.fields)-1)
	s.refreshSpace()
}

// refreshSpace reads the rows again: the space they make, the problem of
// the space as a whole with the chosen strategy, its grid size and whether
// it was edited. The space is nil while a row or the whole is invalid.
func (s *tuneScreen) refreshSpace() {
	s.space, s.spaceErr, s.grid = nil, nil, 0
	var texts []string
	space := core.Space{}
	for _, fl := range s.spaceRows() {
		texts = append(texts, fl.label+"="+fl.value())
		d, err := lab.ParseDimText(fl.label, fl.value())
		if err != nil {
			space = nil
		} else if space != nil {
			space = append(space, d)
		}
	}
	s.edited = !slices.Equal(texts, s.spaceTexts)
	if space == nil {
		return // the invalid row says why
	}
	if err := lab.ValidateSpace(space); err != nil {
		s.spaceErr = err
		return
	}
	if _, err := (core.SearchConfig{Strategy: s.form.fields[ftStrategy].value()}).Resolve(space); err != nil {
		s.spaceErr = err
		return
	}
	s.space, s.grid = space, space.GridSize()
}

// missing lists the parameters the space lacks, which a adds.
func (s *tuneScreen) missing() []string {
	var out []string
	for _, name := range lab.TuneParams {
		if !slices.ContainsFunc(s.spaceRows(), func(fl *field) bool { return fl.label == name }) {
			out = append(out, name)
		}
	}
	return out
}

// spaceKey handles the editor's own keys: a and d, and those of the picker
// a opens (esc closes it through Back).
func (s *tuneScreen) spaceKey(msg tea.KeyMsg) {
	k := s.keys
	miss := s.missing()
	switch {
	case s.adding && key.Matches(msg, k.Pick) && len(miss) > 0:
		s.pick = (s.pick + len(miss) - 1) % len(miss)
	case s.adding && key.Matches(msg, k.PickNext) && len(miss) > 0:
		s.pick = (s.pick + 1) % len(miss)
	case s.adding && key.Matches(msg, k.Confirm):
		s.adding = false
		name := miss[s.pick]
		d, _ := lab.SuggestDim(name)
		s.form.fields = append(s.form.fields, s.newSpaceRow(name, lab.FormatDim(d)))
		s.form.focus = len(s.form.fields) - 1
		s.notice, s.noticeBad = "added "+name+": enter edits it", false
	case s.adding: // the picker takes no other key
	case key.Matches(msg, k.Add) && len(miss) > 0:
		s.adding, s.pick, s.notice = true, 0, ""
	case key.Matches(msg, k.Remove) && s.form.focus >= numTuneFields:
		name := s.form.fields[s.form.focus].label
		s.form.fields = slices.Delete(s.form.fields, s.form.focus, s.form.focus+1)
		s.form.focus = min(s.form.focus, len(s.form.fields)-1)
		s.notice, s.noticeBad = "removed "+name+": trials use the base setting", false
	}
}

// kept follows an edit of field i that was kept: a space file is read, a
// study file looked at, and a parameter written as it was understood
// (1e-3..0.01 as 1e-3 .. 0.01).
func (s *tuneScreen) kept(i int) tea.Cmd {
	fl := s.form.fields[i]
	switch {
	case i == ftFile && fl.value() != "":
		return s.loadSpace(fl.value())
	case i == ftStudy:
		s.studyInfo = nil
		// The running study's own file is not read: reading a study
		// clears its unfinished checkpoint writes. It is read when the
		// study ends.
		if fl.value() != "" && !(s.running() && fl.value() == s.runPath) {
			return s.readStudyFile(fl.value())
		}
	case i >= numTuneFields && fl.err == nil:
		d, _ := lab.ParseDimText(fl.label, fl.value())
		fl.input.SetValue(lab.FormatDim(d))
	}
	return nil
}

// loadSpace returns the Cmd that reads the space file at path, if the
// lab's policy lets the TUI open it (Options.Open).
func (s *tuneScreen) loadSpace(path string) tea.Cmd {
	full, err := s.c.vetOpen(homePath(path))
	return func() tea.Msg {
		if err != nil {
			return tuneSpaceMsg{path: path, err: err}
		}
		sp, err := lab.ReadSpace(full)
		return tuneSpaceMsg{path: path, space: sp, err: err}
	}
}

// spaceLoaded takes a space file's outcome, unless the file field has
// changed since.
func (s *tuneScreen) spaceLoaded(msg tuneSpaceMsg) {
	fl := s.form.fields[ftFile]
	if fl.value() != msg.path {
		return
	}
	s.fileErr, s.fileErrPath = msg.err, msg.path
	fl.check()
	if msg.err != nil {
		return
	}
	s.setSpace(msg.space, filepath.Base(msg.path))
	s.notice, s.noticeBad = fmt.Sprintf("read %s from %s", plural(len(msg.space), "parameter"), msg.path), false
}

// validFile shows the error of the last attempt to read the file named.
func (s *tuneScreen) validFile(path string) error {
	if path != "" && path == s.fileErrPath {
		return s.fileErr
	}
	return nil
}

// readStudyFile returns the Cmd that looks at the study file at path: a
// study it holds is read in full (lab.ResumeTuneStudy), so that a damaged
// one is refused before s. A study file is written as the study runs, so
// the lab's policy for files it writes decides first (Options.Export).
func (s *tuneScreen) readStudyFile(path string) tea.Cmd {
	full, vetErr := s.c.vetExport(homePath(path))
	return func() tea.Msg {
		msg := tuneStudyFileMsg{path: path, full: full}
		if vetErr != nil {
			msg.full, msg.err = path, vetErr
			return msg
		}
		switch _, err := os.Stat(msg.full); {
		case errors.Is(err, os.ErrNotExist):
			if fi, err := os.Stat(filepath.Dir(msg.full)); err != nil || !fi.IsDir() {
				msg.err = errors.New("its directory does not exist")
			}
		case err != nil:
			msg.err = err
		default:
			msg.exists = true
			st, err := lab.ResumeTuneStudy(msg.full)
			if err != nil {
				msg.err = withoutPath(err, msg.full)
			} else {
				msg.snap = st.Snapshot()
			}
		}
		return msg
	}
}

// withoutPath drops the file's path from the front of err's text ("PATH is
// not …", "PATH: …"), which the field shows already.
func withoutPath(err error, path string) error {
	for _, sep := range []string{" is ", ": "} {
		if rest, ok := strings.CutPrefix(err.Error(), path+sep); ok {
			return errors.New(rest)
		}
	}
	return err
}

// studyRead takes what the study file holds, unless the field has changed
// since.
func (s *tuneScreen) studyRead(msg tuneStudyFileMsg) {
	fl := s.form.fields[ftStudy]
	if fl.value() != msg.path {
		return
	}
	s.studyInfo = &msg
	fl.check()
	s.refreshStudy()
}

// validStudy shows why the study file named could not be used.
func (s *tuneScreen) validStudy(path string) error {
	if info := s.studyInfo; info != nil && path != "" && info.path == path {
		return info.err
	}
	return nil
}

// resumes says s resumes the study the study file holds.
func (s *tuneScreen) resumes() bool {
	info := s.studyInfo
	return info != nil && info.exists && info.err == nil && info.path == s.form.fields[ftStudy].value()
}

// refreshStudy compares the study the study file holds with the form's,
// and names what differs, with the file's values: they are what s resumes.
func (s *tuneScreen) refreshStudy() {
	s.studyDiff = ""
	if !s.resumes() {
		return
	}
	saved, form := s.studyInfo.snap.Spec, s.form.fields
	v := func(i int) string { return form[i].value() }
	trials, _ := strconv.Atoi(v(ftTrials))
	if v(ftStrategy) == "grid" && s.grid > 0 {
		trials = min(trials, s.grid) // as the search resolves it
	}
	ss := saved.Search
	var diffs []string
	add := func(differ bool, what string, val any) {
		if differ {
			diffs = append(diffs, fmt.Sprintf("%s %v", what, val))
		}
	}
	add(splitDefaults(saved.Data) != splitDefaults(lab.DataSpec{Name: s.data, Seed: s.c.seed}), "data", dataName(saved.Data))
	add(ss.Strategy != v(ftStrategy), "strategy", ss.Strategy)
	add(ss.Trials != trials, "trials", ss.Trials)
	add(strconv.Itoa(ss.MaxEpochs) != v(ftEpochs), "max epochs", ss.MaxEpochs)
	add(strings.Join(saved.Objectives, ",") != v(ftObjective), "objective", strings.Join(saved.Objectives, ","))
	add(ss.Median != (v(ftMedian) == "yes"), "median stop", map[bool]string{true: "yes", false: "no"}[ss.Median])
	add(strconv.FormatUint(ss.Seed, 10) != v(ftSeed), "seed", ss.Seed)
	diffs = append(diffs, spaceDiff(saved.Space, s.space)...)
	s.studyDiff = strings.Join(diffs, " · ")
}

// splitDefaults fills in a data spec's default split fractions, so that a
// study file that names them equals the form's, which does not.
func splitDefaults(d lab.DataSpec) lab.DataSpec {
	if d.TestFrac == 0 {
		d.TestFrac = lab.DefaultTestFrac
	}
	if d.ValFrac == 0 {
		d.ValFrac = lab.DefaultValFrac
	}
	return d
}

// spaceDiff names how a saved space differs from the form's (nil while it
// has a problem): the saved parameters, when they are not the form's, or
// else the saved ranges that differ.
func spaceDiff(saved, form core.Space) []string {
	names := func(sp core.Space) []string {
		var out []string
		for _, d := range sp {
			out = append(out, d.Name)
		}
		return out
	}
	if !slices.Equal(names(saved), names(form)) {
		return []string{"space of " + strings.Join(names(saved), ", ")}
	}
	var out []string
	for i, d := range saved {
		a, _ := json.Marshal(d)
		b, _ := json.Marshal(form[i])
		if string(a) != string(b) {
			out = append(out, d.Name+" "+lab.FormatDim(d))
		}
	}
	return out
}

// studyNotes are the lines under the study file: what the file holds and
// what s does with it, and how its study differs from the form's; a file
// that cannot be used says why on the field's own error line instead.
func (s *tuneScreen) studyNotes(w int) []string {
	st := s.c.styles
	path, info := s.form.fields[ftStudy].value(), s.studyInfo
	note, diff := "", ""
	switch {
	case path == "" || info != nil && info.err != nil:
		return nil
	case info == nil && s.running() && path == s.runPath:
		note = "the running study saves here"
	case info == nil || info.path != path:
		note = "reading…"
	case !info.exists:
		note = "a new file: the study is saved here as it runs"
	default:
		sn := info.snap
		state, action := "interrupted", "s resumes it"
		if sn.Done {
			state, action = "finished", "s shows it"
		}
		ended, _ := endedTrials(sn)
		note = fmt.Sprintf("%s %s study on %s · %d/%d trials ended", state, sn.Spec.Search.Strategy,
			dataName(sn.Spec.Data), ended, sn.Spec.Search.Trials)
		if s.studyDiff != "" {
			action += " as saved"
			diff = "differs from the form: it has " + s.studyDiff
		}
		note += " · " + action
	}
	lines := []string{indent(wrapUpTo(st.Muted, note, w-2, 2), 2)}
	if diff != "" {
		lines = append(lines, indent(wrapUpTo(st.Warn, diff, w-2, 2), 2))
	}
	return lines
}

// spaceInputW is how wide a space row's text shows while edited.
func (s *tuneScreen) spaceInputW() int {
	_, sw := s.formWidths()
	return max(1, sw-2-spaceLabelW-2)
}

// formWidths are the widths of the settings and of the space beside them.
func (s *tuneScreen) formWidths() (fw, sw int) {
	// 34 columns fit the longest setting, "objective ‹ accuracy,latency ›".
	fw = min(40, max(34, s.w/3))
	return fw, max(0, s.w-fw-2)
}

// fieldLine draws one field as techForm does: "›" on the focused one, "!"
// on another invalid one, the label in a column labelW wide, the value (the
// input while edited, ‹ choice › for a choice) and a muted hint after it.
func fieldLine(st *Styles, fl *field, focused, editing bool, labelW int, hint string, w int) string {
	val := fl.input.View()
	switch {
	case editing:
	case len(fl.choices) > 0:
		val = "‹ " + fl.value() + " ›"
	case fl.input.Value() != "":
		val = st.Input.Render(fl.input.Value()) // all of it, not the input's scrolled window
	}
	if hint != "" {
		val += "  " + st.Muted.Render(hint)
	}
	label := padTo(fl.label, labelW)
	switch {
	case focused:
		return padTo("› "+st.Selected.Render(label)+" "+val, w)
	case fl.err != nil:
		return padTo(st.Bad.Render("! ")+st.Label.Render(label)+" "+val, w)
	}
	return padTo("  "+st.Label.Render(label)+" "+val, w)
}

// settingsView is the study's settings: the form's fields before the space
// file, and under them the notice or the problem of a field.
func (s *tuneScreen) settingsView(w int) string {
	st := s.c.styles
	lines := []string{heading(st, "Tune hyperparameters", w), st.Muted.Render(fit("data: "+s.data, w, 1))}
	var problem string
	f := &s.form
	for i, fl := range f.fields[:ftFile] {
		if fl.err != nil && (problem == "" || i == f.focus) {
			problem = fl.label + ": " + fl.err.Error()
		}
		lines = append(lines, fieldLine(st, fl, i == f.focus && !s.adding, f.editing && i == f.focus, settingsLabelW, s.fieldHint(i), w))
	}
	msg, bad := s.notice, s.noticeBad
	if s.running() && msg == "" {
		msg = "a study is running: esc shows it"
	}
	if !bad {
		msg = strings.TrimPrefix(msg, "cannot ")
	}
	msg, style := s.formNotice(msg, bad), st.Muted
	if bad {
		style = st.Bad
	}
	switch {
	case f.editing && f.focus < ftFile:
		msg, style = "editing: enter keeps, esc discards", st.Muted
	case msg == "" && problem != "":
		msg, style = problem, st.Bad
	}
	lines = append(lines, st.Plain.Render(wrapText(style, msg, w, 3)))
	return strings.Join(lines, "\n")
}

// fieldHint is what follows a setting's value: for a grid, how many of its
// points the trials cover ("8 of 4374", "5000 → all 2916").
func (s *tuneScreen) fieldHint(i int) string {
	if i != ftTrials || s.form.fields[ftStrategy].value() != "grid" || s.grid == 0 {
		return ""
	}
	trials, err := strconv.Atoi(s.form.fields[ftTrials].value())
	if err != nil {
		return ""
	}
	if trials >= s.grid {
		return fmt.Sprintf("→ all %d", s.grid)
	}
	return fmt.Sprintf("of %d", s.grid)
}

// spaceView is the search-space editor, h lines at most: the space file,
// one row per parameter (scrolled to keep the focused one on view), the
// problem of the focused or first invalid row under it, the picker of a
// parameter to add, the syntax and, room permitting, the strategies.
func (s *tuneScreen) spaceView(w, h int) string {
	st := s.c.styles
	if w < 20 || h < 1 {
		return ""
	}
	f := &s.form
	title := "Search space (" + s.spaceFrom + ")"
	if s.edited {
		title = "Search space (edited)"
	}
	if s.grid > 0 {
		title += fmt.Sprintf(" · grid of %d", s.grid)
	}
	row := func(i int) string {
		return fieldLine(st, f.fields[i], i == f.focus && !s.adding, f.editing && i == f.focus, spaceLabelW, "", w)
	}
	// A field's problem goes under it, indented, in at most two lines; the
	// field names the parameter, so its error need not.
	under := func(fl *field) string {
		msg := strings.TrimPrefix(fl.err.Error(), fmt.Sprintf("parameter %q: ", fl.label))
		return indent(wrapUpTo(st.Bad, msg, w-2, 2), 2)
	}
	top := []string{heading(st, title, w), row(ftFile)}
	if fl := f.fields[ftFile]; fl.err != nil {
		top = append(top, under(fl))
	}
	top = append(top, row(ftStudy))
	if fl := f.fields[ftStudy]; fl.err != nil {
		top = append(top, under(fl))
	}
	top = append(top, s.studyNotes(w)...)

	rows := s.spaceRows()
	errRow := slices.IndexFunc(rows, func(fl *field) bool { return fl.err != nil })
	if fr := f.focus - numTuneFields; fr >= 0 && rows[fr].err != nil {
		errRow = fr
	}
	var errLines string
	if errRow >= 0 {
		errLines = under(rows[errRow])
	}
	var after []string
	if s.adding {
		miss := s.missing()
		name := miss[min(s.pick, len(miss)-1)]
		d, _ := lab.SuggestDim(name)
		after = append(after, padTo("› "+st.Selected.Render(padTo("add", spaceLabelW))+" ‹ "+name+" ›", w),
			st.Muted.Render(padTo("  starts as "+lab.FormatDim(d), w)))
	}
	status, style := "", st.Muted
	switch {
	case f.editing && f.focus >= ftFile:
		status = "editing: enter keeps, esc discards"
	case s.adding:
		status = "←/→ picks, enter adds, esc cancels"
	case len(rows) == 0:
		status, style = "no parameters: a adds one", st.Bad
	case s.spaceErr != nil:
		status, style = s.spaceErr.Error(), st.Bad
	case len(s.missing()) > 0:
		status = "a adds " + strings.Join(s.missing(), ", ")
	}
	if status != "" {
		after = append(after, wrapUpTo(style, status, w, 2))
	}

	// The rows that fit, keeping the focused one (or the picker) on view.
	room := h - lineCount(strings.Join(top, "\n")) - lineCount(strings.Join(after, "\n")) - lineCount(errLines)
	first, n := 0, len(rows)
	if n > room {
		n = max(0, room)
		last := max(0, f.focus-numTuneFields) // the focused row, or the first
		if s.adding {
			last = len(rows) - 1 // the picker comes after it
		}
		first = max(0, last-n+1)
	}
	lines := top
	for i := first; i < first+n; i++ {
		lines = append(lines, row(numTuneFields+i))
		if i == errRow {
			lines = append(lines, errLines)
		}
	}
	lines = append(lines, after...)

	// Help, a paragraph at a time while whole paragraphs fit.
	for _, p := range []string{
		"Ranges: uniform 0 .. 0.3, log-uniform 1e-4 .. 0.03, int 16 .. 256, optionally followed by log (int " +
			"only) and points N (values in a grid). Lists: 32, 64, 128, with values holding commas quoted " +
			"(\"128,64\"). One value is fixed.",
		"Each trial is a run on the lab's workers, judged by validation accuracy after every epoch. random " +
			"and tpe sample the space, grid walks it; asha and hyperband train many trials briefly and promote " +
			"the best (max epochs is their largest budget); median stop ends trials below the median curve.",
	} {
		para := wrapUpTo(st.Muted, p, w, 10)
		if lineCount(strings.Join(lines, "\n"))+1+lineCount(para) > h {
			break
		}
		lines = append(lines, "", para)
	}
	return fit(strings.Join(lines, "\n"), w, h)
}

// indent puts n spaces before every line of s.
func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}
