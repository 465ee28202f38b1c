//go:build !purego

package separate

import "golang.org/x/sys/cpu"

// haveAVX2FMA says the AVX2 versions of the float32 passes can run
// (avx2_amd64.s): a CPU with AVX2 and FMA but without AVX-512 (most
// desktop and many server CPUs), where the AVX-512 kernels of
// klpanels32_amd64.s and klrows32_amd64.s cannot. The float64 passes
// (klRows) and the masks' and the update's loops have no AVX2 version:
// there the float64 passes go through gonum (kernel.klGemv) and the loops
// stay in Go.
var haveAVX2FMA = !haveAVX512 && cpu.X86.HasAVX && cpu.X86.HasAVX2 && cpu.X86.HasFMA

func init() {
	if haveAVX2FMA {
		klPanels32Asm = klPanels32AVX2Slices
		b05Panels32Asm = b05Panels32AVX2Slices
		adaptPanelsAsm = adaptPanelsAVX2Slices
		panelDots32Asm = panelDots32AVX2Slices
		addLanes32Asm = addLanes32AVX2Slices
		klTail32Asm = klTail32Go // one row (the Nyquist bin) per pass: Go is enough
		rowsDot32Asm = rowsDot32AVX2Slices
		rowsAxpy2x32Asm = rowsAxpy2x32AVX2Slices
		addClear32Asm = addClear32AVX2Slices
		rowsDotAsm = rowsDotAVX2Slices
		mulUpdateAsm = mulUpdateAVX2Slices
		powAddAsm, recipRangeAsm, mulPowAsm = powAddAVX2Slices, recipRangeAVX2Slices, mulPowAVX2Slices
		asm32 = true
	}
}

// klPanels32AVX2 is klPanels32Go with fused multiply-adds, four panels at a
// time (avx2_amd64.s).
//
//go:noescape
func klPanels32AVX2(w, h, v, acc *float32, panels, kq int)

// addLanes32AVX2 is addLanes32Go with the 16 lanes of a row added in two
// levels in float32, then in float64 (avx2_amd64.s).
//
//go:noescape
func addLanes32AVX2(num *float64, acc *float32, kq int)

// panelDots32AVX2 is panelDots32Go with fused multiply-adds (avx2_amd64.s).
//
//go:noescape
func panelDots32AVX2(w, h *float32, y *float64, panels, kq, lo, hi int)

// rowsDot32AVX2 is rowsDot32Go for rows a multiple of 4, in the lanes of
// rowsDot32AVX512 (avx2_amd64.s).
//
//go:noescape
func rowsDot32AVX2(w, h *float32, y *float64, rows, kp int)

// rowsAxpy2x32AVX2 is rowsAxpy2x32Go for rows a multiple of 4 with fused
// multiply-adds (avx2_amd64.s).
//
//go:noescape
func rowsAxpy2x32AVX2(w *float32, a, d *float64, num, den *float32, rows, kp int)

// rowsDotAVX2 is rowsDotGo for rows a multiple of 4, in float64
// (avx2_amd64.s).
//
//go:noescape
func rowsDotAVX2(w, h, y *float64, rows, kp int)

func rowsDotAVX2Slices(w, h, y []float64, rows, kp int) {
	if rows < 4 || rows&3 != 0 || kp < klPad || kp%klPad != 0 || len(w) < rows*kp || len(h) < kp || len(y) < rows {
		panic("separate: rowsDotAVX2: bad dimensions")
	}
	rowsDotAVX2(&w[0], &h[0], &y[0], rows, kp)
}

// mulUpdateAVX2 is mulUpdateGo for n a multiple of 4, the same bits
// (avx2_amd64.s).
//
//go:noescape
func mulUpdateAVX2(h, num, den *float64, n int, tiny float64) (maxDelta, maxH float64)

func mulUpdateAVX2Slices(h, num, den []float64, tiny float64) (maxDelta, maxH float64) {
	n := len(h)
	if n == 0 || n&3 != 0 || len(num) < n || len(den) < n {
		panic("separate: mulUpdateAVX2: bad dimensions")
	}
	return mulUpdateAVX2(&h[0], &num[0], &den[0], n, tiny)
}

// powAddAVX2, recipRangeAVX2 and mulPowAVX2 are maskFast's loops (powAdd,
// recipRange, mulPow) for n a multiple of 4, the same bits (avx2_amd64.s).
//
//go:noescape
func powAddAVX2(dst, y *float64, n int, square bool)

//go:noescape
func recipRangeAVX2(inv *float64, n int) (first int)

//go:noescape
func mulPowAVX2(m, y, inv *float64, n int, square bool)

func powAddAVX2Slices(dst, y []float64, square bool) {
	if len(dst) == 0 || len(dst)%4 != 0 || len(y) < len(dst) {
		panic("separate: powAddAVX2: bad dimensions")
	}
	powAddAVX2(&dst[0], &y[0], len(dst), square)
}

