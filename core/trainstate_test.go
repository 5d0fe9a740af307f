package core

import (
	"path/filepath"
	"slices"
	"testing"
)

// dropoutMLP is a small model for train with dropout, whose training
// depends on the whole history of the random source.
func dropoutMLP(t *testing.T, train *Dataset) *Model {
	t.Helper()
	m, err := Build("mlp:8", []int{2}, train.Classes, BuildOptions{Seed: 4, Dropout: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	m.Norm = FitStandardizer(train)
	return m
}

func TestTrainStateContinuesExactly(t *testing.T) {
	// Tuning pauses trials and continues them later: 3 epochs then 4 more
	// with the same TrainState must give the bits of 7 epochs straight, with
	// dropout and Adam, whose state both depend on the whole history.
	train, val := rings(300, 1), rings(100, 2)
	build := func() *Model { return dropoutMLP(t, train) }
	cfg := TrainConfig{Epochs: 7, BatchSize: 32, Seed: 9, Optimizer: OptimizerConfig{Kind: "adam", LR: 0.01}}
	straight := build()
	if _, err := Train(t.Context(), straight, train, val, cfg, nil); err != nil {
		t.Fatal(err)
	}
	paused := build()
	cfg.State = &TrainState{}
	var vals []float64
	for _, epochs := range []int{3, 4} {
		cfg.Epochs = epochs
		rep, err := Train(t.Context(), paused, train, val, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range rep.History {
			vals = append(vals, s.ValAcc)
		}
	}
	for i, p := range straight.Params() {
		if !slices.Equal(p.W.Data, paused.Params()[i].W.Data) {
			t.Fatalf("parameter %s differs after continuing", p.Name)
		}
	}
	if len(vals) != 7 {
		t.Errorf("%d epochs reported, want 7", len(vals))
	}
}

// TestTrainStateRoundTripContinuesExactly: a model file plus its encoded
// training state, loaded in a fresh process's place, train on to the same
// bits as training straight through (dropout and Adam depend on the whole
// history).
func TestTrainStateRoundTripContinuesExactly(t *testing.T) {
	train, val := rings(300, 1), rings(100, 2)
	build := func() *Model { return dropoutMLP(t, train) }
	for _, kind := range Optimizers {
		t.Run(kind, func(t *testing.T) {
			cfg := TrainConfig{Epochs: 7, BatchSize: 32, Seed: 9, Optimizer: OptimizerConfig{Kind: kind, LR: 0.01}}
			straight := build()
			if _, err := Train(t.Context(), straight, train, val, cfg, nil); err != nil {
				t.Fatal(err)
			}

			first := build()
			cfg.Epochs, cfg.State = 3, &TrainState{}
			if _, err := Train(t.Context(), first, train, val, cfg, nil); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "ckpt.safetensors")
			if _, err := SaveModel(path, first, ModelInfo{}); err != nil {
				t.Fatal(err)
			}
			enc, err := EncodeTrainState(cfg.State, first)
			if err != nil {
				t.Fatal(err)
			}

			resumed, _, err := LoadModel(path)
			if err != nil {
				t.Fatal(err)
			}
			st, err := DecodeTrainState(enc, resumed)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Epochs, cfg.State = 4, st
			if _, err := Train(t.Context(), resumed, train, val, cfg, nil); err != nil {
				t.Fatal(err)
			}
			for i, p := range straight.Params() {
				if !slices.Equal(p.W.Data, resumed.Params()[i].W.Data) {
					t.Fatalf("parameter %d (%s) differs after resuming from the encoded state", i, p.Name)
				}
			}
		})
	}
}

func TestDecodeTrainStateRefusesDamage(t *testing.T) {
	train := rings(100, 1)
	m, _ := Build("mlp:4", []int{2}, train.Classes, BuildOptions{})
	st := &TrainState{}
	if _, err := Train(t.Context(), m, train, nil, TrainConfig{Epochs: 1, State: st}, nil); err != nil {
		t.Fatal(err)
	}
	enc, err := EncodeTrainState(st, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, len(enc) / 2, len(enc) - 1} {
		bad := slices.Clone(enc)
		bad[i] ^= 1
		if _, err := DecodeTrainState(bad, m); err == nil {
			t.Errorf("a flipped bit at byte %d was accepted", i)
		}
	}
	if _, err := DecodeTrainState(enc[:len(enc)-5], m); err == nil {
		t.Error("a truncated state was accepted")
	}
	other, _ := Build("mlp:4,4", []int{2}, train.Classes, BuildOptions{})
	if _, err := DecodeTrainState(enc, other); err == nil {
		t.Error("the state of another architecture was accepted")
	}
	if _, err := EncodeTrainState(&TrainState{}, m); err == nil {
		t.Error("an unused state was encoded")
	}
}
