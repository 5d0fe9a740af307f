package tui

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/optlab/optlab/lab"
)

// basePicker is what the technique screens know of the lab's finished runs,
// to offer one's model as the base (to prune) or the teacher (to distill):
// the runs with a model, which is the baseline (the first training run
// until one is marked, as on the Results screen), which run the Results
// screen has selected, and the dataset and split each run used (lab.Result
// does not record them; runStartedMsg does). It learns all of it from the
// messages every screen sees.
type basePicker struct {
	c        *common
	runs     []*lab.Result // finished runs with a model, in finish order
	data     map[lab.RunID]lab.DataSpec
	baseline lab.RunID
	selected lab.RunID // the Results screen's cursor, 0 before it moves
	current  string    // the dataset chosen on the Data screen
}

func newBasePicker(c *common) *basePicker {
	p := &basePicker{c: c, data: map[lab.RunID]lab.DataSpec{}, current: c.data}
	if p.current == "" {
		p.current = defaultData()
	}
	return p
}

// observe takes what it needs from msg; it reports whether the choice of
// run to offer first may have changed (want is then that run, or 0).
func (p *basePicker) observe(msg tea.Msg) (changed bool, want lab.RunID) {
	switch msg := msg.(type) {
	case runStartedMsg:
		if msg.id != 0 && msg.data.Name != "" {
			p.data[msg.id] = msg.data
		}
	case datasetChosenMsg:
		p.current = msg.name
	case labEventMsg:
		r := msg.Result
		if msg.Kind != lab.Finished || r == nil || r.Model == nil || r.Task == lab.TaskSensitivity || p.find(msg.Run) != nil {
			return false, 0
		}
		res := *r
		res.Run = msg.Run
		p.runs = append(p.runs, &res)
		if p.baseline == 0 && res.Task == lab.TaskTrain {
			p.baseline = msg.Run
		}
		// A distillation's scratch student, registered by the lab under a
		// run of its own, was trained on the distillation's data.
		if sc := r.Scratch; sc != nil && sc.Run != 0 && sc.Model != nil && p.find(sc.Run) == nil {
			scr := *sc
			p.runs = append(p.runs, &scr)
			if d, ok := p.data[msg.Run]; ok {
				p.data[sc.Run] = d
			}
		}
		return true, 0
	case baselineSetMsg:
		if msg.ok {
			p.baseline = msg.run
			return true, msg.run
		}
	case runSelectedMsg:
		p.selected = msg.id
		return true, msg.id
	}
	return false, 0
}

// find returns the finished run id, or nil.
func (p *basePicker) find(id lab.RunID) *lab.Result {
	for _, r := range p.runs {
		if r.Run == id {
			return r
		}
	}
	return nil
}

// preferred is the run to offer first: the one selected on the Results
// screen, else the baseline, else the newest.
func (p *basePicker) preferred() lab.RunID {
	for _, id := range []lab.RunID{p.selected, p.baseline} {
		if p.find(id) != nil {
			return id
		}
	}
	if n := len(p.runs); n > 0 {
		return p.runs[n-1].Run
	}
	return 0
}

// choices are the field values naming the runs: "run N".
func (p *basePicker) choices() []string {
	out := make([]string, len(p.runs))
	for i, r := range p.runs {
		out[i] = runLabel(r.Run)
	}
	return out
}

func runLabel(id lab.RunID) string { return fmt.Sprintf("run %d", id) }

// parseRun reads a "run N" field value.
func parseRun(v string) lab.RunID {
	n, err := strconv.ParseUint(strings.TrimPrefix(v, "run "), 10, 64)
	if err != nil {
		return 0
	}
	return lab.RunID(n)
}

// validate checks a field value naming a run; what is "to prune" or "to
// distill from".
func (p *basePicker) validate(what string) func(string) error {
	return func(v string) error {
		if len(p.runs) == 0 {
			return fmt.Errorf("no model %s yet: train a baseline first (screen 2, then s)", what)
		}
		if p.find(parseRun(v)) == nil {
			return fmt.Errorf("%q is not a finished run with a model", v)
		}
		return nil
	}
}

// dataFor is the dataset and split run id was trained on: as it was started,
// or, for a run this TUI did not start, the dataset chosen now with the
// lab's seed (known reports which).
func (p *basePicker) dataFor(id lab.RunID) (spec lab.DataSpec, known bool) {
	if d, ok := p.data[id]; ok {
		return d, true
	}
	return lab.DataSpec{Name: p.current, Seed: p.c.seed}, false
}

// describe is one line about run id: its model, how it was made, its test
// accuracy, and whether it is the baseline.
func (p *basePicker) describe(id lab.RunID) string {
	r := p.find(id)
	if r == nil {
		return ""
	}
	s := fmt.Sprintf("%s %s %s", r.Arch, taskText(r), pct(r.TestAccuracy))
	if id == p.baseline {
		s += " · baseline"
	}
	return s
}

// sync keeps a run field valid and, when want names a run (the Results
// screen's selection or a new baseline), on that run.
func (p *basePicker) sync(f *field, want lab.RunID) {
	f.choices = p.choices()
	switch {
	case want != 0 && p.find(want) != nil:
		f.input.SetValue(runLabel(want))
	case p.find(parseRun(f.value())) == nil:
		if id := p.preferred(); id != 0 {
			f.input.SetValue(runLabel(id))
		}
	}
	f.check()
}

// taskText says how a result was made, in a few words: "train", "prune
// global 90%", "distill".
func taskText(r *lab.Result) string {
	switch r.Task {
	case lab.TaskPrune:
		s := "prune"
		if r.Method != "" {
			s += " " + r.Method
		}
		if r.Sparsity != nil {
			s += fmt.Sprintf(" %.0f%%", 100**r.Sparsity)
		}
		return s
	case lab.TaskQuantize:
		return quantText(r)
	case lab.TaskDistillScratch:
		return "distill (scratch)"
	case "":
		return "?"
	}
	return r.Task
}

// dataName is the short name of a dataset spec.
func dataName(d lab.DataSpec) string { return filepath.Base(d.Name) }

// wrapUpTo wraps msg to at most n lines of w columns, without the blank
// lines wrapText pads with.
func wrapUpTo(style interface{ Render(...string) string }, msg string, w, n int) string {
	lines := strings.Split(wrapText(style, msg, w, n), "\n")
	for len(lines) > 1 && strings.TrimSpace(ansi.Strip(lines[len(lines)-1])) == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\n")
}
