package core

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// SparseDense is an inference-only fully connected layer, y = x·Wᵀ + b, whose
// model file stores only W's non-zero weights, in compressed sparse row
// (CSR) form: for each output unit, the columns and values of its non-zero
// incoming weights, as I32 row pointers, column indices (U16 when
// In ≤ 65536, else I32) and F32 values. The file shrinks with sparsity.
// Build one with ToSparse, or load it from a file.
//
// How the layer is stored and how it computes are separate choices, both
// measured. ToSparse converts a dense layer only when CSR makes the file
// smaller. In memory, a layer with at least SparseKernelMin of its weights at
// zero keeps CSR and runs the sparse kernels, which touch only the stored
// weights; a denser one is expanded back to a dense matrix and runs the
// GEMM, which on a CPU with wide SIMD beats the sparse gather below that
// sparsity (BenchmarkSparseForward). MACs follow the kernel: the stored
// weights for the sparse kernels, In×Out for the GEMM, which multiplies
// zeros like any other weight.
type SparseDense struct {
	In, Out int

	bias []float32
	// Exactly one of w and csr is set: w, the dense [Out, In] weights, for
	// a layer computed with the GEMM; csr for one computed sparse.
	w   []float32
	csr *csrMatrix

	y, xt, yt *Tensor // reusable output buffers, and the transposes of batched passes
}

// csrMatrix is a matrix in compressed sparse row form.
type csrMatrix struct {
	rowPtr []int32  // rows+1 offsets: row o's entries are [rowPtr[o], rowPtr[o+1])
	cols16 []uint16 // each entry's column when there are at most 65536 columns...
	cols32 []int32  // ...else here; exactly one of the two is non-nil
	values []float32
}

// SparseKernelMin is the fraction of zero weights from which a SparseDense
// layer computes with the sparse kernels rather than the dense GEMM.
// Measured on a 784×256 layer (BenchmarkSparseForward, the best of five runs
// on a busy 2-core AVX-512 EPYC), in µs per sample, sparse against dense:
// one sample at a time, 9.4 against 7.2 at 90% sparsity, 6.7 against 7.4 at
// 93%, 5.0 against 7.3 at 95%; in batches of 256 (since spmmCols runs its
// AXPYs and transposes vectorized), 3.6 against 3.9 at 80%, 1.9 against
// 4.0 at 90%, 1.1 against 4.0 at 95%. One sample at a time crosses over near
// 93%, batches near 80%; the threshold is the single sample's, so that
// latency never suffers. Re-measure when gemm changes.
const SparseKernelMin = 0.93

// csrExtraHeader approximates what CSR adds to a file's JSON header: two
// more tensor entries (row pointers and column indices) of about 80 bytes.
const csrExtraHeader = 160

// sparseCols16 is the largest input width whose column indices fit uint16.
const sparseCols16 = 1 << 16

// ToSparse returns a copy of m for inference in which every dense layer
// whose file form is smaller in CSR than dense is a SparseDense layer (each
// stored weight costs 6 bytes instead of 4 per weight, so from about a third
// of zeros on); other layers, and masks, are copied. m is not modified;
// sparse layers it already has are decided afresh. The sparse layers cannot
// be trained: fine-tune the masked dense model, then convert it.
func ToSparse(m *Model) *Model {
	c := denseView(m).Clone()
	for i, l := range c.Layers {
		d, ok := l.(*Dense)
		if !ok {
			continue
		}
		nnz := len(d.Weight.W.Data) - countZeros(d.Weight.W.Data)
		idx := 2
		if d.In > sparseCols16 {
			idx = 4
		}
		if 4*(d.Out+1)+(idx+4)*nnz+csrExtraHeader < 4*len(d.Weight.W.Data) {
			c.Layers[i] = sparseFromDense(d, sparseKernel(nnz, len(d.Weight.W.Data)))
		}
	}
	return c
}

// Layout names, as Layout returns them.
const (
	LayoutDense   = "dense"    // dense weights, in the file and in the GEMM
	LayoutCSR     = "csr"      // CSR in the file, sparse kernels
	LayoutCSRGEMM = "csr+gemm" // CSR in the file, expanded for the GEMM in memory
)

// Layout names how l holds its weights: LayoutCSR or LayoutCSRGEMM for a
// SparseDense layer, LayoutDense for any other layer with weights, "" for a
// layer without.
func Layout(l Layer) string {
	switch s, ok := l.(*SparseDense); {
	case ok && s.SparseKernel():
		return LayoutCSR
	case ok:
		return LayoutCSRGEMM
	case len(prunableWeights(l)) > 0:
		return LayoutDense
	}
	return ""
}

