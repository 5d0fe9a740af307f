package tui

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

// resultsScreen compares every finished run, marks the baseline and the best
// value of each column, shows the selected run's per-class figures and
// confusion matrix, and exports its model (the Deploy step).
type resultsScreen struct {
	c         *common
	keys      resultsKeys
	results   []*lab.Result // finished runs, in finish order
	baseline  lab.RunID
	from      map[lab.RunID]lab.RunID // a technique's run → the run whose model it started from
	cursor    int
	full      bool // the detail fills the screen
	exporting bool
	path      textinput.Model
	notice    string
	noticeBad bool
	w, h      int
}

type resultsKeys struct {
	Up, Down, Detail, Baseline, Export, Save, Abort key.Binding
}

func newResultsScreen(c *common) screen {
	in := textinput.New()
	in.Prompt = "save to: "
	in.CharLimit = 4096
	in.Cursor.SetMode(cursor.CursorStatic)
	s := &resultsScreen{c: c, path: in, from: map[lab.RunID]lab.RunID{},
		keys: resultsKeys{Up: keyUp, Down: keyDown, Detail: relabel(keyEnter, "enter", "details"),
			Baseline: keyBase, Export: relabel(keyExp, "e", "export model"),
			Save: relabel(keySave, "enter", "save"), Abort: relabel(keyAbort, "esc", "cancel")}}
	s.updateKeys()
	return s
}

func (s *resultsScreen) Title() string { return "Results" }

func (s *resultsScreen) Init() tea.Cmd { return nil }

func (s *resultsScreen) Editing() bool { return s.exporting }

func (s *resultsScreen) SetSize(w, h int) { s.w, s.h = w, h }

func (s *resultsScreen) Back() bool {
	switch {
	case s.exporting:
		s.exporting = false
		s.path.Blur()
	case s.full:
		s.full = false
	default:
		return false
	}
	s.updateKeys()
	return true
}

func (s *resultsScreen) updateKeys() {
	k := &s.keys
	any := len(s.results) > 0
	for _, b := range []*key.Binding{&k.Up, &k.Down, &k.Detail, &k.Baseline, &k.Export} {
		b.SetEnabled(!s.exporting && any)
	}
	k.Save.SetEnabled(s.exporting)
	k.Abort.SetEnabled(s.exporting)
}

func (s *resultsScreen) ShortHelp() []key.Binding {
	k := s.keys
	return []key.Binding{k.Up, k.Detail, k.Baseline, k.Export, k.Save, k.Abort}
}

func (s *resultsScreen) FullHelp() [][]key.Binding {
	k := s.keys
	return [][]key.Binding{{k.Up, k.Down, k.Detail}, {k.Baseline, k.Export, k.Save, k.Abort}}
}

// selected is the result under the cursor, or nil.
func (s *resultsScreen) selected() *lab.Result {
	if s.cursor < len(s.results) {
		return s.results[s.cursor]
	}
	return nil
}

func (s *resultsScreen) Update(msg tea.Msg) tea.Cmd {
	defer s.updateKeys()
	switch msg := msg.(type) {
	case runStartedMsg:
		switch spec := msg.config.(type) {
		case lab.PruneSpec:
			s.from[msg.id] = spec.BaseRun
		case lab.DistillSpec:
			s.from[msg.id] = spec.TeacherRun
		case lab.QuantizeSpec:
			s.from[msg.id] = spec.BaseRun
		}
	case labEventMsg:
		// A sensitivity analysis measures its model without changing it:
		// the Prune screen shows it, and here it would repeat its base.
		if msg.Kind != lab.Finished || msg.Result == nil || msg.Result.Task == lab.TaskSensitivity {
			return nil
		}
		s.add(msg.Result, msg.Run)
		// A distillation's scratch student is a run of the lab's own: it
		// has no Started or Finished event, only this result.
		if sc := msg.Result.Scratch; sc != nil && sc.Run != 0 {
			if id, ok := s.from[msg.Run]; ok {
				s.from[sc.Run] = id
			}
			s.add(sc, sc.Run)
		}
	case baselineSetMsg:
		if msg.ok {
			s.baseline = msg.run
			s.notice, s.noticeBad = fmt.Sprintf("run %d is the baseline", msg.run), false
		}
	case exportedMsg:
		if msg.err != nil {
			s.notice, s.noticeBad = "export failed: "+msg.err.Error(), true
		} else {
			s.notice, s.noticeBad = fmt.Sprintf("saved run %d to %s (%s)", msg.run, msg.path, bytesText(msg.bytes)), false
		}
	case tea.KeyMsg:
		return s.handleKey(msg)
	}
	return nil
}

