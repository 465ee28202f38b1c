// Package eval owns sepd's measurement of separation quality: how close
// separated signals are to the true sources they should be. It has BSS Eval
// v3 (SDR, SIR and SAR with a 512-tap distortion filter, as
// mir_eval.separation.bss_eval_sources computes them), the scale-invariant
// SDR (SISDR) and the plain, SNR-style SDR.
//
// # Why a package of its own
//
// Measuring a separation against references has nothing to do with running
// one (separate/) or with reading and writing audio (audio/): it needs the
// true sources, which a live run never has, and it works on whole signals
// at once instead of frame by frame, with a large FFT and a dense linear
// solve that would be out of place on the real-time path. Three users share
// it: `sepd eval` (separated files against reference files), `sepd demo`
// (scores the embedded demo's output) and the tests of the other packages
// (quality regressions). Keeping it apart keeps gonum's mat and large FFTs
// out of the engine and lets each user call it on plain [][]float64.
//
// # Place in the pipeline
//
// It sits beside the pipeline, after it:
//
//	input -> stft.Analyzer -> separate.Separator -> stft.Synthesizer -> outputs
//	                                                                      |
//	reference sources (files) --------------------+                       | estimates
//	                                              v                       v
//	                                      +--------------------------------------+
//	                                      | eval: BSSEvalSources, SISDR, SDR      |
//	                                      +--------------------------------------+
//	                                              |
//	                                              v
//	                          SDR / SIR / SAR per source (dB), best permutation
//
// # BSS Eval
//
// For an estimate e of reference source s_j among references s_1..s_n, BSS
// Eval splits e into orthogonal parts: the target P_j e (the projection of e
// onto the span of s_j delayed by 0..511 samples, so a short filter applied
// to the source is not counted as error), the interference P e - P_j e (P
// projects onto the span of every reference delayed by 0..511 samples) and
// the artifacts e - P e. Then
//
//	SDR = 10 log10(|P_j e|^2 / |e - P_j e|^2)
//	SIR = 10 log10(|P_j e|^2 / |P e - P_j e|^2)
//	SAR = 10 log10(|P e|^2   / |e - P e|^2)
//
// The projections are least-squares fits of 512-tap filters: the Gram matrix
// G of the delayed references and the correlations D of the estimate with
// them come from FFTs of the zero-padded signals (of length the next power
// of two of samples+511, as in mir_eval), and the filters solve G c = D. An
// Evaluator computes G and factorizes it once for a set of references; each
// estimate then costs one FFT and one inverse FFT per reference. The
// energies come from the filters through G (|P e|^2 = c'Gc and so on), not
// by filtering the signals: those with less than 1e-6 of the estimate's
// energy are recomputed exactly from the spectra, where the short formulas
// would lose digits.
//
// # Agreement with mir_eval
//
// On the golden fixtures (testdata/bsseval_golden.py: good and poor
// separations, swapped estimates with and without permutation, a reference
// 80 dB down, three sources, filtered estimates, scores near 90 dB, one
// source) every score agrees with mir_eval 0.7 to about 1e-9 dB. That
// holds while G is reasonably conditioned, as it is for recordings, which
// all have some broadband noise. For references whose delayed copies are
// nearly linearly dependent (pure tones, steeply low-passed signals,
// identical references), SDR still agrees, but mir_eval's own SIR and SAR
// move by several dB when its inputs change by 1e-15 relative: the split
// between interference and artifacts is then rounding noise, in mir_eval
// and here alike, and the two agree no better than mir_eval agrees with
// itself. An exactly perfect estimate scores above 150 dB (mir_eval: 250
// to 300 dB, also rounding noise).
//
// References:
//
//	E. Vincent, R. Gribonval and C. Fevotte, "Performance measurement in blind
//	audio source separation", IEEE Trans. ASLP 14(4), 1462-1469, 2006.
//	C. Raffel et al., "mir_eval: a transparent implementation of common MIR
//	metrics", ISMIR 2014 (mir_eval.separation, version 0.7).
//	J. Le Roux, S. Wisdom, H. Erdogan and J. R. Hershey, "SDR - half-baked or
//	well done?", ICASSP 2019 (SI-SDR).
package eval
