package separate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// Init selects how Learn initialises the factors.
type Init string

const (
	// InitNNDSVDa is scikit-learn's init='nndsvda': Nonnegative Double SVD
	// (Boutsidis & Gallopoulos 2008) with its zeros filled with mean(V). It
	// is deterministic: Learn takes the singular vectors from an exact
	// eigendecomposition of the smaller Gram matrix (V V^T or V^T V) where
	// scikit-learn uses a randomized SVD, so the two start from the same
	// point up to the randomized SVD's error (NNDSVD is invariant to the
	// signs of the singular vectors).
	InitNNDSVDa Init = "nndsvda"
	// InitRandom is scikit-learn's init='random' with our own generator:
	// every element sqrt(mean(V)/K) * |z|, z standard normal from a PCG
	// generator seeded with LearnParams.Seed (math/rand/v2), bases first
	// (basis by basis, bin by bin), then activations (frame by frame). The
	// same seed gives the same numbers on every platform.
	InitRandom Init = "random"
)

// ParseInit returns the Init named s ("nndsvda" or "random"), or an error
// listing both. It does not allocate on success.
func ParseInit(s string) (Init, error) {
	switch Init(s) {
	case InitNNDSVDa, InitRandom:
		return Init(s), nil
	}
	return "", fmt.Errorf("separate: init %q: want nndsvda or random", s)
}

// LearnParams are the parameters of Learn.
type LearnParams struct {
	// Components is the number of bases K, 1 <= K <= T (and K <= F for
	// InitNNDSVDa).
	Components int
	// Beta is the beta-divergence, any real value in [0, 2].
	Beta float64
	// Iterations is the number of updates of W and H (sklearn's max_iter), >= 1.
	Iterations int
	// Tolerance stops early as sklearn's tol does: every 10 iterations,
	// stop when (previous error - error) / initial error < Tolerance, the
	// error being sqrt(2 * divergence). 0 runs every iteration.
	Tolerance float64
	// Init is InitNNDSVDa (the default when empty) or InitRandom.
	Init Init
	// Seed seeds InitRandom; InitNNDSVDa uses no randomness.
	Seed uint64
	// Progress, if set, is called after every iteration with the number of
	// iterations done and the latest divergence D_beta(V | W H): the
	// initial one until iteration 10, then the one measured every 10
	// iterations, and the final one on the last call.
	Progress func(iteration int, divergence float64)
}

// LearnResult is what Learn found.
type LearnResult struct {
	// W (F x K) holds the bases, at the scale the updates left them (as
	// scikit-learn's components_, transposed); a basis that ended all zero
	// is replaced by a flat one, every bin 1/F, with zero activations.
	W *mat.Dense
	// H (K x T) holds the activations.
	H *mat.Dense
	// Iterations is the number of iterations run (Iterations, or fewer
	// when Tolerance stopped early).
	Iterations int
	// InitialDivergence and Divergence are D_beta(V | W H) at the start and
	// at the end, computed as BetaDivergence does.
	InitialDivergence, Divergence float64
	// Dead is the number of bases that ended all zero (their activations
	// never mattered): Learn replaces each by a flat column (1/F in every
	// bin) with zero activations, so W H is unchanged and W stays valid
	// bases for NewBases.
	Dead int
}

// learnBlockBytes bounds the F x Tb scratch blocks that Learn works through
// V in: about 1 MiB each, so they stay in the cache.
const learnBlockBytes = 1 << 20

