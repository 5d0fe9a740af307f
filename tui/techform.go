package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// techForm is the settings form of a technique screen (Prune, Distill):
// fields moved through with ↑/↓, choices cycled with ←/→, text edited with
// enter. The Baseline screen uses it too.
type techForm struct {
	fields  []*field
	focus   int
	editing bool
	keys    formKeys
}

type formKeys struct {
	Up, Down, Edit, Left, Right, Save, Abort key.Binding
}

func newFormKeys() formKeys {
	return formKeys{Up: relabel(keyUp, "↑/↓", "field"), Down: relabel(keyDown, "↑/↓", "field"),
		Edit: relabel(keyEnter, "enter", "edit"), Left: keyLeft, Right: keyRight, Save: keySave, Abort: keyAbort}
}

// updateKeys enables the bindings that apply now: none while the form is
// not shown (the Tune and Architecture screens swap it for their study).
func (f *techForm) updateKeys(shown bool) {
	k := &f.keys
	choice := len(f.fields[f.focus].choices) > 0
	moving, editing := shown && !f.editing, shown && f.editing
	k.Up.SetEnabled(moving)
	k.Down.SetEnabled(moving)
	k.Edit.SetEnabled(moving && !choice)
	k.Left.SetEnabled(moving && choice)
	k.Right.SetEnabled(moving && choice)
	k.Save.SetEnabled(editing)
	k.Abort.SetEnabled(editing)
}

// back ends editing, discarding the change; false when not editing.
func (f *techForm) back() bool {
	if !f.editing {
		return false
	}
	f.fields[f.focus].done(false)
	f.editing = false
	return true
}

// handleKey handles the form's keys; handled is false for a key the form
// does not use (the screen's own keys). A handled key that leaves the form
// editing clears the screen's notice.
func (f *techForm) handleKey(msg tea.KeyMsg, notice *string) (handled bool, cmd tea.Cmd) {
	handled, cmd = f.key(msg)
	if handled && f.editing {
		*notice = ""
	}
	return handled, cmd
}

func (f *techForm) key(msg tea.KeyMsg) (handled bool, cmd tea.Cmd) {
	k := f.keys
	fl := f.fields[f.focus]
	if f.editing {
		switch {
		case key.Matches(msg, k.Save):
			fl.done(true)
			f.editing = false
		case key.Matches(msg, k.Abort):
			fl.done(false)
			f.editing = false
		default:
			fl.input, cmd = fl.input.Update(msg)
			fl.check()
		}
		return true, cmd
	}
	n := len(f.fields)
	switch {
	case key.Matches(msg, k.Up):
		f.focus = (f.focus + n - 1) % n
	case key.Matches(msg, k.Down):
		f.focus = (f.focus + 1) % n
	case key.Matches(msg, k.Left) && len(fl.choices) > 0:
		fl.cycle(-1)
	case key.Matches(msg, k.Right) && len(fl.choices) > 0:
		fl.cycle(1)
	case key.Matches(msg, k.Edit):
		if len(fl.choices) > 0 {
			fl.cycle(1)
			return true, nil
		}
		f.editing = true
		return true, fl.edit()
	default:
		return false, nil
	}
	return true, nil
}

// firstError is the first invalid field's label and error, checked afresh.
func (f *techForm) firstError() string {
	for _, fl := range f.fields {
		if fl.check(); fl.err != nil {
			return fl.label + ": " + fl.err.Error()
		}
	}
	return ""
}

// view draws the heading, one line per field (the focused one marked "›",
// an invalid one "!"), an info line under the heading, and a wrapped
// message: the notice, else the focused or first field's problem.
func (f *techForm) view(st *Styles, title, info, notice string, w int) string {
	lines := []string{heading(st, title, w)}
	if info != "" {
		lines = append(lines, st.Muted.Render(fit(info, w, 1)))
	}
	labelW := 14
	var problem string
	for i, fl := range f.fields {
		val := fl.input.View()
		if len(fl.choices) > 0 && !f.editing {
			val = "‹ " + fl.value() + " ›"
		}
		// Before the label: "›" on the focused field, "!" on another whose
		// value is wrong (the focused one's problem is written under the
		// form).
		mark, labelStyle := "  ", st.Label
		switch {
		case i == f.focus:
			mark, labelStyle = "› ", st.Selected
		case fl.err != nil:
			mark = st.Bad.Render("!") + " "
		}
		if fl.err != nil && (problem == "" || i == f.focus) {
			problem = fl.label + ": " + fl.err.Error()
		}
		line := mark + labelStyle.Render(padTo(fl.label, labelW)) + " " + val
		lines = append(lines, fit(line, w, 1))
	}
	msg, style := notice, st.Muted
	if strings.HasPrefix(msg, "cannot") || strings.HasPrefix(msg, "a run") {
		style = st.Bad
	}
	if msg == "" && problem != "" {
		msg, style = problem, st.Bad
	}
	if f.editing {
		msg, style = "editing: enter keeps, esc discards", st.Muted
	}
	lines = append(lines, st.Plain.Render(wrapText(style, msg, w, 3)))
	return strings.Join(lines, "\n")
}
