package lab_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

// moonsTeacher trains a small teacher on moons (seed 1) and returns its run.
func moonsTeacher(t *testing.T, l *lab.Lab, out string) *lab.Result {
	t.Helper()
	spec := lab.TrainSpec{Data: lab.DataSpec{Name: "moons", Seed: 1}, Model: "mlp:16", Epochs: 20, LR: 0.01, Seed: 1, Out: out}
	evs := runOne(t, l, lab.TaskTrain, spec, spec.Job())
	last := evs[len(evs)-1]
	if last.Kind != lab.Finished {
		t.Fatalf("training the teacher failed: %v", last.Err)
	}
	return last.Result
}

// epochEnds returns the EpochDone stats of a run's events, by phase.
func epochEnds(evs []lab.Event) (phases []string, byPhase map[string][]core.Stats) {
	byPhase = map[string][]core.Stats{}
	for _, e := range evs {
		if e.Kind == lab.Progress && e.Stats.EpochDone {
			if len(byPhase[e.Stats.Phase]) == 0 {
				phases = append(phases, e.Stats.Phase)
			}
			byPhase[e.Stats.Phase] = append(byPhase[e.Stats.Phase], e.Stats)
		}
	}
	return phases, byPhase
}

func TestDistillJobEndToEnd(t *testing.T) {
	l := lab.New(lab.Options{Workers: 1})
	defer l.Shutdown(time.Second)
	dir := t.TempDir()
	teacherFile, out := filepath.Join(dir, "teacher.safetensors"), filepath.Join(dir, "student.safetensors")
	teacher := moonsTeacher(t, l, teacherFile)

	// No Data: the split recorded in the teacher's file is used.
	spec := lab.DistillSpec{Teacher: teacherFile, Student: "mlp:4", Temperature: 2, Alpha: 0.7, Epochs: 3,
		Batch: 32, LR: 0.01, LabelledFrac: 0.3, Seeds: 2, Seed: 5, Out: out}
	evs := runOne(t, l, lab.TaskDistill, spec, spec.Job())
	last := evs[len(evs)-1]
	if last.Kind != lab.Finished {
		t.Fatalf("distill run ended with %v: %v", last.Kind, last.Err)
	}
	if evs[0].Kind != lab.Started || evs[0].Config.(lab.DistillSpec) != spec {
		t.Errorf("first event %+v, want Started with the spec", evs[0])
	}
	phases, byPhase := epochEnds(evs)
	want := []string{"teacher", "scratch seed 5", "distilled seed 5", "scratch seed 6", "distilled seed 6"}
	if !slices.Equal(phases, want) {
		t.Errorf("phases %q, want %q", phases, want)
	}
	for _, p := range want[1:] {
		if n := len(byPhase[p]); n != 3 {
			t.Errorf("%s: %d epoch ends, want 3", p, n)
		}
	}
	if tv := byPhase["teacher"]; len(tv) != 1 || tv[0].ValAcc < 0.8 || tv[0].Epoch != 0 {
		t.Errorf("teacher event %+v, want its validation accuracy", tv)
	}

	r := last.Result
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Task != lab.TaskDistill || r.Arch != "mlp:4" || r.Dataset != "moons" || r.SizeBytes != fi.Size() ||
		r.Epochs != 3 || r.Seed != 5 || r.Model == nil || len(r.History) != 3 || r.LatencyMicros <= 0 ||
		r.Params != 2*4+4+4*2+2 || r.TrainSeconds <= 0 || r.TrainSamplesPerSec <= 0 {
		t.Errorf("result record %+v", r)
	}
	b := r.Baseline
	if b == nil || b.Arch != "mlp:16" || b.TestAccuracy != teacher.TestAccuracy || b.SizeBytes != teacher.SizeBytes ||
		b.Task != lab.TaskTrain || b.LatencyMicros <= 0 {
		t.Fatalf("baseline %v, want the teacher's record", b)
	}
	if r.TeacherAccuracy == nil || *r.TeacherAccuracy != b.TestAccuracy {
		t.Errorf("teacher_accuracy %v, want the baseline's %v", r.TeacherAccuracy, b.TestAccuracy)
	}
	for name, s := range map[string]*lab.Spread{"scratch": r.ScratchAccuracy, "distilled": r.DistilledAccuracy} {
		if s == nil || len(s.Runs) != 2 {
			t.Fatalf("%s accuracy %+v, want 2 runs", name, s)
		}
		mean := (s.Runs[0] + s.Runs[1]) / 2
		sd := math.Abs(s.Runs[0]-s.Runs[1]) / math.Sqrt2 // n - 1 = 1
		if math.Abs(s.Mean-mean) > 1e-12 || math.Abs(s.SD-sd) > 1e-12 {
			t.Errorf("%s: mean %v sd %v of %v, want %v and %v", name, s.Mean, s.SD, s.Runs, mean, sd)
		}
	}
	if r.TestAccuracy != r.DistilledAccuracy.Runs[0] {
		t.Errorf("the result's model should be the first seed's distilled student: accuracy %v, runs %v",
			r.TestAccuracy, r.DistilledAccuracy.Runs)
	}
	var rec map[string]any
	raw, _ := json.Marshal(r)
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"teacher_accuracy", "scratch_accuracy", "distilled_accuracy", "baseline"} {
		if _, ok := rec[k]; !ok {
			t.Errorf("the JSON record lacks %q: %s", k, raw)
		}
	}
	if s, _ := rec["scratch_accuracy"].(map[string]any); s["mean"] == nil || s["sd"] == nil || s["runs"] == nil {
		t.Errorf("scratch_accuracy = %v, want mean, sd and runs", rec["scratch_accuracy"])
	}

	// The saved student is the result's model.
	if m, info, err := core.LoadModel(out); err != nil || info.Task != lab.TaskDistill || m.Arch != "mlp:4" {
		t.Errorf("saved student: %v, %+v", err, info)
	}
}

