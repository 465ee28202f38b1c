package separate

// The general beta's passes of klrows.go (rowsDot, rowsAxpy2) with W stored
// as float32, row by row. They read half the bytes of the float64 passes and
// do twice the lanes per instruction; the Separator uses them (the batch
// solver keeps float64, for its agreement with scikit-learn). Its beta-1
// pass and its masks read W in float32 panels instead (klpanels32.go). Row
// by row, the fused KL pass took 2.7 us and 8.5 us at fft 1024, K 64 and
// fft 2048, K 128, against 3.5 us and 15 us in float64 (BenchmarkKLRows,
// commit d6470c2).
//
// What stays float64: v, h between iterations, the terms a_f and d_f, the
// reduction of the 16 float32 lanes of each dot product, and num and den:
// the float32 sums of at most klBlock rows are added into the float64 num
// and den block by block, so that no float32 sum runs over more than
// klBlock terms. Two ways of keeping more in float64 were measured on the
// KL pass and are slower than the float64 pass (VCVTPS2PD costs two of the
// ports the FMAs need): every element widened to float64, 0.59x and 0.80x
// the float64 pass's speed at fft 1024, K 64 and 2048, 128; float32 dots
// with W^T r widened, 0.76x and 1.06x (commit "separate: measure three
// float32 storages").
//
// Error, with u = 2^-24 (float32 rounding) and every term positive (W, h,
// v >= 0): W_f and h are rounded (2u), a dot product sums K/16 products per
// lane (asm) or K/4 (pure Go) in float32 (K/4 u at most), a_f and d_f are
// rounded to float32 (u), each product a_f W_fk (u), and a block sums at
// most klBlock of them (klBlock u). So num and den are within
// (K/4 + klBlock + 4) u of the float64 passes, relative, element by element
// (TestKLRows32Bound checks it; measured: 1.7 u at most).

// klBlock is the most rows whose float32 sums are added before they go into
// the float64 num.
const klBlock = 64

// The assembly passes (klrows32_amd64.s for AVX-512, avx2_amd64.s for AVX2
// and FMA), or nil; unused while asm32 is false.
var (
	rowsDot32Asm    func(w, h []float32, y []float64, rows, kp int)
	rowsAxpy2x32Asm func(w []float32, a, d []float64, num, den []float32, rows, kp int)
)

// addClear32Asm is addClear32 in assembly for len(x) a multiple of 16, or nil.
var addClear32Asm func(y []float64, x []float32)

// addClear32 adds x into y, element by element, in float64, and sets x to
// zero. It allocates nothing.
func addClear32(y []float64, x []float32) {
	if addClear32Asm != nil && asm32 && len(x)%16 == 0 {
		addClear32Asm(y, x)
		return
	}
	y = y[:len(x)]
	for j, a := range x {
		y[j] += float64(a)
	}
	clear(x)
}

// dot32 returns row . h over len(row) (a multiple of 4, at most len(h)) in
// four float32 partial sums, added in float64.
func dot32(row, h []float32) float64 {
	h = h[:len(row)]
	var s0, s1, s2, s3 float32
	for j := 0; j+4 <= len(row); j += 4 {
		r, x := row[j:j+4:j+4], h[j:j+4:j+4]
		s0 += r[0] * x[0]
		s1 += r[1] * x[1]
		s2 += r[2] * x[2]
		s3 += r[3] * x[3]
	}
	return (float64(s0) + float64(s1)) + (float64(s2) + float64(s3))
}

// rowsDot32 is rowsDot with W and h in float32. It allocates nothing.
func rowsDot32(w, h []float32, y []float64, rows, kp int) {
	n := 0
	if rowsDot32Asm != nil && asm32 {
		n = rows &^ 3
		if n > 0 {
			rowsDot32Asm(w, h, y, n, kp)
		}
	}
	h = h[:kp]
	for f := n; f < rows; f++ {
		y[f] = dot32(w[f*kp:f*kp+kp], h)
	}
}

// rowsAxpy2x32 is rowsAxpy2 with W in float32, the sums of each block of
// klBlock rows taken in float32 (n32, d32: scratch of length kp) and added
// into num and den. It allocates nothing.
func rowsAxpy2x32(w []float32, a, d []float64, n32, d32 []float32, num, den []float64, rows, kp int) {
	clear(n32)
	clear(d32)
	for lo := 0; lo < rows; lo += klBlock {
		m := min(klBlock, rows-lo)
		n := 0
		if rowsAxpy2x32Asm != nil && asm32 {
			n = m &^ 3
			if n > 0 {
				rowsAxpy2x32Asm(w[lo*kp:], a[lo:lo+n], d[lo:lo+n], n32, d32, n, kp)
			}
		}
		rowsAxpy2x32Go(w[(lo+n)*kp:], a[lo+n:lo+m], d[lo+n:lo+m], n32, d32, m-n, kp)
		addClear32(num, n32)
		addClear32(den, d32)
	}
}

func rowsAxpy2x32Go(w []float32, a, d []float64, num, den []float32, rows, kp int) {
	num, den = num[:kp], den[:kp]
	for f, af64 := range a[:rows] {
		af, df := float32(af64), float32(d[f])
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
