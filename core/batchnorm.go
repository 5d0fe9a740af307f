package core

import (
	"fmt"
	"math"
	"slices"
)

// BatchNorm constants, as in PyTorch's defaults.
const (
	bnEps      = 1e-5 // added to the variance before the square root
	bnMomentum = 0.1  // weight of the newest batch in the running statistics
)

// BatchNorm normalizes each channel, the last dimension of a sample (the C
// of [H W C], or each feature of a vector), then scales and shifts it by
// the trainable Gamma and Beta. In training it normalizes with the batch's
// statistics over all samples and pixels and updates the running mean and
// variance; in inference it uses the running statistics, which makes it a
// per-channel affine map that FoldBatchNorm merges into the layer before.
type BatchNorm struct {
	Shape       []int  // per-sample input (and output) shape: [H W C] or [C]
	Gamma, Beta *Param // per-channel scale (init 1) and shift (init 0)
	// Mean and Var are the running statistics inference uses. They are not
	// trainable: training updates them from batch statistics.
	Mean, Var []float32

	mean     []float32 // of the last training batch, per channel
	invStd   []float32 // 1/√(var+ε) of the last training batch, per channel
	xhat     *Tensor   // normalized input of the last training batch
	y, dx    *Tensor
	trained  bool // the last Forward used batch statistics
	sum, sq  []float64
	gs, gxhs []float64 // Backward's per-channel sums of dy and dy·xhat
	coef     []float32 // Backward's per-channel coefficients
}

func newBatchNorm(shape []int) *BatchNorm {
	c := shape[len(shape)-1]
	b := &BatchNorm{Shape: slices.Clone(shape),
		Gamma: &Param{Name: "gamma", W: NewTensor(c), G: NewTensor(c)},
		Beta:  &Param{Name: "beta", W: NewTensor(c), G: NewTensor(c)},
		Mean:  make([]float32, c), Var: make([]float32, c)}
	for i := range c {
		b.Gamma.W.Data[i], b.Var[i] = 1, 1
	}
	return b
}

// NewBatchNorm returns a batch normalization of samples of shape [H W C] or
// [C], with Gamma 1, Beta 0 and running statistics of the standard normal.
func NewBatchNorm(shape ...int) *BatchNorm {
	var s LayerSpec
	switch len(shape) {
	case 1:
		s = LayerSpec{Kind: "batchnorm", C: shape[0]}
	case 3:
		s = LayerSpec{Kind: "batchnorm", H: shape[0], W: shape[1], C: shape[2]}
	default:
		panic(fmt.Sprintf("core: batchnorm takes samples of shape [H W C] or [C], not %v", shape))
	}
	return mustLayer(s).(*BatchNorm)
}

// channels is the number of channels, C.
func (b *BatchNorm) channels() int { return b.Shape[len(b.Shape)-1] }

// Forward normalizes x with the batch's statistics when train is true (and
// updates the running ones), or with the running statistics otherwise.
func (b *BatchNorm) Forward(x *Tensor, train bool) *Tensor {
	c := b.channels()
	if x.Cols() != numel(b.Shape) {
		panic(fmt.Sprintf("core: batchnorm layer expects inputs of shape %v (%d values), got %d",
			b.Shape, numel(b.Shape), x.Cols()))
	}
	b.y = ensure(b.y, x.Shape...)
	b.trained = train
	m := len(x.Data) / c // values per channel in the batch
	gamma, beta := b.Gamma.W.Data, b.Beta.W.Data
	if !train {
		scale, shift := b.affine()
		for i := 0; i < len(x.Data); i += c {
			in, out := x.Data[i:i+c], b.y.Data[i:i+c]
			for j, v := range in {
				out[j] = v*scale[j] + shift[j]
			}
		}
		return b.y
	}
	if m == 0 {
		return b.y
	}
	// One pass for the sums of x and x², in float64: the variance as
	// E[x²] − E[x]² loses nothing that matters at that precision.
	b.sum, b.sq = zeroed(b.sum, c), zeroed(b.sq, c)
	for i := 0; i < len(x.Data); i += c {
		row := x.Data[i : i+c]
		s, q := b.sum[:len(row)], b.sq[:len(row)]
		for j, v := range row {
			f := float64(v)
			s[j] += f
			q[j] += f * f
		}
	}
	if len(b.invStd) != c {
		b.invStd, b.mean = make([]float32, c), make([]float32, c)
	}
	unbias := 1.0
	if m > 1 {
		unbias = float64(m) / float64(m-1) // the running variance is the unbiased estimate, as in PyTorch
	}
	for j := range c {
		mean := b.sum[j] / float64(m)
		v := max(b.sq[j]/float64(m)-mean*mean, 0)
		b.mean[j], b.invStd[j] = float32(mean), float32(1/math.Sqrt(v+bnEps))
		b.Mean[j] = float32((1-bnMomentum)*float64(b.Mean[j]) + bnMomentum*mean)
		b.Var[j] = float32((1-bnMomentum)*float64(b.Var[j]) + bnMomentum*v*unbias)
	}
	b.xhat = ensure(b.xhat, x.Shape...)
	for i := 0; i < len(x.Data); i += c {
		in := x.Data[i : i+c]
		xh, out := b.xhat.Data[i:i+len(in)], b.y.Data[i:i+len(in)]
		mean, inv, gamma, beta := b.mean[:len(in)], b.invStd[:len(in)], gamma[:len(in)], beta[:len(in)]
		for j, v := range in {
			h := (v - mean[j]) * inv[j]
			xh[j] = h
			out[j] = gamma[j]*h + beta[j]
		}
	}
	return b.y
}

