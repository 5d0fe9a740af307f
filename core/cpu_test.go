package core

import (
	"slices"
	"testing"
)

func TestKernelsMatchCPUFeatures(t *testing.T) {
	fs := CPUFeatures()
	f32, i8 := Kernels()
	if want := gemmKernels()[0].name; f32 != want {
		t.Errorf("float32 kernel %q, want the best supported, %q", f32, want)
	}
	if f32 == "avx512" && !slices.Contains(fs, "avx512f") {
		t.Errorf("avx512 kernel in use but features %v lack avx512f", fs)
	}
	if i8 == "vnni" && !slices.Contains(fs, "avx512vnni") {
		t.Errorf("vnni kernel in use but features %v lack avx512vnni", fs)
	}
	t.Logf("features %v; kernels: float32 %s, int8 %s", fs, f32, i8)
}
