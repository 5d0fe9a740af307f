package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Architecture specs (see Build):
//
//	linear                      softmax regression
//	mlp:H1,H2,...               dense hidden layers of H1, H2, ... units
//	cnn:C1,C2,...[@W][/HEAD]    per entry a block conv 3x3 (pad 1) → BatchNorm → act → max pool 2x2,
//	                            then the head
//	mobile:C1,C2,...[@W][/HEAD] a stem conv 3x3 (pad 1) → BatchNorm → act with C1 channels, then per
//	                            further entry a depthwise-separable block (depthwise 3x3 → BatchNorm →
//	                            act → pointwise 1x1 → BatchNorm → act), then the head
//
// W is a width multiplier (MobileNet's α): every channel count C becomes
// max(1, round(C·W)). HEAD is "flat" (flatten → dense to the classes; cnn's
// default) or "gap" (global average pool → dense; mobile's default).
// Convolutions before a BatchNorm have no bias.
//
// Mobile strides follow MobileNet v1, adapted to small images as its CIFAR
// ports are: the stem has stride 2 on images at least largeImage pixels on a
// side and stride 1 on smaller ones (halving a 28x28 digit straight away
// costs accuracy), and a block's depthwise convolution has stride 2 when the
// block widens the channels (Ci > Ci-1 as written, before W), stride 1 when
// it keeps or narrows them; a map smaller than mobileMinSide pixels on a side
// is never halved. So mobile:16,32,64 on 28x28 runs at 28x28, 14x14 and 7x7,
// and a repeated width (mobile:16,32,32) adds a block at the same resolution.

const (
	maxChannels   = 4096 // largest channel count a spec may ask for
	maxWidth      = 16.0 // largest width multiplier
	mobileMinSide = 4    // mobile convolutions halve the map only while it is at least this wide and high
	largeImage    = 64   // images at least this wide and high get a stride-2 mobile stem
)

// archSpec is a parsed model spec.
type archSpec struct {
	family string // "mlp", "cnn" or "mobile"
	sizes  []int  // hidden units (mlp) or channels per block (width multiplier applied)
	widens []bool // mobile: whether entry i is wider than entry i-1 as written
	head   string // cnn, mobile: "flat" or "gap"
}

// specHelp names the accepted spec forms, for error messages.
const specHelp = "mlp:H1,H2,..., linear, cnn:C1,C2,...[@W][/HEAD] or mobile:C1,C2,...[@W][/HEAD]"

// parseArch reads a model spec of any family.
func parseArch(spec string) (archSpec, error) {
	family, args, found := strings.Cut(spec, ":")
	if spec == "linear" || family == "mlp" {
		hidden, err := parseMLP(spec)
		return archSpec{family: "mlp", sizes: hidden}, err
	}
	if !found || (family != "cnn" && family != "mobile") {
		return archSpec{}, fmt.Errorf("unknown model spec %q (want %s)", spec, specHelp)
	}
	a := archSpec{family: family, head: "flat"}
	if family == "mobile" {
		a.head = "gap"
	}
	args, head, headed := strings.Cut(args, "/")
	if headed {
		if a.head = strings.TrimSpace(head); a.head != "flat" && a.head != "gap" {
			return archSpec{}, fmt.Errorf("model spec %q: head %q is not flat or gap", spec, head)
		}
	}
	list, width, scaled := strings.Cut(args, "@")
	w := 1.0
	if scaled {
		var err error
		w, err = strconv.ParseFloat(strings.TrimSpace(width), 64)
		if err != nil || !(w > 0 && w <= maxWidth) {
			return archSpec{}, fmt.Errorf("model spec %q: width multiplier %q is not a number in (0, %g]", spec, width, maxWidth)
		}
	}
	if strings.TrimSpace(list) == "" {
		return archSpec{}, fmt.Errorf("model spec %q: %s needs at least one channel count, e.g. %s:16,32", spec, family, family)
	}
	prev := 0
	for _, f := range strings.Split(list, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c <= 0 || c > maxChannels {
			return archSpec{}, fmt.Errorf("model spec %q: %q is not a channel count (want a whole number from 1 to %d)", spec, f, maxChannels)
		}
		a.sizes = append(a.sizes, min(maxChannels, max(1, int(math.Round(float64(c)*w)))))
		a.widens = append(a.widens, c > prev)
		prev = c
	}
	return a, nil
}