func recipRangeAVX2Slices(inv []float64) int {
	if len(inv) == 0 || len(inv)%4 != 0 {
		panic("separate: recipRangeAVX2: bad dimensions")
	}
	return recipRangeAVX2(&inv[0], len(inv))
}

func mulPowAVX2Slices(m, y, inv []float64, square bool) {
	if len(m) == 0 || len(m)%4 != 0 || len(y) < len(m) || len(inv) < len(m) {
		panic("separate: mulPowAVX2: bad dimensions")
	}
	mulPowAVX2(&m[0], &y[0], &inv[0], len(m), square)
}

// addClear32AVX2 is addClear32's loop for n a multiple of 8 (avx2_amd64.s).
//
//go:noescape
func addClear32AVX2(y *float64, x *float32, n int)

func klPanels32AVX2Slices(w, h, v, acc []float32, panels, kq int) {
	if panels < 1 || kq < 4 || kq&3 != 0 || len(w) < panels*kq*klPanelRows || len(h) < kq ||
		len(v) < panels*klPanelRows || len(acc) < kq*klPanelRows {
		panic("separate: klPanels32AVX2: bad dimensions")
	}
	klPanels32AVX2(&w[0], &h[0], &v[0], &acc[0], panels, kq)
}

func addLanes32AVX2Slices(num []float64, acc []float32, kq int) {
	if kq < 1 || len(num) < kq || len(acc) < kq*klPanelRows {
		panic("separate: addLanes32AVX2: bad dimensions")
	}
	addLanes32AVX2(&num[0], &acc[0], kq)
}

func panelDots32AVX2Slices(w, h []float32, y []float64, panels, kq, lo, hi int) {
	if panels < 1 || lo < 0 || hi <= lo || hi > kq || len(w) < panels*kq*klPanelRows || len(h) < hi ||
		len(y) < panels*klPanelRows {
		panic("separate: panelDots32AVX2: bad dimensions")
	}
	panelDots32AVX2(&w[0], &h[0], &y[0], panels, kq, lo, hi)
}

func rowsDot32AVX2Slices(w, h []float32, y []float64, rows, kp int) {
	if rows < 4 || rows&3 != 0 || kp < klPad || kp%klPad != 0 || len(w) < rows*kp || len(h) < kp || len(y) < rows {
		panic("separate: rowsDot32AVX2: bad dimensions")
	}
	rowsDot32AVX2(&w[0], &h[0], &y[0], rows, kp)
}

func rowsAxpy2x32AVX2Slices(w []float32, a, d []float64, num, den []float32, rows, kp int) {
	if rows < 4 || rows&3 != 0 || kp < klPad || kp%klPad != 0 || len(w) < rows*kp || len(a) < rows || len(d) < rows ||
		len(num) < kp || len(den) < kp {
		panic("separate: rowsAxpy2x32AVX2: bad dimensions")
	}
	rowsAxpy2x32AVX2(&w[0], &a[0], &d[0], &num[0], &den[0], rows, kp)
}

func addClear32AVX2Slices(y []float64, x []float32) {
	if len(x)%8 != 0 || len(y) < len(x) {
		panic("separate: addClear32AVX2: bad dimensions")
	}
	if len(x) > 0 {
		addClear32AVX2(&y[0], &x[0], len(x))
	}
}

// b05Panels32AVX2 is b05Panels32Go with fused multiply-adds, four panels at
// a time (avx2_amd64.s).
//
//go:noescape
func b05Panels32AVX2(w, h, v, accN, accD *float32, panels, kq int)

func b05Panels32AVX2Slices(w, h, v, accN, accD []float32, panels, kq int) {
	if panels < 1 || kq < 4 || kq&3 != 0 || len(w) < panels*kq*klPanelRows || len(h) < kq ||
		len(v) < panels*klPanelRows || len(accN) < kq*klPanelRows || len(accD) < kq*klPanelRows {
		panic("separate: b05Panels32AVX2: bad dimensions")
	}
	b05Panels32AVX2(&w[0], &h[0], &v[0], &accN[0], &accD[0], panels, kq)
}

// adaptPanelsAVX2 is adaptPanelsAVX512 in four float64 lanes
// (avx2_amd64.s).
//
//go:noescape
func adaptPanelsAVX2(w *float32, st *float64, rq *float32, v, hi, y, cs *float64, start *int, ns, panels, kq, f int, rho, lam float64)

func adaptPanelsAVX2Slices(w []float32, st []float64, rq []float32, v, hi, y, cs []float64, start []int, panels, kq, f int, rho, lam float64) {
	q := adaptPanelsCheck(w, st, rq, v, hi, y, cs, start, panels, kq, f)
	adaptPanelsAVX2(&w[0], &st[0], q, &v[0], &hi[0], &y[0], &cs[0], &start[0], len(start)-1, panels, kq, f, rho, lam)
}
