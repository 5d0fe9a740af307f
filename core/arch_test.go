package core

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseArch(t *testing.T) {
	cases := []struct {
		spec   string
		family string
		sizes  []int
		head   string
	}{
		{"linear", "mlp", nil, ""},
		{"mlp:256,128", "mlp", []int{256, 128}, ""},
		{"cnn:16,32", "cnn", []int{16, 32}, "flat"},
		{"cnn: 8 , 4 ", "cnn", []int{8, 4}, "flat"},
		{"cnn:8,4/gap", "cnn", []int{8, 4}, "gap"},
		{"mobile:16,32,64@0.5", "mobile", []int{8, 16, 32}, "gap"},
		{"mobile:16,32,64@0.5/flat", "mobile", []int{8, 16, 32}, "flat"},
		{"mobile:16,32@2", "mobile", []int{32, 64}, "gap"},
		{"cnn:3,5@0.1", "cnn", []int{1, 1}, "flat"}, // never below one channel
		{"cnn:5@0.5", "cnn", []int{3}, "flat"},      // rounded half away from zero
	}
	for _, c := range cases {
		a, err := parseArch(c.spec)
		if err != nil || a.family != c.family || !slices.Equal(a.sizes, c.sizes) || a.head != c.head {
			t.Errorf("parseArch(%q) = %+v, %v; want %s %v head %q", c.spec, a, err, c.family, c.sizes, c.head)
		}
		if err := ValidateSpec(c.spec); err != nil {
			t.Errorf("ValidateSpec(%q) = %v", c.spec, err)
		}
	}
	for _, spec := range []string{"", "cnn", "cnn:", "mobile:@0.5", "cnn:16,", "cnn:16,x", "cnn:0", "cnn:5000",
		"cnn:16@0", "cnn:16@-1", "cnn:16@abc", "cnn:16@NaN", "cnn:16@100", "cnn:16@0.5@2", "mobile",
		"resnet:18", "mlp:0", "mlp:12,a", "mlp:8@0.5", "mlp:8/gap", "cnn16", "cnn:16/", "cnn:16/avg",
		"mobile:8/flat@0.5", "mobile:8@0.5/gap/flat"} {
		if err := ValidateSpec(spec); err == nil {
			t.Errorf("ValidateSpec(%q) accepted a bad spec", spec)
		} else if !strings.Contains(err.Error(), spec) && spec != "" {
			t.Errorf("ValidateSpec(%q): error %q does not quote the spec", spec, err)
		}
	}
}

