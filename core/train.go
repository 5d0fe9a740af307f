package core

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// TrainConfig configures Train. Zero fields take the defaults listed.
type TrainConfig struct {
	Epochs    int // default 10
	BatchSize int // default 64
	Optimizer OptimizerConfig
	Schedule  ScheduleConfig
	// State, if set, carries training from one call to the next (see
	// TrainState); nil starts afresh.
	State *TrainState
	// Patience stops training when the validation loss has not improved for
	// this many epochs, restoring the best weights; 0 disables early stopping.
	Patience int
	Seed     uint64 // shuffle and dropout seed; every value, including 0, is valid

	// Loss replaces softmax cross-entropy (distillation uses it). It receives
	// the batch's sample indices into the training set and must fill dlogits.
	Loss LossFunc
	// AfterStep, if set, runs after every optimizer step with the 0-based
	// global step (gradual pruning updates masks here).
	AfterStep func(step int)
	// Stats, if set, decorates every Stats before it is recorded (techniques
	// add their own fields, such as the current sparsity).
	Stats func(*Stats)
	// SnapshotEvery attaches a clone of the model to the end-of-epoch Stats
	// every this many epochs; 0 for never. Cloning costs a copy of the weights.
	SnapshotEvery int
}

// LossFunc computes a batch's mean loss and dL/dlogits. idx are the samples'
// indices into the training set, labels their labels (-1 if unlabelled).
type LossFunc func(logits *Tensor, idx, labels []int, dlogits *Tensor) (loss float64, correct, labelled int)

// TrainReport summarizes a finished training run.
type TrainReport struct {
	History       []Stats // one entry per finished epoch
	Epochs        int     // epochs actually run
	Stopped       string  // why training ended early, or ""
	Seconds       float64 // wall time of the whole run
	SamplesPerSec float64 // training samples processed per second (forward, backward, update)
}

