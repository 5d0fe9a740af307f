package core

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// PruneMethods lists the methods accepted by PruneConfig.Method.
var PruneMethods = []string{"magnitude", "global", "lamp", "random", "structured"}

// PruneConfig configures Prune. Zero fields take the defaults listed.
//
// Unstructured methods prune the weights of every layer that has them (dense
// and convolution layers), the output layer included, as the usual
// tutorials do. Global magnitude pruning compares raw magnitudes across
// layers of different scales, so at high sparsity it can empty a small
// layer (the output layer most often) and cut the network in two; lamp
// ranks by a score normalized within each layer and keeps every layer's
// largest weight. Biases and normalization parameters are never pruned. Structured pruning removes hidden units of
// dense (mlp) models and filters of convolution (cnn, mobile) models.
type PruneConfig struct {
	// Method is "magnitude" (default: the smallest weights of each layer),
	// "global" (the smallest weights under one threshold across all layers),
	// "lamp" (one threshold across all layers on LAMP scores, Lee et al.
	// 2021, "Layer-adaptive Sparsity for the Magnitude-based Pruning": a
	// weight's square over the sum of the squares of its layer's weights
	// at least as large; it decides each layer's sparsity as global does,
	// without emptying any layer),
	// "random" (a control: weights drawn at random in each layer) or
	// "structured" (whole hidden units, or convolution filters, with the
	// smallest incoming weights are removed, and the layers that read them
	// lose their inputs).
	Method string
	// Norm ranks units for structured pruning: "l1" (default) or "l2" of each
	// unit's incoming weights. Other methods take no norm.
	Norm string
	// Sparsity is the target, in [0, 1). Unstructured: the fraction of each
	// layer's weights (global, lamp: of all weights) that are zero; exactly
	// round(Sparsity × weights) unless the model already has more zeros,
	// which stay (pruning never revives a weight). Structured: the fraction
	// of each hidden layer's units removed (at least one unit stays; output
	// units are never removed).
	Sparsity float64
	Seed     uint64 // random method's seed; every value, including 0, is valid
}

func (c PruneConfig) withDefaults() (PruneConfig, error) {
	if c.Method == "" {
		c.Method = "magnitude"
	}
	if !slices.Contains(PruneMethods, c.Method) {
		return c, fmt.Errorf("unknown pruning method %q (want %s)", c.Method, strings.Join(PruneMethods, ", "))
	}
	switch {
	case c.Method == "structured" && c.Norm == "":
		c.Norm = "l1"
	case c.Method == "structured" && c.Norm != "l1" && c.Norm != "l2":
		return c, fmt.Errorf("unknown norm %q for structured pruning (want l1 or l2)", c.Norm)
	case c.Method != "structured" && c.Norm != "":
		return c, fmt.Errorf("norm %q applies only to structured pruning, not %s", c.Norm, c.Method)
	}
	if err := checkSparsity(c.Sparsity); err != nil {
		return c, err
	}
	return c, nil
}

// Validate reports a config Prune would refuse.
func (c PruneConfig) Validate() error {
	_, err := c.withDefaults()
	return err
}

func checkSparsity(s float64) error {
	if !(s >= 0 && s < 1) { // also refuses NaN
		return fmt.Errorf("sparsity %g is outside [0, 1)", s)
	}
	return nil
}

// LayerSparsity is one layer's share of zero weights after pruning.
type LayerSparsity struct {
	Index    int     `json:"index"`    // position in Model.Layers
	Name     string  `json:"name"`     // "index:kind", as in Summary
	Weights  int     `json:"weights"`  // weights in the layer before pruning
	Zeros    int     `json:"zeros"`    // of those, weights now zero or removed
	Sparsity float64 `json:"sparsity"` // Zeros / Weights
	Units    int     `json:"units"`    // output units (or channels) now
	// RemovedUnits is the number of output units structured pruning removed.
	RemovedUnits int `json:"removed_units,omitempty"`
	// Layout is how the saved model holds the layer (see Layout); Prune
	// leaves it empty, for whoever converts and saves the model to fill in.
	Layout string `json:"layout,omitempty"`
}

// PruneReport describes a pruned model.
type PruneReport struct {
	Method string `json:"method"`
	// Sparsity is the achieved fraction of prunable weights (all weights,
	// not biases) that are zero; weights removed with their unit by
	// structured pruning count as zero.
	Sparsity float64         `json:"sparsity"`
	Layers   []LayerSparsity `json:"layers"`
}

