package core

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// hasConv reports whether m has a convolution, which makes structured
// pruning remove filters rather than dense units.
func hasConv(m *Model) bool {
	for _, l := range m.Layers {
		switch l.(type) {
		case *Conv2D, *DepthwiseConv2D:
			return true
		}
	}
	return false
}

// pruneConvStructured removes from every Conv2D but the last weighted layer
// the filters whose weights have the smallest norms, and the matching input
// channels of the layers that read them (see keepFilters). Dense layers of a
// conv net keep their units. A removed filter whose weights are all zero
// emits a constant channel; like pruneStructured, keepFilters folds that
// constant into the bias of the layer that reads it, so removing such
// filters changes no output, except where a non-zero constant meets zero
// padding on its way (then only border pixels differ).
func pruneConvStructured(m *Model, cfg PruneConfig) (*Model, PruneReport, error) {
	c := m.Clone()
	last := -1
	for i, l := range c.Layers {
		if len(prunableWeights(l)) > 0 {
			last = i
		}
	}
	var sizes []string
	for i, l := range c.Layers {
		conv, ok := l.(*Conv2D)
		if !ok || i == last {
			continue
		}
		remove := min(int(math.Round(cfg.Sparsity*float64(conv.Out))), conv.Out-1)
		keep := keptRows(conv.Weight.W.Data, conv.Out, cfg.Norm, remove)
		if err := keepFilters(c.Layers, i, keep); err != nil {
			return nil, PruneReport{}, err
		}
		sizes = append(sizes, strconv.Itoa(len(keep)))
	}
	c.Arch = prunedConvArch(m, c, sizes)
	return c, pruneReport(m, c, cfg.Method), nil
}

// keepFilters replaces layers[i], a Conv2D, by one with only the filters
// keep, and walks forward to the layer that reads those channels: a
// BatchNorm, a pool or a depthwise convolution on the way keeps the same
// channels, activations and dropout pass through, and the walk ends at the
// next Conv2D (which loses the input columns of the removed channels) or at
// a Dense after Flatten or GlobalAvgPool (which loses the columns of the
// removed channels at every pixel: NHWC keeps channels innermost).
func keepFilters(layers []Layer, i int, keep []int) error {
	conv := layers[i].(*Conv2D)
	c0 := conv.Out
	cs := constFilters(conv, keep)
	layers[i] = conv.keepRows(keep)
	flat := false // after Flatten or GlobalAvgPool: only a Dense may read the channels
	for j := i + 1; j < len(layers); j++ {
		unsupported := fmt.Errorf("structured filter pruning does not support layer %d (%s) after conv layer %d", j, layers[j].Spec().Kind, i)
		switch l := layers[j].(type) {
		case *Activation:
			cs.apply(func(v float32) float32 { return l.Forward(TensorFrom([]float32{v}, 1, 1), false).Data[0] })
		case *Dropout:
		case *Flatten:
			flat = true
		case *GlobalAvgPool:
			if flat {
				return unsupported
			}
			layers[j], flat = &GlobalAvgPool{H: l.H, W: l.W, C: len(keep)}, true
		case *BatchNorm:
			if flat || l.channels() != c0 {
				return unsupported
			}
			scale, shift := l.affine()
			cs.applyChannel(func(ch int, v float32) float32 { return v*scale[ch] + shift[ch] })
			layers[j] = l.keepChannels(keep)
		case *Pool2D:
			if flat {
				return unsupported
			}
			layers[j] = newPool2D(l.Max, l.H, l.W, len(keep), l.K, l.Stride)
		case *DepthwiseConv2D:
			if flat {
				return unsupported
			}
			cs.applyChannel(func(ch int, v float32) float32 {
				s := v * sumF32(l.Weight.W.Data[ch*l.taps:(ch+1)*l.taps])
				if l.Bias != nil {
					s += l.Bias.W.Data[ch]
				}
				return s
			})
			layers[j] = l.keepChannels(keep)
		case *Conv2D:
			if flat {
				return unsupported
			}
			n := l.keepInputs(keep)
			layers[j] = n
			cs.foldConv(l, n, layers[j+1:])
			return nil
		case *Dense:
			if l.In%c0 != 0 {
				return unsupported
			}
			var cols []int
			for p := range l.In / c0 {
				for _, ch := range keep {
					cols = append(cols, p*c0+ch)
				}
			}
			n := l.keepCols(cols)
			for o := range l.Out {
				for k, ch := range cs.chans {
					for p := range l.In / c0 {
						n.Bias.W.Data[o] += cs.vals[k] * l.Weight.W.Data[o*l.In+p*c0+ch]
					}
				}
			}
			layers[j] = n
			return nil
		default:
			return unsupported
		}
	}
	return fmt.Errorf("structured filter pruning: nothing reads the channels of conv layer %d", i)
}