// Learn factorises V (F x T, non-negative) as W H with W (F x K) and H
// (K x T) both non-negative, by the multiplicative updates of
// scikit-learn 1.2.1's _fit_multiplicative_update, i.e. what
//
//	NMF(n_components=K, init='nndsvda' or 'random', solver='mu',
//	    beta_loss=Beta, max_iter=Iterations, tol=Tolerance).fit(V.T)
//
// does (its components_ is our W transposed, its transform our H
// transposed). Every iteration first updates the activations with W fixed,
// then the bases with the new H fixed (element-wise products, quotients
// and powers):
//
//	H <- H * ( W^T[(WH)^(beta-2) * V] / W^T (WH)^(beta-1) )^gamma
//	W <- W * ( [(WH)^(beta-2) * V] H^T / (WH)^(beta-1) H^T )^gamma
//
// with gamma = 1/(2-beta) for beta < 1 and 1 otherwise, and sklearn's
// special cases and clamps: beta = 2 uses W^T V / (W^T W) H and
// V H^T / W (H H^T); beta = 1 uses the column sums of W and the row sums of
// H as denominators (a zero row sum of H becomes 1); a zero in W H is
// replaced by float32 epsilon before a negative power, a zero denominator by
// float32 epsilon; activations below float64 epsilon are zeroed for
// beta < 1, bases for beta <= 1. W and H keep the scale the updates leave
// them at, as scikit-learn's components_ do: the streaming projection's
// floor and its adaptation prior are not invariant to the scale of each
// basis, and on sepd's evaluation set bases at this scale separate better
// than the same bases scaled to unit L1 norm (README "Learning bases").
//
// Memory: Learn keeps V as it is given (it never copies it) and works
// through it in blocks of Tb frames, Tb*F*8 bytes about 1 MiB. Besides V it
// allocates, in float64s,
//
//	K*T (H) + 2*F*Tb (W H of one block, and a second ratio for beta
//	outside {1, 2}) + 2*K*Tb + 3*F*K + K*K, and while initialising with
//	NNDSVDa about 4*min(F, T)^2 (the smaller Gram matrix, the eigensolver's
//	copy and eigenvectors, and the copy Learn reads them from; garbage
//	before the iterations start)
//
// so the peak is about 8*(F*T + K*T + 4*F^2) bytes for long inputs, and V
// itself is the only F x T matrix. Measured with `sepd learn` (which adds
// about 22 MB of process baseline): 120 s of 16 kHz audio, F = 513,
// T = 7503, K = 32: 64 MB peak RSS for V's 31 MB.
//
// Learn returns an error naming the parameter if p is invalid or V has a
// negative, NaN or infinite element, or is all zero, and ctx's error
// (wrapped) if ctx is done before the last iteration; it checks ctx after
// every iteration. It does not modify V and does not panic; it allocates
// as said above.
//
// References:
//
//	Lee, D. D., & Seung, H. S. (2001). Algorithms for non-negative matrix
//	factorization. Advances in Neural Information Processing Systems 13.
//	Fevotte, C., & Idier, J. (2011). Algorithms for nonnegative matrix
//	factorization with the beta-divergence. Neural Computation, 23(9),
//	2421-2456.
//	Boutsidis, C., & Gallopoulos, E. (2008). SVD based initialization: A
//	head start for nonnegative matrix factorization. Pattern Recognition,
//	41(4), 1350-1362.
func Learn(ctx context.Context, V *mat.Dense, p LearnParams) (LearnResult, error) {
	if V == nil {
		return LearnResult{}, errors.New("separate: Learn: no spectrogram")
	}
	f, t := V.Dims()
	if p.Init == "" {
		p.Init = InitNNDSVDa
	}
	if err := p.validate(f, t); err != nil {
		return LearnResult{}, err
	}
	l := newLearner(V.RawMatrix(), p)
	if err := l.checkV(); err != nil {
		return LearnResult{}, err
	}
	switch p.Init {
	case InitNNDSVDa:
		l.initNNDSVDa()
	case InitRandom:
		l.initRandom(p.Seed)
	}
	res := LearnResult{}
	res.InitialDivergence = l.divergence()
	div := res.InitialDivergence
	errInit := math.Sqrt(2 * math.Max(div, 0))
	errPrev := errInit
	n := 0
	for n < p.Iterations {
		if err := ctx.Err(); err != nil {
			return LearnResult{}, fmt.Errorf("separate: Learn stopped after %d of %d iterations: %w", n, p.Iterations, err)
		}
		l.updateH()
		l.updateW()
		n++
		if n%10 == 0 && (p.Tolerance > 0 || p.Progress != nil) && n < p.Iterations {
			div = l.divergence()
			if p.Tolerance > 0 {
				e := math.Sqrt(2 * math.Max(div, 0))
				if (errPrev-e)/errInit < p.Tolerance {
					break
				}
				errPrev = e
			}
		}
		if p.Progress != nil && n < p.Iterations {
			p.Progress(n, div)
		}
	}
	res.Dead = l.replaceDead()
	res.Divergence = l.divergence()
	res.Iterations = n
	if p.Progress != nil {
		p.Progress(n, res.Divergence)
	}
	res.W = mat.NewDense(f, p.Components, l.w.Data)
	res.H = mat.NewDense(p.Components, t, l.h.Data)
	return res, nil
}

