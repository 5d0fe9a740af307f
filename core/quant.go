package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// Quantization settings accepted by QuantConfig.
var (
	QuantModes         = []string{"ptq", "weight-only", "qat"}
	QuantGranularities = []string{"per-channel", "per-tensor"}
	QuantSchemes       = []string{"symmetric", "asymmetric"}
	QuantClips         = []string{"minmax", "percentile", "mse"}
)

// QuantConfig configures Quantize and QAT. Zero fields take the defaults listed.
type QuantConfig struct {
	// Mode is "ptq" (default: post-training quantization of weights and input
	// activations, run by the integer kernel), "weight-only" (weights only;
	// activations and arithmetic stay float32) or "qat" (quantization-aware
	// training; QAT only).
	Mode string
	Bits int // weight bits, 2 to 8; default 8
	// ActBits is the input activation bits of ptq and qat, 2 to 8; default 8.
	// The kernel multiplies 8-bit codes, so fewer bits only coarsen the grid.
	ActBits int
	// Granularity is "per-channel" (default: one scale and zero point per
	// output unit, a row of the [out, in] weight) or "per-tensor".
	Granularity string
	// WeightScheme is "symmetric" (default: zero point 0, codes in
	// ±(2^(b−1)−1)) or "asymmetric" (a zero point per grid, full code range).
	WeightScheme string
	// ActScheme is "asymmetric" (default: suits non-negative ReLU outputs)
	// or "symmetric".
	ActScheme string
	// Calib is the number of samples drawn from the calibration set to fix
	// activation ranges and to measure output SQNR; default 1024 (all of the
	// set, if it is smaller).
	Calib int
	// Clip picks each range within the observed min-max range: "minmax"
	// (default), "percentile" (keep the central Percentile%; of |x| when
	// symmetric) or "mse" (the range whose grid gives the least squared
	// quantization error). It applies to weights and to activations.
	Clip       string
	Percentile float64 // for Clip "percentile", in (50, 100]; default 99.99
	Seed       uint64  // draws the calibration samples; every value, including 0, is valid
}

// Default calibration sample count and percentile.
const (
	DefaultCalib      = 1024
	DefaultPercentile = 99.99
)

// Validate reports settings Quantize or QAT would refuse.
func (c QuantConfig) Validate() error {
	_, err := c.withDefaults()
	return err
}

func (c QuantConfig) withDefaults() (QuantConfig, error) {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.Mode, "ptq")
	def(&c.Granularity, "per-channel")
	def(&c.WeightScheme, "symmetric")
	def(&c.ActScheme, "asymmetric")
	def(&c.Clip, "minmax")
	if c.Bits == 0 {
		c.Bits = 8
	}
	if c.ActBits == 0 {
		c.ActBits = 8
	}
	if c.Calib == 0 {
		c.Calib = DefaultCalib
	}
	if c.Percentile == 0 {
		c.Percentile = DefaultPercentile
	}
	for _, f := range []struct {
		name, v string
		ok      []string
	}{
		{"mode", c.Mode, QuantModes}, {"granularity", c.Granularity, QuantGranularities},
		{"weight scheme", c.WeightScheme, QuantSchemes}, {"activation scheme", c.ActScheme, QuantSchemes},
		{"clipping method", c.Clip, QuantClips},
	} {
		if !slices.Contains(f.ok, f.v) {
			return c, fmt.Errorf("unknown %s %q (want %s)", f.name, f.v, strings.Join(f.ok, ", "))
		}
	}
	switch {
	case c.Bits < 2 || c.Bits > 8:
		return c, fmt.Errorf("%d weight bits: want 2 to 8", c.Bits)
	case c.ActBits < 2 || c.ActBits > 8:
		return c, fmt.Errorf("%d activation bits: want 2 to 8", c.ActBits)
	case c.Calib < 0:
		return c, fmt.Errorf("calibration samples %d must not be negative", c.Calib)
	case !(c.Percentile > 50 && c.Percentile <= 100):
		return c, fmt.Errorf("percentile %g is outside (50, 100]", c.Percentile)
	}
	return c, nil
}

func (c QuantConfig) weightQuantizer() quantizer {
	sym := c.WeightScheme == "symmetric"
	return quantizer{bits: c.Bits, symmetric: sym, restricted: sym, clip: c.Clip, percentile: c.Percentile}
}

func (c QuantConfig) actQuantizer() quantizer {
	return quantizer{bits: c.ActBits, symmetric: c.ActScheme == "symmetric", clip: c.Clip, percentile: c.Percentile}
}

// weightRule is c's clipping rule for the rows×cols weights w.
func (c QuantConfig) weightRule(w []float32, rows, cols int) rangeRule {
	return newRangeRule(w, rows, cols, c.weightQuantizer(), c.Granularity == "per-channel")
}

// quantizeMatrix quantizes the rows×cols weights w with c's weight settings.
func (c QuantConfig) quantizeMatrix(w []float32, rows, cols int) qweights {
	return quantizeWeights(w, rows, cols, c.Bits, c.weightRule(w, rows, cols).grids(w, rows, cols))
}

