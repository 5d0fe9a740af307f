//go:build !purego

#include "textflag.h"

// The AVX-512 loops around QDense's int8 product (see quant_kernel.go):
// quantizing the input and scaling the integer sums back to float32. Both
// do in vectors exactly what their Go versions do per value, so the two
// paths give the same bits. Neither checks bounds; the Go callers do.

// func quantS8AVX512(dst []int8, src []float32, inv, off, top float64, lo int32)
//
// dst[i] = int8(int32(min(max(float64(src[i])*inv + off, 0), top)) + lo):
// codeIn's arithmetic with the clamp done before truncating, where a value
// at or past top truncates to top anyway (top = hi − lo). The product and
// the sum are rounded separately, as Go rounds them. VMAXPD returns its
// second operand when either is NaN, so NaN becomes 0, the lowest code.
// The len(src)%8 tail uses masked loads and stores.
TEXT ·quantS8AVX512(SB), NOSPLIT, $0-76
	MOVQ         dst_base+0(FP), DI
	MOVQ         src_base+24(FP), SI
	MOVQ         src_len+32(FP), CX
	VBROADCASTSD inv+48(FP), Z1
	VBROADCASTSD off+56(FP), Z2
	VBROADCASTSD top+64(FP), Z3
	MOVL         lo+72(FP), AX
	VPBROADCASTD AX, Y4
	VXORPD       Z0, Z0, Z0
	CMPQ         CX, $16
	JB           q8

q16:
	VCVTPS2PD  (SI), Z5
	VCVTPS2PD  32(SI), Z6
	VMULPD     Z1, Z5, Z5
	VMULPD     Z1, Z6, Z6
	VADDPD     Z2, Z5, Z5
	VADDPD     Z2, Z6, Z6
	VMAXPD     Z0, Z5, Z5
	VMAXPD     Z0, Z6, Z6
	VMINPD     Z3, Z5, Z5
	VMINPD     Z3, Z6, Z6
	VCVTTPD2DQ Z5, Y5
	VCVTTPD2DQ Z6, Y6
	VPADDD     Y4, Y5, Y5
	VPADDD     Y4, Y6, Y6
	VPMOVDB    Y5, (DI)
	VPMOVDB    Y6, 8(DI)
	ADDQ       $64, SI
	ADDQ       $16, DI
	SUBQ       $16, CX
	CMPQ       CX, $16
	JAE        q16

q8:
	TESTQ CX, CX
	JZ    qdone
	CMPQ  CX, $8
	JB    qtail
	VCVTPS2PD  (SI), Z5
	VMULPD     Z1, Z5, Z5
	VADDPD     Z2, Z5, Z5
	VMAXPD     Z0, Z5, Z5
	VMINPD     Z3, Z5, Z5
	VCVTTPD2DQ Z5, Y5
	VPADDD     Y4, Y5, Y5
	VPMOVDB    Y5, (DI)
	ADDQ       $32, SI
	ADDQ       $8, DI
	SUBQ       $8, CX
	JZ         qdone

qtail:
	MOVL         $1, AX
	SHLL         CX, AX
	DECL         AX
	KMOVW        AX, K1
	VMOVUPS.Z    (SI), K1, Y5
	VCVTPS2PD    Y5, Z5
	VMULPD       Z1, Z5, Z5
	VADDPD       Z2, Z5, Z5
	VMAXPD       Z0, Z5, Z5
	VMINPD       Z3, Z5, Z5
	VCVTTPD2DQ   Z5, Y5
	VPADDD       Y4, Y5, Y5
	VPMOVDB      Y5, K1, (DI)

qdone:
	VZEROUPPER
	RET

// func dequantS8AVX512(y []float32, prod, zoff, wzero []int32, t int32, scale []float64, bias []float32)
//
// y[j] = float32(float64(prod[j] + zoff[j] − wzero[j]·t)·scale[j]) + bias[j]
// for j < len(y), in int32 (the caller checks the sum fits): QDense's
// correction for the zero points and its scaling back, eight at a time.
// VCVTPD2PS rounds to nearest, as Go's conversion does. The len(y)%8 tail
// uses masked loads and stores.
TEXT ·dequantS8AVX512(SB), NOSPLIT, $0-152
	MOVQ         y_base+0(FP), DI
	MOVQ         y_len+8(FP), CX
	MOVQ         prod_base+24(FP), SI
	MOVQ         zoff_base+48(FP), R8
	MOVQ         wzero_base+72(FP), R9
	MOVL         t+96(FP), AX
	VPBROADCASTD AX, Y4
	MOVQ         scale_base+104(FP), R10
	MOVQ         bias_base+128(FP), R11
	XORQ         AX, AX
	CMPQ         CX, $8
	JB           dtail

d8:
	VMOVDQU32 (SI)(AX*4), Y5
	VPADDD    (R8)(AX*4), Y5, Y5
	VPMULLD   (R9)(AX*4), Y4, Y6
	VPSUBD    Y6, Y5, Y5
	VCVTDQ2PD Y5, Z5
	VMULPD    (R10)(AX*8), Z5, Z5
	VCVTPD2PS Z5, Y5
	VADDPS    (R11)(AX*4), Y5, Y5
	VMOVUPS   Y5, (DI)(AX*4)
	ADDQ      $8, AX
	SUBQ      $8, CX
	CMPQ      CX, $8
	JAE       d8

dtail:
	TESTQ CX, CX
	JZ    ddone
	MOVL  $1, BX
	SHLL  CX, BX
	DECL  BX
	KMOVW BX, K1
	VMOVDQU32.Z (SI)(AX*4), K1, Y5
	VMOVDQU32.Z (R8)(AX*4), K1, Y6
	VMOVDQU32.Z (R9)(AX*4), K1, Y7
	VMOVUPD.Z   (R10)(AX*8), K1, Z8
	VMOVUPS.Z   (R11)(AX*4), K1, Y9
	VPADDD      Y6, Y5, Y5
	VPMULLD     Y7, Y4, Y7
	VPSUBD      Y7, Y5, Y5
	VCVTDQ2PD   Y5, Z5
	VMULPD      Z8, Z5, Z5
	VCVTPD2PS   Z5, Y5
	VADDPS      Y9, Y5, Y5
	VMOVUPS     Y5, K1, (DI)(AX*4)

ddone:
	VZEROUPPER
	RET