func (p LearnParams) validate(f, t int) error {
	k := p.Components
	switch {
	case k < 1:
		return fmt.Errorf("separate: components = %d: must be at least 1", k)
	case t < 1 || f < 1:
		return fmt.Errorf("separate: empty spectrogram (%d bins x %d frames)", f, t)
	case k > t:
		return fmt.Errorf("separate: components = %d: larger than the %d frames to learn from", k, t)
	case p.Init == InitNNDSVDa && k > f:
		return fmt.Errorf("separate: components = %d: init nndsvda needs at most F = %d (the frequency bins); use init random", k, f)
	}
	if err := checkSolver(p.Beta, p.Iterations, p.Tolerance, false); err != nil {
		return err
	}
	if p.Init != InitNNDSVDa && p.Init != InitRandom {
		return fmt.Errorf("separate: init %q: want nndsvda or random", p.Init)
	}
	return nil
}

// learner holds the factors and the scratch of Learn. The matrices are
// row-major: v F x T (any stride), w F x K, h K x T.
type learner struct {
	f, t, k int
	beta    float64
	gamma   float64
	v, w, h blas64.General
	tb      int       // frames per block
	y, y2   []float64 // F x tb: W H of a block, and a second ratio
	num     []float64 // K x tb
	den     []float64 // K x tb
	wnum    []float64 // F x K
	wden    []float64 // F x K
	g       []float64 // K x K: W^T W or H H^T (beta 2)
	ksum    []float64 // K: column sums of W or row sums of H (beta 1)
}

func newLearner(v blas64.General, p LearnParams) *learner {
	f, t, k := v.Rows, v.Cols, p.Components
	tb := max(16, learnBlockBytes/8/f)
	tb = min(tb, t)
	l := &learner{
		f: f, t: t, k: k, beta: p.Beta, gamma: gammaFor(p.Beta), v: v, tb: tb,
		w:    blas64.General{Rows: f, Cols: k, Stride: k, Data: make([]float64, f*k)},
		h:    blas64.General{Rows: k, Cols: t, Stride: t, Data: make([]float64, k*t)},
		y:    make([]float64, f*tb),
		num:  make([]float64, k*tb),
		den:  make([]float64, k*tb),
		wnum: make([]float64, f*k),
		wden: make([]float64, f*k),
		g:    make([]float64, k*k),
		ksum: make([]float64, k),
	}
	if p.Beta != 1 && p.Beta != 2 {
		l.y2 = make([]float64, f*tb)
	}
	return l
}

// checkV reports the first negative or non-finite element of V, and a V
// that is all zero.
func (l *learner) checkV() error {
	nonzero := false
	for i := 0; i < l.f; i++ {
		row := l.v.Data[i*l.v.Stride : i*l.v.Stride+l.t]
		for j, x := range row {
			switch {
			case math.IsNaN(x) || math.IsInf(x, 0):
				return fmt.Errorf("separate: Learn: V[%d, %d] (bin %d, frame %d) is %v", i, j, i, j, x)
			case x < 0:
				return fmt.Errorf("separate: Learn: V[%d, %d] (bin %d, frame %d) is negative (%g)", i, j, i, j, x)
			case x > 0:
				nonzero = true
			}
		}
	}
	if !nonzero {
		return errors.New("separate: Learn: the spectrogram is all zero (only digital silence)")
	}
	return nil
}

// mean returns mean(V).
func (l *learner) mean() float64 {
	s := 0.0
	for i := 0; i < l.f; i++ {
		for _, x := range l.v.Data[i*l.v.Stride : i*l.v.Stride+l.t] {
			s += x
		}
	}
	return s / float64(l.f) / float64(l.t)
}

