package lab

import (
	"context"
	"strconv"
	"time"

	"github.com/optlab/optlab/core"
)

// RunID identifies one run for its whole life. IDs start at 1 and are never
// reused within a Lab, so a screen can ignore events from runs it no longer
// shows. The zero RunID names no run.
type RunID uint64

// EventKind says what happened to a run.
type EventKind int

// The kinds of events, in the order a run produces them.
const (
	// Started: the run got a worker slot and its job is about to run.
	// Always delivered. Event.Task and Event.Config are set.
	Started EventKind = iota
	// Progress: a snapshot of training statistics in Event.Stats. Lossy and
	// throttled: a later Progress supersedes an earlier one.
	Progress
	// Finished: the run ended with a result, in Event.Result. Always delivered.
	Finished
	// Failed: the run ended without a result; Event.Err says why
	// (context.Canceled when it was cancelled). Always delivered.
	Failed
)

// String returns the kind's lower-case name, e.g. "started".
func (k EventKind) String() string {
	switch k {
	case Started:
		return "started"
	case Progress:
		return "progress"
	case Finished:
		return "finished"
	case Failed:
		return "failed"
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is one thing that happened to a run. It is a value: Stats is copied
// and Result is an immutable snapshot, so an event may be kept and read from
// any goroutine.
type Event struct {
	Run    RunID
	Kind   EventKind
	Task   string     // Started: the task name given to Start, e.g. "train"
	Config any        // Started: the config given to Start (a spec value)
	Stats  core.Stats // Progress: the newest training statistics
	Result *Result    // Finished: the result; never mutated afterwards
	Err    error      // Failed: why; context.Canceled on cancel
	Time   time.Time  // when the event was produced
}

// Job is the work of one run. It must return soon after ctx is done, report
// progress through rec (which returns a non-nil error once the run should
// stop), and must not call rec after it has returned. A job that returns a
// non-nil Result and a nil error has finished; anything else is a failure.
// The Lab takes ownership of the returned Result and its Model: the job must
// not modify them afterwards.
type Job func(ctx context.Context, rec core.Recorder) (*Result, error)