// sparseKernel reports whether a layer with nnz of n weights non-zero
// computes faster with the sparse kernels.
func sparseKernel(nnz, n int) bool { return float64(n-nnz) >= SparseKernelMin*float64(n) }

// sparseFromDense converts d, to compute with the sparse kernels when csr is
// true, else with the GEMM.
func sparseFromDense(d *Dense, csr bool) *SparseDense {
	s := &SparseDense{In: d.In, Out: d.Out, bias: slices.Clone(d.Bias.W.Data)}
	if csr {
		s.csr = newCSR(d.Weight.W.Data, d.Out, d.In)
	} else {
		s.w = slices.Clone(d.Weight.W.Data)
	}
	return s
}

// newCSR compresses the row-major rows×cols matrix w.
func newCSR(w []float32, rows, cols int) *csrMatrix {
	if len(w)-countZeros(w) > math.MaxInt32 {
		panic("core: too many non-zero weights for 32-bit row pointers")
	}
	c := &csrMatrix{rowPtr: make([]int32, 1, rows+1)}
	if cols <= sparseCols16 {
		c.cols16 = []uint16{} // non-nil even with no entries: it names the index type
	} else {
		c.cols32 = []int32{}
	}
	for o := range rows {
		for j, v := range w[o*cols : (o+1)*cols] {
			if v == 0 {
				continue
			}
			if c.cols16 != nil {
				c.cols16 = append(c.cols16, uint16(j))
			} else {
				c.cols32 = append(c.cols32, int32(j))
			}
			c.values = append(c.values, v)
		}
		c.rowPtr = append(c.rowPtr, int32(len(c.values)))
	}
	return c
}

// expand returns the dense row-major rows×cols matrix.
func (c *csrMatrix) expand(rows, cols int) []float32 {
	w := make([]float32, rows*cols)
	for o := range rows {
		for k := c.rowPtr[o]; k < c.rowPtr[o+1]; k++ {
			j := 0
			if c.cols16 != nil {
				j = int(c.cols16[k])
			} else {
				j = int(c.cols32[k])
			}
			w[o*cols+j] = c.values[k]
		}
	}
	return w
}

// weights returns the dense [Out, In] weights: w itself, or CSR expanded.
func (s *SparseDense) weights() []float32 {
	s.mustHold()
	if s.w != nil {
		return s.w
	}
	return s.csr.expand(s.Out, s.In)
}

// dense returns the layer as a Dense layer, zeros included.
func (s *SparseDense) dense() *Dense {
	d := newDense(s.In, s.Out)
	copy(d.Weight.W.Data, s.weights())
	copy(d.Bias.W.Data, s.bias)
	return d
}

// denseView returns m itself when it has no sparse layers, else a shallow
// copy of m whose sparse layers are replaced by dense expansions. It shares
// m's other layers, so it must only be read (or cloned).
func denseView(m *Model) *Model {
	v := m
	for i, l := range m.Layers {
		s, ok := l.(*SparseDense)
		if !ok {
			continue
		}
		if v == m {
			c := *m
			c.Layers = slices.Clone(m.Layers)
			v = &c
		}
		v.Layers[i] = s.dense()
	}
	return v
}

// cloneLayer returns a deep copy (Model.Clone cannot rebuild the weights from
// the spec).
func (s *SparseDense) cloneLayer() Layer {
	s.mustHold()
	c := &SparseDense{In: s.In, Out: s.Out, bias: slices.Clone(s.bias), w: slices.Clone(s.w)}
	if s.csr != nil {
		c.csr = &csrMatrix{rowPtr: slices.Clone(s.csr.rowPtr), cols16: slices.Clone(s.csr.cols16),
			cols32: slices.Clone(s.csr.cols32), values: slices.Clone(s.csr.values)}
	}
	return c
}

// mustHold panics on a layer made by NewLayer whose weights never came.
func (s *SparseDense) mustHold() {
	if s.w == nil && s.csr == nil {
		panic("core: sparse_dense layer holds no weights; build it with ToSparse or load it from a model file")
	}
}

// NNZ is the number of weights the layer's file stores: its non-zero weights.
func (s *SparseDense) NNZ() int {
	s.mustHold()
	if s.w != nil {
		return len(s.w) - countZeros(s.w)
	}
	return len(s.csr.values)
}

// SparseKernel reports whether the layer computes with the sparse kernels
// (true) or with the dense GEMM (false).
func (s *SparseDense) SparseKernel() bool { return s.csr != nil }