// TestDistillAlphaZeroMatchesScratch runs the job with Alpha = 0, where the
// distilled student must be trained exactly as the scratch one: identical
// epoch figures prove that the two share initialization, seed, data order
// and labels. It also takes the teacher from the Lab's results.
func TestDistillAlphaZeroMatchesScratch(t *testing.T) {
	l := lab.New(lab.Options{Workers: 1})
	defer l.Shutdown(time.Second)
	teacher := moonsTeacher(t, l, "")
	spec := lab.DistillSpec{Data: lab.DataSpec{Name: "moons", Seed: 1}, TeacherRun: teacher.Run, Student: "mlp:4",
		Temperature: 3, Alpha: 0, Epochs: 2, LR: 0.01, LabelledFrac: 0.5, Seeds: 2, Seed: 1}
	evs := runOne(t, l, lab.TaskDistill, spec, spec.Job())
	last := evs[len(evs)-1]
	if last.Kind != lab.Finished {
		t.Fatalf("distill run ended with %v: %v", last.Kind, last.Err)
	}
	_, byPhase := epochEnds(evs)
	for _, seed := range []int{1, 2} {
		s, d := byPhase[fmt.Sprintf("scratch seed %d", seed)], byPhase[fmt.Sprintf("distilled seed %d", seed)]
		if len(s) != 2 || len(d) != 2 {
			t.Fatalf("seed %d: %d and %d epoch ends, want 2 each", seed, len(s), len(d))
		}
		for e := range s {
			if s[e].TrainLoss != d[e].TrainLoss || s[e].ValLoss != d[e].ValLoss || s[e].TrainAcc != d[e].TrainAcc {
				t.Errorf("seed %d epoch %d: distilled %+v, scratch %+v", seed, e+1, d[e], s[e])
			}
		}
	}
	r := last.Result
	if !slices.Equal(r.ScratchAccuracy.Runs, r.DistilledAccuracy.Runs) {
		t.Errorf("alpha = 0: scratch %v, distilled %v", r.ScratchAccuracy.Runs, r.DistilledAccuracy.Runs)
	}
	if b := r.Baseline; b.Arch != teacher.Arch || b.TestAccuracy != teacher.TestAccuracy || b.SizeBytes != teacher.SizeBytes {
		t.Errorf("baseline %v, want the teacher run's figures", r.Baseline)
	}
}

