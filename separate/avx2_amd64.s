//go:build !purego

#include "textflag.h"

// AVX2 + FMA versions of the float32 passes (klpanels32.go, klrows32.go) for
// CPUs without AVX-512: 8 float32 lanes per YMM register, so a panel's
// column of 16 bins is two registers (lo: bins 0-7, hi: bins 8-15).

DATA avx2Eps<>+0(SB)/4, $0x34000000 // 0x1p-23, float32 epsilon
GLOBL avx2Eps<>(SB), RODATA|NOPTR, $4

// PANELZERO zeroes Y0..Y7, the four partial sums of W h of a panel
// (columns k mod 4: Y0/Y1 the lo/hi bins of columns 0 mod 4, Y2/Y3 of 1 mod
// 4, ...), and points R9 at h and AX at column 0.
#define PANELZERO \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; \
	VXORPS Y5, Y5, Y5; \
	VXORPS Y6, Y6, Y6; \
	VXORPS Y7, Y7, Y7; \
	MOVQ DX, R9; \
	XORQ AX, AX

// PANELDOT4(P) adds columns k to k+3 (at AX) of the panel at P times h_k
// to h_k+3 (at R9) to the partial sums; uses Y8-Y11.
#define PANELDOT4(P) \
	VBROADCASTSS (R9), Y8; \
	VBROADCASTSS 4(R9), Y9; \
	VBROADCASTSS 8(R9), Y10; \
	VBROADCASTSS 12(R9), Y11; \
	VFMADD231PS (P)(AX*1), Y8, Y0; \
	VFMADD231PS 32(P)(AX*1), Y8, Y1; \
	VFMADD231PS 64(P)(AX*1), Y9, Y2; \
	VFMADD231PS 96(P)(AX*1), Y9, Y3; \
	VFMADD231PS 128(P)(AX*1), Y10, Y4; \
	VFMADD231PS 160(P)(AX*1), Y10, Y5; \
	VFMADD231PS 192(P)(AX*1), Y11, Y6; \
	VFMADD231PS 224(P)(AX*1), Y11, Y7; \
	ADDQ $16, R9; \
	ADDQ $256, AX

// PANELSUM sets Y0/Y1 to W h = (s0 + s1) + (s2 + s3), lo and hi bins, with
// 0 replaced by epsilon (Y14; Y15 is zero); uses Y8, Y9.
#define PANELSUM \
	VADDPS Y2, Y0, Y0; \
	VADDPS Y6, Y4, Y4; \
	VADDPS Y4, Y0, Y0; \
	VADDPS Y3, Y1, Y1; \
	VADDPS Y7, Y5, Y5; \
	VADDPS Y5, Y1, Y1; \
	VCMPPS $0, Y15, Y0, Y8; \
	VBLENDVPS Y8, Y14, Y0, Y0; \
	VCMPPS $0, Y15, Y1, Y9; \
	VBLENDVPS Y9, Y14, Y1, Y1

// func klPanels32AVX2(w, h, v, acc *float32, panels, kq int)
// klPanels32Go with fused multiply-adds: for each panel, W h in four
// partial sums (columns k mod 4) added as (s0 + s1) + (s2 + s3), r = v / W h
// (0 -> epsilon), then acc_k += column k * r, panel after panel: the order
// of klPanels32Go. Panels four at a time (their r kept on the stack), so
// that each load and store of acc_k serves four panels; a group of four
// whose 64 v are all zero is skipped, as is a single panel whose 16 are.
// A panel of a group whose v are zero adds column k * 0 to acc_k: nothing.
TEXT ·klPanels32AVX2(SB), NOSPLIT, $256-48
	MOVQ w+0(FP), SI
	MOVQ h+8(FP), DX
	MOVQ v+16(FP), R8
	MOVQ acc+24(FP), DI
	MOVQ panels+32(FP), CX
	MOVQ kq+40(FP), BX
	SHLQ $6, BX                  // panel stride in bytes: kq columns of 64
	CMPQ CX, $4
	JLT  single

quad:
	VMOVUPS (R8), Y0             // v of the 64 bins
	VORPS 32(R8), Y0, Y0
	VORPS 64(R8), Y0, Y0
	VORPS 96(R8), Y0, Y0
	VORPS 128(R8), Y0, Y0
	VORPS 160(R8), Y0, Y0
	VORPS 192(R8), Y0, Y0
	VORPS 224(R8), Y0, Y0
	VPTEST Y0, Y0
	JZ   qnext
	VXORPS Y15, Y15, Y15
	VBROADCASTSS avx2Eps<>(SB), Y14
	MOVQ SI, R13                 // the panel
	MOVQ R8, R12                 // its v
	MOVQ SP, R11                 // its r
	MOVQ $4, R10

qpanel:
	PANELZERO

qdot:
	PANELDOT4(R13)
	CMPQ AX, BX
	JLT  qdot
	PANELSUM
	VMOVUPS (R12), Y12
	VMOVUPS 32(R12), Y13
	VDIVPS Y0, Y12, Y12          // r = v / W h
	VDIVPS Y1, Y13, Y13
	VMOVUPS Y12, (R11)
	VMOVUPS Y13, 32(R11)
	ADDQ BX, R13
	ADDQ $64, R12
	ADDQ $64, R11
	DECQ R10
	JNZ  qpanel

	VMOVUPS 0(SP), Y8            // r of panel 0, lo and hi
	VMOVUPS 32(SP), Y9
	VMOVUPS 64(SP), Y10          // panel 1
	VMOVUPS 96(SP), Y11
	VMOVUPS 128(SP), Y12         // panel 2
	VMOVUPS 160(SP), Y13
	VMOVUPS 192(SP), Y14         // panel 3
	VMOVUPS 224(SP), Y15
	LEAQ (SI)(BX*1), R10
	LEAQ (R10)(BX*1), R11
	LEAQ (R11)(BX*1), R12
	XORQ AX, AX

