package core

// qatConv wraps a convolution (*Conv2D or *DepthwiseConv2D) for
// quantization-aware training. Its forward pass runs the convolution with
// fake-quantized weights, one grid per filter (per channel for depthwise)
// or one per tensor, the grids of the WConv it converts to; its inputs stay
// float32, as WConv computes with them. Backward is the straight-through
// estimator, as for qatDense: the weight gradient passes where a weight lies
// inside its grid's range and is zero where it was clipped.
//
// The embedded Layer is the float convolution: Spec and Params are its, so
// the optimizer trains its weights, and a clone or a saved file of a model
// in training holds them.
type qatConv struct {
	Layer
	bits int
	rule rangeRule // weight grids, as for qatDense

	// sim is a twin of the convolution that computes with the
	// fake-quantized weights (and a copy of the bias): the float layer's
	// own Forward and Backward, which both read its weight, run on it.
	sim Layer
	win []bool // inside the clipping range: where the STE passes gradient
}

// newqatConv wraps l, sharing its parameters, with weight grids chosen as
// Quantize would, or returns false when l is not a convolution.
func newqatConv(l Layer, cfg QuantConfig) (*qatConv, bool) {
	switch l.(type) {
	case *Conv2D, *DepthwiseConv2D:
	default:
		return nil, false
	}
	w := l.Params()[0].W
	return &qatConv{Layer: l, bits: cfg.Bits, rule: cfg.weightRule(w.Data, w.Shape[0], w.Shape[1]),
		sim: mustLayer(l.Spec())}, true
}

// Forward fake-quantizes the weights into the twin and runs it on x.
func (q *qatConv) Forward(x *Tensor, train bool) *Tensor {
	ps, sp := q.Params(), q.sim.Params()
	w := ps[0].W
	q.win = fakeQuantize(sp[0].W.Data, q.win, w.Data, w.Shape[0], w.Shape[1], q.rule)
	if len(ps) > 1 {
		copy(sp[1].W.Data, ps[1].W.Data)
	}
	return q.sim.Forward(x, train)
}

// Backward runs the twin's backward pass, which returns dx = the gradient
// through the fake-quantized weights, and adds its weight gradient where the
// weights are inside their range, and its bias gradient, to the float
// layer's.
func (q *qatConv) Backward(dy *Tensor) *Tensor {
	ps, sp := q.Params(), q.sim.Params()
	for _, p := range sp {
		clear(p.G.Data) // the twin accumulates; only this batch's gradient is wanted
	}
	dx := q.sim.Backward(dy)
	g := ps[0].G.Data
	for i, v := range sp[0].G.Data {
		if q.win[i] {
			g[i] += v
		}
	}
	if len(ps) > 1 {
		for i, v := range sp[1].G.Data {
			ps[1].G.Data[i] += v
		}
	}
	return dx
}

// toWConv converts the layer to the weight-only quantized convolution that
// computes what its forward pass simulates, with the current weights.
func (q *qatConv) toWConv() *WConv {
	w := q.Params()[0].W
	rows, cols := w.Shape[0], w.Shape[1]
	return newWConv(q.Layer, quantizeWeights(w.Data, rows, cols, q.bits, q.rule.grids(w.Data, rows, cols)))
}
