package separate

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// Params are the parameters of a Separator.
type Params struct {
	Beta       float64 // beta-divergence, any real value in [0, 2]: 0 Itakura-Saito, 1 Kullback-Leibler, 2 Euclidean
	Iterations int     // updates per frame, >= 1: the real-time budget
	Tolerance  float64 // stop a frame early when max_k |dh_k| <= Tolerance * max_k h_k; 0 = off
	Sparsity   float64 // L1 weight lambda >= 0 on h (in the units of the update denominator; see BatchParams.Sparsity)
	MaskPower  float64 // p > 0 of the masks: 1 ratio mask, 2 Wiener-like on power
	Floor      float64 // warm-start floor on h relative to max(h), in [0, 1)
	// UpdateExponent replaces gamma, the exponent of the activations'
	// update ratio (see Separator), when it is not 0: in (0, 1]. 0 keeps
	// Fevotte & Idier's majorisation-minimisation exponent, 1/(2-beta) for
	// beta < 1 and 1 otherwise, which is scikit-learn's. 1 is their
	// "heuristic" update, which for beta < 1 moves further per iteration
	// (its divergence is not proven to decrease, and in practice does);
	// for 1 <= beta <= 2 it is gamma already. The free bases' update keeps
	// the majorisation-minimisation exponent.
	UpdateExponent float64
	// Forget is the forgetting factor rho of the online update of free
	// bases and of adapted ones (see Separator), in [0, 1]: each frame's
	// statistics weigh rho times the previous frame's. 0 selects
	// DefaultForget. Unused without free bases or Adapt.
	Forget float64
	// Adapt, when > 0, lets every basis follow the mixture, pulled back to
	// the given bases with this weight c (see Separator, "Bases that follow
	// the mixture"): the larger, the closer they stay. 0 keeps the bases
	// fixed. Not with free bases.
	Adapt float64
}

// DefaultForget is the forgetting factor of free bases that DefaultParams
// sets and a zero Params.Forget selects: a frame's statistics count half
// after log(0.5)/log(0.99) = 69 frames, 1.1 s at hop 256 and 16 kHz. The
// measurement (see Separator) was flat from 0.95 to 1; 0.99 forgets a
// changed background within seconds and keeps enough frames to average
// over.
const DefaultForget = 0.99

// DefaultParams returns scikit-learn's algorithm, streamed: Kullback-Leibler
// (Beta 1) with its update, fixed bases, 10 iterations, no early stop, no
// sparsity, MaskPower 2 and a warm-start Floor of 0.03 (see Separator for the
// measurements behind it). Library users get this reference algorithm unless
// they ask for more. sepd's configuration (config.Default) defaults instead
// to the quality setting measured on the evaluation set: Beta 0.5,
// UpdateExponent 1, Adapt 5 (see "The update exponent" and "Bases that follow
// the mixture" below, and README "Quality"). It does not allocate.
func DefaultParams() Params {
	return Params{Beta: 1, Iterations: 10, MaskPower: 2, Floor: 0.03, Forget: DefaultForget}
}

func (p Params) validate() error {
	if err := checkSolver(p.Beta, p.Iterations, p.Tolerance, false); err != nil {
		return err
	}
	switch {
	case !(p.Sparsity >= 0) || math.IsInf(p.Sparsity, 1):
		return fmt.Errorf("separate: sparsity = %v: must be finite and >= 0", p.Sparsity)
	case !(p.MaskPower > 0) || math.IsInf(p.MaskPower, 1):
		return fmt.Errorf("separate: mask_power = %v: must be finite and > 0", p.MaskPower)
	case !(p.Floor >= 0 && p.Floor < 1):
		return fmt.Errorf("separate: floor = %v: must be in [0, 1)", p.Floor)
	case !(p.UpdateExponent >= 0 && p.UpdateExponent <= 1):
		return fmt.Errorf("separate: update_exponent = %v: must be in (0, 1], or 0 for 1/(2-beta) below beta 1 and 1 above", p.UpdateExponent)
	case !(p.Adapt >= 0) || math.IsInf(p.Adapt, 1):
		return fmt.Errorf("separate: adapt = %v: must be finite and >= 0 (0: fixed bases)", p.Adapt)
	case !(p.Forget >= 0 && p.Forget <= 1):
		return fmt.Errorf("separate: forget = %v: must be in [0, 1] (0 selects the default %v)", p.Forget, DefaultForget)
	}
	return nil
}

