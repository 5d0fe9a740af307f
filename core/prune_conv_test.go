package core

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// convNet builds spec on 8x8x1 images with 3 classes, trains it a little
// and randomizes its biases and BatchNorm parameters, so no channel is
// trivially zero.
func convNet(t *testing.T, spec string) *Model {
	t.Helper()
	m, err := Build(spec, []int{8, 8, 1}, []string{"a", "b", "c"}, BuildOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 5))
	trainSteps(m, r, 10)
	randomize(m, r)
	return m
}

func convsOf(m *Model) []*Conv2D {
	var cs []*Conv2D
	for _, l := range m.Layers {
		if c, ok := l.(*Conv2D); ok {
			cs = append(cs, c)
		}
	}
	return cs
}

func TestPruneConvStructuredShapes(t *testing.T) {
	for _, tc := range []struct {
		spec, arch string
		outs       []int
	}{
		{"cnn:8,16", "cnn:4,8", []int{4, 8}},
		{"cnn:4,6/gap", "cnn:2,3/gap", []int{2, 3}},
		{"mobile:4,8,16", "mobile:2,4,8", []int{2, 4, 8}},
		{"mobile:2,2", "", []int{1, 1}}, // at least one filter stays
	} {
		t.Run(tc.spec, func(t *testing.T) {
			m := convNet(t, tc.spec)
			before := qEncode(t, m)
			p, rep, err := Prune(m, PruneConfig{Method: "structured", Sparsity: 0.5})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, qEncode(t, m)) {
				t.Fatal("Prune modified its input model")
			}
			var outs []int
			for _, c := range convsOf(p) {
				outs = append(outs, c.Out)
			}
			if !slices.Equal(outs, tc.outs) {
				t.Fatalf("filters %v, want %v", outs, tc.outs)
			}
			if tc.arch != "" && p.Arch != tc.arch {
				t.Errorf("arch %q, want %q", p.Arch, tc.arch)
			}
			// The pruned model is the one its arch names would build, runs,
			// and saves and loads.
			p.Predict(make([]float32, 2*64))
			s, s0 := p.Summarize(), m.Summarize()
			if s.MACs >= s0.MACs || s.Params >= s0.Params {
				t.Errorf("MACs %d → %d, params %d → %d: not smaller", s0.MACs, s.MACs, s0.Params, s.Params)
			}
			var macs int64
			shape := p.InShape
			for _, l := range p.Layers {
				macs += l.MACs(shape)
				shape = l.OutShape(shape)
			}
			if macs != s.MACs || numel(shape) != 3 {
				t.Errorf("layer shapes do not chain: %v", shape)
			}
			if _, _, err := DecodeModel(qEncode(t, p)); err != nil {
				t.Fatal(err)
			}
			removed := 0
			for _, l := range rep.Layers {
				if strings.HasSuffix(l.Name, ":conv") { // depthwise layers lose their channels too
					removed += l.RemovedUnits
				}
			}
			if want := sumInts(convOuts(m)) - sumInts(outs); removed != want {
				t.Errorf("report removes %d filters, want %d", removed, want)
			}
		})
	}
}

func convOuts(m *Model) []int {
	var outs []int
	for _, c := range convsOf(m) {
		outs = append(outs, c.Out)
	}
	return outs
}

func sumInts(v []int) int {
	s := 0
	for _, x := range v {
		s += x
	}
	return s
}

// Removing filters whose channel is exactly zero where it is read (an
// all-zero filter whose BatchNorm maps 0 to 0) changes no output.
func TestPruneConvZeroFiltersKeepsOutputs(t *testing.T) {
	for _, spec := range []string{"cnn:6,8", "cnn:6,8/gap", "mobile:4,8,16"} {
		t.Run(spec, func(t *testing.T) {
			m := convNet(t, spec)
			r := rand.New(rand.NewPCG(9, 9))
			var dead []int // per conv, the zeroed filters
			for i, l := range m.Layers {
				c, ok := l.(*Conv2D)
				if !ok {
					continue
				}
				kk := c.K * c.K * c.C
				// Zero half the filters, at scattered positions; the others
				// keep norms well above zero.
				perm := r.Perm(c.Out)[:c.Out/2]
				dead = append(dead, len(perm))
				bn := m.Layers[i+1].(*BatchNorm)
				for _, o := range perm {
					clear(c.Weight.W.Data[o*kk : (o+1)*kk])
					bn.Beta.W.Data[o], bn.Mean[o] = 0, 0
				}
			}
			x := randTensor(r, 5, 64)
			want := slices.Clone(m.Predict(x.Data).Data)
			p, _, err := Prune(m, PruneConfig{Method: "structured", Sparsity: 0.5, Norm: "l2"})
			if err != nil {
				t.Fatal(err)
			}
			for j, c := range convsOf(p) {
				if c.Out != convOuts(m)[j]-dead[j] {
					t.Fatalf("conv %d keeps %d filters, want %d", j, c.Out, convOuts(m)[j]-dead[j])
				}
				kk := c.K * c.K * c.C
				for o := range c.Out {
					if countZeros(c.Weight.W.Data[o*kk:(o+1)*kk]) == kk {
						t.Fatalf("conv %d kept a zero filter", j)
					}
				}
			}
			assertClose(t, "pruned logits", p.Predict(x.Data).Data, want, 1e-5)
		})
	}
}

// Unstructured methods already prune convolution weights, layer by layer.
func TestPruneUnstructuredCoversConv(t *testing.T) {
	m := convNet(t, "mobile:4,8")
	p, _, err := Prune(m, PruneConfig{Method: "magnitude", Sparsity: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range p.Layers {
		for _, w := range prunableWeights(l) {
			if z := countZeros(w.W.Data); z != (len(w.W.Data)+1)/2 && z != len(w.W.Data)/2 {
				t.Errorf("layer %d (%s): %d of %d weights zero", i, l.Spec().Kind, z, len(w.W.Data))
			}
		}
	}
}

func TestPruneConvStructuredRefusesUnsupported(t *testing.T) {
	m := convNet(t, "cnn:4")
	// A 1-D BatchNorm after Flatten normalizes pixels, not channels.
	i := slices.IndexFunc(m.Layers, func(l Layer) bool { _, ok := l.(*Flatten); return ok })
	m.Layers = slices.Insert(m.Layers, i+1, Layer(NewBatchNorm(4*4*4)))
	_, _, err := Prune(m, PruneConfig{Method: "structured", Sparsity: 0.5})
	if err == nil || !strings.Contains(err.Error(), "batchnorm") {
		t.Fatalf("error %v, want one naming the batchnorm", err)
	}
}
