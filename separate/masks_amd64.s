//go:build !purego

#include "textflag.h"

// The loops of Separator.maskFast, eight bins at a time (masks_amd64.go).

DATA maskLo<>+0(SB)/8, $0x07b0000000000000 // 0x1p-900
GLOBL maskLo<>(SB), RODATA|NOPTR, $8
DATA maskHi<>+0(SB)/8, $0x7830000000000000 // 0x1p900
GLOBL maskHi<>(SB), RODATA|NOPTR, $8
DATA maskOne<>+0(SB)/8, $0x3ff0000000000000 // 1
GLOBL maskOne<>(SB), RODATA|NOPTR, $8

// func powAddAVX512(dst, y *float64, n int, square bool)
// dst[f] += y[f]^2 (square) or y[f], for f < n (a multiple of 8).
TEXT ·powAddAVX512(SB), NOSPLIT, $0-25
	MOVQ dst+0(FP), DI
	MOVQ y+8(FP), SI
	MOVQ n+16(FP), CX
	MOVBLZX square+24(FP), AX
	TESTQ AX, AX
	JZ   plain

sq:
	VMOVUPD (SI), Z0
	VMULPD Z0, Z0, Z0
	VADDPD (DI), Z0, Z0
	VMOVUPD Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $8, CX
	JNZ  sq
	VZEROUPPER
	RET

plain:
	VMOVUPD (DI), Z0
	VADDPD (SI), Z0, Z0
	VMOVUPD Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $8, CX
	JNZ  plain
	VZEROUPPER
	RET

// func recipRangeAVX512(inv *float64, n int) (first int)
// inv[f] = 1 / inv[f] where inv[f] is in [2^-900, 2^900], else 0, for
// f < n (a multiple of 8); first is the first f out of range, or -1.
TEXT ·recipRangeAVX512(SB), NOSPLIT, $0-24
	MOVQ inv+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSD maskLo<>(SB), Z28
	VBROADCASTSD maskHi<>(SB), Z29
	VBROADCASTSD maskOne<>(SB), Z30
	MOVQ $-1, R8                 // first
	XORQ DX, DX                  // f

rloop:
	VMOVUPD (DI), Z0
	VCMPPD $0x1d, Z28, Z0, K1    // >= 2^-900, quiet: false for NaN
	VCMPPD $0x12, Z29, Z0, K1, K2 // and <= 2^900
	VDIVPD.Z Z0, Z30, K2, Z1     // 1 / t in range, 0 elsewhere
	VMOVUPD Z1, (DI)
	TESTQ R8, R8
	JNS  rnext                   // first already found
	KMOVW K2, AX
	NOTL AX
	ANDL $0xff, AX
	JZ   rnext
	BSFL AX, AX
	LEAQ (DX)(AX*1), R8

rnext:
	ADDQ $64, DI
	ADDQ $8, DX
	CMPQ DX, CX
	JLT  rloop
	VZEROUPPER
	MOVQ R8, first+16(FP)
	RET

// func mulPowAVX512(m, y, inv *float64, n int, square bool)
// m[f] = y[f]^2 (square) or y[f], times inv[f], for f < n (a multiple of 8).
TEXT ·mulPowAVX512(SB), NOSPLIT, $0-33
	MOVQ m+0(FP), DI
	MOVQ y+8(FP), SI
	MOVQ inv+16(FP), DX
	MOVQ n+24(FP), CX
	MOVBLZX square+32(FP), AX
	TESTQ AX, AX
	JZ   mplain

msq:
	VMOVUPD (SI), Z0
	VMULPD Z0, Z0, Z0
	VMULPD (DX), Z0, Z0
	VMOVUPD Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, DX
	SUBQ $8, CX
	JNZ  msq
	VZEROUPPER
	RET

mplain:
	VMOVUPD (SI), Z0
	VMULPD (DX), Z0, Z0
	VMOVUPD Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, DX
	SUBQ $8, CX
	JNZ  mplain
	VZEROUPPER
	RET
