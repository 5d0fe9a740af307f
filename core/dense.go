package core

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Dense is a fully connected layer: y = x·Wᵀ + b, with W of shape [out, in]
// (one row per output unit, as PyTorch stores it, so per-unit pruning and
// per-channel quantization act on rows).
type Dense struct {
	In, Out int
	Weight  *Param
	Bias    *Param

	x, y, dx *Tensor // cached input and reusable buffers
}

func newDense(in, out int) *Dense {
	return &Dense{In: in, Out: out,
		Weight: &Param{Name: "weight", W: NewTensor(out, in), G: NewTensor(out, in)},
		Bias:   &Param{Name: "bias", W: NewTensor(out), G: NewTensor(out)},
	}
}

// NewDense returns a dense layer initialized with init ("he" or "xavier")
// from r. Biases start at zero.
func NewDense(in, out int, init string, r *rand.Rand) *Dense {
	d := newDense(in, out)
	initWeights(d.Weight.W.Data, in, out, init, r)
	return d
}

// initWeights fills w with He (for ReLU-like activations) or Xavier/Glorot
// (for tanh and sigmoid) normal values.
func initWeights(w []float32, fanIn, fanOut int, init string, r *rand.Rand) {
	var std float64
	switch init {
	case "xavier":
		std = math.Sqrt(2 / float64(fanIn+fanOut))
	default: // "he"
		std = math.Sqrt(2 / float64(fanIn))
	}
	for i := range w {
		w[i] = float32(r.NormFloat64() * std)
	}
}

// Forward computes x·Wᵀ + b.
func (d *Dense) Forward(x *Tensor, train bool) *Tensor {
	d.product(x)
	d.addBias()
	return d.y
}

// product sets d.y = x·Wᵀ (no bias yet) and caches x.
func (d *Dense) product(x *Tensor) {
	if x.Cols() != d.In {
		panic(fmt.Sprintf("core: dense layer expects %d inputs, got %d", d.In, x.Cols()))
	}
	n := x.Rows()
	d.x = x
	d.y = ensureMatrix(d.y, n, d.Out)
	gemm(false, true, n, d.Out, d.In, 1, x.Data, d.In, d.Weight.W.Data, d.In, 0, d.y.Data, d.Out)
}

// addBias adds b to every row of d.y.
func (d *Dense) addBias() {
	for r := range d.y.Rows() {
		addTo(d.y.Row(r), d.Bias.W.Data)
	}
}

// Backward accumulates dW = dyᵀ·x and db = Σ dy, and returns dx = dy·W.
func (d *Dense) Backward(dy *Tensor) *Tensor {
	addRows(d.Bias.G.Data, dy.Data)
	return d.backwardWeights(dy, 1, true)
}

// Params returns the weight and the bias.
func (d *Dense) Params() []*Param { return []*Param{d.Weight, d.Bias} }

// Spec describes the layer.
func (d *Dense) Spec() LayerSpec { return LayerSpec{Kind: "dense", In: d.In, Out: d.Out} }

// OutShape is [Out].
func (d *Dense) OutShape([]int) []int { return []int{d.Out} }

// MACs is In×Out per sample.
func (d *Dense) MACs([]int) int64 { return int64(d.In) * int64(d.Out) }
