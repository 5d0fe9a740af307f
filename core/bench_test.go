package core

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkGemm times the products of training mlp:128 on MNIST-shaped input
// with batches of 64: the forward product, and the two backward products.
func BenchmarkGemm(b *testing.B) {
	shapes := []struct {
		name    string
		tA, tB  bool
		m, n, k int
	}{
		{"fwd_64x128x784", false, true, 64, 128, 784},
		{"dW_128x784x64", true, false, 128, 784, 64},
		{"dX_64x784x128", false, false, 64, 784, 128},
		{"square_512", false, false, 512, 512, 512},
	}
	r := rand.New(rand.NewPCG(1, 1))
	for _, s := range shapes {
		b.Run(s.name, func(b *testing.B) {
			a := randTensor(r, s.m, s.k).Data
			bb := randTensor(r, s.k, s.n).Data
			c := make([]float32, s.m*s.n)
			lda, ldb := s.k, s.n
			if s.tA {
				lda = s.m
			}
			if s.tB {
				ldb = s.k
			}
			b.ReportAllocs()
			for b.Loop() {
				gemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkTrainStep times one mini-batch (forward, backward, Adam update)
// of mlp:128 on MNIST-shaped input (784 features, 10 classes), and of the
// two workloads of issue 10: the digits-sized MLP (64-128-64-10) at batch
// 64 and the MNIST-sized one (784-256-128-10) at batch 128. In steady state
// a step allocates nothing.
func BenchmarkTrainStep(b *testing.B) {
	for _, c := range []struct {
		arch            string
		features, batch int
	}{{"mlp:128", 784, 64}, {"mlp:128", 784, 128}, {"mlp:128,64", 64, 64}, {"mlp:256,128", 784, 128}} {
		b.Run(fmt.Sprintf("%d-%s/batch=%d", c.features, c.arch, c.batch), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			classes := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
			m, _ := Build(c.arch, []int{c.features}, classes, BuildOptions{})
			x := randTensor(r, c.batch, c.features)
			labels := make([]int, c.batch)
			for i := range labels {
				labels[i] = r.IntN(10)
			}
			opt, _ := NewOptimizer(OptimizerConfig{})
			params := m.Params()
			pass := newTrainPass(m) // as Train runs the layers
			dl := NewTensor(c.batch, 10)
			b.ReportAllocs()
			for b.Loop() {
				SoftmaxCrossEntropy(pass.forward(x), labels, dl)
				pass.backward(dl)
				opt.Step(params, 0.001)
			}
			b.ReportMetric(float64(c.batch)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// BenchmarkTrainEpoch times Train itself over 2,048 MNIST-shaped samples,
// including batching and shuffling.
func BenchmarkTrainEpoch(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	d := &Dataset{SampleShape: []int{784}, Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}}
	d.X = randTensor(r, 2048, 784).Data
	for range 2048 {
		d.Y = append(d.Y, r.IntN(10))
	}
	m, _ := Build("mlp:128", []int{784}, d.Classes, BuildOptions{})
	for b.Loop() {
		if _, err := Train(context.Background(), m, d, nil, TrainConfig{Epochs: 1}, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(2048*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkInference times inference as MeasureSpeed does (copy, standardize,
// forward) at batch 1 and 256, for the digits-sized MLP (64-128-64-10) and
// the MNIST-sized one (784-256-128-10), in float32 and int8 (per-channel PTQ).
func BenchmarkInference(b *testing.B) {
	for _, s := range []struct {
		name, arch string
		features   int
	}{{"64-128-64-10", "mlp:128,64", 64}, {"784-256-128-10", "mlp:256,128", 784}} {
		r := rand.New(rand.NewPCG(1, 1))
		d := &Dataset{SampleShape: []int{s.features}, Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}}
		d.X = randTensor(r, 512, s.features).Data
		for i := range d.X {
			d.X[i] = max(d.X[i], 0) // pixel-like: non-negative, many zeros
		}
		for range 512 {
			d.Y = append(d.Y, r.IntN(10))
		}
		m, err := Build(s.arch, []int{s.features}, d.Classes, BuildOptions{})
		if err != nil {
			b.Fatal(err)
		}
		m.Norm = FitStandardizer(d)
		q, _, err := Quantize(m, d, QuantConfig{})
		if err != nil {
			b.Fatal(err)
		}
		for _, v := range []struct {
			kind  string
			model *Model
		}{{"float", m}, {"int8", q}} {
			for _, batch := range []int{1, ThroughputBatch} {
				b.Run(fmt.Sprintf("%s/%s/batch=%d", s.name, v.kind, batch), func(b *testing.B) {
					src := TensorFrom(d.X[:batch*s.features], batch, s.features)
					dst := NewTensor(batch, s.features)
					b.ReportAllocs()
					for b.Loop() {
						copy(dst.Data, src.Data)
						v.model.Norm.Apply(dst.Data)
						v.model.Forward(dst, false)
					}
					b.ReportMetric(float64(batch)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
				})
			}
		}
	}
}
