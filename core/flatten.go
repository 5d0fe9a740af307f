package core

// Flatten turns each sample into a vector: [N H W C] becomes [N H·W·C]. The
// data stays where it is; only the shape changes, so the layer costs nothing.
type Flatten struct {
	inShape []int
	y, dx   Tensor // views of the input's data and of dy's, reshaped
}

// Forward returns x's data with shape [N, values per sample].
func (f *Flatten) Forward(x *Tensor, train bool) *Tensor {
	f.inShape = append(f.inShape[:0], x.Shape...)
	f.y = Tensor{Shape: append(f.y.Shape[:0], x.Rows(), x.Cols()), Data: x.Data}
	return &f.y
}

// Backward returns dy with the input's shape.
func (f *Flatten) Backward(dy *Tensor) *Tensor {
	f.dx = Tensor{Shape: append(f.dx.Shape[:0], f.inShape...), Data: dy.Data}
	return &f.dx
}

// Params returns nil.
func (f *Flatten) Params() []*Param { return nil }

// Spec describes the layer.
func (f *Flatten) Spec() LayerSpec { return LayerSpec{Kind: "flatten"} }

// OutShape is [prod(in)].
func (f *Flatten) OutShape(in []int) []int { return []int{numel(in)} }

// MACs is zero.
func (f *Flatten) MACs([]int) int64 { return 0 }
