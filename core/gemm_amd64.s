//go:build !purego

#include "textflag.h"

// The amd64 kernels of gemm.go and gemm_s8.go: float32 micro-kernels
// (AVX-512 and AVX2+FMA), a dot-product kernel for products with few rows,
// the packing loops, and the int8 VNNI kernels. gemm_amd64.go picks them
// by CPU feature. None checks bounds; the Go callers do.
//
// Each micro-kernel computes one full mr×nr tile
//
//	C = alpha·Ap·Bp + beta·C
//
// from packed panels: Ap holds k steps of mr values (one per row), Bp holds
// k steps of nr values (one per column), so every step is one broadcast per
// row times the vectors of one Bp row. C is row-major with stride ldc
// (in elements). beta == 0 (or -0) means C is written without being read,
// so NaNs in an uninitialized C do not leak into the result.
//
// Go signature (all micro-kernels):
//	func(k int, a, b, c []float32, ldc int, alpha, beta float32)

// ---- AVX-512: 8×32 tile, accumulators Z0..Z15 (row i in Z2i, Z2i+1),
// B row in Z16, Z17, broadcasts in Z18..Z25.

#define ROW512(off, bc, acc0, acc1) \
	VBROADCASTSS off(SI), bc; \
	VFMADD231PS  Z16, bc, acc0; \
	VFMADD231PS  Z17, bc, acc1

// Z16 = alpha, Z17 = beta, DX = row of C, R8 = ldc in bytes.
#define STORE512BETA(acc0, acc1) \
	VMULPS      Z16, acc0, acc0; \
	VMULPS      Z16, acc1, acc1; \
	VFMADD231PS (DX), Z17, acc0; \
	VFMADD231PS 64(DX), Z17, acc1; \
	VMOVUPS     acc0, (DX); \
	VMOVUPS     acc1, 64(DX); \
	ADDQ        R8, DX

#define STORE512(acc0, acc1) \
	VMULPS  Z16, acc0, acc0; \
	VMULPS  Z16, acc1, acc1; \
	VMOVUPS acc0, (DX); \
	VMOVUPS acc1, 64(DX); \
	ADDQ    R8, DX

// func sgemmKernel8x32AVX512(k int, a, b, c []float32, ldc int, alpha, beta float32)
TEXT ·sgemmKernel8x32AVX512(SB), NOSPLIT, $0-96
	MOVQ k+0(FP), CX
	MOVQ a_base+8(FP), SI
	MOVQ b_base+32(FP), DI
	MOVQ c_base+56(FP), DX
	MOVQ ldc+80(FP), R8
	SHLQ $2, R8

	// Touch the C tile early so its lines arrive while the loop runs.
	MOVQ        DX, R9
	PREFETCHT0  (R9)
	PREFETCHT0  64(R9)
	ADDQ        R8, R9
	PREFETCHT0  (R9)
	PREFETCHT0  64(R9)
	ADDQ        R8, R9
	PREFETCHT0  (R9)
	PREFETCHT0  64(R9)
	ADDQ        R8, R9
	PREFETCHT0  (R9)
	PREFETCHT0  64(R9)
	ADDQ        R8, R9
	PREFETCHT0  (R9)
	PREFETCHT0  64(R9)
	ADDQ        R8, R9
	PREFETCHT0  (R9)
	PREFETCHT0  64(R9)
	ADDQ        R8, R9
	PREFETCHT0  (R9)
	PREFETCHT0  64(R9)
	ADDQ        R8, R9
	PREFETCHT0  (R9)
	PREFETCHT0  64(R9)

	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15

	TESTQ CX, CX
	JZ    done512

loop512:
	VMOVUPS (DI), Z16
	VMOVUPS 64(DI), Z17
	ROW512(0, Z18, Z0, Z1)
	ROW512(4, Z19, Z2, Z3)
	ROW512(8, Z20, Z4, Z5)
	ROW512(12, Z21, Z6, Z7)
	ROW512(16, Z22, Z8, Z9)
	ROW512(20, Z23, Z10, Z11)
	ROW512(24, Z24, Z12, Z13)
	ROW512(28, Z25, Z14, Z15)
	ADDQ $32, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  loop512

