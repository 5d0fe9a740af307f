package core

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// withoutFusedAsm runs f with the element-wise loops' Go versions.
func withoutFusedAsm(f func()) {
	br, r, rg, a, ad, ax := biasReluAsm, reluAsm, reluGradAsm, addAsm, adamAsm, axpyAsm
	defer func() { biasReluAsm, reluAsm, reluGradAsm, addAsm, adamAsm, axpyAsm = br, r, rg, a, ad, ax }()
	biasReluAsm, reluAsm, reluGradAsm, addAsm, adamAsm, axpyAsm = nil, nil, nil, nil, nil, nil
	f()
}

// randSpecial returns n values, a fifth of them NaN, ±0 or ±Inf.
func randSpecial(r *rand.Rand, n int) []float32 {
	special := []float32{float32(math.NaN()), float32(math.Copysign(0, -1)), 0, float32(math.Inf(1)), float32(math.Inf(-1))}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
		if r.IntN(5) == 0 {
			v[i] = special[r.IntN(len(special))]
		}
	}
	return v
}

// sameBits reports whether a and b hold the same values bit for bit (any
// NaN matching any NaN).
func sameBits(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool {
		return math.Float32bits(x) == math.Float32bits(y) || x != x && y != y
	})
}

// TestFusedLoopsMatchGo checks that the vector loops compute the Go loops'
// bits, on every tail length and on NaN, ±0 and ±Inf, and write nothing
// past the end.
func TestFusedLoopsMatchGo(t *testing.T) {
	if adamAsm == nil {
		t.Skip("no AVX-512")
	}
	r := rand.New(rand.NewPCG(3, 4))
	for n := range 50 {
		x, y, b, db := randSpecial(r, n+1), randSpecial(r, n+1), randSpecial(r, n+1), randSpecial(r, n+1)
		mask := make([]float32, n+1)
		for i := range mask {
			mask[i] = float32(r.IntN(2))
		}
		g, mo, vo := randSpecial(r, n+1), randSpecial(r, n+1), randSpecial(r, n+1)
		for i := range vo {
			vo[i] = float32(math.Abs(float64(vo[i])))
		}
		c := &adamConsts{b1: 0.9, ob1: 0.1, b2: 0.999, ob2: 1 - float32(0.999), alpha: 1e-3, eps: 1e-8, wd: 0.01, decoupled: 0.002}
		run := func() [][]float32 {
			z, a, dz, dbc := slices.Clone(x), slices.Clone(y), slices.Clone(y), slices.Clone(db)
			biasRelu(z[:n], a[:n], b)
			ry := slices.Clone(y)
			relu(ry[:n], x)
			reluGrad(dz[:n], b, x, dbc)
			s := slices.Clone(x)
			addTo(s[:n], b)
			var outs [][]float32
			outs = append(outs, z, a, ry, dz, dbc, s)
			for _, mk := range [][]float32{nil, mask} {
				w, m, v := slices.Clone(x), slices.Clone(mo), slices.Clone(vo)
				adamUpdate(w[:n], g, m, v, mk, c)
				outs = append(outs, w, m, v)
			}
			return outs
		}
		vec := run()
		var ref [][]float32
		withoutFusedAsm(func() { ref = run() })
		for i := range vec {
			if !sameBits(vec[i], ref[i]) {
				t.Fatalf("n=%d, output %d: vector %v\n Go %v", n, i, vec[i], ref[i])
			}
		}
	}
}

