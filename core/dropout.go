package core

import "math/rand/v2"

// Dropout zeroes each input with probability Rate during training and scales
// the survivors by 1/(1-Rate) (inverted dropout), so inference is the identity.
type Dropout struct {
	Rate float64

	rng         *rand.Rand
	keep        []float32
	y, dx       *Tensor
	trainedLast bool
}

func (d *Dropout) setRand(r *rand.Rand) { d.rng = r }

// Forward drops inputs when train is true and a random source has been set.
func (d *Dropout) Forward(x *Tensor, train bool) *Tensor {
	d.trainedLast = train && d.Rate > 0 && d.rng != nil
	if !d.trainedLast {
		return x
	}
	d.y = ensure(d.y, x.Shape...)
	if cap(d.keep) < len(x.Data) {
		d.keep = make([]float32, len(x.Data))
	}
	d.keep = d.keep[:len(x.Data)]
	scale := float32(1 / (1 - d.Rate))
	for i, v := range x.Data {
		if d.rng.Float64() < d.Rate {
			d.keep[i] = 0
		} else {
			d.keep[i] = scale
		}
		d.y.Data[i] = v * d.keep[i]
	}
	return d.y
}

// Backward routes gradients through the kept units only.
func (d *Dropout) Backward(dy *Tensor) *Tensor {
	if !d.trainedLast {
		return dy
	}
	d.dx = ensure(d.dx, dy.Shape...)
	for i, g := range dy.Data {
		d.dx.Data[i] = g * d.keep[i]
	}
	return d.dx
}

// Params returns nil.
func (d *Dropout) Params() []*Param { return nil }

// Spec describes the layer.
func (d *Dropout) Spec() LayerSpec { return LayerSpec{Kind: "dropout", Rate: d.Rate} }

// OutShape equals the input shape.
func (d *Dropout) OutShape(in []int) []int { return in }

// MACs is zero.
func (d *Dropout) MACs([]int) int64 { return 0 }
