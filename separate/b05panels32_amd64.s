//go:build !purego

#include "textflag.h"

// The beta-0.5 panel pass of b05panels32.go in AVX-512: W in panels of 16
// bins, column k of a panel one ZMM register of float32.

DATA b05Eps<>+0(SB)/4, $0x34000000 // 0x1p-23, float32 epsilon
GLOBL b05Eps<>(SB), RODATA|NOPTR, $4
DATA b05One<>+0(SB)/4, $0x3f800000 // 1.0
GLOBL b05One<>(SB), RODATA|NOPTR, $4

// B05TERMS(y, t, q, a, off) sets, from y = W h of a panel (0 -> epsilon
// already), q = 1 / sqrt(y) and a = (v / y) * q, v the 16 at off(R8);
// t is scratch. The operations of b05Panels32Go, each correctly rounded.
#define B05TERMS(y, t, q, a, off) \
	VSQRTPS y, t; \
	VDIVPS t, Z29, q; \
	VMOVUPS off(R8), a; \
	VDIVPS y, a, a; \
	VMULPS q, a, a

// EPS0(y) replaces a zero y by epsilon (Z30; Z31 is zero).
#define EPS0(y) \
	VCMPPS $0, Z31, y, K2; \
	VMOVAPS Z30, K2, y

// func b05Panels32AVX512(w, h, v, accN, accD *float32, panels, kq int)
// Panels four at a time (then one at a time): for each, W h in four
// accumulators (columns k mod 4) added as (s0 + s1) + (s2 + s3), the terms
// q = 1/sqrt(W h) and a = (v / W h) q, then accN_k += column k * a and
// accD_k += column k * q, panel after panel: the order of b05Panels32Go.
// Four panels share each broadcast of h_k and each load and store of the
// two accumulators' column k; each column of W is loaded once for both.
TEXT ·b05Panels32AVX512(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), SI
	MOVQ h+8(FP), DX
	MOVQ v+16(FP), R8
	MOVQ accN+24(FP), DI
	MOVQ accD+32(FP), R14
	MOVQ panels+40(FP), CX
	MOVQ kq+48(FP), BX
	SHLQ $6, BX                  // panel stride in bytes: kq columns of 64
	VXORPS Z31, Z31, Z31
	VBROADCASTSS b05Eps<>(SB), Z30
	VBROADCASTSS b05One<>(SB), Z29
	CMPQ CX, $4
	JLT  single

quad:
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
	EPS0(Z0)
	EPS0(Z4)
	EPS0(Z8)
	EPS0(Z12)
	B05TERMS(Z0, Z1, Z24, Z20, 0)
	B05TERMS(Z4, Z5, Z25, Z21, 64)
	B05TERMS(Z8, Z9, Z26, Z22, 128)
	B05TERMS(Z12, Z13, Z27, Z23, 192)
	XORQ AX, AX

qaxpy:                               // two columns: W in Z0-Z3 and Z6-Z9
	VMOVUPS (SI)(AX*1), Z0
	VMOVUPS (R10)(AX*1), Z1
	VMOVUPS (R11)(AX*1), Z2
	VMOVUPS (R12)(AX*1), Z3
	VMOVUPS 64(SI)(AX*1), Z6
	VMOVUPS 64(R10)(AX*1), Z7
	VMOVUPS 64(R11)(AX*1), Z8
	VMOVUPS 64(R12)(AX*1), Z9
	VMOVUPS (DI)(AX*1), Z4
	VMOVUPS (R14)(AX*1), Z5
	VMOVUPS 64(DI)(AX*1), Z10
	VMOVUPS 64(R14)(AX*1), Z11
	VFMADD231PS Z0, Z20, Z4
	VFMADD231PS Z0, Z24, Z5
	VFMADD231PS Z6, Z20, Z10
	VFMADD231PS Z6, Z24, Z11
	VFMADD231PS Z1, Z21, Z4
	VFMADD231PS Z1, Z25, Z5
	VFMADD231PS Z7, Z21, Z10
	VFMADD231PS Z7, Z25, Z11
	VFMADD231PS Z2, Z22, Z4
	VFMADD231PS Z2, Z26, Z5
	VFMADD231PS Z8, Z22, Z10
	VFMADD231PS Z8, Z26, Z11
	VFMADD231PS Z3, Z23, Z4
	VFMADD231PS Z3, Z27, Z5
	VFMADD231PS Z9, Z23, Z10
	VFMADD231PS Z9, Z27, Z11
	VMOVUPS Z4, (DI)(AX*1)
	VMOVUPS Z5, (R14)(AX*1)
	VMOVUPS Z10, 64(DI)(AX*1)
	VMOVUPS Z11, 64(R14)(AX*1)
	ADDQ $128, AX
	CMPQ AX, BX
	JLT  qaxpy

	ADDQ $256, R8
	LEAQ (SI)(BX*4), SI
	SUBQ $4, CX
	CMPQ CX, $4
	JGE  quad

