package lab_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

// tick is a job that records progress every step until cancelled.
func tick(step time.Duration) lab.Job {
	return func(ctx context.Context, rec core.Recorder) (*lab.Result, error) {
		for e := 1; ; e++ {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(step):
				_ = rec(core.Stats{Epoch: e})
			}
		}
	}
}

// finishAfter is a job that waits d, then returns a result.
func finishAfter(d time.Duration, acc float64) lab.Job {
	return func(ctx context.Context, rec core.Recorder) (*lab.Result, error) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(d):
			return &lab.Result{Task: lab.TaskTrain, TestAccuracy: acc}, nil
		}
	}
}

// drain reads the stream until Shutdown closes it.
func drain(l *lab.Lab) []lab.Event {
	var evs []lab.Event
	for e := range l.Events() {
		evs = append(evs, e)
	}
	return evs
}

// byRun groups events by run, keeping their order.
func byRun(evs []lab.Event) map[lab.RunID][]lab.Event {
	m := make(map[lab.RunID][]lab.Event)
	for _, e := range evs {
		m[e.Run] = append(m[e.Run], e)
	}
	return m
}

// kinds renders a run's event kinds, e.g. "started progress finished".
func kinds(evs []lab.Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.Kind.String())
	}
	return strings.Join(s, " ")
}

func TestCancelEndsWithFailedAndThrottles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := lab.New(lab.Options{Workers: 2, ProgressEvery: 100 * time.Millisecond})
		id := l.Start(t.Context(), "train", "cfg", tick(10*time.Millisecond))
		time.Sleep(time.Second) // fake clock: returns at once
		l.Cancel(id)
		synctest.Wait()
		if got := l.Running(); len(got) != 0 {
			t.Errorf("Running after cancel = %v, want none", got)
		}
		l.Shutdown(time.Second)

		evs := drain(l)
		if len(evs) < 2 {
			t.Fatalf("got %d events, want at least Started and Failed", len(evs))
		}
		if first := evs[0]; first.Kind != lab.Started || first.Run != id || first.Task != "train" || first.Config != "cfg" {
			t.Errorf("first event = %+v, want Started of run %d with its task and config", first, id)
		}
		last := evs[len(evs)-1]
		if last.Kind != lab.Failed || !errors.Is(last.Err, context.Canceled) {
			t.Fatalf("last event = %+v, want Failed(context.Canceled)", last)
		}
		progress := len(evs) - 2
		if progress > 11 || progress < 5 { // 1 s / 100 ms, plus the first
			t.Errorf("%d Progress events in 1 s at 100 ms, want 5 to 11", progress)
		}
		if _, ok := l.Result(id); ok {
			t.Error("a cancelled run is in the registry")
		}
	})
}

func TestProgressIsThrottledWhileReaderKeepsUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const every = 50 * time.Millisecond
		l := lab.New(lab.Options{ProgressEvery: every})
		var calls int
		start := time.Now()
		id := l.Start(t.Context(), "train", nil, func(ctx context.Context, rec core.Recorder) (*lab.Result, error) {
			for range 1000 {
				time.Sleep(time.Millisecond)
				calls++
				if err := rec(core.Stats{Step: calls}); err != nil {
					return nil, err
				}
			}
			return &lab.Result{}, nil
		})
		var progress []lab.Event
		for e := range l.Events() {
			if e.Kind == lab.Progress {
				progress = append(progress, e)
			}
			if e.Kind == lab.Finished || e.Kind == lab.Failed {
				break
			}
		}
		elapsed := time.Since(start)
		l.Shutdown(time.Second)

		bound := int(elapsed/every) + 1
		if len(progress) > bound {
			t.Errorf("%d Progress events in %v at one per %v, want at most %d", len(progress), elapsed, every, bound)
		}
		if len(progress) < bound/2 {
			t.Errorf("only %d Progress events reached a reader that keeps up, want about %d", len(progress), bound)
		}
		for i := 1; i < len(progress); i++ {
			if gap := progress[i].Time.Sub(progress[i-1].Time); gap < every {
				t.Errorf("Progress %d came %v after the previous one, want ≥ %v", i, gap, every)
			}
			if progress[i].Run != id || progress[i].Stats.Step <= progress[i-1].Stats.Step {
				t.Errorf("Progress %d = %+v: wrong run or stats out of order", i, progress[i])
			}
		}
	})
}

func TestSlowReaderNeverBlocksProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := lab.New(lab.Options{Buffer: 2, ProgressEvery: time.Nanosecond})
		returned := make(chan struct{})
		l.Start(t.Context(), "train", nil, func(ctx context.Context, rec core.Recorder) (*lab.Result, error) {
			defer close(returned)
			for i := range 1000 {
				time.Sleep(time.Microsecond)
				_ = rec(core.Stats{Step: i})
			}
			return &lab.Result{}, nil
		})
		time.Sleep(time.Second) // nobody reads: the stream is full after Started and one Progress
		synctest.Wait()
		select {
		case <-returned:
		default:
			t.Fatal("the job is blocked although nobody reads Progress")
		}
		// Finished waits for room, and gets it once the reader reads.
		var got []string
		for e := range l.Events() {
			got = append(got, e.Kind.String())
			if e.Kind == lab.Finished {
				break
			}
		}
		l.Shutdown(time.Second)
		if want := "started progress finished"; strings.Join(got, " ") != want {
			t.Errorf("events = %q, want %q", got, want)
		}
	})
}

func TestShutdownWithNobodyReading(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		before := runtime.NumGoroutine()
		const buffer, runs = 3, 20
		l := lab.New(lab.Options{Workers: 4, Buffer: buffer})
		for i := range runs {
			job := finishAfter(time.Millisecond, 0.5)
			if i%2 == 0 {
				job = tick(time.Millisecond) // ends only on cancel
			}
			l.Start(t.Context(), "train", nil, job)
		}
		time.Sleep(time.Second)
		synctest.Wait() // every run is now blocked on the full stream

		const timeout = 2 * time.Second
		start := time.Now()
		l.Shutdown(timeout)
		if waited := time.Since(start); waited > timeout {
			t.Errorf("Shutdown took %v, want at most %v", waited, timeout)
		}
		synctest.Wait()
		if n := runtime.NumGoroutine(); n > before {
			t.Errorf("%d goroutines after Shutdown, %d before New", n, before)
		}
		evs := drain(l) // the stream is closed: this ends
		if len(evs) > buffer {
			t.Errorf("%d events after Shutdown, want at most the buffer's %d", len(evs), buffer)
		}
		if id := l.Start(t.Context(), "train", nil, finishAfter(0, 1)); id != 0 {
			t.Errorf("Start after Shutdown = %d, want 0", id)
		}
		l.Shutdown(timeout) // a second call returns
	})
}

func TestShutdownReturnsEarlyWhenRunsEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := lab.New(lab.Options{Workers: 2})
		for range 5 {
			l.Start(t.Context(), "train", nil, tick(time.Millisecond))
		}
		start := time.Now()
		l.Shutdown(time.Hour)
		if waited := time.Since(start); waited != 0 {
			t.Errorf("Shutdown waited %v with room in the stream, want no wait", waited)
		}
		for id, evs := range byRun(drain(l)) {
			if last := evs[len(evs)-1]; last.Kind != lab.Failed || !errors.Is(last.Err, context.Canceled) {
				t.Errorf("run %d ended with %+v, want Failed(context.Canceled)", id, last)
			}
		}
	})
}

func TestLifecycleOrderPerRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := lab.New(lab.Options{Workers: 3, Buffer: 4, ProgressEvery: time.Millisecond})
		ctx, cancelSome := context.WithCancel(t.Context())
		var ids []lab.RunID
		for i := range 30 {
			var job lab.Job
			switch i % 3 {
			case 0:
				job = finishAfter(time.Duration(i)*time.Millisecond, 0.9)
			case 1:
				job = func(ctx context.Context, rec core.Recorder) (*lab.Result, error) {
					for s := range 20 {
						time.Sleep(time.Millisecond)
						_ = rec(core.Stats{Step: s})
					}
					return nil, errors.New("diverged")
				}
			case 2:
				job = tick(time.Millisecond)
			}
			runCtx := t.Context()
			if i%5 == 0 {
				runCtx = ctx
			}
			ids = append(ids, l.Start(runCtx, "train", i, job))
		}
		for i, id := range ids {
			if id != lab.RunID(i+1) {
				t.Fatalf("run IDs = %v, want 1, 2, 3, ...", ids)
			}
		}
		done := make(chan []lab.Event)
		go func() { done <- drain(l) }()
		time.Sleep(5 * time.Millisecond)
		cancelSome()
		time.Sleep(time.Second)
		l.Shutdown(time.Second)
		runs := byRun(<-done)

		for _, id := range ids {
			evs := runs[id]
			seq := kinds(evs)
			terminal := 0
			for j, e := range evs {
				if e.Run != id {
					t.Fatalf("run %d got an event of run %d", id, e.Run)
				}
				switch e.Kind {
				case lab.Started:
					if j != 0 {
						t.Errorf("run %d: Started not first: %s", id, seq)
					}
				case lab.Progress:
					if j == 0 || evs[0].Kind != lab.Started {
						t.Errorf("run %d: Progress before Started: %s", id, seq)
					}
				case lab.Finished, lab.Failed:
					terminal++
					if j != len(evs)-1 {
						t.Errorf("run %d: events after the end: %s", id, seq)
					}
				}
			}
			if terminal != 1 {
				t.Errorf("run %d: %d Finished/Failed events, want exactly 1: %s", id, terminal, seq)
			}
		}
	})
}

func TestPoolIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const workers = 3
		l := lab.New(lab.Options{Workers: workers})
		var running, most atomic.Int32
		job := func(ctx context.Context, rec core.Recorder) (*lab.Result, error) {
			n := running.Add(1)
			defer running.Add(-1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(10 * time.Millisecond)
			return &lab.Result{}, nil
		}
		for range 12 {
			l.Start(t.Context(), "train", nil, job)
		}
		synctest.Wait()
		if got := len(l.Running()); got != 12 {
			t.Errorf("Running lists %d runs, want all 12 (queued ones too)", got)
		}
		finished := 0
		for e := range l.Events() {
			if e.Kind == lab.Finished {
				if finished++; finished == 12 {
					break
				}
			}
		}
		l.Shutdown(time.Second)
		if m := most.Load(); m != workers {
			t.Errorf("at most %d jobs ran at once, want exactly %d", m, workers)
		}
	})
}

func TestCancelWhileQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := lab.New(lab.Options{Workers: 1})
		busy := l.Start(t.Context(), "train", nil, tick(time.Millisecond))
		queued := l.Start(t.Context(), "train", nil, func(context.Context, core.Recorder) (*lab.Result, error) {
			t.Error("a cancelled queued job ran")
			return nil, nil
		})
		synctest.Wait()
		l.Cancel(queued)
		l.Cancel(queued) // twice is harmless
		synctest.Wait()
		l.Cancel(busy)
		l.Shutdown(time.Second)
		runs := byRun(drain(l))
		if got := kinds(runs[queued]); got != "failed" {
			t.Errorf("queued run's events = %q, want just failed", got)
		} else if err := runs[queued][0].Err; !errors.Is(err, context.Canceled) {
			t.Errorf("queued run failed with %v, want context.Canceled", err)
		}
	})
}

func TestPanicBecomesFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := lab.New(lab.Options{})
		bad := l.Start(t.Context(), "train", nil, func(context.Context, core.Recorder) (*lab.Result, error) {
			var m map[string]int
			m["x"] = 1 // panics: assignment to entry in nil map
			return nil, nil
		})
		huge := l.Start(t.Context(), "train", nil, func(context.Context, core.Recorder) (*lab.Result, error) {
			panic(strings.Repeat("é", 1000))
		})
		empty := l.Start(t.Context(), "train", nil, func(context.Context, core.Recorder) (*lab.Result, error) {
			return nil, nil
		})
		good := l.Start(t.Context(), "train", nil, finishAfter(time.Millisecond, 1))
		time.Sleep(time.Second)
		l.Shutdown(time.Second)
		runs := byRun(drain(l))

		if e := runs[bad][len(runs[bad])-1]; e.Kind != lab.Failed || e.Err.Error() != "internal error: assignment to entry in nil map" {
			t.Errorf("panicking run ended with %v %v, want Failed(internal error: assignment to entry in nil map)", e.Kind, e.Err)
		}
		e := runs[huge][len(runs[huge])-1]
		if msg := e.Err.Error(); e.Kind != lab.Failed || len(msg) > 250 || !strings.HasPrefix(msg, "internal error: éé") || !strings.HasSuffix(msg, "é…") {
			t.Errorf("a long panic gave %v %q, want a short Failed(internal error: éé…)", e.Kind, msg)
		}
		if e := runs[empty][len(runs[empty])-1]; e.Kind != lab.Failed || !strings.HasPrefix(e.Err.Error(), "internal error") {
			t.Errorf("a job returning (nil, nil) ended with %v %v, want Failed(internal error ...)", e.Kind, e.Err)
		}
		if got := kinds(runs[good]); got != "started finished" {
			t.Errorf("the lab after a panic: events %q, want started finished", got)
		}
	})
}