// checkSolver checks the parameters that the Separator, Learn and SolveH
// share, in this order: beta in [0, 2], iterations >= 1, tolerance >= 0 and,
// unless infTol, finite. SolveH passes infTol = true: it has always accepted
// a tolerance of +Inf (usually a stop at its first error check, after 10
// iterations); the Separator and Learn reject it.
func checkSolver(beta float64, iters int, tol float64, infTol bool) error {
	switch {
	case !(beta >= 0 && beta <= 2):
		return fmt.Errorf("separate: beta = %v: must be in [0, 2]", beta)
	case iters < 1:
		return fmt.Errorf("separate: iterations = %d: must be at least 1", iters)
	case infTol && !(tol >= 0):
		return fmt.Errorf("separate: tolerance = %v: must be >= 0 (0 turns the early stop off)", tol)
	case !infTol && (!(tol >= 0) || math.IsInf(tol, 1)):
		return fmt.Errorf("separate: tolerance = %v: must be finite and >= 0 (0 turns the early stop off)", tol)
	}
	return nil
}

// Separator projects magnitude spectra onto fixed bases, one frame at a
// time, and turns the projection into one soft mask per source.
//
// For a frame v (len F) it looks for activations h >= 0 (len K) with
// v ~ W h by Iterations multiplicative updates that decrease the
// beta-divergence D_beta(v | W h) plus lambda * sum(h):
//
//	h <- h * ( W^T[(Wh)^(beta-2) * v] / (W^T (Wh)^(beta-1) + lambda) )^gamma
//
//	gamma = 1/(2-beta) for beta < 1, 1 for 1 <= beta <= 2
//
// (or Params.UpdateExponent when it is set; see "The update exponent" below)
// with element-wise products and powers. The special cases cost less:
// beta = 2 uses numerator W^T v (once per frame) and denominator (W^T W) h
// (the Gram matrix is precomputed, so an iteration costs K^2 instead of
// 2 F K); beta = 1 uses the precomputed column sums of W as denominator
// and numerator W^T (v / Wh), both products in one fused pass over the rows
// of W (klRows: AVX-512 assembly where the CPU has it, pure Go elsewhere,
// equal to 1e-13); other values of beta take two passes (W h, then numerator and
// denominator together); beta = 0 and 0.5 avoid math.Pow. For beta != 2
// these passes read W stored as float32, half the bytes and twice the lanes:
// for beta 1 in panels of 16 bins (klpanels32.go; h and num stay float64),
// within (2 ceil(K/4) + min(ceil(F/16), 64) + 12) 2^-24 relative of float64
// per iteration, for beta 0.5 in the same panels, in one fused pass
// (b05panels32.go: W h, the terms in float32, W^T a and W^T d), within
// (3 ceil(K/4) + min(ceil(F/16), 64) + 14) 2^-24, for the others row by
// row (klrows32.go), within (K/4 + 68) 2^-24; the masks' W_s h_s come from
// the same panels. A
// Separator with free columns keeps W in float64. SolveH is all float64. As in scikit-learn
// 1.2.1, an exact zero in W h is replaced by float32 epsilon before a
// negative power, a zero denominator by float32 epsilon, and for beta < 1 an
// activation below float64 epsilon is set to zero.
//
// The masks are
//
//	M_s[f] = (W_s h_s)[f]^p / sum_j (W_j h_j)[f]^p
//
// computed relative to the largest term, so they neither overflow nor
// underflow; where every source is zero (silence) M_s[f] = 1/S. They always
// sum to 1 over the sources, are never NaN or Inf, and silence in gives
// silence out.
//
// Warm start: frame t starts from frame t-1's activations. Multiplicative
// updates never leave an exact zero, and a long stretch in which one source
// is absent drives its activations towards zero, from which a few updates
// cannot bring them back. So every activation is first raised to at least
// Floor * max(h). On the first frame, after Reset, and whenever the previous
// h is all zero (after digital silence), h starts from scikit-learn's
// constant sqrt(mean(v)/K).
//
// The floor was chosen by measurement (TestWarmStartMeasure:
// `go test ./separate -run WarmStartMeasure -v -args -measure`) on the
// committed fixture: espeak-ng speech plus fan noise, F = 257, K = 16 (12
// voice + 4 noise bases), its 200 frames in blocks of 20 at 0, -20, +12,
// -40, 0, -6, +20, -30, 0, -10 dB with 10 frames of digital silence twice.
// Mean excess divergence after N iterations over the converged one (2000
// cold iterations), in percent, over the non-silent frames:
//
//	                 cold  floor 0   1e-6   1e-3   1e-2   0.03   0.05   0.1
//	beta=1,   N=10   5.15    9.73    5.64   3.80   2.88   2.58   2.56   2.78
//	beta=2,   N=10   6.55   16.03    8.54   5.66   4.08   3.57   3.52   3.74
//	beta=0.5, N=10   9.54    9.73    7.23   4.98   4.16   3.96   3.99   4.44
//	beta=0,   N=10  15.94   10.89    9.67   6.82   5.96   5.87   6.07   6.86
//	beta=1,   N=20   1.37    8.59    3.09   1.55   1.02   0.88   0.86   0.90
//	beta=2,   N=20   1.78   14.78    4.98   2.33   1.39   1.14   1.11   1.16
//
// The voice mask's mean absolute error against the converged mask follows
// the same pattern (beta=1, N=10: cold 0.086, floor 0 0.077, 0.03 0.042).
// A warm start without a floor is worse than a cold start for beta >= 1;
// floors from 0.02 to 0.05 are best for every beta, hence 0.03. In the first
// 5 frames after a voice onset that follows 40 noise-only frames a cold start
// is still better (beta=1, N=10, mask error: cold 0.041, floor 0.03 0.064,
// floor 0 0.164). Only K = 16 was measured; a larger K may prefer a smaller
// floor.
//
// Rescaling the warm start to the new frame's level (h * c with the c that
// minimises D_beta(v | c W h), c = sum(v (Wh)^(beta-1)) / sum((Wh)^beta))
// changed no figure above: for 1 <= beta <= 2 (without sparsity) the update
// ratio is homogeneous of degree -1 in h, so the first update of c h equals
// the first update of h and the scale is forgotten at once; for beta < 1 a
// factor c survives N updates as c^((1-gamma)^N), an exponent of
// (1/3)^10 = 2e-5 at beta = 0.5. So the Separator does not rescale.
//
// # The update exponent
//
// For beta < 1 the exponent gamma = 1/(2-beta) makes every update decrease
// the divergence (Fevotte & Idier 2011) but shortens each step: at beta 0.5,
// gamma = 2/3. With a fixed budget of iterations per frame, Params.UpdateExponent
// = 1 (their heuristic update) gets further. Measured on the evaluation set
// (testdata/evalset: four scenarios, eight sources, K = 32 scikit-learn KL
// bases per source; `testdata/evalset/score.py`), SDR minus scikit-learn's
// converged KL batch solve with the same masks, in dB, mean and smallest over
// the sources, 10 iterations, mask power 2:
//
//	                                  validation        test
//	beta 1 (DefaultParams)          +0.22  -0.17    +0.16  -0.29
//	beta 0.5, gamma 2/3             +0.32  -0.52    +0.39  -0.56
//	beta 0.5, UpdateExponent 1      +0.42  -0.09    +0.49  -0.14
//
// A frame costs a little less than with gamma 2/3 (no cube root per
// activation): `sepd separate` on 120 s of 16 kHz audio, K 64, took 1.09 s of
// CPU against 1.18 s (0.80 s at beta 1). DefaultParams keeps 0 (scikit-learn's
// rule; at its beta 1, gamma is 1 already); sepd's configuration defaults to
// beta 0.5 with UpdateExponent 1 and Adapt 5 (below; config.Default).
//
// # Bases that follow the mixture
//
// With Params.Adapt = c > 0 every basis follows the mixture, pulled back to
// the given bases W0: after a frame's updates of h, with r = v / (W h),
//
//	A <- rho A + W o (r h^T)      B <- rho B + h      (rho: Params.Forget)
//	W <- (A + lambda W0) / (B + lambda),   lambda = c mean(B)
//
// the online multiplicative update of Lefevre, Bach & Fevotte (2011) with a
// prior towards W0: a basis used as much as the average one moves 1/(1+c)
// of the way from W0 to what the recent frames ask of it. The frame's masks
// use the updated bases. A recording's talker, piano or noise differs from
// the one the bases were learned on; the bases follow within seconds, and
// the prior keeps one source's bases from drifting onto the other's (at
// c 1 they did: speech_piano44 lost 1.7 dB). Measured on the evaluation set
// as above (testdata/evalset/README.md, candidate "adapt"; score.py with
// `--adapt C`), rho 0.99:
//
//	                                          validation        test
//	beta 0.5, UpdateExponent 1              +0.42  -0.09    +0.49  -0.14
//	beta 0.5, UpdateExponent 1, Adapt 5     +0.83  +0.26    +0.86  +0.18
//
// (Adapt 10 and 20: +0.76 and +0.64 on validation; with beta 1 it gains
// less, +0.50 at c 3 to 10.) The bases then change every frame. For beta 1
// and 0.5 (where the float32 passes run) they live in the float32 panels
// that the passes read, A and W0 in float64 beside each panel column, and
// one pass a frame (adaptpanels.go: AVX-512, AVX2, Go) takes W h in
// float64, updates A and W and sums the masks' W_s h_s (in float64) from
// the new W, within a few 2^-24 of the float64 update row by row
// (TestAdaptPanelsMatchRows: 1.8 2^-24 over 600 frames). For other betas
// the passes read them in float64 (beta 2) or in a float32 copy that
// follows them, the masks' W_s h_s is taken in float64, and an update
// costs three passes over W. Not with free bases. Beta 0.5, UpdateExponent
// 1, Adapt 5 is sepd's default configuration (config.Default), not
// DefaultParams'.
//
// # Reconstruction bases
//
// With Bases.Recon (W', F x K) the masks use W'_s h_s instead of W_s h_s:
//
//	M_s[f] = (W'_s h_s)[f]^p / sum_j (W'_j h_j)[f]^p
//
// while the activations still come from W. With Params.Adapt the masks use
// W'_s o (W_s / W0_s) (element-wise; W' where W0 is 0, where the adapted
// W stays 0), the adapted bases' relative change carried over to W'.
// LearnRecon fits W' on training mixtures of the sources so that the
// masked mixture matches each true source (`sepd learn-recon`); the masks
// are then discriminative while the projection is not (after Weninger, Le
// Roux, Hershey & Schuller 2014). Without Adapt the masks' products read
// W' in float32 panels as they read W (the same code, so W' = W gives the
// same masks bit for bit). With Adapt, the update of W sums
// (W'_s o (W_s / W0_s)) h_s while it has each new W_fk at hand, from a
// precomputed W' / W0 (in the panels' pass as (W qa + qb) h, qb = W' where
// W0 = 0, qa and qb rounded to float32), instead of the masks' product
// over W. Measured on the evaluation
// set as above (README, Quality; score.py `--recon`: W' learned from each
// scenario's fit material, 300 updates):
//
//	                                          validation        test
//	beta 0.5, UpdateExponent 1, Adapt 5     +0.83  +0.26    +0.86  +0.18
//	the same with reconstruction bases:
//	  magnitude targets, step 1/2           +1.58  +1.16    +1.28  +0.38
//	  phase-sensitive targets, step 1/2     +1.65  +1.35    +1.30  +0.44
//	  phase-sensitive targets, step 1       +1.69  +1.37    +1.33  +0.46
//
// (ReconData, ReconParams.Step; the last is learn-recon's default), the
// rows at step 1/2 equal, source by source, to the numpy prototype's
// (testdata/evalset, candidates.py best and psa). BenchmarkProcessRecon against BenchmarkProcessAdapt,
// cpu-us per frame with AVX-512: 28.5 -> 34.5 at fft 1024, K 64, 10
// iterations; 201 -> 238 at fft 2048, K 128, 20 iterations (before the
// adapted bases took the panels: 124 -> 142 and 622 -> 717); without Adapt
// the masks cost what they cost with W.
//
// # Free bases (semi-supervised NMF)
//
// A source may have free columns (Bases.Free): bases learned online, frame
// by frame, while every other column stays fixed, for a background no
// recording could be made of. The update is the online multiplicative
// algorithm of Lefevre, Bach & Fevotte (2011), written for any beta as
// scikit-learn's MiniBatchNMF writes it: per free basis k and bin f, running
// sufficient statistics with a forgetting factor rho (Params.Forget)
//
//	A_fk <- rho A_fk + v_f (Wh)_f^(beta-2) h_k W_fk^(1/gamma)
//	B_fk <- rho B_fk + (Wh)_f^(beta-1) h_k
//	W_fk <- (A_fk / B_fk)^gamma                     (unchanged while B_fk = 0)
//
// (beta = 1: v_f/(Wh)_f h_k W_fk over h_k; beta = 2: v_f h_k W_fk over
// (Wh)_f h_k), so W_free minimises the rho-weighted divergence of all the
// frames so far, each with the activations it had. A and B start at zero,
// so the first frame makes one plain multiplicative step. Unlike the
// published algorithm, which updates W once per frame after solving for h,
// the Separator updates W_free after each of the frame's Iterations updates
// of h, from the statistics of the past frames plus this frame's current
// terms, and adds this frame's terms to A and B for good only once, after
// the last update of h. After that, each free column is scaled to unit L1
// norm (bins sum to 1), its activation and B_k multiplied by the norm n_k and
// A_k by n_k^(1-1/gamma), which leaves W h and (A/B)^gamma = W unchanged. The
// masks of a frame use the bases before that final update. Frames with NaN
// or Inf teach nothing; digital silence gives h = 0, so only the forgetting
// acts. Free columns start from the values in Bases.W (LoadBases: seeded
// random, see BasesFile), scaled to unit L1 norm; a column that would become
// all zero starts again from there.
//
// Measured on the demo (cmd/sepd/demo: 8 s, speech at 0 dB SNR in a fan
// and mains hum; TestMeasureSemi in cmd/sepd, `go test ./cmd/sepd -run
// MeasureSemi -v -args -measure-semi`): the voice's bases from bases.npz,
// the noise's withheld and replaced by R free bases, beta 1, 10 iterations,
// floor 0.03. Voice SDR improvement over the mixture in dB (BSS Eval); the
// fully supervised one is 11.42:
//
//	rho         0.95   0.98   0.99   0.995  0.998  1
//	R = 8       7.29   7.30   7.31   7.30   7.28   7.28
//	R = 12      7.42   7.41   7.38   7.34   7.33   7.32
//	R = 16      7.41   7.48   7.43   7.39   7.37   7.36
//
// Updating W_free once per frame only, as published, gave 5.59 (R = 8) and
// 5.66 (R = 16) at rho = 0.99, and 6.32 / 6.51 at rho = 0.9; starting the
// free columns from the first frame's spectrum helped that variant (7.16 /
// 7.27) but assumes the input starts with the background alone, and added
// 0.1 dB at most to the one above. The cost per frame is one more W h
// (F K) per iteration and O(F R) for the update; with free bases, beta 2
// computes W^T (W h) instead of using W^T W (which would have to follow the
// free columns at F K R per update). BenchmarkProcessFree, fft 1024, K 64
// of which 32 free, 10 iterations, us per frame, fixed -> free: beta 1
// 147 -> 623, beta 2 29 -> 928 (fft 2048, K 128, 64 free, 20 iterations:
// 1461 -> 5114 and 179 -> 6196); 26 and 17 times real time at hop 256,
// 16 kHz.
//
// A Separator is not safe for concurrent use; Process allocates nothing.
//
// References:
//
//	Lee, D. D., & Seung, H. S. (2001). Algorithms for non-negative matrix
//	factorization. Advances in Neural Information Processing Systems 13.
//	Fevotte, C., & Idier, J. (2011). Algorithms for nonnegative matrix
//	factorization with the beta-divergence. Neural Computation, 23(9),
//	2421-2456.
//	Lefevre, A., Bach, F., & Fevotte, C. (2011). Online algorithms for
//	nonnegative matrix factorization with the Itakura-Saito divergence.
//	IEEE Workshop on Applications of Signal Processing to Audio and
//	Acoustics (WASPAA), 313-316.
//	Weninger, F., Le Roux, J., Hershey, J. R., & Schuller, B. (2014).
//	Discriminative NMF and its application to single-channel source
//	separation. Interspeech 2014, 865-869.
type Separator struct {
	p     Params
	f, k  int
	names []string
	start []int
	w     blas64.General // F x K copy of the bases; free columns change
	kn    *kernel

	h        []float64 // K: current activations; all zero before the first frame and after Reset
	lastIter int
	y        [][]float64 // S x F: W_s h_s

	pan *panels32 // W in float32 panels, without free columns: the masks' W_s h_s
	h32 []float32 // pan.kq: h in float32 for pan

	free []freeCols // the sources with free columns, in source order
	wh   []float64  // F: W h, for the free update

	ad *adaptive // bases that follow the mixture (Params.Adapt), or nil

	rc *reconBases // reconstruction bases for the masks (Bases.Recon), or nil
}