single:
	TESTQ CX, CX
	JZ   done

panel:
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
	EPS0(Z0)
	B05TERMS(Z0, Z1, Z24, Z20, 0)
	XORQ AX, AX

axpy:
	VMOVUPS (SI)(AX*1), Z0
	VMOVUPS 64(SI)(AX*1), Z6
	VMOVUPS (DI)(AX*1), Z4
	VMOVUPS (R14)(AX*1), Z5
	VMOVUPS 64(DI)(AX*1), Z10
	VMOVUPS 64(R14)(AX*1), Z11
	VFMADD231PS Z0, Z20, Z4
	VFMADD231PS Z0, Z24, Z5
	VFMADD231PS Z6, Z20, Z10
	VFMADD231PS Z6, Z24, Z11
	VMOVUPS Z4, (DI)(AX*1)
	VMOVUPS Z5, (R14)(AX*1)
	VMOVUPS Z10, 64(DI)(AX*1)
	VMOVUPS Z11, 64(R14)(AX*1)
	ADDQ $128, AX
	CMPQ AX, BX
	JLT  axpy

	ADDQ $64, R8
	ADDQ BX, SI
	DECQ CX
	JNZ  panel

done:
	VZEROUPPER
	RET

// B05TERMSO(y, q, a, off) sets, from y = W h of a panel, q = 1 / sqrt(y)
// and a = (v / y) * q, v the 16 at off(R8), with y = 0 -> epsilon, for
// b05Panels32OctAVX512: Z1 zero, Z3 epsilon, Z5 one, Z7 scratch.
#define B05TERMSO(y, q, a, off) \
	VCMPPS $0, Z1, y, K2; \
	VMOVAPS Z3, K2, y; \
	VSQRTPS y, Z7; \
	VDIVPS Z7, Z5, q; \
	VMOVUPS off(R8), a; \
	VDIVPS y, a, a; \
	VMULPS q, a, a

// B05OCOL(off, n, d) adds column off(R12) of the eight panels times their
// a (Z16-Z23) and q (Z24-Z31) to accN (n) and accD (d); uses Z2, Z4, Z6,
// Z8, Z12, Z13, Z14, Z15 for the columns.
#define B05OCOL(off, n, d) \
	VMOVUPS off(R12), Z2; \
	VMOVUPS off(R12)(BX*1), Z4; \
	VMOVUPS off(R12)(BX*2), Z6; \
	VMOVUPS off(R12)(R11*1), Z8; \
	VFMADD231PS Z2, Z16, n; \
	VFMADD231PS Z2, Z24, d; \
	VFMADD231PS Z4, Z17, n; \
	VFMADD231PS Z4, Z25, d; \
	VMOVUPS off(R12)(BX*4), Z12; \
	VMOVUPS off(R10)(BX*4), Z13; \
	VFMADD231PS Z6, Z18, n; \
	VFMADD231PS Z6, Z26, d; \
	VFMADD231PS Z8, Z19, n; \
	VFMADD231PS Z8, Z27, d; \
	VMOVUPS off(R12)(R11*2), Z14; \
	VMOVUPS off(R10)(R11*2), Z15; \
	VFMADD231PS Z12, Z20, n; \
	VFMADD231PS Z12, Z28, d; \
	VFMADD231PS Z13, Z21, n; \
	VFMADD231PS Z13, Z29, d; \
	VFMADD231PS Z14, Z22, n; \
	VFMADD231PS Z14, Z30, d; \
	VFMADD231PS Z15, Z23, n; \
	VFMADD231PS Z15, Z31, d

// func b05Panels32OctAVX512(w, h, v, accN, accD *float32, panels, kq int)
// b05Panels32AVX512 for panels a multiple of 8, eight at a time (an
// octet): W h in two accumulators per panel (columns k mod 2, as the KL
// octets), the terms of the eight panels in Z16-Z31, then each load and
// store of the accumulators' column k serves eight panels. For kq <=
// klOctMaxK: the eight panels stay in L1. The panels of an octet are
// addressed as in klPanels32OctAVX512.
TEXT ·b05Panels32OctAVX512(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), SI
	MOVQ h+8(FP), DX
	MOVQ v+16(FP), R8
	MOVQ accN+24(FP), DI
	MOVQ accD+32(FP), R14
	MOVQ panels+40(FP), CX
	MOVQ kq+48(FP), BX
	SHLQ $6, BX                  // panel stride in bytes: kq columns of 64
	LEAQ (BX)(BX*2), R11

octet:
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
	MOVQ SI, R12
	LEAQ (SI)(BX*1), R10
	MOVQ DX, R9
	MOVQ BX, R13