qaxpy:                               // two columns of acc
	VMOVUPS (DI)(AX*1), Y0
	VMOVUPS 32(DI)(AX*1), Y1
	VMOVUPS 64(DI)(AX*1), Y2
	VMOVUPS 96(DI)(AX*1), Y3
	VFMADD231PS (SI)(AX*1), Y8, Y0
	VFMADD231PS 32(SI)(AX*1), Y9, Y1
	VFMADD231PS 64(SI)(AX*1), Y8, Y2
	VFMADD231PS 96(SI)(AX*1), Y9, Y3
	VFMADD231PS (R10)(AX*1), Y10, Y0
	VFMADD231PS 32(R10)(AX*1), Y11, Y1
	VFMADD231PS 64(R10)(AX*1), Y10, Y2
	VFMADD231PS 96(R10)(AX*1), Y11, Y3
	VFMADD231PS (R11)(AX*1), Y12, Y0
	VFMADD231PS 32(R11)(AX*1), Y13, Y1
	VFMADD231PS 64(R11)(AX*1), Y12, Y2
	VFMADD231PS 96(R11)(AX*1), Y13, Y3
	VFMADD231PS (R12)(AX*1), Y14, Y0
	VFMADD231PS 32(R12)(AX*1), Y15, Y1
	VFMADD231PS 64(R12)(AX*1), Y14, Y2
	VFMADD231PS 96(R12)(AX*1), Y15, Y3
	VMOVUPS Y0, (DI)(AX*1)
	VMOVUPS Y1, 32(DI)(AX*1)
	VMOVUPS Y2, 64(DI)(AX*1)
	VMOVUPS Y3, 96(DI)(AX*1)
	ADDQ $128, AX
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
	VXORPS Y15, Y15, Y15
	VBROADCASTSS avx2Eps<>(SB), Y14

panel:
	VMOVUPS (R8), Y12            // v of the 16 bins
	VMOVUPS 32(R8), Y13
	VORPS Y12, Y13, Y0
	VPTEST Y0, Y0
	JZ   next
	PANELZERO

sdot:
	PANELDOT4(SI)
	CMPQ AX, BX
	JLT  sdot
	PANELSUM
	VDIVPS Y0, Y12, Y12          // r = v / W h
	VDIVPS Y1, Y13, Y13
	XORQ AX, AX

saxpy:
	VMOVUPS (DI)(AX*1), Y0
	VMOVUPS 32(DI)(AX*1), Y1
	VMOVUPS 64(DI)(AX*1), Y2
	VMOVUPS 96(DI)(AX*1), Y3
	VFMADD231PS (SI)(AX*1), Y12, Y0
	VFMADD231PS 32(SI)(AX*1), Y13, Y1
	VFMADD231PS 64(SI)(AX*1), Y12, Y2
	VFMADD231PS 96(SI)(AX*1), Y13, Y3
	VMOVUPS Y0, (DI)(AX*1)
	VMOVUPS Y1, 32(DI)(AX*1)
	VMOVUPS Y2, 64(DI)(AX*1)
	VMOVUPS Y3, 96(DI)(AX*1)
	ADDQ $128, AX
	CMPQ AX, BX
	JLT  saxpy

next:
	ADDQ $64, R8
	ADDQ BX, SI
	DECQ CX
	JNZ  panel

done:
	VZEROUPPER
	RET

// func addLanes32AVX2(num *float64, acc *float32, kq int)
// num[k] += the 16 lanes of acc's row k, and the row set to zero: the two
// halves added in float32 (lane i + lane i+8), then the two quarters
// (float32), then the four sums in float64.
TEXT ·addLanes32AVX2(SB), NOSPLIT, $0-24
	MOVQ num+0(FP), DI
	MOVQ acc+8(FP), SI
	MOVQ kq+16(FP), CX
	VXORPS Y15, Y15, Y15

lrow:
	VMOVUPS (SI), Y0
	VADDPS 32(SI), Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VCVTPS2PD X0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0
	VHADDPD X0, X0, X0
	VADDSD (DI), X0, X0
	VMOVSD X0, (DI)
	VMOVUPS Y15, (SI)
	VMOVUPS Y15, 32(SI)
	ADDQ $64, SI
	ADDQ $8, DI
	DECQ CX
	JNZ  lrow
	VZEROUPPER
	RET

// STORE16(L, LX, H, HX, OFF) writes the 16 float32 of L (bins 0-7) and H
// (8-15) as float64 at OFF(DI); clobbers L, H and Y12.
#define STORE16(L, LX, H, HX, OFF) \
	VCVTPS2PD LX, Y12; \
	VMOVUPD Y12, OFF(DI); \
	VEXTRACTF128 $1, L, LX; \
	VCVTPS2PD LX, Y12; \
	VMOVUPD Y12, OFF+32(DI); \
	VCVTPS2PD HX, Y12; \
	VMOVUPD Y12, OFF+64(DI); \
	VEXTRACTF128 $1, H, HX; \
	VCVTPS2PD HX, Y12; \
	VMOVUPD Y12, OFF+96(DI)