// NewSeparator returns a Separator for the bases b with parameters p. It
// copies what it needs from b, so the free bases it learns never change b.
// It returns an error naming the parameter if p is invalid, or if b is
// inconsistent (e.g. built by hand with a wrong Start, or with more free
// columns than a source has). It allocates.
func NewSeparator(b *Bases, p Params) (*Separator, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	if err := b.validate(); err != nil {
		return nil, err
	}
	f, k := b.F(), b.K()
	s := &Separator{
		p: p, f: f, k: k,
		names: append([]string(nil), b.Names...),
		start: append([]int(nil), b.Start...),
		w:     denseCopy(b.W),
		h:     make([]float64, k),
		y:     make([][]float64, b.NumSources()),
	}
	if s.p.Forget == 0 {
		s.p.Forget = DefaultForget
	}
	s.initFree(b)
	if p.Adapt > 0 {
		if len(s.free) > 0 {
			return nil, fmt.Errorf("separate: adapt = %v with free bases: the bases follow the mixture or some are free, not both", p.Adapt)
		}
		s.ad = newAdaptive(s.w, p.Adapt, adaptInPanels(p.Beta))
		s.wh = make([]float64, f)
	}
	// With free columns, W^T W would have to follow them at a cost of F K R
	// per update; W^T (W h) (direct) costs 2 F K per iteration.
	s.kn = newKernel(s.w, p.Beta, p.Sparsity, len(s.free) > 0 || s.ad != nil)
	// W in float32 panels for the beta-1 and beta-0.5 passes and the
	// masks (klpanels32.go, b05panels32.go), and row-major for the other
	// betas' passes (klrows32.go), unless columns are free: their online
	// update reads and changes W every frame, and costs more than the
	// passes (BenchmarkProcessFree). Bases that adapt change every frame
	// too: for beta 1 and 0.5 they live in the panels, which their update
	// changes in place and which give the masks' W_s h_s in the same pass
	// (adaptpanels.go); for other betas the row-major float32 copy follows
	// them (kernel.refresh) and the masks' W h is taken in float64.
	switch {
	case !singleFast && !forceSingle:
		// No assembly for the float32 passes (a CPU without AVX2 and FMA,
		// another architecture, the purego build): the float64 ones are
		// faster (kernel.klGemv).
	case len(s.free) == 0 && s.ad == nil:
		s.pan = newPanels32(s.w.Data, f, k, s.w.Stride)
		s.h32 = make([]float32, s.pan.kq)
		s.kn.useSingle(s.pan)
	case s.ad != nil && s.ad.rows():
		if p.Beta != 1 {
			s.kn.useSingle(nil)
		}
	case s.ad != nil:
		// Beta 1 and 0.5: W follows the mixture in the panels that the
		// passes read (adaptpanels.go).
		var rw []float64
		if b.Recon != nil {
			rw = denseCopy(b.Recon).Data
		}
		s.ad.pp = newAdaptPanels(s, s.w.Data, rw)
		s.kn.useSingle(s.ad.pp.pan)
	}
	for i := range s.y {
		if s.y[i] == nil {
			s.y[i] = make([]float64, f)
		}
	}
	if b.Recon != nil && (s.ad == nil || s.ad.pp == nil) {
		s.rc = newReconBases(b.Recon, s.w, s.pan != nil, s.ad != nil)
	}
	if p.UpdateExponent != 0 {
		s.kn.gammaH = p.UpdateExponent
	}
	return s, nil
}

