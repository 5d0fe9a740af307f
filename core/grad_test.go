package core

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
)

// checkGrad compares analytic gradients of loss with respect to every value in
// vals against central finite differences. Values are float32, so the step is
// 1e-3 (float32 rounding of an O(1) loss is ~1e-7, giving ~1e-4 rounding
// error in the difference quotient; truncation error is ~h² = 1e-6), and the
// tolerance is 2e-3 absolute plus 2e-2 relative.
func checkGrad(t *testing.T, what string, vals []float32, analytic []float32, loss func() float64) {
	t.Helper()
	numeric := numericGradient(vals, loss)
	for i := range numeric {
		a, n := float64(analytic[i]), numeric[i]
		if math.Abs(a-n) > 2e-3+2e-2*math.Abs(n) {
			t.Errorf("%s[%d]: analytic %.6g, numeric %.6g", what, i, a, n)
		}
	}
}

// numericGradient is the central finite-difference gradient of loss with
// respect to vals (step 1e-3), which it changes and then restores.
func numericGradient(vals []float32, loss func() float64) []float64 {
	x := make([]float64, len(vals))
	for i, v := range vals {
		x[i] = float64(v)
	}
	orig := append([]float32(nil), vals...)
	g := fd.Gradient(nil, func(p []float64) float64 {
		for i, v := range p {
			vals[i] = float32(v)
		}
		return loss()
	}, x, &fd.Settings{Formula: fd.Central, Step: 1e-3})
	copy(vals, orig)
	return g
}

func randTensor(r *rand.Rand, shape ...int) *Tensor {
	t := NewTensor(shape...)
	for i := range t.Data {
		t.Data[i] = float32(r.NormFloat64())
	}
	return t
}

func TestGradients(t *testing.T) {
	for _, kind := range []string{"relu", "leaky_relu", "tanh", "sigmoid", "gelu", "dropout"} {
		t.Run(kind, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 7))
			var mid Layer
			var before func()
			if kind == "dropout" {
				d := &Dropout{Rate: 0.4}
				mid = d
				before = func() { d.setRand(rand.New(rand.NewPCG(3, 3))) } // the same mask every pass
			} else {
				mid, _ = activationByName(kind, 0.1)
				before = func() {}
			}
			m := &Model{InShape: []int{5}, Classes: []string{"a", "b", "c"},
				Layers: []Layer{NewDense(5, 6, "he", r), mid, NewDense(6, 3, "xavier", r)}}
			for _, p := range m.Params() { // non-zero biases exercise their gradient
				if p.Name == "bias" {
					for i := range p.W.Data {
						p.W.Data[i] = float32(r.NormFloat64() * 0.3)
					}
				}
			}
			x := randTensor(r, 4, 5)
			labels := []int{0, 2, 1, 2}
			loss := func() float64 {
				before()
				l, _, _ := SoftmaxCrossEntropy(m.Forward(x, true), labels, nil)
				return l
			}
			before()
			m.ZeroGrad()
			logits := m.Forward(x, true)
			dl := NewTensor(logits.Shape...)
			SoftmaxCrossEntropy(logits, labels, dl)
			var dx *Tensor = dl
			for i := len(m.Layers) - 1; i >= 0; i-- {
				dx = m.Layers[i].Backward(dx)
			}
			dxCopy := append([]float32(nil), dx.Data...)
			for i, p := range m.Params() {
				checkGrad(t, p.Name+string(rune('0'+i)), p.W.Data, append([]float32(nil), p.G.Data...), loss)
			}
			checkGrad(t, "input", x.Data, dxCopy, loss)
		})
	}
}

func TestSoftmaxCrossEntropyGradientAndStability(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	logits := randTensor(r, 3, 4)
	labels := []int{3, -1, 0} // the unlabelled row must not contribute
	dl := NewTensor(3, 4)
	SoftmaxCrossEntropy(logits, labels, dl)
	checkGrad(t, "logits", logits.Data, append([]float32(nil), dl.Data...), func() float64 {
		l, _, _ := SoftmaxCrossEntropy(logits, labels, nil)
		return l
	})
	for j := 4; j < 8; j++ {
		if dl.Data[j] != 0 {
			t.Fatalf("unlabelled row got gradient %v", dl.Data[4:8])
		}
	}
	// Huge logits must not overflow: log-sum-exp subtracts the row maximum.
	big := TensorFrom([]float32{1000, 0, -1000}, 1, 3)
	l, c, _ := SoftmaxCrossEntropy(big, []int{1}, NewTensor(1, 3))
	if math.IsNaN(l) || math.IsInf(l, 0) || math.Abs(l-1000) > 1e-3 || c != 0 {
		t.Fatalf("loss of huge logits = %v (correct %d), want 1000", l, c)
	}
}
