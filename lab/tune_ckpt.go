package lab

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/optlab/optlab/core"
)

// checkpointEvery is the longest a trial trains between checkpoints within
// a run, besides those at rungs (taken at the first epoch end past it), so
// that a killed study loses at most about this much of a trial's training.
const checkpointEvery = 10 * time.Second

// checkpointCost bounds the share of a trial's training time spent writing
// its checkpoints (on the training goroutine): after a write that took d,
// the next waits at least d/checkpointCost (within checkpointEvery). A
// checkpoint of mlp:256,128 on MNIST (1 MB of model, 1.9 MB of optimizer
// moments) takes about 8 ms (BenchmarkCheckpoint), so one every 0.2 s or
// so; small models save after every epoch.
const checkpointCost = 0.05

// checkpointFormat names the header of a trial's .state file.
const checkpointFormat = "optlab-trial-state"

// checkpoint is a trial's training state at the end of an epoch: its model
// and core.TrainState, which go on exactly as if training had not stopped.
type checkpoint struct {
	model  *core.Model
	state  *core.TrainState
	epochs int
}

// checkpointHeader is the first line of a trial's .state file; the encoded
// core.TrainState follows it. It ties the state to its trial, its epoch
// and the very model file written with it: the two files are renamed into
// place one after the other, and a kill between the renames must not pair
// a model with another epoch's state.
type checkpointHeader struct {
	Format      string `json:"format"`
	Trial       int    `json:"trial"`
	Epochs      int    `json:"epochs"`
	Model       string `json:"model"` // the architecture spec
	Seed        uint64 `json:"seed"`  // the trial's
	ModelSHA256 string `json:"model_sha256"`
}

// checkpointDir is the directory of a study's checkpoints: next to its
// state file, with ".ckpt" appended to the name.
func (s *TuneStudy) checkpointDir() string { return s.path + ".ckpt" }

// checkpointFiles returns the model and state files of trial id's checkpoint.
func checkpointFiles(dir string, id int) (model, state string) {
	base := filepath.Join(dir, "trial-"+strconv.Itoa(id))
	return base + ".safetensors", base + ".state"
}

// writeCheckpoint writes c, trial id's checkpoint, to dir, replacing the
// trial's previous one: the model file, then the state file that names it.
func writeCheckpoint(dir string, id int, spec TrainSpec, c *checkpoint) error {
	mb, err := core.EncodeModel(c.model, core.ModelInfo{Task: TaskTrial, Epochs: c.epochs, Seed: spec.Seed,
		Optimizer: spec.Optimizer, Activation: spec.Activation})
	if err != nil {
		return err
	}
	sb, err := core.EncodeTrainState(c.state, c.model)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(mb)
	h, err := json.Marshal(checkpointHeader{Format: checkpointFormat, Trial: id, Epochs: c.epochs, Model: spec.Model,
		Seed: spec.Seed, ModelSHA256: hex.EncodeToString(sum[:])})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	model, state := checkpointFiles(dir, id)
	if err := core.WriteFileAtomic(model, mb); err != nil {
		return err
	}
	return core.WriteFileAtomic(state, append(append(h, '\n'), sb...))
}

// readCheckpoint reads trial id's checkpoint from dir, checking that it is
// the one the study recorded: the trial's, after epochs epochs, of the
// trial's architecture and seed, its two files written together and intact.
func readCheckpoint(dir string, id, epochs int, spec TrainSpec) (*checkpoint, error) {
	modelPath, statePath := checkpointFiles(dir, id)
	b, err := os.ReadFile(statePath)
	if err != nil {
		return nil, err
	}
	line, enc, ok := bytes.Cut(b, []byte{'\n'})
	var h checkpointHeader
	if !ok || json.Unmarshal(line, &h) != nil || h.Format != checkpointFormat {
		return nil, fmt.Errorf("%s: not a trial's training state", statePath)
	}
	switch {
	case h.Trial != id:
		return nil, fmt.Errorf("%s: trial %d's, not trial %d's", statePath, h.Trial, id)
	case h.Epochs != epochs:
		return nil, fmt.Errorf("%s: after epoch %d, not %d", statePath, h.Epochs, epochs)
	case h.Model != spec.Model || h.Seed != spec.Seed:
		return nil, fmt.Errorf("%s: of a %s seeded %d, not a %s seeded %d", statePath, h.Model, h.Seed, spec.Model, spec.Seed)
	}
	mb, err := os.ReadFile(modelPath)
	if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(mb); hex.EncodeToString(sum[:]) != h.ModelSHA256 {
		return nil, fmt.Errorf("%s: not the model file written with %s", modelPath, filepath.Base(statePath))
	}
	m, _, err := core.DecodeModel(mb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", modelPath, err)
	}
	st, err := core.DecodeTrainState(enc, m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", statePath, err)
	}
	return &checkpoint{model: m, state: st, epochs: epochs}, nil
}

