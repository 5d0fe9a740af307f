package core

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// pruneModel is an untrained mlp:32,16 on 20 features with 3 classes.
func pruneModel(t *testing.T, seed uint64) *Model {
	t.Helper()
	m, err := Build("mlp:32,16", []int{20}, []string{"a", "b", "c"}, BuildOptions{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func denseOf(t *testing.T, m *Model) []*Dense {
	t.Helper()
	var ds []*Dense
	for _, l := range m.Layers {
		if d, ok := l.(*Dense); ok {
			ds = append(ds, d)
		}
	}
	return ds
}

// checkMaskInvariant fails unless every dense weight's mask is set, is 0 or
// 1, and is 0 exactly where the weight is zero.
func checkMaskInvariant(t *testing.T, m *Model) {
	t.Helper()
	for i, d := range denseOf(t, m) {
		w := d.Weight
		if len(w.Mask) != len(w.W.Data) {
			t.Fatalf("layer %d: mask has %d entries for %d weights", i, len(w.Mask), len(w.W.Data))
		}
		for j, k := range w.Mask {
			if (k != 0 && k != 1) || (k == 0) != (w.W.Data[j] == 0) {
				t.Fatalf("layer %d weight %d: mask %g, value %g", i, j, k, w.W.Data[j])
			}
		}
		if d.Bias.Mask != nil {
			t.Fatalf("layer %d: the bias was masked", i)
		}
	}
}

func TestPruneReachesExactSparsity(t *testing.T) {
	for _, method := range []string{"magnitude", "global", "lamp", "random"} {
		for _, s := range []float64{0, 0.333, 0.5, 0.9, 0.99} {
			m := pruneModel(t, 1)
			p, rep, err := Prune(m, PruneConfig{Method: method, Sparsity: s, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			checkMaskInvariant(t, p)
			var zeros, total int
			for i, d := range denseOf(t, p) {
				n := len(d.Weight.W.Data)
				z := countZeros(d.Weight.W.Data)
				zeros, total = zeros+z, total+n
				if method != "global" && method != "lamp" && z != int(math.Round(s*float64(n))) {
					t.Errorf("%s %.3f: layer %d has %d zeros of %d, want %d", method, s, i, z, n, int(math.Round(s*float64(n))))
				}
				if ls := rep.Layers[i]; ls.Zeros != z || ls.Weights != n || ls.Units != d.Out || ls.Sparsity != float64(z)/float64(n) {
					t.Errorf("%s %.3f: report %+v for %d of %d zeros", method, s, ls, z, n)
				}
			}
			if want := int(math.Round(s * float64(total))); (method == "global" || method == "lamp") && zeros != want {
				t.Errorf("%s %.3f: %d zeros of %d, want %d", method, s, zeros, total, want)
			}
			if rep.Method != method || rep.Sparsity != float64(zeros)/float64(total) {
				t.Errorf("%s %.3f: report method %q sparsity %g, counted %d/%d", method, s, rep.Method, rep.Sparsity, zeros, total)
			}
		}
	}
}

// TestPruneRanksByMagnitude checks that every pruned weight is no larger than
// every kept one: within each layer for magnitude and lamp, across layers
// for global.
func TestPruneRanksByMagnitude(t *testing.T) {
	m := pruneModel(t, 2)
	for _, method := range []string{"magnitude", "global", "lamp"} {
		p, _, err := Prune(m, PruneConfig{Method: method, Sparsity: 0.7})
		if err != nil {
			t.Fatal(err)
		}
		maxPruned, minKept := 0.0, math.Inf(1)
		for i, d := range denseOf(t, p) {
			if method != "global" {
				maxPruned, minKept = 0, math.Inf(1)
			}
			orig := denseOf(t, m)[i].Weight.W.Data
			for j, v := range d.Weight.W.Data {
				a := math.Abs(float64(orig[j]))
				if v == 0 {
					maxPruned = max(maxPruned, a)
				} else {
					minKept = min(minKept, a)
				}
			}
			if method != "global" && maxPruned > minKept {
				t.Fatalf("%s: layer %d pruned |w| = %g but kept %g", method, i, maxPruned, minKept)
			}
		}
		if maxPruned > minKept {
			t.Fatalf("global: pruned |w| = %g but kept %g", maxPruned, minKept)
		}
	}
}

// TestLAMPKeepsEveryLayer: when one layer's weights are much smaller than
// the others' (here the output layer, scaled down 100 times, as after
// training with weight decay), global pruning at 95% empties it and cuts
// the network, while LAMP keeps its largest weights and prunes the layers
// by their own scale. LAMP's scores follow Lee et al.'s definition.
func TestLAMPKeepsEveryLayer(t *testing.T) {
	m := pruneModel(t, 3)
	out := denseOf(t, m)[2].Weight.W.Data
	for i := range out {
		out[i] *= 0.01
	}
	keptOf := func(method string) []int {
		p, _, err := Prune(m, PruneConfig{Method: method, Sparsity: 0.95})
		if err != nil {
			t.Fatal(err)
		}
		var z []int
		for _, d := range denseOf(t, p) {
			z = append(z, len(d.Weight.W.Data)-countZeros(d.Weight.W.Data))
		}
		return z
	}
	if kept := keptOf("global"); kept[2] != 0 {
		t.Fatalf("global kept %v weights per layer: the test needs it to empty the output layer", kept)
	}
	kept := keptOf("lamp")
	for i, k := range kept {
		if k == 0 {
			t.Errorf("lamp emptied layer %d (kept %v)", i, kept)
		}
	}
	// The scores: w² over the sum of the squares of the weights at least as large.
	w := &Param{Name: "weight", W: TensorFrom([]float32{3, -1, 2, 0}, 1, 4)}
	keys := lampKeys([]*Param{w})
	want := []float64{1, 1.0 / 14, 4.0 / 13, 0}
	for i, k := range keys {
		if got := float64(math.Float32frombits(uint32(k >> 32))); math.Abs(got-want[i]) > 1e-6 {
			t.Errorf("LAMP score of weight %d: %g, want %g", i, got, want[i])
		}
	}
}

func TestPruneBreaksTiesByPosition(t *testing.T) {
	m := pruneModel(t, 1)
	for _, d := range denseOf(t, m) {
		for j := range d.Weight.W.Data {
			d.Weight.W.Data[j] = float32(1 - 2*(j%2)) // ±1: all equal in magnitude
		}
	}
	p, _, _ := Prune(m, PruneConfig{Method: "magnitude", Sparsity: 0.25})
	for i, d := range denseOf(t, p) {
		k := int(math.Round(0.25 * float64(len(d.Weight.W.Data))))
		for j, v := range d.Weight.W.Data {
			if (v == 0) != (j < k) {
				t.Fatalf("layer %d: weight %d is %g; ties must prune the first %d", i, j, v, k)
			}
		}
	}
}

func TestPruneLeavesInputAlone(t *testing.T) {
	m := pruneModel(t, 3)
	// A mask already in place must survive too.
	w := denseOf(t, m)[0].Weight
	w.Mask = make([]float32, len(w.W.Data))
	for i := range w.Mask {
		w.Mask[i] = float32(i % 3 / 2)
		w.W.Data[i] *= w.Mask[i]
	}
	before := m.Clone()
	for _, method := range PruneMethods {
		if _, _, err := Prune(m, PruneConfig{Method: method, Sparsity: 0.8}); err != nil {
			t.Fatal(err)
		}
	}
	if m.Arch != before.Arch || len(m.Layers) != len(before.Layers) {
		t.Fatal("Prune changed the input model's architecture")
	}
	for i, p := range m.Params() {
		q := before.Params()[i]
		if !slices.Equal(p.W.Data, q.W.Data) || !slices.Equal(p.Mask, q.Mask) {
			t.Fatalf("Prune modified parameter %d of its input", i)
		}
	}
}

func TestPruneRandomIsDeterministic(t *testing.T) {
	m := pruneModel(t, 1)
	a, _, _ := Prune(m, PruneConfig{Method: "random", Sparsity: 0.6, Seed: 5})
	b, _, _ := Prune(m, PruneConfig{Method: "random", Sparsity: 0.6, Seed: 5})
	c, _, _ := Prune(m, PruneConfig{Method: "random", Sparsity: 0.6, Seed: 6})
	for i, p := range a.Params() {
		if !slices.Equal(p.W.Data, b.Params()[i].W.Data) {
			t.Fatalf("parameter %d differs between two random prunings with one seed", i)
		}
	}
	if slices.Equal(a.Params()[0].Mask, c.Params()[0].Mask) {
		t.Fatal("different seeds gave the same random mask")
	}
	mag, _, _ := Prune(m, PruneConfig{Method: "magnitude", Sparsity: 0.6})
	if slices.Equal(a.Params()[0].Mask, mag.Params()[0].Mask) {
		t.Fatal("random pruning chose exactly the magnitude mask")
	}
}

func TestPruneNeverRevivesWeights(t *testing.T) {
	m := pruneModel(t, 4)
	half, _, _ := Prune(m, PruneConfig{Method: "random", Sparsity: 0.5, Seed: 1})
	more, _, _ := Prune(half, PruneConfig{Method: "magnitude", Sparsity: 0.8})
	less, rep, _ := Prune(half, PruneConfig{Method: "magnitude", Sparsity: 0.3})
	for i, d := range denseOf(t, half) {
		for j, k := range d.Weight.Mask {
			if k == 0 && (denseOf(t, more)[i].Weight.Mask[j] != 0 || denseOf(t, less)[i].Weight.Mask[j] != 0) {
				t.Fatalf("layer %d weight %d was pruned, then revived", i, j)
			}
		}
	}
	// Asking for less than the model already has keeps what it has, and says so.
	if rep.Sparsity < 0.49 {
		t.Fatalf("re-pruning a 50%% sparse model to 30%% reports sparsity %.3f", rep.Sparsity)
	}
}

func TestPruneRejectsBadConfigs(t *testing.T) {
	m := pruneModel(t, 1)
	for _, c := range []struct {
		cfg  PruneConfig
		want string
	}{
		{PruneConfig{Method: "lottery"}, "unknown pruning method"},
		{PruneConfig{Method: "magnitude", Norm: "l2"}, "only to structured"},
		{PruneConfig{Method: "structured", Norm: "l3"}, "unknown norm"},
		{PruneConfig{Sparsity: 1}, "outside [0, 1)"},
		{PruneConfig{Sparsity: -0.1}, "outside [0, 1)"},
		{PruneConfig{Sparsity: math.NaN()}, "outside [0, 1)"},
	} {
		if _, _, err := Prune(m, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err %v, want %q", c.cfg, err, c.want)
		}
	}
}

// TestPruneSparseModels: a sparse model (from ToSparse or a file) prunes and
// analyses as the masked dense model it came from.
func TestPruneSparseModels(t *testing.T) {
	m := pruneModel(t, 1)
	p90, _, _ := Prune(m, PruneConfig{Method: "global", Sparsity: 0.9})
	sp := ToSparse(p90)
	if isDense(sp.Layers[0]) {
		t.Fatal("ToSparse kept a 90% sparse layer dense")
	}
	for _, method := range []string{"global", "random"} {
		want, wrep, _ := Prune(p90, PruneConfig{Method: method, Sparsity: 0.95, Seed: 1})
		got, grep, err := Prune(sp, PruneConfig{Method: method, Sparsity: 0.95, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if wrep.Sparsity != grep.Sparsity || !slices.Equal(wrep.Layers, grep.Layers) {
			t.Fatalf("%s: reports %+v and %+v", method, wrep, grep)
		}
		for i, p := range want.Params() {
			if !slices.Equal(p.W.Data, got.Params()[i].W.Data) || !slices.Equal(p.Mask, got.Params()[i].Mask) {
				t.Fatalf("%s: parameter %d differs between pruning the sparse and the dense model", method, i)
			}
		}
	}
	val := &Dataset{X: randTensor(rand.New(rand.NewPCG(1, 1)), 30, 20).Data, SampleShape: []int{20}, Classes: m.Classes}
	for i := range 30 {
		val.Y = append(val.Y, i%3)
	}
	a, _ := Sensitivity(context.Background(), p90, val, []float64{0, 0.95})
	b, err := Sensitivity(context.Background(), sp, val, []float64{0, 0.95})
	if err != nil || !slices.EqualFunc(a, b, func(x, y LayerSensitivity) bool { return x.Name == y.Name && slices.Equal(x.Points, y.Points) }) {
		t.Fatalf("sensitivity of the sparse model %+v (%v), of the dense %+v", b, err, a)
	}
	if !slices.Equal(sp.Layers[0].(*SparseDense).weights(), ToSparse(sp).Layers[0].(*SparseDense).weights()) {
		t.Fatal("ToSparse of a sparse model changed its weights")
	}
}

func TestStructuredPruneShrinksLayers(t *testing.T) {
	m := pruneModel(t, 1)
	p, rep, err := Prune(m, PruneConfig{Method: "structured", Sparsity: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	ds := denseOf(t, p)
	if p.Arch != "mlp:16,8" || ds[0].In != 20 || ds[0].Out != 16 || ds[1].In != 16 || ds[1].Out != 8 || ds[2].In != 8 || ds[2].Out != 3 {
		t.Fatalf("structured 50%% of mlp:32,16 gave %s with layers %v", p.Arch, p.Summarize().Layers)
	}
	if s := p.Summarize(); s.Params != 20*16+16+16*8+8+8*3+3 || s.MACs != 20*16+16*8+8*3 {
		t.Fatalf("summary %+v", s)
	}
	wantZeros := []int{20 * 16, 32*16 - 16*8, 16*3 - 8*3}
	for i, ls := range rep.Layers {
		if ls.Zeros != wantZeros[i] || ls.RemovedUnits != []int{16, 8, 0}[i] {
			t.Errorf("layer %d report %+v, want %d zeros", i, ls, wantZeros[i])
		}
	}
	// At least one unit stays, whatever the sparsity.
	p, _, _ = Prune(m, PruneConfig{Method: "structured", Sparsity: 0.999})
	if p.Arch != "mlp:1,1" {
		t.Fatalf("structured 99.9%% gave %s", p.Arch)
	}
}

// TestStructuredPruneRemovesDeadUnitsExactly: units whose incoming weights are
// all zero are constants; removing them (folding the constant into the next
// bias) must leave every output unchanged, for any activation.
func TestStructuredPruneRemovesDeadUnitsExactly(t *testing.T) {
	for _, act := range []string{"relu", "sigmoid", "gelu"} {
		m, err := Build("mlp:8,6", []int{5}, []string{"a", "b", "c"}, BuildOptions{Seed: 9, Activation: act, Dropout: 0.2})
		if err != nil {
			t.Fatal(err)
		}
		ds := denseOf(t, m)
		dead := map[int][]int{0: {1, 2, 5, 6}, 1: {0, 4, 5}}
		for li, units := range dead {
			d := ds[li]
			for o := range d.Out {
				d.Bias.W.Data[o] = 0.1 * float32(o+1) // non-zero biases, to exercise the folding
			}
			for _, o := range units {
				clear(d.Weight.W.Data[o*d.In : (o+1)*d.In])
			}
		}
		x := randTensor(rand.New(rand.NewPCG(1, 2)), 16, 5).Data
		want := slices.Clone(m.Predict(x).Data)
		p, _, err := Prune(m, PruneConfig{Method: "structured", Sparsity: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		if p.Arch != "mlp:4,3" {
			t.Fatalf("%s: got %s", act, p.Arch)
		}
		got := p.Predict(x).Data
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-5 {
				t.Fatalf("%s: output %d changed from %g to %g", act, i, want[i], got[i])
			}
		}
	}
}

func TestStructuredPruneNorms(t *testing.T) {
	// Unit 0: [1 1 1 1] has L1 4, L2 2; unit 1: [3 0 0 0] has L1 3, L2 3.
	m, _ := Build("mlp:2", []int{4}, []string{"a", "b"}, BuildOptions{Seed: 1})
	d := denseOf(t, m)[0]
	copy(d.Weight.W.Data, []float32{1, 1, 1, 1, 3, 0, 0, 0})
	for norm, kept := range map[string]float32{"l1": 1, "l2": 3} {
		p, _, err := Prune(m, PruneConfig{Method: "structured", Norm: norm, Sparsity: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		if got := denseOf(t, p)[0].Weight.W.Data[0]; got != kept {
			t.Errorf("%s kept the unit starting %g, want %g", norm, got, kept)
		}
	}
}

func TestMasksSurviveFineTuning(t *testing.T) {
	train, val := rings(300, 1), rings(100, 2)
	base, err := Build("mlp:16,16", []int{2}, train.Classes, BuildOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	base.Norm = FitStandardizer(train)
	for _, kind := range Optimizers {
		for _, sched := range []*GradualSchedule{nil, {Every: 3}} {
			cfg := TrainConfig{Epochs: 3, BatchSize: 32, Optimizer: OptimizerConfig{Kind: kind, WeightDecay: 0.01, LR: 0.05}}
			p, rep, _, err := FineTune(context.Background(), base, train, val, cfg, PruneConfig{Method: "global", Sparsity: 0.6}, sched, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkMaskInvariant(t, p)
			zeros, total := 0, 0
			for _, d := range denseOf(t, p) {
				zeros += countZeros(d.Weight.W.Data)
				total += len(d.Weight.W.Data)
			}
			if want := int(math.Round(0.6 * float64(total))); zeros != want || rep.Sparsity != float64(zeros)/float64(total) {
				t.Errorf("%s gradual=%v: %d zeros after fine-tuning (report %.4f), want %d", kind, sched != nil, zeros, rep.Sparsity, want)
			}
		}
	}
}

func TestPolynomialSparsity(t *testing.T) {
	g := GradualSchedule{Initial: 0, Final: 0.8, Begin: 100, End: 1100, Every: 100}
	for _, c := range []struct {
		step int
		want float64
	}{
		{0, 0}, {99, 0}, {100, 0}, {199, 0},
		{300, 0.8 - 0.8*0.512}, // (1 − 0.2)³ = 0.512
		{600, 0.7},             // halfway: 0.8 − 0.8·0.125
		{650, 0.7},             // held until the next pruning step
		{1000, 0.8 - 0.8*0.001},
		{1099, 0.8 - 0.8*0.001},
		{1100, 0.8}, {5000, 0.8},
	} {
		if got := PolynomialSparsity(c.step, g); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("step %d: sparsity %.6f, want %.6f", c.step, got, c.want)
		}
	}
	g = GradualSchedule{Initial: 0.5, Final: 0.9, End: 40} // Every defaults to (40 − 0)/20 = 2
	if got := PolynomialSparsity(0, g); got != 0.5 {
		t.Errorf("at Begin: %g, want the initial 0.5", got)
	}
	if got, want := PolynomialSparsity(3, g), 0.9-0.4*math.Pow(1-2.0/40, 3); math.Abs(got-want) > 1e-12 {
		t.Errorf("step 3 with the default Δt: %g, want %g", got, want)
	}
}

func TestGradualFineTuneFollowsSchedule(t *testing.T) {
	train, val := rings(320, 1), rings(100, 2)
	base, _ := Build("mlp:16,16", []int{2}, train.Classes, BuildOptions{Seed: 2})
	base.Norm = FitStandardizer(train)
	var seen []Stats
	steps := 0
	cfg := TrainConfig{Epochs: 4, BatchSize: 32, AfterStep: func(int) { steps++ }}
	// 10 steps per epoch, 40 in all; End defaults to 30, Every to 1.
	p, rep, trep, err := FineTune(context.Background(), base, train, val, cfg,
		PruneConfig{Method: "magnitude", Sparsity: 0.75}, &GradualSchedule{}, func(s Stats) error {
			seen = append(seen, s)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if steps != 40 || trep.Epochs != 4 {
		t.Fatalf("the caller's AfterStep ran %d times in %d epochs", steps, trep.Epochs)
	}
	last := 0.0
	for _, s := range seen {
		if s.Sparsity < last {
			t.Fatalf("sparsity fell from %.3f to %.3f", last, s.Sparsity)
		}
		last = s.Sparsity
		step := (s.Epoch-1)*10 + s.Step - 1
		if want := map[bool]string{true: PhaseFineTune, false: PhasePruning}[step >= 30]; s.Phase != want {
			t.Fatalf("step %d: phase %q, want %q", step, s.Phase, want)
		}
	}
	if mid := seen[14]; mid.Sparsity <= 0.2 || mid.Sparsity >= 0.75 {
		t.Fatalf("halfway through the schedule sparsity is %.3f", mid.Sparsity)
	}
	if math.Abs(rep.Sparsity-0.75) > 0.01 || last != rep.Sparsity {
		t.Fatalf("final sparsity %.4f, last recorded %.4f, want 0.75", rep.Sparsity, last)
	}
	checkMaskInvariant(t, p)
	if _, _, _, err := FineTune(context.Background(), base, train, val, cfg, PruneConfig{Method: "structured", Sparsity: 0.5}, &GradualSchedule{}, nil); err == nil {
		t.Fatal("gradual structured pruning was accepted")
	}
}

func TestIterativePruneRewinds(t *testing.T) {
	train := rings(200, 1)
	init, _ := Build("mlp:16,16", []int{2}, train.Classes, BuildOptions{Seed: 3})
	init.Norm = FitStandardizer(train)
	trained := init.Clone()
	if _, err := Train(context.Background(), trained, train, nil, TrainConfig{Epochs: 5}, nil); err != nil {
		t.Fatal(err)
	}
	// A vanishing learning rate makes retraining a no-op, so the result must
	// be exactly the rewound weights under the final mask.
	cfg := TrainConfig{Epochs: 1, Optimizer: OptimizerConfig{Kind: "sgd", LR: 1e-30}}
	var phases []string
	p, rep, trep, err := IterativePrune(context.Background(), trained, train, nil, cfg,
		PruneConfig{Method: "global", Sparsity: 0.75}, RewindConfig{Weights: init, Rate: 0.5}, func(s Stats) error {
			if len(phases) == 0 || phases[len(phases)-1] != s.Phase {
				phases = append(phases, s.Phase)
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(phases, []string{"round 1/2", "round 2/2"}) || trep.Epochs != 2 {
		t.Fatalf("phases %v over %d epochs, want two rounds of one epoch", phases, trep.Epochs)
	}
	if math.Abs(rep.Sparsity-0.75) > 1e-3 {
		t.Fatalf("sparsity %.4f, want 0.75", rep.Sparsity)
	}
	checkMaskInvariant(t, p)
	for i, q := range p.Params() {
		r := init.Params()[i]
		for j, v := range q.W.Data {
			if want := r.W.Data[j] * maskAt(q, j); math.Abs(float64(v-want)) > 1e-20 {
				t.Fatalf("parameter %d[%d] = %g, want the rewound %g", i, j, v, want)
			}
		}
	}
	// Round one ranked the trained weights; round two ranked the rewound
	// ones: of round one's survivors, those dropped in round two must be
	// no larger at initialization than those kept.
	round1, _, _ := Prune(trained, PruneConfig{Method: "global", Sparsity: 0.5})
	maxDropped, minKept := 0.0, math.Inf(1)
	for i, d := range denseOf(t, p) {
		for j, k := range d.Weight.Mask {
			a := math.Abs(float64(denseOf(t, init)[i].Weight.W.Data[j]))
			switch {
			case k == 1 && denseOf(t, round1)[i].Weight.Mask[j] == 0:
				t.Fatalf("layer %d weight %d survived round two but not round one", i, j)
			case k == 1:
				minKept = min(minKept, a)
			case denseOf(t, round1)[i].Weight.Mask[j] == 1:
				maxDropped = max(maxDropped, a)
			}
		}
	}
	if maxDropped > minKept {
		t.Fatalf("round two dropped an initial |w| of %g but kept %g", maxDropped, minKept)
	}
	if _, _, _, err := IterativePrune(context.Background(), trained, train, nil, cfg,
		PruneConfig{Method: "random", Sparsity: 0.5}, RewindConfig{Weights: init}, nil); err == nil {
		t.Fatal("iterative random pruning was accepted")
	}
	other, _ := Build("mlp:8", []int{2}, train.Classes, BuildOptions{})
	if _, _, _, err := IterativePrune(context.Background(), trained, train, nil, cfg,
		PruneConfig{Sparsity: 0.5}, RewindConfig{Weights: other}, nil); err == nil {
		t.Fatal("rewind weights of another architecture were accepted")
	}
}

func maskAt(p *Param, j int) float32 {
	if p.Mask == nil {
		return 1
	}
	return p.Mask[j]
}

func TestSensitivity(t *testing.T) {
	m, _, err := trainRings(t, 1, TrainConfig{Epochs: 20, BatchSize: 32, Optimizer: OptimizerConfig{LR: 0.01}})
	if err != nil {
		t.Fatal(err)
	}
	before := m.Clone()
	val := rings(300, 4)
	sens, err := Sensitivity(context.Background(), m, val, []float64{0, 0.5, 0.95})
	if err != nil {
		t.Fatal(err)
	}
	if len(sens) != 3 || sens[0].Name != "0:dense" || sens[0].Weights != 2*16 {
		t.Fatalf("layers %+v", sens)
	}
	acc := Evaluate(m, val).Accuracy
	for _, ls := range sens {
		if len(ls.Points) != 3 || ls.Points[0].Accuracy != acc || ls.Points[2].Sparsity != 0.95 {
			t.Fatalf("%s: points %+v, unpruned accuracy %.3f", ls.Name, ls.Points, acc)
		}
	}
	// 95% of the first layer leaves 2 of its 32 weights: the rings are lost.
	if got := sens[0].Points[2].Accuracy; got > acc-0.2 {
		t.Fatalf("first layer at 95%%: accuracy %.3f, unpruned %.3f", got, acc)
	}
	for i, p := range m.Params() {
		if !slices.Equal(p.W.Data, before.Params()[i].W.Data) {
			t.Fatal("Sensitivity modified its input")
		}
	}
	if _, err := Sensitivity(context.Background(), m, val, []float64{1.5}); err == nil {
		t.Fatal("sparsity 1.5 was accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Sensitivity(ctx, m, val, nil); err != context.Canceled {
		t.Fatalf("cancelled: err %v", err)
	}
}

func TestPruneConvolutions(t *testing.T) {
	m, err := Build("cnn:4,8", []int{8, 8, 1}, []string{"a", "b"}, BuildOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	p, rep, err := Prune(m, PruneConfig{Method: "magnitude", Sparsity: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for i, l := range p.Layers {
		for _, q := range l.Params() {
			z, n := countZeros(q.W.Data), len(q.W.Data)
			if q.Prunable() && z != int(math.Round(0.5*float64(n))) {
				t.Errorf("layer %d (%s) %s: %d of %d zero", i, l.Spec().Kind, q.Name, z, n)
			}
			if !q.Prunable() && q.Mask != nil {
				t.Errorf("layer %d (%s): %s was masked", i, l.Spec().Kind, q.Name)
			}
		}
	}
	for _, ls := range rep.Layers {
		kinds[strings.SplitN(ls.Name, ":", 2)[1]] = true
	}
	if !kinds["conv"] || !kinds["dense"] {
		t.Fatalf("report layers %+v", rep.Layers)
	}
	if _, _, err := Prune(m, PruneConfig{Method: "structured", Sparsity: 0.5}); err != nil {
		t.Fatalf("structured pruning of a CNN: %v", err) // filters: see prune_conv_test.go
	}
}

// TestGradualFineTuneWithEarlyStopping: early stopping restores weights saved
// at a lower sparsity; the masks must still hold and the target be reached.
func TestGradualFineTuneWithEarlyStopping(t *testing.T) {
	train, val := rings(300, 1), rings(100, 2)
	base, _ := Build("mlp:16,16", []int{2}, train.Classes, BuildOptions{Seed: 1})
	base.Norm = FitStandardizer(train)
	if _, err := Train(context.Background(), base, train, val, TrainConfig{Epochs: 20, Optimizer: OptimizerConfig{LR: 0.01}}, nil); err != nil {
		t.Fatal(err)
	}
	// 10 steps per epoch: the masks grow through epochs 1 to 3, and with
	// this seed epoch 1 stays the best, so it is restored under epoch 3's masks.
	cfg := TrainConfig{Epochs: 12, BatchSize: 32, Patience: 2, Optimizer: OptimizerConfig{LR: 0.02}}
	p, rep, trep, err := FineTune(context.Background(), base, train, val, cfg, PruneConfig{Method: "global", Sparsity: 0.9},
		&GradualSchedule{End: 29, Every: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(trep.Stopped, "after epoch 3") || trep.History[0].Sparsity > 0.6 {
		t.Fatalf("stopped %q, epoch 1 at sparsity %.2f; this test needs epoch 1 restored after epoch 3",
			trep.Stopped, trep.History[0].Sparsity)
	}
	checkMaskInvariant(t, p)
	if math.Abs(rep.Sparsity-0.9) > 1e-3 {
		t.Fatalf("sparsity %.4f after early stopping, want 0.9", rep.Sparsity)
	}
}

func TestFineTuneSparseModel(t *testing.T) {
	train, val := rings(300, 1), rings(100, 2)
	base, _ := Build("mlp:16,16", []int{2}, train.Classes, BuildOptions{Seed: 1})
	base.Norm = FitStandardizer(train)
	p, _, _ := Prune(base, PruneConfig{Method: "global", Sparsity: 0.95})
	sp := ToSparse(p)
	cfg := TrainConfig{Epochs: 1, BatchSize: 32}
	for _, c := range []PruneConfig{{Method: "global", Sparsity: 0.97}, {Method: "structured", Sparsity: 0.5}} {
		got, rep, _, err := FineTune(context.Background(), sp, train, val, cfg, c, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Sparsity < 0.5 || len(rep.Layers) != 3 || got == nil {
			t.Fatalf("%s on a sparse model: %+v", c.Method, rep)
		}
	}
}
