package lab

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/optlab/optlab/core"
)

// DefaultSpace is the search space used when none is given:
//
//	lr            log-uniform 1e-4 .. 3e-2
//	batch         32, 64 or 128
//	units         int 16 .. 256, log scale   (width of each hidden layer)
//	layers        int 1 .. 2                 (number of hidden layers)
//	activation    relu, tanh or gelu
//	optimizer     adam, adamw or momentum
//	weight_decay  log-uniform 1e-6 .. 1e-2
//	dropout       uniform 0 .. 0.3
//
// Its grid (3 points per numeric parameter) has 4,374 points: for a grid
// search, give a smaller space.
func DefaultSpace() core.Space {
	return core.Space{
		{Name: "lr", Kind: core.LogUniform, Low: 1e-4, High: 3e-2},
		{Name: "batch", Kind: core.Categorical, Values: []string{"32", "64", "128"}},
		{Name: "units", Kind: core.Integer, Low: 16, High: 256, Log: true},
		{Name: "layers", Kind: core.Integer, Low: 1, High: 2},
		{Name: "activation", Kind: core.Categorical, Values: []string{"relu", "tanh", "gelu"}},
		{Name: "optimizer", Kind: core.Categorical, Values: []string{"adam", "adamw", "momentum"}},
		{Name: "weight_decay", Kind: core.LogUniform, Low: 1e-6, High: 1e-2},
		{Name: "dropout", Kind: core.Uniform, Low: 0, High: 0.3},
	}
}

// tuneParam is a parameter name a tuning space may use.
type tuneParam struct {
	name    string
	integer bool                                 // takes whole numbers
	text    bool                                 // takes names: a list of choices, not a range
	check   func(v any) error                    // v is an int, a float64 or a string, as core.Space.Value gives it
	apply   func(s *TrainSpec, h *hidden, v any) // sets the parameter in a training spec
}

// hidden collects the parameters that together make the model spec.
type hidden struct {
	units, layers int // 0 when the space does not set them
	spec          string
}

// TuneParams lists the parameter names a search space may use.
var TuneParams = func() []string {
	var names []string
	for _, p := range tuneParams {
		names = append(names, p.name)
	}
	return names
}()

var tuneParams = []tuneParam{
	{name: "lr", check: positive, apply: func(s *TrainSpec, _ *hidden, v any) { s.LR = num(v) }},
	{name: "batch", integer: true, check: atLeast(1), apply: func(s *TrainSpec, _ *hidden, v any) { s.Batch = int(num(v)) }},
	{name: "units", integer: true, check: atLeast(1), apply: func(_ *TrainSpec, h *hidden, v any) { h.units = int(num(v)) }},
	{name: "layers", integer: true, check: atLeast(0), apply: func(_ *TrainSpec, h *hidden, v any) { h.layers = int(num(v)) }},
	{name: "hidden", text: true, check: func(v any) error { return core.ValidateSpec("mlp:" + fmt.Sprint(v)) },
		apply: func(_ *TrainSpec, h *hidden, v any) { h.spec = "mlp:" + fmt.Sprint(v) }},
	{name: "model", text: true, check: func(v any) error { return core.ValidateSpec(fmt.Sprint(v)) },
		apply: func(_ *TrainSpec, h *hidden, v any) { h.spec = fmt.Sprint(v) }},
	{name: "activation", text: true, check: oneOfNames(core.Activations), apply: func(s *TrainSpec, _ *hidden, v any) { s.Activation = v.(string) }},
	{name: "optimizer", text: true, check: oneOfNames(core.Optimizers), apply: func(s *TrainSpec, _ *hidden, v any) { s.Optimizer = v.(string) }},
	{name: "schedule", text: true, check: oneOfNames(core.Schedules), apply: func(s *TrainSpec, _ *hidden, v any) { s.Schedule = v.(string) }},
	{name: "weight_decay", check: atLeast(0), apply: func(s *TrainSpec, _ *hidden, v any) { s.WeightDecay = num(v) }},
	{name: "dropout", check: rate, apply: func(s *TrainSpec, _ *hidden, v any) { s.Dropout = num(v) }},
	// The strategy reads epochs from the point itself (core.EpochsDim).
	{name: core.EpochsDim, integer: true, check: atLeast(1), apply: func(*TrainSpec, *hidden, any) {}},
}

// num converts a numeric parameter value to float64.
func num(v any) float64 {
	f, _ := asNum(v)
	return f
}

