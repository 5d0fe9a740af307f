package core

import (
	"context"
	"fmt"
	"slices"
)

// qatDense wraps a Dense layer for quantization-aware training: its forward
// pass fake-quantizes the input activations and the weights (quantize, then
// dequantize: the float values the integer model will compute with), and its
// backward pass uses the straight-through estimator, which treats the
// quantizer as the identity inside its clipping range and passes no gradient
// where a value was clipped. The float weights stay the trained parameters.
//
// The input range is an observer: it starts at the calibrated range and, in
// training passes, moves a fraction ObserverMomentum of the way to each
// batch's min-max range (an exponential moving average). Weight grids follow
// the weights through a fixed rangeRule.
//
// Spec and Params are those of the wrapped Dense, so a clone or a saved file
// of a model in training holds the float weights being fine-tuned.
type qatDense struct {
	*Dense
	bits, actBits int // weight and input activation bits

	rule   rangeRule // weight grids
	act    quantizer
	lo, hi float64 // observed input range

	xq, wq   *Tensor // fake-quantized input and weights of the last Forward
	xin, win []bool  // inside the clipping range: where the STE passes gradient
	gw       *Tensor // this batch's weight gradient, before masking
}

// ObserverMomentum is the weight of each training batch in QAT's moving
// averages of the layers' input ranges.
const ObserverMomentum = 0.01

// Forward fake-quantizes x and the weights, then computes xq·Wqᵀ + b. In
// training it first updates the input observer with x's range.
func (q *qatDense) Forward(x *Tensor, train bool) *Tensor {
	if x.Cols() != q.In {
		panic(fmt.Sprintf("core: dense layer expects %d inputs, got %d", q.In, x.Cols()))
	}
	if train && len(x.Data) > 0 {
		mn, mx := minMaxF32(x.Data)
		q.lo += ObserverMomentum * (mn - q.lo)
		q.hi += ObserverMomentum * (mx - q.hi)
	}
	g := q.act.grid(q.lo, q.hi)
	q.xq = ensure(q.xq, x.Shape...)
	q.xin = slices.Grow(q.xin[:0], len(x.Data))[:len(x.Data)]
	for i, v := range x.Data {
		c, in := g.codeIn(v)
		q.xq.Data[i], q.xin[i] = g.value(c), in
	}
	q.wq = ensure(q.wq, q.Out, q.In)
	q.win = fakeQuantize(q.wq.Data, q.win, q.Weight.W.Data, q.Out, q.In, q.rule)
	n := x.Rows()
	q.y = ensure(q.y, n, q.Out)
	fillRows(q.y.Data, q.Bias.W.Data)
	gemm(false, true, n, q.Out, q.In, 1, q.xq.Data, q.In, q.wq.Data, q.In, 1, q.y.Data, q.Out)
	return q.y
}

// fakeQuantize writes the rows×cols weights w, fake-quantized on the grids
// rule derives from them, into wq, and returns in (reusing its memory)
// marking the weights inside their grid's range.
func fakeQuantize(wq []float32, in []bool, w []float32, rows, cols int, rule rangeRule) []bool {
	grids := rule.grids(w, rows, cols)
	in = slices.Grow(in[:0], len(w))[:len(w)]
	for j := range rows {
		g := grids[0]
		if len(grids) > 1 {
			g = grids[j]
		}
		for k := j * cols; k < (j+1)*cols; k++ {
			c, ok := g.codeIn(w[k])
			wq[k], in[k] = g.value(c), ok
		}
	}
	return in
}

// Backward accumulates dW = (dyᵀ·xq) where W is inside its clipping range,
// db = Σ dy, and returns dx = dy·Wq where x was inside its range.
func (q *qatDense) Backward(dy *Tensor) *Tensor {
	n := dy.Rows()
	q.gw = ensure(q.gw, q.Out, q.In)
	gemm(true, false, q.Out, q.In, n, 1, dy.Data, q.Out, q.xq.Data, q.In, 0, q.gw.Data, q.In)
	g := q.Weight.G.Data
	for i, v := range q.gw.Data {
		if q.win[i] {
			g[i] += v
		}
	}
	addRows(q.Bias.G.Data, dy.Data)
	q.dx = ensure(q.dx, n, q.In)
	gemm(false, false, n, q.In, q.Out, 1, dy.Data, q.Out, q.wq.Data, q.In, 0, q.dx.Data, q.In)
	for i, in := range q.xin {
		if !in {
			q.dx.Data[i] = 0
		}
	}
	return q.dx
}

