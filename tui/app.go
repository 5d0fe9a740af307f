// Package tui is optlab's terminal interface: a Bubble Tea program with one
// screen per step of the lab (Data, Baseline, Results, ...), a tab bar, a
// help footer and global keys.
//
// The root model owns the window size, the global keys and the routing: key
// presses go to the screen on view, everything else (lab events, loaded data,
// results of commands) goes to every screen, and each screen ignores what is
// not its own (a run it did not start, a dataset it does not show). Lab
// events arrive through one command that waits on the lab's stream and is
// re-armed after every event. Update does no I/O: loading data, starting and
// cancelling runs, computing decision regions and saving models all happen in
// commands, which capture values and never the model.
package tui

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/optlab/optlab/lab"
)

// Lab is what the TUI needs of a lab; *lab.Lab satisfies it, and tests use a
// fake.
type Lab interface {
	Start(ctx context.Context, task string, config any, job lab.Job) lab.RunID
	Cancel(id lab.RunID)
	CancelAll()
	Events() <-chan lab.Event
	Result(id lab.RunID) (*lab.Result, bool)
	Results() []*lab.Result
	SetBaseline(id lab.RunID) bool
	Baseline() (*lab.Result, bool)
}

// Options configure the TUI. Zero fields take the defaults listed.
type Options struct {
	Data     string             // dataset spec from --data; "" is the default built-in
	Seed     uint64             // seed for data splits, initialization and shuffling
	Input    io.Reader          // nil: standard input
	Output   io.Writer          // nil: standard output
	Renderer *lipgloss.Renderer // nil: lipgloss's default renderer
	// Export, when set, vets a file the lab is to write for the user: a
	// model exported from Results, a study file on the Tune screen. It
	// returns the path to write, or an error the screen shows instead of
	// writing. It is asked about the suggested name when the export input
	// opens, so a policy that refuses every path says so at once. nil
	// allows every path. optlab serve refuses them all: the files would be
	// written on the server.
	Export func(path string) (string, error)
	// Open, when set, vets a file the TUI reads itself (a search space
	// file): it returns the path to read, or an error to show instead.
	// Datasets go through the lab. nil allows every path; optlab serve
	// allows files in its data directory.
	Open func(path string) (string, error)
}

// Run opens the lab on the terminal and returns when the user quits (or ctx
// is done). It cancels every run before returning; the caller shuts the lab
// down afterwards.
func Run(ctx context.Context, l Lab, opt Options) error {
	popts := []tea.ProgramOption{tea.WithAltScreen(), tea.WithContext(ctx)}
	if opt.Input != nil {
		popts = append(popts, tea.WithInput(opt.Input))
	}
	if opt.Output != nil {
		popts = append(popts, tea.WithOutput(opt.Output))
	}
	_, err := tea.NewProgram(New(ctx, l, opt), popts...).Run()
	l.CancelAll()
	return err
}

// screen is one tab. Screens are pointers and mutate themselves in Update.
type screen interface {
	help.KeyMap
	// Title is the name in the tab bar.
	Title() string
	// Init returns the screen's first commands.
	Init() tea.Cmd
	// SetSize gives the screen its body size.
	SetSize(width, height int)
	// Update handles a message: keys only while the screen is on view,
	// everything else always.
	Update(msg tea.Msg) tea.Cmd
	// View draws the body from state; it does no work beyond formatting.
	View() string
	// Editing says a text field has the keyboard: typed characters go to
	// the screen, not to the global keys (except ctrl+c).
	Editing() bool
	// Back handles esc; it returns false when the screen has nothing to
	// close, and the root then goes back to the previous screen.
	Back() bool
}

// screenFactories lists the screens in tab-bar order. Adding a screen is one
// file and one line here.
var screenFactories = []func(*common) screen{
	newDataScreen,
	newBaselineScreen,
	newPruneScreen,
	newQuantScreen,
	newDistillScreen,
	newTuneScreen,
	newArchScreen,
	newResultsScreen,
}

// observer is a screen that must see every lab event before any screen
// handles it: a study whose trials run on the lab learns how they end from
// the lab's single stream (lab.TuneStudy.Observe, lab.ArchStudy.Observe).
// observe must not block; work goes in the Cmd it returns.
type observer interface {
	observe(e lab.Event) tea.Cmd
}

// common is what every screen shares; it does not change after New.
type common struct {
	ctx    context.Context    // the screens' runs and studies; cancelled on quit
	stop   context.CancelFunc // cancels ctx
	lab    Lab
	styles *Styles
	seed   uint64
	data   string // the dataset spec given on the command line, or ""
	// export and open are Options.Export and Options.Open.
	export, open func(path string) (string, error)
}

// Model is the root model.
type Model struct {
	c       *common
	keys    globalKeys
	help    help.Model
	screens []screen
	active  int
	history []int // screens visited before, for esc
	width   int
	height  int
}

// New returns the root model, for Run and for tests.
func New(ctx context.Context, l Lab, opt Options) tea.Model {
	// The screens' runs and studies hang off ctx; quitting cancels it first.
	ctx, stop := context.WithCancel(ctx)
	c := &common{ctx: ctx, stop: stop, lab: l, styles: NewStyles(opt.Renderer), seed: opt.Seed, data: opt.Data, export: opt.Export,
		open: opt.Open}
	m := &Model{c: c, keys: newGlobalKeys(), help: help.New()}
	m.help.Styles = c.styles.Help
	for _, f := range screenFactories {
		m.screens = append(m.screens, f(c))
	}
	return m
}

