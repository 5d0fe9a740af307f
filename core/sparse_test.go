package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// prunedDense returns a He-initialized in×out dense layer magnitude-pruned to
// sparsity s.
func prunedDense(t testing.TB, in, out int, s float64, seed uint64) *Dense {
	t.Helper()
	d := NewDense(in, out, "he", rand.New(rand.NewPCG(seed, 1)))
	m := &Model{InShape: []int{in}, Classes: []string{"a", "b"}, Layers: []Layer{d}}
	p, _, err := Prune(m, PruneConfig{Sparsity: s})
	if err != nil {
		t.Fatal(err)
	}
	return p.Layers[0].(*Dense)
}

func closeTo(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("%s: value %d is %g, want %g", what, i, got[i], want[i])
		}
	}
}

func TestSparseForwardMatchesDense(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, c := range []struct{ in, out int }{{784, 256}, {37, 5}, {70000, 3}} {
		for _, s := range []float64{0, 0.5, 0.9, 0.999} {
			d := prunedDense(t, c.in, c.out, s, 1)
			for i := range d.Bias.W.Data {
				d.Bias.W.Data[i] = float32(i) / 10
			}
			sd, gemmed := sparseFromDense(d, true), sparseFromDense(d, false)
			if wide := c.in > sparseCols16; (sd.csr.cols32 != nil) != wide || (sd.csr.cols16 != nil) == wide {
				t.Fatalf("%d inputs: %d uint16 and %d int32 column indices", c.in, len(sd.csr.cols16), len(sd.csr.cols32))
			}
			nnz := len(d.Weight.W.Data) - countZeros(d.Weight.W.Data)
			if sd.NNZ() != nnz || sd.MACs(nil) != int64(nnz) || gemmed.NNZ() != nnz || gemmed.MACs(nil) != int64(c.in*c.out) {
				t.Fatalf("sparse kernel: %d stored, %d MACs; GEMM: %d stored, %d MACs; the dense layer has %d non-zeros",
					sd.NNZ(), sd.MACs(nil), gemmed.NNZ(), gemmed.MACs(nil), nnz)
			}
			// Batches on both sides of sparseBatchCols take both sparse kernels.
			for _, n := range []int{1, 3, sparseBatchCols, 70} {
				if c.in == 70000 && n > 3 {
					continue
				}
				x := randTensor(r, n, c.in)
				want := slices.Clone(d.Forward(x, false).Data)
				what := fmt.Sprintf("%dx%d at %.3f, batch %d", c.in, c.out, s, n)
				closeTo(t, what, sd.Forward(x, false).Data, want, 1e-4)
				closeTo(t, what+" (GEMM)", gemmed.Forward(x, false).Data, want, 1e-5)
			}
		}
	}
}

func TestSparseLayerIsInferenceOnly(t *testing.T) {
	sd := sparseFromDense(prunedDense(t, 10, 4, 0.5, 1), true)
	if sd.Params() != nil {
		t.Fatal("a sparse layer exposes trainable parameters")
	}
	c := sd.cloneLayer().(*SparseDense)
	c.csr.values[0]++
	if c.csr == sd.csr || sd.csr.values[0] == c.csr.values[0] {
		t.Fatal("a clone shares its weights")
	}
	if p, nz := sd.paramCount(); p != 44 || nz != 20 {
		t.Fatalf("paramCount = %d, %d; want 44 weights and biases, 20 of them non-zero", p, nz)
	}
	defer func() {
		if msg := fmt.Sprint(recover()); !strings.Contains(msg, "inference-only") {
			t.Fatalf("Backward: recovered %q", msg)
		}
	}()
	sd.Backward(NewTensor(1, 4))
}

