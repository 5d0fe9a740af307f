//go:build !purego

#include "textflag.h"

// The AVX-512 element-wise loops of fused.go: ReLU forward and backward,
// each fused with the dense layer's bias, a row sum, and the Adam update.
// Each computes exactly what its Go version computes per value (every
// product and sum rounded on its own, no FMA), so both give the same bits.
// Tails of len%16 use masked loads and stores. None checks bounds; the Go
// callers do.

// Sets K1 to the low CX%16 bits; clobbers AX, R13.
#define TAILMASK \
	MOVQ  CX, R13; \
	ANDQ  $15, CX; \
	MOVL  $1, AX; \
	SHLL  CX, AX; \
	DECL  AX; \
	KMOVW AX, K1; \
	MOVQ  R13, CX

// ReLU as Go's max(v, 0): VMAXPS returns its second operand, v, when v is
// NaN or either is zero, and adding +0 turns −0 into +0.
#define RELU(z) \
	VMAXPS z, Z0, z; \
	VADDPS Z0, z, z

// func biasReluAVX512(z, a, b []float32)
//
// z[j] += b[j]; a[j] = max(z[j], 0) for j < len(z).
TEXT ·biasReluAVX512(SB), NOSPLIT, $0-72
	MOVQ   z_base+0(FP), DI
	MOVQ   z_len+8(FP), CX
	MOVQ   a_base+24(FP), SI
	MOVQ   b_base+48(FP), DX
	VXORPS Z0, Z0, Z0
	TAILMASK
	SHRQ   $4, CX
	JZ     brtail

brloop:
	VMOVUPS (DI), Z1
	VADDPS  (DX), Z1, Z1
	VMOVUPS Z1, (DI)
	RELU(Z1)
	VMOVUPS Z1, (SI)
	ADDQ    $64, DI
	ADDQ    $64, SI
	ADDQ    $64, DX
	DECQ    CX
	JNZ     brloop

brtail:
	KORTESTW K1, K1
	JZ       brdone
	VMOVUPS.Z (DI), K1, Z1
	VMOVUPS.Z (DX), K1, Z2
	VADDPS    Z2, Z1, Z1
	VMOVUPS   Z1, K1, (DI)
	RELU(Z1)
	VMOVUPS   Z1, K1, (SI)

brdone:
	VZEROUPPER
	RET

// func reluAVX512(y, x []float32)
//
// y[j] = max(x[j], 0) for j < len(y).
TEXT ·reluAVX512(SB), NOSPLIT, $0-48
	MOVQ   y_base+0(FP), DI
	MOVQ   y_len+8(FP), CX
	MOVQ   x_base+24(FP), SI
	VXORPS Z0, Z0, Z0
	TAILMASK
	SHRQ   $4, CX
	JZ     rtail

rloop:
	VMOVUPS (SI), Z1
	RELU(Z1)
	VMOVUPS Z1, (DI)
	ADDQ    $64, DI
	ADDQ    $64, SI
	DECQ    CX
	JNZ     rloop

rtail:
	KORTESTW K1, K1
	JZ       rdone
	VMOVUPS.Z (SI), K1, Z1
	RELU(Z1)
	VMOVUPS   Z1, K1, (DI)

rdone:
	VZEROUPPER
	RET

// func reluGradAVX512(dz, dy, z, db []float32)
//
// dz[j] = dy[j] if z[j] > 0, else 0; and, if db is not empty, db[j] +=
// dz[j], for j < len(dz).
TEXT ·reluGradAVX512(SB), NOSPLIT, $0-96
	MOVQ   dz_base+0(FP), DI
	MOVQ   dz_len+8(FP), CX
	MOVQ   dy_base+24(FP), SI
	MOVQ   z_base+48(FP), DX
	MOVQ   db_base+72(FP), R8
	MOVQ   db_len+80(FP), R9
	VXORPS Z0, Z0, Z0
	TAILMASK
	SHRQ   $4, CX
	JZ     gtail

gloop:
	VCMPPS    $0x11, (DX), Z0, K2 // 0 < z (ordered, quiet: false for NaN)
	VMOVUPS.Z (SI), K2, Z1
	VMOVUPS   Z1, (DI)
	TESTQ     R9, R9
	JZ        gnext
	VADDPS    (R8), Z1, Z1
	VMOVUPS   Z1, (R8)

gnext:
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, R8
	DECQ CX
	JNZ  gloop

gtail:
	KORTESTW K1, K1
	JZ       gdone
	VMOVUPS.Z (DX), K1, Z2
	VCMPPS    $0x11, Z2, Z0, K1, K2
	VMOVUPS.Z (SI), K2, Z1
	VMOVUPS   Z1, K1, (DI)
	TESTQ     R9, R9
	JZ        gdone
	VMOVUPS.Z (R8), K1, Z2
	VADDPS    Z2, Z1, Z1
	VMOVUPS   Z1, K1, (R8)

gdone:
	VZEROUPPER
	RET