// Process runs the warm-started projection of the magnitude frame v
// (len F, values >= 0) and writes the masks: masks[s][f] for every source s
// and bin f, summing to 1 over s; then, if there are free bases, it updates
// them with the frame (the masks are those of the bases before the update).
// It allocates nothing. It panics if
// len(v) != F, len(masks) != NumSources or a mask is not of length F.
// NaN or Inf in v give finite masks (the affected activations are reset).
func (s *Separator) Process(masks [][]float64, v []float64) {
	if len(v) != s.f {
		panic("separate: Process: len(v) != F")
	}
	if len(masks) != len(s.y) {
		panic("separate: Process: len(masks) != number of sources")
	}
	for _, m := range masks {
		if len(m) != s.f {
			panic("separate: Process: len(masks[s]) != F")
		}
	}
	s.startFrame(v)
	s.kn.prepare(v)
	learn := len(s.free) > 0 && finiteSum(v)
	n := 0
	tol := s.p.Tolerance
	var d, maxH float64
	for n < s.p.Iterations {
		d, maxH = s.kn.step(s.h, v)
		n++
		if n == s.p.Iterations || (tol > 0 && d <= tol*maxH) {
			break
		}
		if learn {
			s.freeStep(v, false)
		}
	}
	s.lastIter = n
	if s.ad != nil && adaptable(v) {
		s.adaptStep(v) // the masks are those of the bases after the frame's update
	}
	s.masks(masks, maxH)
	if learn {
		s.freeStep(v, true)
	}
}