func TestDistillHoldBackLabels(t *testing.T) {
	d := &core.Dataset{Name: "counts", SampleShape: []int{1}, Classes: []string{"a", "b", "c"}}
	for c, n := range []int{50, 30, 3} {
		for range n {
			d.X = append(d.X, float32(len(d.Y)))
			d.Y = append(d.Y, c)
		}
	}
	d.Y[0] = -1 // already unlabelled: stays so
	orig := slices.Clone(d.Y)
	h := lab.HoldBackLabels(d, 0.1, 7)
	if !slices.Equal(d.Y, orig) {
		t.Fatal("HoldBackLabels modified its input")
	}
	kept := make([]int, 3)
	for i, y := range h.Y {
		if y >= 0 {
			if y != d.Y[i] {
				t.Fatalf("sample %d: label %d, was %d", i, y, d.Y[i])
			}
			kept[y]++
		}
	}
	// round(0.1 × 49), round(0.1 × 30), and at least one of the 3.
	if !slices.Equal(kept, []int{5, 3, 1}) || h.Y[0] != -1 {
		t.Errorf("labels kept per class %v, want [5 3 1]", kept)
	}
	if again := lab.HoldBackLabels(d, 0.1, 7); !slices.Equal(again.Y, h.Y) {
		t.Error("the same seed chose different labels")
	}
	if other := lab.HoldBackLabels(d, 0.1, 8); slices.Equal(other.Y, h.Y) {
		t.Error("another seed chose the same labels")
	}
	if all := lab.HoldBackLabels(d, 1, 7); !slices.Equal(all.Y, d.Y) {
		t.Error("a fraction of 1 should keep every label")
	}
}

func TestDistillJobErrors(t *testing.T) {
	l := lab.New(lab.Options{Workers: 1})
	defer l.Shutdown(time.Second)
	teacherFile := savedModel(t, l) // trained on moons, seed 0
	base := lab.DistillSpec{Teacher: teacherFile, Student: "mlp:2", Epochs: 1, Seeds: 1, Alpha: 0.5}
	for _, tc := range []struct {
		name string
		edit func(*lab.DistillSpec)
		want string
	}{
		{"other split", func(s *lab.DistillSpec) { s.Data = lab.DataSpec{Name: "moons", Seed: 3} }, "another split"},
		{"no teacher", func(s *lab.DistillSpec) { s.Teacher = "" }, "needs a teacher"},
		{"unknown run", func(s *lab.DistillSpec) { s.Teacher, s.TeacherRun, s.Data.Name = "", 99, "moons" }, "run 99"},
		{"wrong data", func(s *lab.DistillSpec) { s.Data = lab.DataSpec{Name: "blobs"} }, "features"},
		{"bad student", func(s *lab.DistillSpec) { s.Student = "cnn:3" }, "cnn:3"},
		{"bad alpha", func(s *lab.DistillSpec) { s.Alpha = 2 }, "alpha"},
		{"bad fraction", func(s *lab.DistillSpec) { s.LabelledFrac = 1.5 }, "labelled fraction"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := base
			tc.edit(&spec)
			evs := runOne(t, l, lab.TaskDistill, spec, spec.Job())
			last := evs[len(evs)-1]
			if last.Kind != lab.Failed || !strings.Contains(last.Err.Error(), tc.want) {
				t.Errorf("ended with %v %v, want Failed mentioning %q", last.Kind, last.Err, tc.want)
			}
		})
	}
}

