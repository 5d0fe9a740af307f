package core

import (
	"fmt"
	"slices"
)

// QDense is an inference-only fully connected layer that computes in
// integers: y = x·Wᵀ + b with W held as int8 codes (Bits-wide values; a
// per-row or per-tensor scale and zero point) and x quantized on entry to
// ActBits-wide codes with the input scale and zero point found at
// calibration. Each output is an exact integer sum of code products,
// corrected for the zero points, then scaled back to float32 and added to the
// float bias.
//
// The output is float32, so any activation (ReLU, GELU, tanh) can follow in
// float, and the next QDense quantizes again: the price is one quantize per
// input value, small against the In×Out multiply-accumulates. Keeping int8
// between layers would need fused requantization per activation kind.
//
// A model file stores the codes as I8, or packed as U8 below 8 bits, with
// F32 scales and I8 zero points. In memory the layer also keeps the
// kernel's layout of the codes, made once when the layer is built or
// loaded: where the CPU has AVX-512 VNNI, the codes packed for gemmS8
// (1 byte per weight); elsewhere the portable kernel's lanes (see
// gemvInt8: 8 bytes per 3 weights). Build one with Quantize or QAT, or
// load it.
type QDense struct {
	In, Out int
	Bits    int // weight bits, 2 to 8
	ActBits int // input activation bits, 2 to 8

	w     qweights
	bias  []float32
	input qgrid // input activations

	// vnni selects the path: gemmS8 on the codes (with pb, the codes packed
	// for its many-row kernel), or the portable kernel on the lanes lw of
	// laneWeights. dq scales the sums back; rowSum holds Σ_k (w_jk − z_j)
	// per output.
	vnni   bool
	pb     []byte
	lw     []uint64
	groups int
	wmax   int32 // the largest weight code magnitude
	dq     s8Dequant
	rowSum []int64

	y     *Tensor
	codes []int8
	// The VNNI path's per-row code sums and products.
	xsum []int64
	prod []int32
	// The portable path's scratch; see forwardRow.
	skip    int32
	idx, xv []int32
	acc     []int64
	lanes   []uint64
	hist    [256]int32
}

// newQDense assembles a layer from quantized weights, a float bias and the
// input grid, and lays the weights out for the kernel.
func newQDense(w qweights, bias []float32, input qgrid, actBits int) *QDense {
	q := &QDense{In: w.cols, Out: w.rows, Bits: w.bits, ActBits: actBits, w: w, bias: bias, input: input}
	q.prepare()
	return q
}

func (q *QDense) prepare() {
	q.rowSum = make([]int64, q.Out)
	q.dq = s8Dequant{wzero: make([]int64, q.Out), zoff: make([]int64, q.Out),
		wzero32: make([]int32, q.Out), zoff32: make([]int32, q.Out),
		scale: make([]float64, q.Out), bias: q.bias, fits: q.In < 1<<15}
	for j := range q.Out {
		g := q.w.grid(j)
		for _, c := range q.w.codes[j*q.In : (j+1)*q.In] {
			q.rowSum[j] += int64(c) - int64(g.zero)
			q.wmax = max(q.wmax, int32(c), -int32(c))
		}
		q.dq.wzero[j], q.dq.zoff[j] = int64(g.zero), -int64(q.input.zero)*q.rowSum[j]
		q.dq.wzero32[j], q.dq.zoff32[j] = int32(q.dq.wzero[j]), int32(q.dq.zoff[j])
		q.dq.scale[j] = float64(q.input.scale) * float64(g.scale)
	}
	q.vnni = s8KernelAsm != nil
	if q.vnni {
		q.pb = packS8(nil, q.Out, q.In, q.w.codes, q.In)
		return
	}
	q.lw, q.groups = laneWeights(q.w.codes, q.Out, q.In)
	q.codes = make([]int8, q.In)
	q.idx, q.xv = make([]int32, q.In), make([]int32, q.In)
	q.acc = make([]int64, laneWidth*q.groups)
	q.lanes = make([]uint64, q.groups)
	q.skip = q.input.zero
}

// Forward quantizes each input row, runs the integer kernel and dequantizes.
func (q *QDense) Forward(x *Tensor, train bool) *Tensor {
	if q.rowSum == nil {
		panic("core: qdense layer holds no weights; build it with Quantize or load it from a model file")
	}
	if x.Cols() != q.In {
		panic(fmt.Sprintf("core: qdense layer expects %d inputs, got %d", q.In, x.Cols()))
	}
	n := x.Rows()
	q.y = ensureMatrix(q.y, n, q.Out)
	if q.vnni {
		q.forwardVNNI(x, n)
		return q.y
	}
	for i := range n {
		q.forwardRow(q.y.Row(i), x.Row(i))
	}
	return q.y
}

