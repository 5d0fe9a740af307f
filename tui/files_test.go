package tui

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

// An Options.Export policy that refuses every path stops the export before
// the file name input opens, and a policy that refuses some paths stops the
// save with its message; nothing is written either way.
func TestExportPolicy(t *testing.T) {
	mdl, err := core.Build("mlp:4", []int{2}, []string{"0", "1"}, core.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	finished := func(m *Model) {
		res := fixtureResult(1, "mlp:4", 0.9, 100)
		res.Model = mdl
		m.Update(labEventMsg{Run: 1, Kind: lab.Finished, Result: res})
	}

	t.Run("refuse all", func(t *testing.T) {
		var asked []string
		m := New(t.Context(), newFakeLab(), Options{Data: "moons", Renderer: plainRenderer(),
			Export: func(p string) (string, error) {
				asked = append(asked, p)
				return "", errors.New("exporting is off on this server")
			}}).(*Model)
		m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
		finished(m)
		if cmd := press(m, resultsKey(t, m), "e"); cmd != nil {
			run(m, cmd)
		}
		if m.screens[m.active].Editing() {
			t.Fatal("the file name input opened although every export is refused")
		}
		r := resultsOf(t, m)
		if !r.noticeBad || r.notice != "export refused: exporting is off on this server" {
			t.Fatalf("notice %q", r.notice)
		}
		if len(asked) != 1 || !strings.HasSuffix(asked[0], ".safetensors") {
			t.Fatalf("policy asked about %q, want the suggested name", asked)
		}
	})

	t.Run("refuse one", func(t *testing.T) {
		dir := t.TempDir()
		m := New(t.Context(), newFakeLab(), Options{Data: "moons", Renderer: plainRenderer(),
			Export: func(p string) (string, error) {
				if strings.Contains(p, "..") {
					return "", errors.New(p + " leaves the export directory")
				}
				return dir + "/" + p, nil
			}}).(*Model)
		m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
		finished(m)
		press(m, resultsKey(t, m), "e", "ctrl+u")
		for _, r := range "../x.safetensors" {
			press(m, string(r))
		}
		if cmd := press(m, "enter"); cmd != nil {
			t.Fatal("a refused path returned a save Cmd")
		}
		if r := resultsOf(t, m); !r.noticeBad || !strings.Contains(r.notice, "export refused: ../x.safetensors leaves") {
			t.Fatalf("notice %q", r.notice)
		}
		// An allowed path is written where the policy says.
		press(m, "e", "ctrl+u")
		for _, r := range "ok.safetensors" {
			press(m, string(r))
		}
		run(m, press(m, "enter"))
		if _, err := os.Stat(dir + "/ok.safetensors"); err != nil {
			t.Fatalf("the allowed export was not written where the policy said: %v (notice %q)", err, resultsOf(t, m).notice)
		}
	})
}

// resultsKey is the digit that shows the Results screen.
func resultsKey(t *testing.T, m *Model) string {
	for i, s := range m.screens {
		if _, ok := s.(*resultsScreen); ok {
			return strconv.Itoa(i + 1)
		}
	}
	t.Fatal("no Results screen")
	return ""
}

// resultsOf is the Results screen.
func resultsOf(t *testing.T, m *Model) *resultsScreen {
	for _, s := range m.screens {
		if r, ok := s.(*resultsScreen); ok {
			return r
		}
	}
	t.Fatal("no Results screen")
	return nil
}

// TestTuneFilesFollowThePolicies: over SSH the Tune screen must not read a
// space file outside what Options.Open allows (its errors would quote the
// server's files) nor write a study file Options.Export refuses.
func TestTuneFilesFollowThePolicies(t *testing.T) {
	var opened []string
	m := New(t.Context(), newFakeLab(), Options{Data: "moons", Renderer: plainRenderer(),
		Open: func(p string) (string, error) {
			opened = append(opened, p)
			return "", errors.New(p + " is outside the data directory")
		},
		Export: func(string) (string, error) {
			return "", errors.New("files cannot be saved over SSH")
		}}).(*Model)
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	showScreen(m, "Tune")
	s := tune(m)
	for s.form.focus != ftFile {
		press(m, "down")
	}
	if cmd := press(m, "enter", "ctrl+u", "/etc/passwd", "enter"); cmd != nil {
		m.Update(cmd())
	}
	if len(opened) != 1 || opened[0] != "/etc/passwd" {
		t.Fatalf("the open policy was asked about %q", opened)
	}
	if err := s.form.fields[ftFile].err; err == nil || !strings.Contains(err.Error(), "outside the data directory") {
		t.Fatalf("space file field error %v, want the policy's", err)
	}
	press(m, "enter", "ctrl+u", "enter") // no space file
	setStudyFile(m, filepath.Join(t.TempDir(), "study.json"))
	if cmd := press(m, "s"); cmd != nil || !strings.Contains(s.notice, "files cannot be saved over SSH") {
		t.Fatalf("start with a refused study file: cmd %v, notice %q", cmd != nil, s.notice)
	}
}
