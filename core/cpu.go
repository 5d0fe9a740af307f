package core

import "golang.org/x/sys/cpu"

// CPUFeatures lists the instruction-set extensions the matrix kernels can
// use that this CPU (and operating system) supports, in x86 names, for
// `optlab bench` to print; it is empty on other architectures.
func CPUFeatures() []string {
	var fs []string
	for _, f := range []struct {
		name string
		has  bool
	}{
		{"avx", cpu.X86.HasAVX},
		{"avx2", cpu.X86.HasAVX2},
		{"fma", cpu.X86.HasFMA},
		{"avx512f", cpu.X86.HasAVX512F},
		{"avx512bw", cpu.X86.HasAVX512BW},
		{"avx512vl", cpu.X86.HasAVX512VL},
		{"avx512vnni", cpu.X86.HasAVX512VNNI},
		{"avxvnni", cpu.X86.HasAVXVNNI},
	} {
		if f.has {
			fs = append(fs, f.name)
		}
	}
	return fs
}

// Kernels names the kernels in use: the float32 GEMM's micro-kernel
// ("avx512", "avx2" or "generic") and the int8 product's ("vnni" or
// "generic").
func Kernels() (float32GEMM, int8GEMM string) {
	int8GEMM = "generic"
	if s8DotAsm != nil {
		int8GEMM = "vnni"
	}
	return gemmImpl.name, int8GEMM
}