// constChannels are removed channels that hold one value at every pixel:
// their indices in the original layer and their current values.
type constChannels struct {
	chans []int
	vals  []float32
}

// constFilters returns the filters of conv outside keep whose weights are
// all zero, with the value they emit (their bias, or 0).
func constFilters(conv *Conv2D, keep []int) constChannels {
	var cs constChannels
	kk := conv.K * conv.K * conv.C
	for o := range conv.Out {
		if _, kept := slices.BinarySearch(keep, o); kept || countZeros(conv.Weight.W.Data[o*kk:(o+1)*kk]) != kk {
			continue
		}
		v := float32(0)
		if conv.Bias != nil {
			v = conv.Bias.W.Data[o]
		}
		cs.chans, cs.vals = append(cs.chans, o), append(cs.vals, v)
	}
	return cs
}

func (cs constChannels) apply(f func(float32) float32) {
	for k, v := range cs.vals {
		cs.vals[k] = f(v)
	}
}

func (cs constChannels) applyChannel(f func(ch int, v float32) float32) {
	for k, v := range cs.vals {
		cs.vals[k] = f(cs.chans[k], v)
	}
}

// foldConv adds what the constant channels contributed to orig, the Conv2D
// that read them, to the bias of n, its pruned copy: Σ over the kernel taps
// of value × weight. Without a bias, the contribution goes into the running
// mean of a following BatchNorm (subtracting b from the mean is adding b to
// the input), else n gets a bias.
func (cs constChannels) foldConv(orig, n *Conv2D, after []Layer) {
	if len(cs.chans) == 0 {
		return
	}
	b := make([]float32, orig.Out)
	taps := orig.K * orig.K
	for o := range orig.Out {
		for k, ch := range cs.chans {
			for t := range taps {
				b[o] += cs.vals[k] * orig.Weight.W.Data[(o*taps+t)*orig.C+ch]
			}
		}
	}
	switch bn, ok := firstLayer(after).(*BatchNorm); {
	case n.Bias != nil:
	case ok && bn.channels() == orig.Out:
		for o, v := range b {
			bn.Mean[o] -= v
		}
		return
	default:
		n.Bias = &Param{Name: "bias", W: NewTensor(orig.Out), G: NewTensor(orig.Out)}
	}
	for o, v := range b {
		n.Bias.W.Data[o] += v
	}
}

func firstLayer(ls []Layer) Layer {
	if len(ls) == 0 {
		return nil
	}
	return ls[0]
}

func sumF32(v []float32) float32 {
	var s float32
	for _, x := range v {
		s += x
	}
	return s
}

// gatherParam returns a parameter of the given shape holding p's values (and
// mask, if any) at the flat indices idx.
func gatherParam(p *Param, idx []int, shape ...int) *Param {
	n := &Param{Name: p.Name, W: NewTensor(shape...), G: NewTensor(shape...)}
	for j, i := range idx {
		n.W.Data[j] = p.W.Data[i]
	}
	if p.Mask != nil {
		n.Mask = make([]float32, len(idx))
		for j, i := range idx {
			n.Mask[j] = p.Mask[i]
		}
	}
	return n
}

