package core

import (
	"context"
	"fmt"
	"math"
)

// GradualSchedule is the polynomial sparsity schedule of Zhu & Gupta (2017),
// "To prune, or not to prune": starting at step t0 = Begin, every Δt = Every
// steps the sparsity becomes
//
//	s_t = s_f + (s_i − s_f)·(1 − (t − t0)/(End − t0))³
//
// rising fast while the network has many redundant weights and slowly as it
// nears Final at step End. Steps are 0-based optimizer steps.
type GradualSchedule struct {
	Initial float64 // s_i, the sparsity at Begin
	Final   float64 // s_f, the sparsity from End on; FineTune: 0 means the PruneConfig's Sparsity
	Begin   int     // t0, the first pruning step
	End     int     // the last pruning step, t0 + nΔt; FineTune: 0 means three quarters of all steps
	Every   int     // Δt, steps between mask updates; 0 means (End − Begin)/20, at least 1
}

func (g GradualSchedule) every() int {
	if g.Every > 0 {
		return g.Every
	}
	return max(1, (g.End-g.Begin)/20)
}

func (g GradualSchedule) validate() error {
	if err := checkSparsity(g.Final); err != nil {
		return fmt.Errorf("final %w", err)
	}
	if !(g.Initial >= 0 && g.Initial <= g.Final) {
		return fmt.Errorf("initial sparsity %g must be in [0, final sparsity %g]", g.Initial, g.Final)
	}
	if g.Begin < 0 || g.End < g.Begin || g.Every < 0 {
		return fmt.Errorf("schedule steps must satisfy 0 ≤ begin (%d) ≤ end (%d) and every (%d) ≥ 0", g.Begin, g.End, g.Every)
	}
	return nil
}

// isPruneStep reports whether masks are updated after step: at Begin, every
// Every steps after it, and at End.
func (g GradualSchedule) isPruneStep(step int) bool {
	return step >= g.Begin && step <= g.End && ((step-g.Begin)%g.every() == 0 || step == g.End)
}

// PolynomialSparsity is the target sparsity in force after step: 0 before
// Begin, Final from End on, and in between the schedule's value at the latest
// pruning step (Begin + kΔt) not after step.
func PolynomialSparsity(step int, g GradualSchedule) float64 {
	switch {
	case step < g.Begin:
		return 0
	case step >= g.End:
		return g.Final
	}
	e := g.every()
	t := g.Begin + (step-g.Begin)/e*e
	frac := float64(t-g.Begin) / float64(g.End-g.Begin)
	return g.Final + (g.Initial-g.Final)*math.Pow(1-frac, 3)
}

// Phases reported in Stats.Phase while pruning.
const (
	PhasePruning  = "pruning"   // gradual pruning: masks still growing
	PhaseFineTune = "fine-tune" // the masks are final; training recovers accuracy
)

// FineTune prunes a copy of m and fine-tunes it with cfg; m is not modified.
// With sched nil, it prunes once to prune.Sparsity and then trains (any
// method; structured pruning trains the smaller model). With a schedule, it
// prunes gradually during training (unstructured methods only): after each
// of the schedule's pruning steps it extends the masks to the scheduled
// sparsity, choosing among the weights still alive. Masks hold throughout:
// the optimizer keeps masked weights at zero. Early stopping (cfg.Patience)
// compares epochs at different sparsities while the schedule runs; when it
// restores weights saved before a later pruning step, the masks are applied
// to them again, and when it ends training before the schedule does, the
// masks are completed to the final sparsity without more training.
//
// Every recorded Stats carries Sparsity and Phase. cfg's own AfterStep and
// Stats hooks still run.
func FineTune(ctx context.Context, m *Model, train, val *Dataset, cfg TrainConfig, prune PruneConfig,
	sched *GradualSchedule, rec Recorder) (*Model, PruneReport, TrainReport, error) {
	prune, err := prune.withDefaults()
	if err != nil {
		return nil, PruneReport{}, TrainReport{}, err
	}
	m = denseView(m)
	if sched == nil {
		p, rep, err := Prune(m, prune)
		if err != nil {
			return nil, rep, TrainReport{}, err
		}
		cfg.Stats = decorate(cfg.Stats, func(st *Stats) { st.Sparsity, st.Phase = rep.Sparsity, PhaseFineTune })
		trep, err := Train(ctx, p, train, val, cfg, rec)
		if err != nil {
			return nil, rep, trep, err
		}
		return p, pruneReport(m, p, prune.Method), trep, nil
	}
	if prune.Method == "structured" {
		return nil, PruneReport{}, TrainReport{}, fmt.Errorf("structured pruning is one-shot: it changes the layers' shapes, so it cannot follow a gradual schedule")
	}
	g := *sched
	if g.Final == 0 {
		g.Final = prune.Sparsity
	}
	if g.End == 0 {
		g.End = 3 * totalSteps(train.Len(), cfg) / 4
	}
	if err := g.validate(); err != nil {
		return nil, PruneReport{}, TrainReport{}, err
	}
	if _, err := prunableLayers(m); err != nil {
		return nil, PruneReport{}, TrainReport{}, err
	}
	c := m.Clone()
	pr, cur := newPruner(c, prune)
	phase := PhasePruning
	cfg.AfterStep = chainStep(func(step int) {
		if g.isPruneStep(step) {
			if s := PolynomialSparsity(step, g); s > cur {
				cur = pr.prune(s)
			}
		}
		if step >= g.End {
			phase = PhaseFineTune
		}
	}, cfg.AfterStep)
	cfg.Stats = decorate(cfg.Stats, func(st *Stats) { st.Sparsity, st.Phase = cur, phase })
	trep, err := Train(ctx, c, train, val, cfg, rec)
	if err != nil {
		return nil, PruneReport{}, trep, err
	}
	if trep.Stopped != "" {
		// Early stopping restored weights saved before a later pruning step.
		enforceMasks(c)
	}
	if cur < g.Final {
		// Training ended before the schedule did (early stopping, or End
		// beyond the last step): reach the target all the same.
		pr.prune(g.Final)
	}
	return c, pruneReport(m, c, prune.Method), trep, nil
}

