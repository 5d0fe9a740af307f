package lab_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

// ckptSpec is an ASHA study of tinySpec's trials. Run one trial at a time,
// it goes: trials 1, 2 and 3 pause at rung 1; trial 1 is promoted and
// pauses at rung 3; 4 and 5 pause at rung 1; 6 is promoted at rung 1 in
// its run and pauses at rung 3; 7 and 8 pause at rung 1; 9 trains all its
// 9 epochs; the paused trials are stopped.
func ckptSpec() lab.TuneSpec { return tinySpec("asha", 9, 9) }

// at names the end of a trial's epoch.
type at struct{ trial, epoch int }

// interrupter is a Starter that cancels the study's context, as a kill
// would, when a trial's run ends the epoch at names. It does so from the
// run's recorder, on the training goroutine, so that the interruption
// lands at the same point in every test run.
type interrupter struct {
	*lab.Lab
	at     at
	cancel context.CancelFunc
}

func (i *interrupter) Start(ctx context.Context, task string, config any, job lab.Job) lab.RunID {
	return i.Lab.Start(ctx, task, config, func(ctx context.Context, rec core.Recorder) (*lab.Result, error) {
		return job(ctx, func(st core.Stats) error {
			if st.EpochDone && st.Trial == i.at.trial && st.Epoch == i.at.epoch {
				i.cancel()
			}
			return rec(st)
		})
	})
}

// runStudy runs s one trial at a time (so the order, and with it every
// number, is fixed). With stop set, it interrupts the study there and
// returns nil; its files are all written when it returns.
func runStudy(t *testing.T, s *lab.TuneStudy, stop at) *lab.Result {
	t.Helper()
	l := lab.New(lab.Options{Workers: 1})
	defer l.Shutdown(time.Second) // waits for the interrupted run
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	type outcome struct {
		res *lab.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := s.Run(ctx, &interrupter{Lab: l, at: stop, cancel: cancel}, 1)
		done <- outcome{res, err}
	}()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case e := <-l.Events():
			s.Observe(e)
		case o := <-done:
			switch {
			case stop == at{} && o.err != nil:
				t.Fatal(o.err)
			case stop != at{} && !errors.Is(o.err, context.Canceled):
				t.Fatalf("Run = %v, want the interruption at trial %d's epoch %d", o.err, stop.trial, stop.epoch)
			}
			return o.res
		case <-timeout:
			t.Fatal("the study did not end")
		}
	}
}

// newStudy returns a new study of ckptSpec saved to path, taking a
// checkpoint after every epoch.
func newStudy(t *testing.T, path string) *lab.TuneStudy {
	t.Helper()
	s, err := lab.NewTuneStudy(ckptSpec(), path)
	if err != nil {
		t.Fatal(err)
	}
	lab.SetCheckpointEvery(s, 0)
	return s
}

// resume resumes the study saved to path, taking a checkpoint after every
// epoch.
func resume(t *testing.T, path string) *lab.TuneStudy {
	t.Helper()
	s, err := lab.ResumeTuneStudy(path)
	if err != nil {
		t.Fatal(err)
	}
	lab.SetCheckpointEvery(s, 0)
	return s
}