// affine returns the per-channel scale and shift of inference:
// y = x·scale + shift with scale = γ/√(var+ε), shift = β − mean·scale.
func (b *BatchNorm) affine() (scale, shift []float32) {
	c := b.channels()
	scale, shift = make([]float32, c), make([]float32, c)
	for j := range c {
		s := float64(b.Gamma.W.Data[j]) / math.Sqrt(float64(b.Var[j])+bnEps)
		scale[j] = float32(s)
		shift[j] = float32(float64(b.Beta.W.Data[j]) - float64(b.Mean[j])*s)
	}
	return scale, shift
}

// Backward accumulates dγ = Σ dy·x̂ and dβ = Σ dy and returns
// dx = γ/(σ·m) · (m·dy − dβ − x̂·dγ), the gradient through the batch
// statistics. The last Forward must have been a training one.
func (b *BatchNorm) Backward(dy *Tensor) *Tensor {
	if !b.trained {
		panic("core: batchnorm Backward needs a training Forward (batch statistics) before it")
	}
	c := b.channels()
	m := len(dy.Data) / c
	b.dx = ensure(b.dx, dy.Shape...)
	if m == 0 {
		return b.dx
	}
	b.gs, b.gxhs = zeroed(b.gs, c), zeroed(b.gxhs, c)
	for i := 0; i < len(dy.Data); i += c {
		g := dy.Data[i : i+c]
		xh, gs, gxhs := b.xhat.Data[i:i+len(g)], b.gs[:len(g)], b.gxhs[:len(g)]
		for j, v := range g {
			gs[j] += float64(v)
			gxhs[j] += float64(v * xh[j])
		}
	}
	if len(b.coef) != 3*c {
		b.coef = make([]float32, 3*c)
	}
	// dx = k·(dy − mean(dy) − x̂·mean(dy·x̂)) with k = γ/σ.
	k, mdy, mdyx := b.coef[:c], b.coef[c:2*c], b.coef[2*c:]
	for j := range c {
		b.Beta.G.Data[j] += float32(b.gs[j])
		b.Gamma.G.Data[j] += float32(b.gxhs[j])
		k[j] = b.Gamma.W.Data[j] * b.invStd[j]
		mdy[j], mdyx[j] = float32(b.gs[j]/float64(m)), float32(b.gxhs[j]/float64(m))
	}
	for i := 0; i < len(dy.Data); i += c {
		g := dy.Data[i : i+c]
		xh, out := b.xhat.Data[i:i+len(g)], b.dx.Data[i:i+len(g)]
		k, mdy, mdyx := k[:len(g)], mdy[:len(g)], mdyx[:len(g)]
		for j, v := range g {
			out[j] = k[j] * (v - mdy[j] - xh[j]*mdyx[j])
		}
	}
	return b.dx
}

