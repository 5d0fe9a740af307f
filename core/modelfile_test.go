package core

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func trainedModel(t *testing.T) (*Model, *Dataset) {
	t.Helper()
	train := rings(200, 1)
	m, err := Build("mlp:8,4", []int{2}, train.Classes, BuildOptions{Seed: 3, Activation: "gelu"})
	if err != nil {
		t.Fatal(err)
	}
	m.Norm = FitStandardizer(train)
	return m, train
}

func TestModelFileRoundTrip(t *testing.T) {
	m, d := trainedModel(t)
	path := filepath.Join(t.TempDir(), "m.safetensors")
	info := ModelInfo{Task: "train", Dataset: "rings", TestAccuracy: 0.5, Seed: 3}
	n, err := SaveModel(path, m, info)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Size() != n {
		t.Fatalf("SaveModel reported %d bytes, file has %d", n, st.Size())
	}
	got, gotInfo, err := LoadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	if gotInfo != info || got.Arch != m.Arch || !slices.Equal(got.Classes, m.Classes) {
		t.Fatalf("metadata changed: %+v %q %v", gotInfo, got.Arch, got.Classes)
	}
	a, b := m.Predict(d.X), got.Predict(d.X)
	if !slices.Equal(a.Data, b.Data) {
		t.Fatal("loaded model predicts differently")
	}
	if s := m.Summarize(); s.Params != 2*8+8+8*4+4+4*2+2 || s.MACs != 2*8+8*4+4*2 {
		t.Fatalf("summary %+v", s)
	}
}

func TestModelFileRejectsDamage(t *testing.T) {
	m, _ := trainedModel(t)
	b, err := EncodeModel(m, ModelInfo{})
	if err != nil {
		t.Fatal(err)
	}
	// Every single flipped byte must be caught, wherever it is.
	for i := range b {
		c := slices.Clone(b)
		c[i] ^= 0x20
		if _, _, err := DecodeModel(c); err == nil {
			t.Fatalf("flipping byte %d of %d went unnoticed", i, len(b))
		}
	}
	for _, n := range []int{0, 5, 8, 100, len(b) - 1} {
		if _, _, err := DecodeModel(b[:n]); err == nil {
			t.Fatalf("file truncated to %d bytes was accepted", n)
		}
	}
	_, _, err = DecodeModel([]byte("this is a csv file,1,2,3\n"))
	if err == nil || !strings.Contains(err.Error(), "not") {
		t.Fatalf("foreign file: %v", err)
	}
}

func TestSaveModelIsAtomic(t *testing.T) {
	m, _ := trainedModel(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	if _, err := SaveModel(path, m, ModelInfo{}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	// A save into a missing directory fails and leaves the earlier file alone.
	if _, err := SaveModel(filepath.Join(dir, "missing", "m.safetensors"), m, ModelInfo{}); err == nil {
		t.Fatal("save into a missing directory succeeded")
	}
	after, _ := os.ReadFile(path)
	entries, _ := os.ReadDir(dir)
	if !slices.Equal(before, after) || len(entries) != 1 {
		t.Fatalf("directory now holds %d entries", len(entries))
	}
}
