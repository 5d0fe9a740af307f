package core

import (
	"math"
	"slices"
)

// Training's forward and backward passes, with the work around each matrix
// product fused into as few passes over memory as it allows (Train runs
// them through a trainPass):
//
//   - forward, a dense layer's product is written without its bias, and
//     one pass then adds the bias and applies the activation that follows
//     (biasRelu for ReLU);
//   - backward, one pass multiplies dL/dy by the activation's derivative
//     and sums the result into the bias gradient (reluGrad), and the weight
//     gradient is written by its product, not added to a cleared one;
//   - the first layer's dL/dx, which nothing reads, is not computed.
//
// The element-wise loops have AVX-512 versions (fused_amd64.s) that compute
// the same bits as the Go loops here (all but axpy, which fuses its
// multiply-adds; the sparse kernel uses it).

// The AVX-512 loops, set by fused_amd64.go; nil elsewhere. They do not
// check bounds: their Go wrappers do.
var (
	biasReluAsm func(z, a, b []float32)
	reluAsm     func(y, x []float32)
	reluGradAsm func(dz, dy, z, db []float32)
	addAsm      func(dst, src []float32)
	adamAsm     func(w, g, m, v, mask []float32, c *adamConsts)
	axpyAsm     func(y, x []float32, a float32)
)

// biasRelu sets z[j] += b[j] and a[j] = max(z[j], 0).
func biasRelu(z, a, b []float32) {
	a, b = a[:len(z)], b[:len(z)]
	if biasReluAsm != nil {
		biasReluAsm(z, a, b)
		return
	}
	for j := range z {
		z[j] += b[j]
		a[j] = max(z[j], 0)
	}
}

// relu sets y[j] = max(x[j], 0).
func relu(y, x []float32) {
	x = x[:len(y)]
	if reluAsm != nil {
		reluAsm(y, x)
		return
	}
	for j, v := range x {
		y[j] = max(v, 0)
	}
}

// reluGrad sets dz[j] = dy[j] where z[j] > 0 and 0 elsewhere, and adds dz
// to db unless db is nil.
func reluGrad(dz, dy, z, db []float32) {
	dy, z = dy[:len(dz)], z[:len(dz)]
	if db != nil {
		db = db[:len(dz)]
	}
	if reluGradAsm != nil {
		reluGradAsm(dz, dy, z, db)
		return
	}
	for j, g := range dy {
		if !(z[j] > 0) {
			g = 0
		}
		dz[j] = g
	}
	if db != nil {
		addTo(db, dz)
	}
}

// addTo sets dst[j] += src[j].
func addTo(dst, src []float32) {
	src = src[:len(dst)]
	if addAsm != nil {
		addAsm(dst, src)
		return
	}
	for j, v := range src {
		dst[j] += v
	}
}

// addRows adds each len(dst)-long row of the row-major matrix src to dst:
// its column sums, as a bias gradient.
func addRows(dst, src []float32) {
	if len(dst) == 0 {
		return
	}
	for r := 0; r+len(dst) <= len(src); r += len(dst) {
		addTo(dst, src[r:r+len(dst)])
	}
}

// fillRows sets every len(b)-long row of the row-major matrix y to b: the
// bias a product then adds to (beta 1).
func fillRows(y, b []float32) {
	if len(b) == 0 {
		return
	}
	for r := 0; r+len(b) <= len(y); r += len(b) {
		copy(y[r:r+len(b)], b)
	}
}

// axpy sets y[j] += a·x[j] (fused multiply-adds where the vector loop runs).
func axpy(y, x []float32, a float32) {
	x = x[:len(y)]
	if axpyAsm != nil {
		axpyAsm(y, x, a)
		return
	}
	for j, v := range x {
		y[j] += a * v
	}
}

// adamConsts are one Adam step's constants, in the layout adamAVX512 reads.
type adamConsts struct {
	b1, ob1, b2, ob2 float32 // β1, 1−β1, β2, 1−β2
	alpha, eps       float32 // step size and ε, bias corrections folded in
	wd, decoupled    float32 // coupled (L2) and decoupled (AdamW) weight decay
}

// adamUpdate applies one Adam step to weights w with gradients g and
// moments m and v, then multiplies w by mask unless it is nil: one pass.
func adamUpdate(w, g, m, v, mask []float32, c *adamConsts) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	if mask != nil {
		mask = mask[:len(w)]
	}
	if adamAsm != nil {
		adamAsm(w, g, m, v, mask, c)
		return
	}
	adamGo(w, g, m, v, mask, c)
}

// adamGo is adamUpdate's portable loop. The conversions round every
// product on its own, as the vector loop does, so that a compiler which
// fuses multiply-adds cannot change the bits.
func adamGo(w, g, m, v, mask []float32, c *adamConsts) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	for i := range w {
		gi := g[i] + float32(c.wd*w[i])
		mi := float32(c.b1*m[i]) + float32(c.ob1*gi)
		vi := float32(c.b2*v[i]) + float32(float32(c.ob2*gi)*gi)
		m[i], v[i] = mi, vi
		step := float32(c.alpha*mi) / (float32(math.Sqrt(float64(vi))) + c.eps)
		wi := w[i] - (step + float32(c.decoupled*w[i]))
		if mask != nil {
			wi *= mask[i]
		}
		w[i] = wi
	}
}

// trainPass runs a model's layers forward and backward for Train, fusing
// each dense layer with the activation that follows it.
type trainPass struct {
	units []passUnit
	// clear lists the parameters whose gradients a backward pass adds to
	// (those of layers it does not fuse), to be zeroed before it.
	clear []*Param
}

