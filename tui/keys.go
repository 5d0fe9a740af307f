package tui

import "github.com/charmbracelet/bubbles/key"

// globalKeys are the bindings the root model handles on every screen.
type globalKeys struct {
	Quit, ForceQuit, Help, Next, Prev, Back, Jump key.Binding
}

func newGlobalKeys() globalKeys {
	return globalKeys{
		Quit:      key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		ForceQuit: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "more keys")),
		Next:      key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next screen")),
		Prev:      key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous screen")),
		Back:      key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Jump: key.NewBinding(key.WithKeys("1", "2", "3", "4", "5", "6", "7", "8", "9"),
			key.WithHelp("1-9", "go to screen")),
	}
}

// helpKeys joins a screen's bindings and the global ones for the footer:
// the screen's first, as soft-serve does.
type helpKeys struct {
	screen screen
	global globalKeys
}

// ShortHelp is the one-line footer.
func (h helpKeys) ShortHelp() []key.Binding {
	return append(h.screen.ShortHelp(), h.global.Help, h.global.Next, h.global.Quit)
}

// FullHelp is the footer with `?` on: the screen's columns, then the global one.
func (h helpKeys) FullHelp() [][]key.Binding {
	g := h.global
	return append(h.screen.FullHelp(),
		[]key.Binding{g.Jump, g.Next, g.Prev},
		[]key.Binding{g.Back, g.Help, g.Quit, g.ForceQuit})
}

// Bindings shared by several screens; each screen copies the ones it uses
// and relabels them with SetHelp.
var (
	keyUp    = key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up"))
	keyDown  = key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down"))
	keyEnter = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "select"))
	keyLeft  = key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/→", "change"))
	keyRight = key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("←/→", "change"))
	keyStart = key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "start"))
	keyStop  = key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "cancel run"))
	keySave  = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "done"))
	keyAbort = key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "discard"))
	keyBase  = key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "mark baseline"))
	keyExp   = key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "export"))
)

// relabel returns a copy of b with new help text.
func relabel(b key.Binding, keys, desc string) key.Binding {
	b.SetHelp(keys, desc)
	return b
}