// Forward computes x·Wᵀ + b with the layer's kernel.
func (s *SparseDense) Forward(x *Tensor, train bool) *Tensor {
	s.mustHold()
	if x.Cols() != s.In {
		panic(fmt.Sprintf("core: sparse_dense layer expects %d inputs, got %d", s.In, x.Cols()))
	}
	n := x.Rows()
	s.y = ensure(s.y, n, s.Out)
	y, c := s.y.Data, s.csr
	switch {
	case c == nil:
		fillRows(y, s.bias)
		gemm(false, true, n, s.Out, s.In, 1, x.Data, s.In, s.w, s.In, 1, y, s.Out)
	case n >= sparseBatchCols:
		s.xt = ensure(s.xt, s.In, n)
		s.yt = ensure(s.yt, s.Out, n)
		if c.cols16 != nil {
			spmmCols(y, x.Data, s.xt.Data, s.yt.Data, n, s.In, s.Out, c.rowPtr, c.cols16, c.values, s.bias)
		} else {
			spmmCols(y, x.Data, s.xt.Data, s.yt.Data, n, s.In, s.Out, c.rowPtr, c.cols32, c.values, s.bias)
		}
	case c.cols16 != nil:
		spmmRows(y, x.Data, n, s.In, s.Out, c.rowPtr, c.cols16, c.values, s.bias)
	default:
		spmmRows(y, x.Data, n, s.In, s.Out, c.rowPtr, c.cols32, c.values, s.bias)
	}
	return s.y
}

// sparseBatchCols is the batch size from which Forward uses spmmCols:
// below it, the per-entry call overhead of spmmCols costs more than its
// vectorized inner loop saves (about 32 on the machine this was measured on).
const sparseBatchCols = 32

// spmmRows computes y = x·Wᵀ + b for n samples, one sample at a time: each
// output is a gathered dot product over its row's entries, with four
// accumulators to shorten the dependency chain of the additions.
func spmmRows[I uint16 | int32](y, x []float32, n, in, out int, rowPtr []int32, cols []I, vals, bias []float32) {
	for i := range n {
		xi, yi := x[i*in:(i+1)*in], y[i*out:(i+1)*out]
		for o := range yi {
			c, v := cols[rowPtr[o]:rowPtr[o+1]], vals[rowPtr[o]:rowPtr[o+1]]
			v = v[:len(c)]
			var a0, a1, a2, a3 float32
			k := 0
			for ; k+4 <= len(c); k += 4 {
				a0 += v[k] * xi[c[k]]
				a1 += v[k+1] * xi[c[k+1]]
				a2 += v[k+2] * xi[c[k+2]]
				a3 += v[k+3] * xi[c[k+3]]
			}
			for ; k < len(c); k++ {
				a0 += v[k] * xi[c[k]]
			}
			yi[o] = bias[o] + (a0 + a1) + (a2 + a3)
		}
	}
}

// spmmCols computes y = x·Wᵀ + b for a batch: with x transposed into xt (one
// row per input, one column per sample), each stored weight adds v·xt[c] to
// output row o of yt, a contiguous AXPY (axpy, vectorized); yt is
// transposed back into y. Both transposes go eight rows at a time through
// gemm's packing loop.
func spmmCols[I uint16 | int32](y, x, xt, yt []float32, n, in, out int, rowPtr []int32, cols []I, vals, bias []float32) {
	transposeInto(xt, x, n, in)
	for o := range out {
		yo := yt[o*n : (o+1)*n]
		for i := range yo {
			yo[i] = bias[o]
		}
		for k := rowPtr[o]; k < rowPtr[o+1]; k++ {
			c := int(cols[k])
			axpy(yo, xt[c*n:(c+1)*n], vals[k])
		}
	}
	transposeInto(y, yt, out, n)
}

// transposeInto sets dst (cols×rows) to the transpose of src (rows×cols).
func transposeInto(dst, src []float32, rows, cols int) {
	r := 0
	for ; r+8 <= rows; r += 8 {
		transpose8(dst[r:], rows, src[r*cols:], cols, cols)
	}
	for ; r < rows; r++ {
		for j, v := range src[r*cols : (r+1)*cols] {
			dst[j*rows+r] = v
		}
	}
}

// Backward panics: sparse layers are for inference.
func (s *SparseDense) Backward(*Tensor) *Tensor {
	panic("core: sparse layers are inference-only; fine-tune the masked dense model")
}

// Params returns nil: nothing in a sparse layer is trainable.
func (s *SparseDense) Params() []*Param { return nil }

// Spec describes the layer; the weights themselves travel in the model file.
func (s *SparseDense) Spec() LayerSpec { return LayerSpec{Kind: "sparse_dense", In: s.In, Out: s.Out} }

// OutShape is [Out].
func (s *SparseDense) OutShape([]int) []int { return []int{s.Out} }

// MACs counts what the kernel multiplies: the stored weights for the sparse
// kernels, all In×Out weights for the GEMM.
func (s *SparseDense) MACs([]int) int64 {
	s.mustHold()
	if s.csr != nil {
		return int64(len(s.csr.values))
	}
	return int64(s.In) * int64(s.Out)
}

