//go:build !purego

package core

import "golang.org/x/sys/cpu"

// The loops of quant_kernel_amd64.s; see quantizeCodes and dequantRow.
//
//go:noescape
func quantS8AVX512(dst []int8, src []float32, inv, off, top float64, lo int32)

//go:noescape
func dequantS8AVX512(y []float32, prod, zoff, wzero []int32, t int32, scale []float64, bias []float32)

func init() {
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL {
		quantAsm, dequantAsm = quantS8AVX512, dequantS8AVX512
	}
}