done512:
	VBROADCASTSS alpha+88(FP), Z16
	MOVL         beta+92(FP), AX
	ANDL         $0x7fffffff, AX
	JZ           nobeta512
	VBROADCASTSS beta+92(FP), Z17
	STORE512BETA(Z0, Z1)
	STORE512BETA(Z2, Z3)
	STORE512BETA(Z4, Z5)
	STORE512BETA(Z6, Z7)
	STORE512BETA(Z8, Z9)
	STORE512BETA(Z10, Z11)
	STORE512BETA(Z12, Z13)
	STORE512BETA(Z14, Z15)
	VZEROUPPER
	RET

nobeta512:
	STORE512(Z0, Z1)
	STORE512(Z2, Z3)
	STORE512(Z4, Z5)
	STORE512(Z6, Z7)
	STORE512(Z8, Z9)
	STORE512(Z10, Z11)
	STORE512(Z12, Z13)
	STORE512(Z14, Z15)
	VZEROUPPER
	RET

// ---- AVX2+FMA: 6×16 tile, accumulators Y0..Y11 (row i in Y2i, Y2i+1),
// B row in Y12, Y13, broadcasts alternating in Y14, Y15.

#define ROW256(off, bc, acc0, acc1) \
	VBROADCASTSS off(SI), bc; \
	VFMADD231PS  Y12, bc, acc0; \
	VFMADD231PS  Y13, bc, acc1

// Y12 = alpha, Y13 = beta, DX = row of C, R8 = ldc in bytes.
#define STORE256BETA(acc0, acc1) \
	VMULPS      Y12, acc0, acc0; \
	VMULPS      Y12, acc1, acc1; \
	VFMADD231PS (DX), Y13, acc0; \
	VFMADD231PS 32(DX), Y13, acc1; \
	VMOVUPS     acc0, (DX); \
	VMOVUPS     acc1, 32(DX); \
	ADDQ        R8, DX

#define STORE256(acc0, acc1) \
	VMULPS  Y12, acc0, acc0; \
	VMULPS  Y12, acc1, acc1; \
	VMOVUPS acc0, (DX); \
	VMOVUPS acc1, 32(DX); \
	ADDQ    R8, DX

