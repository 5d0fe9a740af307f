package core

import (
	"fmt"
	"math/rand/v2"
)

// Spatial layers work on NHWC activations: a sample is an H×W×C image
// stored pixel by pixel with its channels innermost, and a batch is a tensor
// of N such samples, [N H W C] (or any shape with N rows of H·W·C values, as
// the first layer receives from a dataset). Each spatial layer knows its
// per-sample input shape, so it reads flat rows as images.

// Conv2D is a 2-D convolution with a square kernel, a stride and zero
// padding. Weight has shape [Out, K·K·C]: one row per output channel
// (filter), holding its values in (ky, kx, c) order, the order in which
// im2col lays out a patch. Per-filter pruning and per-channel quantization
// therefore act on rows, as they do on a Dense weight. A 1×1 convolution
// with stride 1 and no padding (pointwise) is a plain matrix product on the
// input and skips im2col altogether.
type Conv2D struct {
	H, W, C     int // input height, width and channels
	Out         int // output channels
	K           int // kernel side
	Stride, Pad int // Stride ≥ 1; Pad zero pixels on each border
	Weight      *Param
	Bias        *Param // nil for a convolution without bias (one followed by BatchNorm)

	x, cols, y, dcols, dx *Tensor // cached input and reusable buffers
}

func newConv2D(h, w, c, out, k, stride, pad int, bias bool) *Conv2D {
	kk := k * k * c
	l := &Conv2D{H: h, W: w, C: c, Out: out, K: k, Stride: stride, Pad: pad,
		Weight: &Param{Name: "weight", W: NewTensor(out, kk), G: NewTensor(out, kk)}}
	if bias {
		l.Bias = &Param{Name: "bias", W: NewTensor(out), G: NewTensor(out)}
	}
	return l
}

// NewConv2D returns a convolution of an h×w×c input to out channels,
// initialized with init ("he" or "xavier") from r. Biases, if any, start at
// zero. It panics on sizes NewLayer would refuse.
func NewConv2D(h, w, c, out, k, stride, pad int, bias bool, init string, r *rand.Rand) *Conv2D {
	l := mustLayer(LayerSpec{Kind: "conv", H: h, W: w, C: c, Out: out, Kernel: k,
		Stride: stride, Pad: pad, NoBias: !bias}).(*Conv2D)
	initWeights(l.Weight.W.Data, k*k*c, k*k*out, init, r)
	return l
}

// outSide is the output side of a convolution or pooling window sweep.
func outSide(in, k, stride, pad int) int { return (in+2*pad-k)/stride + 1 }

// pointwise reports whether the convolution is a plain product over channels.
func (l *Conv2D) pointwise() bool { return l.K == 1 && l.Stride == 1 && l.Pad == 0 }

// Forward lays the input's patches out as rows (im2col) and multiplies them
// by the filters in one product for the whole batch: y = cols·Wᵀ + b, which
// is the NHWC output [N OH OW Out] as it stands.
func (l *Conv2D) Forward(x *Tensor, train bool) *Tensor {
	n := x.Rows()
	if x.Cols() != l.H*l.W*l.C {
		panic(fmt.Sprintf("core: conv layer expects %dx%dx%d inputs (%d values), got %d",
			l.H, l.W, l.C, l.H*l.W*l.C, x.Cols()))
	}
	l.x = x
	oh, ow := outSide(l.H, l.K, l.Stride, l.Pad), outSide(l.W, l.K, l.Stride, l.Pad)
	rows, kk := n*oh*ow, l.K*l.K*l.C
	a := x.Data
	if !l.pointwise() {
		l.cols = ensure(l.cols, rows, kk)
		im2col(l.cols.Data, x.Data, n, l.H, l.W, l.C, l.K, l.Stride, l.Pad, oh, ow)
		a = l.cols.Data
	}
	l.y = ensure(l.y, n, oh, ow, l.Out)
	y := l.y.Data
	var beta float32
	if l.Bias != nil {
		fillRows(y[:rows*l.Out], l.Bias.W.Data)
		beta = 1
	}
	gemm(false, true, rows, l.Out, kk, 1, a, kk, l.Weight.W.Data, kk, beta, y, l.Out)
	return l.y
}

