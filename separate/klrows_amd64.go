//go:build !purego

package separate

import "golang.org/x/sys/cpu"

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasAVX512F {
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
