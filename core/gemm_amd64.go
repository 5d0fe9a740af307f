//go:build !purego

package core

import "golang.org/x/sys/cpu"

// The float32 kernels in gemm_amd64.s; see gemmKernel.micro and dotRows.
//
//go:noescape
func sgemmKernel8x32AVX512(k int, a, b, c []float32, ldc int, alpha, beta float32)

//go:noescape
func sgemmKernel6x16AVX2(k int, a, b, c []float32, ldc int, alpha, beta float32)

//go:noescape
func sdotRowsAVX512(k int, x, b []float32, ldb int, c []float32, alpha, beta float32)

// The assembly packing loops; see transpose8 and copyRows.
//
//go:noescape
func transpose8AVX(dst []float32, dstStride int, src []float32, srcStride, k int)

//go:noescape
func copyRowsAVX(dst []float32, width int, src []float32, srcStride, rows int)

// The int8 kernels; see gemmS8.
//
//go:noescape
func sdotS8VNNI(k int, a, b []int8, ldb int, c []int32, corr int32)

//go:noescape
func sdot4x4S8VNNI(k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int, corr []int32, groups int)

//go:noescape
func sumS8AVX512(x []int8) int32

//go:noescape
func packS8VNNI(dst []byte, dstStride int, b []int8, ldb, rows, kq int)

//go:noescape
func gemmS8Kernel8x32VNNI(kq int, a []int8, lda int, b []byte, c []int32, ldc int, corr []int32)

//go:noescape
func gemvS8KernelVNNI(kq int, a []int8, b []byte, c []int32, corr int32, slivers int)

func init() {
	if cpu.X86.HasAVX {
		transpose8Asm, copyRowsAsm = transpose8AVX, copyRowsAVX
	}
	if cpu.X86.HasAVX512VNNI && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL {
		s8DotAsm, s8Dot4x4Asm, sumS8Asm = sdotS8VNNI, sdot4x4S8VNNI, sumS8AVX512
		s8PackAsm, s8KernelAsm, s8GemvAsm = packS8VNNI, gemmS8Kernel8x32VNNI, gemvS8KernelVNNI
	}
}

var (
	gemmAVX512 = &gemmKernel{name: "avx512", mr: 8, nr: 32, kc: 256, mc: 128, nc: 1024,
		micro: sgemmKernel8x32AVX512, dotRows: sdotRowsAVX512}
	gemmAVX2 = &gemmKernel{name: "avx2", mr: 6, nr: 16, kc: 256, mc: 120, nc: 1024, micro: sgemmKernel6x16AVX2}
)

// gemmKernels returns the kernels this CPU can run, best first; the portable
// one is always last.
func gemmKernels() []*gemmKernel {
	var ks []*gemmKernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, gemmAVX512)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, gemmAVX2)
	}
	return append(ks, gemmGeneric)
}
