package lab_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/optlab/optlab/lab"
)

// chanSlots is a counting semaphore of shared slots that remembers the most
// ever held at once.
type chanSlots struct {
	c       chan struct{}
	held    chan int // current count, guarded by being a 1-buffered channel
	maxSeen int
}

func newChanSlots(n int) *chanSlots {
	s := &chanSlots{c: make(chan struct{}, n), held: make(chan int, 1)}
	s.held <- 0
	return s
}

func (s *chanSlots) Acquire(ctx context.Context) error {
	select {
	case s.c <- struct{}{}:
		h := <-s.held + 1
		s.maxSeen = max(s.maxSeen, h)
		s.held <- h
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *chanSlots) Release() {
	s.held <- <-s.held - 1
	<-s.c
}

func (s *chanSlots) count() int {
	h := <-s.held
	s.held <- h
	return h
}

func TestSharedSlotsBoundTwoLabs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slots := newChanSlots(1)
		a := lab.New(lab.Options{Workers: 4, Slots: slots})
		b := lab.New(lab.Options{Workers: 4, Slots: slots})
		ra := a.Start(t.Context(), "train", nil, tick(10*time.Millisecond))
		synctest.Wait()
		rb := b.Start(t.Context(), "train", nil, finishAfter(time.Second, 0.5))
		rq := b.Start(t.Context(), "train", nil, finishAfter(time.Second, 0.5))
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := slots.count(); got != 1 {
			t.Fatalf("%d shared slots held, want 1", got)
		}
		// b's runs wait for the slot a holds: no Started yet.
		select {
		case e := <-b.Events():
			t.Fatalf("b produced %v while a held the only slot", e.Kind)
		default:
		}
		b.Cancel(rq) // cancelled while waiting for the shared slot
		a.Cancel(ra)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		a.Shutdown(time.Second)
		b.Shutdown(time.Second)
		runs := byRun(drain(b))
		if got := kinds(runs[rb]); got != "started finished" {
			t.Errorf("run waiting for the slot: %s, want started finished", got)
		}
		if got := kinds(runs[rq]); got != "failed" {
			t.Errorf("run cancelled while waiting for the slot: %s, want failed", got)
		} else if !errors.Is(runs[rq][0].Err, context.Canceled) {
			t.Errorf("its error is %v, want context.Canceled", runs[rq][0].Err)
		}
		if slots.maxSeen != 1 || slots.count() != 0 {
			t.Errorf("shared slots: at most %d held at once, %d held at the end; want 1 and 0", slots.maxSeen, slots.count())
		}
	})
}

// A run that cannot get a shared slot gives back its Lab worker, so the
// Lab's own queue keeps moving.
func TestSharedSlotWaitGivesBackWorkerOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slots := newChanSlots(0) // never a slot
		l := lab.New(lab.Options{Workers: 1, Slots: slots})
		r1 := l.Start(t.Context(), "train", nil, finishAfter(time.Millisecond, 0.5))
		synctest.Wait()
		l.Cancel(r1)
		synctest.Wait()
		if got := l.Running(); len(got) != 0 {
			t.Fatalf("running after cancel: %v", got)
		}
		l.Shutdown(time.Second)
		if got := kinds(drain(l)); got != "failed" {
			t.Fatalf("events %s, want failed", got)
		}
	})
}