func TestCancelledJobReturningResultFinishes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := lab.New(lab.Options{})
		id := l.Start(t.Context(), "train", nil, func(ctx context.Context, rec core.Recorder) (*lab.Result, error) {
			<-ctx.Done()
			if err := rec(core.Stats{}); !errors.Is(err, context.Canceled) {
				t.Errorf("recorder after cancel returned %v, want context.Canceled", err)
			}
			return &lab.Result{TestAccuracy: 0.5}, nil // keeps what it has
		})
		synctest.Wait()
		l.Cancel(id)
		l.Shutdown(time.Second)
		evs := drain(l)
		if last := evs[len(evs)-1]; last.Kind != lab.Finished || last.Result.TestAccuracy != 0.5 {
			t.Errorf("last event %+v, want Finished with the job's result", last)
		}
	})
}

func TestRecorderAfterReturnSendsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := lab.New(lab.Options{ProgressEvery: time.Nanosecond})
		var leaked core.Recorder
		l.Start(t.Context(), "train", nil, func(ctx context.Context, rec core.Recorder) (*lab.Result, error) {
			leaked = rec
			return &lab.Result{}, nil
		})
		synctest.Wait()
		if err := leaked(core.Stats{}); err == nil {
			t.Error("a recorder called after its job returned accepted the call")
		}
		l.Shutdown(time.Second)
		if got := kinds(drain(l)); got != "started finished" {
			t.Errorf("events = %q, want started finished", got)
		}
	})
}

func TestParentContextCancelsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := lab.New(lab.Options{})
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		l.Start(ctx, "train", nil, tick(time.Millisecond))
		time.Sleep(2 * time.Second)
		l.Shutdown(time.Second)
		evs := drain(l)
		if last := evs[len(evs)-1]; last.Kind != lab.Failed || !errors.Is(last.Err, context.DeadlineExceeded) {
			t.Errorf("last event %+v, want Failed(context.DeadlineExceeded)", last)
		}
	})
}

func TestCancelAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := lab.New(lab.Options{Workers: 2})
		for range 5 {
			l.Start(t.Context(), "train", nil, tick(time.Millisecond))
		}
		synctest.Wait()
		l.CancelAll()
		synctest.Wait()
		if got := l.Running(); len(got) != 0 {
			t.Errorf("Running after CancelAll = %v, want none", got)
		}
		l.Shutdown(time.Second)
		runs := byRun(drain(l))
		if len(runs) != 5 {
			t.Fatalf("events from %d runs, want 5", len(runs))
		}
		for id, evs := range runs {
			if last := evs[len(evs)-1]; last.Kind != lab.Failed || !errors.Is(last.Err, context.Canceled) {
				t.Errorf("run %d ended with %+v, want Failed(context.Canceled)", id, last)
			}
		}
	})
}

func TestEventKindString(t *testing.T) {
	for k, want := range map[lab.EventKind]string{
		lab.Started: "started", lab.Progress: "progress", lab.Finished: "finished", lab.Failed: "failed", 9: "EventKind(9)",
	} {
		if got := k.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(k), got, want)
		}
	}
}

func TestRunsGetSlotsInStartOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := lab.New(lab.Options{Workers: 1})
		var order []int
		for i := range 10 {
			l.Start(t.Context(), "train", nil, func(context.Context, core.Recorder) (*lab.Result, error) {
				order = append(order, i) // one worker: no two jobs run at once
				time.Sleep(time.Millisecond)
				return &lab.Result{}, nil
			})
		}
		time.Sleep(time.Second)
		l.Shutdown(time.Second)
		for i, got := range order {
			if got != i {
				t.Fatalf("jobs ran in the order %v, want the order of Start", order)
			}
		}
		if len(order) != 10 {
			t.Errorf("%d of 10 jobs ran", len(order))
		}
	})
}
