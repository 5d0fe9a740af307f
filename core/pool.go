package core

import (
	"fmt"
)

// Pool2D is max or average pooling over K×K windows moved by Stride, on
// NHWC activations, without padding (windows that would hang over the
// border are dropped, as floor division gives).
type Pool2D struct {
	Max       bool // max pooling; false for average pooling
	H, W, C   int  // input height, width and channels
	K, Stride int

	oh, ow   int
	left     []float32 // max Backward: per channel, the gradient not yet routed
	x, y, dx *Tensor
}

func newPool2D(maxPool bool, h, w, c, k, stride int) *Pool2D {
	return &Pool2D{Max: maxPool, H: h, W: w, C: c, K: k, Stride: stride,
		oh: outSide(h, k, stride, 0), ow: outSide(w, k, stride, 0)}
}

// Forward pools each window, channel by channel.
func (p *Pool2D) Forward(x *Tensor, train bool) *Tensor {
	n, c := x.Rows(), p.C
	if x.Cols() != p.H*p.W*c {
		panic(fmt.Sprintf("core: pooling layer expects %dx%dx%d inputs (%d values), got %d",
			p.H, p.W, c, p.H*p.W*c, x.Cols()))
	}
	p.x = x
	p.y = ensure(p.y, n, p.oh, p.ow, c)
	inv := 1 / float32(p.K*p.K)
	for s := range n {
		img := x.Data[s*p.H*p.W*c : (s+1)*p.H*p.W*c]
		for oy := range p.oh {
			for ox := range p.ow {
				out := p.y.Data[((s*p.oh+oy)*p.ow+ox)*c:][:c]
				base := (oy*p.Stride*p.W + ox*p.Stride) * c
				copy(out, img[base:])
				for t := 1; t < p.K*p.K; t++ {
					in := img[base+((t/p.K)*p.W+t%p.K)*c:][:len(out)]
					if p.Max {
						for i, v := range in {
							out[i] = max(out[i], v) // no branch: which value wins is data
						}
					} else {
						for i, v := range in {
							out[i] += v
						}
					}
				}
				if !p.Max {
					for i := range out {
						out[i] *= inv
					}
				}
			}
		}
	}
	return p.y
}

// Backward routes each output's gradient to the input that won its window
// (max; the first one on ties) or spreads it evenly over the window
// (average). Max pooling finds the winners here rather than in Forward, so
// inference does not pay for them.
func (p *Pool2D) Backward(dy *Tensor) *Tensor {
	n, c := p.x.Rows(), p.C
	p.dx = ensure(p.dx, n, p.H, p.W, c)
	clear(p.dx.Data)
	if len(p.left) != c {
		p.left = make([]float32, c)
	}
	per, inv := p.H*p.W*c, 1/float32(p.K*p.K)
	for s := range n {
		img, dimg := p.x.Data[s*per:(s+1)*per], p.dx.Data[s*per:(s+1)*per]
		for oy := range p.oh {
			for ox := range p.ow {
				o := ((s*p.oh+oy)*p.ow + ox) * c
				g, out, left := dy.Data[o:][:c], p.y.Data[o:][:c], p.left[:c]
				copy(left, g)
				base := (oy*p.Stride*p.W + ox*p.Stride) * c
				for t := range p.K * p.K {
					off := base + ((t/p.K)*p.W+t%p.K)*c
					in, din := img[off:][:len(g)], dimg[off:][:len(g)]
					if !p.Max {
						for i, v := range g {
							din[i] += v * inv
						}
						continue
					}
					// The first input equal to the maximum takes what is left
					// of the gradient; written without a branch, as in Forward.
					for i, v := range in {
						hit := float32(b2i(v == out[i])) * left[i]
						din[i] += hit
						left[i] -= hit
					}
				}
			}
		}
	}
	return p.dx
}

// b2i is 1 for true and 0 for false; the compiler makes it a flag move.
func b2i(b bool) int32 {
	var i int32
	if b {
		i = 1
	}
	return i
}

// Params returns nil.
func (p *Pool2D) Params() []*Param { return nil }

// Spec describes the layer.
func (p *Pool2D) Spec() LayerSpec {
	kind := "avgpool"
	if p.Max {
		kind = "maxpool"
	}
	return LayerSpec{Kind: kind, H: p.H, W: p.W, C: p.C, Kernel: p.K, Stride: p.Stride}
}

// OutShape is [OH OW C].
func (p *Pool2D) OutShape([]int) []int { return []int{p.oh, p.ow, p.C} }

// MACs is zero: pooling multiplies by no weight.
func (p *Pool2D) MACs([]int) int64 { return 0 }

// GlobalAvgPool averages each channel over all pixels: [H W C] becomes [C].
type GlobalAvgPool struct {
	H, W, C int

	y, dx *Tensor
	n     int
}

// Forward averages every channel of every sample.
func (g *GlobalAvgPool) Forward(x *Tensor, train bool) *Tensor {
	n, c, hw := x.Rows(), g.C, g.H*g.W
	if x.Cols() != hw*c {
		panic(fmt.Sprintf("core: global average pool expects %dx%dx%d inputs (%d values), got %d",
			g.H, g.W, c, hw*c, x.Cols()))
	}
	g.n = n
	g.y = ensure(g.y, n, c)
	inv := 1 / float32(hw)
	for s := range n {
		out := g.y.Data[s*c:][:c]
		clear(out)
		for px := range hw {
			for i, v := range x.Data[(s*hw+px)*c:][:len(out)] {
				out[i] += v
			}
		}
		for i := range out {
			out[i] *= inv
		}
	}
	return g.y
}

// Backward spreads each channel's gradient evenly over its pixels.
func (g *GlobalAvgPool) Backward(dy *Tensor) *Tensor {
	c, hw := g.C, g.H*g.W
	g.dx = ensure(g.dx, g.n, g.H, g.W, c)
	inv := 1 / float32(hw)
	for s := range g.n {
		d := dy.Data[s*c:][:c]
		for px := range hw {
			din := g.dx.Data[(s*hw+px)*c:][:len(d)]
			for i, v := range d {
				din[i] = v * inv
			}
		}
	}
	return g.dx
}

// Params returns nil.
func (g *GlobalAvgPool) Params() []*Param { return nil }

// Spec describes the layer.
func (g *GlobalAvgPool) Spec() LayerSpec {
	return LayerSpec{Kind: "gap", H: g.H, W: g.W, C: g.C}
}

// OutShape is [C].
func (g *GlobalAvgPool) OutShape([]int) []int { return []int{g.C} }

// MACs is zero.
func (g *GlobalAvgPool) MACs([]int) int64 { return 0 }