func TestBuildCNN(t *testing.T) {
	classes := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	m, err := Build("cnn:16,32", []int{28, 28, 1}, classes, BuildOptions{Seed: 1, Dropout: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, l := range m.Layers {
		kinds = append(kinds, l.Spec().Kind)
	}
	want := []string{"conv", "batchnorm", "relu", "maxpool", "conv", "batchnorm", "relu", "maxpool", "flatten", "dropout", "dense"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("layers %v, want %v", kinds, want)
	}
	s := m.Summarize()
	shapes := [][]int{{28, 28, 16}, {28, 28, 16}, {28, 28, 16}, {14, 14, 16}, {14, 14, 32}, {14, 14, 32}, {14, 14, 32},
		{7, 7, 32}, {1568}, {1568}, {10}}
	macs := []int64{28 * 28 * 16 * 9, 28 * 28 * 16, 0, 0, 14 * 14 * 32 * 9 * 16, 14 * 14 * 32, 0, 0, 0, 0, 1568 * 10}
	params := []int{9 * 16, 2 * 16, 0, 0, 9 * 16 * 32, 2 * 32, 0, 0, 0, 0, 1568*10 + 10}
	for i, ls := range s.Layers {
		if !slices.Equal(ls.OutShape, shapes[i]) || ls.MACs != macs[i] || ls.Params != params[i] {
			t.Errorf("layer %s: shape %v, %d MACs, %d params; want %v, %d, %d", ls.Name, ls.OutShape, ls.MACs, ls.Params,
				shapes[i], macs[i], params[i])
		}
	}
	x := randTensor(rand.New(rand.NewPCG(1, 1)), 3, 784)
	if y := m.Forward(x, false); !slices.Equal(y.Shape, []int{3, 10}) {
		t.Fatalf("logits of shape %v", y.Shape)
	}
}

func TestBuildMobile(t *testing.T) {
	classes := []string{"a", "b", "c"}
	m, err := Build("mobile:16,32,64@0.5", []int{28, 28, 1}, classes, BuildOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, l := range m.Layers {
		kinds = append(kinds, l.Spec().Kind)
	}
	block := []string{"dwconv", "batchnorm", "relu", "conv", "batchnorm", "relu"}
	want := slices.Concat([]string{"conv", "batchnorm", "relu"}, block, block, []string{"gap", "dense"})
	if !slices.Equal(kinds, want) {
		t.Fatalf("layers %v, want %v", kinds, want)
	}
	// A small image keeps its resolution in the stem; widening blocks halve it.
	if stem := m.Layers[0].(*Conv2D); stem.Stride != 1 || stem.Out != 8 || stem.Bias != nil {
		t.Errorf("stem %+v", stem.Spec())
	}
	if dw := m.Layers[3].(*DepthwiseConv2D); dw.Stride != 2 || dw.C != 8 || dw.H != 28 {
		t.Errorf("first block's depthwise conv %+v", dw.Spec())
	}
	if pw := m.Layers[6].(*Conv2D); pw.K != 1 || pw.H != 14 || pw.Out != 16 || pw.Bias != nil {
		t.Errorf("first pointwise: %+v", pw.Spec())
	}
	s := m.Summarize()
	if got := s.Layers[len(m.Layers)-2].OutShape; !slices.Equal(got, []int{32}) {
		t.Errorf("global pool output %v", got)
	}
	wantMACs := int64(28*28*8*9 + 14*14*8*9 + 14*14*8*16 + 7*7*16*9 + 7*7*16*32 + 32*3)
	if folded := FoldBatchNorm(m).Summarize().MACs; folded != wantMACs {
		t.Errorf("folded MACs %d, want %d", folded, wantMACs)
	}

	sides := func(spec string, in int) []int {
		t.Helper()
		m, err := Build(spec, []int{in, in, 1}, classes, BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []int
		for _, l := range m.Layers {
			if _, ok := l.(*BatchNorm); ok {
				out = append(out, l.OutShape(nil)[0])
			}
		}
		return out
	}
	for _, c := range []struct {
		spec string
		in   int
		want []int // map side after each convolution
	}{
		{"mobile:8,8,16", 28, []int{28, 28, 28, 14, 14}},             // a repeated width keeps the resolution
		{"mobile:8,4,16", 16, []int{16, 16, 16, 8, 8}},               // so does a narrowing one
		{"mobile:4,8,16,32,64", 8, []int{8, 4, 4, 2, 2, 2, 2, 2, 2}}, // no halving below 4x4
		{"mobile:8,16", 64, []int{32, 16, 16}},                       // large images: stride-2 stem
	} {
		if got := sides(c.spec, c.in); !slices.Equal(got, c.want) {
			t.Errorf("%s on %dx%d: map sides %v, want %v", c.spec, c.in, c.in, got, c.want)
		}
	}
	// The head suffix swaps the global pool for a flatten.
	flat, _ := Build("mobile:16,32,64@0.5/flat", []int{28, 28, 1}, classes, BuildOptions{})
	if d := flat.Layers[len(flat.Layers)-1].(*Dense); d.In != 7*7*32 {
		t.Errorf("flat head's dense layer takes %d inputs", d.In)
	}
	if _, ok := flat.Layers[len(flat.Layers)-2].(*Flatten); !ok {
		t.Error("no flatten before the flat head's dense layer")
	}
}

func TestBuildRejectsBadImageSpecs(t *testing.T) {
	classes := []string{"a", "b"}
	for _, c := range []struct {
		spec  string
		shape []int
		msg   string
	}{
		{"cnn:8", []int{2}, "image data"},
		{"mobile:8,8", []int{16}, "image data"},
		{"cnn:4,4,4,4,4", []int{16, 16, 1}, "fewer blocks"},
	} {
		if _, err := Build(c.spec, c.shape, classes, BuildOptions{}); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("Build(%q, %v) = %v; want an error about %s", c.spec, c.shape, err, c.msg)
		}
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	a, _ := Build("mobile:4,8", []int{8, 8, 3}, []string{"a", "b"}, BuildOptions{Seed: 7})
	b, _ := Build("mobile:4,8", []int{8, 8, 3}, []string{"a", "b"}, BuildOptions{Seed: 7})
	c, _ := Build("mobile:4,8", []int{8, 8, 3}, []string{"a", "b"}, BuildOptions{Seed: 8})
	for i, p := range a.Params() {
		if !slices.Equal(p.W.Data, b.Params()[i].W.Data) {
			t.Fatalf("parameter %d differs between builds with the same seed", i)
		}
	}
	if slices.Equal(a.Params()[0].W.Data, c.Params()[0].W.Data) {
		t.Fatal("different seeds gave the same weights")
	}
}

// bars is a two-class image set: a bright horizontal or vertical bar at a
// random place on noise. No single pixel tells the classes apart.
func bars(n int, seed uint64) *Dataset {
	r := rand.New(rand.NewPCG(seed, 3))
	const side = 10
	d := &Dataset{Name: "bars", SampleShape: []int{side, side, 1}, Classes: []string{"horizontal", "vertical"}}
	for i := range n {
		img := make([]float32, side*side)
		for j := range img {
			img[j] = float32(r.NormFloat64() * 0.3)
		}
		at, from := r.IntN(side), r.IntN(side-5)
		for k := from; k < from+5; k++ {
			if i%2 == 0 {
				img[at*side+k] += 1
			} else {
				img[k*side+at] += 1
			}
		}
		d.X = append(d.X, img...)
		d.Y = append(d.Y, i%2)
	}
	return d
}

func TestConvNetsLearn(t *testing.T) {
	train, test := bars(400, 1), bars(200, 2)
	for _, spec := range []string{"cnn:4,8", "mobile:4,8"} {
		t.Run(spec, func(t *testing.T) {
			m, err := Build(spec, train.SampleShape, train.Classes, BuildOptions{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			m.Norm = FitStandardizer(train)
			if _, err := Train(context.Background(), m, train, nil, TrainConfig{Epochs: 8, BatchSize: 16,
				Optimizer: OptimizerConfig{LR: 0.01}, Seed: 1}, nil); err != nil {
				t.Fatal(err)
			}
			acc := Evaluate(m, test).Accuracy
			if acc < 0.95 {
				t.Fatalf("test accuracy %.3f, want ≥ 0.95", acc)
			}
			if folded := Evaluate(FoldBatchNorm(m), test).Accuracy; folded != acc {
				t.Fatalf("accuracy %.4f after folding, %.4f before", folded, acc)
			}
		})
	}
}

func TestConvModelFileRoundTrip(t *testing.T) {
	train := bars(64, 1)
	for _, fold := range []bool{false, true} {
		for _, spec := range []string{"cnn:3,4", "mobile:3,5@1.5"} {
			r := rand.New(rand.NewPCG(4, 4))
			m, err := Build(spec, train.SampleShape, train.Classes, BuildOptions{Seed: 2})
			if err != nil {
				t.Fatal(err)
			}
			m.Norm = FitStandardizer(train)
			trainSteps(m, r, 10)
			if fold {
				m = FoldBatchNorm(m)
			}
			path := filepath.Join(t.TempDir(), "m.safetensors")
			if _, err := SaveModel(path, m, ModelInfo{Task: "train"}); err != nil {
				t.Fatal(err)
			}
			got, _, err := LoadModel(path)
			if err != nil {
				t.Fatalf("%s (folded %v): %v", spec, fold, err)
			}
			if len(got.Layers) != len(m.Layers) {
				t.Fatalf("%s: %d layers loaded, %d saved", spec, len(got.Layers), len(m.Layers))
			}
			for i, l := range got.Layers {
				if l.Spec() != m.Layers[i].Spec() {
					t.Errorf("%s: layer %d loaded as %+v, saved as %+v", spec, i, l.Spec(), m.Layers[i].Spec())
				}
			}
			if !slices.Equal(got.Predict(train.X).Data, m.Predict(train.X).Data) {
				t.Fatalf("%s (folded %v): the loaded model predicts differently", spec, fold)
			}
		}
	}
	// A damaged running statistic is refused, not silently loaded.
	m, _ := Build("cnn:2", train.SampleShape, train.Classes, BuildOptions{})
	m.Layers[1].(*BatchNorm).Var[0] = -1
	b, err := EncodeModel(m, ModelInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := DecodeModel(b); err == nil || !strings.Contains(err.Error(), "variance") {
		t.Fatalf("a negative running variance loaded: %v", err)
	}
}

func TestLayerTimes(t *testing.T) {
	m, _ := Build("mobile:4,8", []int{8, 8, 1}, []string{"a", "b"}, BuildOptions{})
	times := LayerTimes(m, make([]float32, 64), 20)
	if len(times) != len(m.Layers) {
		t.Fatalf("%d times for %d layers", len(times), len(m.Layers))
	}
	for i, us := range times {
		if us < 0 || us > 1e5 {
			t.Errorf("layer %d: %g µs", i, us)
		}
	}
}

// BenchmarkConvTrainStep times one mini-batch of 64 MNIST-shaped samples
// (forward, backward, Adam update) for the CNN and MobileNet-style specs.
func BenchmarkConvTrainStep(b *testing.B) {
	classes := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	for _, spec := range []string{"cnn:16,32", "mobile:16,32,64@0.5", "mobile:16,32,64"} {
		b.Run(spec, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			m, _ := Build(spec, []int{28, 28, 1}, classes, BuildOptions{})
			x := randTensor(r, 64, 784)
			labels := make([]int, 64)
			for i := range labels {
				labels[i] = r.IntN(10)
			}
			opt, _ := NewOptimizer(OptimizerConfig{})
			params := m.Params()
			dl := NewTensor(64, 10)
			b.ReportAllocs()
			for b.Loop() {
				m.ZeroGrad()
				SoftmaxCrossEntropy(m.Forward(x, true), labels, dl)
				m.Backward(dl)
				opt.Step(params, 0.001)
			}
			b.ReportMetric(64*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