// QuantReport describes a quantization: the settings used and, per
// quantized layer, its grids and how much noise quantization adds.
type QuantReport struct {
	Config       QuantConfig // with defaults filled in
	CalibSamples int         // calibration samples actually used
	Layers       []LayerQuant
}

// LayerQuant is one quantized layer's diagnostics. SQNR is
// 10·log10(‖x‖²/‖x−x̂‖²) in dB (higher is better; +Inf when exact).
type LayerQuant struct {
	Index int    // position in Model.Layers
	Name  string // "index:kind", as in Summary
	// Mode is how the layer was quantized: "ptq" (integer kernel) or
	// "weight-only" (float arithmetic, as convolutions always are).
	Mode string
	// In and Out are the weight matrix's columns and rows: a dense layer's
	// inputs and outputs, a convolution's K·K·C and filters (depthwise: K·K
	// and channels).
	In, Out int
	// WeightSQNR compares the dequantized weights with the float ones.
	WeightSQNR float64
	// OutputSQNR compares the layer's outputs in the quantized model with
	// the float model's on the calibration batch. Errors of earlier layers
	// carry into it, so the layer where it drops is the one that costs.
	OutputSQNR float64
	// ScaleMin and ScaleMax bound the weight scales (step sizes) over grids.
	ScaleMin, ScaleMax float32
	// The weight grid of channel Channel (per-tensor: the only grid;
	// per-channel: the coarsest, with the largest step), for drawing over
	// Hist: grid points are ClipMin + i·Step up to ClipMax; weights outside
	// [ClipMin, ClipMax] are clipped.
	Channel                int
	ClipMin, ClipMax, Step float32
	Hist                   Histogram // of the float weights
	// Input activation grid (ptq, qat; zero for weight-only) and the
	// histogram of the calibration inputs it was fitted to.
	InputScale                 float32
	InputZero                  int
	InputClipMin, InputClipMax float32
	InputHist                  Histogram
}

// Histogram counts values in equal-width bins spanning [Min, Max].
type Histogram struct {
	Min, Max float32
	Counts   []int
}

// HistBins is the number of bins of the histograms in a QuantReport.
const HistBins = 64

func histogramOf(v []float32) Histogram {
	h := Histogram{Counts: make([]int, HistBins)}
	if len(v) == 0 {
		return h
	}
	mn, mx := minMaxF32(v)
	h.Min, h.Max = float32(mn), float32(mx)
	w := (mx - mn) / HistBins
	for _, x := range v {
		b := HistBins - 1
		if w > 0 {
			b = min(int((float64(x)-mn)/w), HistBins-1)
		}
		h.Counts[b]++
	}
	return h
}

// quantLayer is implemented by the quantized dense layers.
type quantLayer interface {
	Layer
	weights() *qweights
}

// newQuantLayer builds an empty qdense or wdense layer from its spec, to be
// filled by decodeTensors.
func newQuantLayer(s LayerSpec) (Layer, error) {
	if s.In <= 0 || s.Out <= 0 {
		return nil, fmt.Errorf("%s layer needs positive sizes, got %d→%d", s.Kind, s.In, s.Out)
	}
	if s.Bits < 2 || s.Bits > 8 {
		return nil, fmt.Errorf("%s layer has %d-bit weights: want 2 to 8", s.Kind, s.Bits)
	}
	if s.Kind == "wdense" {
		return &WDense{In: s.In, Out: s.Out, Bits: s.Bits}, nil
	}
	if s.ActBits < 2 || s.ActBits > 8 {
		return nil, fmt.Errorf("qdense layer has %d-bit activations: want 2 to 8", s.ActBits)
	}
	return &QDense{In: s.In, Out: s.Out, Bits: s.Bits, ActBits: s.ActBits}, nil
}

// Quantize returns a quantized copy of m and a report; m is not modified.
// Every dense layer is quantized (ptq: to a QDense, weight-only: to a
// WDense), and every convolution weight-only in both modes (a WConv: there
// is no integer convolution kernel), after BatchNorms are folded into the
// layers before them (FoldBatchNorm); other layers are copied. calib
// supplies the calibration samples (raw, as for Predict; use training data,
// never the test set): cfg.Calib of them, drawn with cfg.Seed, fix the input
// ranges of ptq and measure output SQNR. Mode "qat" needs training: use QAT.
func Quantize(m *Model, calib *Dataset, cfg QuantConfig) (*Model, QuantReport, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, QuantReport{}, err
	}
	if cfg.Mode == "qat" {
		return nil, QuantReport{}, fmt.Errorf("mode qat fine-tunes the model: use QAT, not Quantize")
	}
	if err := checkQuantizable(m, calib); err != nil {
		return nil, QuantReport{}, err
	}
	float := FoldBatchNorm(m) // a copy; folded, its convolutions are quantized with their BatchNorm scales
	x := calibBatch(float, calib, cfg)
	inputs := denseInputs(float, x)
	q := float.Clone()
	for i, l := range float.Layers {
		if wc, ok := quantizeConv(l, cfg); ok {
			q.Layers[i] = wc
			continue
		}
		d, ok := l.(*Dense)
		if !ok {
			continue
		}
		w := cfg.quantizeMatrix(d.Weight.W.Data, d.Out, d.In)
		bias := slices.Clone(d.Bias.W.Data)
		if cfg.Mode == "weight-only" {
			q.Layers[i] = newWDense(w, bias)
			continue
		}
		aq := cfg.actQuantizer()
		q.Layers[i] = newQDense(w, bias, aq.grid(aq.clipRange(inputs[i].Data)), cfg.ActBits)
	}
	return q, quantReport(cfg, float, q, x, inputs), nil
}

