package serve

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

// fixtureDataDir makes a data directory with a file, a subdirectory, links
// inside and out, and a secret file beside the directory. It returns the
// data directory and the secret's path.
func fixtureDataDir(t *testing.T) (string, string) {
	t.Helper()
	base := t.TempDir()
	dir := filepath.Join(base, "data")
	secret := filepath.Join(base, "secret.csv")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "iris.csv"), []byte("a,b,label\n1,2,x\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "sub", "more.csv"), []byte("a,label\n1,x\n"), 0o644))
	must(os.WriteFile(secret, []byte("password,label\nhunter2,x\n"), 0o600))
	must(os.Symlink(secret, filepath.Join(dir, "evil.csv")))              // absolute link out
	must(os.Symlink("../secret.csv", filepath.Join(dir, "evil-rel.csv"))) // relative link out
	must(os.Symlink(base, filepath.Join(dir, "up")))                      // a directory link out
	must(os.Symlink("iris.csv", filepath.Join(dir, "alias.csv")))         // a link that stays inside
	must(os.WriteFile(filepath.Join(dir, "t-images-idx3-ubyte"), []byte{0, 0, 8, 3}, 0o644))
	must(os.Symlink(secret, filepath.Join(dir, "t-labels-idx1-ubyte"))) // labels that leak
	return dir, secret
}

