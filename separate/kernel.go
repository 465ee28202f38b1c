package separate

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// Clamps, as in scikit-learn 1.2.1 sklearn/decomposition/_nmf.py.
const (
	// epsilon replaces an exact zero in W h before a negative power and an
	// exact zero denominator: EPSILON = np.finfo(np.float32).eps.
	epsilon = 0x1p-23
	// float64Eps is np.finfo(np.float64).eps: for beta < 1 sklearn sets every
	// updated activation below it to zero, "necessary for stability".
	float64Eps = 0x1p-52
)

// kernel performs multiplicative beta-divergence updates of one activation
// vector h (len K) with W (F x K, row-major) fixed. SolveH and Separator share
// it, so that they compute exactly the same numbers. A kernel owns scratch
// buffers and is not safe for concurrent use; step allocates nothing.
type kernel struct {
	w     blas64.General // F x K
	beta  float64
	gamma float64 // exponent of the update ratio: 1/(2-beta) for beta < 1, else 1
	l1    float64 // added to the denominator

	// gammaH, when not 0, replaces gamma in step's update of h (the
	// Separator's Params.UpdateExponent); the free bases' update keeps gamma.
	gammaH float64

	direct bool      // beta == 2: den = W^T (W h) instead of (W^T W) h, for bases that change
	colDen []float64 // K: column sums of W + l1 (zero -> epsilon), for beta == 1

	// For beta != 2, the passes over W (klRows for beta 1, rowsDot and
	// rowsAxpy2 for others) work on a copy of W with its stride padded to
	// kp, a multiple of klPad, and zero padding columns; refresh keeps it in
	// step with W. hPad is h padded the same way, num is numPad[:K] and,
	// for beta not 1, den is denPad[:K].
	kp     int
	wPad   []float64 // F x kp
	hPad   []float64 // kp
	numPad []float64 // kp
	denPad []float64 // kp

	gramPad []float64 // K x kp: W^T W padded like wPad, for rowsDot; beta == 2 unless direct

	// With single (useSingle; the Separator's kernels for beta != 2), the
	// passes read W in float32: for beta 1 the panels pan, through
	// klPanels32 (klpanels32.go; v32 is v in float32, set by prepare, acc
	// its float32 scratch), for other betas
	// w32, wPad in float32, through rowsDot32 and rowsAxpy2x32
	// (klrows32.go; n32 and d32 their float32 scratch). h32 is h in float32.
	single        bool
	pan           *panels32
	v32, acc      []float32 // F, pan.kq x 16
	accD          []float32 // pan.kq x 16: beta 0.5's second block (b05panels32.go)
	w32           []float32 // F x kp
	h32, n32, d32 []float32 // kp

	wtv []float64 // K: W^T v, for beta == 2 (set by prepare)
	wh  []float64 // F scratch
	tmp []float64 // F scratch
	num []float64 // K scratch
	den []float64 // K scratch
}

// newKernel precomputes what the updates for beta need. w is F x K row-major
// with Stride == K; it is not copied and must not change, unless direct is
// set and refresh is called for the columns that changed. With direct, beta
// 2 computes W^T (W h) and builds no Gram matrix W^T W.
func newKernel(w blas64.General, beta, l1 float64, direct bool) *kernel {
	f, k := w.Rows, w.Cols
	kp := (k + klPad - 1) / klPad * klPad
	kn := &kernel{
		w: w, beta: beta, gamma: gammaFor(beta), l1: l1, direct: direct, kp: kp,
		wh: make([]float64, f), tmp: make([]float64, f), hPad: make([]float64, kp),
	}
	switch beta {
	case 2:
		kn.wtv = make([]float64, k)
		kn.num, kn.den = make([]float64, k), make([]float64, k)
		if !direct {
			kn.gramPad = make([]float64, k*kp)
			gram := blas64.General{Rows: k, Cols: k, Stride: kp, Data: kn.gramPad}
			blas64.Gemm(blas.Trans, blas.NoTrans, 1, w, w, 0, gram)
		}
		return kn
	case 1:
		kn.colDen = make([]float64, k)
		kn.den = make([]float64, k) // step uses colDen; den is scratch for the free bases (online.go)
	default:
		kn.denPad = make([]float64, kp)
		kn.den = kn.denPad[:k]
	}
	kn.wPad = make([]float64, f*kp)
	kn.numPad = make([]float64, kp)
	kn.num = kn.numPad[:k]
	kn.refresh(0, k, nil)
	return kn
}