// Init starts the lab listener and the screens.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{waitForEvent(m.c.lab.Events())}
	for _, s := range m.screens {
		cmds = append(cmds, s.Init())
	}
	return tea.Batch(cmds...)
}

// Update routes a message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.applyLayout()
		return m, nil

	case tea.KeyMsg:
		return m, m.handleKey(msg)

	case labEventMsg:
		var cmds []tea.Cmd
		for _, s := range m.screens {
			if o, ok := s.(observer); ok {
				cmds = append(cmds, o.observe(lab.Event(msg)))
			}
		}
		cmds = append(cmds, m.broadcast(msg), waitForEvent(m.c.lab.Events())) // always re-arm
		return m, tea.Batch(cmds...)

	case labClosedMsg:
		return m, nil

	case gotoMsg:
		for i, s := range m.screens {
			if s.Title() == msg.title {
				m.show(i)
			}
		}
		return m, nil
	}
	return m, m.broadcast(msg)
}

// broadcast gives a non-key message to every screen.
func (m *Model) broadcast(msg tea.Msg) tea.Cmd {
	var cmds []tea.Cmd
	for _, s := range m.screens {
		cmds = append(cmds, s.Update(msg))
	}
	return tea.Batch(cmds...)
}

func (m *Model) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	if key.Matches(msg, k.ForceQuit) {
		return m.quit()
	}
	cur := m.screens[m.active]
	if tooSmall(m.width, m.height) { // only quitting makes sense
		if key.Matches(msg, k.Quit) {
			return m.quit()
		}
		return nil
	}
	if cur.Editing() {
		return cur.Update(msg)
	}
	switch {
	case key.Matches(msg, k.Quit):
		return m.quit()
	case key.Matches(msg, k.Help):
		m.help.ShowAll = !m.help.ShowAll
		m.applyLayout()
	case key.Matches(msg, k.Next):
		m.show((m.active + 1) % len(m.screens))
	case key.Matches(msg, k.Prev):
		m.show((m.active + len(m.screens) - 1) % len(m.screens))
	case key.Matches(msg, k.Jump):
		if i := int(msg.String()[0] - '1'); i < len(m.screens) {
			m.show(i)
		}
	case key.Matches(msg, k.Back):
		if !cur.Back() && len(m.history) > 0 {
			prev := m.history[len(m.history)-1]
			m.history = m.history[:len(m.history)-1]
			m.active = prev
			m.applyLayout()
		}
	default:
		return cur.Update(msg)
	}
	return nil
}

// quit cancels every run and ends the program.
// quit cancels the screens' context, then every run of the lab, and quits.
// The context goes first so that a tuning study is interrupted (its trials
// stay resumable) rather than told that its trials were cancelled.
func (m *Model) quit() tea.Cmd {
	m.c.stop()
	return tea.Sequence(cancelAll(m.c.lab), tea.Quit)
}

// show makes screen i the active one, remembering the previous for esc.
func (m *Model) show(i int) {
	if i == m.active {
		return
	}
	m.history = append(m.history, m.active)
	if len(m.history) > 32 {
		m.history = m.history[1:]
	}
	m.active = i
	m.applyLayout() // another screen's footer may be taller
}

// applyLayout recomputes sizes from the last WindowSizeMsg and gives every
// screen its body size; heights are measured from what will be rendered.
func (m *Model) applyLayout() {
	m.help.Width = m.width
	l := computeLayout(m.width, m.height, lipgloss.Height(m.tabsView()), lipgloss.Height(m.footerView()))
	for _, s := range m.screens {
		s.SetSize(l.Width, l.Body)
	}
}

// View draws the tab bar, the active screen and the footer.
func (m *Model) View() string {
	if m.width == 0 {
		return "" // no size yet
	}
	if tooSmall(m.width, m.height) {
		return tooSmallView(m.width, m.height)
	}
	l := computeLayout(m.width, m.height, lipgloss.Height(m.tabsView()), lipgloss.Height(m.footerView()))
	body := block(m.screens[m.active].View(), l.Width, l.Body)
	return fit(m.tabsView()+"\n"+body+"\n"+m.footerView(), m.width, m.height)
}

func (m *Model) footerView() string {
	return m.help.View(helpKeys{screen: m.screens[m.active], global: m.keys})
}

// tabsView is the tab bar: the name, then "1 Data  2 Baseline ..." with the
// active tab in brackets (and reverse video where there is colour). When the
// names do not fit, inactive tabs shrink to their numbers.
func (m *Model) tabsView() string {
	st := m.c.styles
	render := func(short bool) string {
		parts := []string{st.Title.Render("optlab")}
		for i, s := range m.screens {
			label := fmt.Sprintf("%d %s", i+1, s.Title())
			if i == m.active {
				parts = append(parts, st.TabActive.Render("["+label+"]"))
				continue
			}
			if short {
				label = fmt.Sprint(i + 1)
			}
			parts = append(parts, st.TabInactive.Render(" "+label+" "))
		}
		return strings.Join(parts, " ")
	}
	bar := render(false)
	if ansi.StringWidth(bar) > m.width {
		bar = render(true)
	}
	return fit(bar, m.width, 1)
}
