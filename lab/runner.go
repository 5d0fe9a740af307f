package lab

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/optlab/optlab/core"
)

// Options configure a Lab. Zero fields take the defaults listed.
type Options struct {
	// Workers is how many jobs may run at once; further jobs wait for a slot.
	// Default runtime.GOMAXPROCS(0).
	Workers int
	// ProgressEvery is the least time between two Progress events of one run.
	// Default 50ms, that is at most about 20 Progress events per second per run.
	ProgressEvery time.Duration
	// Buffer is the capacity of the event stream. Default 256.
	Buffer int
	// Slots, when set, is a source of slots shared with other Labs: each
	// run also holds one of them while its job runs (see Slots).
	Slots Slots
	// DataBytes bounds the loaded datasets the Lab keeps for later runs
	// (Data); beyond it the least recently used are let go. Default 1 GiB.
	DataBytes int64
}

// Default option values.
const (
	DefaultProgressEvery = 50 * time.Millisecond
	DefaultBuffer        = 256
	DefaultDataBytes     = 1 << 30
)

// errRunEnded is what a Recorder returns when it is called after its job has
// returned (by a goroutine the job left behind).
var errRunEnded = errors.New("lab: the run has already ended")

// errNoResult is the failure of a job that returned neither a result nor an
// error.
var errNoResult = errors.New("internal error: the job returned no result")

// Lab runs jobs on a bounded pool of workers, reports what happens to them on
// one event stream and keeps the results of finished runs. Its methods are
// safe for concurrent use.
type Lab struct {
	every   time.Duration
	workers int
	slots   Slots // shared slots, or nil
	events  chan Event
	release chan struct{} // closed when Shutdown stops waiting for blocked senders
	closed  chan struct{} // closed once Shutdown has closed the stream
	wg      sync.WaitGroup

	mu       sync.Mutex
	stopping bool
	lastID   RunID
	active   map[RunID]context.CancelFunc // queued or running
	busy     int                          // worker slots in use
	queue    []*waiter                    // runs waiting for a slot, first come first served
	registry                              // guarded by mu

	data dataCache
}

// waiter is a run waiting for a worker slot.
type waiter struct {
	ready chan struct{} // closed when the run is given a slot
}

// New returns a Lab ready to start jobs. Call Shutdown when done with it.
func New(opt Options) *Lab {
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.ProgressEvery <= 0 {
		opt.ProgressEvery = DefaultProgressEvery
	}
	if opt.Buffer <= 0 {
		opt.Buffer = DefaultBuffer
	}
	if opt.DataBytes <= 0 {
		opt.DataBytes = DefaultDataBytes
	}
	return &Lab{
		every:    opt.ProgressEvery,
		workers:  opt.Workers,
		slots:    opt.Slots,
		events:   make(chan Event, opt.Buffer),
		release:  make(chan struct{}),
		closed:   make(chan struct{}),
		active:   make(map[RunID]context.CancelFunc),
		registry: newRegistry(),
		data:     newDataCache(opt.DataBytes),
	}
}

// Events returns the event stream. It is closed by Shutdown. Read it
// steadily: Progress events are dropped while it is full, and runs wait to
// deliver their Started, Finished and Failed events.
func (l *Lab) Events() <-chan Event { return l.events }

// Start schedules job as a new run and returns its ID at once. The run waits
// for a worker slot (runs get slots in the order they were started), then
// produces Started (carrying task and config), any number of Progress events
// and one Finished or Failed. Cancelling ctx, or calling Cancel with the ID,
// stops the run, also while it is still waiting for a slot (it then produces
// only Failed). The job's context also gives it the Lab's data cache (see
// Data). Start after Shutdown has begun does nothing and returns 0.
func (l *Lab) Start(ctx context.Context, task string, config any, job Job) RunID {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopping {
		return 0
	}
	l.lastID++
	id := l.lastID
	ctx, cancel := context.WithCancel(context.WithValue(ctx, labKey{}, l))
	l.active[id] = cancel
	w := &waiter{ready: make(chan struct{})}
	if l.busy < l.workers {
		l.busy++
		close(w.ready)
	} else {
		l.queue = append(l.queue, w)
	}
	l.wg.Add(1)
	go l.run(ctx, id, w, task, config, job)
	return id
}

// Cancel stops run id. Cancelling an ended or unknown run does nothing.
func (l *Lab) Cancel(id RunID) {
	l.mu.Lock()
	cancel := l.active[id]
	l.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// CancelAll stops every run that has not ended.
func (l *Lab) CancelAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, cancel := range l.active {
		cancel()
	}
}

// Running returns the runs that have not ended yet, queued or running, in
// increasing ID order. A run leaves the list before its Finished or Failed
// event is sent.
func (l *Lab) Running() []RunID {
	l.mu.Lock()
	ids := make([]RunID, 0, len(l.active))
	for id := range l.active {
		ids = append(ids, id)
	}
	l.mu.Unlock()
	slices.Sort(ids)
	return ids
}