// Backward accumulates dW = dyᵀ·cols and db = Σ dy, and returns dx, the
// patch gradients dy·W folded back onto the image (col2im).
func (l *Conv2D) Backward(dy *Tensor) *Tensor {
	n := l.x.Rows()
	oh, ow := outSide(l.H, l.K, l.Stride, l.Pad), outSide(l.W, l.K, l.Stride, l.Pad)
	rows, kk := n*oh*ow, l.K*l.K*l.C
	a := l.x.Data
	if !l.pointwise() {
		a = l.cols.Data
	}
	gemm(true, false, l.Out, kk, rows, 1, dy.Data, l.Out, a, kk, 1, l.Weight.G.Data, kk)
	if l.Bias != nil {
		addRows(l.Bias.G.Data, dy.Data[:rows*l.Out])
	}
	l.dx = ensure(l.dx, n, l.H, l.W, l.C)
	if l.pointwise() {
		gemm(false, false, rows, kk, l.Out, 1, dy.Data, l.Out, l.Weight.W.Data, kk, 0, l.dx.Data, kk)
		return l.dx
	}
	l.dcols = ensure(l.dcols, rows, kk)
	gemm(false, false, rows, kk, l.Out, 1, dy.Data, l.Out, l.Weight.W.Data, kk, 0, l.dcols.Data, kk)
	col2im(l.dx.Data, l.dcols.Data, n, l.H, l.W, l.C, l.K, l.Stride, l.Pad, oh, ow)
	return l.dx
}

// Params returns the weight and, if the layer has one, the bias.
func (l *Conv2D) Params() []*Param {
	if l.Bias == nil {
		return []*Param{l.Weight}
	}
	return []*Param{l.Weight, l.Bias}
}

// Spec describes the layer.
func (l *Conv2D) Spec() LayerSpec {
	return LayerSpec{Kind: "conv", H: l.H, W: l.W, C: l.C, Out: l.Out, Kernel: l.K,
		Stride: l.Stride, Pad: l.Pad, NoBias: l.Bias == nil}
}

// OutShape is [OH OW Out].
func (l *Conv2D) OutShape([]int) []int {
	return []int{outSide(l.H, l.K, l.Stride, l.Pad), outSide(l.W, l.K, l.Stride, l.Pad), l.Out}
}

// MACs is OH·OW·Out·K·K·C per sample.
func (l *Conv2D) MACs([]int) int64 {
	oh, ow := outSide(l.H, l.K, l.Stride, l.Pad), outSide(l.W, l.K, l.Stride, l.Pad)
	return int64(oh*ow) * int64(l.Out) * int64(l.K*l.K*l.C)
}

// im2col writes one row per output pixel of the n NHWC images in x into
// cols: the K×K×C patch the kernel sees there, in (ky, kx, c) order, with
// zeros where the patch hangs over the padding. In NHWC the kx×c part of a
// patch row is contiguous in the image, so an interior segment is one copy.
func im2col(cols, x []float32, n, h, w, c, k, stride, pad, oh, ow int) {
	kc, row := k*c, k*k*c
	for s := range n {
		img := x[s*h*w*c : (s+1)*h*w*c]
		for oy := range oh {
			first := (s*oh + oy) * ow // the patch row of output pixel (oy, 0)
			for ky := range k {
				iy := oy*stride - pad + ky
				for ox := range ow {
					seg := cols[(first+ox)*row+ky*kc:][:kc]
					x0 := ox*stride - pad
					switch {
					case iy < 0 || iy >= h:
						clear(seg)
					case x0 >= 0 && x0+k <= w:
						copyShort(seg, img[(iy*w+x0)*c:])
					default:
						for kx := range k {
							if ix := x0 + kx; ix >= 0 && ix < w {
								copyShort(seg[kx*c:(kx+1)*c], img[(iy*w+ix)*c:])
							} else {
								clear(seg[kx*c : (kx+1)*c])
							}
						}
					}
				}
			}
		}
	}
}

// copyShort copies src into dst (len(dst) values). Patch segments are often
// a few values long (3 for a 3x3 kernel on one channel), where a loop beats
// the call into memmove.
func copyShort(dst, src []float32) {
	if len(dst) > 16 {
		copy(dst, src)
		return
	}
	src = src[:len(dst)]
	for i := range dst {
		dst[i] = src[i]
	}
}

// col2im is im2col's adjoint: it sums each patch row of dcols back onto the
// pixels it came from, overwriting dx (n NHWC images).
func col2im(dx, dcols []float32, n, h, w, c, k, stride, pad, oh, ow int) {
	clear(dx)
	kc, row := k*c, k*k*c
	for s := range n {
		img := dx[s*h*w*c : (s+1)*h*w*c]
		for oy := range oh {
			first := (s*oh + oy) * ow
			for ky := range k {
				iy := oy*stride - pad + ky
				if iy < 0 || iy >= h {
					continue
				}
				for ox := range ow {
					x0 := ox*stride - pad
					lo, hi := max(0, -x0), min(k, w-x0) // kernel columns inside the image
					if lo >= hi {
						continue
					}
					src := dcols[(first+ox)*row+ky*kc+lo*c:][:(hi-lo)*c]
					dst := img[(iy*w+x0+lo)*c:][:len(src)]
					for i, v := range src {
						dst[i] += v
					}
				}
			}
		}
	}
}