// rowIndices returns the flat indices of the given rows of a matrix with
// cols columns.
func rowIndices(rows []int, cols int) []int {
	idx := make([]int, 0, len(rows)*cols)
	for _, r := range rows {
		for k := range cols {
			idx = append(idx, r*cols+k)
		}
	}
	return idx
}

// keepRows returns a copy of l with only the given filters.
func (l *Conv2D) keepRows(rows []int) *Conv2D {
	n := newConv2D(l.H, l.W, l.C, len(rows), l.K, l.Stride, l.Pad, false)
	kk := l.K * l.K * l.C
	n.Weight = gatherParam(l.Weight, rowIndices(rows, kk), len(rows), kk)
	if l.Bias != nil {
		n.Bias = gatherParam(l.Bias, rows, len(rows))
	}
	return n
}

// keepInputs returns a copy of l that reads only the given input channels:
// each filter row, in (ky, kx, c) order, loses the columns of the others.
func (l *Conv2D) keepInputs(chans []int) *Conv2D {
	n := newConv2D(l.H, l.W, len(chans), l.Out, l.K, l.Stride, l.Pad, false)
	var idx []int
	for o := range l.Out {
		for t := range l.K * l.K {
			for _, ch := range chans {
				idx = append(idx, (o*l.K*l.K+t)*l.C+ch)
			}
		}
	}
	n.Weight = gatherParam(l.Weight, idx, l.Out, l.K*l.K*len(chans))
	if l.Bias != nil {
		n.Bias = &Param{Name: "bias", W: l.Bias.W.Clone(), G: NewTensor(l.Out)}
	}
	return n
}

// keepChannels returns a copy of l with only the given channels.
func (l *DepthwiseConv2D) keepChannels(chans []int) *DepthwiseConv2D {
	n := newDepthwise(l.H, l.W, len(chans), l.K, l.Stride, l.Pad, false)
	n.Weight = gatherParam(l.Weight, rowIndices(chans, l.taps), len(chans), l.taps)
	if l.Bias != nil {
		n.Bias = gatherParam(l.Bias, chans, len(chans))
	}
	return n
}

// keepChannels returns a copy of b with only the given channels, running
// statistics included.
func (b *BatchNorm) keepChannels(chans []int) *BatchNorm {
	shape := slices.Clone(b.Shape)
	shape[len(shape)-1] = len(chans)
	n := newBatchNorm(shape)
	for j, ch := range chans {
		n.Gamma.W.Data[j], n.Beta.W.Data[j] = b.Gamma.W.Data[ch], b.Beta.W.Data[ch]
		n.Mean[j], n.Var[j] = b.Mean[ch], b.Var[ch]
	}
	return n
}

// prunedConvArch names the pruned model c of m: m's cnn or mobile spec with
// the new channel counts (width multiplier applied), when that spec builds
// exactly c's layers (BatchNorms folded or not: saved models are folded); otherwise m's spec marked as pruned, since no spec
// describes the result.
func prunedConvArch(m, c *Model, sizes []string) string {
	a, err := parseArch(m.Arch)
	if err == nil && a.family != "mlp" && len(a.sizes) == len(sizes) {
		spec := a.family + ":" + strings.Join(sizes, ",")
		if (a.family == "cnn") != (a.head == "flat") {
			spec += "/" + a.head
		}
		if b, err := Build(spec, c.InShape, c.Classes, BuildOptions{}); err == nil && (sameSpecs(b, c) || sameSpecs(FoldBatchNorm(b), c)) {
			return spec
		}
	}
	return m.Arch + " (filters pruned)"
}

// sameSpecs reports whether a and b have the same layers, dropout aside
// (Build adds it only when asked).
func sameSpecs(a, b *Model) bool {
	specs := func(m *Model) []LayerSpec {
		var s []LayerSpec
		for _, l := range m.Layers {
			if _, ok := l.(*Dropout); !ok {
				s = append(s, l.Spec())
			}
		}
		return s
	}
	return slices.Equal(specs(a), specs(b))
}