// Train runs mini-batch training of m on train, validating on val after every
// epoch, until cfg.Epochs are done, early stopping triggers, ctx is cancelled,
// rec returns an error, or the loss diverges (ErrDiverged). Inputs are raw:
// m.Norm, if set, is applied to copies. val may be nil.
func Train(ctx context.Context, m *Model, train, val *Dataset, cfg TrainConfig, rec Recorder) (TrainReport, error) {
	var rep TrainReport
	if cfg.Epochs == 0 {
		cfg.Epochs = 10
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 64
	}
	if cfg.Epochs < 0 || cfg.BatchSize < 0 || cfg.Patience < 0 {
		return rep, fmt.Errorf("epochs, batch size and patience must not be negative")
	}
	if err := cfg.Schedule.validate(); err != nil {
		return rep, err
	}
	state := cfg.State
	if state == nil {
		state = &TrainState{}
	}
	if state.opt == nil {
		opt, err := NewOptimizer(cfg.Optimizer)
		if err != nil {
			return rep, err
		}
		state.opt = opt
	}
	opt := state.opt
	if train.Len() == 0 {
		return rep, fmt.Errorf("the training set is empty")
	}
	if train.Features() != numel(m.InShape) {
		return rep, fmt.Errorf("the model takes %d features, the data has %d", numel(m.InShape), train.Features())
	}
	if m.Norm != nil {
		train = m.Norm.Transform(train)
		if val != nil {
			val = m.Norm.Transform(val)
		}
	}
	loss := cfg.Loss
	if loss == nil {
		loss = func(logits *Tensor, _, labels []int, d *Tensor) (float64, int, int) {
			return SoftmaxCrossEntropy(logits, labels, d)
		}
	}
	if state.rng == nil {
		state.src = rand.NewPCG(cfg.Seed, 0x5eed)
		state.rng = rand.New(state.src)
	}
	rng := state.rng
	for _, l := range m.Layers {
		if s, ok := l.(stochastic); ok {
			s.setRand(rng)
		}
	}
	params := m.Params()
	n, f := train.Len(), train.Features()
	bs := min(cfg.BatchSize, n)
	steps := (n + bs - 1) / bs
	if len(state.perm) != n {
		state.perm = make([]int, n)
		for i := range state.perm {
			state.perm[i] = i
		}
	}
	perm := state.perm
	pass := newTrainPass(m)
	var xb, dlogits *Tensor
	yb := make([]int, 0, bs)

	bestLoss, sinceBest := math.Inf(1), 0
	var best [][]float32
	kept := trainedState(m, params)
	start := time.Now()
	samples, step := 0, state.step
	defer func() { state.step = step }()
	for epoch := range cfg.Epochs {
		rng.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		var sumLoss float64
		var correct, labelled int
		var st Stats
		for b := range steps {
			if err := ctx.Err(); err != nil {
				rep.finish(start, samples)
				return rep, err
			}
			idx := perm[b*bs : min((b+1)*bs, n)]
			xb = ensureMatrix(xb, len(idx), f)
			yb = yb[:0]
			for i, j := range idx {
				copy(xb.Data[i*f:(i+1)*f], train.Sample(j))
				yb = append(yb, train.Y[j])
			}
			logits := pass.forward(xb)
			dlogits = ensureMatrix(dlogits, logits.Rows(), logits.Cols())
			l, c, k := loss(logits, idx, yb, dlogits)
			if math.IsNaN(l) || math.IsInf(l, 0) {
				rep.finish(start, samples)
				return rep, ErrDiverged
			}
			pass.backward(dlogits) // sets every gradient: no ZeroGrad needed
			lr := cfg.Schedule.LR(opt.cfg.LR, step, epoch, cfg.Epochs, steps)
			opt.Step(params, lr)
			if cfg.AfterStep != nil {
				cfg.AfterStep(step)
			}
			step++
			samples += len(idx)
			sumLoss += l * float64(len(idx))
			correct += c
			labelled += k
			elapsed := time.Since(start)
			st = Stats{Epoch: epoch + 1, Epochs: cfg.Epochs, Step: b + 1, Steps: steps,
				TrainLoss: sumLoss / float64(b*bs+len(idx)), TrainAcc: ratio(correct, labelled),
				LR: lr, SamplesPerSec: float64(samples) / elapsed.Seconds(), Elapsed: elapsed}
			if cfg.Stats != nil {
				cfg.Stats(&st)
			}
			if rec != nil && b+1 < steps {
				if err := rec(st); err != nil {
					rep.finish(start, samples)
					return rep, err
				}
			}
		}
		if val != nil && val.Len() > 0 {
			vm := evaluateStandardized(m, val)
			st.ValLoss, st.ValAcc = vm.Loss, vm.Accuracy
		}
		st.EpochDone = true
		if cfg.SnapshotEvery > 0 && (epoch+1)%cfg.SnapshotEvery == 0 {
			st.Snapshot = m.Clone()
		}
		hist := st
		hist.Snapshot = nil // the history outlives the run; snapshots are for live views
		rep.History = append(rep.History, hist)
		rep.Epochs = epoch + 1
		// The state is whole between epochs: a recorder may save it.
		state.step = step
		if rec != nil {
			if err := rec(st); err != nil {
				rep.finish(start, samples)
				return rep, err
			}
		}
		if cfg.Patience > 0 && val != nil && val.Len() > 0 {
			if st.ValLoss < bestLoss {
				bestLoss, sinceBest = st.ValLoss, 0
				best = snapshotState(kept, best)
			} else if sinceBest++; sinceBest >= cfg.Patience {
				restoreState(kept, best)
				rep.Stopped = fmt.Sprintf("early stopping after epoch %d: validation loss has not improved for %d epochs (best weights restored)", epoch+1, cfg.Patience)
				break
			}
		}
	}
	rep.finish(start, samples)
	return rep, nil
}

// TrainState is what Train carries from one call to the next when given
// the same *TrainState, on the same model and training set: the optimizer
// (with its moments and step count), the random source of shuffling and
// dropout, the order of the samples and the global step. A call that
// continues another trains exactly as if the first had run on (tuning pauses
// trials and continues them this way); only the epochs are counted afresh,
// so a schedule that depends on them, unlike the constant one, restarts.
// The zero value starts from scratch, seeded by TrainConfig.Seed, with an
// optimizer built from TrainConfig.Optimizer; later calls ignore both.
type TrainState struct {
	opt  *Optimizer
	src  *rand.PCG // the source of rng, kept to encode its state
	rng  *rand.Rand
	perm []int
	step int
}

func (r *TrainReport) finish(start time.Time, samples int) {
	r.Seconds = time.Since(start).Seconds()
	if r.Seconds > 0 {
		r.SamplesPerSec = float64(samples) / r.Seconds
	}
}

// trainedState lists what early stopping saves and restores: every
// parameter's values and BatchNorm's running statistics, which inference
// uses as much as the weights.
func trainedState(m *Model, params []*Param) [][]float32 {
	s := make([][]float32, 0, len(params))
	for _, p := range params {
		s = append(s, p.W.Data)
	}
	for _, l := range m.Layers {
		if bn, ok := l.(*BatchNorm); ok {
			s = append(s, bn.Mean, bn.Var)
		}
	}
	return s
}

func snapshotState(state, dst [][]float32) [][]float32 {
	if dst == nil {
		dst = make([][]float32, len(state))
	}
	for i, v := range state {
		dst[i] = append(dst[i][:0], v...)
	}
	return dst
}

func restoreState(state, src [][]float32) {
	for i, v := range state {
		copy(v, src[i])
	}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
