//go:build !purego

package core

import "golang.org/x/sys/cpu"

// The loops of fused_amd64.s; see fused.go.
//
//go:noescape
func biasReluAVX512(z, a, b []float32)

//go:noescape
func reluAVX512(y, x []float32)

//go:noescape
func reluGradAVX512(dz, dy, z, db []float32)

//go:noescape
func addAVX512(dst, src []float32)

//go:noescape
func adamAVX512(w, g, m, v, mask []float32, c *adamConsts)

//go:noescape
func axpyAVX512(y, x []float32, a float32)

func init() {
	if cpu.X86.HasAVX512F {
		biasReluAsm, reluAsm, reluGradAsm, addAsm, adamAsm = biasReluAVX512, reluAVX512, reluGradAVX512, addAVX512, adamAVX512
		axpyAsm = axpyAVX512
	}
}