// TestDistillRegistersBothStudents checks that a distillation run leaves the
// first seed's two students in the registry, each a result of its own: the
// distilled one under the run's ID, the scratch one under a new ID, with its
// own model, figures and the teacher as baseline.
func TestDistillRegistersBothStudents(t *testing.T) {
	l := lab.New(lab.Options{Workers: 1})
	defer l.Shutdown(time.Second)
	teacher := moonsTeacher(t, l, "")
	spec := lab.DistillSpec{Data: lab.DataSpec{Name: "moons", Seed: 1}, TeacherRun: teacher.Run, Student: "mlp:4",
		Temperature: 2, Alpha: 0.7, Epochs: 2, LR: 0.01, LabelledFrac: 0.5, Seeds: 2, Seed: 3}
	evs := runOne(t, l, lab.TaskDistill, spec, spec.Job())
	last := evs[len(evs)-1]
	if last.Kind != lab.Finished {
		t.Fatalf("distill run ended with %v: %v", last.Kind, last.Err)
	}
	d := last.Result
	sc := d.Scratch
	if sc == nil {
		t.Fatal("the Finished result carries no scratch student")
	}
	if sc.Run == 0 || sc.Run == d.Run || sc.Run == teacher.Run {
		t.Fatalf("scratch run %d, distill run %d, teacher run %d: want a new ID", sc.Run, d.Run, teacher.Run)
	}
	res := l.Results()
	if len(res) != 3 || res[0].Run != teacher.Run || res[1] != d || res[2] != sc {
		t.Fatalf("registry %v, want teacher, distilled, scratch", res)
	}
	if r, ok := l.Result(sc.Run); !ok || r != sc {
		t.Fatalf("Result(%d) = %v, %v", sc.Run, r, ok)
	}
	if r, ok := l.Result(d.Run); !ok || r != d {
		t.Fatalf("Result(%d) = %v, %v", d.Run, r, ok)
	}
	if sc.Task != lab.TaskDistillScratch || d.Task != lab.TaskDistill {
		t.Errorf("tasks %q and %q", d.Task, sc.Task)
	}
	if sc.Model == nil || d.Model == nil || sc.Model == d.Model {
		t.Fatalf("models %p and %p: want two", d.Model, sc.Model)
	}
	if sc.TestAccuracy != d.ScratchAccuracy.Runs[0] || d.TestAccuracy != d.DistilledAccuracy.Runs[0] {
		t.Errorf("accuracies: scratch %v (runs %v), distilled %v (runs %v)",
			sc.TestAccuracy, d.ScratchAccuracy.Runs, d.TestAccuracy, d.DistilledAccuracy.Runs)
	}
	// Same architecture, different weights: the two predict differently
	// somewhere, or at least do not share parameters.
	if &sc.Model.Params()[0].W.Data[0] == &d.Model.Params()[0].W.Data[0] {
		t.Error("the students share their weights")
	}
	if sc.Arch != "mlp:4" || sc.Dataset != "moons" || sc.Data != d.Data || sc.SizeBytes <= 0 || sc.LatencyMicros <= 0 ||
		sc.Params != d.Params || sc.MACs != d.MACs || sc.Epochs != 2 || sc.Seed != 3 || len(sc.History) != 2 ||
		sc.TrainSeconds <= 0 || sc.Scratch != nil || sc.ScratchAccuracy != nil || len(sc.Metrics.Confusion) != 2 {
		t.Errorf("scratch record %+v", sc)
	}
	if b := sc.Baseline; b == nil || b != d.Baseline || b.Arch != teacher.Arch || b.TestAccuracy != teacher.TestAccuracy {
		t.Errorf("scratch baseline %+v, want the teacher's record", sc.Baseline)
	}
	// It can be the baseline, and a later run's ID is after it.
	if !l.SetBaseline(sc.Run) {
		t.Error("SetBaseline refused the scratch student")
	}
	if b, ok := l.Baseline(); !ok || b != sc {
		t.Errorf("baseline %v", b)
	}
	// The JSON record does not repeat the scratch student.
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), `"scratch"`) {
		t.Errorf("the record carries the scratch student: %s", raw)
	}
	next := lab.TrainSpec{Data: lab.DataSpec{Name: "moons", Seed: 1}, Model: "mlp:4", Epochs: 1, Seed: 1}
	if evs := runOne(t, l, lab.TaskTrain, next, next.Job()); evs[0].Run <= sc.Run {
		t.Errorf("next run %d, scratch %d: IDs reused", evs[0].Run, sc.Run)
	}
}
