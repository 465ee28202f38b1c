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

// The constants of mulUpdateCbrtAVX512: a cubic fit of cbrt(M) on [1, 8]
// (relative error 1.4 %, least squares on the relative error), then two
// Halley steps: 1.6e-6, then within 2 ulps of math.Cbrt.
DATA cbrtC3<>+0(SB)/8, $0x3f5f67c96b2d17d9 // 0.0019168345431395033
GLOBL cbrtC3<>(SB), RODATA|NOPTR, $8
DATA cbrtC2<>+0(SB)/8, $0xbfa332f429c06f07 // -0.03749812135376201
GLOBL cbrtC2<>(SB), RODATA|NOPTR, $8
DATA cbrtC1<>+0(SB)/8, $0x3fd5c30989824a1b // 0.340029129301145
GLOBL cbrtC1<>(SB), RODATA|NOPTR, $8
DATA cbrtC0<>+0(SB)/8, $0x3fe6b11de4b3e98e // 0.7091206995822164
GLOBL cbrtC0<>(SB), RODATA|NOPTR, $8
DATA cbrtHalf<>+0(SB)/8, $0x3fe0000000000000 // 0.5
GLOBL cbrtHalf<>(SB), RODATA|NOPTR, $8
DATA cbrtThird<>+0(SB)/8, $0x3fd5555555555555 // 1/3
GLOBL cbrtThird<>(SB), RODATA|NOPTR, $8
DATA cbrtThree<>+0(SB)/8, $0x4008000000000000 // 3
GLOBL cbrtThree<>(SB), RODATA|NOPTR, $8
DATA cbrtTwo<>+0(SB)/8, $0x4000000000000000 // 2
GLOBL cbrtTwo<>(SB), RODATA|NOPTR, $8

// HALLEY(y, m) sets y = y (y^3 + 2m) / (2 y^3 + m), Halley's step for the
// cube root of m; uses Z14-Z16 (Z17 = 2).
#define HALLEY(y, m) \
	VMULPD y, y, Z14; \
	VMULPD y, Z14, Z14; \
	VMOVAPD Z14, Z15; \
	VFMADD231PD Z17, m, Z15; \
	VMOVAPD m, Z16; \
	VFMADD231PD Z17, Z14, Z16; \
	VMULPD Z15, y, y; \
	VDIVPD Z16, y, y

// func mulUpdateCbrtAVX512(h, num, den *float64, n int, tiny float64) (maxDelta, maxH float64)
// The update with gamma 2/3 (beta 0.5's majorisation-minimisation
// exponent): h = h * c^2 with c = cbrt(num / den), den 0 -> epsilon, a
// product that is not <= MaxFloat64 or is below tiny -> 0, eight at a
// time; the largest |h' - h| and h'. The cube root of a ratio r in
// (0, MaxFloat64]: r = m 2^e (VGETEXPPD, VGETMANTPD, m in [1, 2)), e =
// 3q + s with s in {0, 1, 2} (q = floor((e + 1/2) / 3), exact for every
// float64 exponent), M = m 2^s in [1, 8), c = cbrt(M) 2^q by the cubic fit
// and two Halley steps; r = 0 gives 0, and +Inf and NaN stay what they are
// (the product is then not finite, so 0).
TEXT ·mulUpdateCbrtAVX512(SB), NOSPLIT, $0-56
	MOVQ h+0(FP), DI
	MOVQ num+8(FP), SI
	MOVQ den+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSD tiny+32(FP), Z27
	VBROADCASTSD updEps<>(SB), Z30
	VBROADCASTSD updMax<>(SB), Z29
	VPBROADCASTQ updAbs<>(SB), Z28
	VBROADCASTSD cbrtC3<>(SB), Z18
	VBROADCASTSD cbrtC2<>(SB), Z19
	VBROADCASTSD cbrtC1<>(SB), Z20
	VBROADCASTSD cbrtC0<>(SB), Z21
	VBROADCASTSD cbrtHalf<>(SB), Z22
	VBROADCASTSD cbrtThird<>(SB), Z23
	VBROADCASTSD cbrtThree<>(SB), Z24
	VBROADCASTSD cbrtTwo<>(SB), Z17
	VXORPD Z31, Z31, Z31
	VXORPD Z0, Z0, Z0            // max |h' - h|
	VXORPD Z1, Z1, Z1            // max h'

cloop:
	VMOVUPD (DX), Z2
	VCMPPD $0, Z31, Z2, K1       // den == 0
	VMOVAPD Z30, K1, Z2
	VMOVUPD (SI), Z3
	VDIVPD Z2, Z3, Z3            // r = num / den
	VGETEXPPD Z3, Z10            // e
	VGETMANTPD $0, Z3, Z11       // m in [1, 2)
	VADDPD Z22, Z10, Z12
	VMULPD Z23, Z12, Z12
	VRNDSCALEPD $9, Z12, Z12     // q = floor((e + 1/2) / 3)
	VMOVAPD Z10, Z13
	VFNMADD231PD Z24, Z12, Z13   // s = e - 3q
	VSCALEFPD Z13, Z11, Z11      // M = m 2^s in [1, 8)
	VMOVAPD Z18, Z4
	VFMADD213PD Z19, Z11, Z4     // c3 M + c2
	VFMADD213PD Z20, Z11, Z4     // (...) M + c1
	VFMADD213PD Z21, Z11, Z4     // (...) M + c0: cbrt(M) within 1.4 %
	HALLEY(Z4, Z11)
	HALLEY(Z4, Z11)
	VSCALEFPD Z12, Z4, Z4        // c = cbrt(M) 2^q
	VCMPPD $0x1e, Z31, Z3, K3    // r > 0
	VCMPPD $0x12, Z29, Z3, K4    // r <= MaxFloat64
	KANDW K4, K3, K3
	KNOTW K3, K3
	VMOVAPD Z3, K3, Z4           // 0, +Inf, NaN: r itself
	VMULPD Z4, Z4, Z4            // c^2 = r^(2/3)
	VMOVUPD (DI), Z5
	VMULPD Z4, Z5, Z6            // h' = h c^2
	VCMPPD $0x12, Z29, Z6, K2    // h' <= MaxFloat64, quiet: false for NaN
	VCMPPD $0x1d, Z27, Z6, K3    // h' >= tiny
	KANDW K3, K2, K2
	VMOVAPD.Z Z6, K2, Z6
	VSUBPD Z5, Z6, Z7
	VPANDQ Z28, Z7, Z7
	VMAXPD Z0, Z7, Z0
	VMAXPD Z1, Z6, Z1
	VMOVUPD Z6, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, DX
	SUBQ $8, CX
	JNZ  cloop

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
