package core

import "fmt"

// Tensor is a dense float32 array: a shape and its row-major data.
type Tensor struct {
	Shape []int
	Data  []float32
}

// NewTensor returns a zeroed tensor of the given shape.
func NewTensor(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, numel(shape))}
}

// TensorFrom wraps data in a tensor of the given shape; len(data) must match.
func TensorFrom(data []float32, shape ...int) *Tensor {
	if len(data) != numel(shape) {
		panic(fmt.Sprintf("core: %d values do not fill shape %v", len(data), shape))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}
}

// Rows is the size of the first dimension (the batch size for activations).
func (t *Tensor) Rows() int { return t.Shape[0] }

// Cols is the number of values per row: the product of all but the first dimension.
func (t *Tensor) Cols() int {
	if len(t.Shape) == 0 || t.Shape[0] == 0 {
		return numel(t.Shape[1:])
	}
	return len(t.Data) / t.Shape[0]
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// Row returns row i's values (a view, not a copy).
func (t *Tensor) Row(i int) []float32 {
	c := t.Cols()
	return t.Data[i*c : (i+1)*c]
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("core: negative dimension in shape %v", shape))
		}
		n *= d
	}
	return n
}

// ensure returns t if it already has the given shape, else a new zeroed tensor.
// Layers use it to keep their activation buffers across batches of one size.
func ensure(t *Tensor, shape ...int) *Tensor {
	if t != nil && sameShape(t.Shape, shape) {
		return t
	}
	return NewTensor(shape...)
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