// zeroed returns s with length n, all zero, reusing its memory when it can.
func zeroed(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// Params returns Gamma and Beta; the running statistics are not trainable.
func (b *BatchNorm) Params() []*Param { return []*Param{b.Gamma, b.Beta} }

// Spec describes the layer.
func (b *BatchNorm) Spec() LayerSpec {
	if len(b.Shape) == 1 {
		return LayerSpec{Kind: "batchnorm", C: b.Shape[0]}
	}
	return LayerSpec{Kind: "batchnorm", H: b.Shape[0], W: b.Shape[1], C: b.Shape[2]}
}

// OutShape equals the input shape.
func (b *BatchNorm) OutShape([]int) []int { return slices.Clone(b.Shape) }

// MACs is one multiply-add per value: inference scales and shifts every
// value unless the layer is folded away.
func (b *BatchNorm) MACs([]int) int64 { return int64(numel(b.Shape)) }

// cloneLayer returns a deep copy, running statistics included (Clone copies
// only Params of other layers).
func (b *BatchNorm) cloneLayer() Layer {
	c := newBatchNorm(b.Shape)
	copy(c.Gamma.W.Data, b.Gamma.W.Data)
	copy(c.Beta.W.Data, b.Beta.W.Data)
	copy(c.Mean, b.Mean)
	copy(c.Var, b.Var)
	return c
}

// encodeTensors stores Gamma, Beta and the running statistics.
func (b *BatchNorm) encodeTensors() []FileTensor {
	c := []int{b.channels()}
	return []FileTensor{
		{Name: "gamma", DType: "F32", Shape: c, Data: EncodeF32(b.Gamma.W.Data)},
		{Name: "beta", DType: "F32", Shape: c, Data: EncodeF32(b.Beta.W.Data)},
		{Name: "running_mean", DType: "F32", Shape: c, Data: EncodeF32(b.Mean)},
		{Name: "running_var", DType: "F32", Shape: c, Data: EncodeF32(b.Var)},
	}
}

// decodeTensors reads what encodeTensors stored.
func (b *BatchNorm) decodeTensors(get func(string) (FileTensor, error)) error {
	c := []int{b.channels()}
	for _, t := range []struct {
		name string
		dst  []float32
	}{{"gamma", b.Gamma.W.Data}, {"beta", b.Beta.W.Data}, {"running_mean", b.Mean}, {"running_var", b.Var}} {
		v, err := getF32(get, t.name, c)
		if err != nil {
			return err
		}
		copy(t.dst, v)
	}
	for j, v := range b.Var {
		if !(v >= 0) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("corrupted: running variance %g of channel %d", v, j)
		}
	}
	return nil
}

// FoldBatchNorm returns a copy of m in which every BatchNorm that directly
// follows a convolution, a depthwise convolution or a dense layer is merged
// into that layer: with scale = γ/√(var+ε), each output channel's weights
// are multiplied by its scale and its bias becomes (b − mean)·scale + β. The
// result computes what m computes in inference (up to float rounding) with
// fewer layers and MACs; it is what inference and export should use. Other
// BatchNorms are kept. Masks carry over (a scaled zero stays zero). m is not
// modified.
func FoldBatchNorm(m *Model) *Model {
	c := m.Clone()
	layers := c.Layers[:0:0]
	for _, l := range c.Layers {
		if bn, ok := l.(*BatchNorm); ok && len(layers) > 0 {
			if f, ok := foldInto(layers[len(layers)-1], bn); ok {
				layers[len(layers)-1] = f
				continue
			}
		}
		layers = append(layers, l)
	}
	c.Layers = layers
	return c
}

// foldInto returns prev with bn merged into it, when prev is a layer whose
// weight rows are bn's channels.
func foldInto(prev Layer, bn *BatchNorm) (Layer, bool) {
	switch prev.(type) {
	case *Conv2D, *DepthwiseConv2D, *Dense:
	default:
		return nil, false
	}
	s := prev.Spec()
	s.NoBias = false
	f := mustLayer(s)
	w, nw := prev.Params()[0], f.Params()[0]
	c := bn.channels()
	if w.W.Shape[0] != c {
		return nil, false
	}
	scale, shift := bn.affine()
	row := len(w.W.Data) / c
	for o := range c {
		for i := o * row; i < (o+1)*row; i++ {
			nw.W.Data[i] = w.W.Data[i] * scale[o]
		}
	}
	if w.Mask != nil {
		nw.Mask = slices.Clone(w.Mask)
	}
	nb := f.Params()[1].W.Data
	copy(nb, shift)
	if ps := prev.Params(); len(ps) > 1 {
		for o, v := range ps[1].W.Data {
			nb[o] += v * scale[o]
		}
	}
	return f, true
}
