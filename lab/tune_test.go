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

// tinySpec is a study small enough for -race: a few tiny models on 400
// samples of moons.
func tinySpec(strategy string, trials, maxEpochs int) lab.TuneSpec {
	return lab.TuneSpec{
		Data: lab.DataSpec{Name: "moons", Samples: 400, Seed: 1},
		Space: core.Space{
			{Name: "lr", Kind: core.LogUniform, Low: 1e-3, High: 1e-1},
			{Name: "units", Kind: core.Integer, Low: 2, High: 16},
		},
		Search: core.SearchConfig{Strategy: strategy, Trials: trials, MaxEpochs: maxEpochs, Seed: 3},
	}
}

// drive runs s on l, passing every event to it as a command line or the TUI
// would, and calls watch (if set) after each change of the study. It
// returns Run's result and error and the events of the study's runs.
func drive(t *testing.T, ctx context.Context, l *lab.Lab, s *lab.TuneStudy, workers int, watch func()) (*lab.Result, error, []lab.Event) {
	t.Helper()
	return driveOn(t, ctx, l, l, s, workers, watch)
}

// driveOn is drive with the study's runs started through starter, which
// starts them on l.
func driveOn(t *testing.T, ctx context.Context, l *lab.Lab, starter lab.Starter, s *lab.TuneStudy, workers int,
	watch func()) (*lab.Result, error, []lab.Event) {
	t.Helper()
	type outcome struct {
		res *lab.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := s.Run(ctx, starter, workers)
		done <- outcome{res, err}
	}()
	var evs []lab.Event
	timeout := time.After(30 * time.Second)
	for {
		select {
		case e := <-l.Events():
			s.Observe(e)
			evs = append(evs, e)
		case <-s.Changed():
			if watch != nil {
				watch()
			}
		case o := <-done:
			return o.res, o.err, evs
		case <-timeout:
			t.Fatal("the study did not end")
		}
	}
}

// copyFile copies the file src to dst, as a crash would leave it, and
// reports whether it did.
func copyFile(t *testing.T, src, dst string) bool {
	b, err := os.ReadFile(src)
	if err != nil {
		t.Error(err)
		return false
	}
	return os.WriteFile(dst, b, 0o644) == nil
}

// startedTrials returns the trial IDs of the Started events, in order.
func startedTrials(evs []lab.Event) []int {
	var ids []int
	for _, e := range evs {
		if e.Kind == lab.Started {
			ids = append(ids, e.Config.(lab.TrialConfig).Trial)
		}
	}
	return ids
}

func TestStudyRandomRecordsEveryTrial(t *testing.T) {
	l := lab.New(lab.Options{Workers: 2})
	defer l.Shutdown(time.Second)
	spec := tinySpec("random", 4, 3)
	spec.Objectives = []string{"accuracy", "size"}
	s, err := lab.NewTuneStudy(spec, "")
	if err != nil {
		t.Fatal(err)
	}
	res, err, evs := drive(t, t.Context(), l, s, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Task != lab.TaskTune || len(res.Trials) != 4 || res.TotalEpochs != 12 {
		t.Fatalf("task %q, %d trials, %d epochs; want tune, 4, 12", res.Task, len(res.Trials), res.TotalEpochs)
	}
	for i, tr := range res.Trials {
		if tr.ID != i+1 || tr.Status != lab.TrialDone || tr.Epochs != 3 || len(tr.Curve) != 3 || tr.Result != nil {
			t.Errorf("trial %+v", tr)
		}
		if tr.ValAccuracy > res.Best.ValAccuracy {
			t.Errorf("trial %d (%.3f) beats the best, trial %d (%.3f)", tr.ID, tr.ValAccuracy, res.Best.ID, res.Best.ValAccuracy)
		}
	}
	if b := res.Best; b.Result == nil || b.Result.Task != lab.TaskTrial || res.TestAccuracy != b.TestAccuracy || res.Model == nil {
		t.Errorf("best %+v, result accuracy %v", b, res.TestAccuracy)
	}
	if res.LatencyMicros <= 0 || res.Best.Result.LatencyMicros != res.LatencyMicros {
		t.Errorf("the best model was not timed: %v, %v", res.LatencyMicros, res.Best.Result.LatencyMicros)
	}
	if len(res.Pareto) == 0 || !slices.Contains(res.Pareto, res.Best.ID) {
		t.Errorf("Pareto set %v should hold the most accurate trial %d", res.Pareto, res.Best.ID)
	}
	if got := startedTrials(evs); len(got) != 4 {
		t.Errorf("started trial runs %v, want one each for 4 trials", got)
	}
	for _, e := range evs {
		if c, ok := e.Config.(lab.TrialConfig); ok {
			if want := fmt.Sprintf("mlp:%d", c.Params["units"]); c.Train.Model != want || c.Train.LR != c.Params["lr"] || c.Train.Epochs != 3 {
				t.Errorf("trial %d with %v trains %+v", c.Trial, c.Params, c.Train)
			}
		}
	}
	epochs := map[int]int{}
	for _, e := range evs {
		if e.Kind == lab.Progress && e.Stats.EpochDone {
			epochs[e.Stats.Trial]++
		}
	}
	if len(epochs) != 4 {
		t.Errorf("epoch events per trial: %v", epochs)
	}

	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"best", "trials", "total_epochs", "pareto", "test_accuracy", "params"} {
		if _, ok := m[k]; !ok {
			t.Errorf("the result JSON has no %q: %s", k, b)
		}
	}
	best := m["best"].(map[string]any)
	for _, k := range []string{"id", "params", "status", "epochs", "val_accuracy", "test_accuracy", "result"} {
		if _, ok := best[k]; !ok {
			t.Errorf("best has no %q", k)
		}
	}
	snap := s.Snapshot()
	if !snap.Done || snap.Best != res.Best.ID || len(snap.Importance) != 2 || len(snap.BestCurve) == 0 {
		t.Errorf("snapshot %+v", snap)
	}
}