// func sgemmKernel6x16AVX2(k int, a, b, c []float32, ldc int, alpha, beta float32)
TEXT ·sgemmKernel6x16AVX2(SB), NOSPLIT, $0-96
	MOVQ k+0(FP), CX
	MOVQ a_base+8(FP), SI
	MOVQ b_base+32(FP), DI
	MOVQ c_base+56(FP), DX
	MOVQ ldc+80(FP), R8
	SHLQ $2, R8

	MOVQ       DX, R9
	PREFETCHT0 (R9)
	PREFETCHT0 32(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 32(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 32(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 32(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 32(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 32(R9)

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	TESTQ CX, CX
	JZ    done256

loop256:
	VMOVUPS (DI), Y12
	VMOVUPS 32(DI), Y13
	ROW256(0, Y14, Y0, Y1)
	ROW256(4, Y15, Y2, Y3)
	ROW256(8, Y14, Y4, Y5)
	ROW256(12, Y15, Y6, Y7)
	ROW256(16, Y14, Y8, Y9)
	ROW256(20, Y15, Y10, Y11)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  loop256

done256:
	VBROADCASTSS alpha+88(FP), Y12
	MOVL         beta+92(FP), AX
	ANDL         $0x7fffffff, AX
	JZ           nobeta256
	VBROADCASTSS beta+92(FP), Y13
	STORE256BETA(Y0, Y1)
	STORE256BETA(Y2, Y3)
	STORE256BETA(Y4, Y5)
	STORE256BETA(Y6, Y7)
	STORE256BETA(Y8, Y9)
	STORE256BETA(Y10, Y11)
	VZEROUPPER
	RET

nobeta256:
	STORE256(Y0, Y1)
	STORE256(Y2, Y3)
	STORE256(Y4, Y5)
	STORE256(Y6, Y7)
	STORE256(Y8, Y9)
	STORE256(Y10, Y11)
	VZEROUPPER
	RET

// func transpose8AVX(dst []float32, dstStride int, src []float32, srcStride, k int)
//
// For each 8×8 block of an 8-row strip of src (k/8 blocks, k a multiple of
// 8), writes its transpose: dst[(q+c)*dstStride + r] = src[r*srcStride + q+c].
// Strides are in elements. The usual unpack/shuffle/permute network.
TEXT ·transpose8AVX(SB), NOSPLIT, $0-72
	MOVQ dst_base+0(FP), DI
	MOVQ dstStride+24(FP), R9
	MOVQ src_base+32(FP), SI
	MOVQ srcStride+56(FP), R8
	MOVQ k+64(FP), CX
	SHRQ $3, CX
	JZ   tdone
	SHLQ $2, R8
	SHLQ $2, R9
	LEAQ (R8)(R8*2), R11      // 3 source rows
	LEAQ (SI)(R8*4), R12      // source row 4
	LEAQ (R9)(R9*2), R13      // 3 destination rows
	LEAQ (DI)(R9*4), DX       // destination row 4
	MOVQ R9, BX
	SHLQ $3, BX               // 8 destination rows

tloop:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R8*2), Y2
	VMOVUPS (SI)(R11*1), Y3
	VMOVUPS (R12), Y4
	VMOVUPS (R12)(R8*1), Y5
	VMOVUPS (R12)(R8*2), Y6
	VMOVUPS (R12)(R11*1), Y7

	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15

	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7

	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15

	VMOVUPS Y8, (DI)
	VMOVUPS Y9, (DI)(R9*1)
	VMOVUPS Y10, (DI)(R9*2)
	VMOVUPS Y11, (DI)(R13*1)
	VMOVUPS Y12, (DX)
	VMOVUPS Y13, (DX)(R9*1)
	VMOVUPS Y14, (DX)(R9*2)
	VMOVUPS Y15, (DX)(R13*1)

	ADDQ $32, SI
	ADDQ $32, R12
	ADDQ BX, DI
	ADDQ BX, DX
	DECQ CX
	JNZ  tloop
	VZEROUPPER

tdone:
	RET

// func copyRowsAVX(dst []float32, width int, src []float32, srcStride, rows int)
//
// Copies rows of width values (a multiple of 8) from src, srcStride apart,
// to consecutive rows of dst: dst[r*width + c] = src[r*srcStride + c].
TEXT ·copyRowsAVX(SB), NOSPLIT, $0-72
	MOVQ dst_base+0(FP), DI
	MOVQ width+24(FP), R9
	MOVQ src_base+32(FP), SI
	MOVQ srcStride+56(FP), R8
	MOVQ rows+64(FP), CX
	TESTQ CX, CX
	JZ    cdone
	SHLQ $2, R8
	SHRQ $3, R9
	JZ   cdone

crow:
	MOVQ SI, AX
	MOVQ R9, DX

ccol:
	VMOVUPS (AX), Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, AX
	ADDQ    $32, DI
	DECQ    DX
	JNZ     ccol
	ADDQ R8, SI
	DECQ CX
	JNZ  crow
	VZEROUPPER

cdone:
	RET

// func sdotRowsAVX512(k int, x, b []float32, ldb int, c []float32, alpha, beta float32)
//
// Dot products of x[:k] with the rows of b, both contiguous, so a product
// with few rows of A needs no packing: c[r] = alpha·x·b[r*ldb:r*ldb+k] +
// beta·c[r] for r < len(c), a multiple of 4 (c not read when beta == 0).
// Rows go four at a time, sharing each load of x. The k%16 tail uses masked
// loads, which do not touch memory past the rows.
TEXT ·sdotRowsAVX512(SB), NOSPLIT, $0-96
	MOVQ k+0(FP), R13
	MOVQ x_base+8(FP), R12
	MOVQ b_base+32(FP), R9
	MOVQ ldb+56(FP), R8
	MOVQ c_base+64(FP), DX
	MOVQ c_len+72(FP), BX
	SHRQ $2, BX
	JZ   ddone
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R11
	MOVQ R13, CX
	ANDQ $15, CX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	VBROADCASTSS alpha+88(FP), X12
	VBROADCASTSS beta+92(FP), X13
	MOVL         beta+92(FP), R10
	ANDL         $0x7fffffff, R10

dgroup:
	MOVQ   R12, SI
	MOVQ   R9, DI
	MOVQ   R13, CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	CMPQ   CX, $16
	JB     dtail

dloop:
	VMOVUPS     (SI), Z4
	VFMADD231PS (DI), Z4, Z0
	VFMADD231PS (DI)(R8*1), Z4, Z1
	VFMADD231PS (DI)(R8*2), Z4, Z2
	VFMADD231PS (DI)(R11*1), Z4, Z3
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $16, CX
	CMPQ        CX, $16
	JAE         dloop

dtail:
	TESTQ CX, CX
	JZ    dreduce
	VMOVUPS.Z   (SI), K1, Z4
	VMOVUPS.Z   (DI), K1, Z5
	VMOVUPS.Z   (DI)(R8*1), K1, Z6
	VMOVUPS.Z   (DI)(R8*2), K1, Z7
	VMOVUPS.Z   (DI)(R11*1), K1, Z8
	VFMADD231PS Z5, Z4, Z0
	VFMADD231PS Z6, Z4, Z1
	VFMADD231PS Z7, Z4, Z2
	VFMADD231PS Z8, Z4, Z3

dreduce:
	// Fold each accumulator to 8 lanes, then three horizontal adds leave
	// the four sums in X0.
	VEXTRACTF64X4 $1, Z0, Y4
	VADDPS        Y4, Y0, Y0
	VEXTRACTF64X4 $1, Z1, Y5
	VADDPS        Y5, Y1, Y1
	VEXTRACTF64X4 $1, Z2, Y6
	VADDPS        Y6, Y2, Y2
	VEXTRACTF64X4 $1, Z3, Y7
	VADDPS        Y7, Y3, Y3
	VHADDPS       Y1, Y0, Y0
	VHADDPS       Y3, Y2, Y2
	VHADDPS       Y2, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPS        X1, X0, X0
	VMULPS        X12, X0, X0
	TESTL         R10, R10
	JZ            dstore
	VFMADD231PS   (DX), X13, X0

dstore:
	VMOVUPS X0, (DX)
	ADDQ    $16, DX
	LEAQ    (R9)(R8*4), R9
	DECQ    BX
	JNZ     dgroup
	VZEROUPPER

ddone:
	RET

// func sdotS8VNNI(k int, a, b []int8, ldb int, c []int32, corr int32)
//
// Int8 dot products of a[:k] with the rows of b, four rows at a time:
// c[r] = corr + Σ_q (b[r*ldb+q]+128)·a[q] for r < len(c), a multiple of 4.
// VPDPBUSD multiplies unsigned by signed bytes, so b is flipped to offset
// binary on load (XOR 0x80) and the caller passes corr = −128·Σa to take
// the offset out again. Sums wrap modulo 2³², which leaves any result that
// fits in int32 exact. The k%64 tail uses masked loads, which do not touch
// memory past the rows; masked-off bytes load as zero, and a's zeros cancel
// b's flipped 0x80s.
TEXT ·sdotS8VNNI(SB), NOSPLIT, $0-92
	MOVQ k+0(FP), R13
	MOVQ a_base+8(FP), R12
	MOVQ b_base+32(FP), R9
	MOVQ ldb+56(FP), R8
	MOVQ c_base+64(FP), DX
	MOVQ c_len+72(FP), BX
	SHRQ $2, BX
	JZ   qdone
	LEAQ (R8)(R8*2), R11
	MOVQ R13, CX
	ANDQ $63, CX
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVQ AX, K1
	MOVL $0x80808080, AX
	VPBROADCASTD AX, Z9
	MOVL         corr+88(FP), AX
	VMOVD        AX, X10
	VPBROADCASTD X10, X10

qgroup:
	MOVQ   R12, SI
	MOVQ   R9, DI
	MOVQ   R13, CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	CMPQ   CX, $64
	JB     qtail

qloop:
	VMOVDQU8 (SI), Z4
	VPXORD   (DI), Z9, Z5
	VPXORD   (DI)(R8*1), Z9, Z6
	VPXORD   (DI)(R8*2), Z9, Z7
	VPXORD   (DI)(R11*1), Z9, Z8
	VPDPBUSD Z4, Z5, Z0
	VPDPBUSD Z4, Z6, Z1
	VPDPBUSD Z4, Z7, Z2
	VPDPBUSD Z4, Z8, Z3
	ADDQ     $64, SI
	ADDQ     $64, DI
	SUBQ     $64, CX
	CMPQ     CX, $64
	JAE      qloop

qtail:
	TESTQ CX, CX
	JZ    qreduce
	VMOVDQU8.Z (SI), K1, Z4
	VMOVDQU8.Z (DI), K1, Z5
	VMOVDQU8.Z (DI)(R8*1), K1, Z6
	VMOVDQU8.Z (DI)(R8*2), K1, Z7
	VMOVDQU8.Z (DI)(R11*1), K1, Z8
	VPXORD     Z9, Z5, Z5
	VPXORD     Z9, Z6, Z6
	VPXORD     Z9, Z7, Z7
	VPXORD     Z9, Z8, Z8
	VPDPBUSD   Z4, Z5, Z0
	VPDPBUSD   Z4, Z6, Z1
	VPDPBUSD   Z4, Z7, Z2
	VPDPBUSD   Z4, Z8, Z3

qreduce:
	VEXTRACTI64X4 $1, Z0, Y4
	VPADDD        Y4, Y0, Y0
	VEXTRACTI64X4 $1, Z1, Y5
	VPADDD        Y5, Y1, Y1
	VEXTRACTI64X4 $1, Z2, Y6
	VPADDD        Y6, Y2, Y2
	VEXTRACTI64X4 $1, Z3, Y7
	VPADDD        Y7, Y3, Y3
	VPHADDD       Y1, Y0, Y0
	VPHADDD       Y3, Y2, Y2
	VPHADDD       Y2, Y0, Y0
	VEXTRACTI128  $1, Y0, X1
	VPADDD        X1, X0, X0
	VPADDD        X10, X0, X0
	VMOVDQU       X0, (DX)
	ADDQ          $16, DX
	LEAQ          (R9)(R8*4), R9
	DECQ          BX
	JNZ           qgroup
	VZEROUPPER

qdone:
	RET

// func sumS8AVX512(x []int8) int32
//
// Σx, by VPDPBUSD against a vector of unsigned ones.
TEXT ·sumS8AVX512(SB), NOSPLIT, $0-28
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	MOVL $0x01010101, AX
	VPBROADCASTD AX, Z9
	VPXORD Z0, Z0, Z0
	CMPQ   CX, $64
	JB     stail

sloop:
	VPDPBUSD (SI), Z9, Z0
	ADDQ     $64, SI
	SUBQ     $64, CX
	CMPQ     CX, $64
	JAE      sloop

stail:
	TESTQ CX, CX
	JZ    sreduce
	MOVQ  $1, AX
	SHLQ  CX, AX
	DECQ  AX
	KMOVQ AX, K1
	VMOVDQU8.Z (SI), K1, Z4
	VPDPBUSD   Z4, Z9, Z0

sreduce:
	VEXTRACTI64X4 $1, Z0, Y4
	VPADDD        Y4, Y0, Y0
	VEXTRACTI128  $1, Y0, X4
	VPADDD        X4, X0, X0
	VPSHUFD       $0x4E, X0, X4
	VPADDD        X4, X0, X0
	VPSHUFD       $0xB1, X0, X4
	VPADDD        X4, X0, X0
	VMOVD         X0, AX
	MOVL          AX, ret+24(FP)
	VZEROUPPER
	RET

// func sdot4x4S8VNNI(k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int, corr []int32, groups int)
//
// sdotS8VNNI for four rows of a at once, so each load of b serves four
// rows: c[i*ldc+r] = corr[i] + Σ_q (b[r*ldb+q]+128)·a[i*lda+q] for i < 4
// and r < 4·groups, four rows of b at a time. Accumulator Z(4i+r) holds
// row i of a against row r of the group.

#define S8ROW(za, acc0, acc1, acc2, acc3) \
	VPDPBUSD za, Z20, acc0; \
	VPDPBUSD za, Z21, acc1; \
	VPDPBUSD za, Z22, acc2; \
	VPDPBUSD za, Z23, acc3

// Reduces four accumulators to four sums in the low lanes of X0_, adds the
// correction at corrp and stores them at DX, then moves DX on by ldc (R10).
#define S8STORE(z0, z1, z2, z3, y0, y1, y2, y3, x0, x1, corrp) \
	VEXTRACTI64X4 $1, z0, Y16; \
	VPADDD        Y16, y0, y0; \
	VEXTRACTI64X4 $1, z1, Y17; \
	VPADDD        Y17, y1, y1; \
	VEXTRACTI64X4 $1, z2, Y18; \
	VPADDD        Y18, y2, y2; \
	VEXTRACTI64X4 $1, z3, Y19; \
	VPADDD        Y19, y3, y3; \
	VPHADDD       y1, y0, y0; \
	VPHADDD       y3, y2, y2; \
	VPHADDD       y2, y0, y0; \
	VEXTRACTI128  $1, y0, x1; \
	VPADDD        x1, x0, x0; \
	VPBROADCASTD  corrp, x1; \
	VPADDD        x1, x0, x0; \
	VMOVDQU       x0, (DX); \
	ADDQ          R10, DX

TEXT ·sdot4x4S8VNNI(SB), NOSPLIT, $0-136
	MOVQ lda+32(FP), R9
	MOVQ b_base+40(FP), R13
	MOVQ ldb+64(FP), R8
	MOVQ c_base+72(FP), DX
	MOVQ ldc+96(FP), R10
	MOVQ corr_base+104(FP), BX
	SHLQ $2, R10
	LEAQ (R8)(R8*2), R11
	LEAQ (R9)(R9*2), R12
	MOVQ k+0(FP), CX
	ANDQ $63, CX
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVQ AX, K1
	MOVL $0x80808080, AX
	VPBROADCASTD AX, Z24
	MOVQ groups+128(FP), AX
	TESTQ AX, AX
	JZ    bdone

bgroup:
	MOVQ   k+0(FP), CX
	MOVQ   a_base+8(FP), SI
	MOVQ   R13, DI
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	CMPQ   CX, $64
	JB     btail

bloop:
	VMOVDQU8 (SI), Z16
	VMOVDQU8 (SI)(R9*1), Z17
	VMOVDQU8 (SI)(R9*2), Z18
	VMOVDQU8 (SI)(R12*1), Z19
	VPXORD   (DI), Z24, Z20
	VPXORD   (DI)(R8*1), Z24, Z21
	VPXORD   (DI)(R8*2), Z24, Z22
	VPXORD   (DI)(R11*1), Z24, Z23
	S8ROW(Z16, Z0, Z1, Z2, Z3)
	S8ROW(Z17, Z4, Z5, Z6, Z7)
	S8ROW(Z18, Z8, Z9, Z10, Z11)
	S8ROW(Z19, Z12, Z13, Z14, Z15)
	ADDQ     $64, SI
	ADDQ     $64, DI
	SUBQ     $64, CX
	CMPQ     CX, $64
	JAE      bloop

btail:
	TESTQ CX, CX
	JZ    breduce
	VMOVDQU8.Z (SI), K1, Z16
	VMOVDQU8.Z (SI)(R9*1), K1, Z17
	VMOVDQU8.Z (SI)(R9*2), K1, Z18
	VMOVDQU8.Z (SI)(R12*1), K1, Z19
	VMOVDQU8.Z (DI), K1, Z20
	VMOVDQU8.Z (DI)(R8*1), K1, Z21
	VMOVDQU8.Z (DI)(R8*2), K1, Z22
	VMOVDQU8.Z (DI)(R11*1), K1, Z23
	VPXORD     Z24, Z20, Z20
	VPXORD     Z24, Z21, Z21
	VPXORD     Z24, Z22, Z22
	VPXORD     Z24, Z23, Z23
	S8ROW(Z16, Z0, Z1, Z2, Z3)
	S8ROW(Z17, Z4, Z5, Z6, Z7)
	S8ROW(Z18, Z8, Z9, Z10, Z11)
	S8ROW(Z19, Z12, Z13, Z14, Z15)

breduce:
	S8STORE(Z0, Z1, Z2, Z3, Y0, Y1, Y2, Y3, X0, X1, (BX))
	S8STORE(Z4, Z5, Z6, Z7, Y4, Y5, Y6, Y7, X4, X5, 4(BX))
	S8STORE(Z8, Z9, Z10, Z11, Y8, Y9, Y10, Y11, X8, X9, 8(BX))
	S8STORE(Z12, Z13, Z14, Z15, Y12, Y13, Y14, Y15, X12, X13, 12(BX))
	// Back up the four rows of c the stores moved on, to the next group.
	SUBQ R10, DX
	SUBQ R10, DX
	SUBQ R10, DX
	SUBQ R10, DX
	ADDQ $16, DX
	LEAQ (R13)(R8*4), R13
	DECQ AX
	JNZ  bgroup
	VZEROUPPER

bdone:
	RET

// func packS8VNNI(dst []byte, dstStride int, b []int8, ldb, rows, kq int)
//
// Packs rows (at most 16) rows of b, ldb apart, for gemmS8Kernel8x32VNNI:
// for q < kq, the 64 bytes at dst[q*dstStride:] hold dword q of each row
// (bytes 4q..4q+3), row r in bytes 4r..4r+3, flipped to offset binary
// (XOR 0x80) for VPDPBUSD's unsigned operand. One masked gather per dword
// column; lanes past rows are left as 0x80 bytes.
TEXT ·packS8VNNI(SB), NOSPLIT, $0-80
	MOVQ dst_base+0(FP), DI
	MOVQ dstStride+24(FP), R8
	MOVQ b_base+32(FP), SI
	MOVQ ldb+56(FP), R9
	MOVQ rows+64(FP), CX
	MOVQ kq+72(FP), DX
	TESTQ DX, DX
	JZ    pdone
	MOVL  R9, AX
	VPBROADCASTD AX, Z2
	VPMULLD      s8iota<>(SB), Z2, Z1   // byte offsets of the rows
	MOVL  $0x80808080, AX
	VPBROADCASTD AX, Z3
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX

ploop:
	VPXORD     Z0, Z0, Z0
	KMOVW      AX, K1               // the gather clears its mask
	VPGATHERDD (SI)(Z1*1), K1, Z0
	VPXORD     Z3, Z0, Z0
	VMOVDQU32  Z0, (DI)
	ADDQ       $4, SI
	ADDQ       R8, DI
	DECQ       DX
	JNZ        ploop
	VZEROUPPER

pdone:
	RET

DATA s8iota<>+0(SB)/4, $0
DATA s8iota<>+4(SB)/4, $1
DATA s8iota<>+8(SB)/4, $2
DATA s8iota<>+12(SB)/4, $3
DATA s8iota<>+16(SB)/4, $4
DATA s8iota<>+20(SB)/4, $5
DATA s8iota<>+24(SB)/4, $6
DATA s8iota<>+28(SB)/4, $7
DATA s8iota<>+32(SB)/4, $8
DATA s8iota<>+36(SB)/4, $9
DATA s8iota<>+40(SB)/4, $10
DATA s8iota<>+44(SB)/4, $11
DATA s8iota<>+48(SB)/4, $12
DATA s8iota<>+52(SB)/4, $13
DATA s8iota<>+56(SB)/4, $14
DATA s8iota<>+60(SB)/4, $15
GLOBL s8iota<>(SB), RODATA|NOPTR, $64

// func gemmS8Kernel8x32VNNI(kq int, a []int8, lda int, b []byte, c []int32, ldc int, corr []int32)
//
// One 8×32 int32 tile c[i*ldc+j] = corr[i] + Σ_q (b_qj+128)·a[i*lda+q]
// from kq dwords of each of 8 rows of a (read in place: four bytes of a
// row are contiguous) and b packed by packS8VNNI as two 16-column halves
// per dword (128 bytes per step). Each step broadcasts a row's dword against
// both halves, so the 16 accumulators need no horizontal sums.

#define S8TILEROW(addr, bc, acc0, acc1) \
	VPBROADCASTD addr, bc; \
	VPDPBUSD     bc, Z16, acc0; \
	VPDPBUSD     bc, Z17, acc1

#define S8TILESTORE(off, acc0, acc1) \
	VPBROADCASTD off(BX), Z18; \
	VPADDD       Z18, acc0, acc0; \
	VPADDD       Z18, acc1, acc1; \
	VMOVDQU32    acc0, (DX); \
	VMOVDQU32    acc1, 64(DX); \
	ADDQ         R10, DX

TEXT ·gemmS8Kernel8x32VNNI(SB), NOSPLIT, $0-120
	MOVQ kq+0(FP), CX
	MOVQ a_base+8(FP), SI
	MOVQ lda+32(FP), R9
	MOVQ b_base+40(FP), DI
	MOVQ c_base+64(FP), DX
	MOVQ ldc+88(FP), R10
	MOVQ corr_base+96(FP), BX
	SHLQ $2, R10
	LEAQ (R9)(R9*2), R12
	LEAQ (SI)(R9*4), R13

	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	TESTQ  CX, CX
	JZ     kstore

kloop:
	VMOVDQU32 (DI), Z16
	VMOVDQU32 64(DI), Z17
	S8TILEROW((SI), Z18, Z0, Z1)
	S8TILEROW((SI)(R9*1), Z19, Z2, Z3)
	S8TILEROW((SI)(R9*2), Z20, Z4, Z5)
	S8TILEROW((SI)(R12*1), Z21, Z6, Z7)
	S8TILEROW((R13), Z22, Z8, Z9)
	S8TILEROW((R13)(R9*1), Z23, Z10, Z11)
	S8TILEROW((R13)(R9*2), Z24, Z12, Z13)
	S8TILEROW((R13)(R12*1), Z25, Z14, Z15)
	ADDQ $4, SI
	ADDQ $4, R13
	ADDQ $128, DI
	DECQ CX
	JNZ  kloop

kstore:
	S8TILESTORE(0, Z0, Z1)
	S8TILESTORE(4, Z2, Z3)
	S8TILESTORE(8, Z4, Z5)
	S8TILESTORE(12, Z6, Z7)
	S8TILESTORE(16, Z8, Z9)
	S8TILESTORE(20, Z10, Z11)
	S8TILESTORE(24, Z12, Z13)
	S8TILESTORE(28, Z14, Z15)
	VZEROUPPER
	RET

// func gemvS8KernelVNNI(kq int, a []int8, b []byte, c []int32, corr int32, slivers int)
//
// One row of gemmS8Kernel8x32VNNI's product over whole slivers of packed
// B: c[j] = corr + Σ_q (b_qj+128)·a[q] for j < 32·slivers, from kq dwords of
// a. Four slivers go at a time (eight accumulators, so VPDPBUSD's latency
// is hidden), each step broadcasting one dword of a; the last slivers go
// one at a time.
TEXT ·gemvS8KernelVNNI(SB), NOSPLIT, $0-96
	MOVQ kq+0(FP), CX
	MOVQ a_base+8(FP), SI
	MOVQ b_base+32(FP), DI
	MOVQ c_base+56(FP), DX
	MOVL corr+80(FP), AX
	VPBROADCASTD AX, Z30
	MOVQ slivers+88(FP), BX
	MOVQ CX, R8
	SHLQ $7, R8 // bytes per sliver: 128 per step
	LEAQ (R8)(R8*2), R11
	TESTQ CX, CX
	JZ    vzero

vgroup4:
	CMPQ BX, $4
	JB   vgroup1
	MOVQ   SI, R9
	MOVQ   DI, R10
	MOVQ   CX, R12
	VMOVDQA64 Z30, Z0
	VMOVDQA64 Z30, Z1
	VMOVDQA64 Z30, Z2
	VMOVDQA64 Z30, Z3
	VMOVDQA64 Z30, Z4
	VMOVDQA64 Z30, Z5
	VMOVDQA64 Z30, Z6
	VMOVDQA64 Z30, Z7

v4loop:
	VPBROADCASTD (R9), Z31
	VMOVDQU32    (R10), Z8
	VMOVDQU32    64(R10), Z9
	VMOVDQU32    (R10)(R8*1), Z10
	VMOVDQU32    64(R10)(R8*1), Z11
	VMOVDQU32    (R10)(R8*2), Z12
	VMOVDQU32    64(R10)(R8*2), Z13
	VMOVDQU32    (R10)(R11*1), Z14
	VMOVDQU32    64(R10)(R11*1), Z15
	VPDPBUSD     Z31, Z8, Z0
	VPDPBUSD     Z31, Z9, Z1
	VPDPBUSD     Z31, Z10, Z2
	VPDPBUSD     Z31, Z11, Z3
	VPDPBUSD     Z31, Z12, Z4
	VPDPBUSD     Z31, Z13, Z5
	VPDPBUSD     Z31, Z14, Z6
	VPDPBUSD     Z31, Z15, Z7
	ADDQ         $4, R9
	ADDQ         $128, R10
	DECQ         R12
	JNZ          v4loop
	VMOVDQU32 Z0, (DX)
	VMOVDQU32 Z1, 64(DX)
	VMOVDQU32 Z2, 128(DX)
	VMOVDQU32 Z3, 192(DX)
	VMOVDQU32 Z4, 256(DX)
	VMOVDQU32 Z5, 320(DX)
	VMOVDQU32 Z6, 384(DX)
	VMOVDQU32 Z7, 448(DX)
	ADDQ $512, DX
	LEAQ (DI)(R8*4), DI
	SUBQ $4, BX
	JMP  vgroup4

vgroup1:
	TESTQ BX, BX
	JZ    vdone
	MOVQ   SI, R9
	MOVQ   DI, R10
	MOVQ   CX, R12
	VMOVDQA64 Z30, Z0
	VMOVDQA64 Z30, Z1

v1loop:
	VPBROADCASTD (R9), Z31
	VMOVDQU32    (R10), Z8
	VMOVDQU32    64(R10), Z9
	VPDPBUSD     Z31, Z8, Z0
	VPDPBUSD     Z31, Z9, Z1
	ADDQ         $4, R9
	ADDQ         $128, R10
	DECQ         R12
	JNZ          v1loop
	VMOVDQU32 Z0, (DX)
	VMOVDQU32 Z1, 64(DX)
	ADDQ $128, DX
	ADDQ R8, DI
	DECQ BX
	JMP  vgroup1

vzero:
	// No steps: every output is corr.
	TESTQ BX, BX
	JZ    vdone
	VMOVDQU32 Z30, (DX)
	VMOVDQU32 Z30, 64(DX)
	ADDQ $128, DX
	DECQ BX
	JMP  vzero

vdone:
	VZEROUPPER
	RET
