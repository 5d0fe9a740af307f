package core

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"errors"
	"fmt"
	"math/rand/v2"
)

// trainStateFile is the encoded form of a TrainState. The optimizer's
// moments follow the order of the model's Params, since the optimizer keys
// them by pointer.
type trainStateFile struct {
	Version   int
	Optimizer OptimizerConfig
	T         int
	Moments   [][2][]float32 // per parameter, nil for one the optimizer has not stepped
	RNG       []byte         // the PCG source's state
	Perm      []int
	Step      int
}

const trainStateVersion = 1

// EncodeTrainState encodes st, the state of training model m, so that
// DecodeTrainState can rebuild it for a copy of m (one loaded from m's model
// file): training then goes on exactly as if it had never stopped. The
// encoding ends with a SHA-256 of the rest.
func EncodeTrainState(st *TrainState, m *Model) ([]byte, error) {
	if st.opt == nil || st.src == nil {
		return nil, errors.New("core: the training state has not been used by Train")
	}
	rng, err := st.src.MarshalBinary()
	if err != nil {
		return nil, err
	}
	f := trainStateFile{Version: trainStateVersion, Optimizer: st.opt.cfg, T: st.opt.t, RNG: rng,
		Perm: st.perm, Step: st.step}
	for _, p := range m.Params() {
		mom, ok := st.opt.state[p]
		if !ok {
			f.Moments = append(f.Moments, [2][]float32{})
			continue
		}
		f.Moments = append(f.Moments, mom)
	}
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(f); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b.Bytes())
	return append(b.Bytes(), sum[:]...), nil
}

// DecodeTrainState rebuilds a training state encoded by EncodeTrainState for
// model m. It refuses data that is damaged or does not fit m.
func DecodeTrainState(b []byte, m *Model) (*TrainState, error) {
	if len(b) < sha256.Size {
		return nil, errors.New("training state: truncated")
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, errors.New("training state: checksum mismatch (truncated or modified)")
	}
	var f trainStateFile
	if err := gob.NewDecoder(bytes.NewReader(body)).Decode(&f); err != nil {
		return nil, fmt.Errorf("training state: %w", err)
	}
	if f.Version != trainStateVersion {
		return nil, fmt.Errorf("training state: version %d, want %d", f.Version, trainStateVersion)
	}
	params := m.Params()
	if len(f.Moments) != len(params) {
		return nil, fmt.Errorf("training state: %d parameters, the model has %d", len(f.Moments), len(params))
	}
	opt, err := NewOptimizer(f.Optimizer)
	if err != nil {
		return nil, fmt.Errorf("training state: %w", err)
	}
	opt.t = f.T
	for i, p := range params {
		mom := f.Moments[i]
		if mom[0] == nil {
			continue
		}
		if len(mom[0]) != len(p.W.Data) || len(mom[1]) != len(p.W.Data) {
			return nil, fmt.Errorf("training state: parameter %d has %d moments, the model %d values", i, len(mom[0]), len(p.W.Data))
		}
		opt.state[p] = mom
	}
	seen := make([]bool, len(f.Perm))
	for _, j := range f.Perm {
		if j < 0 || j >= len(seen) || seen[j] {
			return nil, errors.New("training state: the sample order is not a permutation")
		}
		seen[j] = true
	}
	src := &rand.PCG{}
	if err := src.UnmarshalBinary(f.RNG); err != nil {
		return nil, fmt.Errorf("training state: %w", err)
	}
	return &TrainState{opt: opt, src: src, rng: rand.New(src), perm: f.Perm, step: f.Step}, nil
}
