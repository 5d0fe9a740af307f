package core

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// rings is a two-class 2-D set: an inner disc and an outer ring, which no
// linear model separates.
func rings(n int, seed uint64) *Dataset {
	r := rand.New(rand.NewPCG(seed, 1))
	d := &Dataset{Name: "rings", SampleShape: []int{2}, Classes: []string{"in", "out"}}
	for i := range n {
		c := i % 2
		rad := r.Float64() * 2
		if c == 1 {
			rad = 3 + r.Float64()*2
		}
		a := r.Float64() * 2 * math.Pi
		d.X = append(d.X, float32(rad*math.Cos(a)), float32(rad*math.Sin(a)))
		d.Y = append(d.Y, c)
	}
	return d
}

func trainRings(t *testing.T, seed uint64, cfg TrainConfig) (*Model, TrainReport, error) {
	t.Helper()
	train, val := rings(600, 1), rings(200, 2)
	m, err := Build("mlp:16,16", []int{2}, train.Classes, BuildOptions{Seed: seed, Dropout: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	m.Norm = FitStandardizer(train)
	cfg.Seed = seed
	rep, err := Train(context.Background(), m, train, val, cfg, nil)
	return m, rep, err
}

func TestTrainConverges(t *testing.T) {
	m, rep, err := trainRings(t, 1, TrainConfig{Epochs: 30, BatchSize: 32, Optimizer: OptimizerConfig{LR: 0.01}})
	if err != nil {
		t.Fatal(err)
	}
	acc := Evaluate(m, rings(400, 3)).Accuracy
	if acc < 0.97 {
		t.Fatalf("test accuracy %.3f after %d epochs, want ≥ 0.97", acc, rep.Epochs)
	}
	if first, last := rep.History[0].TrainLoss, rep.History[len(rep.History)-1].TrainLoss; last >= first/2 {
		t.Fatalf("training loss went from %.3f to %.3f; expected it at least halved", first, last)
	}
}

func TestTrainOptimizersConverge(t *testing.T) {
	for _, o := range []OptimizerConfig{
		{Kind: "sgd", LR: 0.1}, {Kind: "momentum", LR: 0.05}, {Kind: "momentum", LR: 0.05, Nesterov: true},
		{Kind: "adam", LR: 0.01}, {Kind: "adamw", LR: 0.01, WeightDecay: 0.01},
	} {
		m, _, err := trainRings(t, 2, TrainConfig{Epochs: 25, BatchSize: 32, Optimizer: o,
			Schedule: ScheduleConfig{Kind: "cosine", Warmup: 20}})
		if err != nil {
			t.Fatal(err)
		}
		if acc := Evaluate(m, rings(400, 3)).Accuracy; acc < 0.95 {
			t.Errorf("%+v: accuracy %.3f, want ≥ 0.95", o, acc)
		}
	}
}

func TestTrainIsDeterministic(t *testing.T) {
	cfg := TrainConfig{Epochs: 3, BatchSize: 16}
	a, ra, _ := trainRings(t, 5, cfg)
	b, rb, _ := trainRings(t, 5, cfg)
	for i, p := range a.Params() {
		if !slices.Equal(p.W.Data, b.Params()[i].W.Data) {
			t.Fatalf("parameter %d differs between two runs with the same seed", i)
		}
	}
	if ra.History[2].ValLoss != rb.History[2].ValLoss {
		t.Fatal("validation loss differs between two runs with the same seed")
	}
	c, _, _ := trainRings(t, 6, cfg)
	if slices.Equal(a.Params()[0].W.Data, c.Params()[0].W.Data) {
		t.Fatal("different seeds gave identical weights")
	}
}

func TestTrainStopsOnCancelAndRecorderError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	train := rings(600, 1)
	m, _ := Build("mlp:8", []int{2}, train.Classes, BuildOptions{})
	_, err := Train(ctx, m, train, nil, TrainConfig{Epochs: 100, BatchSize: 8}, func(s Stats) error {
		if calls++; calls == 5 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls != 5 {
		t.Fatalf("err = %v after %d progress calls, want context.Canceled after 5", err, calls)
	}
	stop := errors.New("stop")
	_, err = Train(context.Background(), m, train, nil, TrainConfig{Epochs: 3}, func(Stats) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want the recorder's error", err)
	}
}

func TestTrainReportsDivergence(t *testing.T) {
	_, _, err := trainRings(t, 1, TrainConfig{Epochs: 5, Optimizer: OptimizerConfig{Kind: "sgd", LR: 1e30}})
	if !errors.Is(err, ErrDiverged) {
		t.Fatalf("err = %v, want ErrDiverged", err)
	}
}

// checkRestoredBest fails unless m has the lowest validation loss rep saw.
func checkRestoredBest(t *testing.T, m *Model, val *Dataset, rep TrainReport) {
	t.Helper()
	best := math.Inf(1)
	for _, s := range rep.History {
		best = min(best, s.ValLoss)
	}
	if got := Evaluate(m, val).Loss; math.Abs(got-best) > 1e-6 {
		t.Fatalf("validation loss after restore %.6f, best seen %.6f", got, best)
	}
}

func TestEarlyStoppingRestoresBest(t *testing.T) {
	// A huge learning rate after a good start makes validation loss rise.
	train, val := rings(300, 1), rings(100, 2)
	m, _ := Build("mlp:16", []int{2}, train.Classes, BuildOptions{Seed: 1})
	m.Norm = FitStandardizer(train)
	rep, err := Train(context.Background(), m, train, val, TrainConfig{Epochs: 200, Patience: 3,
		Optimizer: OptimizerConfig{LR: 0.05}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Epochs == 200 || rep.Stopped == "" {
		t.Fatalf("ran %d epochs without early stopping", rep.Epochs)
	}
	checkRestoredBest(t, m, val, rep)
}

// TestEarlyStoppingRestoresBatchNormStatistics: inference uses BatchNorm's
// running statistics, so restoring the best weights without them would
// leave a model that never existed during training.
func TestEarlyStoppingRestoresBatchNormStatistics(t *testing.T) {
	train, val := bars(200, 1), bars(100, 2)
	m, _ := Build("cnn:4", train.SampleShape, train.Classes, BuildOptions{Seed: 1})
	m.Norm = FitStandardizer(train)
	rep, err := Train(context.Background(), m, train, val, TrainConfig{Epochs: 60, BatchSize: 16, Patience: 2,
		Optimizer: OptimizerConfig{LR: 0.05}, Seed: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stopped == "" {
		t.Fatalf("ran %d epochs without early stopping", rep.Epochs)
	}
	checkRestoredBest(t, m, val, rep)
}

func TestMasksHoldThroughOptimizerSteps(t *testing.T) {
	for _, kind := range Optimizers {
		r := rand.New(rand.NewPCG(1, 1))
		p := &Param{Name: "weight", W: randTensor(r, 4, 4), G: randTensor(r, 4, 4), Mask: make([]float32, 16)}
		for i := range p.Mask {
			p.Mask[i] = float32(i % 2)
		}
		opt, _ := NewOptimizer(OptimizerConfig{Kind: kind, WeightDecay: 0.1})
		for range 5 {
			opt.Step([]*Param{p}, 0.1)
		}
		for i, w := range p.W.Data {
			if p.Mask[i] == 0 && w != 0 {
				t.Fatalf("%s: masked weight %d = %g after steps", kind, i, w)
			}
		}
	}
}

func TestAdamMatchesHandComputation(t *testing.T) {
	p := &Param{Name: "bias", W: TensorFrom([]float32{1}, 1), G: TensorFrom([]float32{0.5}, 1)}
	opt, _ := NewOptimizer(OptimizerConfig{Kind: "adam"})
	opt.Step([]*Param{p}, 0.1)
	// Step 1: m̂ = g, v̂ = g², update = lr·g/(|g|+eps) = 0.1.
	if got := p.W.Data[0]; math.Abs(float64(got)-0.9) > 1e-6 {
		t.Fatalf("after one Adam step w = %v, want 0.9", got)
	}
}

func TestScheduleValues(t *testing.T) {
	cases := []struct {
		s                   ScheduleConfig
		step, epoch, epochs int
		want                float64
	}{
		{ScheduleConfig{}, 50, 3, 10, 0.1},
		{ScheduleConfig{Kind: "step", StepEvery: 2, Gamma: 0.5}, 0, 5, 10, 0.1 * 0.25},
		{ScheduleConfig{Kind: "cosine"}, 0, 0, 10, 0.1},
		{ScheduleConfig{Kind: "cosine"}, 50, 5, 10, 0.05},
		{ScheduleConfig{Kind: "cosine"}, 100, 9, 10, 0},
		{ScheduleConfig{Warmup: 10}, 4, 0, 10, 0.05},
	}
	for _, c := range cases {
		if got := c.s.LR(0.1, c.step, c.epoch, c.epochs, 10); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%+v at step %d: lr %g, want %g", c.s, c.step, got, c.want)
		}
	}
}

func TestEvaluateMetrics(t *testing.T) {
	// A fixed linear model on four points: predictions 0, 1, 1, 1 for labels 0, 0, 1, 1.
	d := NewDense(1, 2, "he", rand.New(rand.NewPCG(1, 1)))
	copy(d.Weight.W.Data, []float32{-1, 1})
	copy(d.Bias.W.Data, []float32{0, 0.5})
	m := &Model{InShape: []int{1}, Classes: []string{"a", "b"}, Layers: []Layer{d}}
	ds := &Dataset{X: []float32{-2, 0, 1, 3}, Y: []int{0, 0, 1, 1}, SampleShape: []int{1}, Classes: m.Classes}
	mt := Evaluate(m, ds)
	if mt.Accuracy != 0.75 || mt.Confusion[0][1] != 1 || mt.Confusion[1][1] != 2 {
		t.Fatalf("accuracy %v confusion %v", mt.Accuracy, mt.Confusion)
	}
	b := mt.PerClass[1]
	if math.Abs(b.Precision-2.0/3) > 1e-12 || b.Recall != 1 || math.Abs(b.F1-0.8) > 1e-12 {
		t.Fatalf("class b metrics %+v", b)
	}
}

func TestBuildRefusesHugeMLPs(t *testing.T) {
	// Refused in words before anything is allocated.
	if err := ValidateSpec("mlp:65536,65536"); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("ValidateSpec: %v", err)
	}
	if _, err := Build("mlp:65536", []int{784}, []string{"a", "b"}, BuildOptions{}); err == nil ||
		!strings.Contains(err.Error(), "too large") {
		t.Fatalf("Build: %v", err)
	}
	if _, err := Build("mlp:4096", []int{784}, []string{"a", "b"}, BuildOptions{}); err != nil {
		t.Fatalf("a 3.2M-weight MLP was refused: %v", err)
	}
}