// add lists r as finished run id, unless it is listed already.
func (s *resultsScreen) add(r *lab.Result, id lab.RunID) {
	for _, have := range s.results {
		if have.Run == id {
			return
		}
	}
	res := *r
	res.Run = id
	s.results = append(s.results, &res)
	if s.baseline == 0 && res.Task == lab.TaskTrain {
		s.baseline = id // the lab's rule: the first training run until one is marked
	}
}

func (s *resultsScreen) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := s.keys
	if s.exporting {
		switch {
		case key.Matches(msg, k.Save):
			s.exporting = false
			s.path.Blur()
			path := strings.TrimSpace(s.path.Value())
			res := s.selected()
			if path == "" || res == nil {
				s.notice, s.noticeBad = "export cancelled: no file name", true
				return nil
			}
			path, err := s.c.vetExport(homePath(path))
			if err != nil {
				s.notice, s.noticeBad = "export refused: "+err.Error(), true
				return nil
			}
			s.notice, s.noticeBad = "saving "+path+"…", false
			return exportModel(res, path)
		case key.Matches(msg, k.Abort):
			s.exporting = false
			s.path.Blur()
			return nil
		}
		var cmd tea.Cmd
		s.path, cmd = s.path.Update(msg)
		return cmd
	}
	res := s.selected()
	switch {
	case key.Matches(msg, k.Up):
		s.cursor = max(0, s.cursor-1)
		return s.selectedCmd()
	case key.Matches(msg, k.Down):
		s.cursor = max(0, min(len(s.results)-1, s.cursor+1))
		return s.selectedCmd()
	case key.Matches(msg, k.Detail) && res != nil:
		s.full = !s.full
	case key.Matches(msg, k.Baseline) && res != nil:
		l, id := s.c.lab, res.Run
		return func() tea.Msg { return baselineSetMsg{run: id, ok: l.SetBaseline(id)} }
	case key.Matches(msg, k.Export) && res != nil:
		if res.Model == nil {
			s.notice, s.noticeBad = "this run has no model to export", true
			return nil
		}
		if _, err := s.c.vetExport(defaultExportName(res)); err != nil {
			s.notice, s.noticeBad = "export refused: "+err.Error(), true
			return nil
		}
		s.exporting = true
		s.notice = ""
		s.path.SetValue(defaultExportName(res))
		s.path.CursorEnd()
		return s.path.Focus()
	}
	return nil
}

