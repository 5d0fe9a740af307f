package core

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// blobs16 is a 4-class set of 16-feature Gaussian blobs with overlapping
// classes, so that accuracy is below 100% and quantization can cost some.
func blobs16(n int, seed uint64) *Dataset {
	r := rand.New(rand.NewPCG(seed, 16))
	centres := rand.New(rand.NewPCG(99, 16)) // the same classes for every seed
	mu := make([][]float64, 4)
	for c := range mu {
		for range 16 {
			mu[c] = append(mu[c], centres.NormFloat64()*1.2)
		}
	}
	d := &Dataset{Name: "blobs16", SampleShape: []int{16}, Classes: []string{"a", "b", "c", "d"}}
	for i := range n {
		c := i % 4
		for j := range 16 {
			d.X = append(d.X, float32(mu[c][j]+r.NormFloat64()*1.5))
		}
		d.Y = append(d.Y, c)
	}
	return d
}

// qTrained returns an mlp:64,32 trained on blobs16, and its training set.
func qTrained(t testing.TB) (*Model, *Dataset) {
	t.Helper()
	train := blobs16(1200, 1)
	m, err := Build("mlp:64,32", []int{16}, train.Classes, BuildOptions{Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	m.Norm = FitStandardizer(train)
	if _, err := Train(context.Background(), m, train, nil, TrainConfig{Epochs: 15, Seed: 2,
		Optimizer: OptimizerConfig{LR: 0.003}}, nil); err != nil {
		t.Fatal(err)
	}
	return m, train
}

func FuzzQuantizeRoundTrip(f *testing.F) {
	f.Add(0.0, 1.0, -1.0, uint8(8), true)
	f.Add(1e-30, -3.5, 1e6, uint8(4), false)
	f.Add(0.1, 0.2, 0.3, uint8(2), true) // all positive: the grid still holds zero
	f.Add(-2e38, 3e38, 1.0, uint8(3), false)
	f.Add(1e-44, -1e-45, 0.0, uint8(5), true) // denormal float32s
	f.Fuzz(func(t *testing.T, a, b, c float64, bits uint8, symmetric bool) {
		v := []float32{float32(a), float32(b), float32(c)}
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Skip()
			}
		}
		nb := 2 + int(bits%7)
		for _, restricted := range []bool{false, true} {
			g := quantizer{bits: nb, symmetric: symmetric, restricted: restricted && symmetric, clip: "minmax"}.
				grid(quantizer{symmetric: symmetric, clip: "minmax"}.clipRange(v))
			if g.value(g.code(0)) != 0 {
				t.Fatalf("%+v: zero is not exact", g)
			}
			codes, idx, xv := make([]int8, len(v)), make([]int32, len(v)), make([]int32, len(v))
			n, sum := g.codesGather(codes, idx, xv, v, g.zero)
			var wantN int
			var wantSum int64
			for i, x := range v {
				q := g.code(x)
				if int32(codes[i]) != q {
					t.Fatalf("%+v: codesGather gives %d for %g, code gives %d", g, codes[i], x, q)
				}
				if q != g.zero {
					if idx[wantN] != int32(i) || xv[wantN] != q-g.zero {
						t.Fatalf("%+v: gathered %d: %d, %d; want %d, %d", g, wantN, idx[wantN], xv[wantN], i, q-g.zero)
					}
					wantN++
				}
				wantSum += int64(q - g.zero)
				if q < g.lo || q > g.hi {
					t.Fatalf("%+v: code %d of %g out of range", g, q, x)
				}
				exact := float64(g.scale) * float64(q-g.zero)
				if err := math.Abs(float64(x) - exact); err > float64(g.scale)/2*(1+1e-9) {
					t.Fatalf("%d bits %+v: %g → %d → %g, error %g > half a step %g", nb, g, x, q, exact, err, g.scale/2)
				}
				if g.value(q) != float32(exact) {
					t.Fatalf("value(%d) = %g, want float32(%g)", q, g.value(q), exact)
				}
			}
			if n != wantN || sum != wantSum {
				t.Fatalf("%+v: gathered %d inputs summing to %d, want %d and %d", g, n, sum, wantN, wantSum)
			}
		}
	})
}

