package separate

import "math"

// The beta-0.5 pass over W stored as float32 panels (klpanels32.go), which
// the Separator runs for Params.Beta 0.5 where it runs klPanels32 for beta 1.
// Row by row (klrows32.go) beta 0.5 took three passes per iteration: W h
// (rowsDot32), the terms in float64 (betaTerms, a square root and a division
// per bin) and the two products W^T a, W^T d (rowsAxpy2x32); a frame at
// fft 1024, K 64, 10 iterations cost 59 us against 16 us for beta 1
// (BenchmarkProcess). In panels it is one pass, as for beta 1: for a panel,
// (W h) of its 16 bins in four partial sums (columns k mod 4), then, in
// float32, 16 lanes at a time,
//
//	q = 1 / sqrt(W h)      (W h = 0 -> epsilon, as betaTerms)
//	a = (v / W h) * q      = v (W h)^-1.5, the numerator's term
//	d = q                  = (W h)^-0.5, the denominator's
//
// then accN_k += column k * a and accD_k += column k * d, lane by lane, the
// panel still in L1. The two float32 blocks of K x 16 lanes are reduced
// into the float64 num and den once every klPanelBlock panels
// (addLanes32). a is taken as (v / W h) q rather than v q^3 so that nothing
// overflows or underflows in float32 unless W h itself does: q^3 would
// for W h below 2^-84. A panel whose v are zero still adds its d: no panel
// is skipped. The tail rows (F mod 16, the Nyquist bin) are taken as
// klTail32Go takes them: W_f . h in float32, the terms and products in
// float64.
//
// Error, with u = 2^-24 and every term positive, to first order, against
// the float64 pass (rowsDot, betaTerms, rowsAxpy2): (W h)_f is within
// (c + 2) u with c = ceil(K/4), or 2 ceil(K/4) where the AVX-512 assembly
// takes the panels eight at a time with two partial sums (kq <= klOctMaxK,
// as klpanels32.go does). The square root halves a
// relative error and rounds (u), the reciprocal rounds (u): q within
// ((c + 2)/2 + 2) u; v / W h within (c + 2) u + 2u (v rounded, the
// division), a within (3(c + 2)/2 + 5) u. Each acc lane adds at most
// klPanelBlock terms (W_fk rounded, u; one rounding per panel), its 16
// lanes are added in four levels (4u; float64 in pure Go) and go into the
// float64 num and den (u). So num and den are within
// (3/2 c + min(P, klPanelBlock) + 14) u of the float64 pass, relative,
// element by element, P = ceil(F/16) (TestB05Panels32Bound; measured: 2u
// at most).

// b05OctMaxK is the largest kq for which the AVX-512 assembly takes panels
// eight at a time: klOctMaxK (a variable for BenchmarkB05Panels).
var b05OctMaxK = klOctMaxK

// b05Panels32Asm is the assembly of the pass over n panels (AVX-512,
// klpanels32_amd64.s; AVX2, avx2_amd64.s), or nil; unused while asm32 is
// false.
var b05Panels32Asm func(w, h, v, accN, accD []float32, panels, kq int)

// b05Panels32 adds W^T (v (W h)^-1.5) to num and W^T (W h)^-0.5 to den
// (both len >= kt) for the panels pn and their tail, with h (len >= kt,
// zero from K on) and v (len >= F) in float32; accN and accD (len >=
// kq*16) are float32 scratch that it leaves zero. It allocates nothing.
func b05Panels32(pn *panels32, h, v, accN, accD []float32, num, den []float64) {
	kq := pn.kq
	stride := kq * klPanelRows
	asm := b05Panels32Asm != nil && asm32
	for lo := 0; lo < pn.np; lo += klPanelBlock {
		n := min(klPanelBlock, pn.np-lo)
		w := pn.w[lo*stride:]
		vb := v[lo*klPanelRows:]
		if asm {
			b05Panels32Asm(w, h, vb, accN, accD, n, kq)
			addLanes32Asm(num, accN, kq)
			addLanes32Asm(den, accD, kq)
		} else {
			b05Panels32Go(w, h, vb, accN, accD, n, kq)
			addLanes32Go(num, accN, kq)
			addLanes32Go(den, accD, kq)
		}
	}
	if t := pn.f - pn.np*klPanelRows; t > 0 {
		b05Tail32Go(pn.tail, h, v[pn.np*klPanelRows:pn.f], num, den, t, pn.kt)
	}
}

// b05Tail32Go adds a_f W_f to num and d_f W_f to den for the rows of the
// tail (rows x kt): W_f . h in float32 (dot32), the terms (betaTerms's) and
// the products in float64.
func b05Tail32Go(w, h, v []float32, num, den []float64, rows, kt int) {
	num, den = num[:kt], den[:kt]
	for f, vf := range v[:rows] {
		row := w[f*kt : f*kt+kt]
		x := float64(float32(dot32(row, h)))
		if x == 0 {
			x = epsilon
		}
		q := 1 / math.Sqrt(x)
		a := float64(vf) * (q * q * q)
		for j, c := range row {
			num[j] += a * float64(c)
			den[j] += q * float64(c)
		}
	}
}

// b05Panels32Go is the portable pass over n panels, in the order of the
// assembly: four partial sums of W h, the terms, then accN_k += column k *
// a and accD_k += column k * d, panel after panel.
func b05Panels32Go(w, h, v, accN, accD []float32, n, kq int) {
	const m = klPanelRows
	h = h[:kq]
	accN, accD = accN[:kq*m], accD[:kq*m]
	var a, d [m]float32
	for p := range n {
		vp := v[p*m : p*m+m]
		pw := w[p*kq*m : (p+1)*kq*m]
		var s [4][m]float32
		panelWH32(&s, pw, h, kq)
		for i := range a {
			y := (s[0][i] + s[1][i]) + (s[2][i] + s[3][i])
			if y == 0 {
				y = epsilon
			}
			q := 1 / float32(math.Sqrt(float64(y))) // the float32 square root, correctly rounded
			a[i] = (vp[i] / y) * q
			d[i] = q
		}
		for k := range kq {
			c, an, ad := pw[k*m:k*m+m], accN[k*m:k*m+m], accD[k*m:k*m+m]
			for i := range an {
				an[i] += c[i] * a[i]
				ad[i] += c[i] * d[i]
			}
		}
	}
}