odot:
	VBROADCASTSS (R9), Z16
	VBROADCASTSS 4(R9), Z17
	VBROADCASTSS 8(R9), Z18
	VBROADCASTSS 12(R9), Z19
	VFMADD231PS (R12), Z16, Z0
	VFMADD231PS (R12)(BX*1), Z16, Z2
	VFMADD231PS (R12)(BX*2), Z16, Z4
	VFMADD231PS (R12)(R11*1), Z16, Z6
	VFMADD231PS (R12)(BX*4), Z16, Z8
	VFMADD231PS (R10)(BX*4), Z16, Z10
	VFMADD231PS (R12)(R11*2), Z16, Z12
	VFMADD231PS (R10)(R11*2), Z16, Z14
	VFMADD231PS 64(R12), Z17, Z1
	VFMADD231PS 64(R12)(BX*1), Z17, Z3
	VFMADD231PS 64(R12)(BX*2), Z17, Z5
	VFMADD231PS 64(R12)(R11*1), Z17, Z7
	VFMADD231PS 64(R12)(BX*4), Z17, Z9
	VFMADD231PS 64(R10)(BX*4), Z17, Z11
	VFMADD231PS 64(R12)(R11*2), Z17, Z13
	VFMADD231PS 64(R10)(R11*2), Z17, Z15
	VFMADD231PS 128(R12), Z18, Z0
	VFMADD231PS 128(R12)(BX*1), Z18, Z2
	VFMADD231PS 128(R12)(BX*2), Z18, Z4
	VFMADD231PS 128(R12)(R11*1), Z18, Z6
	VFMADD231PS 128(R12)(BX*4), Z18, Z8
	VFMADD231PS 128(R10)(BX*4), Z18, Z10
	VFMADD231PS 128(R12)(R11*2), Z18, Z12
	VFMADD231PS 128(R10)(R11*2), Z18, Z14
	VFMADD231PS 192(R12), Z19, Z1
	VFMADD231PS 192(R12)(BX*1), Z19, Z3
	VFMADD231PS 192(R12)(BX*2), Z19, Z5
	VFMADD231PS 192(R12)(R11*1), Z19, Z7
	VFMADD231PS 192(R12)(BX*4), Z19, Z9
	VFMADD231PS 192(R10)(BX*4), Z19, Z11
	VFMADD231PS 192(R12)(R11*2), Z19, Z13
	VFMADD231PS 192(R10)(R11*2), Z19, Z15
	ADDQ $16, R9
	ADDQ $256, R12
	ADDQ $256, R10
	SUBQ $256, R13
	JNZ  odot

	VADDPS Z1, Z0, Z0            // W h of panel 0
	VADDPS Z3, Z2, Z2
	VADDPS Z5, Z4, Z4
	VADDPS Z7, Z6, Z6
	VADDPS Z9, Z8, Z8
	VADDPS Z11, Z10, Z10
	VADDPS Z13, Z12, Z12
	VADDPS Z15, Z14, Z14         // panel 7
	VXORPS Z1, Z1, Z1
	VBROADCASTSS b05Eps<>(SB), Z3
	VBROADCASTSS b05One<>(SB), Z5
	B05TERMSO(Z0, Z24, Z16, 0)
	B05TERMSO(Z2, Z25, Z17, 64)
	B05TERMSO(Z4, Z26, Z18, 128)
	B05TERMSO(Z6, Z27, Z19, 192)
	B05TERMSO(Z8, Z28, Z20, 256)
	B05TERMSO(Z10, Z29, Z21, 320)
	B05TERMSO(Z12, Z30, Z22, 384)
	B05TERMSO(Z14, Z31, Z23, 448)
	MOVQ SI, R12
	LEAQ (SI)(BX*1), R10
	MOVQ DI, R9
	MOVQ R14, AX
	MOVQ BX, R13

oaxpy:                               // two columns: acc in Z0, Z1 and Z10, Z11
	VMOVUPS (R9), Z0
	VMOVUPS (AX), Z1
	VMOVUPS 64(R9), Z10
	VMOVUPS 64(AX), Z11
	B05OCOL(0, Z0, Z1)
	B05OCOL(64, Z10, Z11)
	VMOVUPS Z0, (R9)
	VMOVUPS Z1, (AX)
	VMOVUPS Z10, 64(R9)
	VMOVUPS Z11, 64(AX)
	ADDQ $128, R9
	ADDQ $128, AX
	ADDQ $128, R12
	ADDQ $128, R10
	SUBQ $128, R13
	JNZ  oaxpy

	ADDQ $512, R8
	LEAQ (SI)(BX*8), SI
	SUBQ $8, CX
	JNZ  octet
	VZEROUPPER
	RET