func TestToSparseChoosesLayoutAndKernel(t *testing.T) {
	m, err := Build("mlp:64,32,16", []int{50}, []string{"a", "b", "c"}, BuildOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Layer 0 sparse enough for the sparse kernel, layer 2 for a smaller file
	// only, layer 4 not even that; the output layer stays untouched.
	ds := denseOf(t, m)
	for i, s := range []float64{SparseKernelMin, 0.6, 0.2} {
		p, _, _ := Prune(&Model{InShape: []int{ds[i].In}, Classes: m.Classes, Layers: []Layer{ds[i]}}, PruneConfig{Sparsity: s})
		copy(ds[i].Weight.W.Data, p.Layers[0].(*Dense).Weight.W.Data)
	}
	sp := ToSparse(m)
	var kinds []string
	for _, l := range sp.Layers {
		kinds = append(kinds, l.Spec().Kind)
	}
	if want := []string{"sparse_dense", "relu", "sparse_dense", "relu", "dense", "relu", "dense"}; !slices.Equal(kinds, want) {
		t.Fatalf("layers %v, want %v", kinds, want)
	}
	var layouts []string
	for _, l := range sp.Layers {
		layouts = append(layouts, Layout(l))
	}
	if want := []string{LayoutCSR, "", LayoutCSRGEMM, "", LayoutDense, "", LayoutDense}; !slices.Equal(layouts, want) {
		t.Fatalf("layouts %q, want %q: layer 0 must run the sparse kernel and layer 2 the GEMM", layouts, want)
	}
	if !isDense(m.Layers[0]) {
		t.Fatal("ToSparse modified its input")
	}
	x := randTensor(rand.New(rand.NewPCG(1, 1)), 9, 50).Data
	closeTo(t, "predictions", sp.Predict(x).Data, slices.Clone(m.Predict(x).Data), 1e-5)
	// MACs count what the saved model computes: layer 0's stored weights,
	// every weight of the layers the GEMM computes.
	want := int64(sp.Layers[0].(*SparseDense).NNZ() + 64*32 + 32*16 + 16*3)
	if got := sp.Summarize().MACs; got != want {
		t.Fatalf("MACs %d, want %d", got, want)
	}
	if m.Summarize().MACs != 50*64+64*32+32*16+16*3 {
		t.Fatal("the dense layout's MACs must count its zeros")
	}
	// The CSR layers shrink the file, and loading picks the same kernels.
	dir := t.TempDir()
	nd, _ := SaveModel(filepath.Join(dir, "d"), m, ModelInfo{})
	ns, _ := SaveModel(filepath.Join(dir, "s"), sp, ModelInfo{})
	if ns >= nd {
		t.Fatalf("the sparse file is %d B, the dense one %d B", ns, nd)
	}
	got, _, err := LoadModel(filepath.Join(dir, "s"))
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 2} {
		if got.Layers[i].(*SparseDense).SparseKernel() != sp.Layers[i].(*SparseDense).SparseKernel() {
			t.Fatalf("layer %d changed kernel on loading", i)
		}
	}
}

func TestSparseModelFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	classes := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	base, err := Build("mlp:256,128", []int{784}, classes, BuildOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	base.Norm = &Standardizer{Mean: make([]float32, 784), Std: make([]float32, 784)}
	for i := range base.Norm.Std {
		base.Norm.Mean[i], base.Norm.Std[i] = 0.1, 0.3
	}
	size := func(name string, m *Model) int64 {
		t.Helper()
		n, err := SaveModel(filepath.Join(dir, name), m, ModelInfo{Task: "prune"})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	baseSize := size("base.safetensors", base)
	pruned, _, err := Prune(base, PruneConfig{Method: "global", Sparsity: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	denseSize := size("dense90.safetensors", pruned)
	sparse := ToSparse(pruned)
	sparseSize := size("sparse90.safetensors", sparse)
	t.Logf("file sizes: baseline %d B, 90%% sparse in the dense layout %d B, in CSR %d B (%.1fx smaller)",
		baseSize, denseSize, sparseSize, float64(baseSize)/float64(sparseSize))
	if denseSize != baseSize {
		t.Fatalf("the dense layout of a pruned model is %d B, the baseline %d B: zeros cost as much as weights", denseSize, baseSize)
	}
	if float64(baseSize)/float64(sparseSize) < 5 {
		t.Fatalf("a 90%% sparse file is only %.2fx smaller than the dense one", float64(baseSize)/float64(sparseSize))
	}
	got, _, err := LoadModel(filepath.Join(dir, "sparse90.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range got.Layers {
		if l.Spec() != sparse.Layers[i].Spec() {
			t.Fatalf("layer %d loaded as %+v, saved as %+v", i, l.Spec(), sparse.Layers[i].Spec())
		}
	}
	x := randTensor(rand.New(rand.NewPCG(2, 2)), 40, 784).Data
	if !slices.Equal(got.Predict(x).Data, sparse.Predict(x).Data) || !slices.Equal(got.Clone().Predict(x).Data, sparse.Predict(x).Data) {
		t.Fatal("the loaded sparse model, or its clone, predicts differently from the saved one")
	}
	closeTo(t, "sparse against dense", got.Predict(x).Data, slices.Clone(pruned.Predict(x).Data), 1e-4)
	// The dense layout round-trips too, zeros and all (masks are not stored).
	dense, _, err := LoadModel(filepath.Join(dir, "dense90.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dense.Predict(x).Data, pruned.Predict(x).Data) {
		t.Fatal("the loaded dense-layout pruned model predicts differently")
	}
	// Every flipped byte of a sparse file is caught.
	b, _ := os.ReadFile(filepath.Join(dir, "sparse90.safetensors"))
	for i := 0; i < len(b); i += 97 {
		c := slices.Clone(b)
		c[i] ^= 0x20
		if _, _, err := DecodeModel(c); err == nil {
			t.Fatalf("flipping byte %d of the sparse file went unnoticed", i)
		}
	}
}

func TestSparseDecodeRejectsBadCSR(t *testing.T) {
	good := sparseFromDense(prunedDense(t, 10, 3, 0.5, 1), true).encodeTensors()
	decode := func(edit func(map[string]FileTensor)) error {
		ts := map[string]FileTensor{}
		for _, ft := range good {
			ft.Data = slices.Clone(ft.Data)
			ts[ft.Name] = ft
		}
		edit(ts)
		s := &SparseDense{In: 10, Out: 3}
		return s.decodeTensors(func(name string) (FileTensor, error) {
			if ft, ok := ts[name]; ok {
				return ft, nil
			}
			return FileTensor{}, fmt.Errorf("tensor %q is missing", name)
		})
	}
	if err := decode(func(map[string]FileTensor) {}); err != nil {
		t.Fatalf("the good tensors: %v", err)
	}
	for what, edit := range map[string]func(map[string]FileTensor){
		"column out of range": func(ts map[string]FileTensor) { ts["col_idx"].Data[0] = 10 },
		"columns unordered":   func(ts map[string]FileTensor) { copy(ts["col_idx"].Data, encodeU16([]uint16{9, 0})) },
		"decreasing rows":     func(ts map[string]FileTensor) { copy(ts["row_ptr"].Data[8:], encodeI32([]int32{1})) },
		"row_ptr not from 0":  func(ts map[string]FileTensor) { copy(ts["row_ptr"].Data, encodeI32([]int32{1})) },
		"nnz mismatch":        func(ts map[string]FileTensor) { copy(ts["row_ptr"].Data[12:], encodeI32([]int32{14})) },
		"wrong dtype":         func(ts map[string]FileTensor) { v := ts["values"]; v.DType = "I32"; ts["values"] = v },
		"missing bias":        func(ts map[string]FileTensor) { delete(ts, "bias") },
	} {
		if err := decode(edit); err == nil {
			t.Errorf("%s: accepted", what)
		}
	}
}

// BenchmarkSparseForward compares a 784×256 layer's dense forward pass (GEMM)
// with its sparse kernels at several sparsities, for one sample and for a
// batch of 256: the crossover behind SparseKernelMin.
func BenchmarkSparseForward(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, batch := range []int{1, 256} {
		x := randTensor(r, batch, 784)
		for _, s := range []float64{0.5, 0.8, 0.9, 0.93, 0.95, 0.98} {
			d := prunedDense(b, 784, 256, s, 1)
			sd := sparseFromDense(d, true)
			for _, l := range []Layer{d, sd} {
				b.Run(fmt.Sprintf("batch%d/sparsity%.0f/%s", batch, 100*s, l.Spec().Kind), func(b *testing.B) {
					for b.Loop() {
						l.Forward(x, false)
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3/float64(batch), "µs/sample")
				})
			}
		}
	}
}
