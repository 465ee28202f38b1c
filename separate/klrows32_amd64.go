//go:build !purego

package separate

func init() {
	if haveAVX512 {
		rowsDot32Asm = rowsDot32AVX512Slices
		rowsAxpy2x32Asm = rowsAxpy2x32AVX512Slices
		addClear32Asm = addClear32AVX512Slices
	}
}

// rowsDot32AVX512 is rowsDot32Go for rows a multiple of 4.
//
//go:noescape
func rowsDot32AVX512(w, h *float32, y *float64, rows, kp int)

// rowsAxpy2x32AVX512 is rowsAxpy2x32Go for rows a multiple of 4.
//
//go:noescape
func rowsAxpy2x32AVX512(w *float32, a, d *float64, num, den *float32, rows, kp int)

func rowsDot32AVX512Slices(w, h []float32, y []float64, rows, kp int) {
	if rows&3 != 0 || kp%klPad != 0 || len(w) < rows*kp || len(h) < kp || len(y) < rows {
		panic("separate: rowsDot32AVX512: bad dimensions")
	}
	rowsDot32AVX512(&w[0], &h[0], &y[0], rows, kp)
}

func rowsAxpy2x32AVX512Slices(w []float32, a, d []float64, num, den []float32, rows, kp int) {
	if rows&3 != 0 || kp%klPad != 0 || len(w) < rows*kp || len(a) < rows || len(d) < rows || len(num) < kp || len(den) < kp {
		panic("separate: rowsAxpy2x32AVX512: bad dimensions")
	}
	rowsAxpy2x32AVX512(&w[0], &a[0], &d[0], &num[0], &den[0], rows, kp)
}

// addClear32AVX512 is addClear32's loop for n a multiple of 16.
//
//go:noescape
func addClear32AVX512(y *float64, x *float32, n int)

func addClear32AVX512Slices(y []float64, x []float32) {
	if len(x)%16 != 0 || len(y) < len(x) {
		panic("separate: addClear32AVX512: bad dimensions")
	}
	if len(x) > 0 {
		addClear32AVX512(&y[0], &x[0], len(x))
	}
}
