package core

import (
	"fmt"
	"math"
)

// OptimizerConfig selects and configures an optimizer. Zero fields take the
// defaults listed.
type OptimizerConfig struct {
	Kind        string  // "adam" (default), "adamw", "sgd", "momentum"
	LR          float64 // base learning rate; default 0.001 for adam/adamw, 0.01 for sgd/momentum
	Momentum    float64 // momentum: default 0.9
	Nesterov    bool    // momentum: use Nesterov's look-ahead form
	WeightDecay float64 // L2 penalty (coupled) for sgd/momentum/adam; decoupled for adamw
	Beta1       float64 // adam: default 0.9
	Beta2       float64 // adam: default 0.999
	Eps         float64 // adam: default 1e-8
}

// Optimizers lists the optimizer names accepted by OptimizerConfig.Kind.
var Optimizers = []string{"adam", "adamw", "sgd", "momentum"}

// Optimizer updates parameters from their gradients, keeping masked weights
// exactly zero.
type Optimizer struct {
	cfg   OptimizerConfig
	t     int
	state map[*Param][2][]float32 // per-parameter moments (velocity, or Adam's m and v)
	adam  adamConsts              // the current step's, kept here so that passing them allocates nothing
}

// NewOptimizer validates cfg, fills in defaults and returns an optimizer.
func NewOptimizer(cfg OptimizerConfig) (*Optimizer, error) {
	if cfg.Kind == "" {
		cfg.Kind = "adam"
	}
	switch cfg.Kind {
	case "adam", "adamw":
		if cfg.LR == 0 {
			cfg.LR = 0.001
		}
	case "sgd", "momentum":
		if cfg.LR == 0 {
			cfg.LR = 0.01
		}
	default:
		return nil, fmt.Errorf("unknown optimizer %q (want adam, adamw, sgd or momentum)", cfg.Kind)
	}
	if cfg.LR < 0 || math.IsNaN(cfg.LR) || math.IsInf(cfg.LR, 0) {
		return nil, fmt.Errorf("learning rate %g must be positive", cfg.LR)
	}
	if cfg.WeightDecay < 0 {
		return nil, fmt.Errorf("weight decay %g must not be negative", cfg.WeightDecay)
	}
	if cfg.Momentum == 0 {
		cfg.Momentum = 0.9
	}
	if cfg.Beta1 == 0 {
		cfg.Beta1 = 0.9
	}
	if cfg.Beta2 == 0 {
		cfg.Beta2 = 0.999
	}
	if cfg.Eps == 0 {
		cfg.Eps = 1e-8
	}
	return &Optimizer{cfg: cfg, state: map[*Param][2][]float32{}}, nil
}

// Config returns the configuration with defaults filled in.
func (o *Optimizer) Config() OptimizerConfig { return o.cfg }

// Step applies one update with learning rate lr to every parameter, then
// re-applies masks so pruned weights stay exactly zero.
func (o *Optimizer) Step(params []*Param, lr float64) {
	o.t++
	c := o.cfg
	for _, p := range params {
		st, ok := o.state[p]
		if !ok {
			st = [2][]float32{make([]float32, len(p.W.Data)), make([]float32, len(p.W.Data))}
			o.state[p] = st
		}
		w, g := p.W.Data, p.G.Data
		// Weight decay applies to weights, not biases.
		wd := float32(0)
		if p.Prunable() {
			wd = float32(c.WeightDecay)
		}
		switch c.Kind {
		case "sgd":
			lr32 := float32(lr)
			for i := range w {
				w[i] -= lr32 * (g[i] + wd*w[i])
			}
		case "momentum":
			lr32, mu, v := float32(lr), float32(c.Momentum), st[0]
			for i := range w {
				gi := g[i] + wd*w[i]
				v[i] = mu*v[i] + gi
				if c.Nesterov {
					gi += mu * v[i]
				} else {
					gi = v[i]
				}
				w[i] -= lr32 * gi
			}
		case "adam", "adamw":
			b1, b2 := float32(c.Beta1), float32(c.Beta2)
			// Bias corrections folded into the step size (Kingma & Ba, §2).
			k := &o.adam
			*k = adamConsts{b1: b1, ob1: 1 - b1, b2: b2, ob2: 1 - b2,
				alpha: float32(lr * math.Sqrt(1-math.Pow(c.Beta2, float64(o.t))) / (1 - math.Pow(c.Beta1, float64(o.t)))),
				eps:   float32(c.Eps * math.Sqrt(1-math.Pow(c.Beta2, float64(o.t)))), wd: wd}
			if c.Kind == "adamw" {
				k.decoupled, k.wd = float32(lr)*wd, 0
			}
			adamUpdate(w, g, st[0], st[1], p.Mask, k) // applies the mask too
			continue
		}
		if p.Mask != nil {
			for i, k := range p.Mask {
				w[i] *= k
			}
		}
	}
}

// ScheduleConfig describes how the learning rate changes over training.
type ScheduleConfig struct {
	Kind      string  // "constant" (default), "step", "cosine"
	StepEvery int     // step: epochs between decays; default 10
	Gamma     float64 // step: decay factor; default 0.1
	MinLR     float64 // cosine: floor, as a fraction of the base rate; default 0
	Warmup    int     // linear warm-up over this many steps (mini-batches) before the schedule; 0 for none
}

// Schedules lists the schedule names accepted by ScheduleConfig.Kind.
var Schedules = []string{"constant", "step", "cosine"}

// LR returns the learning rate for global step `step` (0-based mini-batch
// count) in epoch `epoch` (0-based) of `epochs`, with `stepsPerEpoch` batches each.
func (s ScheduleConfig) LR(base float64, step, epoch, epochs, stepsPerEpoch int) float64 {
	if s.Warmup > 0 && step < s.Warmup {
		return base * float64(step+1) / float64(s.Warmup)
	}
	switch s.Kind {
	case "step":
		every, gamma := s.StepEvery, s.Gamma
		if every <= 0 {
			every = 10
		}
		if gamma == 0 {
			gamma = 0.1
		}
		return base * math.Pow(gamma, float64(epoch/every))
	case "cosine":
		total := max(epochs*stepsPerEpoch-s.Warmup, 1)
		progress := float64(step-s.Warmup) / float64(total)
		lo := base * s.MinLR
		return lo + (base-lo)*0.5*(1+math.Cos(math.Pi*min(progress, 1)))
	}
	return base
}

func (s ScheduleConfig) validate() error {
	switch s.Kind {
	case "", "constant", "step", "cosine":
	default:
		return fmt.Errorf("unknown schedule %q (want constant, step or cosine)", s.Kind)
	}
	if s.Warmup < 0 || s.StepEvery < 0 || s.Gamma < 0 || s.MinLR < 0 {
		return fmt.Errorf("schedule settings must not be negative")
	}
	return nil
}