// totalSteps is the number of optimizer steps Train will run with cfg on n
// samples, with Train's defaults for zero fields.
func totalSteps(n int, cfg TrainConfig) int {
	epochs, bs := cfg.Epochs, cfg.BatchSize
	if epochs == 0 {
		epochs = 10
	}
	if bs == 0 {
		bs = 64
	}
	bs = max(min(bs, n), 1)
	return epochs * ((n + bs - 1) / bs)
}

func decorate(outer func(*Stats), f func(*Stats)) func(*Stats) {
	return func(st *Stats) {
		f(st)
		if outer != nil {
			outer(st)
		}
	}
}

func chainStep(f, next func(int)) func(int) {
	return func(step int) {
		f(step)
		if next != nil {
			next(step)
		}
	}
}

// enforceMasks zeroes every masked weight of m.
func enforceMasks(m *Model) {
	for _, p := range m.Params() {
		applyMask(p)
	}
}

// RewindConfig configures IterativePrune.
type RewindConfig struct {
	// Weights are what surviving weights are rewound to before each round of
	// retraining: a clone of the model at initialization (Frankle & Carbin
	// 2019) or after a few training steps (Frankle et al. 2020). Its
	// parameters must have the pruned model's shapes. Required.
	Weights *Model
	// Rate is the fraction of the surviving weights pruned in each round, in
	// (0, 1); default 0.2, as in the lottery-ticket experiments.
	Rate float64
}

// IterativePrune runs iterative magnitude pruning with weight rewinding (the
// lottery-ticket procedure) on a copy of m, a trained model; m is not
// modified. Each round masks Rate of the surviving weights by magnitude
// (prune.Method "magnitude" per layer, "global" or "lamp"), rewinds every survivor
// and bias to rw.Weights, and retrains for cfg.Epochs with the mask held; the
// rounds stop at prune.Sparsity, the last one landing on it exactly. Stats
// carry Sparsity and Phase "round r/R". The TrainReport sums all rounds.
func IterativePrune(ctx context.Context, m *Model, train, val *Dataset, cfg TrainConfig, prune PruneConfig,
	rw RewindConfig, rec Recorder) (*Model, PruneReport, TrainReport, error) {
	var total TrainReport
	prune, err := prune.withDefaults()
	if err != nil {
		return nil, PruneReport{}, total, err
	}
	if prune.Method != "magnitude" && prune.Method != "global" && prune.Method != "lamp" {
		return nil, PruneReport{}, total, fmt.Errorf("iterative pruning with rewinding ranks by magnitude: use magnitude, global or lamp, not %s", prune.Method)
	}
	if rw.Rate == 0 {
		rw.Rate = 0.2
	}
	if !(rw.Rate > 0 && rw.Rate < 1) {
		return nil, PruneReport{}, total, fmt.Errorf("pruning rate per round %g is outside (0, 1)", rw.Rate)
	}
	if rw.Weights == nil {
		return nil, PruneReport{}, total, fmt.Errorf("iterative pruning needs the weights to rewind to")
	}
	m = denseView(m)
	if _, err := prunableLayers(m); err != nil {
		return nil, PruneReport{}, total, err
	}
	c := m.Clone()
	params, rewind := c.Params(), rw.Weights.Params()
	if len(params) != len(rewind) {
		return nil, PruneReport{}, total, fmt.Errorf("the rewind weights have %d parameters, the model %d", len(rewind), len(params))
	}
	for i, p := range params {
		if !sameShape(p.W.Shape, rewind[i].W.Shape) {
			return nil, PruneReport{}, total, fmt.Errorf("rewind parameter %d has shape %v, the model's %v", i, rewind[i].W.Shape, p.W.Shape)
		}
	}
	pr, s0 := newPruner(c, prune)
	target := prune.Sparsity
	rounds := 0
	if target > s0 {
		rounds = int(math.Ceil(math.Log((1-target)/(1-s0))/math.Log(1-rw.Rate) - 1e-9))
	}
	cur, phase := s0, ""
	cfg.Stats = decorate(cfg.Stats, func(st *Stats) { st.Sparsity, st.Phase = cur, phase })
	var samples float64
	for r := 1; r <= rounds; r++ {
		s := 1 - (1-s0)*math.Pow(1-rw.Rate, float64(r))
		if r == rounds {
			s = target
		}
		cur = pr.prune(s)
		for i, p := range params {
			copy(p.W.Data, rewind[i].W.Data)
			applyMask(p)
		}
		phase = fmt.Sprintf("round %d/%d", r, rounds)
		rep, err := Train(ctx, c, train, val, cfg, rec)
		total.History = append(total.History, rep.History...)
		total.Epochs += rep.Epochs
		total.Seconds += rep.Seconds
		samples += rep.SamplesPerSec * rep.Seconds
		if total.Seconds > 0 {
			total.SamplesPerSec = samples / total.Seconds
		}
		if err != nil {
			return nil, PruneReport{}, total, err
		}
		if rep.Stopped != "" {
			total.Stopped = fmt.Sprintf("%s: %s", phase, rep.Stopped)
		}
	}
	return c, pruneReport(m, c, prune.Method), total, nil
}
