//go:build !amd64 || purego

package core

// gemmKernels returns the kernels this build can run: the portable one.
func gemmKernels() []*gemmKernel { return []*gemmKernel{gemmGeneric} }