func FuzzPackCodes(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 255, 128, 127}, uint8(3), uint8(2))
	f.Add([]byte{0x80, 0x7f}, uint8(1), uint8(6))
	f.Fuzz(func(t *testing.T, raw []byte, rows, bits uint8) {
		nb, nr := 2+int(bits%6), 1+int(rows%4) // 2 to 7 bits: 8 is stored unpacked
		cols := len(raw) / nr
		lo, hi := codeRange(nb, false)
		codes := make([]int8, nr*cols)
		for i := range codes {
			codes[i] = int8(lo + int32(raw[i])%(hi-lo+1))
		}
		packed := packCodes(codes, nr, cols, nb)
		if len(packed) != nr*((cols*nb+7)/8) {
			t.Fatalf("%d×%d codes of %d bits packed into %d bytes", nr, cols, nb, len(packed))
		}
		if got := unpackCodes(packed, nr, cols, nb); !slices.Equal(got, codes) {
			t.Fatalf("%d bits: %v became %v", nb, codes, got)
		}
	})
}

func TestPackCodesLayout(t *testing.T) {
	// 4 bits: two per byte, low nibble first, stored as code+8.
	if got := packCodes([]int8{-8, 7, 0, -1}, 1, 4, 4); !bytes.Equal(got, []byte{0xf0, 0x78}) {
		t.Fatalf("4-bit packing = % x, want f0 78", got)
	}
	// 2 bits: four per byte; 3 bits: a bitstream (8 codes in 3 bytes).
	if got := packCodes([]int8{-2, -1, 0, 1}, 1, 4, 2); !bytes.Equal(got, []byte{0b11100100}) {
		t.Fatalf("2-bit packing = %08b", got)
	}
	if got := len(packCodes(make([]int8, 8), 1, 8, 3)); got != 3 {
		t.Fatalf("8 3-bit codes take %d bytes, want 3", got)
	}
}

// qRandMatrix returns a matrix with rows of very different scales and some
// heavy-tailed rows, the case per-channel grids exist for.
func qRandMatrix(r *rand.Rand, rows, cols int) []float32 {
	w := make([]float32, rows*cols)
	for j := range rows {
		scale := math.Exp(r.NormFloat64())
		heavy := r.IntN(4) == 0
		for k := range cols {
			v := r.NormFloat64() * scale
			if heavy {
				v = math.Pow(math.Abs(v), 1.5) * math.Copysign(1, v)
			}
			w[j*cols+k] = float32(v)
		}
	}
	return w
}

func qWeightErr(w []float32, rows, cols int, q quantizer, perChannel bool) float64 {
	grids := newRangeRule(w, rows, cols, q, perChannel).grids(w, rows, cols)
	qw := quantizeWeights(w, rows, cols, q.bits, grids)
	var e float64
	for i, v := range qw.dequantize() {
		d := float64(v) - float64(w[i])
		e += d * d
	}
	return e
}

func TestPerChannelNeverWorseThanPerTensor(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	strictly := 0
	for trial := range 60 {
		rows, cols := 1+r.IntN(12), 1+r.IntN(40)
		w := qRandMatrix(r, rows, cols)
		if trial%5 == 0 { // equal rows: per-channel has nothing to gain
			for j := 1; j < rows; j++ {
				copy(w[j*cols:(j+1)*cols], w[:cols])
			}
		}
		for _, clip := range QuantClips {
			for _, sym := range []bool{true, false} {
				for _, bits := range []int{2, 3, 4, 8} {
					q := quantizer{bits: bits, symmetric: sym, restricted: sym, clip: clip, percentile: 99}
					pc, pt := qWeightErr(w, rows, cols, q, true), qWeightErr(w, rows, cols, q, false)
					if pc > pt {
						t.Fatalf("trial %d %dx%d %s sym=%v %d bits: per-channel error %g > per-tensor %g",
							trial, rows, cols, clip, sym, bits, pc, pt)
					}
					if pc < pt {
						strictly++
					}
				}
			}
		}
	}
	if strictly == 0 {
		t.Fatal("per-channel never beat per-tensor: the comparison is vacuous")
	}
}