// checkpoints returns the epoch of each trial's checkpoint, as the state
// file at path records them.
func checkpoints(t *testing.T, path string) map[int]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Trials []struct {
			ID         int `json:"id"`
			Checkpoint int `json:"checkpoint"`
		} `json:"trials"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	m := map[int]int{}
	for _, tr := range st.Trials {
		if tr.Checkpoint > 0 {
			m[tr.ID] = tr.Checkpoint
		}
	}
	return m
}

// checkpointFiles returns the names of the files in the directory of the
// checkpoints of the study saved to path.
func checkpointFiles(t *testing.T, path string) []string {
	t.Helper()
	entries, err := os.ReadDir(path + ".ckpt")
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// sameTrials reports how the trials of got differ from want's.
func sameTrials(t *testing.T, got, want *lab.Result) {
	t.Helper()
	if len(got.Trials) != len(want.Trials) {
		t.Fatalf("%d trials, %d without an interruption", len(got.Trials), len(want.Trials))
	}
	for i, tr := range got.Trials {
		w := want.Trials[i]
		if tr.Status != w.Status || tr.Epochs != w.Epochs || !slices.Equal(tr.Curve, w.Curve) ||
			tr.ValAccuracy != w.ValAccuracy || tr.TestAccuracy != w.TestAccuracy {
			t.Errorf("trial %d: %s after %d epochs, curve %v, test %v\nwithout an interruption: %s after %d, %v, %v",
				tr.ID, tr.Status, tr.Epochs, tr.Curve, tr.TestAccuracy, w.Status, w.Epochs, w.Curve, w.TestAccuracy)
		}
	}
	if got.Best.ID != want.Best.ID {
		t.Fatalf("best trial %d, %d without an interruption", got.Best.ID, want.Best.ID)
	}
	for i, p := range got.Model.Params() {
		if !slices.Equal(p.W.Data, want.Model.Params()[i].W.Data) {
			t.Errorf("the best model's parameter %s differs from the uninterrupted study's", p.Name)
		}
	}
}

// checkFiles checks that the checkpoint directory of the study saved to
// path holds one checkpoint, a model file and its state, for each trial
// whose checkpoint the state file records, and nothing else.
func checkFiles(t *testing.T, path string) map[int]int {
	t.Helper()
	ckpts := checkpoints(t, path)
	var want []string
	for id := range ckpts {
		want = append(want, fmt.Sprintf("trial-%d.safetensors", id), fmt.Sprintf("trial-%d.state", id))
	}
	slices.Sort(want)
	if files := checkpointFiles(t, path); !slices.Equal(files, want) {
		t.Errorf("checkpoint files %v; the state file records %v", files, ckpts)
	}
	return ckpts
}

// setStatus sets trial id's status in the state file at path.
func setStatus(t *testing.T, path string, id int, status string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	for _, tr := range st["trials"].([]any) {
		if tr := tr.(map[string]any); tr["id"] == float64(id) {
			tr["status"] = status
		}
	}
	if b, err = json.Marshal(st); err == nil {
		err = os.WriteFile(path, b, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// resumedFrom returns the epoch each trial's first run of a session
// started from, by the session's updates.
func resumedFrom(t *testing.T, s *lab.TuneStudy) map[int]int {
	t.Helper()
	from := map[int]int{}
	for _, u := range first(s.Updates(0)) {
		if u.Reason != "" && u.Event == "resumed" {
			t.Errorf("trial %d: %s", u.Trial, u.Reason)
		}
		if _, ok := from[u.Trial]; !ok && (u.Event == "resumed" || u.Event == "promoted") {
			from[u.Trial] = u.Epochs
		}
	}
	return from
}

func TestStudyInterruptedResumesFromCheckpoints(t *testing.T) {
	dir := t.TempDir()
	full, path := filepath.Join(dir, "full.json"), filepath.Join(dir, "study.json")
	// A new study clears what an earlier one at its path left.
	if err := os.MkdirAll(full+".ckpt", 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(full+".ckpt", "trial-1.state"), []byte("stale"), 0o644)
	want := runStudy(t, newStudy(t, full), at{})
	if _, err := os.Stat(full + ".ckpt"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a finished study left its checkpoint directory (%v): %v", err, checkpointFiles(t, full))
	}
	sum := 0
	for _, tr := range want.Trials {
		sum += tr.Epochs
	}
	if want.TotalEpochs != sum {
		t.Fatalf("uninterrupted: %d epochs trained, the trials' sum to %d", want.TotalEpochs, sum)
	}

	// Interrupted as trial 2 ends its first epoch, the study has trial 1
	// paused at rung 1.
	runStudy(t, newStudy(t, path), at{2, 1})
	if ckpts := checkFiles(t, path); ckpts[1] != 1 {
		t.Errorf("checkpoints %v: want trial 1's at its rung, epoch 1", ckpts)
	}
	// A kill between the two saves of a pausing run, of its checkpoint and
	// of its end, leaves the trial running with its checkpoint at the rung:
	// resumed, the run ends there, as paused, training nothing.
	setStatus(t, path, 1, lab.TrialRunning)
	// Resumed, the study promotes trial 1 from its checkpoint; interrupted
	// again as trial 6 ends its second epoch, mid-run.
	s := resume(t, path)
	runStudy(t, s, at{6, 2})
	var trial1 []string
	for _, u := range first(s.Updates(0)) {
		if u.Trial == 1 {
			trial1 = append(trial1, fmt.Sprintf("%s %d", u.Event, u.Epochs))
		}
	}
	if w := []string{"resumed 1", "paused 1", "promoted 1", "paused 3"}; !slices.Equal(trial1, w) {
		t.Errorf("trial 1's updates %q, want %q", trial1, w)
	}
	resumedFrom(t, s) // reports unusable checkpoints
	ckpts := checkFiles(t, path)
	if ckpts[1] != 3 || ckpts[6] < 1 {
		t.Errorf("checkpoints %v: want trial 1's at its rung 3 and trial 6's mid-run", ckpts)
	}
	s = resume(t, path)
	got := runStudy(t, s, at{})
	if from := resumedFrom(t, s); from[6] != ckpts[6] {
		t.Errorf("trial 6 resumed from epoch %d, want its checkpoint's %d", from[6], ckpts[6])
	}
	// No epoch was trained twice: the study counted the epoch that ended
	// at an interruption only if it also took its checkpoint, and every
	// trial went on from its checkpoint, exactly as if uninterrupted.
	if got.TotalEpochs != want.TotalEpochs {
		t.Errorf("%d epochs trained in all, %d without an interruption", got.TotalEpochs, want.TotalEpochs)
	}
	sameTrials(t, got, want)
	if _, err := os.Stat(path + ".ckpt"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the resumed study left its checkpoint directory (%v): %v", err, checkpointFiles(t, path))
	}
}

func TestStudyUnusableCheckpointTrainsFromScratch(t *testing.T) {
	dir := t.TempDir()
	want := runStudy(t, newStudy(t, filepath.Join(dir, "full.json")), at{})
	base := filepath.Join(dir, "base", "study.json")
	os.Mkdir(filepath.Dir(base), 0o755)
	runStudy(t, newStudy(t, base), at{6, 2})
	ckpts := checkFiles(t, base)
	const running, other = 6, 1 // trial 6 mid-run, trial 1 paused at rung 3
	if ckpts[running] < 1 || ckpts[other] != 3 {
		t.Fatalf("checkpoints %v: want trial 6's mid-run and trial 1's at rung 3", ckpts)
	}
	name := func(dir string, id int, ext string) string {
		return filepath.Join(dir, fmt.Sprintf("trial-%d.%s", id, ext))
	}
	for _, c := range []struct {
		name, reason string
		damage       func(ckptDir string) error
	}{
		{"flipped byte", "checksum", func(d string) error {
			b, err := os.ReadFile(name(d, running, "state"))
			if err != nil {
				return err
			}
			b[len(b)/2] ^= 1
			return os.WriteFile(name(d, running, "state"), b, 0o644)
		}},
		{"truncated model", "not the model file", func(d string) error {
			return os.Truncate(name(d, running, "safetensors"), 100)
		}},
		{"another trial's", fmt.Sprintf("trial %d's, not trial %d's", other, running), func(d string) error {
			for _, ext := range []string{"state", "safetensors"} {
				b, err := os.ReadFile(name(d, other, ext))
				if err := errors.Join(err, os.WriteFile(name(d, running, ext), b, 0o644)); err != nil {
					return err
				}
			}
			return nil
		}},
		{"missing", "no such file", func(d string) error { return os.Remove(name(d, running, "state")) }},
		{"not a state", "not a trial's training state", func(d string) error {
			return os.WriteFile(name(d, running, "state"), []byte("{}"), 0o644)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "study.json")
			if err := os.CopyFS(path+".ckpt", os.DirFS(base+".ckpt")); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(base)
			if err != nil {
				t.Fatal(err)
			}
			if err := errors.Join(os.WriteFile(path, b, 0o644), c.damage(path+".ckpt")); err != nil {
				t.Fatal(err)
			}
			r := resume(t, path)
			got := runStudy(t, r, at{})
			var notes []string
			for _, u := range first(r.Updates(0)) {
				if u.Reason != "" && u.Event == "resumed" {
					notes = append(notes, fmt.Sprintf("trial %d from %d: %s", u.Trial, u.Epochs, u.Reason))
				}
			}
			if len(notes) != 1 || !strings.HasPrefix(notes[0], fmt.Sprintf("trial %d from 0: checkpoint unusable", running)) ||
				!strings.Contains(notes[0], c.reason) {
				t.Errorf("notes %q; want one that trial %d trains from scratch, naming %q", notes, running, c.reason)
			}
			// Trained again from scratch, the trial gets the same numbers.
			sameTrials(t, got, want)
			if d := got.TotalEpochs - want.TotalEpochs; d != ckpts[running] {
				t.Errorf("%d epochs trained again; want the %d of the lost checkpoint", d, ckpts[running])
			}
			if files := checkpointFiles(t, path); len(files) != 0 {
				t.Errorf("left checkpoint files %v", files)
			}
		})
	}
}

func TestStudyDeletesTheCheckpointsOfEndedTrials(t *testing.T) {
	path := filepath.Join(t.TempDir(), "study.json")
	s, err := lab.NewTuneStudy(tinySpec("random", 3, 3), path)
	if err != nil {
		t.Fatal(err)
	}
	lab.SetCheckpointEvery(s, 0)
	runStudy(t, s, at{2, 2})
	// Trial 1 is done; trial 2 was interrupted after its first epoch, or
	// its second if the study counted it before the interruption.
	if ckpts := checkFiles(t, path); len(ckpts) != 1 || ckpts[2] < 1 {
		t.Errorf("checkpoints %v, want trial 2's alone", ckpts)
	}
}

func TestStudyCheckpointsATrialPromotedInItsRun(t *testing.T) {
	// With the default interval, runs as short as these take checkpoints at
	// rungs alone: trial 6, promoted at rung 1 and interrupted after epoch
	// 2, goes on from epoch 1.
	dir := t.TempDir()
	full, path := filepath.Join(dir, "full.json"), filepath.Join(dir, "study.json")
	want := runStudy(t, newStudy(t, full), at{})
	s, err := lab.NewTuneStudy(ckptSpec(), path)
	if err != nil {
		t.Fatal(err)
	}
	runStudy(t, s, at{6, 2})
	if ckpts := checkFiles(t, path); ckpts[6] != 1 {
		t.Fatalf("checkpoints %v, want trial 6's at epoch 1", ckpts)
	}
	if s, err = lab.ResumeTuneStudy(path); err != nil {
		t.Fatal(err)
	}
	got := runStudy(t, s, at{})
	if from := resumedFrom(t, s); from[6] != 1 {
		t.Errorf("trial 6 resumed from epoch %d, want 1", from[6])
	}
	// Epoch 2, trained again, counts twice if the study counted it before
	// the interruption.
	if d := got.TotalEpochs - want.TotalEpochs; d != 0 && d != 1 {
		t.Errorf("%d epochs trained in all, %d without an interruption", got.TotalEpochs, want.TotalEpochs)
	}
	sameTrials(t, got, want)
}
