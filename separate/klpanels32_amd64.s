//go:build !purego

#include "textflag.h"

// The panel passes of klpanels32.go: W in panels of 16 bins, column k of a
// panel one ZMM register of float32.

DATA panelEps<>+0(SB)/4, $0x34000000 // 0x1p-23, float32 epsilon
GLOBL panelEps<>(SB), RODATA|NOPTR, $4

// func klPanels32AVX512(w, h, v, acc *float32, panels, kq int)
// For each panel whose 16 v are not all zero: wh = sum_k h_k * column k in
// four accumulators, r = v / wh (0 -> epsilon), then acc_k += column k * r.
TEXT ·klPanels32AVX512(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ h+8(FP), DX
	MOVQ v+16(FP), R8
	MOVQ acc+24(FP), DI
	MOVQ panels+32(FP), CX
	MOVQ kq+40(FP), BX
	SHLQ $6, BX                  // panel stride in bytes: kq columns of 64
	VXORPS Z15, Z15, Z15
	VBROADCASTSS panelEps<>(SB), Z14

panel:
	VMOVUPS (R8), Z10            // v of the 16 bins
	VPTESTMD Z10, Z10, K1
	KORTESTW K1, K1
	JZ      next
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	MOVQ DX, R9
	XORQ AX, AX

dot:
	VBROADCASTSS (R9), Z4
	VBROADCASTSS 4(R9), Z5
	VBROADCASTSS 8(R9), Z6
	VBROADCASTSS 12(R9), Z7
	VFMADD231PS (SI)(AX*1), Z4, Z0
	VFMADD231PS 64(SI)(AX*1), Z5, Z1
	VFMADD231PS 128(SI)(AX*1), Z6, Z2
	VFMADD231PS 192(SI)(AX*1), Z7, Z3
	ADDQ $16, R9
	ADDQ $256, AX
	CMPQ AX, BX
	JLT  dot

	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0            // (W h) of the 16 bins
	VCMPPS $0, Z15, Z0, K2       // == 0
	VMOVAPS Z14, K2, Z0          // 0 -> epsilon
	VDIVPS Z0, Z10, Z0           // r = v / W h
	XORQ AX, AX

axpy:
	VMOVUPS (DI)(AX*1), Z4
	VMOVUPS 64(DI)(AX*1), Z5
	VMOVUPS 128(DI)(AX*1), Z6
	VMOVUPS 192(DI)(AX*1), Z7
	VFMADD231PS (SI)(AX*1), Z0, Z4
	VFMADD231PS 64(SI)(AX*1), Z0, Z5
	VFMADD231PS 128(SI)(AX*1), Z0, Z6
	VFMADD231PS 192(SI)(AX*1), Z0, Z7
	VMOVUPS Z4, (DI)(AX*1)
	VMOVUPS Z5, 64(DI)(AX*1)
	VMOVUPS Z6, 128(DI)(AX*1)
	VMOVUPS Z7, 192(DI)(AX*1)
	ADDQ $256, AX
	CMPQ AX, BX
	JLT  axpy

next:
	ADDQ $64, R8
	ADDQ BX, SI
	DECQ CX
	JNZ  panel
	VZEROUPPER
	RET

// func addLanes32AVX512(num *float64, acc *float32, kq int)
// num[k] += the 16 lanes of acc row k, added in float64; acc = 0.
TEXT ·addLanes32AVX512(SB), NOSPLIT, $0-24
	MOVQ num+0(FP), DI
	MOVQ acc+8(FP), SI
	MOVQ kq+16(FP), CX
	VXORPS Z15, Z15, Z15

lanes:
	VCVTPS2PD (SI), Z0
	VCVTPS2PD 32(SI), Z1
	VADDPD Z1, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPD Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0
	VPERMILPD $1, X0, X1
	VADDSD X1, X0, X0
	VADDSD (DI), X0, X0
	VMOVSD X0, (DI)
	VMOVUPS Z15, (SI)
	ADDQ $64, SI
	ADDQ $8, DI
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