// passUnit is a dense layer with the activation after it (act, or nil),
// or any other layer.
type passUnit struct {
	dense *Dense
	act   *Activation
	layer Layer
	first bool // the model's first layer: its dL/dx is not needed
}

func newTrainPass(m *Model) *trainPass {
	p := &trainPass{}
	for i := 0; i < len(m.Layers); i++ {
		u := passUnit{layer: m.Layers[i], first: i == 0}
		if d, ok := m.Layers[i].(*Dense); ok {
			u.dense = d
			if i+1 < len(m.Layers) {
				if a, ok := m.Layers[i+1].(*Activation); ok {
					u.act = a
					i++
				}
			}
		} else {
			p.clear = append(p.clear, u.layer.Params()...)
		}
		p.units = append(p.units, u)
	}
	return p
}

// forward runs the layers in training mode on x (already standardized).
func (p *trainPass) forward(x *Tensor) *Tensor {
	for _, u := range p.units {
		if u.dense != nil {
			x = u.dense.forwardAct(x, u.act)
		} else {
			x = u.layer.Forward(x, true)
		}
	}
	return x
}

// backward propagates dL/dlogits and leaves every parameter's gradient for
// this batch in its G: set by fused layers, accumulated from zero by others.
func (p *trainPass) backward(dy *Tensor) {
	for _, q := range p.clear {
		clear(q.G.Data)
	}
	for i := len(p.units) - 1; i >= 0; i-- {
		u := p.units[i]
		if u.dense == nil {
			dy = u.layer.Backward(dy)
			continue
		}
		dz := dy
		if u.act != nil {
			dz = u.act.backwardBias(dy, u.dense.Bias.G.Data)
		} else {
			clear(u.dense.Bias.G.Data)
			addRows(u.dense.Bias.G.Data, dy.Data)
		}
		dy = u.dense.backwardSet(dz, !u.first)
	}
}

// forwardAct computes act(x·Wᵀ + b) (or x·Wᵀ + b when act is nil), leaving
// in each layer what its Backward needs.
func (d *Dense) forwardAct(x *Tensor, act *Activation) *Tensor {
	d.product(x)
	if act == nil {
		d.addBias()
		return d.y
	}
	act.x = d.y
	act.y = ensureMatrix(act.y, d.y.Rows(), d.Out)
	b := d.Bias.W.Data
	for r := range d.y.Rows() {
		z, a := d.y.Row(r), act.y.Row(r)
		if act.Kind == "relu" {
			biasRelu(z, a, b)
			continue
		}
		addTo(z, b)
		act.apply(a, z)
	}
	return act.y
}

// backwardBias returns dL/dx for dL/dy dy of the last Forward, and sets db
// to its column sums: the bias gradient of the dense layer before.
func (a *Activation) backwardBias(dy *Tensor, db []float32) *Tensor {
	a.dx = ensureMatrix(a.dx, dy.Rows(), dy.Cols())
	clear(db)
	for r := range dy.Rows() {
		dx, g, x := a.dx.Row(r), dy.Row(r), a.x.Row(r)
		if a.Kind == "relu" {
			reluGrad(dx, g, x, db)
			continue
		}
		a.grad(dx, g, x, a.y.Row(r))
		addTo(db, dx)
	}
	return a.dx
}

// backwardSet sets dW = dzᵀ·x for dL/dz dz of the last forward pass (not
// adding to it, as Backward does) and returns dz·W, or nil when needDX is
// false. The bias gradient is the caller's.
func (d *Dense) backwardSet(dz *Tensor, needDX bool) *Tensor {
	return d.backwardWeights(dz, 0, needDX)
}

// backwardWeights sets dW = dzᵀ·x + beta·dW (Backward accumulates with beta
// 1, backwardSet overwrites with 0) and returns dz·W, or nil when needDX is
// false.
func (d *Dense) backwardWeights(dz *Tensor, beta float32, needDX bool) *Tensor {
	n := dz.Rows()
	gemm(true, false, d.Out, d.In, n, 1, dz.Data, d.Out, d.x.Data, d.In, beta, d.Weight.G.Data, d.In)
	if !needDX {
		return nil
	}
	d.dx = ensureMatrix(d.dx, n, d.In)
	gemm(false, false, n, d.In, d.Out, 1, dz.Data, d.Out, d.Weight.W.Data, d.In, 0, d.dx.Data, d.In)
	return d.dx
}

// ensureMatrix is ensure for a rows×cols tensor, which also keeps t when
// its storage holds rows×cols values, reshaping it in place (contents
// unspecified): a layer's buffers then serve the shorter last batch of an
// epoch, and the full ones after it, without allocating. (ensure's variadic
// shape would also escape, costing an allocation on every call.)
func ensureMatrix(t *Tensor, rows, cols int) *Tensor {
	if t != nil && len(t.Shape) == 2 && t.Shape[1] == cols && cap(t.Data) >= rows*cols {
		t.Shape[0], t.Data = rows, t.Data[:rows*cols]
		return t
	}
	return NewTensor(rows, cols)
}

// ensureLike is ensureMatrix for a tensor of like's shape, of any rank: t
// is kept, reshaped in place, when only the first dimension differs and its
// storage holds like's values.
func ensureLike(t, like *Tensor) *Tensor {
	if t != nil && len(t.Shape) == len(like.Shape) && len(t.Shape) > 0 &&
		slices.Equal(t.Shape[1:], like.Shape[1:]) && cap(t.Data) >= len(like.Data) {
		t.Shape[0], t.Data = like.Shape[0], t.Data[:len(like.Data)]
		return t
	}
	return NewTensor(like.Shape...)
}
