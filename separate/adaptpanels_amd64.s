//go:build !purego

#include "textflag.h"

// The update of adapted bases in panels (adaptpanels.go) in AVX-512: a
// panel column of 16 bins is 16 float32 of W (widened as two halves of 8
// float64), in st 16 float64 of A, then of W0, two ZMM registers each, and
// in rq (reconstruction bases) 16 float32 of qa, then of qb.

DATA adaptEps<>+0(SB)/8, $0x3e80000000000000 // 0x1p-23, float32 epsilon, as float64
GLOBL adaptEps<>(SB), RODATA|NOPTR, $8

// func adaptPanelsAVX512(w *float32, st *float64, rq *float32, v, hi, y, cs *float64, start *int, ns, panels, kq, f int, rho, lam float64)
// adaptPanelsGo with fused multiply-adds: for each panel, W h in two
// partial sums (columns k mod 2) of float64 products of the widened W,
// r = v / max(W h, epsilon); then column by column, source by source:
// A = rho A + (W r) h_k, W = (A + lam W0) inv_k, W stored as float32,
// y_s += W h_k (or (W qa + qb) h_k if rq is not nil), cs_k += the two
// halves of W. Locals: 0(SP) the bytes of a source's y, 8(SP) the end of
// start, 16(SP) the bytes of a panel in st, 24(SP) in rq, 32(SP) the
// current source's y, 40(SP) the panel's rq.
TEXT ·adaptPanelsAVX512(SB), NOSPLIT, $48-112
	MOVQ w+0(FP), SI
	MOVQ st+8(FP), DI
	MOVQ rq+16(FP), AX
	MOVQ AX, 40(SP)
	MOVQ v+24(FP), R8
	MOVQ y+40(FP), DX
	MOVQ panels+72(FP), CX
	MOVQ kq+80(FP), BX
	MOVQ BX, AX
	SHLQ $8, AX                  // kq columns of 256 bytes (A, W0)
	MOVQ AX, 16(SP)
	SHRQ $1, AX                  // of 128 (qa, qb)
	MOVQ AX, 24(SP)
	MOVQ f+88(FP), AX
	SHLQ $3, AX
	MOVQ AX, 0(SP)
	MOVQ start+56(FP), AX
	MOVQ ns+64(FP), R9
	LEAQ (AX)(R9*8), AX
	MOVQ AX, 8(SP)
	SHLQ $6, BX                  // a panel of W in bytes: kq columns of 64
	VBROADCASTSD rho+96(FP), Z31
	VBROADCASTSD lam+104(FP), Z30
	VBROADCASTSD adaptEps<>(SB), Z19

panel:
	VXORPD Z20, Z20, Z20         // W h, columns 0 mod 2, bins 0-7
	VXORPD Z21, Z21, Z21         // bins 8-15
	VXORPD Z22, Z22, Z22         // columns 1 mod 2
	VXORPD Z23, Z23, Z23
	MOVQ SI, R9
	MOVQ hi+32(FP), R10
	MOVQ kq+80(FP), R11
	SHRQ $1, R11

wh:
	VCVTPS2PD (R9), Z0
	VCVTPS2PD 32(R9), Z1
	VCVTPS2PD 64(R9), Z2
	VCVTPS2PD 96(R9), Z3
	VBROADCASTSD (R10), Z4
	VBROADCASTSD 16(R10), Z5
	VFMADD231PD Z4, Z0, Z20
	VFMADD231PD Z4, Z1, Z21
	VFMADD231PD Z5, Z2, Z22
	VFMADD231PD Z5, Z3, Z23
	ADDQ $128, R9
	ADDQ $32, R10
	DECQ R11
	JNZ  wh

	VADDPD Z22, Z20, Z20
	VADDPD Z23, Z21, Z21
	VMAXPD Z19, Z20, Z20         // max(W h, epsilon)
	VMAXPD Z19, Z21, Z21
	VMOVUPD (R8), Z28
	VDIVPD Z20, Z28, Z28         // r = v / W h, bins 0-7
	VMOVUPD 64(R8), Z29
	VDIVPD Z21, Z29, Z29         // bins 8-15

	MOVQ SI, R9                  // W of column k
	MOVQ hi+32(FP), R10          // h_k, inv_k
	MOVQ DI, R11                 // A, W0 of column k
	MOVQ 40(SP), R13             // qa, qb of column k
	MOVQ cs+48(FP), R14          // cs_k
	MOVQ start+56(FP), R12       // the source
	MOVQ DX, 32(SP)              // its y of this panel

source:
	VXORPD Z24, Z24, Z24
	VXORPD Z25, Z25, Z25
	MOVQ 8(R12), AX
	SUBQ (R12), AX               // its columns
	JLE  ystore

column:
	VCVTPS2PD (R9), Z0           // W as stored
	VCVTPS2PD 32(R9), Z1
	VBROADCASTSD (R10), Z26      // h_k
	VBROADCASTSD 8(R10), Z27     // inv_k
	VMULPD Z28, Z0, Z0           // W r
	VMULPD Z29, Z1, Z1
	VMULPD (R11), Z31, Z2        // rho A
	VMULPD 64(R11), Z31, Z3
	VFMADD231PD Z26, Z0, Z2      // A = rho A + (W r) h_k
	VFMADD231PD Z26, Z1, Z3
	VMOVUPD Z2, (R11)
	VMOVUPD Z3, 64(R11)
	VFMADD231PD 128(R11), Z30, Z2 // A + lam W0
	VFMADD231PD 192(R11), Z30, Z3
	VMULPD Z27, Z2, Z2           // the new W
	VMULPD Z27, Z3, Z3
	VCVTPD2PS Z2, Y4
	VCVTPD2PS Z3, Y5
	VMOVUPS Y4, (R9)
	VMOVUPS Y5, 32(R9)
	VADDPD Z3, Z2, Z6
	VADDPD (R14), Z6, Z6
	VMOVUPD Z6, (R14)
	CMPQ rq+16(FP), $0
	JEQ  plain
	VCVTPS2PD (R13), Z7          // qa, bins 0-7
	VCVTPS2PD 64(R13), Z9        // qb
	VFMADD213PD Z9, Z7, Z2       // W qa + qb
	VCVTPS2PD 32(R13), Z8        // bins 8-15
	VCVTPS2PD 96(R13), Z10
	VFMADD213PD Z10, Z8, Z3

plain:
	VFMADD231PD Z26, Z2, Z24     // y += W h_k
	VFMADD231PD Z26, Z3, Z25
	ADDQ $64, R9
	ADDQ $16, R10
	ADDQ $256, R11
	ADDQ $128, R13
	ADDQ $64, R14
	DECQ AX
	JNZ  column

ystore:
	MOVQ 32(SP), AX
	VMOVUPD Z24, (AX)
	VMOVUPD Z25, 64(AX)
	ADDQ 0(SP), AX
	MOVQ AX, 32(SP)
	ADDQ $8, R12
	CMPQ R12, 8(SP)
	JLT  source

	ADDQ BX, SI
	ADDQ 16(SP), DI
	MOVQ 24(SP), AX
	ADDQ AX, 40(SP)
	ADDQ $128, R8
	ADDQ $128, DX
	DECQ CX
	JNZ  panel
	VZEROUPPER
	RET
