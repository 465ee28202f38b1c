//go:build !purego

#include "textflag.h"

// The update of adapted bases in panels (adaptpanels.go) in AVX-512: a
// panel column of 16 bins is 16 float32 of W (one 512-bit load, widened
// as two halves of 8 float64) and, in st, 16 float64 of A, then of W0
// (then of qa and of qb), two ZMM registers each.

DATA adaptEps<>+0(SB)/8, $0x3e80000000000000 // 0x1p-23, float32 epsilon, as float64
GLOBL adaptEps<>(SB), RODATA|NOPTR, $8

// func adaptPanelsAVX512(w *float32, st, v, hi, y, cs *float64, start *int, ns, panels, kq, f, recon int, rho, lam float64)
// adaptPanelsGo with fused multiply-adds: for each panel, W h in two
// partial sums (columns k mod 2) of float64 products of the widened W,
// r = v / max(W h, epsilon); then column by column, source by source:
// A = rho A + (W r) h_k, W = (A + lam W0) inv_k, W stored as float32,
// y_s += W h_k (or (W qa + qb) h_k if recon), cs_k += the two halves of W.
// Locals: 0(SP) the bytes of a column in st, 8(SP) of a source's y,
// 16(SP) the end of start, 24(SP) the bytes of a panel in st.
TEXT ·adaptPanelsAVX512(SB), NOSPLIT, $32-112
	MOVQ w+0(FP), SI
	MOVQ st+8(FP), DI
	MOVQ v+16(FP), R8
	MOVQ y+32(FP), DX
	MOVQ panels+64(FP), CX
	MOVQ kq+72(FP), BX
	MOVQ $256, AX                // A and W0: 2 x 16 float64
	CMPQ recon+88(FP), $0
	JEQ  strided
	MOVQ $512, AX                // and qa, qb
strided:
	MOVQ AX, 0(SP)
	IMULQ BX, AX
	MOVQ AX, 24(SP)
	MOVQ f+80(FP), AX
	SHLQ $3, AX
	MOVQ AX, 8(SP)
	MOVQ start+48(FP), AX
	MOVQ ns+56(FP), R9
	LEAQ (AX)(R9*8), AX
	MOVQ AX, 16(SP)
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
	MOVQ hi+24(FP), R10
	MOVQ kq+72(FP), R11
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
	MOVQ hi+24(FP), R10          // h_k, inv_k
	MOVQ DI, R11                 // A, W0 (qa, qb) of column k
	MOVQ cs+40(FP), R14          // cs_k
	MOVQ start+48(FP), R12       // the source
	MOVQ DX, R13                 // its y of this panel

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
	CMPQ recon+88(FP), $0
	JEQ  plain
	VMOVUPD 256(R11), Z7         // qa
	VFMADD213PD 384(R11), Z7, Z2 // W qa + qb
	VMOVUPD 320(R11), Z8
	VFMADD213PD 448(R11), Z8, Z3

plain:
	VFMADD231PD Z26, Z2, Z24     // y += W h_k
	VFMADD231PD Z26, Z3, Z25
	ADDQ $64, R9
	ADDQ $16, R10
	ADDQ 0(SP), R11
	ADDQ $64, R14
	DECQ AX
	JNZ  column

ystore:
	VMOVUPD Z24, (R13)
	VMOVUPD Z25, 64(R13)
	ADDQ 8(SP), R13
	ADDQ $8, R12
	CMPQ R12, 16(SP)
	JLT  source

	ADDQ BX, SI
	ADDQ 24(SP), DI
	ADDQ $128, R8
	ADDQ $128, DX
	DECQ CX
	JNZ  panel
	VZEROUPPER
	RET
