package lab

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/optlab/optlab/core"
)

// BenchmarkCheckpoint writes and reads the checkpoint of an MNIST-sized
// trial (mlp:256,128 on 784 inputs, Adam after one epoch), the cost that
// checkpointCost spaces out.
func BenchmarkCheckpoint(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	d := &core.Dataset{SampleShape: []int{784}, Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}}
	for i := range 512 {
		for range 784 {
			d.X = append(d.X, float32(r.NormFloat64()))
		}
		d.Y = append(d.Y, i%10)
	}
	spec := TrainSpec{Model: "mlp:256,128", Optimizer: "adam", Seed: 1}
	m, err := core.Build(spec.Model, d.SampleShape, d.Classes, core.BuildOptions{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	c := &checkpoint{model: m, state: &core.TrainState{}, epochs: 1}
	if _, err := core.Train(context.Background(), m, d, nil, core.TrainConfig{Epochs: 1, State: c.state}, nil); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	b.Run("write", func(b *testing.B) {
		for b.Loop() {
			if err := writeCheckpoint(dir, 1, spec, c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read", func(b *testing.B) {
		for b.Loop() {
			if _, err := readCheckpoint(dir, 1, 1, spec); err != nil {
				b.Fatal(err)
			}
		}
	})
}