// Shutdown cancels every run and waits for all of them to end. Runs still
// blocked on a full stream once timeout has passed are released and their
// Started, Finished or Failed events are dropped. Then it closes the stream.
// When Shutdown returns, no goroutine of the Lab is left, provided every job
// honours its context. Calling Shutdown again waits for the first call.
func (l *Lab) Shutdown(timeout time.Duration) {
	l.mu.Lock()
	if l.stopping {
		l.mu.Unlock()
		<-l.closed
		return
	}
	l.stopping = true
	for _, cancel := range l.active {
		cancel()
	}
	l.mu.Unlock()

	ended := make(chan struct{})
	go func() {
		l.wg.Wait()
		close(ended)
	}()
	t := time.NewTimer(timeout)
	select {
	case <-ended:
	case <-t.C:
		close(l.release)
		<-ended
	}
	t.Stop()
	close(l.events)
	close(l.closed)
}

// run is the life of one run, on its own goroutine.
func (l *Lab) run(ctx context.Context, id RunID, w *waiter, task string, config any, job Job) {
	defer l.wg.Done()
	if err := l.acquireSlots(ctx, w); err != nil {
		l.forget(id)
		l.deliver(Event{Run: id, Kind: Failed, Err: err, Time: time.Now()})
		return
	}

	l.deliver(Event{Run: id, Kind: Started, Task: task, Config: config, Time: time.Now()})
	p := &progress{lab: l, ctx: ctx, id: id}
	res, err := call(ctx, job, p.record)
	p.end()
	l.releaseSlots()

	if err == nil && res == nil {
		err = ctx.Err()
		if err == nil {
			err = errNoResult
		}
	}
	if err != nil {
		l.forget(id)
		l.deliver(Event{Run: id, Kind: Failed, Err: err, Time: time.Now()})
		return
	}
	snap := l.finish(id, task, res)
	l.deliver(Event{Run: id, Kind: Finished, Result: snap, Time: time.Now()})
}

// call runs job, turning a panic into an error so that one broken job cannot
// take down the process. Panics in goroutines the job starts are not caught.
func call(ctx context.Context, job Job, rec core.Recorder) (res *Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("internal error: %s", clip(fmt.Sprint(p), 200))
		}
	}()
	return job(ctx, rec)
}

// clip shortens s to at most n bytes, cutting at a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// acquire waits until w is given a worker slot or ctx is done. On
// cancellation it gives up its place in the queue, or the slot if one came
// free at the same moment, and returns the context's error.
func (l *Lab) acquire(ctx context.Context, w *waiter) error {
	select {
	case <-w.ready:
	case <-ctx.Done():
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	err := ctx.Err()
	if err == nil {
		return nil
	}
	if i := slices.Index(l.queue, w); i >= 0 {
		l.queue = slices.Delete(l.queue, i, i+1)
	} else {
		l.releaseLocked()
	}
	return err
}

// releaseLocked hands a worker slot to the longest-waiting run, or frees it.
func (l *Lab) releaseLocked() {
	if len(l.queue) == 0 {
		l.busy--
		return
	}
	next := l.queue[0]
	l.queue = slices.Delete(l.queue, 0, 1)
	close(next.ready)
}

// forget removes a run from the active set and releases its context.
func (l *Lab) forget(id RunID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forgetLocked(id)
}

// forgetLocked is forget with l.mu held.
func (l *Lab) forgetLocked(id RunID) {
	if cancel := l.active[id]; cancel != nil {
		cancel()
		delete(l.active, id)
	}
}

// deliver sends a lifecycle event, waiting for room in the stream unless
// Shutdown has given up waiting.
func (l *Lab) deliver(e Event) {
	select {
	case l.events <- e: // whenever there is room, even after release
		return
	default:
	}
	select {
	case l.events <- e:
	case <-l.release:
	}
}

// progress is the Recorder of one run: it throttles Progress events and sends
// them without ever blocking.
type progress struct {
	lab *Lab
	ctx context.Context
	id  RunID

	mu    sync.Mutex // the job may call the recorder from several goroutines
	last  time.Time  // when the last Progress event went out
	sent  bool       // whether any has
	ended bool       // the job has returned
}

// record offers s as a Progress event if ProgressEvery has passed since the
// last one went out or s ends an epoch; it drops s when too soon or when the stream is full. It
// returns the context's error, so a job that only watches its recorder still
// stops on cancel.
func (p *progress) record(s core.Stats) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		return errRunEnded
	}
	now := time.Now()
	// An epoch's end is sent whatever the throttle says (there are few of
	// them, and headless output prints one line per epoch); it is still
	// dropped when the stream is full, so training never waits.
	if !p.sent || s.EpochDone || now.Sub(p.last) >= p.lab.every {
		select {
		case p.lab.events <- Event{Run: p.id, Kind: Progress, Stats: s, Time: now}:
			p.last, p.sent = now, true
		default: // the reader is behind: a later Progress will supersede this one
		}
	}
	return p.ctx.Err()
}

// end marks the job as returned; later calls of record send nothing, which
// keeps Progress from following the run's last event.
func (p *progress) end() {
	p.mu.Lock()
	p.ended = true
	p.mu.Unlock()
}