// TestAdamUpdateMatchesOriginalLoop checks the fused Adam update against
// the loop it replaced, written out here: the same bits with and without
// weight decay, coupled and decoupled, on both paths.
func TestAdamUpdateMatchesOriginalLoop(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, kind := range []string{"adam", "adamw"} {
		for _, wdc := range []float64{0, 0.01} {
			w0, g := randTensor(r, 37).Data, randTensor(r, 37).Data
			want := slices.Clone(w0)
			mw, vw := make([]float32, 37), make([]float32, 37)
			b1, b2 := float32(0.9), float32(0.999)
			for step := 1; step <= 3; step++ {
				lr := 0.01
				alpha := float32(lr * math.Sqrt(1-math.Pow(0.999, float64(step))) / (1 - math.Pow(0.9, float64(step))))
				eps := float32(1e-8 * math.Sqrt(1-math.Pow(0.999, float64(step))))
				wd, decoupled := float32(wdc), float32(0)
				if kind == "adamw" {
					decoupled, wd = float32(lr)*wd, 0
				}
				for i := range want {
					gi := g[i] + wd*want[i]
					mw[i] = b1*mw[i] + (1-b1)*gi
					vw[i] = b2*vw[i] + (1-b2)*gi*gi
					want[i] -= alpha*mw[i]/(float32(math.Sqrt(float64(vw[i])))+eps) + decoupled*want[i]
				}
			}
			for _, vec := range []bool{true, false} {
				w := slices.Clone(w0)
				p := &Param{Name: "weight", W: TensorFrom(w, 37), G: TensorFrom(slices.Clone(g), 37)}
				opt, _ := NewOptimizer(OptimizerConfig{Kind: kind, LR: 0.01, WeightDecay: wdc})
				step := func() {
					for range 3 {
						opt.Step([]*Param{p}, 0.01)
					}
				}
				if vec {
					step()
				} else {
					withoutFusedAsm(step)
				}
				// Within 1e-6: the loop above lets the compiler fuse
				// multiply-adds (GOAMD64=v3 does), the update does not.
				if !equalApprox(w, want, 1e-6) {
					t.Fatalf("%s wd=%g vector=%v: %v, want %v", kind, wdc, vec, w, want)
				}
			}
		}
	}
}

func equalApprox(a, b []float32, tol float64) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Abs(float64(x)-float64(y)) <= tol*(1+math.Abs(float64(y))) })
}

