package core

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Model is a sequential network with what inference needs around it: the
// input shape, the class names and the feature standardization fitted on its
// training data.
type Model struct {
	Arch    string        // the spec it was built from, e.g. "mlp:128,64"
	InShape []int         // per-sample input shape
	Classes []string      // output class names
	Norm    *Standardizer // applied to raw inputs before the first layer; nil for none
	Layers  []Layer
}

// BuildOptions configure Build. Zero fields take the defaults listed.
type BuildOptions struct {
	Activation string  // hidden activation: relu (default), leaky_relu, tanh, sigmoid, gelu
	Dropout    float64 // dropout rate after each hidden activation; 0 for none
	Seed       uint64  // initialization seed; every value, including 0, is valid
}

// Build parses an architecture spec and returns a freshly initialized model.
// Specs: "mlp:128,64" (hidden layers of 128 and 64 units), "mlp:" or
// "linear" (softmax regression, no hidden layer), and for images
// ([H W C] samples) "cnn:16,32" (convolution blocks of 16 and 32 channels)
// and "mobile:16,32,64" (a stem convolution then depthwise-separable
// blocks), both with an optional width multiplier such as "@0.5"; arch.go
// spells out the layers of each. For cnn and mobile, the activation follows
// every BatchNorm and dropout applies once, before the final dense layer.
func Build(spec string, inShape []int, classes []string, opt BuildOptions) (*Model, error) {
	a, err := parseArch(spec)
	if err != nil {
		return nil, err
	}
	act := opt.Activation
	if act == "" {
		act = "relu"
	}
	if _, ok := activationByName(act, 0); !ok {
		return nil, fmt.Errorf("unknown activation %q (want %s)", act, strings.Join(Activations, ", "))
	}
	if opt.Dropout < 0 || opt.Dropout >= 1 {
		return nil, fmt.Errorf("dropout %g is outside [0, 1)", opt.Dropout)
	}
	if len(classes) < 2 {
		return nil, fmt.Errorf("a classifier needs at least 2 classes, got %d", len(classes))
	}
	init := "he"
	if act == "tanh" || act == "sigmoid" {
		init = "xavier"
	}
	r := rand.New(rand.NewPCG(opt.Seed, 0x0b1ab))
	m := &Model{Arch: spec, InShape: append([]int(nil), inShape...), Classes: append([]string(nil), classes...)}
	if a.family != "mlp" {
		if err := buildConvNet(m, a, act, init, opt.Dropout, r); err != nil {
			return nil, err
		}
		return m, nil
	}
	in := numel(inShape)
	if n := mlpWeights(in, a.sizes, len(classes)); n > maxWeights {
		return nil, tooLarge(spec, n)
	}
	for _, h := range a.sizes {
		m.Layers = append(m.Layers, NewDense(in, h, init, r))
		a, _ := activationByName(act, 0)
		m.Layers = append(m.Layers, a)
		if opt.Dropout > 0 {
			m.Layers = append(m.Layers, &Dropout{Rate: opt.Dropout})
		}
		in = h
	}
	m.Layers = append(m.Layers, NewDense(in, len(classes), "xavier", r))
	return m, nil
}

// parseMLP reads the hidden sizes of an "mlp:a,b,..." spec.
func parseMLP(spec string) ([]int, error) {
	if spec == "linear" {
		return nil, nil
	}
	family, args, _ := strings.Cut(spec, ":")
	if family != "mlp" {
		return nil, fmt.Errorf("unknown model spec %q (want mlp:H1,H2,... such as mlp:128,64, or linear)", spec)
	}
	var hidden []int
	if strings.TrimSpace(args) == "" {
		return nil, nil
	}
	for _, f := range strings.Split(args, ",") {
		h, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || h <= 0 || h > 1<<16 {
			return nil, fmt.Errorf("model spec %q: %q is not a layer size (want a whole number from 1 to 65536)", spec, f)
		}
		hidden = append(hidden, h)
	}
	return hidden, nil
}

// Forward runs the layers on x, which must already be standardized.
func (m *Model) Forward(x *Tensor, train bool) *Tensor {
	for _, l := range m.Layers {
		x = l.Forward(x, train)
	}
	return x
}

// Backward propagates dL/dlogits through the layers, accumulating gradients.
func (m *Model) Backward(dy *Tensor) {
	for i := len(m.Layers) - 1; i >= 0; i-- {
		dy = m.Layers[i].Backward(dy)
	}
}

// Params returns every trainable parameter, layer by layer.
func (m *Model) Params() []*Param {
	var ps []*Param
	for _, l := range m.Layers {
		ps = append(ps, l.Params()...)
	}
	return ps
}

// ZeroGrad clears all gradients.
func (m *Model) ZeroGrad() {
	for _, p := range m.Params() {
		clear(p.G.Data)
	}
}