// paramCount is the layer's parameters as a dense layer would count them
// (In×Out weights plus Out biases) and how many of them are non-zero.
func (s *SparseDense) paramCount() (params, nonzero int) {
	w := s.weights()
	return len(w) + len(s.bias), len(w) - countZeros(w) + len(s.bias) - countZeros(s.bias)
}

func (s *SparseDense) encodeTensors() []FileTensor {
	c := s.csr
	if c == nil {
		c = newCSR(s.weights(), s.Out, s.In)
	}
	col := FileTensor{Name: "col_idx", DType: "U16", Shape: []int{len(c.cols16)}, Data: encodeU16(c.cols16)}
	if c.cols16 == nil {
		col = FileTensor{Name: "col_idx", DType: "I32", Shape: []int{len(c.cols32)}, Data: encodeI32(c.cols32)}
	}
	return []FileTensor{
		{Name: "row_ptr", DType: "I32", Shape: []int{len(c.rowPtr)}, Data: encodeI32(c.rowPtr)},
		col,
		{Name: "values", DType: "F32", Shape: []int{len(c.values)}, Data: EncodeF32(c.values)},
		{Name: "bias", DType: "F32", Shape: []int{s.Out}, Data: EncodeF32(s.bias)},
	}
}

// decodeTensors reads and checks the CSR arrays, so that a file that passes
// cannot make Forward index out of range, then picks the kernel.
func (s *SparseDense) decodeTensors(get func(name string) (FileTensor, error)) error {
	rp, err := get("row_ptr")
	if err != nil {
		return err
	}
	if rp.DType != "I32" || len(rp.Shape) != 1 || rp.Shape[0] != s.Out+1 || len(rp.Data) != 4*(s.Out+1) {
		return fmt.Errorf("corrupted: tensor %q is %s%v, want I32[%d]", rp.Name, rp.DType, rp.Shape, s.Out+1)
	}
	c := &csrMatrix{rowPtr: decodeI32(rp.Data)}
	nnz := int(c.rowPtr[s.Out])
	if c.rowPtr[0] != 0 {
		return fmt.Errorf("corrupted: tensor %q does not start at 0", rp.Name)
	}
	for o := range s.Out {
		if c.rowPtr[o+1] < c.rowPtr[o] {
			return fmt.Errorf("corrupted: tensor %q decreases at row %d", rp.Name, o)
		}
	}
	ct, err := get("col_idx")
	if err != nil {
		return err
	}
	switch {
	case ct.DType == "U16" && s.In <= sparseCols16 && len(ct.Shape) == 1 && ct.Shape[0] == nnz && len(ct.Data) == 2*nnz:
		c.cols16 = decodeU16(ct.Data)
		err = checkCols(c.rowPtr, c.cols16, s.In)
	case ct.DType == "I32" && len(ct.Shape) == 1 && ct.Shape[0] == nnz && len(ct.Data) == 4*nnz:
		c.cols32 = decodeI32(ct.Data)
		err = checkCols(c.rowPtr, c.cols32, s.In)
	default:
		return fmt.Errorf("corrupted: tensor %q is %s%v, want %d column indices (U16 or I32)", ct.Name, ct.DType, ct.Shape, nnz)
	}
	if err != nil {
		return fmt.Errorf("corrupted: tensor %q: %w", ct.Name, err)
	}
	if c.values, err = getF32(get, "values", []int{nnz}); err != nil {
		return err
	}
	if s.bias, err = getF32(get, "bias", []int{s.Out}); err != nil {
		return err
	}
	if sparseKernel(nnz, s.In*s.Out) {
		s.csr = c
	} else {
		s.w = c.expand(s.Out, s.In)
	}
	return nil
}

// checkCols reports column indices outside [0, in) or not increasing within
// a row (a repeated column would count twice in the kernels, once in expand).
func checkCols[I uint16 | int32](rowPtr []int32, cols []I, in int) error {
	for o := range len(rowPtr) - 1 {
		row := cols[rowPtr[o]:rowPtr[o+1]]
		for k, j := range row {
			if int(j) < 0 || int(j) >= in || (k > 0 && j <= row[k-1]) {
				return fmt.Errorf("row %d: column %d is out of order or outside %d inputs", o, j, in)
			}
		}
	}
	return nil
}

func encodeI32(v []int32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
	}
	return b
}

func decodeI32(b []byte) []int32 {
	v := make([]int32, len(b)/4)
	for i := range v {
		v[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func encodeU16(v []uint16) []byte {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], x)
	}
	return b
}

func decodeU16(b []byte) []uint16 {
	v := make([]uint16, len(b)/2)
	for i := range v {
		v[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return v
}