// startFrame sets h to the starting point of the updates for v: cold when
// no previous activation is positive (the first frame, after Reset, after
// digital silence), else the previous h raised to the floor.
func (s *Separator) startFrame(v []float64) {
	h := s.h
	hmax := maxOf(h)
	if !(hmax > 0) {
		sum := 0.0
		for _, x := range v {
			sum += x
		}
		c := math.Sqrt(sum / float64(s.f) / float64(s.k))
		for j := range h {
			h[j] = c
		}
		return
	}
	fl := s.p.Floor * hmax
	for j, x := range h {
		if x < fl {
			h[j] = fl
		}
	}
}

// masks writes the masks of the current h. W_s h_s comes from the float32
// panels where h is in a range in which no product or sum of K of them can
// overflow or lose more than terms below 2^-66 of the largest activation in
// float32; otherwise (absurd levels: TestEdgeCases) from W in float64.
// hmax is max(h), which the last update returned. The range: every W_fk h_k
// and every partial sum of a row is at most hmax * rowSum <= 2^60, far
// below float32's largest, 2^128 (and y^2 is taken in float64); and with
// hmax >= 2^-60 an h_k that float32 rounds to a subnormal (below 2^-126) or
// to 0 is below 2^-66 hmax, so what it loses is a term far under the
// float32 rounding (2^-24) of the largest. TestMasksRangeBounds runs either
// side of both bounds.
func (s *Separator) masks(masks [][]float64, hmax float64) {
	h := s.h
	if s.ad != nil && s.ad.pp != nil {
		if !s.ad.pp.fresh { // the frame was not finite: the bases as they are
			s.ad.pp.masks(h)
		}
		s.ad.pp.fresh = false
	} else if s.rc != nil {
		s.masksRecon(hmax)
	} else if s.pan != nil && hmax >= 0x1p-60 && hmax*s.pan.rowSum <= 0x1p60 {
		toFloat32(s.h32, h)
		for src, y := range s.y {
			s.pan.dots(s.h32, y, s.start[src], s.start[src+1])
		}
	} else {
		s.masksGemv()
	}
	p := s.p.MaskPower
	lo := 0
	if p == 1 || p == 2 {
		lo = s.maskFast(masks, p == 2)
	}
	s.maskBins(masks, lo)
}

