package lab_test

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

func TestPruneJobFromARun(t *testing.T) {
	l := lab.New(lab.Options{Workers: 1})
	defer l.Shutdown(time.Second)
	data := lab.DataSpec{Name: "moons", Seed: 1}
	train := lab.TrainSpec{Data: data, Model: "mlp:32,32", Epochs: 10, LR: 0.01, Seed: 1}
	evs := runOne(t, l, lab.TaskTrain, train, train.Job())
	base := evs[len(evs)-1].Result
	if base == nil {
		t.Fatalf("training failed: %v", evs[len(evs)-1].Err)
	}

	out := filepath.Join(t.TempDir(), "p.safetensors")
	spec := lab.PruneSpec{Data: data, BaseRun: base.Run, Method: "structured", Sparsity: 0.5, Epochs: 2, Out: out}
	evs = runOne(t, l, lab.TaskPrune, spec, spec.Job())
	r := evs[len(evs)-1].Result
	if r == nil {
		t.Fatalf("pruning failed: %v", evs[len(evs)-1].Err)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Task != lab.TaskPrune || r.Arch != "mlp:16,16" || r.Method != "structured" || r.Sparsity == nil ||
		len(r.Layers) != 3 || r.Layers[0].RemovedUnits != 16 || r.Layers[2].Layout != "dense" || r.SizeBytes != fi.Size() || r.Epochs != 2 {
		t.Fatalf("result %+v", r)
	}
	if b := r.Baseline; b == nil || b.Arch != "mlp:32,32" || b.SizeBytes != base.SizeBytes || b.LatencyMicros <= 0 || b.TestAccuracy != base.TestAccuracy {
		t.Fatalf("baseline %+v, trained %+v", r.Baseline, base)
	}
	if r.MACs >= base.MACs || r.Params >= base.Params {
		t.Fatalf("structured pruning left %d MACs and %d parameters of %d and %d", r.MACs, r.Params, base.MACs, base.Params)
	}
	for _, e := range evs {
		if e.Kind == lab.Progress && (e.Stats.Phase != "fine-tune" || e.Stats.Sparsity == 0) {
			t.Fatalf("progress without sparsity or phase: %+v", e.Stats)
		}
	}

	// The file it saved prunes further, and its sensitivity runs.
	spec = lab.PruneSpec{ModelFile: out, Method: "global", Sparsity: 0.8}
	evs = runOne(t, l, lab.TaskPrune, spec, spec.Job())
	if r := evs[len(evs)-1].Result; r == nil || *r.Sparsity < 0.79 || r.Baseline.SizeBytes != fi.Size() || r.SizeBytes >= fi.Size() {
		t.Fatalf("pruning the pruned file: %+v (%v)", r, evs[len(evs)-1].Err)
	}
	sens := lab.SensitivitySpec{ModelFile: out}
	evs = runOne(t, l, lab.TaskSensitivity, sens, sens.Job())
	if r := evs[len(evs)-1].Result; r == nil || len(r.Sensitivity) != 3 || len(r.Sensitivity[0].Points) != 11 {
		t.Fatalf("sensitivity: %+v (%v)", r, evs[len(evs)-1].Err)
	}

	for _, bad := range []lab.PruneSpec{
		{Data: data, BaseRun: base.Run, Method: "global", Sparsity: 1.2},
		{Data: data, BaseRun: base.Run, Method: "structured", Schedule: lab.ScheduleGradual, Epochs: 1},
		{Data: data, BaseRun: base.Run, Method: "global", Rewind: true},
		{Data: data, BaseRun: 999, Method: "global"},
	} {
		evs = runOne(t, l, lab.TaskPrune, bad, bad.Job())
		if e := evs[len(evs)-1]; e.Kind != lab.Failed {
			t.Errorf("%+v: %v", bad, e.Kind)
		}
	}
}

// TestPruneSnapshots checks that SnapshotEvery puts the model being
// fine-tuned on the epoch ends' Progress events, zeros and all: each
// snapshot's share of zero weights is the event's sparsity.
func TestPruneSnapshots(t *testing.T) {
	l := lab.New(lab.Options{Workers: 1})
	defer l.Shutdown(time.Second)
	data := lab.DataSpec{Name: "moons", Seed: 1}
	train := lab.TrainSpec{Data: data, Model: "mlp:16,16", Epochs: 3, LR: 0.01, Seed: 1}
	evs := runOne(t, l, lab.TaskTrain, train, train.Job())
	base := evs[len(evs)-1].Result
	if base == nil {
		t.Fatalf("training failed: %v", evs[len(evs)-1].Err)
	}
	for _, sched := range []string{lab.ScheduleOneShot, lab.ScheduleGradual} {
		spec := lab.PruneSpec{Data: data, BaseRun: base.Run, Method: "global", Sparsity: 0.8, Schedule: sched,
			Epochs: 3, SnapshotEvery: 1, Seed: 1}
		evs := runOne(t, l, lab.TaskPrune, spec, spec.Job())
		if last := evs[len(evs)-1]; last.Kind != lab.Finished {
			t.Fatalf("%s: %v", sched, last.Err)
		}
		var snaps []core.Stats
		for _, e := range evs {
			switch {
			case e.Kind != lab.Progress:
			case e.Stats.EpochDone:
				snaps = append(snaps, e.Stats)
			case e.Stats.Snapshot != nil:
				t.Fatalf("%s: a snapshot mid-epoch: %+v", sched, e.Stats)
			}
		}
		if len(snaps) != 3 {
			t.Fatalf("%s: %d epoch ends, want 3", sched, len(snaps))
		}
		for _, st := range snaps {
			if st.Snapshot == nil {
				t.Fatalf("%s: epoch %d has no snapshot", sched, st.Epoch)
			}
			var zeros, total int
			for _, ly := range st.Snapshot.Layers {
				if d, ok := ly.(*core.Dense); ok {
					for _, v := range d.Weight.W.Data {
						if v == 0 {
							zeros++
						}
					}
					total += len(d.Weight.W.Data)
				}
			}
			if got := float64(zeros) / float64(total); math.Abs(got-st.Sparsity) > 1e-9 || st.Sparsity == 0 {
				t.Errorf("%s epoch %d: snapshot %.4f zero, event sparsity %.4f", sched, st.Epoch, got, st.Sparsity)
			}
		}
		if r := evs[len(evs)-1].Result; math.Abs(snaps[2].Sparsity-*r.Sparsity) > 1e-9 {
			t.Errorf("%s: last snapshot at %.4f, result %.4f", sched, snaps[2].Sparsity, *r.Sparsity)
		}
		for _, st := range evs[len(evs)-1].Result.History {
			if st.Snapshot != nil {
				t.Fatalf("%s: the history keeps snapshots", sched)
			}
		}
	}
	// Without it, no snapshots; a negative interval is refused.
	spec := lab.PruneSpec{Data: data, BaseRun: base.Run, Method: "global", Sparsity: 0.5, Epochs: 1}
	for _, e := range runOne(t, l, lab.TaskPrune, spec, spec.Job()) {
		if e.Stats.Snapshot != nil {
			t.Fatal("a snapshot without SnapshotEvery")
		}
	}
	spec.SnapshotEvery = -1
	if evs := runOne(t, l, lab.TaskPrune, spec, spec.Job()); evs[len(evs)-1].Kind != lab.Failed {
		t.Error("SnapshotEvery -1 accepted")
	}
}