// Prune returns a pruned copy of m; m is never modified. Unstructured methods
// zero weights and set their Param.Mask, so fine-tuning keeps them zero;
// structured pruning returns a smaller model instead. Errors report a
// bad config or a model that cannot be pruned (no weights, or quantized
// layers). Sparse layers are expanded back to dense ones first, their zeros
// masked, so a sparse model can be pruned further.
func Prune(m *Model, cfg PruneConfig) (*Model, PruneReport, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, PruneReport{}, err
	}
	m = denseView(m)
	if _, err := prunableLayers(m); err != nil {
		return nil, PruneReport{}, err
	}
	if cfg.Method == "structured" && hasConv(m) {
		return pruneConvStructured(m, cfg)
	}
	if cfg.Method == "structured" {
		return pruneStructured(m, cfg)
	}
	c := m.Clone()
	p, _ := newPruner(c, cfg)
	p.prune(cfg.Sparsity)
	return c, pruneReport(m, c, cfg.Method), nil
}

// prunableLayers returns the indices of m's layers that hold prunable
// weights. An inference-only layer (quantized: stored in its own form, with
// nothing trainable) makes m unprunable: prune the float model.
func prunableLayers(m *Model) ([]int, error) {
	var idx []int
	for i, l := range m.Layers {
		if _, codec := l.(fileCodec); codec && len(l.Params()) == 0 {
			return nil, fmt.Errorf("layer %d (%s) is inference-only and cannot be pruned: prune the float model", i, l.Spec().Kind)
		}
		if len(prunableWeights(l)) > 0 {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil, fmt.Errorf("the model has no weights to prune")
	}
	return idx, nil
}

func mustPrunable(m *Model) []int {
	idx, err := prunableLayers(m)
	if err != nil {
		panic("core: " + err.Error())
	}
	return idx
}

// prunableWeights returns l's weight matrices (not biases or normalization
// parameters).
func prunableWeights(l Layer) []*Param {
	var ws []*Param
	for _, p := range l.Params() {
		if p.Prunable() {
			ws = append(ws, p)
		}
	}
	return ws
}

// pruner prunes a model's weights in place without structure. It keeps its
// random source across calls, so gradual random pruning is reproducible.
type pruner struct {
	method string
	params []*Param // the prunable weights, layer by layer
	rng    *rand.Rand
}

// newPruner prepares unstructured pruning of m's weights and returns it with
// the current sparsity. Every weight gets a mask (all ones if it had none),
// and masked weights are zeroed first, so the invariant "masked means zero"
// holds whatever the caller did.
func newPruner(m *Model, cfg PruneConfig) (*pruner, float64) {
	p := &pruner{method: cfg.Method, rng: rand.New(rand.NewPCG(cfg.Seed, 0x9e0e))}
	for _, i := range mustPrunable(m) {
		for _, w := range prunableWeights(m.Layers[i]) {
			if w.Mask == nil {
				w.Mask = make([]float32, len(w.W.Data))
				for j := range w.Mask {
					w.Mask[j] = 1
				}
			}
			applyMask(w)
			p.params = append(p.params, w)
		}
	}
	return p, p.sparsity()
}

// sparsity is the fraction of the pruner's weights that are zero.
func (p *pruner) sparsity() float64 {
	var zeros, total int
	for _, w := range p.params {
		zeros += countZeros(w.W.Data)
		total += len(w.W.Data)
	}
	return float64(zeros) / float64(total)
}

// prune zeroes and masks weights until the target sparsity s is reached
// (exactly, when fewer weights were zero before), and returns the achieved
// sparsity of all prunable weights.
func (p *pruner) prune(s float64) float64 {
	switch p.method {
	case "global", "lamp":
		total := 0
		for _, w := range p.params {
			total += len(w.W.Data)
		}
		keys := magnitudeKeys(p.params)
		if p.method == "lamp" {
			keys = lampKeys(p.params)
		}
		maskLowest(p.params, keys, int(math.Round(s*float64(total))))
	case "magnitude":
		for _, w := range p.params {
			ws := []*Param{w}
			maskLowest(ws, magnitudeKeys(ws), int(math.Round(s*float64(len(w.W.Data)))))
		}
	case "random":
		for _, w := range p.params {
			maskRandom(w, int(math.Round(s*float64(len(w.W.Data)))), p.rng)
		}
	default:
		panic("core: unstructured pruner given method " + p.method)
	}
	return p.sparsity()
}

// maskLowest masks the k weights with the lowest keys across params (one
// key per weight, from magnitudeKeys or lampKeys: a score above the
// weight's global index, so ties go to the earlier parameter, then the
// lower index, and the choice is deterministic). Weights that are already
// zero score lowest and always stay masked.
func maskLowest(params []*Param, keys []uint64, k int) {
	if k > len(keys) {
		panic(fmt.Sprintf("core: cannot prune %d of %d weights", k, len(keys)))
	}
	slices.Sort(keys)
	offsets := weightOffsets(params)
	for _, key := range keys[:k] {
		t, i := locate(offsets, int(uint32(key)))
		maskOne(params[t], i)
	}
	for _, w := range params {
		maskZeros(w)
	}
}

// weightOffsets returns the global index of each parameter's first weight,
// and the total count last.
func weightOffsets(params []*Param) []int {
	offsets := make([]int, len(params)+1)
	for i, w := range params {
		offsets[i+1] = offsets[i] + len(w.W.Data)
	}
	return offsets
}

// locate turns a global weight index into a parameter and an index in it.
func locate(offsets []int, g int) (param, i int) {
	t, _ := slices.BinarySearch(offsets, g+1)
	return t - 1, g - offsets[t-1]
}

// magnitudeKeys returns one sort key per weight: |w|'s float32 bits (which
// order like the values, for non-negative floats) above the weight's global
// index, so sorting ranks by magnitude and breaks ties by position.
func magnitudeKeys(params []*Param) []uint64 {
	var keys []uint64
	for _, w := range params {
		for _, v := range w.W.Data {
			bits := math.Float32bits(v) &^ (1 << 31)
			keys = append(keys, uint64(bits)<<32|uint64(len(keys)))
		}
	}
	if len(keys) >= 1<<32 {
		panic("core: too many weights to rank")
	}
	return keys
}

// lampKeys returns one sort key per weight, as magnitudeKeys does, ranking
// by LAMP score: in its layer, w² over the sum of v² for the weights v
// with |v| ≥ |w| (ties in magnitude ordered by index). A layer's largest
// weight scores 1, the highest possible, so no layer is ever emptied, and
// within a layer the order is by magnitude.
func lampKeys(params []*Param) []uint64 {
	var keys []uint64
	for _, w := range params {
		n := len(w.W.Data)
		order := make([]int, n)
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int {
			return cmpAbs(w.W.Data[a], w.W.Data[b])
		})
		score := make([]float64, n)
		var suffix float64
		for j := n - 1; j >= 0; j-- {
			v := float64(w.W.Data[order[j]])
			if suffix += v * v; suffix > 0 {
				score[order[j]] = v * v / suffix
			}
		}
		for _, sc := range score {
			keys = append(keys, uint64(math.Float32bits(float32(sc)))<<32|uint64(len(keys)))
		}
	}
	if len(keys) >= 1<<32 {
		panic("core: too many weights to rank")
	}
	return keys
}