// Clone returns a deep copy that shares no memory with m, rebuilt from the
// layer specs with weights and masks copied.
func (m *Model) Clone() *Model {
	c := &Model{Arch: m.Arch, InShape: append([]int(nil), m.InShape...), Classes: append([]string(nil), m.Classes...)}
	if m.Norm != nil {
		c.Norm = &Standardizer{Mean: append([]float32(nil), m.Norm.Mean...), Std: append([]float32(nil), m.Norm.Std...)}
	}
	for _, l := range m.Layers {
		if cl, ok := l.(cloner); ok {
			c.Layers = append(c.Layers, cl.cloneLayer())
			continue
		}
		nl, err := NewLayer(l.Spec())
		if err != nil {
			panic("core: cannot rebuild layer: " + err.Error())
		}
		for i, p := range nl.Params() {
			src := l.Params()[i]
			copy(p.W.Data, src.W.Data)
			if src.Mask != nil {
				p.Mask = append([]float32(nil), src.Mask...)
			}
		}
		c.Layers = append(c.Layers, nl)
	}
	return c
}

// cloner is implemented by layers whose state is not (only) in Params, such
// as quantized layers: Clone asks them for a deep copy.
type cloner interface {
	cloneLayer() Layer
}

// Predict returns the logits for raw (unstandardized) samples, n rows of
// prod(InShape) values. It copies x before standardizing.
func (m *Model) Predict(x []float32) *Tensor {
	f := numel(m.InShape)
	in := TensorFrom(append([]float32(nil), x...), len(x)/f, f)
	if m.Norm != nil {
		m.Norm.Apply(in.Data)
	}
	return m.Forward(in, false)
}

// LayerSummary describes one layer's cost.
type LayerSummary struct {
	Name          string `json:"name"`
	OutShape      []int  `json:"out_shape"`
	Params        int    `json:"params"`
	NonzeroParams int    `json:"nonzero_params"`
	MACs          int64  `json:"macs"`
}

// Summary is a model's size and cost.
type Summary struct {
	Layers        []LayerSummary `json:"layers"`
	Params        int            `json:"params"`
	NonzeroParams int            `json:"nonzero_params"`
	MACs          int64          `json:"macs"`  // per sample
	Bytes         int64          `json:"bytes"` // of the float32 parameters in memory
}

// paramCounter is implemented by layers that hold weights outside Params
// (sparse and quantized layers), so that Summarize can count them.
type paramCounter interface {
	paramCount() (params, nonzero int)
}

// Summarize counts parameters, non-zero parameters and MACs per sample.
func (m *Model) Summarize() Summary {
	var s Summary
	shape := m.InShape
	for i, l := range m.Layers {
		ls := LayerSummary{Name: fmt.Sprintf("%d:%s", i, l.Spec().Kind), MACs: l.MACs(shape)}
		if pc, ok := l.(paramCounter); ok {
			ls.Params, ls.NonzeroParams = pc.paramCount()
		}
		for _, p := range l.Params() {
			ls.Params += len(p.W.Data)
			ls.NonzeroParams += len(p.W.Data) - countZeros(p.W.Data)
		}
		shape = l.OutShape(shape)
		ls.OutShape = shape
		s.Layers = append(s.Layers, ls)
		s.Params += ls.Params
		s.NonzeroParams += ls.NonzeroParams
		s.MACs += ls.MACs
	}
	s.Bytes = int64(s.Params) * 4
	return s
}

// ValidateSpec reports whether spec is an architecture Build understands,
// without building anything.
// It also refuses an MLP whose hidden layers alone exceed the weight limit
// (Build checks again with the real input width).
func ValidateSpec(spec string) error {
	a, err := parseArch(spec)
	if err == nil && a.family == "mlp" {
		if n := mlpWeights(1, a.sizes, 1); n > maxWeights {
			err = tooLarge(spec, n)
		}
	}
	return err
}

// ValidateSpecFor is ValidateSpec for samples of inShape and these classes:
// it also refuses an MLP too large for this input width and a
// convolutional spec the samples do not fit. Convolutional nets are small,
// so for them it builds the model and drops it.
func ValidateSpecFor(spec string, inShape []int, classes []string) error {
	a, err := parseArch(spec)
	if err != nil {
		return err
	}
	if a.family == "mlp" {
		if n := mlpWeights(numel(inShape), a.sizes, len(classes)); n > maxWeights {
			return tooLarge(spec, n)
		}
		return nil
	}
	_, err = Build(spec, inShape, classes, BuildOptions{})
	return err
}

// maxWeights bounds what Build allocates for an MLP: a typo such as
// mlp:60000,60000 must be refused in words, not by running out of memory
// (weights, gradients and two optimizer moments make 16 bytes per weight).
const maxWeights = 50_000_000

// mlpWeights counts the weights of an MLP with these hidden sizes.
func mlpWeights(in int, hidden []int, classes int) int {
	n := 0
	for _, h := range hidden {
		n += in * h
		in = h
	}
	return n + in*classes
}

func tooLarge(spec string, weights int) error {
	return fmt.Errorf("model spec %q is too large: about %d million weights; keep it under %d million",
		spec, weights/1_000_000, maxWeights/1_000_000)
}
