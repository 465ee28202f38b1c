//go:build !purego

#include "textflag.h"

// The panel passes of klpanels32.go: W in panels of 16 bins, column k of a
// panel one ZMM register of float32.

DATA panelEps<>+0(SB)/4, $0x34000000 // 0x1p-23, float32 epsilon
GLOBL panelEps<>(SB), RODATA|NOPTR, $4

// func klPanels32AVX512(w, h, v, acc *float32, panels, kq int)
// Panels four at a time (then one at a time): for each, wh = sum_k h_k *
// column k in four accumulators (columns k mod 4), r = v / wh (0 ->
// epsilon), then acc_k += column k * r, panel after panel. Four panels
// share each broadcast of h_k and each load and store of acc_k: per panel
// and column 2.5 loads instead of 4, and the loads are what limits the
// pass. A group of four panels whose 64 v are all zero is skipped, as is a
// single panel whose 16 are.
TEXT ·klPanels32AVX512(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ h+8(FP), DX
	MOVQ v+16(FP), R8
	MOVQ acc+24(FP), DI
	MOVQ panels+32(FP), CX
	MOVQ kq+40(FP), BX
	SHLQ $6, BX                  // panel stride in bytes: kq columns of 64
	VXORPS Z31, Z31, Z31
	VBROADCASTSS panelEps<>(SB), Z30
	CMPQ CX, $4
	JLT  single

quad:
	VMOVUPS (R8), Z20            // v of the 64 bins
	VMOVUPS 64(R8), Z21
	VMOVUPS 128(R8), Z22
	VMOVUPS 192(R8), Z23
	VPORD Z20, Z21, Z24
	VPORD Z22, Z23, Z25
	VPORD Z24, Z25, Z24
	VPTESTMD Z24, Z24, K1
	KORTESTW K1, K1
	JZ   qnext
	LEAQ (SI)(BX*1), R10
	LEAQ (R10)(BX*1), R11
	LEAQ (R11)(BX*1), R12
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7
	VXORPS Z8, Z8, Z8
	VXORPS Z9, Z9, Z9
	VXORPS Z10, Z10, Z10
	VXORPS Z11, Z11, Z11
	VXORPS Z12, Z12, Z12
	VXORPS Z13, Z13, Z13
	VXORPS Z14, Z14, Z14
	VXORPS Z15, Z15, Z15
	MOVQ DX, R9
	XORQ AX, AX

qdot:
	VBROADCASTSS (R9), Z16
	VBROADCASTSS 4(R9), Z17
	VBROADCASTSS 8(R9), Z18
	VBROADCASTSS 12(R9), Z19
	VFMADD231PS (SI)(AX*1), Z16, Z0
	VFMADD231PS 64(SI)(AX*1), Z17, Z1
	VFMADD231PS 128(SI)(AX*1), Z18, Z2
	VFMADD231PS 192(SI)(AX*1), Z19, Z3
	VFMADD231PS (R10)(AX*1), Z16, Z4
	VFMADD231PS 64(R10)(AX*1), Z17, Z5
	VFMADD231PS 128(R10)(AX*1), Z18, Z6
	VFMADD231PS 192(R10)(AX*1), Z19, Z7
	VFMADD231PS (R11)(AX*1), Z16, Z8
	VFMADD231PS 64(R11)(AX*1), Z17, Z9
	VFMADD231PS 128(R11)(AX*1), Z18, Z10
	VFMADD231PS 192(R11)(AX*1), Z19, Z11
	VFMADD231PS (R12)(AX*1), Z16, Z12
	VFMADD231PS 64(R12)(AX*1), Z17, Z13
	VFMADD231PS 128(R12)(AX*1), Z18, Z14
	VFMADD231PS 192(R12)(AX*1), Z19, Z15
	ADDQ $16, R9
	ADDQ $256, AX
	CMPQ AX, BX
	JLT  qdot

	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0            // (W h) of panel 0
	VADDPS Z5, Z4, Z4
	VADDPS Z7, Z6, Z6
	VADDPS Z6, Z4, Z4            // panel 1
	VADDPS Z9, Z8, Z8
	VADDPS Z11, Z10, Z10
	VADDPS Z10, Z8, Z8           // panel 2
	VADDPS Z13, Z12, Z12
	VADDPS Z15, Z14, Z14
	VADDPS Z14, Z12, Z12         // panel 3
	VCMPPS $0, Z31, Z0, K2
	VMOVAPS Z30, K2, Z0          // 0 -> epsilon
	VCMPPS $0, Z31, Z4, K2
	VMOVAPS Z30, K2, Z4
	VCMPPS $0, Z31, Z8, K2
	VMOVAPS Z30, K2, Z8
	VCMPPS $0, Z31, Z12, K2
	VMOVAPS Z30, K2, Z12
	VDIVPS Z0, Z20, Z20          // r of panel 0 = v / W h
	VDIVPS Z4, Z21, Z21
	VDIVPS Z8, Z22, Z22
	VDIVPS Z12, Z23, Z23
	XORQ AX, AX

qaxpy:
	VMOVUPS (DI)(AX*1), Z24
	VMOVUPS 64(DI)(AX*1), Z25
	VMOVUPS 128(DI)(AX*1), Z26
	VMOVUPS 192(DI)(AX*1), Z27
	VFMADD231PS (SI)(AX*1), Z20, Z24
	VFMADD231PS 64(SI)(AX*1), Z20, Z25
	VFMADD231PS 128(SI)(AX*1), Z20, Z26
	VFMADD231PS 192(SI)(AX*1), Z20, Z27
	VFMADD231PS (R10)(AX*1), Z21, Z24
	VFMADD231PS 64(R10)(AX*1), Z21, Z25
	VFMADD231PS 128(R10)(AX*1), Z21, Z26
	VFMADD231PS 192(R10)(AX*1), Z21, Z27
	VFMADD231PS (R11)(AX*1), Z22, Z24
	VFMADD231PS 64(R11)(AX*1), Z22, Z25
	VFMADD231PS 128(R11)(AX*1), Z22, Z26
	VFMADD231PS 192(R11)(AX*1), Z22, Z27
	VFMADD231PS (R12)(AX*1), Z23, Z24
	VFMADD231PS 64(R12)(AX*1), Z23, Z25
	VFMADD231PS 128(R12)(AX*1), Z23, Z26
	VFMADD231PS 192(R12)(AX*1), Z23, Z27
	VMOVUPS Z24, (DI)(AX*1)
	VMOVUPS Z25, 64(DI)(AX*1)
	VMOVUPS Z26, 128(DI)(AX*1)
	VMOVUPS Z27, 192(DI)(AX*1)
	ADDQ $256, AX
	CMPQ AX, BX
	JLT  qaxpy

qnext:
	ADDQ $256, R8
	LEAQ (SI)(BX*4), SI
	SUBQ $4, CX
	CMPQ CX, $4
	JGE  quad

single:
	TESTQ CX, CX
	JZ   done

panel:
	VMOVUPS (R8), Z20            // v of the 16 bins
	VPTESTMD Z20, Z20, K1
	KORTESTW K1, K1
	JZ      next
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	MOVQ DX, R9
	XORQ AX, AX

dot:
	VBROADCASTSS (R9), Z16
	VBROADCASTSS 4(R9), Z17
	VBROADCASTSS 8(R9), Z18
	VBROADCASTSS 12(R9), Z19
	VFMADD231PS (SI)(AX*1), Z16, Z0
	VFMADD231PS 64(SI)(AX*1), Z17, Z1
	VFMADD231PS 128(SI)(AX*1), Z18, Z2
	VFMADD231PS 192(SI)(AX*1), Z19, Z3
	ADDQ $16, R9
	ADDQ $256, AX
	CMPQ AX, BX
	JLT  dot

	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0            // (W h) of the 16 bins
	VCMPPS $0, Z31, Z0, K2
	VMOVAPS Z30, K2, Z0
	VDIVPS Z0, Z20, Z20          // r = v / W h
	XORQ AX, AX

axpy:
	VMOVUPS (DI)(AX*1), Z24
	VMOVUPS 64(DI)(AX*1), Z25
	VMOVUPS 128(DI)(AX*1), Z26
	VMOVUPS 192(DI)(AX*1), Z27
	VFMADD231PS (SI)(AX*1), Z20, Z24
	VFMADD231PS 64(SI)(AX*1), Z20, Z25
	VFMADD231PS 128(SI)(AX*1), Z20, Z26
	VFMADD231PS 192(SI)(AX*1), Z20, Z27
	VMOVUPS Z24, (DI)(AX*1)
	VMOVUPS Z25, 64(DI)(AX*1)
	VMOVUPS Z26, 128(DI)(AX*1)
	VMOVUPS Z27, 192(DI)(AX*1)
	ADDQ $256, AX
	CMPQ AX, BX
	JLT  axpy

next:
	ADDQ $64, R8
	ADDQ BX, SI
	DECQ CX
	JNZ  panel

done:
	VZEROUPPER
	RET

// PAIRSUM adds the lanes of rows a and b pairwise, in place into a: per
// 128 bits, [a0+a2, b0+b2, a1+a3, b1+b3]; t is scratch.
#define PAIRSUM(a, b, t) \
	VUNPCKLPS b, a, t \
	VUNPCKHPS b, a, a \
	VADDPS t, a, a

// QUADSUM adds two results of PAIRSUM, in place into a: per 128 bits, the
// sums of the 4 lanes of rows 0 to 3 of the four.
#define QUADSUM(a, b, t) \
	VUNPCKLPD b, a, t \
	VUNPCKHPD b, a, a \
	VADDPS t, a, a

// HALFSUM adds the 128-bit chunks of two results of QUADSUM (rows 0-3 and
// 4-7) pairwise, in place into a: [a0+a1, a2+a3, b0+b1, b2+b3].
#define HALFSUM(a, b, t) \
	VSHUFF32X4 $0x88, b, a, t \
	VSHUFF32X4 $0xdd, b, a, a \
	VADDPS t, a, a

// func addLanes32AVX512(num *float64, acc *float32, groups int)
// For 16 rows of acc at a time: the sum of each row's 16 lanes, by a
// transposition that adds as it goes (four levels of float32 additions:
// pairs of lanes, fours, eights, sixteens), converted to float64 and added
// into num[k]; the rows are set to zero. Row by row, the lanes' reduction
// took 6 or more shuffles per row; this takes 2.
TEXT ·addLanes32AVX512(SB), NOSPLIT, $0-24
	MOVQ num+0(FP), DI
	MOVQ acc+8(FP), SI
	MOVQ groups+16(FP), CX
	VXORPS Z31, Z31, Z31

lanes:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS 128(SI), Z2
	VMOVUPS 192(SI), Z3
	VMOVUPS 256(SI), Z4
	VMOVUPS 320(SI), Z5
	VMOVUPS 384(SI), Z6
	VMOVUPS 448(SI), Z7
	VMOVUPS 512(SI), Z8
	VMOVUPS 576(SI), Z9
	VMOVUPS 640(SI), Z10
	VMOVUPS 704(SI), Z11
	VMOVUPS 768(SI), Z12
	VMOVUPS 832(SI), Z13
	VMOVUPS 896(SI), Z14
	VMOVUPS 960(SI), Z15
	PAIRSUM(Z0, Z1, Z16)
	PAIRSUM(Z2, Z3, Z17)
	PAIRSUM(Z4, Z5, Z18)
	PAIRSUM(Z6, Z7, Z19)
	PAIRSUM(Z8, Z9, Z20)
	PAIRSUM(Z10, Z11, Z21)
	PAIRSUM(Z12, Z13, Z22)
	PAIRSUM(Z14, Z15, Z23)
	QUADSUM(Z0, Z2, Z16)         // rows 0-3
	QUADSUM(Z4, Z6, Z17)         // rows 4-7
	QUADSUM(Z8, Z10, Z18)        // rows 8-11
	QUADSUM(Z12, Z14, Z19)       // rows 12-15
	HALFSUM(Z0, Z4, Z16)
	HALFSUM(Z8, Z12, Z17)
	HALFSUM(Z0, Z8, Z16)         // rows 0-3, 4-7, 8-11, 12-15
	VEXTRACTF32X8 $1, Z0, Y1
	VCVTPS2PD Y0, Z2
	VCVTPS2PD Y1, Z3
	VADDPD (DI), Z2, Z2
	VADDPD 64(DI), Z3, Z3
	VMOVUPD Z2, (DI)
	VMOVUPD Z3, 64(DI)
	VMOVUPS Z31, (SI)
	VMOVUPS Z31, 64(SI)
	VMOVUPS Z31, 128(SI)
	VMOVUPS Z31, 192(SI)
	VMOVUPS Z31, 256(SI)
	VMOVUPS Z31, 320(SI)
	VMOVUPS Z31, 384(SI)
	VMOVUPS Z31, 448(SI)
	VMOVUPS Z31, 512(SI)
	VMOVUPS Z31, 576(SI)
	VMOVUPS Z31, 640(SI)
	VMOVUPS Z31, 704(SI)
	VMOVUPS Z31, 768(SI)
	VMOVUPS Z31, 832(SI)
	VMOVUPS Z31, 896(SI)
	VMOVUPS Z31, 960(SI)
	ADDQ $1024, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  lanes
	VZEROUPPER
	RET

// func panelDots32AVX512(w, h *float32, y *float64, panels, kq, lo, hi int)
// y of the 16 bins of each panel = sum_{lo <= k < hi} h_k * column k, four
// columns at a time in four accumulators, then one at a time; in float64.
TEXT ·panelDots32AVX512(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), SI
	MOVQ h+8(FP), DX
	MOVQ y+16(FP), DI
	MOVQ panels+24(FP), CX
	MOVQ kq+32(FP), BX
	MOVQ lo+40(FP), AX
	MOVQ hi+48(FP), R12
	SUBQ AX, R12                 // columns
	LEAQ (DX)(AX*4), DX          // h + lo
	SHLQ $6, AX
	ADDQ AX, SI                  // column lo of panel 0
	SHLQ $6, BX
	MOVQ R12, R13
	ANDQ $3, R13                 // columns after the groups of four
	SHRQ $2, R12                 // groups of four

dpanel:
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	MOVQ DX, R9
	MOVQ SI, R10
	MOVQ R12, R11
	TESTQ R11, R11
	JZ   dtail

dquad:
	VBROADCASTSS (R9), Z4
	VBROADCASTSS 4(R9), Z5
	VBROADCASTSS 8(R9), Z6
	VBROADCASTSS 12(R9), Z7
	VFMADD231PS (R10), Z4, Z0
	VFMADD231PS 64(R10), Z5, Z1
	VFMADD231PS 128(R10), Z6, Z2
	VFMADD231PS 192(R10), Z7, Z3
	ADDQ $16, R9
	ADDQ $256, R10
	DECQ R11
	JNZ  dquad

dtail:
	MOVQ R13, R11
	TESTQ R11, R11
	JZ   dsum

done:
	VBROADCASTSS (R9), Z4
	VFMADD231PS (R10), Z4, Z0
	ADDQ $4, R9
	ADDQ $64, R10
	DECQ R11
	JNZ  done

dsum:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	VEXTRACTF32X8 $1, Z0, Y1
	VCVTPS2PD Y0, Z2
	VCVTPS2PD Y1, Z3
	VMOVUPD Z2, (DI)
	VMOVUPD Z3, 64(DI)
	ADDQ $128, DI
	ADDQ BX, SI
	DECQ CX
	JNZ  dpanel
	VZEROUPPER
	RET