// cmpAbs compares |a| and |b|.
func cmpAbs(a, b float32) int {
	x, y := math.Abs(float64(a)), math.Abs(float64(b))
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// maskRandom masks weights of w drawn uniformly from the non-zero ones until
// k are zero.
func maskRandom(w *Param, k int, r *rand.Rand) {
	var alive []int
	for i, v := range w.W.Data {
		if v != 0 {
			alive = append(alive, i)
		}
	}
	need := k - (len(w.W.Data) - len(alive))
	for j := range max(need, 0) {
		// A partial Fisher–Yates shuffle: alive[:j] holds the draws so far.
		s := j + r.IntN(len(alive)-j)
		alive[j], alive[s] = alive[s], alive[j]
		maskOne(w, alive[j])
	}
	maskZeros(w)
}

func maskOne(w *Param, i int) { w.Mask[i], w.W.Data[i] = 0, 0 }

// maskZeros masks every weight that is zero, so it stays zero in training.
func maskZeros(w *Param) {
	for i, v := range w.W.Data {
		if v == 0 {
			maskOne(w, i)
		}
	}
}

// applyMask zeroes the weights w's mask excludes.
func applyMask(w *Param) {
	for i, k := range w.Mask {
		w.W.Data[i] *= k
	}
}

func countZeros(v []float32) int {
	n := 0
	for _, x := range v {
		if x == 0 {
			n++
		}
	}
	return n
}

// pruneReport describes pruned, a pruned form of orig with the same layer
// list (structured pruning shrinks layers but keeps their positions).
func pruneReport(orig, pruned *Model, method string) PruneReport {
	r := PruneReport{Method: method}
	var zeros, total int
	for _, i := range mustPrunable(pruned) {
		ls := LayerSparsity{Index: i, Name: strconv.Itoa(i) + ":" + pruned.Layers[i].Spec().Kind}
		for j, after := range prunableWeights(pruned.Layers[i]) {
			before := prunableWeights(orig.Layers[i])[j]
			ls.Weights += len(before.W.Data)
			ls.Zeros += len(before.W.Data) - (len(after.W.Data) - countZeros(after.W.Data))
			if j == 0 {
				ls.Units, ls.RemovedUnits = after.W.Shape[0], before.W.Shape[0]-after.W.Shape[0]
			}
		}
		ls.Sparsity = float64(ls.Zeros) / float64(ls.Weights)
		r.Layers = append(r.Layers, ls)
		zeros += ls.Zeros
		total += ls.Weights
	}
	r.Sparsity = float64(zeros) / float64(total)
	return r
}

// pruneStructured removes the hidden units whose incoming weights have the
// smallest norms. A removed unit whose incoming weights are all zero is a
// constant, act(bias); that constant's contribution is folded into the next
// layer's bias, so removing such units changes no output.
func pruneStructured(m *Model, cfg PruneConfig) (*Model, PruneReport, error) {
	c := m.Clone()
	var dense []int
	for i, l := range c.Layers {
		switch {
		case isDense(l):
			dense = append(dense, i)
		case len(l.Params()) > 0:
			return nil, PruneReport{}, fmt.Errorf("structured pruning applies to dense (mlp) models; layer %d is %s", i, l.Spec().Kind)
		}
	}
	for j := range len(dense) - 1 {
		for _, l := range c.Layers[dense[j]+1 : dense[j+1]] {
			switch l.(type) {
			case *Activation, *Dropout:
			default:
				return nil, PruneReport{}, fmt.Errorf("structured pruning needs dense layers joined by activations; layer %s sits between two", l.Spec().Kind)
			}
		}
	}
	var sizes []string
	for j := range len(dense) - 1 {
		d, next := c.Layers[dense[j]].(*Dense), c.Layers[dense[j+1]].(*Dense)
		remove := min(int(math.Round(cfg.Sparsity*float64(d.Out))), d.Out-1)
		keep := keptRows(d.Weight.W.Data, d.Out, cfg.Norm, remove)
		foldConstantUnits(d, next, keep, c.Layers[dense[j]+1:dense[j+1]])
		c.Layers[dense[j]] = d.keepRows(keep)
		c.Layers[dense[j+1]] = next.keepCols(keep)
		sizes = append(sizes, strconv.Itoa(len(keep)))
	}
	if hidden, err := parseMLP(m.Arch); err == nil && len(hidden) == len(sizes) && len(sizes) > 0 {
		c.Arch = "mlp:" + strings.Join(sizes, ",")
	}
	return c, pruneReport(m, c, cfg.Method), nil
}

// keptRows ranks the rows of w (rows × cols: a layer's output units or
// filters, each with its incoming weights) by norm and returns, in ascending
// order, the rows left after removing the `remove` smallest (ties: the lower
// index goes first).
func keptRows(w []float32, rows int, norm string, remove int) []int {
	type unit struct {
		norm float64
		i    int
	}
	cols := len(w) / rows
	units := make([]unit, rows)
	for o := range rows {
		var s float64
		for _, v := range w[o*cols : (o+1)*cols] {
			if norm == "l2" {
				s += float64(v) * float64(v)
			} else {
				s += math.Abs(float64(v))
			}
		}
		units[o] = unit{s, o}
	}
	slices.SortFunc(units, func(a, b unit) int {
		if a.norm != b.norm {
			if a.norm < b.norm {
				return -1
			}
			return 1
		}
		return a.i - b.i
	})
	keep := make([]int, 0, rows-remove)
	for _, u := range units[remove:] {
		keep = append(keep, u.i)
	}
	slices.Sort(keep)
	return keep
}

// foldConstantUnits adds to next's bias the output of every unit of d that is
// about to be removed and whose incoming weights are all zero: such a unit
// always emits between(bias), whatever the input.
func foldConstantUnits(d, next *Dense, keep []int, between []Layer) {
	var consts []int
	for o := range d.Out {
		if _, kept := slices.BinarySearch(keep, o); !kept && countZeros(d.Weight.W.Data[o*d.In:(o+1)*d.In]) == d.In {
			consts = append(consts, o)
		}
	}
	if len(consts) == 0 {
		return
	}
	x := NewTensor(1, len(consts))
	for j, o := range consts {
		x.Data[j] = d.Bias.W.Data[o]
	}
	for _, l := range between {
		x = l.Forward(x, false)
	}
	for r := range next.Out {
		row := next.Weight.W.Data[r*next.In : (r+1)*next.In]
		for j, o := range consts {
			next.Bias.W.Data[r] += x.Data[j] * row[o]
		}
	}
}

// keepRows returns a copy of d with only the given output units.
func (d *Dense) keepRows(rows []int) *Dense {
	return &Dense{In: d.In, Out: len(rows),
		Weight: gatherParam(d.Weight, rowIndices(rows, d.In), len(rows), d.In),
		Bias:   gatherParam(d.Bias, rows, len(rows))}
}

// keepCols returns a copy of d with only the given input columns.
func (d *Dense) keepCols(cols []int) *Dense {
	idx := make([]int, 0, d.Out*len(cols))
	for o := range d.Out {
		for _, i := range cols {
			idx = append(idx, o*d.In+i)
		}
	}
	return &Dense{In: len(cols), Out: d.Out,
		Weight: gatherParam(d.Weight, idx, d.Out, len(cols)),
		Bias:   &Param{Name: "bias", W: d.Bias.W.Clone(), G: NewTensor(d.Out)}}
}

// SensitivitySparsities are the default sparsities of Sensitivity.
var SensitivitySparsities = []float64{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95}

// SensitivityPoint is a model's accuracy with one layer pruned to Sparsity.
type SensitivityPoint struct {
	Sparsity float64 `json:"sparsity"`
	Accuracy float64 `json:"accuracy"`
	Loss     float64 `json:"loss"`
}

// LayerSensitivity is how accuracy falls as one layer alone is pruned.
type LayerSensitivity struct {
	Name    string             `json:"name"` // "index:kind", as in Summary
	Weights int                `json:"weights"`
	Points  []SensitivityPoint `json:"points"` // one per requested sparsity, in order
}

// Sensitivity magnitude-prunes each dense layer alone at each sparsity (nil
// means SensitivitySparsities) and evaluates the model on val, without
// fine-tuning: the data behind choosing a sparsity per layer. m is not
// modified; its sparse layers count as dense ones with their zeros. It stops early with ctx's error.
func Sensitivity(ctx context.Context, m *Model, val *Dataset, sparsities []float64) ([]LayerSensitivity, error) {
	if sparsities == nil {
		sparsities = SensitivitySparsities
	}
	for _, s := range sparsities {
		if err := checkSparsity(s); err != nil {
			return nil, err
		}
	}
	if val.Len() == 0 {
		return nil, fmt.Errorf("the validation set is empty")
	}
	if val.Features() != numel(m.InShape) {
		return nil, fmt.Errorf("the model takes %d features, the data has %d", numel(m.InShape), val.Features())
	}
	m = denseView(m)
	idx, err := prunableLayers(m)
	if err != nil {
		return nil, err
	}
	c := m.Clone()
	if c.Norm != nil {
		val = c.Norm.Transform(val) // once, rather than in every Evaluate
	}
	var out []LayerSensitivity
	for _, i := range idx {
		ws := prunableWeights(c.Layers[i])
		orig := make([][]float32, len(ws))
		for j, w := range ws {
			orig[j] = slices.Clone(w.W.Data)
		}
		keys := magnitudeKeys(ws)
		slices.Sort(keys)
		offsets := weightOffsets(ws)
		ls := LayerSensitivity{Name: strconv.Itoa(i) + ":" + c.Layers[i].Spec().Kind, Weights: len(keys)}
		for _, s := range sparsities {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			for j, w := range ws {
				copy(w.W.Data, orig[j])
			}
			for _, key := range keys[:int(math.Round(s*float64(len(keys))))] {
				t, k := locate(offsets, int(uint32(key)))
				ws[t].W.Data[k] = 0
			}
			mt := evaluateStandardized(c, val)
			ls.Points = append(ls.Points, SensitivityPoint{Sparsity: s, Accuracy: mt.Accuracy, Loss: mt.Loss})
		}
		for j, w := range ws {
			copy(w.W.Data, orig[j])
		}
		out = append(out, ls)
	}
	return out, nil
}

func isDense(l Layer) bool {
	_, ok := l.(*Dense)
	return ok
}