// masksGemv sets s.y to W_s h_s from W in float64.
func (s *Separator) masksGemv() {
	h := s.h
	for src, y := range s.y {
		a, b := s.start[src], s.start[src+1]
		ws := blas64.General{Rows: s.f, Cols: b - a, Stride: s.w.Stride, Data: s.w.Data[a:]}
		blas64.Gemv(blas.NoTrans, 1, ws, vec(h[a:b]), 0, vec(y))
	}
}

// maskFast writes the masks for p = 1 or 2 (square) directly as
// y_s^p / sum_j y_j^p, with one division per bin, where that sum lies in
// [2^-900, 2^900]: there no term overflows and the largest is far from
// underflow, so the masks equal maskBins' to rounding. It returns s.f if
// every bin was written, else the first bin maskBins must do (a sum out of
// range, zero, Inf or NaN is marked with 0 in the scratch). It allocates
// nothing.
func (s *Separator) maskFast(masks [][]float64, square bool) int {
	inv := s.kn.tmp[:s.f] // scratch between kernel steps
	clear(inv)
	for _, y := range s.y {
		powAdd(inv, y, square)
	}
	first := recipRange(inv)
	for i, y := range s.y {
		mulPow(masks[i][:len(inv)], y, inv, square)
	}
	if first < 0 {
		return s.f
	}
	return first
}

