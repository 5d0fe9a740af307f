package lab_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/optlab/optlab/core"
	"github.com/optlab/optlab/lab"
)

// quantBase trains an mlp:128 on blobs (20 features) and saves it.
func quantBase(t *testing.T, l *lab.Lab) (string, *lab.Result) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "base.safetensors")
	spec := lab.TrainSpec{Data: lab.DataSpec{Name: "blobs", Seed: 1}, Model: "mlp:128", Epochs: 8, LR: 0.003, Seed: 1, Out: out}
	evs := runOne(t, l, lab.TaskTrain, spec, spec.Job())
	r := evs[len(evs)-1].Result
	if r == nil {
		t.Fatalf("training failed: %v", evs[len(evs)-1].Err)
	}
	return out, r
}

func TestQuantizeJobFromFile(t *testing.T) {
	l := lab.New(lab.Options{Workers: 1})
	defer l.Shutdown(time.Second)
	base, trained := quantBase(t, l)
	out := filepath.Join(t.TempDir(), "q.safetensors")
	spec := lab.QuantizeSpec{ModelFile: base, Calib: 300, Out: out}
	evs := runOne(t, l, lab.TaskQuantize, spec, spec.Job())
	r := evs[len(evs)-1].Result
	if r == nil {
		t.Fatalf("quantization failed: %v", evs[len(evs)-1].Err)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	b := r.Baseline
	if r.Task != lab.TaskQuantize || r.Bits != 8 || r.Mode != "ptq" || r.Granularity != "per-channel" ||
		len(r.QuantLayers) != 2 || r.Quant == nil || r.SizeBytes != fi.Size() || r.LatencyMicros <= 0 || r.Epochs != 0 {
		t.Fatalf("result %+v", r)
	}
	if b == nil || b.SizeBytes != trained.SizeBytes || b.TestAccuracy != trained.TestAccuracy || b.LatencyMicros <= 0 {
		t.Fatalf("baseline %+v, trained %+v", b, trained)
	}
	if r.TestAccuracy < b.TestAccuracy-0.02 || r.SizeBytes*2 > b.SizeBytes { // a tiny model: the header weighs
		t.Fatalf("int8: accuracy %.3f (float %.3f), %d bytes (float %d)", r.TestAccuracy, b.TestAccuracy, r.SizeBytes, b.SizeBytes)
	}
	for _, ql := range r.QuantLayers {
		if ql.WeightSQNR == nil || *ql.WeightSQNR < 30 || ql.OutputSQNR == nil || *ql.OutputSQNR < 25 || !strings.HasSuffix(ql.Name, ":qdense") {
			t.Fatalf("layer %+v", ql)
		}
	}
	// The saved file is the measured model.
	m, info, err := core.LoadModel(out)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 20*5)
	if !slices.Equal(m.Predict(x).Data, r.Model.Clone().Predict(x).Data) || info.Task != lab.TaskQuantize || info.Dataset != "blobs" {
		t.Fatalf("saved model differs from the measured one, or its info %+v", info)
	}
	var rec map[string]any
	raw, _ := json.Marshal(r)
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	layers, _ := rec["layers"].([]any)
	if rec["bits"] != 8.0 || rec["mode"] != "ptq" || rec["granularity"] != "per-channel" || len(layers) != 2 ||
		layers[0].(map[string]any)["output_sqnr_db"] == nil || rec["baseline"] == nil {
		t.Fatalf("JSON record %s", raw)
	}
}

func TestQuantizeSweepAndQAT(t *testing.T) {
	l := lab.New(lab.Options{Workers: 1, ProgressEvery: time.Millisecond})
	defer l.Shutdown(time.Second)
	base, _ := quantBase(t, l)
	spec := lab.QuantizeSpec{ModelFile: base, Mode: "weight-only", Clip: "mse", Sweep: lab.SweepBits}
	evs := runOne(t, l, lab.TaskQuantize, spec, spec.Job())
	r := evs[len(evs)-1].Result
	if r == nil {
		t.Fatalf("sweep failed: %v", evs[len(evs)-1].Err)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatal(err)
	}
	if len(r.Sweep) != len(lab.SweepBits) || r.Sweep[0].SizeBytes != r.SizeBytes || r.Sweep[0].Sweep != nil || r.Mode != "weight-only" {
		t.Fatalf("sweep of %d records, first %+v", len(r.Sweep), r)
	}
	for i, s := range r.Sweep {
		if s.Bits != lab.SweepBits[i] || s.Baseline != nil || (i > 0 && s.SizeBytes >= r.Sweep[i-1].SizeBytes) {
			t.Fatalf("sweep entry %d: %d bits, %d bytes", i, s.Bits, s.SizeBytes)
		}
	}

	spec = lab.QuantizeSpec{ModelFile: base, Mode: "qat", Bits: 3, Epochs: 2, Calib: 200}
	evs = runOne(t, l, lab.TaskQuantize, spec, spec.Job())
	r = evs[len(evs)-1].Result
	if r == nil {
		t.Fatalf("QAT failed: %v", evs[len(evs)-1].Err)
	}
	if r.Mode != "qat" || r.Bits != 3 || r.Epochs != 2 || len(r.History) != 2 || r.TrainSeconds <= 0 {
		t.Fatalf("QAT result %+v", r)
	}
	progress := 0
	for _, e := range evs {
		if e.Kind == lab.Progress {
			progress++
			if e.Stats.Bits != 3 || e.Stats.Phase != "qat" {
				t.Fatalf("progress without bits or phase: %+v", e.Stats)
			}
		}
	}
	if progress == 0 {
		t.Fatal("QAT sent no progress")
	}
}

