package core

import (
	"fmt"
	"math"
	"slices"
)

// qweights is a quantized [rows, cols] weight matrix: integer codes and one
// grid per row (per-channel) or one for the whole matrix (per-tensor).
type qweights struct {
	bits       int
	rows, cols int
	codes      []int8  // row-major
	grids      []qgrid // len rows, or 1
}

// quantizeWeights quantizes w ([rows, cols]) on grids.
func quantizeWeights(w []float32, rows, cols, bits int, grids []qgrid) qweights {
	q := qweights{bits: bits, rows: rows, cols: cols, codes: make([]int8, len(w)), grids: grids}
	for j := range rows {
		g := q.grid(j)
		for k, v := range w[j*cols : (j+1)*cols] {
			q.codes[j*cols+k] = int8(g.code(v))
		}
	}
	return q
}

func (q *qweights) clone() qweights {
	c := *q
	c.codes, c.grids = slices.Clone(q.codes), slices.Clone(q.grids)
	return c
}

func (q *qweights) grid(row int) qgrid {
	if len(q.grids) == 1 {
		return q.grids[0]
	}
	return q.grids[row]
}

// dequantize returns the float32 weights the codes stand for.
func (q *qweights) dequantize() []float32 {
	w := make([]float32, len(q.codes))
	for j := range q.rows {
		g := q.grid(j)
		for k, c := range q.codes[j*q.cols : (j+1)*q.cols] {
			w[j*q.cols+k] = g.value(int32(c))
		}
	}
	return w
}

// nonzero counts the codes that stand for a non-zero weight.
func (q *qweights) nonzero() int {
	n := 0
	for j := range q.rows {
		z := q.grid(j).zero
		for _, c := range q.codes[j*q.cols : (j+1)*q.cols] {
			if int32(c) != z {
				n++
			}
		}
	}
	return n
}

// packedRowBytes is the bytes of one row of bits-wide codes in a bitstream.
func packedRowBytes(cols, bits int) int { return (cols*bits + 7) / 8 }

// packCodes stores codes of fewer than 8 bits as a bitstream, row by row
// (each row starts on a byte, so rows can be read independently): code c of
// column k occupies bits [k·b, (k+1)·b) of its row, least significant bit
// first, as the offset value c + 2^(b−1) ∈ [0, 2^b). So 4-bit codes take two
// per byte, 2-bit codes four, and 3-bit codes really take 3 bits each.
func packCodes(codes []int8, rows, cols, bits int) []byte {
	rb := packedRowBytes(cols, bits)
	out := make([]byte, rows*rb)
	off := int32(1) << (bits - 1)
	for j := range rows {
		row := out[j*rb : (j+1)*rb]
		for k, c := range codes[j*cols : (j+1)*cols] {
			v, bit := uint16(int32(c)+off), k*bits
			// A code spans at most two bytes (b ≤ 8).
			row[bit/8] |= byte(v << (bit % 8))
			if bit%8+bits > 8 {
				row[bit/8+1] |= byte(v >> (8 - bit%8))
			}
		}
	}
	return out
}

// unpackCodes reverses packCodes.
func unpackCodes(b []byte, rows, cols, bits int) []int8 {
	rb := packedRowBytes(cols, bits)
	codes := make([]int8, rows*cols)
	off, mask := int32(1)<<(bits-1), uint16(1)<<bits-1
	for j := range rows {
		row := b[j*rb : (j+1)*rb]
		for k := range cols {
			bit := k * bits
			v := uint16(row[bit/8]) >> (bit % 8)
			if bit%8+bits > 8 {
				v |= uint16(row[bit/8+1]) << (8 - bit%8)
			}
			codes[j*cols+k] = int8(int32(v&mask) - off)
		}
	}
	return codes
}