// The loops of maskFast in assembly for a length a multiple of 8
// (masks_amd64.s: eight bins at a time, the same operations, so the same
// bits; TestMaskLoopsAsm; avx2_amd64.s: four), or nil; unused while
// klRowsAsm is nil and asm32 false. In Go
// they took 8 % of a frame at fft 1024, K 64.
var (
	powAddAsm     func(dst, y []float64, square bool)
	recipRangeAsm func(inv []float64) int
	mulPowAsm     func(m, y, inv []float64, square bool)
)

// masksAsmLen is how much of n the assembly loops of maskFast take.
func masksAsmLen(n int) int {
	if powAddAsm == nil || (klRowsAsm == nil && !asm32) { // AVX-512, or AVX2 (asm32)
		return 0
	}
	return n &^ 7
}

// powAdd adds y[f]^2 (square) or y[f] to dst[f] for f < len(dst).
func powAdd(dst, y []float64, square bool) {
	n := masksAsmLen(len(dst))
	if n > 0 {
		powAddAsm(dst[:n], y, square)
	}
	y = y[:len(dst)]
	for f := n; f < len(dst); f++ {
		x := y[f]
		if square {
			x *= x
		}
		dst[f] += x
	}
}

// recipRange sets inv[f] to 1/inv[f] where inv[f] lies in [2^-900, 2^900],
// else to 0, and returns the first f out of that range, or -1.
func recipRange(inv []float64) int {
	first := -1
	n := masksAsmLen(len(inv))
	if n > 0 {
		first = recipRangeAsm(inv[:n])
	}
	for f := n; f < len(inv); f++ {
		if t := inv[f]; t >= 0x1p-900 && t <= 0x1p900 {
			inv[f] = 1 / t
		} else {
			inv[f] = 0
			if first < 0 {
				first = f
			}
		}
	}
	return first
}