// block returns the views of frames [t0, t0+n) of V and H and the scratch
// matrices for them.
func (l *learner) block(t0, n int) (vb, hb, y, y2, num, den blas64.General) {
	vb = blas64.General{Rows: l.f, Cols: n, Stride: l.v.Stride, Data: l.v.Data[t0:]}
	hb = blas64.General{Rows: l.k, Cols: n, Stride: l.h.Stride, Data: l.h.Data[t0:]}
	y = blas64.General{Rows: l.f, Cols: n, Stride: n, Data: l.y[:l.f*n]}
	if l.y2 != nil {
		y2 = blas64.General{Rows: l.f, Cols: n, Stride: n, Data: l.y2[:l.f*n]}
	}
	num = blas64.General{Rows: l.k, Cols: n, Stride: n, Data: l.num[:l.k*n]}
	den = blas64.General{Rows: l.k, Cols: n, Stride: n, Data: l.den[:l.k*n]}
	return
}

// ratios turns y = W H (one block) into the numerator ratio
// V * (WH)^(beta-2) in y and, for beta outside {1, 2}, the denominator
// ratio (WH)^(beta-1) in y2, with sklearn's clamps.
func (l *learner) ratios(vb, y, y2 blas64.General) {
	b := l.beta
	for i := 0; i < l.f; i++ {
		vr := vb.Data[i*vb.Stride : i*vb.Stride+vb.Cols]
		yr := y.Data[i*y.Stride : i*y.Stride+y.Cols]
		if b == 1 {
			for j, x := range yr {
				if x == 0 {
					x = epsilon
				}
				yr[j] = vr[j] / x
			}
			continue
		}
		y2r := y2.Data[i*y2.Stride : i*y2.Stride+y2.Cols]
		betaTerms(yr, y2r, yr, vr, b)
	}
}

// updateH is sklearn's _multiplicative_update_w (its W is our H^T).
func (l *learner) updateH() {
	k := l.k
	g := blas64.General{Rows: k, Cols: k, Stride: k, Data: l.g}
	switch l.beta {
	case 2:
		blas64.Gemm(blas.Trans, blas.NoTrans, 1, l.w, l.w, 0, g)
	case 1:
		clear(l.ksum)
		for i := 0; i < l.f; i++ {
			for j, x := range l.w.Data[i*k : i*k+k] {
				l.ksum[j] += x
			}
		}
	}
	for t0 := 0; t0 < l.t; t0 += l.tb {
		n := min(l.tb, l.t-t0)
		vb, hb, y, y2, num, den := l.block(t0, n)
		switch l.beta {
		case 2:
			blas64.Gemm(blas.Trans, blas.NoTrans, 1, l.w, vb, 0, num)
			blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, g, hb, 0, den)
		case 1:
			blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, l.w, hb, 0, y)
			l.ratios(vb, y, y2)
			blas64.Gemm(blas.Trans, blas.NoTrans, 1, l.w, y, 0, num)
			for j := 0; j < k; j++ {
				d := den.Data[j*n : j*n+n]
				for i := range d {
					d[i] = l.ksum[j]
				}
			}
		default:
			blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, l.w, hb, 0, y)
			l.ratios(vb, y, y2)
			blas64.Gemm(blas.Trans, blas.NoTrans, 1, l.w, y, 0, num)
			blas64.Gemm(blas.Trans, blas.NoTrans, 1, l.w, y2, 0, den)
		}
		zeroTiny := l.beta < 1
		for j := 0; j < k; j++ {
			hr := hb.Data[j*hb.Stride : j*hb.Stride+n]
			nr := num.Data[j*n : j*n+n]
			dr := den.Data[j*n : j*n+n]
			for i, x := range hr {
				x *= l.ratio(nr[i], dr[i])
				if zeroTiny && x < float64Eps {
					x = 0
				}
				hr[i] = x
			}
		}
	}
}

// ratio returns (num/den)^gamma with a zero den replaced by epsilon.
func (l *learner) ratio(num, den float64) float64 {
	if den == 0 {
		den = epsilon
	}
	r := num / den
	switch l.gamma {
	case 1:
		return r
	case 0.5:
		return math.Sqrt(r)
	}
	return math.Pow(r, l.gamma)
}

