package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// dataScreen lists the datasets, previews the one under the cursor and lets
// the user pick the one the Baseline screen trains on.
type dataScreen struct {
	c      *common
	keys   dataKeys
	items  []dataInfo
	cursor int
	chosen string                       // the dataset in use
	loaded map[string]*datasetLoadedMsg // previews loaded so far
	asked  map[string]bool              // loads requested
	w, h   int
	detail string // the drawn detail pane of the item under the cursor
}

type dataKeys struct{ Up, Down, Choose key.Binding }

func newDataScreen(c *common) screen {
	s := &dataScreen{c: c, items: builtinData(), loaded: map[string]*datasetLoadedMsg{}, asked: map[string]bool{},
		keys: dataKeys{Up: keyUp, Down: keyDown, Choose: relabel(keyEnter, "enter", "use for baseline")}}
	s.chosen = c.data
	if s.chosen == "" {
		s.chosen = defaultData()
	}
	if !slices.ContainsFunc(s.items, func(d dataInfo) bool { return d.Name == s.chosen }) {
		s.items = append(s.items, describeFile(s.chosen))
	}
	s.cursor = slices.IndexFunc(s.items, func(d dataInfo) bool { return d.Name == s.chosen })
	return s
}

func (s *dataScreen) Title() string { return "Data" }

func (s *dataScreen) ShortHelp() []key.Binding {
	return []key.Binding{s.keys.Up, s.keys.Down, s.keys.Choose}
}

func (s *dataScreen) FullHelp() [][]key.Binding { return [][]key.Binding{s.ShortHelp()} }

func (s *dataScreen) Editing() bool { return false }

func (s *dataScreen) Back() bool { return false }

func (s *dataScreen) Init() tea.Cmd { return s.load() }

// load asks for the item under the cursor once.
func (s *dataScreen) load() tea.Cmd {
	name := s.items[s.cursor].Name
	if s.asked[name] {
		return nil
	}
	s.asked[name] = true
	return loadDataset(name, s.c.seed)
}

func (s *dataScreen) SetSize(w, h int) {
	s.w, s.h = w, h
	s.redraw()
}

func (s *dataScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case datasetLoadedMsg:
		s.loaded[msg.name] = &msg
		if msg.name == s.items[s.cursor].Name {
			s.redraw()
		}
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, s.keys.Up):
			s.cursor = max(0, s.cursor-1)
		case key.Matches(msg, s.keys.Down):
			s.cursor = min(len(s.items)-1, s.cursor+1)
		case key.Matches(msg, s.keys.Choose):
			name := s.items[s.cursor].Name
			s.chosen = name
			s.redraw()
			chosen := datasetChosenMsg{name: name}
			if lm := s.loaded[name]; lm != nil {
				chosen.ds = lm.ds
			}
			return tea.Batch(
				func() tea.Msg { return chosen },
				func() tea.Msg { return gotoMsg{title: "Baseline"} })
		default:
			return nil
		}
		s.redraw()
		return s.load()
	}
	return nil
}

// listWidth is the width of the dataset list.
func (s *dataScreen) listWidth() int { return min(30, max(22, s.w/4)) }

func (s *dataScreen) View() string {
	st := s.c.styles
	lw := s.listWidth()
	lines := []string{heading(st, "Datasets", lw)}
	for i, d := range s.items {
		mark, use := "  ", " "
		if d.Name == s.chosen {
			use = st.Good.Render("✓")
		}
		shape := d.Shape
		if lm := s.loaded[d.Name]; lm != nil && lm.ds != nil {
			shape = lm.ds.SampleShape
		}
		line := fmt.Sprintf("%-9s %s", ansi.Truncate(d.Name, 9, "…"), shortShape(shape))
		if i == s.cursor {
			mark = "› "
			line = st.Selected.Render(padTo(line, lw-4))
		}
		lines = append(lines, mark+use+" "+line)
	}
	lines = append(lines, "", st.Muted.Render(fit("✓ in use for Baseline", lw, 1)))
	return hjoin(2, []string{strings.Join(lines, "\n"), s.detail}, []int{lw, max(0, s.w-lw-2)})
}

// redraw draws the detail pane of the item under the cursor.
func (s *dataScreen) redraw() {
	st := s.c.styles
	w := s.w - s.listWidth() - 2
	if w <= 0 || s.h <= 0 || len(s.items) == 0 {
		s.detail = ""
		return
	}
	d := s.items[s.cursor]
	title := st.Heading.Render(d.Name) + st.Muted.Render(" — "+d.Description)
	lm := s.loaded[d.Name]
	if lm == nil {
		s.detail = vjoin(fit(title, w, 1), st.Muted.Render("loading…"))
		return
	}
	if lm.err != nil {
		s.detail = vjoin(fit(title, w, 1), st.Bad.Render(fit("cannot load: "+lm.err.Error(), w, 3)))
		return
	}
	ds := lm.ds
	info := fmt.Sprintf("shape %s · %d classes · %d samples", shapeText(ds.SampleShape), ds.NumClasses(), ds.Len())
	if d.Name == s.chosen {
		info += " · " + st.Good.Render("in use")
	}
	balRows := min(ds.NumClasses(), max(2, (s.h-4)/3))
	prevH := s.h - 4 - balRows - 1
	var preview string
	switch {
	case isImage(ds.SampleShape):
		preview = imageSamples(st, ds, 8, w, max(1, prevH))
	case ds.Features() >= 2:
		note := "features 1 and 2"
		if ds.Features() == 2 {
			note = "x₁ → , x₂ ↑"
		}
		preview = vjoin(scatterView(st, ds, nil, w, max(1, prevH-1)), st.Muted.Render(fit(note, w, 1)))
	default:
		preview = st.Muted.Render("one feature: no plot")
	}
	s.detail = vjoin(
		fit(title, w, 1),
		fit(info, w, 1),
		heading(st, "Preview", w),
		fit(preview, w, max(1, prevH)),
		heading(st, "Class balance", w),
		barsView(st, ds.Classes, lm.bal, w, balRows))
}

// shortShape formats a sample shape for the list: "2-D" for 2 features,
// "16×16" for an image.
func shortShape(shape []int) string {
	switch {
	case len(shape) == 1:
		return fmt.Sprintf("%d-D", shape[0])
	case isImage(shape):
		return fmt.Sprintf("%d×%d", shape[0], shape[1])
	}
	return shapeText(shape)
}

// shapeText formats a sample shape: "2-D" style for vectors, "16×16×1" for
// images.
func shapeText(shape []int) string {
	if len(shape) == 1 {
		return fmt.Sprintf("%d features", shape[0])
	}
	parts := make([]string, len(shape))
	for i, n := range shape {
		parts[i] = fmt.Sprint(n)
	}
	return strings.Join(parts, "×")
}
