package separate

// The fused Kullback-Leibler pass. One update of h for beta = 1 needs
// num = W^T (v / W h): two products with W. Done as two Gemv calls, W
// (F x K, 262 KB at F 513, K 64) streams through the cache twice per
// iteration and the ratio v / W h goes through memory in between. klRows
// makes one pass instead: for a row W_f it takes (W h)_f = W_f . h, the
// ratio r_f = v_f / (W h)_f, and adds r_f W_f to num while the row is still
// in L1; rows where v_f = 0 add nothing and are skipped. The rows are those
// of the kernel's padded copy of W, whose stride kp is K rounded up to a
// multiple of klPad (the padding columns are zero, as are h's and num's), so
// the loops need no tails.
//
// klRowsAsm, where the CPU has it (AVX-512 on amd64, see klrows_amd64.go),
// takes rows four at a time with eight float64 lanes; the pure-Go klRowsGo
// does the rest, and everything on other machines or with -tags purego. The
// two sum in different orders, so they agree to rounding:
// TestKLRowsAsmMatchesGo bounds the difference by 1e-13 relative.

// klPad is the multiple to which the kernel pads K: two AVX-512 registers of
// float64.
const klPad = 16

// klRowsAsm is klRowsGo for a multiple of 4 rows in assembly, or nil where
// the CPU lacks what it needs (set by an init function; tests set it to nil
// to run the pure-Go path).
var klRowsAsm func(w, h, v, num []float64, rows, kp int)

// klRows adds r_f W_f to num for f < rows, with r_f = v_f / (W_f . h) and a
// zero W_f . h replaced by epsilon, as kernel.step does for beta = 1. w is
// rows x kp row-major, kp a multiple of klPad; h and num have length kp. It
// allocates nothing.
func klRows(w, h, v, num []float64, rows, kp int) {
	n := 0
	if klRowsAsm != nil {
		n = rows &^ 3
		if n > 0 {
			klRowsAsm(w, h, v, num, n, kp)
		}
	}
	klRowsGo(w[n*kp:], h, v[n:rows], num, rows-n, kp)
}

// klRowsGo is the portable klRows, unrolled by four with the bounds checks
// hoisted out of the inner loops.
func klRowsGo(w, h, v, num []float64, rows, kp int) {
	h = h[:kp]
	num = num[:kp]
	for f, vf := range v[:rows] {
		if vf == 0 {
			continue
		}
		row := w[f*kp : f*kp+kp]
		s := dot4(row, h)
		if s == 0 {
			s = epsilon
		}
		q := vf / s
		for j := 0; j+4 <= len(row); j += 4 {
			r, n := row[j:j+4:j+4], num[j:j+4:j+4]
			n[0] += q * r[0]
			n[1] += q * r[1]
			n[2] += q * r[2]
			n[3] += q * r[3]
		}
	}
}

// The general beta (not 1 or 2) needs W h, then per bin two terms (betaTerms),
// then two products with W^T. rowsDot and rowsAxpy2 make that two passes over
// the padded W instead of three Gemv calls, in assembly where klRows has it.
var (
	rowsDotAsm   func(w, h, y []float64, rows, kp int)
	rowsAxpy2Asm func(w, a, d, num, den []float64, rows, kp int)
)

// rowsDot sets y_f = W_f . h for f < rows (w rows x kp, h of length kp). It
// allocates nothing.
func rowsDot(w, h, y []float64, rows, kp int) {
	n := 0
	// On a CPU with AVX2 and no AVX-512, rowsDotAsm is in AVX2 and goes
	// with the float32 passes (asm32); klRowsAsm is then nil.
	if rowsDotAsm != nil && (klRowsAsm != nil || asm32) {
		n = rows &^ 3
		if n > 0 {
			rowsDotAsm(w, h, y, n, kp)
		}
	}
	rowsDotGo(w[n*kp:], h, y[n:rows], rows-n, kp)
}

func rowsDotGo(w, h, y []float64, rows, kp int) {
	h = h[:kp]
	for f := range y[:rows] {
		y[f] = dot4(w[f*kp:f*kp+kp], h)
	}
}

// dot4 returns row . h over len(row) (a multiple of 4, at most len(h)), in
// four partial sums added pairwise.
func dot4(row, h []float64) float64 {
	h = h[:len(row)]
	var s0, s1, s2, s3 float64
	for j := 0; j+4 <= len(row); j += 4 {
		r, x := row[j:j+4:j+4], h[j:j+4:j+4]
		s0 += r[0] * x[0]
		s1 += r[1] * x[1]
		s2 += r[2] * x[2]
		s3 += r[3] * x[3]
	}
	return (s0 + s1) + (s2 + s3)
}

// rowsAxpy2 adds a_f W_f to num and d_f W_f to den for f < rows (num and
// den of length kp). It allocates nothing.
func rowsAxpy2(w, a, d, num, den []float64, rows, kp int) {
	n := 0
	if rowsAxpy2Asm != nil && klRowsAsm != nil {
		n = rows &^ 3
		if n > 0 {
			rowsAxpy2Asm(w, a, d, num, den, n, kp)
		}
	}
	rowsAxpy2Go(w[n*kp:], a[n:rows], d[n:rows], num, den, rows-n, kp)
}

func rowsAxpy2Go(w, a, d, num, den []float64, rows, kp int) {
	num, den = num[:kp], den[:kp]
	for f, af := range a[:rows] {
		df := d[f]
		row := w[f*kp : f*kp+kp]
		for j := 0; j+4 <= len(row); j += 4 {
			r, n, e := row[j:j+4:j+4], num[j:j+4:j+4], den[j:j+4:j+4]
			n[0] += af * r[0]
			n[1] += af * r[1]
			n[2] += af * r[2]
			n[3] += af * r[3]
			e[0] += df * r[0]
			e[1] += df * r[1]
			e[2] += df * r[2]
			e[3] += df * r[3]
		}
	}
}
