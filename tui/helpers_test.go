package tui

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

// fakeLab records what the TUI asks of it and serves a channel the test
// feeds.
type fakeLab struct {
	mu        sync.Mutex
	events    chan lab.Event
	started   []lab.TrainSpec // training runs' specs
	configs   []any           // every run's config, in start order (run i+1)
	tasks     []string
	cancelled []lab.RunID
	cancelAll int
	results   map[lab.RunID]*lab.Result
	baseline  lab.RunID
}

func newFakeLab() *fakeLab {
	return &fakeLab{events: make(chan lab.Event, 16), results: map[lab.RunID]*lab.Result{}}
}

func (f *fakeLab) Start(_ context.Context, task string, config any, _ lab.Job) lab.RunID {
	f.mu.Lock()
	defer f.mu.Unlock()
	if spec, ok := config.(lab.TrainSpec); ok {
		f.started = append(f.started, spec)
	}
	f.configs = append(f.configs, config)
	f.tasks = append(f.tasks, task)
	return lab.RunID(len(f.configs))
}

// config returns the config run id was started with.
func (f *fakeLab) config(id lab.RunID) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id < 1 || int(id) > len(f.configs) {
		return nil
	}
	return f.configs[id-1]
}

func (f *fakeLab) Cancel(id lab.RunID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancelled = append(f.cancelled, id)
}

func (f *fakeLab) CancelAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancelAll++
}

func (f *fakeLab) Events() <-chan lab.Event { return f.events }

func (f *fakeLab) Result(id lab.RunID) (*lab.Result, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.results[id]
	return r, ok
}

func (f *fakeLab) Results() []*lab.Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*lab.Result
	for _, r := range f.results {
		out = append(out, r)
	}
	return out
}

func (f *fakeLab) SetBaseline(id lab.RunID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.baseline = id
	return true
}

func (f *fakeLab) Baseline() (*lab.Result, bool) { return nil, false }

func (f *fakeLab) startedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.configs)
}

// plainRenderer renders without colour, as under NO_COLOR.
func plainRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	r.SetHasDarkBackground(true)
	return r
}

// newTestModel returns a root model of size w×h on a fake lab, with the
// "moons" dataset (small, 2-D) loaded as the Data and Baseline screens
// would load it.
func newTestModel(t testing.TB, w, h int) (*Model, *fakeLab) {
	t.Helper()
	f := newFakeLab()
	m := New(t.Context(), f, Options{Data: "moons", Seed: 1, Renderer: plainRenderer()}).(*Model)
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m.Update(loadDataset("moons", 1)())
	return m, f
}

// key returns the key message for s as the terminal would send it.
func keyMsg(s string) tea.KeyMsg {
	switch s {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "shift+tab":
		return tea.KeyMsg{Type: tea.KeyShiftTab}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "right":
		return tea.KeyMsg{Type: tea.KeyRight}
	case "left":
		return tea.KeyMsg{Type: tea.KeyLeft}
	case "backspace":
		return tea.KeyMsg{Type: tea.KeyBackspace}
	case "ctrl+u":
		return tea.KeyMsg{Type: tea.KeyCtrlU}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

// press sends keys one by one and returns the last Cmd.
func press(m *Model, keys ...string) tea.Cmd {
	var cmd tea.Cmd
	for _, k := range keys {
		_, cmd = m.Update(keyMsg(k))
	}
	return cmd
}

// run executes cmd as the runtime would, feeding every message it yields
// back into m (batches and sequences walked), except lab listeners, which
// would block: it returns how many of those it skipped.
func run(m *Model, cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-done:
	case <-time.After(50 * time.Millisecond):
		return // a lab listener waiting for an event
	}
	switch msg := msg.(type) {
	case tea.BatchMsg:
		for _, c := range msg {
			run(m, c)
		}
	case nil:
	default:
		_, next := m.Update(msg)
		run(m, next)
	}
}

// fixtureStats is the Progress of epoch e (of 10) at step s (of 20).
func fixtureStats(e, s int, done bool) core.Stats {
	loss := 0.7/float64(e) + 0.05
	st := core.Stats{Epoch: e, Epochs: 10, Step: s, Steps: 20, EpochDone: done,
		TrainLoss: loss, TrainAcc: 1 - loss/1.5, LR: 0.01, SamplesPerSec: 42000,
		Elapsed: time.Duration(e) * 300 * time.Millisecond}
	if done {
		st.ValLoss, st.ValAcc = loss*1.1, 1-loss/1.4
	}
	return st
}

// fixtureResult is a finished training run.
func fixtureResult(id lab.RunID, arch string, acc float64, size int64) *lab.Result {
	r := &lab.Result{Task: lab.TaskTrain, Dataset: "moons", Arch: arch, TestAccuracy: acc, TestLoss: 0.12,
		Params: 1218, NonzeroParams: 1218, SizeBytes: size, MACs: 1152, LatencyMicros: 3.5,
		ThroughputSPS: 800000, TrainSeconds: 2.4, TrainSamplesPerSec: 40000, Epochs: 10, Seed: 1, Run: id,
		Metrics: core.Metrics{Loss: 0.12, Accuracy: acc,
			Confusion: [][]int{{96, 4}, {3, 97}},
			PerClass: []core.ClassMetrics{{Class: "0", Precision: 0.970, Recall: 0.960, F1: 0.965, Support: 100},
				{Class: "1", Precision: 0.960, Recall: 0.970, F1: 0.965, Support: 100}}}}
	for e := 1; e <= 10; e++ {
		r.History = append(r.History, fixtureStats(e, 20, true))
	}
	return r
}

// screenNamed returns the screen with this title.
func screenNamed(m *Model, title string) screen {
	for _, s := range m.screens {
		if s.Title() == title {
			return s
		}
	}
	panic("no screen " + title)
}

// showScreen shows the screen with this title, as the Data screen's enter
// does, so tests do not depend on its number in the tab bar.
func showScreen(m *Model, title string) { m.Update(gotoMsg{title: title}) }