// func panelDots32AVX2(w, h *float32, y *float64, panels, kq, lo, hi int)
// panelDots32Go: y of a panel's 16 bins = sum_{lo <= k < hi} column k *
// h_k, one float32 accumulator per bin, k in order (the order of Go, with
// fused multiply-adds); four panels at a time, then one at a time.
TEXT ·panelDots32AVX2(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), SI
	MOVQ h+8(FP), DX
	MOVQ y+16(FP), DI
	MOVQ panels+24(FP), CX
	MOVQ kq+32(FP), BX
	MOVQ lo+40(FP), R8
	MOVQ hi+48(FP), R9
	SHLQ $6, BX                  // panel stride in bytes
	LEAQ (DX)(R8*4), DX          // h_lo
	SHLQ $6, R8                  // lo, hi as byte offsets into a panel
	SHLQ $6, R9
	CMPQ CX, $4
	JLT  dsingle

dquad:
	LEAQ (SI)(BX*1), R10
	LEAQ (R10)(BX*1), R11
	LEAQ (R11)(BX*1), R12
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ DX, R13
	MOVQ R8, AX

dqk:
	VBROADCASTSS (R13), Y8
	VFMADD231PS (SI)(AX*1), Y8, Y0
	VFMADD231PS 32(SI)(AX*1), Y8, Y1
	VFMADD231PS (R10)(AX*1), Y8, Y2
	VFMADD231PS 32(R10)(AX*1), Y8, Y3
	VFMADD231PS (R11)(AX*1), Y8, Y4
	VFMADD231PS 32(R11)(AX*1), Y8, Y5
	VFMADD231PS (R12)(AX*1), Y8, Y6
	VFMADD231PS 32(R12)(AX*1), Y8, Y7
	ADDQ $4, R13
	ADDQ $64, AX
	CMPQ AX, R9
	JLT  dqk

	STORE16(Y0, X0, Y1, X1, 0)
	STORE16(Y2, X2, Y3, X3, 128)
	STORE16(Y4, X4, Y5, X5, 256)
	STORE16(Y6, X6, Y7, X7, 384)
	ADDQ $512, DI
	LEAQ (SI)(BX*4), SI
	SUBQ $4, CX
	CMPQ CX, $4
	JGE  dquad

dsingle:
	TESTQ CX, CX
	JZ   ddone

dpanel:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	MOVQ DX, R13
	MOVQ R8, AX

dk:
	VBROADCASTSS (R13), Y8
	VFMADD231PS (SI)(AX*1), Y8, Y0
	VFMADD231PS 32(SI)(AX*1), Y8, Y1
	ADDQ $4, R13
	ADDQ $64, AX
	CMPQ AX, R9
	JLT  dk

	STORE16(Y0, X0, Y1, X1, 0)
	ADDQ $128, DI
	ADDQ BX, SI
	DECQ CX
	JNZ  dpanel

ddone:
	VZEROUPPER
	RET