// CanQuantize reports why m cannot be quantized: it has no dense layer, or
// layers that are already quantized or sparse. Other layers are allowed:
// convolutions are quantized weight-only, the rest stay float32.
func CanQuantize(m *Model) error {
	dense := 0
	for i, l := range m.Layers {
		switch k := l.Spec().Kind; {
		case isQuantizedKind(k):
			return fmt.Errorf("layer %d (%s) cannot be quantized: quantize the float dense model", i, k)
		case k == "dense":
			dense++
		}
	}
	if dense == 0 {
		return fmt.Errorf("the model has no dense layers to quantize")
	}
	return nil
}

// checkQuantizable adds to CanQuantize a check of the calibration data.
func checkQuantizable(m *Model, calib *Dataset) error {
	if err := CanQuantize(m); err != nil {
		return err
	}
	if calib == nil || calib.Len() == 0 {
		return fmt.Errorf("quantization needs calibration samples, and the calibration set is empty")
	}
	if calib.Features() != numel(m.InShape) {
		return fmt.Errorf("the model takes %d features, the calibration data has %d", numel(m.InShape), calib.Features())
	}
	return nil
}

// calibBatch draws cfg.Calib samples of d (all, in order, if d has no more)
// and standardizes them as m does.
func calibBatch(m *Model, d *Dataset, cfg QuantConfig) *Tensor {
	n, f := min(cfg.Calib, d.Len()), d.Features()
	idx := make([]int, d.Len())
	for i := range idx {
		idx[i] = i
	}
	if n < d.Len() {
		idx = rand.New(rand.NewPCG(cfg.Seed, 0xca11b)).Perm(d.Len())[:n]
		slices.Sort(idx)
	}
	x := NewTensor(n, f)
	for i, j := range idx {
		copy(x.Row(i), d.Sample(j))
	}
	if m.Norm != nil {
		m.Norm.Apply(x.Data)
	}
	return x
}

// denseInputs runs m on x (standardized) in inference mode and returns a
// copy of the input of every dense layer, by layer index.
func denseInputs(m *Model, x *Tensor) map[int]*Tensor {
	in := map[int]*Tensor{}
	for i, l := range m.Layers {
		if _, ok := l.(*Dense); ok {
			in[i] = x.Clone()
		}
		x = l.Forward(x, false)
	}
	return in
}

// quantReport measures q against the float model it came from: weight SQNR
// per layer, output SQNR on the calibration batch x, and the grids.
func quantReport(cfg QuantConfig, float, q *Model, x *Tensor, inputs map[int]*Tensor) QuantReport {
	rep := QuantReport{Config: cfg, CalibSamples: x.Rows()}
	xf, xq := x, x
	for i, l := range q.Layers {
		xf = float.Layers[i].Forward(xf, false)
		xq = l.Forward(xq, false)
		ql, ok := l.(quantLayer)
		if !ok {
			continue
		}
		fw := float.Layers[i].Params()[0].W // the float weights, [out, in]
		w := ql.weights()
		lq := LayerQuant{Index: i, Name: fmt.Sprintf("%d:%s", i, l.Spec().Kind), Mode: "weight-only",
			In: fw.Shape[1], Out: fw.Shape[0],
			WeightSQNR: sqnrDB(fw.Data, w.dequantize()), OutputSQNR: sqnrDB(xf.Data, xq.Data),
			ScaleMin: float32(math.Inf(1)), Hist: histogramOf(fw.Data)}
		for j, g := range w.grids {
			lq.ScaleMin = min(lq.ScaleMin, g.scale)
			if g.scale > lq.ScaleMax {
				lq.ScaleMax, lq.Channel = g.scale, j
			}
		}
		g := w.grids[lq.Channel]
		lq.ClipMin, lq.ClipMax, lq.Step = g.value(g.lo), g.value(g.hi), g.scale
		if qd, ok := l.(*QDense); ok {
			lq.Mode = "ptq"
			lq.InputScale, lq.InputZero = qd.input.scale, int(qd.input.zero)
			lq.InputClipMin, lq.InputClipMax = qd.input.value(qd.input.lo), qd.input.value(qd.input.hi)
			lq.InputHist = histogramOf(inputs[i].Data)
		}
		rep.Layers = append(rep.Layers, lq)
	}
	return rep
}
