package core

import (
	"fmt"
	"slices"
	"strings"
)

// WConv is a weight-only quantized convolution (Kind "wconv") or depthwise
// convolution ("wdwconv"): the weights are stored as Bits-wide codes with a
// scale and zero point per filter (per channel for depthwise) or per tensor,
// packed below 8 bits in a model file, and dequantized once, when built or
// loaded, into a float layer that computes the convolution. Like WDense, it
// shrinks the file, not the arithmetic: there is no integer convolution
// kernel, so Quantize uses this form for convolutions in every mode, and
// QAT converts its fine-tuned convolutions to it.
type WConv struct {
	Bits int

	conv Layer    // *Conv2D or *DepthwiseConv2D holding the dequantized weights
	w    qweights // nil codes until built or loaded
}

// quantizeConv returns l quantized weight-only with cfg's weight settings,
// or false when l is not a convolution.
func quantizeConv(l Layer, cfg QuantConfig) (*WConv, bool) {
	switch l.(type) {
	case *Conv2D, *DepthwiseConv2D:
	default:
		return nil, false
	}
	p := l.Params()[0]
	return newWConv(l, cfg.quantizeMatrix(p.W.Data, p.W.Shape[0], p.W.Shape[1])), true
}

// newWConv returns the weight-only form of convolution l, given l's
// quantized weights w; l's bias, if any, is copied.
func newWConv(l Layer, w qweights) *WConv {
	q := &WConv{Bits: w.bits, conv: mustLayer(l.Spec()), w: w}
	if ps := l.Params(); len(ps) > 1 {
		copy(q.conv.Params()[1].W.Data, ps[1].W.Data)
	}
	q.load()
	return q
}

// newWConvLayer builds an empty wconv or wdwconv layer from its spec, to be
// filled by decodeTensors.
func newWConvLayer(s LayerSpec) (Layer, error) {
	if s.Bits < 2 || s.Bits > 8 {
		return nil, fmt.Errorf("%s layer has %d-bit weights: want 2 to 8", s.Kind, s.Bits)
	}
	inner := s
	inner.Kind, inner.Bits = strings.TrimPrefix(s.Kind, "w"), 0
	conv, err := newSpatialLayer(inner)
	if err != nil {
		return nil, err
	}
	return &WConv{Bits: s.Bits, conv: conv}, nil
}

// load writes the dequantized weights into the float layer.
func (q *WConv) load() { copy(q.conv.Params()[0].W.Data, q.w.dequantize()) }

// Forward runs the convolution with the dequantized weights.
func (q *WConv) Forward(x *Tensor, train bool) *Tensor {
	if q.w.codes == nil {
		panic("core: " + q.Spec().Kind + " layer holds no weights; build it with Quantize or load it from a model file")
	}
	return q.conv.Forward(x, false)
}

// Backward panics: quantized layers are for inference. Fine-tune the float model.
func (q *WConv) Backward(*Tensor) *Tensor {
	panic("core: quantized layers are inference-only; fine-tune the float model")
}

// Params returns nil: nothing in a quantized layer is trainable.
func (q *WConv) Params() []*Param { return nil }

// Spec is the convolution's, with Kind "wconv" or "wdwconv" and Bits.
func (q *WConv) Spec() LayerSpec {
	s := q.conv.Spec()
	s.Kind, s.Bits = "w"+s.Kind, q.Bits
	return s
}

// OutShape is the convolution's.
func (q *WConv) OutShape(in []int) []int { return q.conv.OutShape(in) }

// MACs is the convolution's.
func (q *WConv) MACs(in []int) int64 { return q.conv.MACs(in) }

func (q *WConv) paramCount() (params, nonzero int) {
	for _, p := range q.conv.Params()[1:] {
		params += len(p.W.Data)
		nonzero += len(p.W.Data) - countZeros(p.W.Data)
	}
	return params + len(q.w.codes), nonzero + q.w.nonzero()
}

func (q *WConv) weights() *qweights { return &q.w }

func (q *WConv) cloneLayer() Layer {
	c := &WConv{Bits: q.Bits, conv: mustLayer(q.conv.Spec())}
	if q.w.codes == nil {
		return c
	}
	for i, p := range q.conv.Params() {
		copy(c.conv.Params()[i].W.Data, p.W.Data)
	}
	c.w = q.w.clone()
	return c
}

// encodeTensors stores the codes and grids (see qweights.encode) and the
// float bias, if any.
func (q *WConv) encodeTensors() []FileTensor {
	if q.w.codes == nil {
		panic("core: " + q.Spec().Kind + " layer holds no weights to save")
	}
	ts := q.w.encode()
	for _, p := range q.conv.Params()[1:] {
		ts = append(ts, FileTensor{Name: p.Name, DType: "F32", Shape: p.W.Shape, Data: EncodeF32(p.W.Data)})
	}
	return ts
}

// decodeTensors reads what encodeTensors stored.
func (q *WConv) decodeTensors(get func(name string) (FileTensor, error)) error {
	ps := q.conv.Params()
	w, err := decodeWeights(get, ps[0].W.Shape[0], ps[0].W.Shape[1], q.Bits)
	if err != nil {
		return err
	}
	for _, p := range ps[1:] {
		v, err := getF32(get, p.Name, p.W.Shape)
		if err != nil {
			return err
		}
		copy(p.W.Data, v)
	}
	q.w = w
	q.load()
	return nil
}

// isQuantizedKind reports whether a layer kind is already quantized or
// sparse, which Quantize refuses.
func isQuantizedKind(k string) bool {
	return slices.Contains([]string{"qdense", "wdense", "sparse_dense", "wconv", "wdwconv"}, k)
}
