package lab_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

func TestRegistryKeepsSnapshots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := lab.New(lab.Options{Workers: 1})
		var kept *lab.Result
		job := func(task string, acc float64) lab.Job {
			return func(context.Context, core.Recorder) (*lab.Result, error) {
				r := &lab.Result{Task: task, TestAccuracy: acc}
				kept = r
				return r, nil
			}
		}
		if _, ok := l.Baseline(); ok {
			t.Error("an empty lab has a baseline")
		}
		eval := l.Start(t.Context(), lab.TaskEval, nil, job(lab.TaskEval, 0.5))
		synctest.Wait()
		kept.TestAccuracy = -1 // a misbehaving job: the snapshot must not change
		if _, ok := l.Baseline(); ok {
			t.Error("an eval run became the default baseline")
		}
		train1 := l.Start(t.Context(), lab.TaskTrain, nil, job(lab.TaskTrain, 0.8))
		synctest.Wait()
		train2 := l.Start(t.Context(), lab.TaskTrain, nil, job("", 0.9))
		synctest.Wait()
		failed := l.Start(t.Context(), lab.TaskTrain, nil, func(context.Context, core.Recorder) (*lab.Result, error) {
			return &lab.Result{}, context.Canceled
		})
		synctest.Wait()

		var finished []*lab.Result
		for range 8 { // Started and Finished or Failed for each of the four runs
			if e := <-l.Events(); e.Kind == lab.Finished {
				finished = append(finished, e.Result)
			}
		}

		res := l.Results()
		if len(res) != 3 || res[0].Run != eval || res[1].Run != train1 || res[2].Run != train2 {
			t.Fatalf("Results = %v, want runs %d, %d, %d in finish order", res, eval, train1, train2)
		}
		for i, r := range res {
			if finished[i] != r {
				t.Errorf("Finished event %d carries %p, the registry holds %p: want the same snapshot", i, finished[i], r)
			}
			if got, ok := l.Result(r.Run); !ok || got != r {
				t.Errorf("Result(%d) = %v, %v", r.Run, got, ok)
			}
		}
		if res[0].TestAccuracy != 0.5 {
			t.Errorf("the job's later write changed the snapshot: accuracy %v, want 0.5", res[0].TestAccuracy)
		}
		if res[2].Task != lab.TaskTrain {
			t.Errorf("a result without a task got %q, want the task given to Start", res[2].Task)
		}
		if _, ok := l.Result(failed); ok {
			t.Error("a failed run is in the registry")
		}
		res[0] = nil // the slice is the caller's
		if l.Results()[0] == nil {
			t.Error("modifying the slice from Results changed the registry")
		}

		if b, ok := l.Baseline(); !ok || b.Run != train1 {
			t.Errorf("default baseline = %v, want the first finished train run %d", b, train1)
		}
		if l.SetBaseline(failed) || l.SetBaseline(99) {
			t.Error("SetBaseline accepted a run that did not finish")
		}
		if !l.SetBaseline(train2) {
			t.Fatal("SetBaseline refused a finished run")
		}
		if b, _ := l.Baseline(); b.Run != train2 {
			t.Errorf("baseline after SetBaseline = run %d, want %d", b.Run, train2)
		}
		if r, _ := l.Result(train1); r.Baseline != nil || r.TestAccuracy != 0.8 {
			t.Errorf("marking a baseline changed another result: %+v", r)
		}
		l.Shutdown(time.Second)
	})
}
