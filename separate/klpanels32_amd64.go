//go:build !purego

package separate

func init() {
	if haveAVX512 {
		klPanels32Asm = klPanels32AVX512Slices
		panelDots32Asm = panelDots32AVX512Slices
		addLanes32Asm = addLanes32AVX512Slices
		klTail32Asm = klTail32AVX512Slices
		asm32 = true
	}
}

// klPanels32AVX512 is klPanels32Go (klpanels32_amd64.s).
//
//go:noescape
func klPanels32AVX512(w, h, v, acc *float32, panels, kq int)

// klPanels32OctAVX512 is klPanels32AVX512 for panels a multiple of 8,
// eight at a time, with two accumulators per panel for W h; for kq <=
// klOctMaxK (klpanels32_amd64.s).
//
//go:noescape
func klPanels32OctAVX512(w, h, v, acc *float32, panels, kq int)

// addLanes32AVX512 is addLanes32Go for 16 rows of acc at a time
// (klpanels32_amd64.s), the lanes added in float32.
//
//go:noescape
func addLanes32AVX512(num *float64, acc *float32, groups int)

// panelDots32AVX512 is panelDots32Go (klpanels32_amd64.s), with the
// columns in four float32 accumulators.
//
//go:noescape
func panelDots32AVX512(w, h *float32, y *float64, panels, kq, lo, hi int)

func klPanels32AVX512Slices(w, h, v, acc []float32, panels, kq int) {
	if panels < 1 || kq < 4 || kq&3 != 0 || len(w) < panels*kq*klPanelRows || len(h) < kq ||
		len(v) < panels*klPanelRows || len(acc) < kq*klPanelRows {
		panic("separate: klPanels32AVX512: bad dimensions")
	}
	n := 0
	if kq <= klOctMaxK {
		n = panels &^ 7
		if n > 0 {
			klPanels32OctAVX512(&w[0], &h[0], &v[0], &acc[0], n, kq)
		}
	}
	if n < panels {
		klPanels32AVX512(&w[n*kq*klPanelRows], &h[0], &v[n*klPanelRows], &acc[0], panels-n, kq)
	}
}

func addLanes32AVX512Slices(num []float64, acc []float32, kq int) {
	if kq < 1 || len(num) < kq || len(acc) < kq*klPanelRows {
		panic("separate: addLanes32AVX512: bad dimensions")
	}
	n := kq &^ 15
	if n > 0 {
		addLanes32AVX512(&num[0], &acc[0], n/16)
	}
	addLanes32Go(num[n:], acc[n*klPanelRows:], kq-n)
}

func panelDots32AVX512Slices(w, h []float32, y []float64, panels, kq, lo, hi int) {
	if panels < 1 || lo < 0 || hi <= lo || hi > kq || len(w) < panels*kq*klPanelRows || len(h) < hi ||
		len(y) < panels*klPanelRows {
		panic("separate: panelDots32AVX512: bad dimensions")
	}
	panelDots32AVX512(&w[0], &h[0], &y[0], panels, kq, lo, hi)
}

// klTail32AVX512 is klTail32Go (klpanels32_amd64.s), W_f . h in 16 float32
// lanes.
//
//go:noescape
func klTail32AVX512(w, h, v *float32, num *float64, rows, kt int)

func klTail32AVX512Slices(w, h, v []float32, num []float64, rows, kt int) {
	if rows < 1 || kt < 16 || kt&15 != 0 || len(w) < rows*kt || len(h) < kt || len(v) < rows || len(num) < kt {
		panic("separate: klTail32AVX512: bad dimensions")
	}
	klTail32AVX512(&w[0], &h[0], &v[0], &num[0], rows, kt)
}