// TestTrainPassMatchesLayers checks that the fused training pass computes
// the same logits and gradients, bit for bit, as the layers' own Forward
// and Backward after ZeroGrad, for every activation and with dropout, and
// that it leaves no stale gradient from an earlier batch.
func TestTrainPassMatchesLayers(t *testing.T) {
	for _, act := range Activations {
		for _, dropout := range []float64{0, 0.3} {
			r := rand.New(rand.NewPCG(4, 4))
			m, err := Build("mlp:24,17", []int{300}, []string{"a", "b", "c"}, BuildOptions{Activation: act, Dropout: dropout, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range m.Params() {
				if p.Name == "bias" {
					for i := range p.W.Data {
						p.W.Data[i] = float32(r.NormFloat64() * 0.3)
					}
				}
			}
			x := randTensor(r, 9, 300)
			labels := []int{0, 1, 2, 0, 1, 2, 0, 1, 2}
			dl := NewTensor(9, 3)
			seed := func() {
				for _, l := range m.Layers {
					if s, ok := l.(stochastic); ok {
						s.setRand(rand.New(rand.NewPCG(5, 5)))
					}
				}
			}
			seed()
			m.ZeroGrad()
			want := m.Forward(x, true).Clone()
			SoftmaxCrossEntropy(want, labels, dl)
			m.Backward(dl)
			var wantG [][]float32
			for _, p := range m.Params() {
				wantG = append(wantG, slices.Clone(p.G.Data))
				for i := range p.G.Data {
					p.G.Data[i] = 42 // stale values the pass must not keep
				}
			}
			seed()
			pass := newTrainPass(m)
			got := pass.forward(x)
			pass.backward(dl)
			if !sameBits(got.Data, want.Data) {
				t.Fatalf("%s dropout %g: logits differ", act, dropout)
			}
			for i, p := range m.Params() {
				if !sameBits(p.G.Data, wantG[i]) {
					t.Fatalf("%s dropout %g: gradient of parameter %d differs:\n %v\n %v", act, dropout, i, p.G.Data, wantG[i])
				}
			}
		}
	}
}

// TestTrainStepAllocatesNothing checks the steady state of training steps
// as Train runs them (forward, loss, backward and the Adam update), with
// the short last batch of an epoch between full ones.
func TestTrainStepAllocatesNothing(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	m, _ := Build("mlp:128,64", []int{64}, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, BuildOptions{})
	x := randTensor(r, 64, 64)
	labels := make([]int, 64)
	for i := range labels {
		labels[i] = r.IntN(10)
	}
	opt, _ := NewOptimizer(OptimizerConfig{})
	params := m.Params()
	pass := newTrainPass(m)
	dl := NewTensor(64, 10)
	short, shortLabels, shortDL := TensorFrom(x.Data[:24*64], 24, 64), labels[:24], NewTensor(24, 10)
	epoch := func() { // two full batches and a short last one
		for _, b := range []struct {
			x, dl  *Tensor
			labels []int
		}{{x, dl, labels}, {x, dl, labels}, {short, shortDL, shortLabels}} {
			SoftmaxCrossEntropy(pass.forward(b.x), b.labels, b.dl)
			pass.backward(b.dl)
			opt.Step(params, 0.001)
		}
	}
	epoch()
	if a := testing.AllocsPerRun(20, epoch); a != 0 {
		t.Fatalf("an epoch of three training steps allocates %v times", a)
	}
}

// BenchmarkAdamUpdate times the fused Adam update on the weights of the
// MNIST-sized MLP's first layer (784×256), vector loop and Go loop.
func BenchmarkAdamUpdate(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	w, g := randTensor(r, 784*256).Data, randTensor(r, 784*256).Data
	m, v := make([]float32, len(w)), make([]float32, len(w))
	c := &adamConsts{b1: 0.9, ob1: 0.1, b2: 0.999, ob2: 1 - float32(0.999), alpha: 1e-3, eps: 1e-8}
	for _, vec := range []bool{true, false} {
		name := map[bool]string{true: "vector", false: "go"}[vec]
		b.Run(name, func(b *testing.B) {
			if vec && adamAsm == nil {
				b.Skip("no AVX-512")
			}
			run := func() {
				for b.Loop() {
					adamUpdate(w, g, m, v, nil, c)
				}
			}
			if vec {
				run()
			} else {
				withoutFusedAsm(run)
			}
			b.ReportMetric(float64(len(w))*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gparams/s")
		})
	}
}

// TestInferenceAllocatesNothing checks that forward passes of a float and
// an int8 model allocate nothing once their buffers exist, one sample at a
// time and in batches.
func TestInferenceAllocatesNothing(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	d := &Dataset{SampleShape: []int{64}, Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}}
	d.X = randTensor(r, 300, 64).Data
	for range 300 {
		d.Y = append(d.Y, r.IntN(10))
	}
	m, _ := Build("mlp:128,64", []int{64}, d.Classes, BuildOptions{})
	q, _, err := Quantize(m, d, QuantConfig{})
	if err != nil {
		t.Fatal(err)
	}
	one, batch := TensorFrom(d.X[:64], 1, 64), TensorFrom(d.X[:256*64], 256, 64)
	for _, model := range []*Model{m, q} {
		pass := func() {
			model.Forward(batch, false)
			model.Forward(one, false)
		}
		pass()
		if a := testing.AllocsPerRun(20, pass); a != 0 {
			t.Errorf("%s: a forward pass allocates %v times", model.Layers[0].Spec().Kind, a)
		}
	}
}

// TestAxpy checks axpy's vector loop against the Go loop on every tail
// length, within the rounding that fusing each multiply-add saves.
func TestAxpy(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for n := range 70 {
		x, y := randTensor(r, n+1).Data, randTensor(r, n+1).Data
		got, want := slices.Clone(y), slices.Clone(y)
		axpy(got[:n], x, 0.37)
		withoutFusedAsm(func() { axpy(want[:n], x, 0.37) })
		if !equalApprox(got, want, 1e-6) || got[n] != y[n] {
			t.Fatalf("n=%d: %v, want %v", n, got, want)
		}
	}
}