// func rowsDot32AVX2(w, h *float32, y *float64, rows, kp int)
// y_f = W_f . h, four rows at a time, each in two registers of 8 float32
// lanes (columns j mod 16 below 8 and from 8: the 16 lanes of the AVX-512
// pass), reduced in float64: lane i + lane i+8, then the halves, then the
// pairs, as rowsDot32AVX512 does.
TEXT ·rowsDot32AVX2(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ h+8(FP), DX
	MOVQ y+16(FP), DI
	MOVQ rows+24(FP), CX
	MOVQ kp+32(FP), BX
	SHLQ $2, BX

rdgroup:
	LEAQ (SI)(BX*1), R10
	LEAQ (R10)(BX*1), R11
	LEAQ (R11)(BX*1), R12
	LEAQ (R12)(BX*1), R13
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ AX, AX

rddot:
	VMOVUPS (DX)(AX*1), Y8
	VMOVUPS 32(DX)(AX*1), Y9
	VFMADD231PS (SI)(AX*1), Y8, Y0
	VFMADD231PS 32(SI)(AX*1), Y9, Y4
	VFMADD231PS (R10)(AX*1), Y8, Y1
	VFMADD231PS 32(R10)(AX*1), Y9, Y5
	VFMADD231PS (R11)(AX*1), Y8, Y2
	VFMADD231PS 32(R11)(AX*1), Y9, Y6
	VFMADD231PS (R12)(AX*1), Y8, Y3
	VFMADD231PS 32(R12)(AX*1), Y9, Y7
	ADDQ $64, AX
	CMPQ AX, BX
	JLT  rddot

	// row r: lo lanes in Y(r), hi in Y(r+4); to float64, lo + hi, in
	// two halves (bins 0-3 and 4-7), then the halves added.
	VCVTPS2PD X0, Y8
	VCVTPS2PD X4, Y9
	VADDPD Y9, Y8, Y8
	VEXTRACTF128 $1, Y0, X0
	VEXTRACTF128 $1, Y4, X4
	VCVTPS2PD X0, Y9
	VCVTPS2PD X4, Y10
	VADDPD Y10, Y9, Y9
	VADDPD Y9, Y8, Y0            // row 0: 4 float64
	VCVTPS2PD X1, Y8
	VCVTPS2PD X5, Y9
	VADDPD Y9, Y8, Y8
	VEXTRACTF128 $1, Y1, X1
	VEXTRACTF128 $1, Y5, X5
	VCVTPS2PD X1, Y9
	VCVTPS2PD X5, Y10
	VADDPD Y10, Y9, Y9
	VADDPD Y9, Y8, Y1            // row 1
	VCVTPS2PD X2, Y8
	VCVTPS2PD X6, Y9
	VADDPD Y9, Y8, Y8
	VEXTRACTF128 $1, Y2, X2
	VEXTRACTF128 $1, Y6, X6
	VCVTPS2PD X2, Y9
	VCVTPS2PD X6, Y10
	VADDPD Y10, Y9, Y9
	VADDPD Y9, Y8, Y2            // row 2
	VCVTPS2PD X3, Y8
	VCVTPS2PD X7, Y9
	VADDPD Y9, Y8, Y8
	VEXTRACTF128 $1, Y3, X3
	VEXTRACTF128 $1, Y7, X7
	VCVTPS2PD X3, Y9
	VCVTPS2PD X7, Y10
	VADDPD Y10, Y9, Y9
	VADDPD Y9, Y8, Y3            // row 3
	VHADDPD Y1, Y0, Y0
	VHADDPD Y3, Y2, Y2
	VPERM2F128 $0x20, Y2, Y0, Y4
	VPERM2F128 $0x31, Y2, Y0, Y5
	VADDPD Y5, Y4, Y4
	VMOVUPD Y4, (DI)
	ADDQ $32, DI
	MOVQ R13, SI
	SUBQ $4, CX
	JGT  rdgroup
	VZEROUPPER
	RET

// func rowsAxpy2x32AVX2(w *float32, a, d *float64, num, den *float32, rows, kp int)
// num += a_f W_f and den += d_f W_f in float32, four rows at a time, row
// after row for each element (the order of rowsAxpy2x32Go).
TEXT ·rowsAxpy2x32AVX2(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), R8
	MOVQ d+16(FP), DX
	MOVQ num+24(FP), DI
	MOVQ den+32(FP), R14
	MOVQ rows+40(FP), CX
	MOVQ kp+48(FP), BX
	SHLQ $2, BX

ragroup:
	LEAQ (SI)(BX*1), R10
	LEAQ (R10)(BX*1), R11
	LEAQ (R11)(BX*1), R12
	LEAQ (R12)(BX*1), R13
	VCVTPD2PSY (R8), X4
	VBROADCASTSS X4, Y8
	VPSRLDQ $4, X4, X5
	VBROADCASTSS X5, Y9
	VPSRLDQ $8, X4, X5
	VBROADCASTSS X5, Y10
	VPSRLDQ $12, X4, X5
	VBROADCASTSS X5, Y11
	VCVTPD2PSY (DX), X4
	VBROADCASTSS X4, Y12
	VPSRLDQ $4, X4, X5
	VBROADCASTSS X5, Y13
	VPSRLDQ $8, X4, X5
	VBROADCASTSS X5, Y14
	VPSRLDQ $12, X4, X5
	VBROADCASTSS X5, Y15
	XORQ AX, AX

raloop:
	VMOVUPS (DI)(AX*1), Y0
	VMOVUPS (R14)(AX*1), Y1
	VMOVUPS (SI)(AX*1), Y2
	VMOVUPS (R10)(AX*1), Y3
	VMOVUPS (R11)(AX*1), Y4
	VMOVUPS (R12)(AX*1), Y5
	VFMADD231PS Y2, Y8, Y0
	VFMADD231PS Y2, Y12, Y1
	VFMADD231PS Y3, Y9, Y0
	VFMADD231PS Y3, Y13, Y1
	VFMADD231PS Y4, Y10, Y0
	VFMADD231PS Y4, Y14, Y1
	VFMADD231PS Y5, Y11, Y0
	VFMADD231PS Y5, Y15, Y1
	VMOVUPS Y0, (DI)(AX*1)
	VMOVUPS Y1, (R14)(AX*1)
	ADDQ $32, AX
	CMPQ AX, BX
	JLT  raloop

	ADDQ $32, R8
	ADDQ $32, DX
	MOVQ R13, SI
	SUBQ $4, CX
	JGT  ragroup
	VZEROUPPER
	RET

// func addClear32AVX2(y *float64, x *float32, n int)
// y[j] += x[j] in float64 and x[j] = 0, for j < n (a multiple of 8).
TEXT ·addClear32AVX2(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VXORPS Y2, Y2, Y2

acloop:
	VCVTPS2PD (SI), Y0
	VCVTPS2PD 16(SI), Y1
	VADDPD (DI), Y0, Y0
	VADDPD 32(DI), Y1, Y1
	VMOVUPD Y0, (DI)
	VMOVUPD Y1, 32(DI)
	VMOVUPS Y2, (SI)
	ADDQ $32, SI
	ADDQ $64, DI
	SUBQ $8, CX
	JGT  acloop
	VZEROUPPER
	RET

// func rowsDotAVX2(w, h, y *float64, rows, kp int)
// rowsDotGo in float64 (the Gram matrix's pass for beta 2), four rows at a
// time, each in two registers of 4 lanes (columns j mod 8 below 4 and from
// 4), the lanes added pairwise.
TEXT ·rowsDotAVX2(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ h+8(FP), DX
	MOVQ y+16(FP), DI
	MOVQ rows+24(FP), CX
	MOVQ kp+32(FP), BX
	SHLQ $3, BX

r64group:
	LEAQ (SI)(BX*1), R10
	LEAQ (R10)(BX*1), R11
	LEAQ (R11)(BX*1), R12
	LEAQ (R12)(BX*1), R13
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	XORQ AX, AX

r64dot:
	VMOVUPD (DX)(AX*1), Y8
	VMOVUPD 32(DX)(AX*1), Y9
	VFMADD231PD (SI)(AX*1), Y8, Y0
	VFMADD231PD 32(SI)(AX*1), Y9, Y4
	VFMADD231PD (R10)(AX*1), Y8, Y1
	VFMADD231PD 32(R10)(AX*1), Y9, Y5
	VFMADD231PD (R11)(AX*1), Y8, Y2
	VFMADD231PD 32(R11)(AX*1), Y9, Y6
	VFMADD231PD (R12)(AX*1), Y8, Y3
	VFMADD231PD 32(R12)(AX*1), Y9, Y7
	ADDQ $64, AX
	CMPQ AX, BX
	JLT  r64dot

	VADDPD Y4, Y0, Y0
	VADDPD Y5, Y1, Y1
	VADDPD Y6, Y2, Y2
	VADDPD Y7, Y3, Y3
	VHADDPD Y1, Y0, Y0
	VHADDPD Y3, Y2, Y2
	VPERM2F128 $0x20, Y2, Y0, Y4
	VPERM2F128 $0x31, Y2, Y0, Y5
	VADDPD Y5, Y4, Y4
	VMOVUPD Y4, (DI)
	ADDQ $32, DI
	MOVQ R13, SI
	SUBQ $4, CX
	JGT  r64group
	VZEROUPPER
	RET

DATA avx2EpsD<>+0(SB)/8, $0x3e80000000000000 // 0x1p-23, float32 epsilon, as float64
GLOBL avx2EpsD<>(SB), RODATA|NOPTR, $8
DATA avx2Max<>+0(SB)/8, $0x7fefffffffffffff // math.MaxFloat64
GLOBL avx2Max<>(SB), RODATA|NOPTR, $8
DATA avx2Abs<>+0(SB)/8, $0x7fffffffffffffff // clears the sign bit
GLOBL avx2Abs<>(SB), RODATA|NOPTR, $8

// func mulUpdateAVX2(h, num, den *float64, n int, tiny float64) (maxDelta, maxH float64)
// mulUpdateAVX512 in four float64 lanes: h = h * (num / den), den 0 ->
// epsilon, a product that is not <= MaxFloat64 (NaN, +Inf) or is below
// tiny -> 0; the largest |h' - h| (a NaN one, from a NaN h, ignored) and
// h'. n a multiple of 4.
TEXT ·mulUpdateAVX2(SB), NOSPLIT, $0-56
	MOVQ h+0(FP), DI
	MOVQ num+8(FP), SI
	MOVQ den+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSD tiny+32(FP), Y11
	VBROADCASTSD avx2EpsD<>(SB), Y15
	VBROADCASTSD avx2Max<>(SB), Y14
	VBROADCASTSD avx2Abs<>(SB), Y13
	VXORPD Y12, Y12, Y12
	VXORPD Y0, Y0, Y0            // max |h' - h|
	VXORPD Y1, Y1, Y1            // max h'

uloop:
	VMOVUPD (DX), Y2
	VCMPPD $0, Y12, Y2, Y3       // den == 0
	VBLENDVPD Y3, Y15, Y2, Y2    // -> epsilon
	VMOVUPD (SI), Y3
	VDIVPD Y2, Y3, Y3            // num / den
	VMOVUPD (DI), Y4
	VMULPD Y3, Y4, Y5            // h' = h * (num / den)
	VCMPPD $0x12, Y14, Y5, Y6    // h' <= MaxFloat64, quiet: false for NaN
	VANDPD Y6, Y5, Y5
	VCMPPD $0x1d, Y11, Y5, Y7    // h' >= tiny
	VANDPD Y7, Y5, Y5
	VSUBPD Y4, Y5, Y6
	VANDPD Y13, Y6, Y6
	VMAXPD Y0, Y6, Y0            // Y0 where |h' - h| is NaN (h NaN), as mulUpdateGo
	VMAXPD Y1, Y5, Y1
	VMOVUPD Y5, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	SUBQ $4, CX
	JNZ  uloop

	VEXTRACTF128 $1, Y0, X2
	VMAXPD X2, X0, X0
	VPERMILPD $1, X0, X2
	VMAXSD X2, X0, X0
	VEXTRACTF128 $1, Y1, X2
	VMAXPD X2, X1, X1
	VPERMILPD $1, X1, X2
	VMAXSD X2, X1, X1
	VZEROUPPER
	MOVSD X0, maxDelta+40(FP)
	MOVSD X1, maxH+48(FP)
	RET

DATA avx2Lo<>+0(SB)/8, $0x07b0000000000000 // 0x1p-900
GLOBL avx2Lo<>(SB), RODATA|NOPTR, $8
DATA avx2Hi<>+0(SB)/8, $0x7830000000000000 // 0x1p900
GLOBL avx2Hi<>(SB), RODATA|NOPTR, $8
DATA avx2One<>+0(SB)/8, $0x3ff0000000000000 // 1
GLOBL avx2One<>(SB), RODATA|NOPTR, $8

// The loops of Separator.maskFast (masks_amd64.s) in four float64 lanes:
// the same operations, so the same bits.

// func powAddAVX2(dst, y *float64, n int, square bool)
// dst[f] += y[f]^2 (square) or y[f], for f < n (a multiple of 4).
TEXT ·powAddAVX2(SB), NOSPLIT, $0-25
	MOVQ dst+0(FP), DI
	MOVQ y+8(FP), SI
	MOVQ n+16(FP), CX
	MOVBLZX square+24(FP), AX
	TESTQ AX, AX
	JZ   paplain

pasq:
	VMOVUPD (SI), Y0
	VMULPD Y0, Y0, Y0
	VADDPD (DI), Y0, Y0
	VMOVUPD Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $4, CX
	JNZ  pasq
	VZEROUPPER
	RET

paplain:
	VMOVUPD (DI), Y0
	VADDPD (SI), Y0, Y0
	VMOVUPD Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $4, CX
	JNZ  paplain
	VZEROUPPER
	RET

// func recipRangeAVX2(inv *float64, n int) (first int)
// inv[f] = 1 / inv[f] where inv[f] is in [2^-900, 2^900], else 0, for
// f < n (a multiple of 4); first is the first f out of range, or -1.
TEXT ·recipRangeAVX2(SB), NOSPLIT, $0-24
	MOVQ inv+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSD avx2Lo<>(SB), Y12
	VBROADCASTSD avx2Hi<>(SB), Y13
	VBROADCASTSD avx2One<>(SB), Y14
	MOVQ $-1, R8                 // first
	XORQ DX, DX                  // f

rrloop:
	VMOVUPD (DI), Y0
	VCMPPD $0x1d, Y12, Y0, Y1    // >= 2^-900, quiet: false for NaN
	VCMPPD $0x12, Y13, Y0, Y2    // <= 2^900
	VANDPD Y2, Y1, Y1
	VDIVPD Y0, Y14, Y3           // 1 / t
	VANDPD Y1, Y3, Y3            // in range, 0 elsewhere
	VMOVUPD Y3, (DI)
	TESTQ R8, R8
	JNS  rrnext                  // first already found
	VMOVMSKPD Y1, AX
	XORL $0xf, AX
	JZ   rrnext
	BSFL AX, AX
	LEAQ (DX)(AX*1), R8

rrnext:
	ADDQ $32, DI
	ADDQ $4, DX
	CMPQ DX, CX
	JLT  rrloop
	VZEROUPPER
	MOVQ R8, first+16(FP)
	RET

// func mulPowAVX2(m, y, inv *float64, n int, square bool)
// m[f] = y[f]^2 (square) or y[f], times inv[f], for f < n (a multiple of 4).
TEXT ·mulPowAVX2(SB), NOSPLIT, $0-33
	MOVQ m+0(FP), DI
	MOVQ y+8(FP), SI
	MOVQ inv+16(FP), DX
	MOVQ n+24(FP), CX
	MOVBLZX square+32(FP), AX
	TESTQ AX, AX
	JZ   mpplain

mpsq:
	VMOVUPD (SI), Y0
	VMULPD Y0, Y0, Y0
	VMULPD (DX), Y0, Y0
	VMOVUPD Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	SUBQ $4, CX
	JNZ  mpsq
	VZEROUPPER
	RET

mpplain:
	VMOVUPD (SI), Y0
	VMULPD (DX), Y0, Y0
	VMOVUPD Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	SUBQ $4, CX
	JNZ  mpplain
	VZEROUPPER
	RET

DATA avx2One32<>+0(SB)/4, $0x3f800000 // 1.0 in float32
GLOBL avx2One32<>(SB), RODATA|NOPTR, $4

// B05TERMS2(P) sets, from W h of a panel in Y0/Y1 (lo/hi bins; 0 ->
// epsilon already), q = 1 / sqrt(W h) in Y8/Y9 and a = (v / W h) q in
// Y12/Y13, v the 16 at (P); uses Y10. The operations of b05Panels32Go,
// each correctly rounded.
#define B05TERMS2(P) \
	VBROADCASTSS avx2One32<>(SB), Y10; \
	VSQRTPS Y0, Y8; \
	VDIVPS Y8, Y10, Y8; \
	VSQRTPS Y1, Y9; \
	VDIVPS Y9, Y10, Y9; \
	VMOVUPS (P), Y12; \
	VDIVPS Y0, Y12, Y12; \
	VMULPS Y8, Y12, Y12; \
	VMOVUPS 32(P), Y13; \
	VDIVPS Y1, Y13, Y13; \
	VMULPS Y9, Y13, Y13

// func b05Panels32AVX2(w, h, v, accN, accD *float32, panels, kq int)
// b05Panels32Go with fused multiply-adds: for each panel, W h in four
// partial sums (columns k mod 4) added as (s0 + s1) + (s2 + s3), the terms
// q = 1/sqrt(W h) and a = (v / W h) q, then accN_k += column k * a and
// accD_k += column k * q, panel after panel: the order of b05Panels32Go.
// Panels two at a time, their a and q (eight registers) held through the
// second half, so that each load and store of the accumulators' column k
// serves two panels. Four at a time, with a and q read from the stack by
// the multiply-adds, was slower: 8 memory operations per panel and column
// against 6, and at fft 2048, K 128 slower than the row-by-row passes it
// replaced (BenchmarkProcess, AVX-512 off).
TEXT ·b05Panels32AVX2(SB), NOSPLIT, $128-56
	MOVQ w+0(FP), SI
	MOVQ h+8(FP), DX
	MOVQ v+16(FP), R8
	MOVQ accN+24(FP), DI
	MOVQ accD+32(FP), R14
	MOVQ panels+40(FP), CX
	MOVQ kq+48(FP), BX
	SHLQ $6, BX                  // panel stride in bytes: kq columns of 64
	CMPQ CX, $2
	JLT  bsingle

bpair:
	VXORPS Y15, Y15, Y15
	VBROADCASTSS avx2Eps<>(SB), Y14
	PANELZERO

bp0dot:
	PANELDOT4(SI)
	CMPQ AX, BX
	JLT  bp0dot
	PANELSUM
	B05TERMS2(R8)
	VMOVUPS Y12, 0(SP)           // a and q of panel 0
	VMOVUPS Y13, 32(SP)
	VMOVUPS Y8, 64(SP)
	VMOVUPS Y9, 96(SP)
	LEAQ (SI)(BX*1), R10
	PANELZERO

bp1dot:
	PANELDOT4(R10)
	CMPQ AX, BX
	JLT  bp1dot
	PANELSUM
	LEAQ 64(R8), R12
	B05TERMS2(R12)               // panel 1: a in Y12/Y13, q in Y8/Y9
	VMOVUPS 0(SP), Y10           // panel 0: a in Y10/Y11, q in Y14/Y15
	VMOVUPS 32(SP), Y11
	VMOVUPS 64(SP), Y14
	VMOVUPS 96(SP), Y15
	XORQ AX, AX

bpaxpy:
	VMOVUPS (DI)(AX*1), Y0
	VMOVUPS 32(DI)(AX*1), Y1
	VMOVUPS (R14)(AX*1), Y2
	VMOVUPS 32(R14)(AX*1), Y3
	VMOVUPS (SI)(AX*1), Y4
	VMOVUPS 32(SI)(AX*1), Y5
	VMOVUPS (R10)(AX*1), Y6
	VMOVUPS 32(R10)(AX*1), Y7
	VFMADD231PS Y10, Y4, Y0
	VFMADD231PS Y11, Y5, Y1
	VFMADD231PS Y14, Y4, Y2
	VFMADD231PS Y15, Y5, Y3
	VFMADD231PS Y12, Y6, Y0
	VFMADD231PS Y13, Y7, Y1
	VFMADD231PS Y8, Y6, Y2
	VFMADD231PS Y9, Y7, Y3
	VMOVUPS Y0, (DI)(AX*1)
	VMOVUPS Y1, 32(DI)(AX*1)
	VMOVUPS Y2, (R14)(AX*1)
	VMOVUPS Y3, 32(R14)(AX*1)
	ADDQ $64, AX
	CMPQ AX, BX
	JLT  bpaxpy

	ADDQ $128, R8
	LEAQ (SI)(BX*2), SI
	SUBQ $2, CX
	CMPQ CX, $2
	JGE  bpair

bsingle:
	TESTQ CX, CX
	JZ   bdone
	VXORPS Y15, Y15, Y15
	VBROADCASTSS avx2Eps<>(SB), Y14
	PANELZERO

bsdot:
	PANELDOT4(SI)
	CMPQ AX, BX
	JLT  bsdot
	PANELSUM
	B05TERMS2(R8)
	XORQ AX, AX

bsaxpy:
	VMOVUPS (DI)(AX*1), Y0
	VMOVUPS 32(DI)(AX*1), Y1
	VMOVUPS (R14)(AX*1), Y2
	VMOVUPS 32(R14)(AX*1), Y3
	VMOVUPS (SI)(AX*1), Y4
	VMOVUPS 32(SI)(AX*1), Y5
	VFMADD231PS Y12, Y4, Y0
	VFMADD231PS Y13, Y5, Y1
	VFMADD231PS Y8, Y4, Y2
	VFMADD231PS Y9, Y5, Y3
	VMOVUPS Y0, (DI)(AX*1)
	VMOVUPS Y1, 32(DI)(AX*1)
	VMOVUPS Y2, (R14)(AX*1)
	VMOVUPS Y3, 32(R14)(AX*1)
	ADDQ $64, AX
	CMPQ AX, BX
	JLT  bsaxpy

bdone:
	VZEROUPPER
	RET

DATA avx2AdaptEps<>+0(SB)/8, $0x3e80000000000000 // 0x1p-23, float32 epsilon, as float64
GLOBL avx2AdaptEps<>(SB), RODATA|NOPTR, $8

// AQUARTER(Q) updates bins 4Q to 4Q+3 of column k (see adaptPanelsAVX2),
// the new W left in Y1 (then W qa + qb if recon) and added into y_Q
// (Y4+Q is passed as YQ); uses Y0, Y2, Y3.
#define AQUARTER(Q, YQ) \
	VCVTPS2PD (16*Q)(R9), Y0; \
	VMULPD (32*Q)(SP), Y0, Y0; \
	VMULPD (32*Q)(R11), Y15, Y1; \
	VFMADD231PD Y14, Y0, Y1; \
	VMOVUPD Y1, (32*Q)(R11); \
	VFMADD231PD (128+32*Q)(R11), Y13, Y1; \
	VMULPD Y12, Y1, Y1; \
	VCVTPD2PSY Y1, X2; \
	VMOVUPS X2, (16*Q)(R9)

// ARECON(Q) sets Y1 = Y1 qa + qb for bins 4Q to 4Q+3 if rq is not nil
// (qa, qb in float32 at R13); uses Y0, Y3.
#define ARECON(Q) \
	CMPQ rq+16(FP), $0; \
	JEQ  4(PC); \
	VCVTPS2PD (16*Q)(R13), Y3; \
	VCVTPS2PD (64+16*Q)(R13), Y0; \
	VFMADD213PD Y0, Y3, Y1

// func adaptPanelsAVX2(w *float32, st *float64, rq *float32, v, hi, y, cs *float64, start *int, ns, panels, kq, f int, rho, lam float64)
// adaptPanelsAVX512 in four float64 lanes: a panel column's 16 bins are
// four quarters; r of the panel is kept on the stack. Locals: 0(SP) r (16
// float64), 128(SP) the bytes of a source's y, 136(SP) the end of start,
// 144(SP) the bytes of a panel in st, 152(SP) in rq, 160(SP) the current
// source's y, 168(SP) the panel's rq.
TEXT ·adaptPanelsAVX2(SB), NOSPLIT, $176-112
	MOVQ w+0(FP), SI
	MOVQ st+8(FP), DI
	MOVQ rq+16(FP), AX
	MOVQ AX, 168(SP)
	MOVQ v+24(FP), R8
	MOVQ y+40(FP), DX
	MOVQ panels+72(FP), CX
	MOVQ kq+80(FP), BX
	MOVQ BX, AX
	SHLQ $8, AX
	MOVQ AX, 144(SP)
	SHRQ $1, AX
	MOVQ AX, 152(SP)
	MOVQ f+88(FP), AX
	SHLQ $3, AX
	MOVQ AX, 128(SP)
	MOVQ start+56(FP), AX
	MOVQ ns+64(FP), R9
	LEAQ (AX)(R9*8), AX
	MOVQ AX, 136(SP)
	SHLQ $6, BX
	VBROADCASTSD rho+96(FP), Y15
	VBROADCASTSD lam+104(FP), Y13

a2panel:
	VXORPD Y0, Y0, Y0            // W h, columns 0 mod 2, bins 0-3, ... 12-15
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD Y4, Y4, Y4            // columns 1 mod 2
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	MOVQ SI, R9
	MOVQ hi+32(FP), R10
	MOVQ kq+80(FP), R11
	SHRQ $1, R11

a2wh:
	VBROADCASTSD (R10), Y8
	VBROADCASTSD 16(R10), Y9
	VCVTPS2PD (R9), Y10
	VCVTPS2PD 16(R9), Y11
	VFMADD231PD Y8, Y10, Y0
	VFMADD231PD Y8, Y11, Y1
	VCVTPS2PD 32(R9), Y10
	VCVTPS2PD 48(R9), Y11
	VFMADD231PD Y8, Y10, Y2
	VFMADD231PD Y8, Y11, Y3
	VCVTPS2PD 64(R9), Y10
	VCVTPS2PD 80(R9), Y11
	VFMADD231PD Y9, Y10, Y4
	VFMADD231PD Y9, Y11, Y5
	VCVTPS2PD 96(R9), Y10
	VCVTPS2PD 112(R9), Y11
	VFMADD231PD Y9, Y10, Y6
	VFMADD231PD Y9, Y11, Y7
	ADDQ $128, R9
	ADDQ $32, R10
	DECQ R11
	JNZ  a2wh

	VBROADCASTSD avx2AdaptEps<>(SB), Y8
	VADDPD Y4, Y0, Y0
	VADDPD Y5, Y1, Y1
	VADDPD Y6, Y2, Y2
	VADDPD Y7, Y3, Y3
	VMAXPD Y8, Y0, Y0            // max(W h, epsilon)
	VMAXPD Y8, Y1, Y1
	VMAXPD Y8, Y2, Y2
	VMAXPD Y8, Y3, Y3
	VMOVUPD (R8), Y4
	VDIVPD Y0, Y4, Y4            // r = v / W h
	VMOVUPD Y4, 0(SP)
	VMOVUPD 32(R8), Y5
	VDIVPD Y1, Y5, Y5
	VMOVUPD Y5, 32(SP)
	VMOVUPD 64(R8), Y6
	VDIVPD Y2, Y6, Y6
	VMOVUPD Y6, 64(SP)
	VMOVUPD 96(R8), Y7
	VDIVPD Y3, Y7, Y7
	VMOVUPD Y7, 96(SP)

	MOVQ SI, R9
	MOVQ hi+32(FP), R10
	MOVQ DI, R11
	MOVQ 168(SP), R13
	MOVQ cs+48(FP), R14
	MOVQ start+56(FP), R12
	MOVQ DX, 160(SP)

a2source:
	VXORPD Y4, Y4, Y4            // y, bins 0-3, ... 12-15
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	MOVQ 8(R12), AX
	SUBQ (R12), AX
	JLE  a2ystore

a2column:
	VBROADCASTSD (R10), Y14      // h_k
	VBROADCASTSD 8(R10), Y12     // inv_k
	AQUARTER(0, Y4)
	VMOVAPD Y1, Y10              // W of bins 0-3, for cs
	ARECON(0)
	VFMADD231PD Y14, Y1, Y4
	AQUARTER(1, Y5)
	VMOVAPD Y1, Y11              // bins 4-7
	ARECON(1)
	VFMADD231PD Y14, Y1, Y5
	AQUARTER(2, Y6)
	VADDPD Y1, Y10, Y10          // bins 0-3 + 8-11: lanes 0-3 of cs
	ARECON(2)
	VFMADD231PD Y14, Y1, Y6
	AQUARTER(3, Y7)
	VADDPD Y1, Y11, Y11          // lanes 4-7
	ARECON(3)
	VFMADD231PD Y14, Y1, Y7
	VADDPD (R14), Y10, Y10
	VMOVUPD Y10, (R14)
	VADDPD 32(R14), Y11, Y11
	VMOVUPD Y11, 32(R14)
	ADDQ $64, R9
	ADDQ $16, R10
	ADDQ $256, R11
	ADDQ $128, R13
	ADDQ $64, R14
	DECQ AX
	JNZ  a2column

a2ystore:
	MOVQ 160(SP), AX
	VMOVUPD Y4, (AX)
	VMOVUPD Y5, 32(AX)
	VMOVUPD Y6, 64(AX)
	VMOVUPD Y7, 96(AX)
	ADDQ 128(SP), AX
	MOVQ AX, 160(SP)
	ADDQ $8, R12
	CMPQ R12, 136(SP)
	JLT  a2source

	ADDQ BX, SI
	ADDQ 144(SP), DI
	MOVQ 152(SP), AX
	ADDQ AX, 168(SP)
	ADDQ $128, R8
	ADDQ $128, DX
	DECQ CX
	JNZ  a2panel
	VZEROUPPER
	RET
