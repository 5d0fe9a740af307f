package tui

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
)

// TestFormMarks: the focused field is marked "›", another field whose value
// is wrong "!", in colour as without it; the marks never cut into a styled
// string (which printed escape codes as text on colour terminals).
func TestFormMarks(t *testing.T) {
	for _, profile := range []termenv.Profile{termenv.Ascii, termenv.TrueColor} {
		r := lipgloss.NewRenderer(io.Discard)
		r.SetColorProfile(profile)
		st := NewStyles(r)
		bad := func(string) error { return errors.New("wrong") }
		f := techForm{fields: []*field{
			newField(st, "first", "x", bad),
			newField(st, "second", "y", bad),
			newField(st, "third", "z", func(string) error { return nil }),
		}, keys: newFormKeys()}
		view := f.view(st, "Form", "", "", 60)
		plain := ansi.Strip(view)
		for _, want := range []string{"› first", "! second", "  third", "first: wrong"} {
			if !strings.Contains(plain, want) {
				t.Errorf("profile %v: %q missing from\n%s", profile, want, plain)
			}
		}
		if strings.Contains(plain, "[") {
			t.Errorf("profile %v: escape codes printed as text:\n%s", profile, plain)
		}
	}
}
