package tui

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/optlab/optlab/core"
)

// field is one setting of a form: a text input, an optional list of choices
// (cycled with ←/→) and a validator whose error is shown in words.
type field struct {
	label    string
	input    textinput.Model
	choices  []string
	validate func(string) error
	err      error
	saved    string // the value before editing started, restored by esc
}

func newField(st *Styles, label, value string, validate func(string) error, choices ...string) *field {
	in := textinput.New()
	in.Prompt = ""
	in.SetValue(value)
	in.CharLimit = 64
	in.Cursor.SetMode(cursor.CursorStatic)
	in.TextStyle = st.Input
	f := &field{label: label, input: in, choices: choices, validate: validate}
	f.check()
	return f
}

// value is the field's text, trimmed.
func (f *field) value() string { return strings.TrimSpace(f.input.Value()) }

// check validates the value and records the error.
func (f *field) check() { f.err = f.validate(f.value()) }

// cycle moves a choice field to the next (d = 1) or previous (d = -1) choice.
func (f *field) cycle(d int) {
	if len(f.choices) == 0 {
		return
	}
	i := slices.Index(f.choices, f.value())
	i = (i + d + len(f.choices)) % len(f.choices)
	f.input.SetValue(f.choices[i])
	f.check()
}

// edit starts editing; the returned Cmd is the input's.
func (f *field) edit() tea.Cmd {
	f.saved = f.input.Value()
	f.input.CursorEnd()
	return f.input.Focus()
}

// done ends editing, keeping the value (keep) or restoring the saved one.
func (f *field) done(keep bool) {
	if !keep {
		f.input.SetValue(f.saved)
	}
	f.input.Blur()
	f.check()
}

// Validators. Their messages say what is wrong and what is wanted.

// validModel checks an architecture spec against the sample shape of the
// data it will train on (nil when not known yet: the lab then reports a
// mismatch when the run starts). It allocates nothing for an MLP, so it can
// run on every keystroke, and refuses one too large for a lab on a laptop
// in core's words.
func validModel(s string, shape []int) error {
	if s == "" {
		return errors.New("give a model, e.g. mlp:128,64 or linear")
	}
	if shape == nil {
		return core.ValidateSpec(s)
	}
	return core.ValidateSpecFor(s, shape, []string{"a", "b"})
}

func validChoice(what string, choices []string) func(string) error {
	return func(s string) error {
		if slices.Contains(choices, s) {
			return nil
		}
		return fmt.Errorf("unknown %s %q (want %s)", what, s, strings.Join(choices, ", "))
	}
}

func validPositiveFloat(what string, hi float64) func(string) error {
	return func(s string) error {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v <= 0 || v > hi {
			return fmt.Errorf("%s must be a number above 0 and at most %g", what, hi)
		}
		return nil
	}
}

func validRate(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || v >= 1 {
		return errors.New("dropout must be a number from 0 up to (not including) 1")
	}
	return nil
}

func validInt(what string, lo, hi int) func(string) error {
	return func(s string) error {
		v, err := strconv.Atoi(s)
		if err != nil || v < lo || v > hi {
			return fmt.Errorf("%s must be a whole number from %d to %d", what, lo, hi)
		}
		return nil
	}
}

func validSeed(s string) error {
	if _, err := strconv.ParseUint(s, 10, 64); err != nil {
		return errors.New("the seed must be a whole number, 0 or more")
	}
	return nil
}