// removeCheckpoint deletes trial id's checkpoint files from dir, if any.
// Failures are ignored: a leftover file is never loaded without the state
// file's record of it, and a later checkpoint of the trial replaces it.
func removeCheckpoint(dir string, id int) {
	model, state := checkpointFiles(dir, id)
	os.Remove(state)
	os.Remove(model)
}

// clearCheckpoints deletes every trial checkpoint from dir, and dir itself
// if that leaves it empty.
func clearCheckpoints(dir string) {
	removeMatching(dir, "trial-*")
	removeTemps(dir)
	os.Remove(dir)
}

// removeTemps deletes from dir the temporary files of checkpoint writes
// that a kill cut short.
func removeTemps(dir string) { removeMatching(dir, ".trial-*") }

// removeMatching deletes the files in dir whose names match pattern.
func removeMatching(dir, pattern string) {
	names, _ := filepath.Glob(filepath.Join(dir, pattern)) // the only error is a bad pattern
	for _, name := range names {
		os.Remove(name)
	}
}

// persist writes checkpoint c of trial id to disk, with a state file, and
// records its epoch there, returning how long that took. One the disk
// already holds is not written again. A failure is the study's, as with
// the state file: without its checkpoints a resumed study would train
// again what it had trained.
func (s *TuneStudy) persist(id int, spec TrainSpec, c *checkpoint) time.Duration {
	if s.path == "" {
		return 0
	}
	s.mu.Lock()
	held := s.trials[id].saved == c.epochs
	s.mu.Unlock()
	if held {
		return 0
	}
	start := time.Now()
	err := writeCheckpoint(s.checkpointDir(), id, spec, c)
	took := time.Since(start)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.fail(fmt.Errorf("saving trial %d's checkpoint: %w", id, err))
		return took
	}
	s.trials[id].saved = c.epochs
	s.save()
	return took
}

// checkin keeps a paused trial's training state for a later promotion: in
// memory, and on disk for a later session.
func (s *TuneStudy) checkin(id int, spec TrainSpec, c *checkpoint) {
	s.persist(id, spec, c)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trials[id].ckpt = c
}

// checkout hands the job of a run of trial id the training state to go on
// from: the one kept in memory when the trial paused, else (after a resume)
// its checkpoint on disk. It returns nil to train from scratch, noting why
// when a recorded checkpoint cannot be used. With the state, it returns the
// decision that ends the run at once, if the checkpoint was taken where the
// strategy had already ended it (the study was killed as the run ended),
// else core.Continue.
func (s *TuneStudy) checkout(id int, spec TrainSpec) (*checkpoint, core.Decision) {
	s.mu.Lock()
	t := s.trials[id]
	c, saved, reported := t.ckpt, t.saved, t.reported
	t.ckpt = nil
	s.mu.Unlock()
	if c == nil && saved > 0 {
		var err error
		c, err = readCheckpoint(s.checkpointDir(), id, saved, spec)
		if err == nil && saved > reported {
			// Checkpoints follow reports; this record was not written by a study.
			c, err = nil, fmt.Errorf("it holds epoch %d, which the trial never reported", saved)
		}
		if err != nil {
			s.fromScratch(id, err)
		}
	}
	if c == nil {
		return nil, core.Continue
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := t.seg; g.stopAt > 0 && c.epochs == g.stopAt {
		t.decision = g.stopWith // as report would have set it
		return c, g.stopWith
	}
	return c, core.Continue
}

// fromScratch notes that trial id's recorded checkpoint is unusable, and
// deletes it: the trial trains again from scratch.
func (s *TuneStudy) fromScratch(id int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.trials[id]
	t.saved = 0
	removeCheckpoint(s.checkpointDir(), id)
	s.update(TrialUpdate{Trial: id, Run: t.rec.Run, Event: "resumed", Target: t.seg.max,
		Reason: fmt.Sprintf("checkpoint unusable, training from scratch: %v", err)})
	s.save()
}

// dropCheckpoint forgets the training state of trial t, which has ended
// for good, and deletes its checkpoint files.
func (s *TuneStudy) dropCheckpoint(t *trial) {
	t.ckpt = nil
	if s.path == "" {
		return
	}
	t.saved = 0
	removeCheckpoint(s.checkpointDir(), t.rec.ID)
}
