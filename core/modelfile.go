package core

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// Model files use the safetensors format: an 8-byte little-endian header
// length, a JSON header naming each tensor's dtype, shape and byte range, then
// the raw little-endian tensor data. The header's __metadata__ holds what is
// needed to rebuild the model, and SHA-256 sums of the data section and of
// that metadata, checked on load.

const (
	fileFormat  = "optlab"
	fileVersion = 1
	maxHeader   = 64 << 20 // a header larger than this is not one of ours
)

// ModelInfo is what a model file records about how the model was made.
type ModelInfo struct {
	Task         string  `json:"task,omitempty"`          // "train", "prune", ...
	Dataset      string  `json:"dataset,omitempty"`       // dataset name or file
	DataSeed     uint64  `json:"data_seed,omitempty"`     // seed of the split
	TestFrac     float64 `json:"test_frac,omitempty"`     // held-out fraction of the split
	Label        string  `json:"label,omitempty"`         // CSV label column, if any
	Samples      int     `json:"samples,omitempty"`       // samples generated, or kept from a file; 0 for all or the default
	Noise        float64 `json:"noise,omitempty"`         // a built-in generator's noise; 0 for its default
	TestAccuracy float64 `json:"test_accuracy,omitempty"` // on the held-out split when saved
	Epochs       int     `json:"epochs,omitempty"`
	Seed         uint64  `json:"seed,omitempty"`
	Optimizer    string  `json:"optimizer,omitempty"`
	Activation   string  `json:"activation,omitempty"`
}

// fileModel is the architecture part of the metadata.
type fileModel struct {
	Version int         `json:"version"`
	Arch    string      `json:"arch"`
	InShape []int       `json:"in_shape"`
	Classes []string    `json:"classes"`
	Layers  []LayerSpec `json:"layers"`
	Norm    bool        `json:"norm"`
}

// FileTensor is one named tensor as stored in a model file.
type FileTensor struct {
	Name  string
	DType string // safetensors dtype: "F32", "I8", "U8", "I32"
	Shape []int
	Data  []byte // little-endian
}

// fileCodec is implemented by layers whose stored form is not simply their
// float32 parameters (sparse and quantized layers).
type fileCodec interface {
	encodeTensors() []FileTensor
	decodeTensors(get func(name string) (FileTensor, error)) error
}

// EncodeF32 returns v's little-endian bytes.
func EncodeF32(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// DecodeF32 reads len(b)/4 little-endian float32 values.
func DecodeF32(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func layerTensors(i int, l Layer) []FileTensor {
	var ts []FileTensor
	if c, ok := l.(fileCodec); ok {
		ts = c.encodeTensors()
	} else {
		for _, p := range l.Params() {
			ts = append(ts, FileTensor{Name: p.Name, DType: "F32", Shape: p.W.Shape, Data: EncodeF32(p.W.Data)})
		}
	}
	for j := range ts {
		ts[j].Name = fmt.Sprintf("layers.%d.%s", i, ts[j].Name)
	}
	return ts
}

// EncodeModel returns the bytes of m's model file.
func EncodeModel(m *Model, info ModelInfo) ([]byte, error) {
	fm := fileModel{Version: fileVersion, Arch: m.Arch, InShape: m.InShape, Classes: m.Classes, Norm: m.Norm != nil}
	var tensors []FileTensor
	if m.Norm != nil {
		f := len(m.Norm.Mean)
		tensors = append(tensors,
			FileTensor{Name: "norm.mean", DType: "F32", Shape: []int{f}, Data: EncodeF32(m.Norm.Mean)},
			FileTensor{Name: "norm.std", DType: "F32", Shape: []int{f}, Data: EncodeF32(m.Norm.Std)})
	}
	for i, l := range m.Layers {
		fm.Layers = append(fm.Layers, l.Spec())
		tensors = append(tensors, layerTensors(i, l)...)
	}
	modelJSON, err := json.Marshal(fm)
	if err != nil {
		return nil, err
	}
	infoJSON, err := json.Marshal(info)
	if err != nil {
		return nil, err
	}
	var data bytes.Buffer
	header := map[string]any{}
	for _, t := range tensors {
		start := data.Len()
		data.Write(t.Data)
		header[t.Name] = map[string]any{"dtype": t.DType, "shape": shapeOrEmpty(t.Shape), "data_offsets": []int{start, data.Len()}}
	}
	dataSum := sha256.Sum256(data.Bytes())
	header["__metadata__"] = map[string]string{
		"format":      fileFormat,
		"model":       string(modelJSON),
		"info":        string(infoJSON),
		"sha256":      hex.EncodeToString(dataSum[:]),
		"meta_sha256": metaSum(string(modelJSON), string(infoJSON)),
	}
	h, err := json.Marshal(header)
	if err != nil {
		return nil, err
	}
	// Pad the header with spaces to a multiple of 8 bytes, as safetensors
	// writers do, so the data section is aligned.
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := make([]byte, 8, 8+len(h)+data.Len())
	binary.LittleEndian.PutUint64(out, uint64(len(h)))
	out = append(out, h...)
	return append(out, data.Bytes()...), nil
}

func shapeOrEmpty(s []int) []int {
	if s == nil {
		return []int{}
	}
	return s
}

func metaSum(model, info string) string {
	s := sha256.Sum256([]byte(model + "\x00" + info))
	return hex.EncodeToString(s[:])
}

// SaveModel writes m to path atomically (a temporary file in the same
// directory, synced, then renamed), so a failed save never damages an
// earlier file. It returns the number of bytes written.
func SaveModel(path string, m *Model, info ModelInfo) (int64, error) {
	b, err := EncodeModel(m, info)
	if err != nil {
		return 0, err
	}
	return int64(len(b)), WriteFileAtomic(path, b)
}

// WriteFileAtomic writes data to path through a temporary file and a rename.
func WriteFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("%s: cannot write: %w", path, errors.Unwrap(err))
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	// CreateTemp makes the file private (0600); a saved model is an ordinary file.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("%s: %w", path, errors.Unwrap(err))
	}
	return nil
}

