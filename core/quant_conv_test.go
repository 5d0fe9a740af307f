package core

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// convCalib is n random 8x8x1 samples with 3 classes, for calibration.
func convCalib(n int) *Dataset {
	r := rand.New(rand.NewPCG(11, 11))
	d := &Dataset{Name: "img", SampleShape: []int{8, 8, 1}, Classes: []string{"a", "b", "c"}}
	for i := range n {
		for range 64 {
			d.X = append(d.X, float32(r.NormFloat64()))
		}
		d.Y = append(d.Y, i%3)
	}
	return d
}

func TestQuantizeConvModes(t *testing.T) {
	for _, spec := range []string{"cnn:8,16", "mobile:4,8,16"} {
		for _, mode := range []string{"weight-only", "ptq"} {
			t.Run(spec+"/"+mode, func(t *testing.T) {
				m := convNet(t, spec)
				before := qEncode(t, m)
				q, rep, err := Quantize(m, convCalib(64), QuantConfig{Mode: mode})
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(before, qEncode(t, m)) {
					t.Fatal("Quantize modified its input model")
				}
				modes := map[string]string{}
				for _, l := range rep.Layers {
					modes[q.Layers[l.Index].Spec().Kind] = l.Mode
					if l.WeightSQNR < 30 || l.OutputSQNR < 20 {
						t.Errorf("%s: weight SQNR %.1f dB, output %.1f dB at 8 bits", l.Name, l.WeightSQNR, l.OutputSQNR)
					}
				}
				wantDense := map[string]string{"weight-only": "wdense", "ptq": "qdense"}[mode]
				if modes["wconv"] != "weight-only" || modes[wantDense] != mode {
					t.Errorf("layer modes %v", modes)
				}
				for _, l := range q.Layers {
					if _, ok := l.(*BatchNorm); ok {
						t.Error("a BatchNorm was left in the quantized model: fold first")
					}
				}
				// Round trip: identical predictions after save and load.
				x := randTensor(rand.New(rand.NewPCG(1, 1)), 4, 64)
				want := slices.Clone(q.Predict(x.Data).Data)
				path := filepath.Join(t.TempDir(), "q.safetensors")
				if _, err := SaveModel(path, q, ModelInfo{}); err != nil {
					t.Fatal(err)
				}
				l, _, err := LoadModel(path)
				if err != nil {
					t.Fatal(err)
				}
				if got := l.Predict(x.Data).Data; !slices.Equal(got, want) {
					t.Fatalf("loaded predictions %v, want %v", got[:3], want[:3])
				}
				if got := q.Clone().Predict(x.Data).Data; !slices.Equal(got, want) {
					t.Fatal("a clone predicts differently")
				}
				if _, _, err := Quantize(l, convCalib(8), QuantConfig{Mode: mode}); err == nil {
					t.Error("a quantized conv model was quantized again")
				}
				if _, _, err := Prune(l, PruneConfig{Method: "structured"}); err == nil {
					t.Error("a quantized conv model was pruned")
				}
				// Close to the float model.
				assertClose(t, "quantized logits", want, m.Predict(x.Data).Data, 0.1)
			})
		}
	}
}

// The conv weights of a file shrink to a quarter at 8 bits (plus a scale and
// zero point per filter), and further packed below.
func TestQuantizeConvFileSize(t *testing.T) {
	m := FoldBatchNorm(convNet(t, "cnn:16,32"))
	var floatBytes, filters int
	for _, c := range convsOf(m) {
		floatBytes += 4 * len(c.Weight.W.Data)
		filters += c.Out
	}
	for _, bits := range []int{8, 4} {
		q, _, err := Quantize(m, convCalib(16), QuantConfig{Mode: "weight-only", Bits: bits})
		if err != nil {
			t.Fatal(err)
		}
		var codeBytes int
		for i, l := range q.Layers {
			if _, ok := l.(*WConv); ok {
				for _, ts := range layerTensors(i, l) {
					if !strings.HasSuffix(ts.Name, ".bias") {
						codeBytes += len(ts.Data)
					}
				}
			}
		}
		want := floatBytes*bits/32 + 5*filters     // codes, F32 scale and I8 zero per filter
		if codeBytes > want+len(convsOf(m))*bits { // packed rows round up to a byte
			t.Errorf("%d bits: conv weights take %d bytes in the file, want about %d (float: %d)", bits, codeBytes, want, floatBytes)
		}
		if f, qf := len(qEncode(t, m)), len(qEncode(t, q)); bits == 8 && float64(qf) > 0.4*float64(f) {
			t.Errorf("8-bit file %d bytes, float %d", qf, f)
		}
	}
}

func TestConvPerChannelNeverWorseThanPerTensor(t *testing.T) {
	for _, spec := range []string{"cnn:8,16", "mobile:4,8,16"} {
		m := convNet(t, spec)
		sqnr := map[string][]float64{}
		for _, g := range QuantGranularities {
			for _, bits := range []int{8, 4, 3} {
				_, rep, err := Quantize(m, convCalib(16), QuantConfig{Mode: "weight-only", Granularity: g, Bits: bits})
				if err != nil {
					t.Fatal(err)
				}
				for _, l := range rep.Layers {
					if !strings.HasSuffix(l.Name, "conv") {
						continue
					}
					sqnr[g] = append(sqnr[g], l.WeightSQNR)
				}
			}
		}
		for i, pc := range sqnr["per-channel"] {
			if pt := sqnr["per-tensor"][i]; pc < pt {
				t.Errorf("%s grid %d: per-channel %.2f dB < per-tensor %.2f dB", spec, i, pc, pt)
			}
		}
	}
}