// asNum reports v's value if it is a number.
func asNum(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func isInt(v any) bool { _, ok := v.(int); return ok }

func positive(v any) error {
	if x, ok := asNum(v); ok && x > 0 {
		return nil
	}
	return fmt.Errorf("%v is not a positive number", v)
}

func atLeast(lo float64) func(v any) error {
	return func(v any) error {
		if x, ok := asNum(v); ok && x >= lo {
			return nil
		}
		return fmt.Errorf("%v is not a number of at least %g", v, lo)
	}
}

func rate(v any) error {
	if x, ok := asNum(v); ok && x >= 0 && x < 1 {
		return nil
	}
	return fmt.Errorf("%v is not a rate in [0, 1)", v)
}

func oneOfNames(names []string) func(v any) error {
	return func(v any) error {
		if s, ok := v.(string); ok && slices.Contains(names, s) {
			return nil
		}
		return fmt.Errorf("%v is not one of %s", v, strings.Join(names, ", "))
	}
}

// validateTuneSpace checks that every parameter of space is one the lab
// knows, of a fitting kind and with valid values.
func validateTuneSpace(space core.Space) error {
	if err := space.Validate(); err != nil {
		return err
	}
	for _, d := range space {
		i := slices.IndexFunc(tuneParams, func(p tuneParam) bool { return p.name == d.Name })
		if i < 0 {
			return fmt.Errorf("unknown parameter %q (want one of %s)", d.Name, strings.Join(TuneParams, ", "))
		}
		p := tuneParams[i]
		var vals []any
		switch {
		case d.Kind == core.Categorical:
			for j := range d.Values {
				vals = append(vals, core.Space{d}.Value(core.Point{float64(j)}, 0))
			}
		case p.integer && d.Kind != core.Integer:
			return fmt.Errorf("parameter %q takes whole numbers: an int range or a list", d.Name)
		case p.text:
			return fmt.Errorf("parameter %q takes a list of choices", d.Name)
		case d.Kind == core.Integer:
			vals = []any{int(d.Low), int(d.High)}
		default:
			vals = []any{d.Low, d.High}
		}
		for _, v := range vals {
			if p.integer && !isInt(v) {
				return fmt.Errorf("parameter %q: %v is not a whole number", d.Name, v)
			}
			if err := p.check(v); err != nil {
				return fmt.Errorf("parameter %q: %v", d.Name, err)
			}
		}
	}
	shape := func(name string) bool { return space.Index(name) >= 0 }
	if (shape("hidden") || shape("model")) && (shape("units") || shape("layers")) || shape("hidden") && shape("model") {
		return errors.New("set the architecture with one of: units and layers, hidden, or model")
	}
	return nil
}

// trainSpecFor returns base with the parameters of point p set.
func trainSpecFor(base TrainSpec, space core.Space, p core.Point) TrainSpec {
	s := base
	var h hidden
	for i, d := range space {
		for _, tp := range tuneParams {
			if tp.name == d.Name {
				tp.apply(&s, &h, space.Value(p, i))
			}
		}
	}
	switch {
	case h.spec != "":
		s.Model = h.spec
	case h.units > 0 || h.layers > 0:
		units, layers := h.units, h.layers
		if units == 0 {
			units = 128
		}
		if space.Index("layers") < 0 {
			layers = 1
		}
		s.Model = "mlp:" + strings.TrimSuffix(strings.Repeat(strconv.Itoa(units)+",", layers), ",")
	}
	return s
}

// ReadSpace reads a search space from a YAML file. Each top-level key is a
// parameter (see TuneParams), in the order the space will use:
//
//	lr: {log_uniform: [1e-4, 3e-2]}     # a real range on a log scale
//	dropout: {uniform: [0, 0.3]}        # a real range
//	units: {int: [16, 256], log: true}  # whole numbers, optionally on a log scale
//	layers: {int: [1, 2]}
//	batch: [32, 64, 128]                # a list: one of these
//	activation: [relu, tanh]
//	epochs: 5                           # one value: fixed
//
// A range may add points: N, the number of values a grid search tries
// (default 3; every integer of a range of at most 5).
func ReadSpace(path string) (core.Space, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := ParseSpace(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ParseSpace parses the YAML space format of ReadSpace and validates the
// result.
func ParseSpace(b []byte) (core.Space, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("a search space is a mapping from parameter names to ranges or lists")
	}
	root := doc.Content[0]
	var space core.Space
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i], root.Content[i+1]
		d, err := parseDim(key.Value, val)
		if err != nil {
			return nil, fmt.Errorf("line %d: %s: %v", val.Line, key.Value, err)
		}
		space = append(space, d)
	}
	if err := validateTuneSpace(space); err != nil {
		return nil, err
	}
	return space, nil
}

func parseDim(name string, n *yaml.Node) (core.Dim, error) {
	d := core.Dim{Name: name, Kind: core.Categorical}
	switch n.Kind {
	case yaml.ScalarNode:
		d.Values = []string{n.Value}
		return d, nil
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return d, errors.New("a list holds plain values")
			}
			d.Values = append(d.Values, c.Value)
		}
		return d, nil
	case yaml.MappingNode:
	default:
		return d, errors.New("want a range such as {uniform: [0, 1]}, a list or a value")
	}
	d.Kind = ""
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		var err error
		switch k {
		case "uniform", "log_uniform", "int":
			if d.Kind != "" {
				return d, errors.New("give one range: uniform, log_uniform or int")
			}
			d.Kind = core.DimKind(k)
			var r []float64
			if err = v.Decode(&r); err == nil && len(r) != 2 {
				err = errors.New("want [low, high]")
			}
			if err == nil {
				d.Low, d.High = r[0], r[1]
			}
		case "log":
			err = v.Decode(&d.Log)
		case "points":
			err = v.Decode(&d.Points)
		default:
			err = fmt.Errorf("unknown key %q (want uniform, log_uniform or int, and optionally log and points)", k)
		}
		if err != nil {
			return d, fmt.Errorf("%s: %v", k, err)
		}
	}
	if d.Kind == "" {
		return d, errors.New("give a range: uniform, log_uniform or int")
	}
	if d.Log && d.Kind != core.Integer {
		return d, errors.New("log applies to int ranges; use log_uniform for reals")
	}
	return d, nil
}