// useSingle makes the passes over W read it stored as float32: for beta 1
// the panels pn of the same W (klpanels32.go), within
// (2 ceil(K/4) + min(ceil(F/16), 64) + 12) 2^-24 relative of the float64 pass
// per iteration, for beta 0.5 the same panels if pn is not nil
// (b05panels32.go), within (3 ceil(K/4) + min(ceil(F/16), 64) + 14)
// 2^-24, for other betas a row-major copy (klrows32.go), within
// (K/4 + 68) 2^-24. It does nothing for beta 2 (whose passes are over
// K x K) and allocates.
func (kn *kernel) useSingle(pn *panels32) {
	if kn.wPad == nil {
		return
	}
	kn.single = true
	kn.h32 = make([]float32, kn.kp)
	if kn.beta == 1 || (kn.beta == 0.5 && pn != nil) {
		kn.pan = pn
		kn.v32 = make([]float32, pn.f)
		kn.acc = make([]float32, pn.kq*klPanelRows)
		if kn.beta == 0.5 {
			kn.accD = make([]float32, pn.kq*klPanelRows)
		}
		return
	}
	kn.w32 = make([]float32, len(kn.wPad))
	kn.n32, kn.d32 = make([]float32, kn.kp), make([]float32, kn.kp)
	kn.refresh(0, kn.w.Cols, nil)
}

// refresh recomputes what the kernel derives from columns lo:hi of W, after
// they changed: their column sums + l1 and their part of the padded copy
// (beta 1) and, if v is not nil, their part of W^T v (beta 2; v is the
// frame given to prepare). The Gram matrix
// is not followed: a kernel whose columns change must be direct. It
// allocates nothing.
func (kn *kernel) refresh(lo, hi int, v []float64) {
	w := kn.w
	if kn.wPad != nil {
		for i := 0; i < w.Rows; i++ {
			copy(kn.wPad[i*kn.kp+lo:], w.Data[i*w.Stride+lo:i*w.Stride+hi])
		}
	}
	if kn.w32 != nil {
		for i := 0; i < w.Rows; i++ {
			for j, x := range w.Data[i*w.Stride+lo : i*w.Stride+hi] {
				kn.w32[i*kn.kp+lo+j] = float32(x)
			}
		}
	}
	switch kn.beta {
	case 1:
		cd := kn.colDen[lo:hi]
		clear(cd)
		for i := 0; i < w.Rows; i++ {
			for j, x := range w.Data[i*w.Stride+lo : i*w.Stride+hi] {
				cd[j] += x
			}
		}
		for j := range cd {
			cd[j] += kn.l1
			if cd[j] == 0 {
				cd[j] = epsilon
			}
		}
	case 2:
		if v != nil {
			wc := blas64.General{Rows: w.Rows, Cols: hi - lo, Stride: w.Stride, Data: w.Data[lo:]}
			blas64.Gemv(blas.Trans, 1, wc, vec(v), 0, vec(kn.wtv[lo:hi]))
		}
	}
}

// gammaFor is the exponent of the majorisation-minimisation update of
// Fevotte & Idier (2011), as sklearn uses it for beta in [0, 2].
func gammaFor(beta float64) float64 {
	if beta < 1 {
		return 1 / (2 - beta)
	}
	return 1
}

// prepare computes what stays constant over the iterations of one frame v.
func (kn *kernel) prepare(v []float64) {
	if kn.beta == 2 {
		blas64.Gemv(blas.Trans, 1, kn.w, vec(v), 0, vec(kn.wtv))
	}
	if kn.pan != nil {
		toFloat32(kn.v32, v)
	}
}

func vec(x []float64) blas64.Vector { return blas64.Vector{N: len(x), Data: x, Inc: 1} }

