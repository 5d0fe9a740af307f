package core

import "testing"

// TestASHAPromotesTheHighestRungFirst: a trial reaching rung 0 in its top
// third while a paused trial of rung 1 is promotable does not go on at
// once: the free worker goes to the rung-1 trial (get_job of Algorithm 2
// looks from the highest rung down), and the rung-0 trial is promoted by
// the next Next, being still in its rung's top.
func TestASHAPromotesTheHighestRungFirst(t *testing.T) {
	st, err := NewStrategy(Space{{Name: "x", Kind: Uniform, Low: 0, High: 1}},
		SearchConfig{Strategy: "asha", Trials: 20, MinEpochs: 1, MaxEpochs: 9, Eta: 3})
	if err != nil {
		t.Fatal(err)
	}
	next := func(wantID, wantFrom int) {
		t.Helper()
		tr, ok := st.Next()
		if !ok || tr.ID != wantID || tr.From != wantFrom {
			t.Fatalf("Next = trial %d from epoch %d (%v), want trial %d from %d", tr.ID, tr.From, ok, wantID, wantFrom)
		}
	}
	report := func(id, epoch int, v float64, want Decision) {
		t.Helper()
		if d := st.Report(id, epoch, v); d != want {
			t.Fatalf("Report(trial %d, epoch %d, %v) = %v, want %v", id, epoch, v, d, want)
		}
	}
	// Rungs at 1, 3 and 9 epochs.
	next(1, 0)
	next(2, 0)
	next(3, 0)
	report(1, 1, 0.9, Pause)
	report(2, 1, 0.5, Pause)
	report(3, 1, 0.4, Pause) // rung 0 holds 3: trial 1 is its top third
	next(1, 1)
	report(1, 3, 0.9, Pause) // alone at rung 1
	next(4, 0)
	next(5, 0)
	next(6, 0)
	report(4, 1, 0.8, Pause)
	report(5, 1, 0.1, Pause)
	report(6, 1, 0.05, Pause) // 6 at rung 0: top two are 1 and 4
	next(4, 1)
	report(4, 3, 0.5, Pause)
	for id := 7; id <= 10; id++ {
		next(id, 0) // nothing promotable
	}
	report(7, 1, 0.7, Pause)
	report(8, 1, 0.01, Pause)
	report(9, 1, 0.02, Pause) // 9 at rung 0: top three are 1, 4 and 7
	next(7, 1)
	report(7, 3, 0.4, Pause) // 3 at rung 1: trial 1 is its top third
	// Trial 10 tops rung 0, but trial 1 waits at the higher rung.
	report(10, 1, 0.95, Pause)
	next(1, 3)
	next(10, 1)
}