// LoadModel reads a model file written by SaveModel. A truncated, corrupted
// or foreign file gives an error naming the file and what is wrong.
func LoadModel(path string) (*Model, ModelInfo, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ModelInfo{}, fmt.Errorf("%s: no such file", path)
		}
		return nil, ModelInfo{}, fmt.Errorf("%s: %w", path, errors.Unwrap(err))
	}
	m, info, err := DecodeModel(b)
	if err != nil {
		return nil, ModelInfo{}, fmt.Errorf("%s: %w", path, err)
	}
	return m, info, nil
}

type headerEntry struct {
	DType   string `json:"dtype"`
	Shape   []int  `json:"shape"`
	Offsets []int  `json:"data_offsets"`
}

// parseEntry decodes one tensor's header entry, insisting on the exact key
// names (encoding/json alone would accept "DTYPE", which other safetensors
// readers refuse).
func parseEntry(r json.RawMessage) (headerEntry, error) {
	var e headerEntry
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(r, &fields); err != nil {
		return e, err
	}
	for k := range fields {
		if k != "dtype" && k != "shape" && k != "data_offsets" {
			return e, fmt.Errorf("unknown key %q", k)
		}
	}
	err := json.Unmarshal(r, &e)
	return e, err
}

// DecodeModel parses the bytes of a model file.
func DecodeModel(b []byte) (*Model, ModelInfo, error) {
	var info ModelInfo
	if len(b) < 8 {
		return nil, info, errors.New("not a model file: too short to be safetensors")
	}
	hlen := binary.LittleEndian.Uint64(b)
	if hlen > maxHeader || hlen < 2 {
		return nil, info, errors.New("not a safetensors model file (bad header length)")
	}
	if uint64(len(b)-8) < hlen {
		return nil, info, fmt.Errorf("truncated: header needs %d bytes, file has %d", hlen, len(b)-8)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+hlen], &raw); err != nil {
		return nil, info, errors.New("corrupted or not a safetensors model file: the header is not valid JSON")
	}
	var meta map[string]string
	if err := json.Unmarshal(raw["__metadata__"], &meta); err != nil || meta["format"] != fileFormat {
		return nil, info, errors.New("a safetensors file, but not an optlab model (no optlab metadata)")
	}
	if metaSum(meta["model"], meta["info"]) != meta["meta_sha256"] {
		return nil, info, errors.New("corrupted: the metadata checksum does not match")
	}
	var fm fileModel
	if err := json.Unmarshal([]byte(meta["model"]), &fm); err != nil {
		return nil, info, errors.New("corrupted: the model description is not valid JSON")
	}
	if fm.Version != fileVersion {
		return nil, info, fmt.Errorf("model file version %d; this optlab reads version %d", fm.Version, fileVersion)
	}
	if err := json.Unmarshal([]byte(meta["info"]), &info); err != nil {
		return nil, info, errors.New("corrupted: the model info is not valid JSON")
	}
	data := b[8+hlen:]
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != meta["sha256"] {
		return nil, info, errors.New("corrupted: the checksum of the weights does not match (truncated or modified file)")
	}
	entries := map[string]headerEntry{}
	for name, r := range raw {
		if name == "__metadata__" {
			continue
		}
		e, err := parseEntry(r)
		if err != nil || len(e.Offsets) != 2 || e.Offsets[0] < 0 ||
			e.Offsets[0] > e.Offsets[1] || e.Offsets[1] > len(data) {
			return nil, info, fmt.Errorf("corrupted: bad entry for tensor %q", name)
		}
		entries[name] = e
	}
	get := func(name string) (FileTensor, error) {
		e, ok := entries[name]
		if !ok {
			return FileTensor{}, fmt.Errorf("corrupted: tensor %q is missing", name)
		}
		return FileTensor{Name: name, DType: e.DType, Shape: e.Shape, Data: data[e.Offsets[0]:e.Offsets[1]]}, nil
	}
	m := &Model{Arch: fm.Arch, InShape: fm.InShape, Classes: fm.Classes}
	if len(fm.Classes) < 2 || numelSafe(fm.InShape) <= 0 {
		return nil, info, errors.New("corrupted: bad input shape or classes")
	}
	if fm.Norm {
		mean, err := getF32(get, "norm.mean", []int{numel(fm.InShape)})
		if err != nil {
			return nil, info, err
		}
		std, err := getF32(get, "norm.std", []int{numel(fm.InShape)})
		if err != nil {
			return nil, info, err
		}
		m.Norm = &Standardizer{Mean: mean, Std: std}
	}
	shape := fm.InShape
	for i, s := range fm.Layers {
		l, err := NewLayer(s)
		if err != nil {
			return nil, info, fmt.Errorf("corrupted: layer %d: %w", i, err)
		}
		prefix := "layers." + strconv.Itoa(i) + "."
		lget := func(name string) (FileTensor, error) { return get(prefix + name) }
		if c, ok := l.(fileCodec); ok {
			if err := c.decodeTensors(lget); err != nil {
				return nil, info, fmt.Errorf("layer %d: %w", i, err)
			}
		} else {
			for _, p := range l.Params() {
				v, err := getF32(lget, p.Name, p.W.Shape)
				if err != nil {
					return nil, info, fmt.Errorf("layer %d: %w", i, err)
				}
				copy(p.W.Data, v)
			}
		}
		// Every fully connected kind (dense, sparse, quantized) records its
		// input width; a crafted file must not reach Forward with a mismatch.
		if s.In > 0 && s.In != numel(shape) {
			return nil, info, fmt.Errorf("corrupted: layer %d takes %d inputs, gets %d", i, s.In, numel(shape))
		}
		shape = l.OutShape(shape)
		m.Layers = append(m.Layers, l)
	}
	if numel(shape) != len(m.Classes) {
		return nil, info, fmt.Errorf("corrupted: the model outputs %d values for %d classes", numel(shape), len(m.Classes))
	}
	return m, info, nil
}

func numelSafe(s []int) int {
	n := 1
	for _, d := range s {
		if d <= 0 {
			return 0
		}
		n *= d
	}
	return n
}

func getF32(get func(string) (FileTensor, error), name string, shape []int) ([]float32, error) {
	t, err := get(name)
	if err != nil {
		return nil, err
	}
	if t.DType != "F32" || !slices.Equal(t.Shape, shape) || len(t.Data) != 4*numel(shape) {
		return nil, fmt.Errorf("corrupted: tensor %q is %s%v, want F32%v", t.Name, t.DType, t.Shape, shape)
	}
	return DecodeF32(t.Data), nil
}