// DepthwiseConv2D convolves each channel with its own K×K kernel (the
// depthwise half of a MobileNet block). Weight has shape [C, K·K]: one row
// per channel. It has no reduction across channels, so it is not a matrix
// product: it runs as direct loops with the channel innermost, which in NHWC
// walk memory contiguously (a GEMM would be C matrix-vector products of
// length K·K, slower than the loops).
type DepthwiseConv2D struct {
	H, W, C     int // input height, width and channels (= output channels)
	K           int // kernel side
	Stride, Pad int
	Weight      *Param
	Bias        *Param // nil when the layer has no bias

	wt, gwt      []float32 // weight and its gradient transposed to [K·K, C] for the loops
	x, y, dx     *Tensor
	oh, ow, taps int
}

func newDepthwise(h, w, c, k, stride, pad int, bias bool) *DepthwiseConv2D {
	l := &DepthwiseConv2D{H: h, W: w, C: c, K: k, Stride: stride, Pad: pad,
		Weight: &Param{Name: "weight", W: NewTensor(c, k*k), G: NewTensor(c, k*k)},
		oh:     outSide(h, k, stride, pad), ow: outSide(w, k, stride, pad), taps: k * k}
	if bias {
		l.Bias = &Param{Name: "bias", W: NewTensor(c), G: NewTensor(c)}
	}
	return l
}

// NewDepthwiseConv2D returns a depthwise convolution of an h×w×c input,
// initialized with init ("he" or "xavier") from r; biases, if any, start at
// zero. It panics on sizes NewLayer would refuse.
func NewDepthwiseConv2D(h, w, c, k, stride, pad int, bias bool, init string, r *rand.Rand) *DepthwiseConv2D {
	l := mustLayer(LayerSpec{Kind: "dwconv", H: h, W: w, C: c, Kernel: k,
		Stride: stride, Pad: pad, NoBias: !bias}).(*DepthwiseConv2D)
	initWeights(l.Weight.W.Data, k*k, k*k, init, r)
	return l
}

// Forward convolves every channel with its kernel.
func (l *DepthwiseConv2D) Forward(x *Tensor, train bool) *Tensor {
	n, c := x.Rows(), l.C
	if x.Cols() != l.H*l.W*c {
		panic(fmt.Sprintf("core: depthwise conv layer expects %dx%dx%d inputs (%d values), got %d",
			l.H, l.W, c, l.H*l.W*c, x.Cols()))
	}
	l.x = x
	l.y = ensure(l.y, n, l.oh, l.ow, c)
	if len(l.wt) != l.taps*c {
		l.wt = make([]float32, l.taps*c)
	}
	w := l.Weight.W.Data
	for ch := range c {
		for t := range l.taps {
			l.wt[t*c+ch] = w[ch*l.taps+t]
		}
	}
	y := l.y.Data
	for s := range n {
		img := x.Data[s*l.H*l.W*c : (s+1)*l.H*l.W*c]
		for oy := range l.oh {
			for ox := range l.ow {
				out := y[((s*l.oh+oy)*l.ow+ox)*c:][:c]
				if l.Bias != nil {
					copy(out, l.Bias.W.Data)
				} else {
					clear(out)
				}
				for ky := range l.K {
					iy := oy*l.Stride - l.Pad + ky
					if iy < 0 || iy >= l.H {
						continue
					}
					for kx := range l.K {
						ix := ox*l.Stride - l.Pad + kx
						if ix < 0 || ix >= l.W {
							continue
						}
						in := img[(iy*l.W+ix)*c:][:len(out)]
						wk := l.wt[(ky*l.K+kx)*c:][:len(out)]
						for i := range out {
							out[i] += in[i] * wk[i]
						}
					}
				}
			}
		}
	}
	return l.y
}

