package core

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// trainStateHeader describes an encoded TrainState. The encoding is the
// 8 bytes of trainStateMagic, the header's length (uint32, little-endian),
// the header as JSON, then the raw data: for every parameter with moments
// (in the order of the model's Params, since the optimizer keys them by
// pointer) its two moment slices as float32, then the sample order as
// int32, all little-endian; last, a SHA-256 of everything before it.
// Raw data keeps a checkpoint of a large model quick to write and read.
type trainStateHeader struct {
	Version   int             `json:"version"`
	Optimizer OptimizerConfig `json:"optimizer"`
	T         int             `json:"t"`    // the optimizer's step count
	Step      int             `json:"step"` // the global step, for schedules
	RNG       []byte          `json:"rng"`  // the PCG source's state
	Moments   []int           `json:"moms"` // per parameter, its size; 0 for one the optimizer has not stepped
	Samples   int             `json:"perm"` // the length of the sample order
}

const (
	trainStateMagic   = "OPTLABTS"
	trainStateVersion = 2
)

// EncodeTrainState encodes st, the state of training model m, so that
// DecodeTrainState can rebuild it for a copy of m (one loaded from m's model
// file): training then goes on exactly as if it had never stopped.
func EncodeTrainState(st *TrainState, m *Model) ([]byte, error) {
	if st.opt == nil || st.src == nil {
		return nil, errors.New("core: the training state has not been used by Train")
	}
	rng, err := st.src.MarshalBinary()
	if err != nil {
		return nil, err
	}
	params := m.Params()
	h := trainStateHeader{Version: trainStateVersion, Optimizer: st.opt.cfg, T: st.opt.t, Step: st.step, RNG: rng,
		Moments: make([]int, len(params)), Samples: len(st.perm)}
	size := 4 * len(st.perm)
	for i, p := range params {
		if _, ok := st.opt.state[p]; ok {
			h.Moments[i] = len(p.W.Data)
			size += 8 * len(p.W.Data)
		}
	}
	head, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(trainStateMagic)+4+len(head)+size+sha256.Size)
	b = append(b, trainStateMagic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(head)))
	b = append(b, head...)
	for _, p := range params {
		if mom, ok := st.opt.state[p]; ok {
			b = appendF32(appendF32(b, mom[0]), mom[1])
		}
	}
	for _, j := range st.perm {
		b = binary.LittleEndian.AppendUint32(b, uint32(j))
	}
	sum := sha256.Sum256(b)
	return append(b, sum[:]...), nil
}

func appendF32(b []byte, v []float32) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// DecodeTrainState rebuilds a training state encoded by EncodeTrainState for
// model m. It refuses data that is damaged or does not fit m.
func DecodeTrainState(b []byte, m *Model) (*TrainState, error) {
	if len(b) < len(trainStateMagic)+4+sha256.Size || string(b[:len(trainStateMagic)]) != trainStateMagic {
		return nil, errors.New("training state: not an optlab training state")
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, errors.New("training state: checksum mismatch (truncated or modified)")
	}
	body = body[len(trainStateMagic):]
	n := binary.LittleEndian.Uint32(body)
	body = body[4:]
	if uint64(n) > uint64(len(body)) {
		return nil, errors.New("training state: truncated header")
	}
	var h trainStateHeader
	if err := json.Unmarshal(body[:n], &h); err != nil {
		return nil, fmt.Errorf("training state: %w", err)
	}
	data := body[n:]
	if h.Version != trainStateVersion {
		return nil, fmt.Errorf("training state: version %d, want %d", h.Version, trainStateVersion)
	}
	params := m.Params()
	if len(h.Moments) != len(params) {
		return nil, fmt.Errorf("training state: %d parameters, the model has %d", len(h.Moments), len(params))
	}
	opt, err := NewOptimizer(h.Optimizer)
	if err != nil {
		return nil, fmt.Errorf("training state: %w", err)
	}
	opt.t = h.T
	want := 4 * h.Samples
	for i, p := range params {
		switch h.Moments[i] {
		case 0:
		case len(p.W.Data):
			want += 8 * len(p.W.Data)
		default:
			return nil, fmt.Errorf("training state: parameter %d has %d moments, the model %d values", i, h.Moments[i], len(p.W.Data))
		}
	}
	if h.Samples < 0 || len(data) != want {
		return nil, fmt.Errorf("training state: %d bytes of data, want %d", len(data), want)
	}
	for i, p := range params {
		if k := h.Moments[i]; k > 0 {
			opt.state[p] = [2][]float32{DecodeF32(data[:4*k]), DecodeF32(data[4*k : 8*k])}
			data = data[8*k:]
		}
	}
	perm := make([]int, h.Samples)
	seen := make([]bool, h.Samples)
	for i := range perm {
		j := int(binary.LittleEndian.Uint32(data[4*i:]))
		if j >= len(seen) || seen[j] {
			return nil, errors.New("training state: the sample order is not a permutation")
		}
		perm[i], seen[j] = j, true
	}
	src := &rand.PCG{}
	if err := src.UnmarshalBinary(h.RNG); err != nil {
		return nil, fmt.Errorf("training state: %w", err)
	}
	return &TrainState{opt: opt, src: src, rng: rand.New(src), perm: perm, step: h.Step}, nil
}
