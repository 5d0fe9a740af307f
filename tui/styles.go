package tui

import (
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/lipgloss"
	colorful "github.com/lucasb-eyer/go-colorful"
	"github.com/muesli/termenv"
)

// palette is every colour the lab uses, each with a light and a dark variant.
var palette = struct {
	accent, muted, faint, good, bad, warn, train, val lipgloss.AdaptiveColor
}{
	accent: lipgloss.AdaptiveColor{Light: "#5A56E0", Dark: "#8D89F8"},
	muted:  lipgloss.AdaptiveColor{Light: "#6B6B6B", Dark: "#8C8C8C"},
	faint:  lipgloss.AdaptiveColor{Light: "#B8B8B8", Dark: "#4E4E4E"},
	good:   lipgloss.AdaptiveColor{Light: "#1A7F37", Dark: "#3FB950"},
	bad:    lipgloss.AdaptiveColor{Light: "#CF222E", Dark: "#F85149"},
	warn:   lipgloss.AdaptiveColor{Light: "#9A6700", Dark: "#D29922"},
	train:  lipgloss.AdaptiveColor{Light: "#0969DA", Dark: "#58A6FF"},
	val:    lipgloss.AdaptiveColor{Light: "#BF3989", Dark: "#F778BA"},
}

// classColors is a colour-blind-safe categorical palette (Okabe and Ito,
// extended), one colour per class, cycling beyond ten classes.
var classColors = []string{
	"#E69F00", "#0072B2", "#009E73", "#CC79A7", "#D55E00",
	"#56B4E9", "#B8A800", "#999999", "#8E44AD", "#7F5539",
}

// classGlyphs mark the classes in plots so that they stay distinguishable
// without colour.
var classGlyphs = []rune{'o', 'x', '+', '*', '#', '@', '%', '&', '=', '~'}

// regionGlyphs fill the decision regions of a plot when there is no colour
// to tint them with.
var regionGlyphs = []rune{' ', '.', ':', '-', '\'', ',', ';', '_', '`', '^'}

// Styles are all the lipgloss styles of the lab, built once from the palette
// for one renderer (one terminal). Screens and widgets read them; nothing
// else creates colours.
type Styles struct {
	// NoColor is true when the terminal gets no colour (NO_COLOR, a dumb
	// terminal): selection and emphasis then rely on glyphs such as "›"
	// and "*" alone, since the plain profile also drops bold and reverse.
	NoColor bool
	// Dark is whether the background is dark.
	Dark bool

	Renderer *lipgloss.Renderer

	Plain, Title, Heading, Muted, Faint, Accent lipgloss.Style
	Good, Bad, Warn                             lipgloss.Style

	TabActive, TabInactive lipgloss.Style

	Selected lipgloss.Style // the selected row or field (reverse video)
	Best     lipgloss.Style // the best value of a table column
	Header   lipgloss.Style // table headers
	Label    lipgloss.Style // form labels
	Input    lipgloss.Style // form values being edited

	Train, Val lipgloss.Style // the two series of a training chart
	Axis       lipgloss.Style

	Class  []lipgloss.Style // foreground per class, for points and bars
	Region []lipgloss.Style // background tint per class, for decision regions

	// Progress bar colours (hex), empty without colour.
	BarFull, BarEmpty string

	Help help.Styles
}

// NewStyles builds the styles for renderer r (the default renderer when nil).
func NewStyles(r *lipgloss.Renderer) *Styles {
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	s := &Styles{Renderer: r, NoColor: r.ColorProfile() == termenv.Ascii, Dark: r.HasDarkBackground()}
	fg := func(c lipgloss.TerminalColor) lipgloss.Style { return r.NewStyle().Foreground(c) }

	s.Plain = r.NewStyle()
	s.Title = r.NewStyle().Bold(true).Foreground(palette.accent)
	s.Heading = r.NewStyle().Bold(true)
	s.Muted = fg(palette.muted)
	s.Faint = fg(palette.faint)
	s.Accent = fg(palette.accent)
	s.Good = fg(palette.good)
	s.Bad = fg(palette.bad).Bold(true)
	s.Warn = fg(palette.warn)

	s.TabActive = r.NewStyle().Bold(true).Reverse(true).Foreground(palette.accent)
	s.TabInactive = fg(palette.muted)

	s.Selected = r.NewStyle().Reverse(true)
	s.Best = r.NewStyle().Bold(true).Foreground(palette.good)
	s.Header = r.NewStyle().Bold(true).Foreground(palette.muted)
	s.Label = fg(palette.muted)
	s.Input = r.NewStyle().Underline(true)

	s.Train = fg(palette.train)
	s.Val = fg(palette.val)
	s.Axis = fg(palette.faint)

	bg := "#1E1E1E"
	if !s.Dark {
		bg = "#FFFFFF"
	}
	base, _ := colorful.Hex(bg)
	for _, hex := range classColors {
		c, _ := colorful.Hex(hex)
		s.Class = append(s.Class, r.NewStyle().Foreground(lipgloss.Color(hex)).Bold(true))
		tint := base.BlendLab(c, 0.28).Clamped().Hex()
		s.Region = append(s.Region, r.NewStyle().Background(lipgloss.Color(tint)))
	}
	if !s.NoColor {
		s.BarFull, s.BarEmpty = "#7571F9", "#606060"
		if !s.Dark {
			s.BarEmpty = "#C0C0C0"
		}
	}

	key := fg(palette.accent)
	desc := fg(palette.muted)
	sep := fg(palette.faint)
	s.Help = help.Styles{Ellipsis: sep, ShortKey: key, ShortDesc: desc, ShortSeparator: sep,
		FullKey: key, FullDesc: desc, FullSeparator: sep}
	return s
}

// classStyle returns the style of class k.
func (s *Styles) classStyle(k int) lipgloss.Style { return s.Class[k%len(s.Class)] }

// classGlyph returns the plot glyph of class k.
func classGlyph(k int) rune { return classGlyphs[k%len(classGlyphs)] }