// func addAVX512(dst, src []float32)
//
// dst[j] += src[j] for j < len(dst).
TEXT ·addAVX512(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ src_base+24(FP), SI
	TAILMASK
	SHRQ $4, CX
	JZ   atail

aloop:
	VMOVUPS (DI), Z1
	VADDPS  (SI), Z1, Z1
	VMOVUPS Z1, (DI)
	ADDQ    $64, DI
	ADDQ    $64, SI
	DECQ    CX
	JNZ     aloop

atail:
	KORTESTW K1, K1
	JZ       adone
	VMOVUPS.Z (DI), K1, Z1
	VMOVUPS.Z (SI), K1, Z2
	VADDPS    Z2, Z1, Z1
	VMOVUPS   Z1, K1, (DI)

adone:
	VZEROUPPER
	RET

// Updates the lanes K2 selects at DI (w), SI (g), DX (m), R8 (v) and,
// when R10 ≠ 0, multiplies the new weights by the mask at R9.
#define ADAMSTEP \
	VMOVUPS.Z (DI), K2, Z1; \
	VMOVUPS.Z (SI), K2, Z2; \
	VMOVUPS.Z (DX), K2, Z3; \
	VMOVUPS.Z (R8), K2, Z4; \
	VMULPS    Z26, Z1, Z5; \
	VADDPS    Z5, Z2, Z2; \
	VMULPS    Z20, Z3, Z3; \
	VMULPS    Z21, Z2, Z5; \
	VADDPS    Z5, Z3, Z3; \
	VMULPS    Z22, Z4, Z4; \
	VMULPS    Z23, Z2, Z5; \
	VMULPS    Z2, Z5, Z5; \
	VADDPS    Z5, Z4, Z4; \
	VMOVUPS   Z3, K2, (DX); \
	VMOVUPS   Z4, K2, (R8); \
	VSQRTPS   Z4, Z6; \
	VADDPS    Z25, Z6, Z6; \
	VMULPS    Z24, Z3, Z5; \
	VDIVPS    Z6, Z5, Z5; \
	VMULPS    Z27, Z1, Z6; \
	VADDPS    Z6, Z5, Z5; \
	VSUBPS    Z5, Z1, Z1; \
	TESTQ     R10, R10; \
	JZ        3(PC); \
	VMOVUPS.Z (R9), K2, Z7; \
	VMULPS    Z7, Z1, Z1; \
	VMOVUPS   Z1, K2, (DI)

// func adamAVX512(w, g, m, v, mask []float32, c *adamConsts)
//
// The Adam (or AdamW) update of adamGo, sixteen values at a time, in its
// order of operations: with gi = g + wd·w,
//
//	m = b1·m + (1−b1)·gi
//	v = b2·v + ((1−b2)·gi)·gi
//	w = w − (alpha·m/(sqrt(v) + eps) + decoupled·w)
//
// and, if mask is not empty, w = w·mask. Z20..Z27 hold b1, 1−b1, b2, 1−b2,
// alpha, eps, wd and decoupled.
TEXT ·adamAVX512(SB), NOSPLIT, $0-128
	MOVQ w_base+0(FP), DI
	MOVQ w_len+8(FP), CX
	MOVQ g_base+24(FP), SI
	MOVQ m_base+48(FP), DX
	MOVQ v_base+72(FP), R8
	MOVQ mask_base+96(FP), R9
	MOVQ mask_len+104(FP), R10
	MOVQ c+120(FP), R11
	VBROADCASTSS 0(R11), Z20
	VBROADCASTSS 4(R11), Z21
	VBROADCASTSS 8(R11), Z22
	VBROADCASTSS 12(R11), Z23
	VBROADCASTSS 16(R11), Z24
	VBROADCASTSS 20(R11), Z25
	VBROADCASTSS 24(R11), Z26
	VBROADCASTSS 28(R11), Z27
	TAILMASK
	SHRQ   $4, CX
	JZ     adtail
	KXNORW K2, K2, K2 // all lanes

adloop:
	ADAMSTEP
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, R8
	ADDQ $64, R9
	DECQ CX
	JNZ  adloop

adtail:
	KORTESTW K1, K1
	JZ       addone
	KMOVW    K1, K2
	ADAMSTEP

addone:
	VZEROUPPER
	RET

// func axpyAVX512(y, x []float32, a float32)
//
// y[j] += a·x[j] for j < len(y), with one rounding (FMA).
TEXT ·axpyAVX512(SB), NOSPLIT, $0-52
	MOVQ         y_base+0(FP), DI
	MOVQ         y_len+8(FP), CX
	MOVQ         x_base+24(FP), SI
	VBROADCASTSS a+48(FP), Z0
	TAILMASK
	SHRQ $5, CX
	JZ   xpy16

xpy32:
	VMOVUPS     (DI), Z1
	VMOVUPS     64(DI), Z2
	VFMADD231PS (SI), Z0, Z1
	VFMADD231PS 64(SI), Z0, Z2
	VMOVUPS     Z1, (DI)
	VMOVUPS     Z2, 64(DI)
	ADDQ        $128, DI
	ADDQ        $128, SI
	DECQ        CX
	JNZ         xpy32

xpy16:
	MOVQ y_len+8(FP), CX
	TESTQ $16, CX
	JZ    xpytail
	VMOVUPS     (DI), Z1
	VFMADD231PS (SI), Z0, Z1
	VMOVUPS     Z1, (DI)
	ADDQ        $64, DI
	ADDQ        $64, SI

xpytail:
	KORTESTW K1, K1
	JZ       xpydone
	VMOVUPS.Z   (DI), K1, Z1
	VMOVUPS.Z   (SI), K1, Z2
	VFMADD231PS Z2, Z0, Z1
	VMOVUPS     Z1, K1, (DI)

xpydone:
	VZEROUPPER
	RET