// forwardVNNI computes n samples with gemmS8 on the input codes x_k and the
// weight codes w_jk: with zero points z_x and z_j,
//
//	Σ_k (x_k − z_x)(w_jk − z_j) = Σ_k x_k·w_jk − z_j·Σ_k x_k − z_x·Σ_k (w_jk − z_j).
func (q *QDense) forwardVNNI(x *Tensor, n int) {
	q.codes = growTo(q.codes, n*q.In)
	q.xsum = growTo(q.xsum, n)
	q.prod = growTo(q.prod, n*q.Out)
	for i := range n {
		q.xsum[i] = quantizeCodes(&q.input, q.codes[i*q.In:(i+1)*q.In], x.Row(i))
	}
	gemmS8Pre(n, q.Out, q.In, q.codes, q.In, q.w.codes, q.In, q.pb, q.prod, q.Out)
	for i := range n {
		q.dq.dequantRow(q.y.Row(i), q.prod[i*q.Out:(i+1)*q.Out], q.xsum[i])
	}
}

// forwardRow computes one sample on the portable path. With input codes
// x_k, zero points z_x and z_j, and any code c,
//
//	Σ_k (x_k − z_x)(w_jk − z_j) = Σ_k (x_k − c)·w_jk − z_j·Σ_k (x_k − c) + (c − z_x)·Σ_k (w_jk − z_j),
//
// where only inputs with x_k ≠ c enter the kernel. The sum is exact for every
// c, so c only decides the speed: it is q.skip, the most frequent code of an
// earlier row (ReLU zeros, an image's background), kept while it still
// covers an eighth of a row's inputs and else found again.
func (q *QDense) forwardRow(y, x []float32) {
	g := q.input
	codes := q.codes[:len(x)]
	n, t := g.codesGather(codes, q.idx, q.xv, x, q.skip)
	if 8*(len(codes)-n) < len(codes) {
		clear(q.hist[:])
		for _, c := range codes {
			q.hist[uint8(c)]++
		}
		mode := 0
		for b, h := range q.hist {
			if h > q.hist[mode] {
				mode = b
			}
		}
		if c := int32(int8(mode)); c != q.skip {
			q.skip = c
			n, t = q.gather(codes, c)
		}
	}
	gemvInt8(q.acc, q.lanes, q.lw, q.groups, q.wmax, q.idx[:n], q.xv[:n])
	dz := int64(q.skip - g.zero)
	for j := range y {
		s := q.acc[j] - q.dq.wzero[j]*t + dz*q.rowSum[j]
		y[j] = float32(float64(s)*q.dq.scale[j]) + q.bias[j]
	}
}

// gather lists the inputs whose code differs from c in q.idx and their
// differences in q.xv, returning how many and the sum of all differences.
// It has no branch: every input is written, and the count advances only past
// those that differ.
func (q *QDense) gather(codes []int8, c int32) (n int, t int64) {
	idx, xv := q.idx[:len(codes)], q.xv[:len(codes)]
	for k, code := range codes {
		d := int32(code) - c
		idx[n], xv[n] = int32(k), d
		n += int(uint32(d|-d) >> 31)
		t += int64(d)
	}
	return n, t
}

// Backward panics: integer layers are for inference. Fine-tune with QAT.
func (q *QDense) Backward(*Tensor) *Tensor {
	panic("core: quantized layers are inference-only; fine-tune with QAT")
}

// Params returns nil: nothing in a quantized layer is trainable.
func (q *QDense) Params() []*Param { return nil }

// Spec describes the layer; the codes and grids travel in the model file.
func (q *QDense) Spec() LayerSpec {
	return LayerSpec{Kind: "qdense", In: q.In, Out: q.Out, Bits: q.Bits, ActBits: q.ActBits}
}

// OutShape is [Out].
func (q *QDense) OutShape([]int) []int { return []int{q.Out} }

// MACs is In×Out per sample, as for a float dense layer (skipped inputs are
// data-dependent and not subtracted).
func (q *QDense) MACs([]int) int64 { return int64(q.In) * int64(q.Out) }

// paramCount counts weights and biases as a float layer would, and those
// that are non-zero (codes equal to their zero point stand for 0).
func (q *QDense) paramCount() (params, nonzero int) {
	return q.In*q.Out + q.Out, q.w.nonzero() + len(q.bias) - countZeros(q.bias)
}

func (q *QDense) weights() *qweights { return &q.w }

func (q *QDense) cloneLayer() Layer {
	if q.rowSum == nil {
		return &QDense{In: q.In, Out: q.Out, Bits: q.Bits, ActBits: q.ActBits}
	}
	return newQDense(q.w.clone(), slices.Clone(q.bias), q.input, q.ActBits)
}

