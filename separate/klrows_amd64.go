//go:build !purego

package separate

import "golang.org/x/sys/cpu"

// haveAVX512 says the assembly kernels can run: every one of them (the KL
// passes, the update and the masks' loops in *_amd64.s) uses AVX-512F
// instructions on 512-bit registers, and AVX2 comes with every AVX-512 CPU
// but is checked too, as the kernels' VEX-encoded forms need it. Without it,
// or built with the purego tag, the Go loops run (their *Go twins, which
// the tests hold the assembly to).
var haveAVX512 = cpu.X86.HasAVX2 && cpu.X86.HasAVX512F

// singleFast says the float32 passes (klpanels32.go, klrows32.go) are worth
// taking: only in assembly. In Go they are slower than the float64 ones. In
// AVX2 (avx2_amd64.s) they are faster than the float64 passes through gonum
// that a CPU without AVX-512 would take otherwise: BenchmarkProcess on the
// AMD EPYC with AVX-512 turned off (GODEBUG=cpu.avx512f=off), median CPU
// time of 5 interleaved runs of 334107a and d4a1935, 3.7x faster for beta 1
// at fft 1024, K 64 and at fft 2048, K 128, 2.2x and 2.85x for beta 0.5,
// 3.0x and 2.9x for beta 2 (the masks, rowsDot and the update in AVX2); with
// adapting bases (BenchmarkProcessAdapt, beta 0.5), 1.6x and 2.1x with the
// float32 passes alone (04af57d). README, Performance.
var singleFast = haveAVX512 || haveAVX2FMA

func init() {
	if haveAVX512 {
		klRowsAsm = klRowsAVX512Slices
	}
}

// klRowsAVX512 is klRowsGo for rows a multiple of 4 (klrows_amd64.s): four
// rows at a time, the dot products in 2 x 8 float64 lanes per row, the four
// ratios in one division, then num += r_f W_f for the four rows in one pass
// over num. A group of four rows whose v are all zero is skipped.
//
//go:noescape
func klRowsAVX512(w, h, v, num *float64, rows, kp int)

func klRowsAVX512Slices(w, h, v, num []float64, rows, kp int) {
	if rows&3 != 0 || kp%klPad != 0 || len(w) < rows*kp || len(h) < kp || len(num) < kp || len(v) < rows {
		panic("separate: klRowsAVX512: bad dimensions")
	}
	klRowsAVX512(&w[0], &h[0], &v[0], &num[0], rows, kp)
}

// fmaPeakAVX512 runs n times 16 independent 8-lane float64 fused
// multiply-adds on registers (256 flops each time): the core's peak, which
// BenchmarkPeakFLOPS measures. It needs AVX-512 (klRowsAsm != nil).
//
//go:noescape
func fmaPeakAVX512(n int)

// peakFLOPs runs fmaPeakAVX512 if the CPU has it and returns the flops
// done, or 0.
func peakFLOPs(n int) float64 {
	if klRowsAsm == nil {
		return 0
	}
	fmaPeakAVX512(n)
	return 256 * float64(n)
}

func init() {
	if klRowsAsm != nil {
		rowsDotAsm = rowsDotAVX512Slices
		rowsAxpy2Asm = rowsAxpy2AVX512Slices
	}
}

// rowsDotAVX512 is rowsDotGo for rows a multiple of 4 (klrows_amd64.s).
//
//go:noescape
func rowsDotAVX512(w, h, y *float64, rows, kp int)

// rowsAxpy2AVX512 is rowsAxpy2Go for rows a multiple of 4 (klrows_amd64.s).
//
//go:noescape
func rowsAxpy2AVX512(w, a, d, num, den *float64, rows, kp int)

func rowsDotAVX512Slices(w, h, y []float64, rows, kp int) {
	if rows&3 != 0 || kp%klPad != 0 || len(w) < rows*kp || len(h) < kp || len(y) < rows {
		panic("separate: rowsDotAVX512: bad dimensions")
	}
	rowsDotAVX512(&w[0], &h[0], &y[0], rows, kp)
}

func rowsAxpy2AVX512Slices(w, a, d, num, den []float64, rows, kp int) {
	if rows&3 != 0 || kp%klPad != 0 || len(w) < rows*kp || len(a) < rows || len(d) < rows || len(num) < kp || len(den) < kp {
		panic("separate: rowsAxpy2AVX512: bad dimensions")
	}
	rowsAxpy2AVX512(&w[0], &a[0], &d[0], &num[0], &den[0], rows, kp)
}
