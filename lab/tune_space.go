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
	f, _ := ParamNumber(v)
	return f
}

// ParamNumber reports the value of a parameter as core.Space.Values gives
// it (an int or a float64), if it is a number.
func ParamNumber(v any) (float64, bool) {
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
	if x, ok := ParamNumber(v); ok && x > 0 {
		return nil
	}
	return fmt.Errorf("%v is not a positive number", v)
}

func atLeast(lo float64) func(v any) error {
	return func(v any) error {
		if x, ok := ParamNumber(v); ok && x >= lo {
			return nil
		}
		return fmt.Errorf("%v is not a number of at least %g", v, lo)
	}
}

func rate(v any) error {
	if x, ok := ParamNumber(v); ok && x >= 0 && x < 1 {
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

// ValidateSpace checks a whole search space with the rules of a space file:
// every parameter is one of TuneParams, of a fitting kind and with valid
// values, and the architecture is set one way only.
func ValidateSpace(space core.Space) error { return validateTuneSpace(space) }

// SuggestDim is a starting range for parameter name (one of TuneParams):
// the default space's, or for a parameter it lacks a small list to edit. It
// reports false for an unknown name.
func SuggestDim(name string) (core.Dim, bool) {
	if i := DefaultSpace().Index(name); i >= 0 {
		return DefaultSpace()[i], true
	}
	list := func(v ...string) (core.Dim, bool) {
		return core.Dim{Name: name, Kind: core.Categorical, Values: v}, true
	}
	switch name {
	case "hidden":
		return list("64", "128", "128,64")
	case "model":
		return list("linear", "mlp:64", "mlp:128,64")
	case "schedule":
		return list(core.Schedules...)
	case core.EpochsDim:
		return list("3", "6", "9")
	}
	return core.Dim{}, false
}

// The words that start a range in the one-line syntax; log_uniform is the
// space file's spelling.
var rangeWords = map[string]core.DimKind{
	"uniform": core.Uniform, "log-uniform": core.LogUniform, "log_uniform": core.LogUniform, "int": core.Integer,
}

// FormatDim writes a parameter's range, list or value on one line, in the
// syntax ParseDimText reads (the parameter's name is not part of it):
//
//	log-uniform 1e-4 .. 0.03    a real range on a log scale
//	uniform 0 .. 0.3            a real range
//	int 16 .. 256 log           whole numbers, here on a log scale
//	int 1 .. 4 points 2         points: how many values a grid tries
//	32, 64, 128                 a list: one of these
//	128, "256,128"              a value holding a comma or a quote is quoted
//	0.1                         one value: fixed
func FormatDim(d core.Dim) string {
	if d.Kind == core.Categorical {
		parts := make([]string, len(d.Values))
		for i, v := range d.Values {
			if needsQuotes(v, i == 0) {
				v = strconv.Quote(v)
			}
			parts[i] = v
		}
		return strings.Join(parts, ", ")
	}
	word := string(d.Kind)
	if d.Kind == core.LogUniform {
		word = "log-uniform"
	}
	s := word + " " + shortNum(d.Low) + " .. " + shortNum(d.High)
	if d.Log {
		s += " log"
	}
	if d.Points != 0 {
		s += " points " + strconv.Itoa(d.Points)
	}
	return s
}

// needsQuotes says whether a list value must be quoted to read back as
// itself: it is empty, holds a comma or a quote, has spaces at an end, or,
// first in the list, starts with a word that would make the text a range.
func needsQuotes(v string, first bool) bool {
	if v == "" || strings.ContainsAny(v, `,"`) || v != strings.TrimSpace(v) {
		return true
	}
	_, isRange := rangeWords[strings.Fields(v)[0]]
	return first && isRange
}

// shortNum formats f exactly, in its shorter form: 0.03, 1e-4, 256.
func shortNum(f float64) string {
	clean := func(s string) string {
		s = strings.Replace(s, "e+", "e", 1)
		s = strings.Replace(s, "e-0", "e-", 1)
		return strings.Replace(s, "e0", "e", 1)
	}
	g, e := clean(strconv.FormatFloat(f, 'g', -1, 64)), clean(strconv.FormatFloat(f, 'e', -1, 64))
	if len(e) < len(g) {
		return e
	}
	return g
}

// ParseDimText reads parameter name's range, list or value from one line in
// the syntax of FormatDim, and checks it with the rules of a space file
// (those that concern one parameter; ValidateSpace checks the whole space).
// Spaces around ".." and commas are optional. Errors name the parameter.
func ParseDimText(name, text string) (core.Dim, error) {
	d, err := parseDimText(name, strings.TrimSpace(text))
	if err != nil {
		return d, fmt.Errorf("parameter %q: %v", name, err)
	}
	if err := validateTuneSpace(core.Space{d}); err != nil {
		return d, err
	}
	return d, nil
}

func parseDimText(name, text string) (core.Dim, error) {
	d := core.Dim{Name: name}
	words := strings.Fields(text)
	if len(words) == 0 {
		return d, errors.New(`give a range such as "uniform 0 .. 0.3", a list such as "32, 64" or one value`)
	}
	kind, isRange := rangeWords[words[0]]
	if !isRange {
		vals, err := splitList(text)
		d.Kind, d.Values = core.Categorical, vals
		return d, err
	}
	d.Kind = kind
	want := fmt.Errorf("want %q, optionally followed by log (int only) and points N", words[0]+" LOW .. HIGH")
	low, rest, ok := strings.Cut(strings.TrimSpace(text[len(words[0]):]), "..")
	opts := strings.Fields(rest)
	if !ok || len(opts) == 0 {
		return d, want
	}
	var err error
	if d.Low, err = parseNum(strings.TrimSpace(low)); err != nil {
		return d, err
	}
	if d.High, err = parseNum(opts[0]); err != nil {
		return d, err
	}
	for i := 1; i < len(opts); i++ {
		switch opts[i] {
		case "log":
			if d.Kind != core.Integer {
				return d, errors.New("log applies to int ranges; use log-uniform for reals")
			}
			d.Log = true
		case "points":
			if i+1 < len(opts) {
				d.Points, err = strconv.Atoi(opts[i+1])
			}
			if i+1 == len(opts) || err != nil || d.Points < 1 {
				return d, errors.New("points takes a whole number of at least 1, e.g. points 4")
			}
			i++
		default:
			return d, fmt.Errorf("unexpected %q after the range: %v", opts[i], want)
		}
	}
	return d, nil
}

func parseNum(s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return f, nil
}

// splitList splits a list at the commas outside double quotes and unquotes
// the quoted values.
func splitList(s string) ([]string, error) {
	var items []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++ // an escaped character, perhaps a quote
		case c == '"':
			quoted = !quoted
		case !quoted && c == ',':
			items = append(items, s[start:i])
			start = i + 1
		}
	}
	if quoted {
		return nil, errors.New("a quote is not closed")
	}
	items = append(items, s[start:])
	for i, it := range items {
		it = strings.TrimSpace(it)
		switch {
		case it == "":
			return nil, errors.New("the list has an empty value: remove the extra comma, or write \"\" for an empty text")
		case it[0] == '"':
			u, err := strconv.Unquote(it)
			if err != nil {
				return nil, fmt.Errorf("%s is not quoted properly: quote the whole value", it)
			}
			it = u
		case strings.Contains(it, `"`):
			return nil, fmt.Errorf("%s: quote the whole value", it)
		}
		items[i] = it
	}
	return items, nil
}