func TestStudyASHAContinuesPausedTrials(t *testing.T) {
	l := lab.New(lab.Options{Workers: 2})
	defer l.Shutdown(time.Second)
	s, err := lab.NewTuneStudy(tinySpec("asha", 9, 9), "")
	if err != nil {
		t.Fatal(err)
	}
	res, err, evs := drive(t, t.Context(), l, s, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum, promoted := 0, 0
	for _, tr := range res.Trials {
		sum += tr.Epochs
		if tr.Epochs > 1 {
			promoted++
		}
		if tr.Status != lab.TrialDone && tr.Status != lab.TrialStopped {
			t.Errorf("trial %d ended %s", tr.ID, tr.Status)
		}
	}
	// Promoted trials go on from their paused state: no epoch is trained
	// twice, so the study's count equals the trials' epochs.
	if res.TotalEpochs != sum {
		t.Errorf("total epochs %d, trials' epochs sum to %d", res.TotalEpochs, sum)
	}
	if promoted < 3 || len(res.Trials) != 9 {
		t.Errorf("%d of %d trials were promoted; ASHA with η=3 promotes at least floor(9/3)", promoted, len(res.Trials))
	}
	for _, e := range evs {
		if c, ok := e.Config.(lab.TrialConfig); ok && c.From > 0 && c.From != 1 && c.From != 3 {
			t.Errorf("a promotion from %d epochs; the rungs are 1, 3 and 9", c.From)
		}
	}
	// The same configurations run in full by random search: a paused and
	// promoted trial trains exactly as if it had never paused, so each of
	// ASHA's learning curves starts the one random search saw.
	rs, err := lab.NewTuneStudy(tinySpec("random", 9, 9), "")
	if err != nil {
		t.Fatal(err)
	}
	full, err, _ := drive(t, t.Context(), l, rs, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, tr := range res.Trials {
		if f := full.Trials[i]; !equalParams(tr.Params, f.Params) || !slices.Equal(tr.Curve, f.Curve[:len(tr.Curve)]) {
			t.Errorf("trial %d: ASHA %v %v\nrandom search %v %v", tr.ID, tr.Params, tr.Curve, f.Params, f.Curve)
		}
	}

	us, _ := s.Updates(0)
	var kinds []string
	ended := map[int]string{}
	for _, u := range us {
		kinds = append(kinds, u.Event)
		if e, ok := ended[u.Trial]; ok {
			t.Errorf("trial %d: %q after it ended %s", u.Trial, u.Event, e)
		}
		if u.Event == lab.TrialDone || u.Event == lab.TrialStopped {
			ended[u.Trial] = u.Event
		}
	}
	if !slices.Contains(kinds, "paused") || !slices.Contains(kinds, "promoted") {
		t.Errorf("updates %v: want pauses and promotions", kinds)
	}
}

func TestStudyResumesAfterACrashWithNoTrialLostOrRunTwice(t *testing.T) {
	// Run a study to the end, copying its state file as it was when two
	// trials had finished: the state a killed process leaves. Resuming from
	// the copy must keep those two, train the others, and end with the same
	// trials as the uninterrupted study (one worker: the order is fixed and
	// a trial trained again gives the same numbers).
	dir := t.TempDir()
	state, crash := filepath.Join(dir, "study.json"), filepath.Join(dir, "crash.json")
	spec := tinySpec("tpe", 6, 2)
	spec.Search.Startup = 3
	s, err := lab.NewTuneStudy(spec, state)
	if err != nil {
		t.Fatal(err)
	}
	l := lab.New(lab.Options{Workers: 1})
	defer l.Shutdown(time.Second)
	copied := false
	full, err, _ := drive(t, t.Context(), l, s, 1, func() {
		if copied {
			return
		}
		done := 0
		for _, tr := range s.Snapshot().Trials {
			if tr.Status == lab.TrialDone {
				done++
			}
		}
		if done == 2 {
			copied = copyFile(t, state, crash)
		}
	})
	if err != nil || !copied {
		t.Fatalf("first run: %v (state copied: %v)", err, copied)
	}

	r, err := lab.ResumeTuneStudy(crash)
	if err != nil {
		t.Fatal(err)
	}
	before := r.Snapshot()
	var kept []int
	for _, tr := range before.Trials {
		if tr.Status == lab.TrialDone {
			kept = append(kept, tr.ID)
		}
	}
	l2 := lab.New(lab.Options{Workers: 1})
	defer l2.Shutdown(time.Second)
	res, err, evs := drive(t, t.Context(), l2, r, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	started := startedTrials(evs)
	for _, id := range kept {
		if slices.Contains(started, id) {
			t.Errorf("trial %d had finished before the crash but ran again", id)
		}
	}
	if len(kept) != 2 || len(started) != 4 {
		t.Errorf("kept %v, ran %v after the resume; want 2 kept and the other 4 run", kept, started)
	}
	if len(res.Trials) != len(full.Trials) {
		t.Fatalf("%d trials after the resume, %d without a crash", len(res.Trials), len(full.Trials))
	}
	for i, tr := range res.Trials {
		f := full.Trials[i]
		if tr.ID != i+1 || tr.Status != f.Status || tr.ValAccuracy != f.ValAccuracy || tr.TestAccuracy != f.TestAccuracy ||
			tr.Epochs != f.Epochs || !equalParams(tr.Params, f.Params) {
			t.Errorf("trial %d: %+v\nwithout a crash: %+v", tr.ID, tr, f)
		}
	}
	if res.TotalEpochs < full.TotalEpochs {
		t.Errorf("total epochs %d after the resume < %d without a crash", res.TotalEpochs, full.TotalEpochs)
	}

	// A finished study resumes to its result at once.
	again, err := lab.ResumeTuneStudy(crash)
	if err != nil {
		t.Fatal(err)
	}
	l3 := lab.New(lab.Options{Workers: 1})
	defer l3.Shutdown(time.Second)
	res3, err, evs3 := drive(t, t.Context(), l3, again, 1, nil)
	if err != nil || len(evs3) != 0 || res3.Best.ID != res.Best.ID {
		t.Errorf("resuming a finished study: %v, %d events, best %d (want %d)", err, len(evs3), res3.Best.ID, res.Best.ID)
	}
}

func equalParams(a, b map[string]any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestStudyInterruptedByItsContextResumes(t *testing.T) {
	state := filepath.Join(t.TempDir(), "study.json")
	s, err := lab.NewTuneStudy(tinySpec("random", 5, 3), state)
	if err != nil {
		t.Fatal(err)
	}
	l := lab.New(lab.Options{Workers: 2})
	ctx, cancel := context.WithCancel(t.Context())
	_, err, _ = drive(t, ctx, l, s, 2, func() {
		for _, u := range first(s.Updates(0)) {
			if u.Event == lab.TrialDone {
				cancel()
			}
		}
	})
	l.Shutdown(time.Second)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	r, err := lab.ResumeTuneStudy(state)
	if err != nil {
		t.Fatal(err)
	}
	l2 := lab.New(lab.Options{Workers: 2})
	defer l2.Shutdown(time.Second)
	res, err, evs := drive(t, t.Context(), l2, r, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Trials) != 5 {
		t.Fatalf("%d trials, want 5", len(res.Trials))
	}
	for _, tr := range res.Trials {
		if tr.Status != lab.TrialDone || tr.Epochs != 3 {
			t.Errorf("trial %d: %s after %d epochs", tr.ID, tr.Status, tr.Epochs)
		}
	}
	started := startedTrials(evs)
	slices.Sort(started)
	if len(slices.Compact(started)) != len(started) {
		t.Errorf("a trial ran twice after the resume: %v", started)
	}
}

// first returns the first of two values.
func first[A, B any](a A, _ B) A { return a }

// trialCanceller is a Starter that cancels trial 2 of study s through
// s.Cancel when the trial ends its first epoch, from the run's recorder:
// the cancel lands while the trial trains however busy the machine is.
type trialCanceller struct {
	*lab.Lab
	s         *lab.TuneStudy
	cancelled bool
}

func (c *trialCanceller) Start(ctx context.Context, task string, config any, job lab.Job) lab.RunID {
	return c.Lab.Start(ctx, task, config, func(ctx context.Context, rec core.Recorder) (*lab.Result, error) {
		return job(ctx, func(st core.Stats) error {
			if st.EpochDone && st.Trial == 2 && st.Epoch == 1 {
				c.cancelled = c.s.Cancel(2)
			}
			return rec(st)
		})
	})
}

func TestStudyCancelTrial(t *testing.T) {
	l := lab.New(lab.Options{Workers: 1})
	defer l.Shutdown(time.Second)
	s, err := lab.NewTuneStudy(tinySpec("random", 3, 50), "")
	if err != nil {
		t.Fatal(err)
	}
	c := &trialCanceller{Lab: l, s: s}
	res, err, _ := driveOn(t, t.Context(), l, c, s, 1, nil)
	if err != nil || !c.cancelled {
		t.Fatalf("Run: %v; cancelled: %v", err, c.cancelled)
	}
	want := []string{lab.TrialDone, lab.TrialCancelled, lab.TrialDone}
	for i, tr := range res.Trials {
		if tr.Status != want[i] {
			t.Errorf("trial %d: %s, want %s", tr.ID, tr.Status, want[i])
		}
	}
	if tr := res.Trials[1]; tr.Epochs > 2 {
		t.Errorf("the cancelled trial trained %d epochs, want it stopped after 1 (or 2)", tr.Epochs)
	}
	if s.Cancel(2) || s.Cancel(9) {
		t.Error("cancelled an ended or unknown trial")
	}
}

func TestStudyEpochBudget(t *testing.T) {
	l := lab.New(lab.Options{Workers: 1})
	defer l.Shutdown(time.Second)
	spec := tinySpec("random", 10, 3)
	spec.Budget.Epochs = 7
	s, err := lab.NewTuneStudy(spec, "")
	if err != nil {
		t.Fatal(err)
	}
	res, err, _ := drive(t, t.Context(), l, s, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.TotalEpochs != 7 || len(res.Trials) != 3 || !strings.Contains(res.Stopped, "budget of 7 epochs") {
		t.Errorf("%d epochs, %d trials, stopped %q; want 7 epochs over 3 trials and the budget named",
			res.TotalEpochs, len(res.Trials), res.Stopped)
	}
	if st := res.Trials[2]; st.Status != lab.TrialStopped || st.Epochs != 1 {
		t.Errorf("the last trial: %s after %d epochs, want stopped after 1", st.Status, st.Epochs)
	}
}

func TestResumeRejectsAForeignOrTamperedFile(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "study.json")
	s, err := lab.NewTuneStudy(tinySpec("random", 2, 1), state)
	if err != nil {
		t.Fatal(err)
	}
	l := lab.New(lab.Options{Workers: 1})
	defer l.Shutdown(time.Second)
	if _, err, _ := drive(t, t.Context(), l, s, 1, nil); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(state)
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	st["log"].([]any)[1].(map[string]any)["decision"] = "pause" // random search never pauses
	bad, _ := json.Marshal(st)
	tampered := filepath.Join(dir, "tampered.json")
	foreign := filepath.Join(dir, "foreign.json")
	os.WriteFile(tampered, bad, 0o644)
	os.WriteFile(foreign, []byte(`{"a": 1}`), 0o644)
	for path, want := range map[string]string{tampered: "does not replay", foreign: "not an optlab study"} {
		if _, err := lab.ResumeTuneStudy(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error containing %q", filepath.Base(path), err, want)
		}
	}
}

func TestParseSpace(t *testing.T) {
	space, err := lab.ParseSpace([]byte(`
# a small space
lr: {log_uniform: [1e-4, 3e-2]}
units: {int: [16, 256], log: true, points: 2}
layers: {int: [1, 2]}
batch: [32, 64]
activation: [relu, tanh]
dropout: 0.1
`))
	if err != nil {
		t.Fatal(err)
	}
	want := core.Space{
		{Name: "lr", Kind: core.LogUniform, Low: 1e-4, High: 3e-2},
		{Name: "units", Kind: core.Integer, Low: 16, High: 256, Log: true, Points: 2},
		{Name: "layers", Kind: core.Integer, Low: 1, High: 2},
		{Name: "batch", Kind: core.Categorical, Values: []string{"32", "64"}},
		{Name: "activation", Kind: core.Categorical, Values: []string{"relu", "tanh"}},
		{Name: "dropout", Kind: core.Categorical, Values: []string{"0.1"}},
	}
	gb, _ := json.Marshal(space)
	wb, _ := json.Marshal(want)
	if string(gb) != string(wb) {
		t.Errorf("space\n %s\nwant\n %s", gb, wb)
	}
	bad := map[string]string{
		"lr: {uniform: [1]}":                        "line 1: lr: uniform: want [low, high]",
		"size: [1, 2]":                              `unknown parameter "size"`,
		"activation: {uniform: [0, 1]}":             `"activation" takes a list of choices`,
		"batch: {uniform: [16, 64]}":                `"batch" takes whole numbers`,
		"lr: [0.1, fast]":                           "fast is not a positive number",
		"units: [8]\nhidden: ['32,16']":             "one of: units and layers, hidden, or model",
		"dropout: {uniform: [0, 1.5]}":              "1.5 is not a rate in [0, 1)",
		"lr:\n  log_uniform: [1e-4, 1e-2]\n  ln: 1": `unknown key "ln"`,
		"- lr": "a mapping from parameter names",
	}
	for src, want := range bad {
		if _, err := lab.ParseSpace([]byte(src)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error containing %q", src, err, want)
		}
	}
	if _, err := lab.NewTuneStudy(lab.TuneSpec{Data: lab.DataSpec{Name: "moons"}}, ""); err != nil {
		t.Errorf("the default space: %v", err)
	}
}

// stateLog reads the log of a study's state file.
func stateLog(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Log []map[string]any }
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st.Log
}

func TestStudyLatencyObjectiveGoesToTheStrategy(t *testing.T) {
	// Every trial's latency is measured before its first epoch, shown in
	// its record from then on, and sent with each report: the state file's
	// reports carry it, and resuming the finished study keeps the figures
	// (a latency measured again would differ).
	state := filepath.Join(t.TempDir(), "study.json")
	spec := tinySpec("asha", 6, 3)
	spec.Objectives = []string{"accuracy", "latency"}
	s, err := lab.NewTuneStudy(spec, state)
	if err != nil {
		t.Fatal(err)
	}
	l := lab.New(lab.Options{Workers: 2})
	defer l.Shutdown(time.Second)
	res, err, _ := drive(t, t.Context(), l, s, 2, func() {
		for _, tr := range s.Snapshot().Trials {
			if tr.Epochs > 0 && tr.LatencyMicros <= 0 {
				t.Errorf("trial %d has trained %d epochs without a latency", tr.ID, tr.Epochs)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Spec().Search.Objectives != 2 {
		t.Errorf("the strategy searches on %d objectives, want 2", s.Spec().Search.Objectives)
	}
	latency := map[int]float64{}
	for _, tr := range res.Trials {
		if tr.LatencyMicros <= 0 {
			t.Errorf("trial %d: no latency", tr.ID)
		}
		latency[tr.ID] = tr.LatencyMicros
	}
	reports := 0
	for _, e := range stateLog(t, state) {
		if e["op"] == "report" {
			reports++
			if id := int(e["id"].(float64)); e["cost"] != latency[id] {
				t.Errorf("a report of trial %d carries cost %v, its latency is %v", id, e["cost"], latency[id])
			}
		}
	}
	if reports == 0 || len(res.Pareto) == 0 || res.ThroughputSPS <= 0 {
		t.Errorf("%d reports, Pareto set %v, throughput %v", reports, res.Pareto, res.ThroughputSPS)
	}
	r, err := lab.ResumeTuneStudy(state)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range r.Snapshot().Trials {
		if tr.LatencyMicros != latency[tr.ID] {
			t.Errorf("trial %d: latency %v after resuming, %v before", tr.ID, tr.LatencyMicros, latency[tr.ID])
		}
	}
	if p := r.Snapshot().Pareto; !slices.Equal(p, res.Pareto) {
		t.Errorf("Pareto set %v after resuming, %v before", p, res.Pareto)
	}
}

func TestStudySizeObjectiveResumesExactly(t *testing.T) {
	// ASHA on accuracy and size, with a crash after three trials have
	// reported: resuming replays the reports with their sizes and ends
	// exactly as the uninterrupted study (one worker: the order is fixed,
	// and sizes, unlike latencies, come out the same when measured again).
	dir := t.TempDir()
	state, crash, out := filepath.Join(dir, "study.json"), filepath.Join(dir, "crash.json"), filepath.Join(dir, "best.safetensors")
	spec := tinySpec("asha", 9, 3)
	spec.Objectives = []string{"accuracy", "size"}
	spec.Out = out
	s, err := lab.NewTuneStudy(spec, state)
	if err != nil {
		t.Fatal(err)
	}
	l := lab.New(lab.Options{Workers: 1})
	defer l.Shutdown(time.Second)
	copied := false
	full, err, _ := drive(t, t.Context(), l, s, 1, func() {
		reported := 0
		for _, tr := range s.Snapshot().Trials {
			if tr.Epochs > 0 {
				reported++
			}
		}
		if !copied && reported == 3 {
			copied = copyFile(t, state, crash)
		}
	})
	if err != nil || !copied {
		t.Fatalf("first run: %v (state copied: %v)", err, copied)
	}
	// A trial's size depends on its architecture alone; the study's is
	// that of the best model's file.
	byUnits := map[any]int64{}
	for _, tr := range full.Trials {
		u := tr.Params["units"]
		if size, ok := byUnits[u]; ok && size != tr.SizeBytes || tr.SizeBytes <= 0 {
			t.Errorf("trial %d of %v units: %d bytes, another of as many units %d", tr.ID, u, tr.SizeBytes, size)
		}
		byUnits[u] = tr.SizeBytes
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() != full.SizeBytes {
		t.Errorf("the best model's file: %v, %v; the result says %d bytes", fi, err, full.SizeBytes)
	}

	r, err := lab.ResumeTuneStudy(crash)
	if err != nil {
		t.Fatal(err)
	}
	l2 := lab.New(lab.Options{Workers: 1})
	defer l2.Shutdown(time.Second)
	res, err, _ := drive(t, t.Context(), l2, r, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Trials) != len(full.Trials) || !slices.Equal(res.Pareto, full.Pareto) {
		t.Fatalf("%d trials and Pareto set %v after the resume; %d and %v without a crash",
			len(res.Trials), res.Pareto, len(full.Trials), full.Pareto)
	}
	for i, tr := range res.Trials {
		f := full.Trials[i]
		if tr.Status != f.Status || tr.Epochs != f.Epochs || tr.ValAccuracy != f.ValAccuracy || tr.SizeBytes != f.SizeBytes {
			t.Errorf("trial %d: %+v\nwithout a crash: %+v", tr.ID, tr, f)
		}
	}

	// A state file of an older optlab, whose multi-objective studies
	// searched on accuracy alone, has no costs in its reports: refused.
	b, _ := os.ReadFile(crash)
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	for _, e := range st["log"].([]any) {
		delete(e.(map[string]any), "cost")
	}
	old := filepath.Join(dir, "old.json")
	b, _ = json.Marshal(st)
	os.WriteFile(old, b, 0o644)
	if _, err := lab.ResumeTuneStudy(old); err == nil || !strings.Contains(err.Error(), "carry no cost") {
		t.Errorf("resuming a multi-objective study without costs: %v", err)
	}
}