// step performs one multiplicative update of h in place for the frame v
// (prepare(v) must have been called) and returns max_k |h'_k - h_k| and
// max_k h'_k. An update that is not finite (only possible with NaN or Inf in
// v, or with overflow on absurd inputs) sets the activation to zero, where
// sklearn would propagate NaN.
func (kn *kernel) step(h, v []float64) (maxDelta, maxH float64) {
	num, den := kn.num, kn.den
	switch kn.beta {
	case 2:
		// num = W^T v (prepare), den = (W^T W) h: sklearn's XHt and W HHt.
		num = kn.wtv
		if kn.direct {
			blas64.Gemv(blas.NoTrans, 1, kn.w, vec(h), 0, vec(kn.wh))
			blas64.Gemv(blas.Trans, 1, kn.w, vec(kn.wh), 0, vec(den))
		} else {
			copy(kn.hPad, h)
			rowsDot(kn.gramPad, kn.hPad, den, kn.w.Cols, kn.kp)
		}
		for j := range den {
			den[j] += kn.l1
		}
	case 1:
		// num = W^T (v / Wh), den = column sums of W; one fused pass over
		// W (klPanels32 or klRows).
		clear(kn.numPad)
		switch {
		case kn.single:
			kn.toSingle(h)
			klPanels32(kn.pan, kn.h32, kn.v32, kn.acc, kn.numPad)
		case klRowsAsm == nil:
			kn.klGemv(h, v)
		default:
			copy(kn.hPad, h)
			klRows(kn.wPad, kn.hPad, v, kn.numPad, kn.w.Rows, kn.kp)
		}
		den = kn.colDen
	default:
		// num = W^T (v * (Wh)^(beta-2)), den = W^T (Wh)^(beta-1): two
		// passes over the padded W (rowsDot, rowsAxpy2).
		if kn.pan != nil { // beta 0.5: one pass over the panels (b05panels32.go)
			kn.toSingle(h)
			clear(kn.numPad)
			clear(kn.denPad)
			b05Panels32(kn.pan, kn.h32, kn.v32, kn.acc, kn.accD, kn.numPad, kn.denPad)
			for j := range den {
				den[j] += kn.l1
			}
			break
		}
		gemv := !kn.single && klRowsAsm == nil
		switch {
		case kn.single:
			kn.toSingle(h)
			rowsDot32(kn.w32, kn.h32, kn.wh, kn.w.Rows, kn.kp)
		case gemv:
			blas64.Gemv(blas.NoTrans, 1, kn.w, vec(h), 0, vec(kn.wh))
		default:
			copy(kn.hPad, h)
			rowsDot(kn.wPad, kn.hPad, kn.wh, kn.w.Rows, kn.kp)
		}
		betaTerms(kn.tmp, kn.wh, kn.wh, v, kn.beta)
		clear(kn.numPad)
		clear(kn.denPad)
		switch {
		case kn.single:
			rowsAxpy2x32(kn.w32, kn.tmp, kn.wh, kn.n32, kn.d32, kn.numPad, kn.denPad, kn.w.Rows, kn.kp)
		case gemv:
			blas64.Gemv(blas.Trans, 1, kn.w, vec(kn.tmp), 0, vec(num))
			blas64.Gemv(blas.Trans, 1, kn.w, vec(kn.wh), 0, vec(den))
		default:
			rowsAxpy2(kn.wPad, kn.tmp, kn.wh, kn.numPad, kn.denPad, kn.w.Rows, kn.kp)
		}
		for j := range den {
			den[j] += kn.l1
		}
	}
	g := kn.gamma
	if kn.gammaH != 0 {
		g = kn.gammaH
	}
	tiny := 0.0
	if kn.beta < 1 {
		tiny = float64Eps
	}
	if g == 1 {
		return mulUpdate(h, num, den, tiny)
	}
	n := 0
	if g == 2.0/3 && mulUpdateCbrtAsm != nil && asm32 {
		n = len(h) &^ 7
		if n > 0 {
			maxDelta, maxH = mulUpdateCbrtAsm(h[:n], num, den, tiny)
		}
	}
	d, m := powUpdateGo(h[n:], num[n:], den[n:], g, tiny)
	return max(maxDelta, d), max(maxH, m)
}

// mulUpdateCbrtAsm is powUpdateGo for gamma 2/3 (beta 0.5's
// majorisation-minimisation exponent) and len(h) a multiple of 8, in
// AVX-512 assembly (update_amd64.s: the cube root by a cubic fit and two
// Halley steps, within 2 ulps of math.Cbrt; TestMulUpdateCbrtAsm), or nil.
// In Go, math.Cbrt and the loop took a fifth of a beta-0.5 frame at
// fft 1024, K 64 (BenchmarkProcess).
var mulUpdateCbrtAsm func(h, num, den []float64, tiny float64) (maxDelta, maxH float64)

// powUpdateGo is step's update of h for gamma != 1: h_k *= (num_k /
// den_k)^g, a zero den_k replaced by epsilon, an update that is not finite
// or is below tiny by 0; it returns max_k |h'_k - h_k| and max_k h'_k.
func powUpdateGo(h, num, den []float64, g, tiny float64) (maxDelta, maxH float64) {
	num, den = num[:len(h)], den[:len(h)]
	for j, hj := range h {
		d := den[j]
		if d == 0 {
			d = epsilon
		}
		r := num[j] / d
		switch g {
		case 1:
		case 0.5:
			r = math.Sqrt(r)
		case 2.0 / 3: // beta 0.5; within an ulp or two of math.Pow
			r = math.Cbrt(r)
			r *= r
		default:
			r = math.Pow(r, g)
		}
		x := hj * r
		if !(x <= math.MaxFloat64) || x < tiny { // NaN or +Inf, or tiny
			x = 0
		}
		if dx := math.Abs(x - hj); dx > maxDelta {
			maxDelta = dx
		}
		if x > maxH {
			maxH = x
		}
		h[j] = x
	}
	return maxDelta, maxH
}

