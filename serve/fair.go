package serve

import (
	"context"
	"slices"
	"sync"
)

// fairSlots is the server-wide limit on training jobs running at once,
// shared fairly between sessions. A slot is free only while nobody waits:
// when one is released it goes at once to the waiting session that holds
// the fewest slots, ties going to the request that has waited longest. A
// session alone may use every slot; as soon as another session waits, each
// slot that frees goes to whoever has fewer, so the split converges to an
// equal share as jobs end (a running job is never preempted).
type fairSlots struct {
	mu      sync.Mutex
	total   int
	free    int
	waiting []*slotRequest // in arrival order
}

// slotRequest is one Acquire waiting for a slot.
type slotRequest struct {
	share *slotShare
	ready chan struct{} // closed when the slot is granted
}

func newFairSlots(n int) *fairSlots { return &fairSlots{total: n, free: n} }

// share returns a session's handle on the pool; it satisfies lab.Slots.
func (p *fairSlots) share() *slotShare { return &slotShare{pool: p} }

// stats returns the slots in use and the requests waiting.
func (p *fairSlots) stats() (busy, waiting int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total - p.free, len(p.waiting)
}

// slotShare is one session's handle on the pool. It counts the slots the
// session holds, which decides who is served next.
type slotShare struct {
	pool *fairSlots
	held int // guarded by pool.mu
}

// Acquire takes a slot, waiting for one if none is free, until ctx is done.
func (s *slotShare) Acquire(ctx context.Context) error {
	p := s.pool
	p.mu.Lock()
	if p.free > 0 { // then nobody is waiting
		p.free--
		s.held++
		p.mu.Unlock()
		return nil
	}
	r := &slotRequest{share: s, ready: make(chan struct{})}
	p.waiting = append(p.waiting, r)
	p.mu.Unlock()

	select {
	case <-r.ready:
		return nil
	case <-ctx.Done():
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if i := slices.Index(p.waiting, r); i >= 0 {
		p.waiting = slices.Delete(p.waiting, i, i+1)
	} else { // granted at the same moment: pass it on
		p.releaseLocked(s)
	}
	return ctx.Err()
}

// Release gives back a slot taken by Acquire.
func (s *slotShare) Release() {
	s.pool.mu.Lock()
	defer s.pool.mu.Unlock()
	s.pool.releaseLocked(s)
}

// Held returns how many slots the session holds.
func (s *slotShare) Held() int {
	s.pool.mu.Lock()
	defer s.pool.mu.Unlock()
	return s.held
}

// releaseLocked takes a slot back from s and hands it to the waiting
// request whose session holds the fewest, the oldest among equals.
func (p *fairSlots) releaseLocked(s *slotShare) {
	if s.held <= 0 {
		panic("serve: slot released more often than acquired")
	}
	s.held--
	if len(p.waiting) == 0 {
		p.free++
		return
	}
	best := 0
	for i, r := range p.waiting {
		if r.share.held < p.waiting[best].share.held {
			best = i
		}
	}
	r := p.waiting[best]
	p.waiting = slices.Delete(p.waiting, best, best+1)
	r.share.held++
	close(r.ready)
}