// encode returns the weight tensors of a model file: "weight" as I8
// [rows, cols] at 8 bits, else as U8 [rows, packed bytes per row];
// "weight_scale" F32 and "weight_zero" I8, one per row or one in all.
func (q *qweights) encode() []FileTensor {
	w := FileTensor{Name: "weight", DType: "I8", Shape: []int{q.rows, q.cols}, Data: int8Bytes(q.codes)}
	if q.bits < 8 {
		w = FileTensor{Name: "weight", DType: "U8", Shape: []int{q.rows, packedRowBytes(q.cols, q.bits)},
			Data: packCodes(q.codes, q.rows, q.cols, q.bits)}
	}
	scales, zeros := make([]float32, len(q.grids)), make([]int8, len(q.grids))
	for i, g := range q.grids {
		scales[i], zeros[i] = g.scale, int8(g.zero)
	}
	return []FileTensor{w,
		{Name: "weight_scale", DType: "F32", Shape: []int{len(scales)}, Data: EncodeF32(scales)},
		{Name: "weight_zero", DType: "I8", Shape: []int{len(zeros)}, Data: int8Bytes(zeros)},
	}
}

// decodeWeights reads what encode wrote for a [rows, cols] matrix of
// bits-wide codes, checking dtypes, shapes, scales and code ranges.
func decodeWeights(get func(string) (FileTensor, error), rows, cols, bits int) (qweights, error) {
	q := qweights{bits: bits, rows: rows, cols: cols}
	w, err := get("weight")
	if err != nil {
		return q, err
	}
	if bits == 8 {
		if w.DType != "I8" || !slices.Equal(w.Shape, []int{rows, cols}) || len(w.Data) != rows*cols {
			return q, fmt.Errorf("corrupted: tensor %q is %s%v, want I8[%d %d]", w.Name, w.DType, w.Shape, rows, cols)
		}
		q.codes = bytesInt8(w.Data)
	} else {
		rb := packedRowBytes(cols, bits)
		if w.DType != "U8" || !slices.Equal(w.Shape, []int{rows, rb}) || len(w.Data) != rows*rb {
			return q, fmt.Errorf("corrupted: tensor %q is %s%v, want U8[%d %d] (%d-bit codes)", w.Name, w.DType, w.Shape, rows, rb, bits)
		}
		q.codes = unpackCodes(w.Data, rows, cols, bits)
	}
	sc, err := get("weight_scale")
	if err != nil {
		return q, err
	}
	n := 0
	if len(sc.Shape) == 1 {
		n = sc.Shape[0]
	}
	if sc.DType != "F32" || (n != 1 && n != rows) || len(sc.Data) != 4*n {
		return q, fmt.Errorf("corrupted: tensor %q is %s%v, want F32[1] or F32[%d]", sc.Name, sc.DType, sc.Shape, rows)
	}
	zt, err := get("weight_zero")
	if err != nil {
		return q, err
	}
	if zt.DType != "I8" || !slices.Equal(zt.Shape, []int{n}) || len(zt.Data) != n {
		return q, fmt.Errorf("corrupted: tensor %q is %s%v, want I8[%d]", zt.Name, zt.DType, zt.Shape, n)
	}
	lo, hi := codeRange(bits, false)
	for i, s := range DecodeF32(sc.Data) {
		z := int32(int8(zt.Data[i]))
		if !(s > 0) || math.IsInf(float64(s), 0) || z < lo || z > hi {
			return q, fmt.Errorf("corrupted: bad scale %g or zero point %d in %q", s, z, sc.Name)
		}
		q.grids = append(q.grids, newGrid(s, z, lo, hi))
	}
	for _, c := range q.codes {
		if int32(c) < lo || int32(c) > hi {
			return q, fmt.Errorf("corrupted: code %d in %q is outside %d bits", c, w.Name, bits)
		}
	}
	return q, nil
}

func int8Bytes(v []int8) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}

func bytesInt8(b []byte) []int8 {
	v := make([]int8, len(b))
	for i, x := range b {
		v[i] = int8(x)
	}
	return v
}