// mulPow sets m[f] to y[f]^2 (square) or y[f], times inv[f], for f < len(m).
func mulPow(m, y, inv []float64, square bool) {
	n := masksAsmLen(len(m))
	if n > 0 {
		mulPowAsm(m[:n], y, inv, square)
	}
	y, inv = y[:len(m)], inv[:len(m)]
	for f := n; f < len(m); f++ {
		x := y[f]
		if square {
			x *= x
		}
		m[f] = x * inv[f]
	}
}

// maskBins writes the masks of the bins from lo on whose scratch mark is 0
// (all of them unless maskFast ran first), relative to the largest term so
// that nothing overflows or underflows, for any p.
func (s *Separator) maskBins(masks [][]float64, lo int) {
	p := s.p.MaskPower
	fast := p == 1 || p == 2
	ns := len(s.y)
	uniform := 1 / float64(ns)
	for f := lo; f < s.f; f++ {
		if fast && s.kn.tmp[f] != 0 {
			continue
		}
		ymax := 0.0
		for _, y := range s.y {
			if y[f] > ymax {
				ymax = y[f]
			}
		}
		if !(ymax > 0) || math.IsInf(ymax, 1) {
			for _, m := range masks {
				m[f] = uniform
			}
			continue
		}
		sum := 0.0
		for i, y := range s.y {
			r := y[f] / ymax // in [0, 1]; the largest is exactly 1
			switch p {
			case 1:
			case 2:
				r *= r
			default:
				r = math.Pow(r, p)
			}
			masks[i][f] = r
			sum += r
		}
		for _, m := range masks {
			m[f] /= sum
		}
	}
}

// Activations returns the activations h (len K) of the last frame, as a view
// that the next Process overwrites. It does not allocate.
func (s *Separator) Activations() []float64 { return s.h }

// LastIterations returns how many updates the last Process ran: Iterations,
// or fewer when the Tolerance stopped it early. It does not allocate.
func (s *Separator) LastIterations() int { return s.lastIter }

// Reset forgets the previous frame: the next Process starts cold, as on the
// first frame. It does not allocate.
func (s *Separator) Reset() {
	for j := range s.h {
		s.h[j] = 0
	}
	s.lastIter = 0
}

// ResetFree returns the free bases to their initial columns, and bases
// that follow the mixture (Params.Adapt) to the given ones, and forgets
// their statistics (Reset keeps what they learned). It does not allocate.
func (s *Separator) ResetFree() {
	if s.ad != nil {
		s.resetAdapt()
	}
	for i := range s.free {
		fc := &s.free[i]
		for c := 0; c < fc.hi-fc.lo; c++ {
			fc.restart(s, c)
		}
	}
	s.refreshFree(nil)
}

// forceSingle makes NewSeparator take the float32 passes even where they
// have no assembly (singleFast is false), for the tests of their Go code.
var forceSingle = false
