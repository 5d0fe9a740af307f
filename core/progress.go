package core

import (
	"errors"
	"time"
)

// Stats is a snapshot of a training run's progress. It is a value: safe to
// send to another goroutine. Fields that do not apply are zero.
type Stats struct {
	Epoch, Epochs int     // 1-based epoch being run, and the planned total
	Step, Steps   int     // 1-based mini-batch within the epoch, and batches per epoch
	EpochDone     bool    // true once the epoch's validation figures are in
	TrainLoss     float64 // mean loss over the epoch so far
	TrainAcc      float64 // accuracy over the epoch so far
	ValLoss       float64 // set when EpochDone
	ValAcc        float64 // set when EpochDone
	LR            float64 // learning rate of the last step
	SamplesPerSec float64 // training samples per second since the start
	Elapsed       time.Duration

	// Technique-specific fields.
	Sparsity float64 // fraction of prunable weights that are zero (pruning)
	Bits     int     // bit width (quantization)
	Trial    int     // trial id (tuning)
	Phase    string  // free-form label of the current phase, e.g. "fine-tune"

	// Snapshot is a clone of the model at the end of this epoch, set only
	// when TrainConfig.SnapshotEvery asks for one. Nobody modifies it
	// afterwards, so it may be read on any goroutine (to draw decision
	// regions while training goes on, say).
	Snapshot *Model
}

// Recorder observes progress. It runs on the training goroutine, must return
// quickly, and may stop training by returning an error (which Train returns).
// A nil Recorder is allowed.
type Recorder func(Stats) error

// ErrDiverged is returned when the loss becomes NaN or ±Inf.
var ErrDiverged = errors.New("training diverged: the loss became NaN or infinite (try a lower learning rate)")