func TestResolveConfinesToDataDir(t *testing.T) {
	dir, secret := fixtureDataDir(t)
	d, err := newDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	real := func(rel string) string {
		p, err := filepath.EvalSymlinks(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		spec, want, refused string // refused: a substring of the error
	}{
		{spec: "", want: "digits"},
		{spec: "moons", want: "moons"},
		{spec: "mnist", want: "mnist"}, // the server's own cache
		{spec: "iris.csv", want: real("iris.csv")},
		{spec: "sub/more.csv", want: real("sub/more.csv")},
		{spec: "sub/../iris.csv", want: real("iris.csv")},
		{spec: "alias.csv", want: real("iris.csv")},
		{spec: filepath.Join(dir, "iris.csv"), want: real("iris.csv")}, // absolute, inside
		{spec: "../secret.csv", refused: "outside the data directory"},
		{spec: "sub/../../secret.csv", refused: "outside the data directory"},
		{spec: "../../../../../../etc/passwd", refused: "outside the data directory"},
		{spec: secret, refused: "outside the data directory"},
		{spec: "/etc/passwd", refused: "outside the data directory"},
		{spec: "/no/such/file.csv", refused: "outside the data directory"}, // same words: no oracle
		{spec: "evil.csv", refused: "links to a file outside"},
		{spec: "evil-rel.csv", refused: "links to a file outside"},
		{spec: "up/secret.csv", refused: "links to a file outside"},
		{spec: "t-images-idx3-ubyte", refused: "labels file links outside"},
		{spec: "missing.csv", refused: "no such file in the data directory"},
	} {
		got, err := d.Resolve(c.spec)
		switch {
		case c.refused == "" && err != nil:
			t.Errorf("Resolve(%q): %v", c.spec, err)
		case c.refused == "" && got != c.want:
			t.Errorf("Resolve(%q) = %q, want %q", c.spec, got, c.want)
		case c.refused != "" && err == nil:
			t.Errorf("Resolve(%q) = %q, want refused", c.spec, got)
		case c.refused != "" && !strings.Contains(err.Error(), c.refused):
			t.Errorf("Resolve(%q): %q, want it to say %q", c.spec, err, c.refused)
		case err != nil && strings.Contains(err.Error(), "\n"):
			t.Errorf("Resolve(%q): the message is not one line: %q", c.spec, err)
		}
	}
}

// TestResolveFileConfinesToDataDir: files the TUI reads itself (a space
// file) are confined like datasets, and a built-in dataset's name is just
// a file name there, never a way out.
func TestResolveFileConfinesToDataDir(t *testing.T) {
	dir, secret := fixtureDataDir(t)
	d, err := newDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := d.ResolveFile("iris.csv"); err != nil || filepath.Base(got) != "iris.csv" {
		t.Errorf("ResolveFile(iris.csv) = %q, %v", got, err)
	}
	for _, c := range []struct{ path, refused string }{
		{"../secret.csv", "outside the data directory"},
		{secret, "outside the data directory"},
		{"/etc/passwd", "outside the data directory"},
		{"evil.csv", "links to a file outside"},
		{"digits", "no such file in the data directory"},
	} {
		if got, err := d.ResolveFile(c.path); err == nil || !strings.Contains(err.Error(), c.refused) {
			t.Errorf("ResolveFile(%q) = %q, %v; want an error saying %q", c.path, got, err, c.refused)
		}
	}
	none, _ := newDataDir("")
	if _, err := none.ResolveFile("space.yaml"); err == nil || !strings.Contains(err.Error(), "opens no files") {
		t.Errorf("without a data directory: %v", err)
	}
}

// The data directory may itself be reached through a symlink; both
// spellings of an inside path are accepted.
func TestResolveThroughLinkedDataDir(t *testing.T) {
	dir, _ := fixtureDataDir(t)
	link := filepath.Join(t.TempDir(), "data-link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	d, err := newDataDir(link)
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range []string{"iris.csv", filepath.Join(link, "iris.csv"), filepath.Join(dir, "iris.csv")} {
		if _, err := d.Resolve(spec); err != nil {
			t.Errorf("Resolve(%q): %v", spec, err)
		}
	}
	if _, err := d.Resolve("evil.csv"); err == nil {
		t.Error("a link out of a linked data directory was accepted")
	}
}

func TestNoDataDirOpensNoFiles(t *testing.T) {
	dir, _ := fixtureDataDir(t)
	d, err := newDataDir("")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := d.Resolve("spiral"); err != nil || got != "spiral" {
		t.Fatalf("Resolve(spiral) = %q, %v", got, err)
	}
	for _, spec := range []string{"iris.csv", filepath.Join(dir, "iris.csv")} {
		_, err := d.Resolve(spec)
		if err == nil || !strings.Contains(err.Error(), "started without --data-dir") {
			t.Errorf("Resolve(%q): %v, want refused for want of --data-dir", spec, err)
		}
	}
}

func TestNewDataDirErrors(t *testing.T) {
	if _, err := newDataDir(filepath.Join(t.TempDir(), "nope")); err == nil || !strings.Contains(err.Error(), "no such directory") {
		t.Errorf("missing directory: %v", err)
	}
	f := filepath.Join(t.TempDir(), "f")
	_ = os.WriteFile(f, nil, 0o644)
	if _, err := newDataDir(f); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("a file: %v", err)
	}
}

// Job configs are vetted wherever their paths hide: data specs, model files
// to read, and outputs (refused outright).
func TestCheckConfig(t *testing.T) {
	dir, secret := fixtureDataDir(t)
	d, _ := newDataDir(dir)
	inside := filepath.Join(dir, "iris.csv")
	type nested struct {
		specs []lab.DataSpec // unexported, in a slice
	}
	for _, c := range []struct {
		name    string
		config  any
		refused string
	}{
		{"nil", nil, ""},
		{"built-in", lab.TrainSpec{Data: lab.DataSpec{Name: "moons"}}, ""},
		{"file inside", lab.TrainSpec{Data: lab.DataSpec{Name: inside}}, ""},
		{"file outside", lab.TrainSpec{Data: lab.DataSpec{Name: secret}}, "outside the data directory"},
		{"relative, from the server's directory", lab.TrainSpec{Data: lab.DataSpec{Name: "../../../../../../../etc/passwd"}}, "outside"},
		{"link out", &lab.TrainSpec{Data: lab.DataSpec{Name: filepath.Join(dir, "evil.csv")}}, "links to a file outside"},
		{"nested", nested{specs: []lab.DataSpec{{Name: "moons"}, {Name: secret}}}, "outside"},
		{"output", lab.TrainSpec{Data: lab.DataSpec{Name: "moons"}, Out: "/tmp/x.safetensors"}, "cannot be written over SSH"},
		{"tune base output", lab.TuneSpec{Data: lab.DataSpec{Name: "moons"}, Out: "best.safetensors"}, "cannot be written"},
		{"model file outside", lab.PruneSpec{ModelFile: secret}, "outside"},
		{"model file inside", lab.PruneSpec{ModelFile: inside}, ""},
		{"teacher outside", lab.DistillSpec{Teacher: "/etc/passwd"}, "outside"},
		{"arch out dir", lab.ArchSpec{OutDir: "/tmp"}, "cannot be written"},
	} {
		err := d.CheckConfig(c.config)
		switch {
		case c.refused == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.refused != "" && (err == nil || !strings.Contains(err.Error(), c.refused)):
			t.Errorf("%s: %v, want it refused saying %q", c.name, err, c.refused)
		}
	}
}

// A job whose config names a file outside the data directory never runs:
// its run fails at once with the one-line reason, which the Baseline
// screen shows as "run N failed: ...".
func TestSessionLabRefusesJobsOutsideDataDir(t *testing.T) {
	dir, secret := fixtureDataDir(t)
	d, _ := newDataDir(dir)
	l := &sessionLab{Lab: lab.New(lab.Options{Workers: 1}), data: d}
	ran := false
	job := func(context.Context, core.Recorder) (*lab.Result, error) {
		ran = true
		return &lab.Result{Task: lab.TaskTrain}, nil
	}
	bad := l.Start(t.Context(), lab.TaskTrain, lab.TrainSpec{Data: lab.DataSpec{Name: secret}}, job)
	var failed lab.Event
	for e := range l.Events() {
		if e.Run == bad && (e.Kind == lab.Failed || e.Kind == lab.Finished) {
			failed = e
			break
		}
	}
	if ran {
		t.Fatal("the job ran")
	}
	if failed.Err == nil || !strings.Contains(failed.Err.Error(), "outside the data directory") ||
		strings.Contains(failed.Err.Error(), "\n") {
		t.Fatalf("failure %v, want one line saying the file is outside the data directory", failed.Err)
	}
	good := l.Start(t.Context(), lab.TaskTrain, lab.TrainSpec{Data: lab.DataSpec{Name: "moons"}}, job)
	for e := range l.Events() {
		if e.Run == good && (e.Kind == lab.Finished || e.Kind == lab.Failed) {
			if e.Kind != lab.Finished {
				t.Fatalf("an allowed job failed: %v", e.Err)
			}
			break
		}
	}
	l.Shutdown(time.Second)
	if l.refused.Load() != 1 || l.started.Load() != 2 {
		t.Errorf("refused %d of %d runs, want 1 of 2", l.refused.Load(), l.started.Load())
	}
}