// selectedCmd tells the technique screens which run is selected, so they
// offer its model first.
func (s *resultsScreen) selectedCmd() tea.Cmd {
	r := s.selected()
	if r == nil {
		return nil
	}
	id := r.Run
	return func() tea.Msg { return runSelectedMsg{id: id} }
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// defaultExportName suggests a file name for a run's model.
func defaultExportName(r *lab.Result) string {
	base := filepath.Base(r.Dataset)
	return unsafeName.ReplaceAllString(fmt.Sprintf("%s-%s-run%d", base, r.Arch, r.Run), "_") + ".safetensors"
}

// exportModel returns a Cmd that saves r's model to path atomically.
func exportModel(r *lab.Result, path string) tea.Cmd {
	m, id := r.Model, r.Run
	// The split goes into the file so that eval, prune and the rest measure
	// the exported model on the samples it was tested on, not on a new split.
	info := r.Data.ModelInfo(r.Task)
	info.TestAccuracy, info.Epochs, info.Seed = r.TestAccuracy, r.Epochs, r.Seed
	return func() tea.Msg {
		n, err := core.SaveModel(path, m, info)
		return exportedMsg{run: id, path: path, bytes: n, err: err}
	}
}

func (s *resultsScreen) View() string {
	st := s.c.styles
	if len(s.results) == 0 {
		return vjoin(heading(st, "Results", s.w), st.Muted.Render(wrapText(st.Muted,
			"No finished runs yet. Train a baseline on the Baseline screen (2, then s); "+
				"every finished run appears here to compare and export.", s.w, 3)))
	}
	foot := s.footer()
	footH := len(strings.Split(foot, "\n"))
	if s.full {
		return vjoin(s.detailView(s.w, s.h-footH), foot)
	}
	tableH := min(len(s.results)+2, max(3, (s.h-footH)/2))
	title := "Runs"
	if d := s.oneDataset(); d != "" {
		title = "Runs on " + d
	}
	return vjoin(heading(st, title, s.w), s.runsTable().View(st, s.w, tableH-1),
		s.detailView(s.w, s.h-tableH-footH), foot)
}

// oneDataset is the dataset of every run, or "" when they differ.
func (s *resultsScreen) oneDataset() string {
	d := ""
	for i, r := range s.results {
		if i > 0 && r.Dataset != d {
			return ""
		}
		d = r.Dataset
	}
	return filepath.Base(d)
}

// footer is the export prompt or the last notice.
func (s *resultsScreen) footer() string {
	st := s.c.styles
	switch {
	case s.exporting:
		return fit(s.path.View(), s.w, 1)
	case s.notice != "" && s.noticeBad:
		return st.Bad.Render(fit(s.notice, s.w, 1))
	case s.notice != "":
		return st.Good.Render(fit(s.notice, s.w, 1))
	}
	return st.Muted.Render(fit("* best in column   base: the baseline", s.w, 1))
}

// runsTable builds the comparison table with the best value of each column
// starred.
func (s *resultsScreen) runsTable() table {
	one := s.oneDataset() != ""
	t := table{selected: s.cursor, cols: []column{
		{title: "run"}, {title: "dataset"}, {title: "model"}, {title: "made by"}, {title: "test acc", right: true},
		{title: "size", right: true}, {title: "latency", right: true}, {title: "params", right: true, drop: 3},
		{title: "MACs", right: true, drop: 1}, {title: "train time", right: true, drop: 2}}}
	// Best: highest accuracy, lowest everything else; marked only when
	// there is something to compare.
	type metric struct {
		get    func(*lab.Result) float64
		higher bool
	}
	metrics := []metric{
		{func(r *lab.Result) float64 { return r.TestAccuracy }, true},
		{func(r *lab.Result) float64 { return float64(r.SizeBytes) }, false},
		{func(r *lab.Result) float64 { return r.LatencyMicros }, false},
		{func(r *lab.Result) float64 { return float64(r.NonzeroParams) }, false},
		{func(r *lab.Result) float64 { return float64(r.MACs) }, false},
		{func(r *lab.Result) float64 { return r.TrainSeconds }, false},
	}
	best := make([]float64, len(metrics))
	differ := make([]bool, len(metrics)) // a column where all are equal has no best
	for i, m := range metrics {
		for j, r := range s.results {
			v := m.get(r)
			if i == 2 && v == 0 {
				continue // latency not measured (a tuning trial's run): no best
			}
			if j > 0 && v != m.get(s.results[0]) {
				differ[i] = true
			}
			if j == 0 || m.higher && v > best[i] || !m.higher && v < best[i] {
				best[i] = v
			}
		}
	}
	if one { // the dataset goes in the heading
		t.cols = slices.Delete(t.cols, 1, 2)
	}
	for _, r := range s.results {
		run := fmt.Sprint(r.Run)
		if r.Run == s.baseline {
			run += " base"
		}
		row := []cell{{text: run}, {text: filepath.Base(r.Dataset)}, {text: r.Arch}, {text: taskText(r)}}
		if one {
			row = slices.Delete(row, 1, 2)
		}
		texts := []string{pct(r.TestAccuracy), bytesText(r.SizeBytes), fmt.Sprintf("%.1fµs", r.LatencyMicros),
			count(float64(r.NonzeroParams)), count(float64(r.MACs)), seconds(r.TrainSeconds)}
		if r.LatencyMicros == 0 {
			texts[2] = "—" // not measured
		}
		for i, m := range metrics {
			row = append(row, cell{text: texts[i], best: differ[i] && m.get(r) == best[i] && texts[i] != "—"})
		}
		t.rows = append(t.rows, row)
	}
	return t
}

// detailView shows the selected run: headline figures, the comparison with
// the baseline, per-class precision/recall/F1 and the confusion matrix.
func (s *resultsScreen) detailView(w, h int) string {
	st := s.c.styles
	r := s.selected()
	if r == nil || h <= 0 {
		return ""
	}
	lines := []string{heading(st, fmt.Sprintf("Run %d: %s on %s", r.Run, r.Arch, filepath.Base(r.Dataset)), w),
		fmt.Sprintf("test accuracy %s · loss %.3f · %d epochs · seed %d", pct(r.TestAccuracy), r.TestLoss, r.Epochs, r.Seed)}
	switch base, label := s.compareWith(r); {
	case base != nil:
		lines = append(lines, s.deltaLines(r, base, label, w)...)
	case r.Run == s.baseline:
		lines = append(lines, st.Muted.Render("this run is the baseline"))
	}
	per := s.perClass(r)
	conf := confusionView(st, r.Metrics)
	var body string
	pw, cw := maxLineWidth(per), maxLineWidth(conf)
	if pw+3+cw <= w {
		body = hjoin(3, []string{per, conf}, []int{pw, cw})
	} else {
		body = vjoin(per, conf)
	}
	return fit(vjoin(strings.Join(lines, "\n"), body), w, h)
}

// compareWith is what r is compared with: a technique's own base model
// (the model it started from, measured in the same job, timed alternately
// with it), else the marked baseline; nil for the baseline itself.
func (s *resultsScreen) compareWith(r *lab.Result) (*lab.Result, string) {
	if r.Baseline != nil {
		what := "its base model"
		if r.Task == lab.TaskDistill || r.Task == lab.TaskDistillScratch {
			what = "its teacher"
		}
		if id, ok := s.from[r.Run]; ok && id != 0 {
			what += fmt.Sprintf(" (run %d, %s)", id, r.Baseline.Arch)
		} else {
			what += " (" + r.Baseline.Arch + ")"
		}
		return r.Baseline, what
	}
	if r.Run == s.baseline {
		return nil, ""
	}
	for _, b := range s.results {
		if b.Run == s.baseline {
			return b, fmt.Sprintf("the baseline (run %d)", b.Run)
		}
	}
	return nil, ""
}

// deltaLines are r's changes from base: accuracy in points, size on disk
// and latency as ratios, non-zero parameters and MACs, and Delta.Note as a
// sentence when r is no smaller or no faster.
func (s *resultsScreen) deltaLines(r, base *lab.Result, label string, w int) []string {
	st := s.c.styles
	d := r.Compare(base)
	parts := []string{fmt.Sprintf("vs %s: %+.1f points", label, d.AccuracyPoints)}
	if d.SizeRatio > 0 {
		parts = append(parts, fmt.Sprintf("size ×%.2f", d.SizeRatio))
	}
	if d.LatencyRatio > 0 {
		parts = append(parts, fmt.Sprintf("latency ×%.2f", d.LatencyRatio))
	}
	parts = append(parts, fmt.Sprintf("non-zero params %s (%s)", signedCount(d.NonzeroParams), count(float64(r.NonzeroParams))),
		fmt.Sprintf("MACs %s (%s)", signedCount(int(d.MACs)), count(float64(r.MACs))))
	lines := []string{wrapUpTo(st.Plain, strings.Join(parts, ", "), w, 2)}
	if d.Note != "" {
		note := strings.ToUpper(d.Note[:1]) + d.Note[1:] + "."
		lines = append(lines, wrapUpTo(st.Warn, note, w, 2))
	}
	return lines
}

// signedCount is a change in a count: +1.2k, −300, 0.
func signedCount(n int) string {
	switch {
	case n > 0:
		return "+" + count(float64(n))
	case n < 0:
		return "−" + count(float64(-n))
	}
	return "0"
}

func (s *resultsScreen) perClass(r *lab.Result) string {
	if len(r.Metrics.PerClass) == 0 {
		return ""
	}
	t := table{selected: -1, cols: []column{{title: "class"}, {title: "precision", right: true},
		{title: "recall", right: true}, {title: "F1", right: true}, {title: "n", right: true}}}
	for _, c := range r.Metrics.PerClass {
		t.rows = append(t.rows, []cell{{text: c.Class}, {text: fmt.Sprintf("%.3f", c.Precision)},
			{text: fmt.Sprintf("%.3f", c.Recall)}, {text: fmt.Sprintf("%.3f", c.F1)}, {text: fmt.Sprint(c.Support)}})
	}
	return t.View(s.c.styles, 60, len(t.rows)+1)
}

// confusionView draws the confusion matrix, rows true classes and columns
// predictions, with the diagonal emphasised.
func confusionView(st *Styles, m core.Metrics) string {
	k := len(m.Confusion)
	if k == 0 {
		return ""
	}
	cw := 3
	for _, row := range m.Confusion {
		for _, v := range row {
			cw = max(cw, len(fmt.Sprint(v)))
		}
	}
	names := make([]string, k)
	lw := 4
	for i := range k {
		names[i] = fmt.Sprint(i)
		if i < len(m.PerClass) {
			names[i] = m.PerClass[i].Class
		}
		lw = max(lw, min(10, len(names[i])))
	}
	head := padTo("", lw) + " "
	for i := range k {
		head += fmt.Sprintf(" %*s", cw, names[i])
	}
	lines := []string{st.Header.Render("confusion: rows true,"), st.Header.Render("columns predicted"), st.Header.Render(head)}
	for i, row := range m.Confusion {
		line := padTo(names[i], lw) + " "
		for j, v := range row {
			c := fmt.Sprintf(" %*d", cw, v)
			if i == j {
				c = st.Good.Render(c)
			} else if v == 0 {
				c = st.Faint.Render(c)
			}
			line += c
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

func maxLineWidth(s string) int {
	w := 0
	for _, l := range strings.Split(s, "\n") {
		w = max(w, ansi.StringWidth(l))
	}
	return w
}

// bytesText formats a size in B, kB or MB (powers of 1000).
func bytesText(n int64) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1_000:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
