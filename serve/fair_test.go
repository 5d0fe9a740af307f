package serve

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// acquireAsync starts an Acquire and returns a channel that gets its error.
func acquireAsync(ctx context.Context, s *slotShare) <-chan error {
	c := make(chan error, 1)
	go func() { c <- s.Acquire(ctx) }()
	return c
}

// waitWaiting waits until n requests are queued.
func waitWaiting(t *testing.T, p *fairSlots, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, w := p.stats(); w == n {
			return
		}
		if time.Now().After(deadline) {
			_, w := p.stats()
			t.Fatalf("%d requests waiting, want %d", w, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func granted(c <-chan error) bool {
	select {
	case err := <-c:
		return err == nil
	case <-time.After(20 * time.Millisecond):
		return false
	}
}

func TestFairSlotsAloneUsesEverySlot(t *testing.T) {
	p := newFairSlots(3)
	a := p.share()
	for range 3 {
		if err := a.Acquire(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if busy, _ := p.stats(); busy != 3 || a.Held() != 3 {
		t.Fatalf("busy %d, held %d; want 3 and 3", busy, a.Held())
	}
	for range 3 {
		a.Release()
	}
	if busy, _ := p.stats(); busy != 0 {
		t.Fatalf("busy %d after releasing all", busy)
	}
}

// A session that asks later but holds fewer slots is served first.
func TestFairSlotsServeTheSessionHoldingFewest(t *testing.T) {
	p := newFairSlots(2)
	a, b := p.share(), p.share()
	ctx := t.Context()
	_ = a.Acquire(ctx)
	_ = a.Acquire(ctx)
	a3 := acquireAsync(ctx, a) // a asks first...
	waitWaiting(t, p, 1)
	b1 := acquireAsync(ctx, b) // ...b later
	waitWaiting(t, p, 2)
	a.Release()
	if !granted(b1) {
		t.Fatal("the slot a released did not go to b, which held none")
	}
	if granted(a3) {
		t.Fatal("a got a third slot while b was served")
	}
	b.Release() // b 0, a 1: a's request is next
	if !granted(a3) {
		t.Fatal("a's request was not served after b released")
	}
	if a.Held() != 2 || b.Held() != 0 {
		t.Fatalf("held a=%d b=%d, want 2 and 0", a.Held(), b.Held())
	}
}

// With both sessions queueing many jobs, the split converges to equal
// shares as jobs end, and stays there.
func TestFairSlotsConvergeToEqualShares(t *testing.T) {
	p := newFairSlots(4)
	a, b := p.share(), p.share()
	ctx, cancel := context.WithCancel(t.Context())
	for range 4 {
		_ = a.Acquire(ctx) // a came first and took everything
	}
	var wg sync.WaitGroup
	for range 6 { // then both queue six more
		wg.Add(2)
		go func() { defer wg.Done(); _ = a.Acquire(ctx) }()
		go func() { defer wg.Done(); _ = b.Acquire(ctx) }()
	}
	waitWaiting(t, p, 12)
	a.Release() // two of a's jobs end: both slots go to b
	a.Release()
	waitWaiting(t, p, 10)
	if a.Held() != 2 || b.Held() != 2 {
		t.Fatalf("after two of a's jobs ended: held a=%d b=%d, want 2 and 2", a.Held(), b.Held())
	}
	for i := range 4 { // jobs end in turn: each slot goes back to its session
		a.Release()
		b.Release()
		waitWaiting(t, p, 8-2*i)
		if a.Held() != 2 || b.Held() != 2 {
			t.Fatalf("round %d: held a=%d b=%d, want 2 and 2", i, a.Held(), b.Held())
		}
	}
	cancel() // the rest give up
	wg.Wait()
	if _, w := p.stats(); w != 0 {
		t.Fatalf("%d still waiting after cancel", w)
	}
}

// A request cancelled while waiting leaves the queue and holds nothing; a
// slot granted at the moment of cancellation is passed on.
func TestFairSlotsCancelWhileWaiting(t *testing.T) {
	p := newFairSlots(1)
	a, b := p.share(), p.share()
	_ = a.Acquire(t.Context())
	ctx, cancel := context.WithCancel(t.Context())
	bc := acquireAsync(ctx, b)
	waitWaiting(t, p, 1)
	cancel()
	if err := <-bc; err != context.Canceled {
		t.Fatalf("cancelled Acquire returned %v", err)
	}
	if b.Held() != 0 {
		t.Fatal("a cancelled request holds a slot")
	}
	if _, w := p.stats(); w != 0 {
		t.Fatalf("%d still waiting", w)
	}
	a.Release()
	if busy, _ := p.stats(); busy != 0 {
		t.Fatalf("busy %d, want 0", busy)
	}
}

// Many sessions acquiring, releasing and cancelling at random never exceed
// the limit and leave every slot free.
func TestFairSlotsStress(t *testing.T) {
	const total = 3
	p := newFairSlots(total)
	var inUse, peak atomic.Int64
	var wg sync.WaitGroup
	for s := range 8 {
		sh := p.share()
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(s), 1))
			for range 200 {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(300))*time.Microsecond)
				if sh.Acquire(ctx) == nil {
					n := inUse.Add(1)
					for {
						m := peak.Load()
						if n <= m || peak.CompareAndSwap(m, n) {
							break
						}
					}
					time.Sleep(time.Duration(r.IntN(100)) * time.Microsecond)
					inUse.Add(-1)
					sh.Release()
				}
				cancel()
			}
		}()
	}
	wg.Wait()
	if peak.Load() > total {
		t.Fatalf("%d slots in use at once, limit %d", peak.Load(), total)
	}
	if busy, w := p.stats(); busy != 0 || w != 0 {
		t.Fatalf("after the storm: %d busy, %d waiting", busy, w)
	}
}