func TestQuantizeJobRefusesBadInput(t *testing.T) {
	l := lab.New(lab.Options{Workers: 1})
	defer l.Shutdown(time.Second)
	base, _ := quantBase(t, l)
	for _, spec := range []lab.QuantizeSpec{
		{ModelFile: base, Bits: 1},
		{ModelFile: base, Clip: "kl"},
		{ModelFile: base, Epochs: 3}, // fine-tuning settings without QAT
		{Bits: 8},                    // no model
		{ModelFile: filepath.Join(t.TempDir(), "missing.safetensors")},
	} {
		evs := runOne(t, l, lab.TaskQuantize, spec, spec.Job())
		if last := evs[len(evs)-1]; last.Kind != lab.Failed {
			t.Errorf("%+v: ended with %v", spec, last.Kind)
		}
	}
	// A quantized model cannot be quantized again.
	out := filepath.Join(t.TempDir(), "q.safetensors")
	spec := lab.QuantizeSpec{ModelFile: base, Out: out}
	runOne(t, l, lab.TaskQuantize, spec, spec.Job())
	spec = lab.QuantizeSpec{ModelFile: out}
	evs := runOne(t, l, lab.TaskQuantize, spec, spec.Job())
	if last := evs[len(evs)-1]; last.Kind != lab.Failed || !strings.Contains(last.Err.Error(), "qdense") {
		t.Errorf("quantizing a quantized file: %v %v", last.Kind, last.Err)
	}
}

func TestQuantLayersJSON(t *testing.T) {
	db := 12.5
	r := lab.Result{Task: lab.TaskQuantize, QuantLayers: []lab.QuantLayer{{Name: "0:qdense", WeightSQNR: &db}}}
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(raw); !strings.Contains(s, `"layers":[{"name":"0:qdense","weight_sqnr_db":12.5,"output_sqnr_db":null`) {
		t.Fatalf("record %s", s)
	}
	p := lab.Result{Task: lab.TaskPrune, Layers: []core.LayerSparsity{{Name: "0:dense", Sparsity: 0.5}}}
	if raw, _ := json.Marshal(p); !strings.Contains(string(raw), `"layers":[{`) || !strings.Contains(string(raw), `"name":"0:dense"`) {
		t.Fatalf("a prune record lost its layers: %s", raw)
	}
	if raw, _ := json.Marshal(lab.Result{Task: lab.TaskTrain}); strings.Contains(string(raw), "layers") {
		t.Fatalf("a train record has layers: %s", raw)
	}
}

// TestQuantizeQATConvNet checks that QAT of a saved conv net quantizes the
// convolutions as PTQ does: the same layer rows, and about the same file.
func TestQuantizeQATConvNet(t *testing.T) {
	l := lab.New(lab.Options{Workers: 1})
	defer l.Shutdown(time.Second)
	base := filepath.Join(t.TempDir(), "cnn.safetensors")
	train := lab.TrainSpec{Data: lab.DataSpec{Name: "digits", Samples: 600, Seed: 1}, Model: "cnn:4,8", Epochs: 2, Seed: 1, Out: base}
	if evs := runOne(t, l, lab.TaskTrain, train, train.Job()); evs[len(evs)-1].Result == nil {
		t.Fatalf("training failed: %v", evs[len(evs)-1].Err)
	}
	results := map[string]*lab.Result{}
	for _, mode := range []string{"ptq", "qat"} {
		spec := lab.QuantizeSpec{ModelFile: base, Mode: mode, Bits: 4, Calib: 200}
		if mode == "qat" {
			spec.Epochs = 1
		}
		evs := runOne(t, l, lab.TaskQuantize, spec, spec.Job())
		if results[mode] = evs[len(evs)-1].Result; results[mode] == nil {
			t.Fatalf("%s failed: %v", mode, evs[len(evs)-1].Err)
		}
	}
	names := func(r *lab.Result) (s []string) {
		for _, ql := range r.QuantLayers {
			s = append(s, ql.Name)
		}
		return s
	}
	p, q := results["ptq"], results["qat"]
	if want := []string{"0:wconv", "3:wconv", "7:qdense"}; !slices.Equal(names(p), want) || !slices.Equal(names(q), want) {
		t.Fatalf("quantized layers: ptq %v, qat %v, want %v", names(p), names(q), want)
	}
	// Only the metadata (accuracy, epochs) may differ.
	if d := q.SizeBytes - p.SizeBytes; d < -64 || d > 64 {
		t.Errorf("QAT file %d bytes, PTQ %d", q.SizeBytes, p.SizeBytes)
	}
}