// klGemv sets num to W^T (v / W h) by two matrix-vector products in
// gonum's BLAS (whose dot and axpy loops are in SSE2 assembly on amd64):
// where klRows has no assembly, twice as fast as its Go loop (fft 1024,
// K 64: 20 against 41 us per pass on an AVX2 EPYC), at the cost of a
// second pass over W. The zero rules are klRows's: a bin with v = 0
// contributes nothing, a zero W h counts as epsilon. It allocates nothing.
func (kn *kernel) klGemv(h, v []float64) {
	wh := kn.wh
	blas64.Gemv(blas.NoTrans, 1, kn.w, vec(h), 0, vec(wh))
	for i, x := range v {
		switch {
		case x == 0:
			wh[i] = 0
		case wh[i] == 0:
			wh[i] = x / epsilon
		default:
			wh[i] = x / wh[i]
		}
	}
	blas64.Gemv(blas.Trans, 1, kn.w, vec(wh), 0, vec(kn.num))
}

// toSingle sets h32 to h rounded to float32 (the padding stays zero).
func (kn *kernel) toSingle(h []float64) { toFloat32(kn.h32, h) }

// toFloat32 sets dst[:len(src)] to src rounded to float32; the rest of dst
// (a padding) is left as it is.
func toFloat32(dst []float32, src []float64) {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = float32(x)
	}
}

// betaTerms sets, for a beta outside {1, 2}, num[i] = v[i] * y[i]^(beta-2)
// and den[i] = y[i]^(beta-1) with sklearn's clamps (y = 0 becomes EPSILON in
// the numerator, and in the denominator when beta < 1), where y = W h. num or
// den may be y itself: each y[i] is read before either is written. Shared by
// the Separator's per-frame update and Learn's block update; no allocation.
func betaTerms(num, den, y, v []float64, b float64) {
	for i, x := range y {
		xs := x
		if xs == 0 {
			xs = epsilon
		}
		xd := x
		if b < 1 && xd == 0 {
			xd = epsilon
		}
		switch b {
		case 0:
			// sklearn: WH **= -1; WH **= 2; WH *= X, and WH **= -1 below.
			r := 1 / xs
			num[i] = r * r * v[i]
			den[i] = 1 / xd
		case 0.5:
			// x^-0.5 through one square root and one division (xs == xd
			// for beta < 1), x^-1.5 as its cube: within a few ulps of
			// math.Pow, at a fraction of its cost.
			q := 1 / math.Sqrt(xs)
			num[i] = v[i] * (q * q * q)
			den[i] = q
		case 1.5:
			num[i] = v[i] / math.Sqrt(xs)
			den[i] = math.Sqrt(xd)
		default:
			num[i] = math.Pow(xs, b-2) * v[i]
			den[i] = math.Pow(xd, b-1)
		}
	}
}

// mulUpdateAsm is mulUpdateGo for len(h) a multiple of 8 in assembly
// (AVX-512, update_amd64.s; AVX2, avx2_amd64.s), or nil; unused while
// klRowsAsm is nil and asm32 false.
var mulUpdateAsm func(h, num, den []float64, tiny float64) (maxDelta, maxH float64)

// mulUpdate is step's update of h for gamma 1: h_k *= num_k / den_k, a zero
// den_k replaced by epsilon, an update that is not finite by 0 and one below
// tiny by 0 (tiny: float64Eps for beta < 1, sklearn's zeroing of tiny
// activations; 0 for beta >= 1, which zeroes nothing); it returns
// max_k |h'_k - h_k| and max_k h'_k. At K 64 and 10 iterations the scalar
// loop was 13 % of a frame's CPU (BenchmarkProcess). The assembly takes
// eight activations at a time with the same operations (a division, then a
// product), so both give the same bits (TestMulUpdateAsm). It allocates
// nothing.
func mulUpdate(h, num, den []float64, tiny float64) (maxDelta, maxH float64) {
	n := 0
	if mulUpdateAsm != nil && (klRowsAsm != nil || asm32) {
		n = len(h) &^ 7
		if n > 0 {
			maxDelta, maxH = mulUpdateAsm(h[:n], num, den, tiny)
		}
	}
	d, m := mulUpdateGo(h[n:], num[n:], den[n:], tiny)
	return max(maxDelta, d), max(maxH, m)
}

func mulUpdateGo(h, num, den []float64, tiny float64) (maxDelta, maxH float64) {
	num, den = num[:len(h)], den[:len(h)]
	for j, hj := range h {
		d := den[j]
		if d == 0 {
			d = epsilon
		}
		x := hj * (num[j] / d)
		if !(x <= math.MaxFloat64) || x < tiny { // NaN or +Inf, or tiny
			x = 0
		}
		if dx := math.Abs(x - hj); dx > maxDelta { // a NaN hj counts for nothing
			maxDelta = dx
		}
		maxH = max(maxH, x)
		h[j] = x
	}
	return maxDelta, maxH
}
