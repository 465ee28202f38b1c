//go:build !purego

#include "textflag.h"

DATA updEps<>+0(SB)/8, $0x3e80000000000000 // 0x1p-23, float32 epsilon, as float64
GLOBL updEps<>(SB), RODATA|NOPTR, $8
DATA updMax<>+0(SB)/8, $0x7fefffffffffffff // math.MaxFloat64
GLOBL updMax<>(SB), RODATA|NOPTR, $8
DATA updAbs<>+0(SB)/8, $0x7fffffffffffffff // clears the sign bit
GLOBL updAbs<>(SB), RODATA|NOPTR, $8

// func mulUpdateAVX512(h, num, den *float64, n int, tiny float64) (maxDelta, maxH float64)
// h = h * (num / den), den 0 -> epsilon, a product that is not <= MaxFloat64
// (NaN, +Inf) or is below tiny -> 0, eight at a time; the largest |h' - h|
// and h'.
TEXT ·mulUpdateAVX512(SB), NOSPLIT, $0-56
	MOVQ h+0(FP), DI
	MOVQ num+8(FP), SI
	MOVQ den+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSD tiny+32(FP), Z27
	VBROADCASTSD updEps<>(SB), Z30
	VBROADCASTSD updMax<>(SB), Z29
	VPBROADCASTQ updAbs<>(SB), Z28
	VXORPD Z31, Z31, Z31
	VXORPD Z0, Z0, Z0            // max |h' - h|
	VXORPD Z1, Z1, Z1            // max h'

loop:
	VMOVUPD (DX), Z2
	VCMPPD $0, Z31, Z2, K1       // den == 0
	VMOVAPD Z30, K1, Z2
	VMOVUPD (SI), Z3
	VDIVPD Z2, Z3, Z3            // num / den
	VMOVUPD (DI), Z4
	VMULPD Z3, Z4, Z5            // h' = h * (num / den)
	VCMPPD $0x12, Z29, Z5, K2    // h' <= MaxFloat64, quiet: false for NaN
	VCMPPD $0x1d, Z27, Z5, K3    // h' >= tiny
	KANDW K3, K2, K2
	VMOVAPD.Z Z5, K2, Z5
	VSUBPD Z4, Z5, Z6
	VPANDQ Z28, Z6, Z6
	VMAXPD Z0, Z6, Z0            // Z0 where |h' - h| is NaN (h NaN), as mulUpdateGo
	VMAXPD Z1, Z5, Z1
	VMOVUPD Z5, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, DX
	SUBQ $8, CX
	JNZ  loop

	VEXTRACTF64X4 $1, Z0, Y2
	VMAXPD Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X2
	VMAXPD X2, X0, X0
	VPERMILPD $1, X0, X2
	VMAXSD X2, X0, X0
	VEXTRACTF64X4 $1, Z1, Y2
	VMAXPD Y2, Y1, Y1
	VEXTRACTF128 $1, Y1, X2
	VMAXPD X2, X1, X1
	VPERMILPD $1, X1, X2
	VMAXSD X2, X1, X1
	VZEROUPPER
	MOVSD X0, maxDelta+40(FP)
	MOVSD X1, maxH+48(FP)
	RET
