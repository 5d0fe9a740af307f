package datasets_test

import (
	"context"
	"testing"
	"time"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/datasets"
)

// TestSmallMLPLearnsEachBuiltinSet trains a small MLP on each 2-D set and on
// blobs, at their default noise, and requires more than 95% test accuracy
// within a second of training.
func TestSmallMLPLearnsEachBuiltinSet(t *testing.T) {
	for _, name := range []string{"spiral", "circles", "xor", "gauss", "moons", "blobs"} {
		t.Run(name, func(t *testing.T) {
			d, err := datasets.Load(name, datasets.LoadOptions{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			train, val, test := datasets.TrainValTest(d, 0.2, 0.1, 1)
			m, err := core.Build("mlp:32,32", train.SampleShape, train.Classes, core.BuildOptions{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			m.Norm = core.FitStandardizer(train)
			start := time.Now()
			_, err = core.Train(context.Background(), m, train, val, core.TrainConfig{Epochs: 60, BatchSize: 32,
				Optimizer: core.OptimizerConfig{LR: 0.01}, Seed: 1}, nil)
			if err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			acc := core.Evaluate(m, test).Accuracy
			t.Logf("%s: test accuracy %.3f in %v", name, acc, took.Round(time.Millisecond))
			if acc <= 0.95 {
				t.Errorf("%s: test accuracy %.3f, want > 0.95", name, acc)
			}
			if !testing.Short() && !raceEnabled && took > time.Second {
				t.Errorf("%s: training took %v, want under a second", name, took)
			}
		})
	}
}
