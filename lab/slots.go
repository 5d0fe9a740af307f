package lab

import "context"

// Slots is a source of worker slots shared by several Labs, such as the labs
// of the sessions of optlab serve, which together may run only so many jobs.
// A run of a Lab whose Options.Slots is set holds one of the Lab's own
// workers and one slot from Slots while its job runs; it gets the Lab's
// worker first, then waits for the shared slot, and produces Started only
// once it has both. A run cancelled while it waits produces only Failed.
type Slots interface {
	// Acquire waits until a slot is free and takes it, or returns ctx's
	// error, holding nothing, once ctx is done.
	Acquire(ctx context.Context) error
	// Release gives back a slot taken by Acquire.
	Release()
}

// acquireSlots waits for a worker slot of the Lab, then for a shared slot if
// the Lab has a source of them. On error it holds neither.
func (l *Lab) acquireSlots(ctx context.Context, w *waiter) error {
	if err := l.acquire(ctx, w); err != nil {
		return err
	}
	if l.slots == nil {
		return nil
	}
	if err := l.slots.Acquire(ctx); err != nil {
		l.mu.Lock()
		l.releaseLocked()
		l.mu.Unlock()
		return err
	}
	return nil
}

// releaseSlots gives back what acquireSlots took.
func (l *Lab) releaseSlots() {
	if l.slots != nil {
		l.slots.Release()
	}
	l.mu.Lock()
	l.releaseLocked()
	l.mu.Unlock()
}