func TestClipMethods(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	v := make([]float32, 5000)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	v[17] = 40 // one outlier
	mm := quantizer{bits: 4, symmetric: true, restricted: true, clip: "minmax"}
	pc, mse := mm, mm
	pc.clip, pc.percentile = "percentile", 99.9
	mse.clip = "mse"
	_, hiMM := mm.clipRange(v)
	_, hiPC := pc.clipRange(v)
	_, hiMSE := mse.clipRange(v)
	if hiMM != 40 || hiPC > 4 || hiPC < 2.5 {
		t.Fatalf("minmax range %g (want 40), 99.9th percentile of |v| %g (want about 3.3)", hiMM, hiPC)
	}
	eMM, eMSE := mm.grid(-hiMM, hiMM).sqErr(v), mse.grid(-hiMSE, hiMSE).sqErr(v)
	if eMSE >= eMM/2 {
		t.Fatalf("mse clipping to %g: error %g, not well below minmax's %g", hiMSE, eMSE, eMM)
	}
	// Asymmetric percentile clips each end on its own.
	apc := pc
	apc.symmetric, apc.restricted = false, false
	lo, hi := apc.clipRange(v)
	if lo > -2.5 || lo < -4 || hi > 4 {
		t.Fatalf("asymmetric percentile range [%g, %g]", lo, hi)
	}
}