// toQDense converts the layer to the integer layer that computes what its
// forward pass simulates, with the current weights and input range.
func (q *qatDense) toQDense() *QDense {
	w := q.Weight.W.Data
	qw := quantizeWeights(w, q.Out, q.In, q.bits, q.rule.grids(w, q.Out, q.In))
	return newQDense(qw, slices.Clone(q.Bias.W.Data), q.act.grid(q.lo, q.hi), q.actBits)
}

// QAT fine-tunes a quantization-aware copy of m on train (validating on val,
// which may be nil) with tcfg, then converts it to the model Quantize builds
// in mode ptq: BatchNorms folded, dense layers as QDense and convolutions
// (depthwise included) as weight-only WConv, on the grids training
// simulated. Dense layers train with fake-quantized weights and inputs,
// convolutions with fake-quantized weights. m is not modified. Input ranges
// and weight clipping start from a calibration on cfg.Calib training
// samples, as in Quantize; tcfg should usually have a small learning rate
// and few epochs, since the model is already trained. Every Stats passed to
// rec carries Bits and the phase "qat".
//
// The report compares the integer model with the fine-tuned float weights
// (the quantization noise of the result); the TrainReport is the fine-tuning's.
func QAT(ctx context.Context, m *Model, train, val *Dataset, cfg QuantConfig, tcfg TrainConfig, rec Recorder) (*Model, QuantReport, TrainReport, error) {
	if cfg.Mode == "" {
		cfg.Mode = "qat"
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, QuantReport{}, TrainReport{}, err
	}
	if cfg.Mode != "qat" {
		return nil, QuantReport{}, TrainReport{}, fmt.Errorf("QAT runs mode qat, not %s: use Quantize", cfg.Mode)
	}
	if err := checkQuantizable(m, train); err != nil {
		return nil, QuantReport{}, TrainReport{}, err
	}
	// BatchNorm is folded first, with its running statistics, and the folded
	// layers are fine-tuned; Jacob et al. (2018, §3.2) instead fold it with
	// each batch's statistics during training. Folding first trains exactly
	// the weights that will be stored, where theirs trains on batch-statistic
	// folds and deploys a running-statistic one (the gap they close by
	// freezing the statistics late in training). It costs BatchNorm's
	// conditioning, which a short, gentle fine-tuning of a trained model does
	// not need. Models the lab trains are saved folded anyway.
	qm := FoldBatchNorm(m)
	x := calibBatch(qm, train, cfg)
	inputs := denseInputs(qm, x)
	for i, l := range qm.Layers {
		if d, ok := l.(*Dense); ok {
			qm.Layers[i] = newqatDense(d, cfg, inputs[i])
		} else if c, ok := newqatConv(l, cfg); ok {
			qm.Layers[i] = c
		}
	}
	user := tcfg.Stats
	tcfg.Stats = func(s *Stats) {
		if user != nil {
			user(s)
		}
		s.Bits, s.Phase = cfg.Bits, "qat"
	}
	trep, err := Train(ctx, qm, train, val, tcfg, rec)
	if err != nil {
		return nil, QuantReport{}, trep, err
	}
	float, q := qm.Clone(), qm.Clone()
	for i, l := range qm.Layers {
		switch ql := l.(type) {
		case *qatDense:
			q.Layers[i] = ql.toQDense()
		case *qatConv:
			q.Layers[i] = ql.toWConv()
		}
	}
	return q, quantReport(cfg, float, q, x, denseInputs(float, x)), trep, nil
}

// newqatDense wraps d (sharing its parameters) with grids calibrated on its
// inputs x, as Quantize would pick them.
func newqatDense(d *Dense, cfg QuantConfig, x *Tensor) *qatDense {
	q := &qatDense{Dense: d, bits: cfg.Bits, actBits: cfg.ActBits, act: cfg.actQuantizer(),
		rule: cfg.weightRule(d.Weight.W.Data, d.Out, d.In)}
	q.lo, q.hi = q.act.clipRange(x.Data)
	return q
}