// buildConvNet appends the layers of a cnn or mobile spec to m, whose
// InShape must be an image shape [H W C].
func buildConvNet(m *Model, a archSpec, act, init string, dropout float64, r *rand.Rand) error {
	if len(m.InShape) != 3 || numelSafe(m.InShape) <= 0 {
		return fmt.Errorf("model spec %q needs image data (samples of shape [H W C]); this data has samples of shape %v",
			m.Arch, m.InShape)
	}
	h, w, c := m.InShape[0], m.InShape[1], m.InShape[2]
	add := func(ls ...Layer) { m.Layers = append(m.Layers, ls...) }
	// convBlock adds a bias-free convolution, its BatchNorm and the activation.
	convBlock := func(out, k, stride, pad int) {
		conv := NewConv2D(h, w, c, out, k, stride, pad, false, init, r)
		h, w, c = outSide(h, k, stride, pad), outSide(w, k, stride, pad), out
		nl, _ := activationByName(act, 0)
		add(conv, NewBatchNorm(h, w, c), nl)
	}
	switch a.family {
	case "cnn":
		for i, ch := range a.sizes {
			convBlock(ch, 3, 1, 1)
			if h < 2 || w < 2 {
				return fmt.Errorf("model spec %q: block %d would pool a %dx%d map; use fewer blocks", m.Arch, i+1, h, w)
			}
			add(newPool2D(true, h, w, c, 2, 2))
			h, w = h/2, w/2
		}
	case "mobile":
		halve := func(widens bool) int {
			if widens && h >= mobileMinSide && w >= mobileMinSide {
				return 2
			}
			return 1
		}
		convBlock(a.sizes[0], 3, halve(h >= largeImage && w >= largeImage), 1)
		for i, ch := range a.sizes[1:] {
			stride := halve(a.widens[i+1])
			dw := NewDepthwiseConv2D(h, w, c, 3, stride, 1, false, init, r)
			h, w = outSide(h, 3, stride, 1), outSide(w, 3, stride, 1)
			nl, _ := activationByName(act, 0)
			add(dw, NewBatchNorm(h, w, c), nl)
			convBlock(ch, 1, 1, 0)
		}
	}
	if a.head == "gap" {
		add(&GlobalAvgPool{H: h, W: w, C: c})
		h, w = 1, 1
	} else {
		add(&Flatten{})
	}
	if dropout > 0 {
		add(&Dropout{Rate: dropout})
	}
	add(NewDense(h*w*c, len(m.Classes), "xavier", r))
	return nil
}

// LayerTimes measures each layer's forward time on one sample: for every
// layer, the median over reps passes (reps ≤ 0 means 200) after reps/5
// warm-up passes, in microseconds. sample is a raw input of prod(m.InShape)
// values; m.Norm is applied to a copy first, outside the timings. The
// layers run in inference mode on their own buffers, so m must not be in
// use elsewhere meanwhile.
func LayerTimes(m *Model, sample []float32, reps int) []float64 {
	if reps <= 0 {
		reps = 200
	}
	if len(sample) != numel(m.InShape) {
		panic(fmt.Sprintf("core: a sample of %d values for a model taking %d", len(sample), numel(m.InShape)))
	}
	x := TensorFrom(slices.Clone(sample), 1, len(sample))
	if m.Norm != nil {
		m.Norm.Apply(x.Data)
	}
	warm := reps / 5
	times := make([][]time.Duration, len(m.Layers))
	for i := range reps + warm {
		h := x
		for j, l := range m.Layers {
			t := time.Now()
			h = l.Forward(h, false)
			if i >= warm {
				times[j] = append(times[j], time.Since(t))
			}
		}
	}
	out := make([]float64, len(m.Layers))
	for j, ts := range times {
		slices.Sort(ts)
		out[j] = float64(ts[len(ts)/2].Nanoseconds()) / 1e3
	}
	return out
}