func TestQuantConfigValidation(t *testing.T) {
	m, train := qTrained(t)
	for _, c := range []QuantConfig{
		{Bits: 1}, {Bits: 9}, {ActBits: 1}, {Mode: "fp16"}, {Granularity: "per-row"},
		{Clip: "kl"}, {WeightScheme: "sym"}, {Percentile: 50}, {Percentile: 100.5}, {Calib: -1},
		{Mode: "qat"},
	} {
		if _, _, err := Quantize(m, train, c); err == nil {
			t.Errorf("%+v was accepted", c)
		}
	}
	if _, _, err := Quantize(m, &Dataset{SampleShape: []int{16}}, QuantConfig{}); err == nil {
		t.Error("an empty calibration set was accepted")
	}
	q, _, err := Quantize(m, train, QuantConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Quantize(q, train, QuantConfig{}); err == nil || !strings.Contains(err.Error(), "qdense") {
		t.Errorf("quantizing a quantized model: %v", err)
	}
}

func TestQuantizeKeepsAccuracyAndInput(t *testing.T) {
	m, train := qTrained(t)
	test := blobs16(800, 7)
	before := qEncode(t, m)
	float := Evaluate(m, test).Accuracy
	for _, cfg := range []QuantConfig{
		{}, {Granularity: "per-tensor"}, {WeightScheme: "asymmetric", ActScheme: "symmetric"},
		{Clip: "percentile"}, {Clip: "mse"}, {Mode: "weight-only", Bits: 4, Clip: "mse"},
	} {
		q, rep, err := Quantize(m, train, cfg)
		if err != nil {
			t.Fatal(err)
		}
		acc := Evaluate(q, test).Accuracy
		if acc < float-0.02 {
			t.Errorf("%+v: accuracy %.3f, float %.3f", cfg, acc, float)
		}
		if len(rep.Layers) != 3 || rep.CalibSamples != 1024 {
			t.Fatalf("report has %d layers, %d calibration samples", len(rep.Layers), rep.CalibSamples)
		}
		for _, l := range rep.Layers {
			if l.WeightSQNR < 10 || l.OutputSQNR < 10 || l.Step <= 0 || l.ClipMax <= l.ClipMin ||
				l.ScaleMin > l.ScaleMax || len(l.Hist.Counts) != HistBins {
				t.Errorf("%+v: layer report %+v", cfg, l)
			}
			if cfg.Mode == "" && (l.InputScale <= 0 || l.InputClipMax <= l.InputClipMin) {
				t.Errorf("ptq layer %s has no input grid: %+v", l.Name, l)
			}
		}
	}
	if !bytes.Equal(before, qEncode(t, m)) {
		t.Fatal("Quantize modified its input model")
	}
}

// qEncode returns m's model file bytes.
func qEncode(t testing.TB, m *Model) []byte {
	t.Helper()
	b, err := EncodeModel(m, ModelInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSQNRFallsWithBits(t *testing.T) {
	m, train := qTrained(t)
	last := math.Inf(1)
	for _, bits := range []int{8, 6, 4, 3, 2} {
		_, rep, err := Quantize(m, train, QuantConfig{Bits: bits, Mode: "weight-only"})
		if err != nil {
			t.Fatal(err)
		}
		s := rep.Layers[0].WeightSQNR
		// Each bit removed costs about 6 dB (the step doubles).
		if s >= last || (bits == 8 && s < 35) {
			t.Fatalf("%d bits: weight SQNR %.1f dB after %.1f", bits, s, last)
		}
		last = s
	}
	if got := sqnrDB([]float32{3, 4}, []float32{3, 4}); !math.IsInf(got, 1) {
		t.Fatalf("SQNR of an exact copy = %g", got)
	}
	if got := sqnrDB([]float32{1, 0}, []float32{1.1, 0}); math.Abs(got-20) > 1e-5 {
		t.Fatalf("SQNR with 10%% error = %g dB, want 20", got)
	}
}

func TestQuantizedFileRoundTrip(t *testing.T) {
	m, train := qTrained(t)
	dir := t.TempDir()
	x := blobs16(100, 9).X
	for _, cfg := range []QuantConfig{
		{}, {Bits: 4}, {Bits: 3, Granularity: "per-tensor", WeightScheme: "asymmetric", ActBits: 6},
		{Bits: 2, Clip: "mse"}, {Mode: "weight-only", Bits: 3}, {Mode: "weight-only", Bits: 8, WeightScheme: "asymmetric"},
	} {
		q, _, err := Quantize(m, train, cfg)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "q.safetensors")
		if _, err := SaveModel(path, q, ModelInfo{Task: "quantize"}); err != nil {
			t.Fatal(err)
		}
		got, _, err := LoadModel(path)
		if err != nil {
			t.Fatalf("%+v: %v", cfg, err)
		}
		if !slices.Equal(got.Predict(x).Data, q.Predict(x).Data) {
			t.Fatalf("%+v: the loaded model predicts differently", cfg)
		}
		if !slices.Equal(q.Clone().Predict(x).Data, q.Predict(x).Data) {
			t.Fatalf("%+v: a clone predicts differently", cfg)
		}
		if s, f := got.Summarize(), m.Summarize(); s.Params != f.Params || s.MACs != f.MACs || s.NonzeroParams > s.Params {
			t.Fatalf("%+v: summary %+v, float %+v", cfg, s, f)
		}
	}
}

func TestQuantizedFileSizes(t *testing.T) {
	classes := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	m, err := Build("mlp:256,128", []int{784}, classes, BuildOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	calib := &Dataset{SampleShape: []int{784}, Classes: classes, X: randTensor(rand.New(rand.NewPCG(1, 1)), 64, 784).Data, Y: make([]int, 64)}
	size := func(cfg QuantConfig) int {
		q, _, err := Quantize(m, calib, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return len(qEncode(t, q))
	}
	float := len(qEncode(t, m))
	s8, s4, s3, s2 := size(QuantConfig{}), size(QuantConfig{Bits: 4}), size(QuantConfig{Bits: 3}), size(QuantConfig{Bits: 2})
	w8 := size(QuantConfig{Mode: "weight-only", Bits: 8})
	t.Logf("float %d B, int8 %d (%.2fx), 4-bit %d, 3-bit %d, 2-bit %d", float, s8, float64(float)/float64(s8), s4, s3, s2)
	const weights = 784*256 + 256*128 + 128*10
	if float64(float)/float64(s8) < 3.8 || s8 < weights || w8 >= s8 {
		t.Errorf("int8 file %d B is not about a quarter of the float file %d B (weight-only %d)", s8, float, w8)
	}
	// Each bit fewer saves weights/8 bytes, give or take the padding of rows.
	for _, c := range []struct{ size, bits int }{{s4, 4}, {s3, 3}, {s2, 2}} {
		if saved := s8 - c.size; math.Abs(float64(saved)-float64(weights*(8-c.bits))/8) > 400 {
			t.Errorf("%d-bit file saves %d bytes over int8, want about %d", c.bits, saved, weights*(8-c.bits)/8)
		}
	}
}

func TestQuantizeIsDeterministic(t *testing.T) {
	m, train := qTrained(t)
	for _, cfg := range []QuantConfig{{Calib: 200, Clip: "mse"}, {Calib: 300, Seed: 4, Clip: "percentile", Bits: 4}} {
		a, _, _ := Quantize(m, train, cfg)
		b, _, _ := Quantize(m, train, cfg)
		if !bytes.Equal(qEncode(t, a), qEncode(t, b)) {
			t.Fatalf("%+v: two runs differ", cfg)
		}
	}
	a, _, _ := Quantize(m, train, QuantConfig{Calib: 50, Seed: 1})
	b, _, _ := Quantize(m, train, QuantConfig{Calib: 50, Seed: 2})
	if bytes.Equal(qEncode(t, a), qEncode(t, b)) {
		t.Fatal("different calibration seeds gave the same model")
	}
}

func TestQuantizedDecodeRejectsBadTensors(t *testing.T) {
	good := map[string]FileTensor{
		"weight":       {Name: "weight", DType: "U8", Shape: []int{2, 2}, Data: []byte{0x12, 0x34, 0x56, 0x78}},
		"weight_scale": {Name: "weight_scale", DType: "F32", Shape: []int{2}, Data: EncodeF32([]float32{0.5, 1})},
		"weight_zero":  {Name: "weight_zero", DType: "I8", Shape: []int{2}, Data: []byte{0, 0}},
	}
	get := func(over map[string]FileTensor) func(string) (FileTensor, error) {
		return func(name string) (FileTensor, error) {
			if t, ok := over[name]; ok {
				return t, nil
			}
			if t, ok := good[name]; ok {
				return t, nil
			}
			return FileTensor{}, fmt.Errorf("corrupted: tensor %q is missing", name)
		}
	}
	if _, err := decodeWeights(get(nil), 2, 4, 4); err != nil {
		t.Fatal(err)
	}
	for what, over := range map[string]map[string]FileTensor{
		"dtype":      {"weight": {Name: "weight", DType: "I8", Shape: []int{2, 2}, Data: make([]byte, 4)}},
		"shape":      {"weight": {Name: "weight", DType: "U8", Shape: []int{2, 3}, Data: make([]byte, 6)}},
		"zero scale": {"weight_scale": {Name: "weight_scale", DType: "F32", Shape: []int{2}, Data: EncodeF32([]float32{0, 1})}},
		"nan scale":  {"weight_scale": {Name: "weight_scale", DType: "F32", Shape: []int{2}, Data: EncodeF32([]float32{float32(math.NaN()), 1})}},
		"zero point": {"weight_zero": {Name: "weight_zero", DType: "I8", Shape: []int{2}, Data: []byte{8, 0}}},
		"scales":     {"weight_scale": {Name: "weight_scale", DType: "F32", Shape: []int{3}, Data: make([]byte, 12)}},
	} {
		if _, err := decodeWeights(get(over), 2, 4, 4); err == nil {
			t.Errorf("bad %s accepted", what)
		}
	}
	if _, err := decodeWeights(get(map[string]FileTensor{"weight": {Name: "weight", DType: "I8", Shape: []int{2, 4}, Data: []byte{0x80, 0, 0, 0, 0, 0, 0, 0}}}), 2, 4, 8); err != nil {
		t.Errorf("an 8-bit code of -128 was refused: %v", err)
	}
}