func (q *QDense) encodeTensors() []FileTensor {
	if q.rowSum == nil {
		panic("core: qdense layer holds no weights to save")
	}
	return append(q.w.encode(),
		FileTensor{Name: "bias", DType: "F32", Shape: []int{q.Out}, Data: EncodeF32(q.bias)},
		FileTensor{Name: "input_scale", DType: "F32", Shape: []int{1}, Data: EncodeF32([]float32{q.input.scale})},
		FileTensor{Name: "input_zero", DType: "I8", Shape: []int{1}, Data: []byte{byte(int8(q.input.zero))}})
}

func (q *QDense) decodeTensors(get func(name string) (FileTensor, error)) error {
	w, err := decodeWeights(get, q.Out, q.In, q.Bits)
	if err != nil {
		return err
	}
	bias, err := getF32(get, "bias", []int{q.Out})
	if err != nil {
		return err
	}
	s, err := getF32(get, "input_scale", []int{1})
	if err != nil {
		return err
	}
	zt, err := get("input_zero")
	if err != nil {
		return err
	}
	lo, hi := codeRange(q.ActBits, false)
	if zt.DType != "I8" || !slices.Equal(zt.Shape, []int{1}) || len(zt.Data) != 1 {
		return fmt.Errorf("corrupted: tensor %q is %s%v, want I8[1]", zt.Name, zt.DType, zt.Shape)
	}
	z := int32(int8(zt.Data[0]))
	if !(s[0] > 0) || s[0] > 3.4e38 || z < lo || z > hi {
		return fmt.Errorf("corrupted: bad input scale %g or zero point %d", s[0], z)
	}
	q.w, q.bias, q.input = w, bias, newGrid(s[0], z, lo, hi)
	q.prepare()
	return nil
}

// WDense is a weight-only quantized fully connected layer: W is stored as
// Bits-wide codes with per-row or per-tensor scales and zero points (packed
// below 8 bits in a model file), while activations stay float32. It
// dequantizes the codes once, when built or loaded, and computes in float32
// through the same GEMM as Dense: weight-only quantization shrinks the file,
// not the arithmetic.
type WDense struct {
	In, Out int
	Bits    int

	w    qweights
	bias []float32
	deq  []float32 // dequantized weights, [Out, In]

	y *Tensor
}

func newWDense(w qweights, bias []float32) *WDense {
	return &WDense{In: w.cols, Out: w.rows, Bits: w.bits, w: w, bias: bias, deq: w.dequantize()}
}

// Forward computes x·Ŵᵀ + b with the dequantized weights Ŵ.
func (d *WDense) Forward(x *Tensor, train bool) *Tensor {
	if d.deq == nil {
		panic("core: wdense layer holds no weights; build it with Quantize or load it from a model file")
	}
	if x.Cols() != d.In {
		panic(fmt.Sprintf("core: wdense layer expects %d inputs, got %d", d.In, x.Cols()))
	}
	n := x.Rows()
	d.y = ensureMatrix(d.y, n, d.Out)
	fillRows(d.y.Data, d.bias)
	gemm(false, true, n, d.Out, d.In, 1, x.Data, d.In, d.deq, d.In, 1, d.y.Data, d.Out)
	return d.y
}

// Backward panics: quantized layers are for inference. Fine-tune with QAT.
func (d *WDense) Backward(*Tensor) *Tensor {
	panic("core: quantized layers are inference-only; fine-tune with QAT")
}

// Params returns nil: nothing in a quantized layer is trainable.
func (d *WDense) Params() []*Param { return nil }

// Spec describes the layer; the codes and grids travel in the model file.
func (d *WDense) Spec() LayerSpec {
	return LayerSpec{Kind: "wdense", In: d.In, Out: d.Out, Bits: d.Bits}
}

// OutShape is [Out].
func (d *WDense) OutShape([]int) []int { return []int{d.Out} }

// MACs is In×Out per sample.
func (d *WDense) MACs([]int) int64 { return int64(d.In) * int64(d.Out) }

func (d *WDense) paramCount() (params, nonzero int) {
	return d.In*d.Out + d.Out, d.w.nonzero() + len(d.bias) - countZeros(d.bias)
}

func (d *WDense) weights() *qweights { return &d.w }

func (d *WDense) cloneLayer() Layer {
	if d.deq == nil {
		return &WDense{In: d.In, Out: d.Out, Bits: d.Bits}
	}
	return newWDense(d.w.clone(), slices.Clone(d.bias))
}

func (d *WDense) encodeTensors() []FileTensor {
	if d.deq == nil {
		panic("core: wdense layer holds no weights to save")
	}
	return append(d.w.encode(), FileTensor{Name: "bias", DType: "F32", Shape: []int{d.Out}, Data: EncodeF32(d.bias)})
}

func (d *WDense) decodeTensors(get func(name string) (FileTensor, error)) error {
	w, err := decodeWeights(get, d.Out, d.In, d.Bits)
	if err != nil {
		return err
	}
	bias, err := getF32(get, "bias", []int{d.Out})
	if err != nil {
		return err
	}
	d.w, d.bias, d.deq = w, bias, w.dequantize()
	return nil
}