// updateW is sklearn's _multiplicative_update_h (its H is our W^T).
func (l *learner) updateW() {
	f, k := l.f, l.k
	wnum := blas64.General{Rows: f, Cols: k, Stride: k, Data: l.wnum}
	wden := blas64.General{Rows: f, Cols: k, Stride: k, Data: l.wden}
	g := blas64.General{Rows: k, Cols: k, Stride: k, Data: l.g}
	clear(l.wnum)
	clear(l.wden)
	clear(l.g)
	clear(l.ksum)
	for t0 := 0; t0 < l.t; t0 += l.tb {
		n := min(l.tb, l.t-t0)
		vb, hb, y, y2, _, _ := l.block(t0, n)
		switch l.beta {
		case 2:
			blas64.Gemm(blas.NoTrans, blas.Trans, 1, vb, hb, 1, wnum)
			blas64.Gemm(blas.NoTrans, blas.Trans, 1, hb, hb, 1, g)
		case 1:
			blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, l.w, hb, 0, y)
			l.ratios(vb, y, y2)
			blas64.Gemm(blas.NoTrans, blas.Trans, 1, y, hb, 1, wnum)
			for j := 0; j < k; j++ {
				for _, x := range hb.Data[j*hb.Stride : j*hb.Stride+n] {
					l.ksum[j] += x
				}
			}
		default:
			blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, l.w, hb, 0, y)
			l.ratios(vb, y, y2)
			blas64.Gemm(blas.NoTrans, blas.Trans, 1, y, hb, 1, wnum)
			blas64.Gemm(blas.NoTrans, blas.Trans, 1, y2, hb, 1, wden)
		}
	}
	switch l.beta {
	case 2:
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, l.w, g, 0, wden)
	case 1:
		for j, s := range l.ksum {
			if s == 0 {
				l.ksum[j] = 1 // sklearn: W_sum[W_sum == 0] = 1.0
			}
		}
		for i := 0; i < f; i++ {
			copy(l.wden[i*k:i*k+k], l.ksum)
		}
	}
	zeroTiny := l.beta <= 1
	for i, x := range l.w.Data {
		x *= l.ratio(l.wnum[i], l.wden[i])
		if zeroTiny && x < float64Eps {
			x = 0
		}
		l.w.Data[i] = x
	}
}

// divergence returns D_beta(V | W H), summed block by block exactly as
// BetaDivergence sums it.
func (l *learner) divergence() float64 {
	d := divSum{beta: l.beta}
	for t0 := 0; t0 < l.t; t0 += l.tb {
		n := min(l.tb, l.t-t0)
		vb, hb, y, _, _, _ := l.block(t0, n)
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, l.w, hb, 0, y)
		for i := 0; i < l.f; i++ {
			vr := vb.Data[i*vb.Stride : i*vb.Stride+n]
			yr := y.Data[i*n : i*n+n]
			for j, x := range vr {
				d.add(x, yr[j])
			}
		}
	}
	return d.value()
}

// replaceDead replaces an all-zero (or non-finite) column of W by a flat
// one with zero activations and returns how many it replaced; the others
// keep their scale.
func (l *learner) replaceDead() (dead int) {
	f, k := l.f, l.k
	norms := l.ksum
	clear(norms)
	for i := 0; i < f; i++ {
		for j, x := range l.w.Data[i*k : i*k+k] {
			norms[j] += x
		}
	}
	for j, nrm := range norms {
		if nrm > 0 && !math.IsInf(nrm, 1) {
			continue
		}
		dead++
		for i := 0; i < f; i++ {
			l.w.Data[i*k+j] = 1 / float64(f)
		}
		clear(l.h.Data[j*l.h.Stride : j*l.h.Stride+l.t])
	}
	return dead
}

// initRandom is sklearn's init='random' with a PCG generator.
func (l *learner) initRandom(seed uint64) {
	avg := math.Sqrt(l.mean() / float64(l.k))
	rng := rand.New(rand.NewPCG(seed, randomInitStream))
	k := l.k
	for j := 0; j < k; j++ { // bases: sklearn's H (K x F), row by row
		for i := 0; i < l.f; i++ {
			l.w.Data[i*k+j] = avg * math.Abs(rng.NormFloat64())
		}
	}
	for t := 0; t < l.t; t++ { // activations: sklearn's W (T x K), row by row
		for j := 0; j < k; j++ {
			l.h.Data[j*l.h.Stride+t] = avg * math.Abs(rng.NormFloat64())
		}
	}
}

// randomInitStream is the second PCG seed word of InitRandom: any fixed
// value; changing it changes every random initialisation.
const randomInitStream = 0x5e9d_1ea2

