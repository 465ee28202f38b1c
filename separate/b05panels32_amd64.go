//go:build !purego

package separate

func init() {
	if haveAVX512 {
		b05Panels32Asm = b05Panels32AVX512Slices
	}
}

// b05Panels32AVX512 is b05Panels32Go (b05panels32_amd64.s).
//
//go:noescape
func b05Panels32AVX512(w, h, v, accN, accD *float32, panels, kq int)

func b05Panels32AVX512Slices(w, h, v, accN, accD []float32, panels, kq int) {
	if panels < 1 || kq < 4 || kq&3 != 0 || len(w) < panels*kq*klPanelRows || len(h) < kq ||
		len(v) < panels*klPanelRows || len(accN) < kq*klPanelRows || len(accD) < kq*klPanelRows {
		panic("separate: b05Panels32AVX512: bad dimensions")
	}
	n := 0
	if kq <= b05OctMaxK {
		n = panels &^ 7
		if n > 0 {
			b05Panels32OctAVX512(&w[0], &h[0], &v[0], &accN[0], &accD[0], n, kq)
		}
	}
	if n < panels {
		b05Panels32AVX512(&w[n*kq*klPanelRows], &h[0], &v[n*klPanelRows], &accN[0], &accD[0], panels-n, kq)
	}
}

// b05Panels32OctAVX512 is b05Panels32AVX512 for panels a multiple of 8,
// eight at a time, with two accumulators per panel for W h; for kq <=
// klOctMaxK (b05panels32_amd64.s).
//
//go:noescape
func b05Panels32OctAVX512(w, h, v, accN, accD *float32, panels, kq int)