// Backward accumulates the kernel and bias gradients and returns dx.
func (l *DepthwiseConv2D) Backward(dy *Tensor) *Tensor {
	n, c := l.x.Rows(), l.C
	l.dx = ensure(l.dx, n, l.H, l.W, c)
	clear(l.dx.Data)
	if len(l.gwt) != l.taps*c {
		l.gwt = make([]float32, l.taps*c)
	}
	clear(l.gwt)
	var gb []float32
	if l.Bias != nil {
		gb = l.Bias.G.Data
	}
	for s := range n {
		img := l.x.Data[s*l.H*l.W*c : (s+1)*l.H*l.W*c]
		dimg := l.dx.Data[s*l.H*l.W*c : (s+1)*l.H*l.W*c]
		for oy := range l.oh {
			for ox := range l.ow {
				g := dy.Data[((s*l.oh+oy)*l.ow+ox)*c:][:c]
				for i := range gb {
					gb[i] += g[i]
				}
				for ky := range l.K {
					iy := oy*l.Stride - l.Pad + ky
					if iy < 0 || iy >= l.H {
						continue
					}
					for kx := range l.K {
						ix := ox*l.Stride - l.Pad + kx
						if ix < 0 || ix >= l.W {
							continue
						}
						off := (iy*l.W + ix) * c
						in, din := img[off:][:len(g)], dimg[off:][:len(g)]
						t := (ky*l.K + kx) * c
						wk, gwk := l.wt[t:][:len(g)], l.gwt[t:][:len(g)]
						for i, v := range g {
							gwk[i] += v * in[i]
							din[i] += v * wk[i]
						}
					}
				}
			}
		}
	}
	gw := l.Weight.G.Data
	for ch := range c {
		for t := range l.taps {
			gw[ch*l.taps+t] += l.gwt[t*c+ch]
		}
	}
	return l.dx
}

// Params returns the weight and, if the layer has one, the bias.
func (l *DepthwiseConv2D) Params() []*Param {
	if l.Bias == nil {
		return []*Param{l.Weight}
	}
	return []*Param{l.Weight, l.Bias}
}

// Spec describes the layer.
func (l *DepthwiseConv2D) Spec() LayerSpec {
	return LayerSpec{Kind: "dwconv", H: l.H, W: l.W, C: l.C, Kernel: l.K,
		Stride: l.Stride, Pad: l.Pad, NoBias: l.Bias == nil}
}

// OutShape is [OH OW C].
func (l *DepthwiseConv2D) OutShape([]int) []int { return []int{l.oh, l.ow, l.C} }

// MACs is OH·OW·C·K·K per sample.
func (l *DepthwiseConv2D) MACs([]int) int64 { return int64(l.oh*l.ow) * int64(l.C) * int64(l.taps) }

// newSpatialLayer builds a conv, dwconv, maxpool, avgpool, gap, batchnorm or
// flatten layer from its spec, checking that the sizes make sense.
func newSpatialLayer(s LayerSpec) (Layer, error) {
	if s.Kind == "flatten" {
		return &Flatten{}, nil
	}
	h, w, c := s.H, s.W, s.C
	if s.Kind == "batchnorm" && h == 0 && w == 0 && c > 0 {
		return newBatchNorm([]int{c}), nil
	}
	if h <= 0 || w <= 0 || c <= 0 {
		return nil, fmt.Errorf("%s layer needs a positive input shape, got %dx%dx%d", s.Kind, h, w, c)
	}
	if s.Kind == "batchnorm" {
		return newBatchNorm([]int{h, w, c}), nil
	}
	if s.Kind == "gap" {
		return &GlobalAvgPool{H: h, W: w, C: c}, nil
	}
	k, stride, pad := s.Kernel, s.Stride, s.Pad
	if stride == 0 {
		stride = 1
		if s.Kind == "maxpool" || s.Kind == "avgpool" {
			stride = k
		}
	}
	switch {
	case k <= 0 || stride <= 0:
		return nil, fmt.Errorf("%s layer needs a positive kernel and stride, got %d and %d", s.Kind, k, stride)
	case pad < 0 || pad >= k:
		return nil, fmt.Errorf("%s layer: padding %d is outside [0, kernel %d)", s.Kind, pad, k)
	case h+2*pad < k || w+2*pad < k:
		return nil, fmt.Errorf("%s layer: a %dx%d kernel does not fit a %dx%d input padded by %d", s.Kind, k, k, h, w, pad)
	}
	switch s.Kind {
	case "conv":
		if s.Out <= 0 {
			return nil, fmt.Errorf("conv layer needs a positive number of output channels, got %d", s.Out)
		}
		return newConv2D(h, w, c, s.Out, k, stride, pad, !s.NoBias), nil
	case "dwconv":
		return newDepthwise(h, w, c, k, stride, pad, !s.NoBias), nil
	}
	if pad != 0 {
		return nil, fmt.Errorf("%s layer takes no padding, got %d", s.Kind, pad)
	}
	return newPool2D(s.Kind == "maxpool", h, w, c, k, stride), nil
}

// mustLayer is NewLayer for specs built by core itself, which are valid by
// construction.
func mustLayer(s LayerSpec) Layer {
	l, err := NewLayer(s)
	if err != nil {
		panic("core: " + err.Error())
	}
	return l
}
