package core

import (
	"fmt"
	"math/rand/v2"
)

// Param is one trainable tensor, its gradient and an optional pruning mask.
type Param struct {
	Name string  // "weight" or "bias"
	W, G *Tensor // value and accumulated gradient, same shape
	// Mask, when not nil, has one entry per value of W, each 0 or 1; optimizers
	// keep masked weights exactly zero.
	Mask []float32
}

// Prunable reports whether the parameter is a weight matrix (biases are not pruned).
func (p *Param) Prunable() bool { return p.Name == "weight" }

// Layer is one differentiable stage of a sequential model. Rows of x are examples.
type Layer interface {
	// Forward computes the layer's output and caches what Backward needs.
	// train selects training behaviour (dropout is active only when true).
	// The returned tensor is owned by the layer and valid until the next Forward.
	Forward(x *Tensor, train bool) *Tensor
	// Backward takes dL/dy for the last Forward, accumulates parameter
	// gradients into Params' G and returns dL/dx.
	Backward(dy *Tensor) *Tensor
	// Params returns the trainable parameters (none for activations).
	Params() []*Param
	// Spec describes the layer so that it can be rebuilt (cloning, model files).
	Spec() LayerSpec
	// OutShape is the per-sample output shape for a per-sample input shape.
	OutShape(in []int) []int
	// MACs is the multiply-accumulates of one sample's forward pass.
	MACs(in []int) int64
}

// LayerSpec is the serializable description of a layer. Fields that do not
// apply to a kind are zero.
type LayerSpec struct {
	// Kind is "dense", "relu", "leaky_relu", "tanh", "sigmoid", "gelu", "dropout",
	// "conv", "dwconv", "maxpool", "avgpool", "gap" (global average pool),
	// "batchnorm" or "flatten"; technique layers add their own kinds.
	Kind  string  `json:"kind"`
	In    int     `json:"in,omitempty"`    // dense: input units
	Out   int     `json:"out,omitempty"`   // dense: output units; conv: output channels
	Rate  float64 `json:"rate,omitempty"`  // dropout: drop probability
	Alpha float64 `json:"alpha,omitempty"` // leaky_relu: negative slope
	// Quantized layers (qdense, wdense, wconv, wdwconv): weight and input activation bit widths.
	Bits    int `json:"bits,omitempty"`
	ActBits int `json:"act_bits,omitempty"`

	// Spatial layers (conv, dwconv, maxpool, avgpool, gap) take NHWC samples
	// of shape [H W C]; batchnorm takes [H W C], or [C] features when H and W
	// are zero.
	H      int  `json:"h,omitempty"`      // spatial layers, batchnorm: input height
	W      int  `json:"w,omitempty"`      // spatial layers, batchnorm: input width
	C      int  `json:"c,omitempty"`      // spatial layers, batchnorm: input channels
	Kernel int  `json:"k,omitempty"`      // conv, dwconv, maxpool, avgpool: kernel side (square)
	Stride int  `json:"stride,omitempty"` // conv, dwconv: default 1; pools: default Kernel
	Pad    int  `json:"pad,omitempty"`    // conv, dwconv: zero padding on each border
	NoBias bool `json:"nobias,omitempty"` // conv, dwconv: no bias (a BatchNorm follows)
}

// NewLayer builds an untrained layer from its spec. Weights are zero; use an
// initializer (or copy weights in) afterwards.
func NewLayer(s LayerSpec) (Layer, error) {
	switch s.Kind {
	case "dense":
		if s.In <= 0 || s.Out <= 0 {
			return nil, fmt.Errorf("dense layer needs positive sizes, got %d→%d", s.In, s.Out)
		}
		return newDense(s.In, s.Out), nil
	case "dropout":
		if s.Rate < 0 || s.Rate >= 1 {
			return nil, fmt.Errorf("dropout rate %g is outside [0, 1)", s.Rate)
		}
		return &Dropout{Rate: s.Rate}, nil
	case "conv", "dwconv", "maxpool", "avgpool", "gap", "batchnorm", "flatten":
		return newSpatialLayer(s)
	case "sparse_dense":
		if s.In <= 0 || s.Out <= 0 {
			return nil, fmt.Errorf("sparse_dense layer needs positive sizes, got %d→%d", s.In, s.Out)
		}
		return &SparseDense{In: s.In, Out: s.Out}, nil // weights come from decodeTensors
	case "qdense", "wdense":
		return newQuantLayer(s)
	case "wconv", "wdwconv":
		return newWConvLayer(s)
	}
	if a, ok := activationByName(s.Kind, s.Alpha); ok {
		return a, nil
	}
	return nil, fmt.Errorf("unknown layer kind %q", s.Kind)
}

// stochastic is implemented by layers that draw random numbers in training.
type stochastic interface {
	setRand(r *rand.Rand)
}
