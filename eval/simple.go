package eval

import "math"

// SISDR returns the scale-invariant signal-to-distortion ratio of est
// against ref, in dB (Le Roux et al. 2019):
//
//	alpha = <est, ref> / <ref, ref>
//	SISDR = 10 log10(|alpha ref|^2 / |alpha ref - est|^2)
//
// It ignores the estimate's gain, sign included, but, unlike BSS Eval,
// allows no filtering or delay. It is +Inf when est is exactly a multiple
// of ref, -Inf when est is all zeros, and NaN when ref is all zeros (the
// ratio is undefined) or a sample is NaN. SISDR allocates nothing; it
// panics if the lengths differ.
func SISDR(ref, est []float64) float64 {
	if len(ref) != len(est) {
		panic("eval: SISDR: ref and est lengths differ")
	}
	var re, rr float64
	for i, r := range ref {
		re += r * est[i]
		rr += r * r
	}
	if rr == 0 {
		return math.NaN()
	}
	alpha := re / rr
	var num, den float64
	for i, r := range ref {
		t := alpha * r
		num += t * t
		d := t - est[i]
		den += d * d
	}
	if num == 0 && den == 0 {
		// est is all zeros: nothing of ref was recovered.
		return math.Inf(-1)
	}
	return safeDB(num, den)
}

// SDR returns the plain, SNR-style signal-to-distortion ratio of est against
// ref, in dB:
//
//	SDR = 10 log10(sum ref^2 / sum (ref - est)^2)
//
// Any gain, sign, delay or filtering of est counts as distortion (BSS Eval's
// SDR, in Result, forgives a 512-tap filter). It is +Inf when est equals
// ref exactly (as mir_eval's convention for a zero error), -Inf when ref is
// all zeros and est is not. SDR allocates nothing; it panics if the lengths
// differ.
func SDR(ref, est []float64) float64 {
	if len(ref) != len(est) {
		panic("eval: SDR: ref and est lengths differ")
	}
	var num, den float64
	for i, r := range ref {
		num += r * r
		d := r - est[i]
		den += d * d
	}
	return safeDB(num, den)
}