// initNNDSVDa is sklearn's _initialize_nmf(init='nndsvda') with exact
// singular vectors.
func (l *learner) initNNDSVDa() {
	f, t, k := l.f, l.t, l.k
	// The K leading singular triplets of V (F x T): a_j (F, the bases
	// side: sklearn's V[j, :]), b_j (T, the activations side: sklearn's
	// U[:, j]) and s_j, from the eigendecomposition of the smaller Gram
	// matrix. b_j is computed straight into row j of H, a_j into column j
	// of W (as scratch), then both are overwritten by the NNDSVD factors.
	small := min(f, t)
	gram := mat.NewSymDense(small, nil)
	gr := gram.RawSymmetric()
	if f <= t {
		blas64.Syrk(blas.NoTrans, 1, l.v, 0, gr) // V V^T
	} else {
		blas64.Syrk(blas.Trans, 1, l.v, 0, gr) // V^T V
	}
	var es mat.EigenSym
	if !es.Factorize(gram, true) {
		// EigenSym fails only on NaN/Inf, which checkV excluded; fall back
		// to a flat start rather than panic.
		l.fill(l.mean())
		return
	}
	vals := es.Values(nil)
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	gram = nil
	smax := math.Sqrt(math.Max(vals[small-1], 0))
	a := make([]float64, f)
	for j := 0; j < k; j++ {
		idx := small - 1 - j // eigenvalues come in ascending order
		s := math.Sqrt(math.Max(vals[idx], 0))
		hr := l.h.Data[j*l.h.Stride : j*l.h.Stride+t]
		if !(s > smax*1e-12) {
			// A numerically zero singular value: sklearn's randomized SVD
			// would give an arbitrary direction; a zero pair is filled
			// with mean(V) below.
			clear(a)
			clear(hr)
		} else if f <= t {
			mat.Col(a, idx, &vecs)
			blas64.Gemv(blas.Trans, 1/s, l.v, vec(a), 0, vec(hr))
		} else {
			mat.Col(hr, idx, &vecs)
			blas64.Gemv(blas.NoTrans, 1/s, l.v, vec(hr), 0, vec(a))
		}
		l.nndsvdPair(j, s, a, hr)
	}
	const eps = 1e-6 // sklearn's _initialize_nmf eps
	avg := l.mean()
	for i, x := range l.w.Data {
		if x < eps {
			l.w.Data[i] = avg
		}
	}
	for j := 0; j < k; j++ {
		hr := l.h.Data[j*l.h.Stride : j*l.h.Stride+t]
		for i, x := range hr {
			if x < eps {
				hr[i] = avg
			}
		}
	}
}

// nndsvdPair writes basis j of W and row j of H from the singular pair
// (a, b = h row j) with singular value s, as sklearn's NNDSVD loop does.
func (l *learner) nndsvdPair(j int, s float64, a, b []float64) {
	k := l.k
	if j == 0 {
		c := math.Sqrt(s)
		for i, x := range a {
			l.w.Data[i*k] = c * math.Abs(x)
		}
		for i, x := range b {
			b[i] = c * math.Abs(x)
		}
		return
	}
	var ap, an, bp, bn float64 // squared norms of the positive and negative parts
	for _, x := range a {
		if x > 0 {
			ap += x * x
		} else {
			an += x * x
		}
	}
	for _, x := range b {
		if x > 0 {
			bp += x * x
		} else {
			bn += x * x
		}
	}
	ap, an, bp, bn = math.Sqrt(ap), math.Sqrt(an), math.Sqrt(bp), math.Sqrt(bn)
	mp, mn := ap*bp, an*bn
	sign, na, nb, sigma := 1.0, ap, bp, mp
	if !(mp > mn) {
		sign, na, nb, sigma = -1, an, bn, mn
	}
	if sigma == 0 {
		for i := range a {
			l.w.Data[i*k+j] = 0
		}
		clear(b)
		return
	}
	lbd := math.Sqrt(s * sigma)
	for i, x := range a {
		x *= sign
		if x < 0 {
			x = 0
		}
		l.w.Data[i*k+j] = lbd * x / na
	}
	for i, x := range b {
		x *= sign
		if x < 0 {
			x = 0
		}
		b[i] = lbd * x / nb
	}
}

// fill sets every element of W and H to c.
func (l *learner) fill(c float64) {
	for i := range l.w.Data {
		l.w.Data[i] = c
	}
	for i := range l.h.Data {
		l.h.Data[i] = c
	}
}
