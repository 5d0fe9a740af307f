package tui

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

// fixtureModel builds a deterministic model for decision regions.
func fixtureModel(t testing.TB) *core.Model {
	t.Helper()
	m, err := core.Build("mlp:4", []int{2}, []string{"0", "1"}, core.BuildOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// states puts a model in each state the golden and layout tests draw. Every
// state starts from a fresh model of the given size.
var states = []struct {
	name string
	set  func(t testing.TB, m *Model)
}{
	{"data", func(testing.TB, *Model) {}},
	{"baseline-idle", func(_ testing.TB, m *Model) { press(m, "2") }},
	{"baseline-running", func(_ testing.TB, m *Model) {
		press(m, "2")
		run(m, press(m, "s"))
		m.Update(labEventMsg{Run: 1, Kind: lab.Started})
		for e := 1; e <= 4; e++ {
			m.Update(labEventMsg{Run: 1, Kind: lab.Progress, Stats: fixtureStats(e, 10, false)})
			m.Update(labEventMsg{Run: 1, Kind: lab.Progress, Stats: fixtureStats(e, 20, true)})
		}
		m.Update(labEventMsg{Run: 1, Kind: lab.Progress, Stats: fixtureStats(5, 10, false)})
	}},
	{"baseline-finished", func(t testing.TB, m *Model) {
		press(m, "2")
		run(m, press(m, "s"))
		res := fixtureResult(1, "mlp:32,32", 0.965, 5400)
		res.Model = fixtureModel(t)
		_, cmd := m.Update(labEventMsg{Run: 1, Kind: lab.Finished, Result: res})
		run(m, cmd)
	}},
	{"baseline-diverged", func(_ testing.TB, m *Model) {
		press(m, "2")
		run(m, press(m, "s"))
		m.Update(labEventMsg{Run: 1, Kind: lab.Progress, Stats: fixtureStats(1, 10, false)})
		m.Update(labEventMsg{Run: 1, Kind: lab.Failed, Err: core.ErrDiverged})
	}},
	{"results", func(_ testing.TB, m *Model) {
		m.Update(labEventMsg{Run: 1, Kind: lab.Finished, Result: fixtureResult(1, "mlp:32,32", 0.965, 5400)})
		m.Update(labEventMsg{Run: 2, Kind: lab.Finished, Result: fixtureResult(2, "mlp:8", 0.94, 1400)})
		showScreen(m, "Results")
		press(m, "down")
	}},
}

func TestGoldenViews(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		for _, s := range states {
			t.Run(fmt.Sprintf("%s-%dx%d", s.name, size[0], size[1]), func(t *testing.T) {
				m, _ := newTestModel(t, size[0], size[1])
				s.set(t, m)
				golden.RequireEqual(t, []byte(ansi.Strip(m.View())))
			})
		}
	}
}

func TestTooSmall(t *testing.T) {
	m, _ := newTestModel(t, 59, 19)
	got := ansi.Strip(m.View())
	if want := "terminal too small (need 60×20, have 59×19)"; !strings.Contains(got, want) {
		t.Fatalf("view %q lacks %q", got, want)
	}
	m.Update(tea.WindowSizeMsg{Width: 60, Height: 20})
	if strings.Contains(m.View(), "too small") {
		t.Fatal("60×20 is big enough")
	}
}

func TestLayoutFitsEverySize(t *testing.T) {
	sizes := [][2]int{{1, 1}, {10, 5}, {59, 19}, {60, 20}, {61, 21}, {67, 23}, {80, 24}, {99, 31},
		{101, 33}, {120, 40}, {133, 47}, {200, 60}}
	if testing.Short() {
		sizes = [][2]int{{1, 1}, {59, 19}, {60, 20}, {200, 60}}
	}
	for _, s := range states {
		m, _ := newTestModel(t, 80, 24)
		s.set(t, m)
		for _, sz := range sizes {
			w, h := sz[0], sz[1]
			m.Update(tea.WindowSizeMsg{Width: w, Height: h})
			for _, help := range []bool{false, true} {
				m.help.ShowAll = help
				m.applyLayout()
				for i := range m.screens { // every screen in this state
					m.active = i
					m.applyLayout()
					lines := strings.Split(m.View(), "\n")
					if len(lines) > h {
						t.Errorf("%s %dx%d screen %d help=%v: %d lines", s.name, w, h, i, help, len(lines))
					}
					for n, l := range lines {
						if lw := lipgloss.Width(l); lw > w {
							t.Errorf("%s %dx%d screen %d help=%v: line %d is %d wide: %q", s.name, w, h, i, help, n, lw, ansi.Strip(l))
						}
					}
				}
			}
		}
	}
}

// TestProgramSmoke runs the real program on a fake lab.
func TestProgramSmoke(t *testing.T) {
	f := newFakeLab()
	m := New(t.Context(), f, Options{Data: "moons", Seed: 1, Renderer: plainRenderer()})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 30))
	wait := func(what string) {
		t.Helper()
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(what)) },
			teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
	}
	wait("1 Data")
	tm.Send(keyMsg("2"))
	wait("no run yet")
	tm.Send(keyMsg("s"))
	wait("queued")
	f.events <- lab.Event{Run: 1, Kind: lab.Started}
	f.events <- lab.Event{Run: 1, Kind: lab.Failed, Err: core.ErrDiverged}
	wait("training diverged")
	tm.Send(keyMsg("q"))
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	final := tm.FinalModel(t).(*Model)
	if final.activeTitle() != "Baseline" || f.startedCount() != 1 || f.cancelAll != 1 {
		t.Fatalf("final: screen %s, %d started, cancelAll %d", final.activeTitle(), f.startedCount(), f.cancelAll)
	}
}
