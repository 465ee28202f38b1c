package eval

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/dsp/fourier"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"
)

// FilterTaps is the length of the time-invariant distortion filter that BSS
// Eval allows between a reference and its estimate (mir_eval's flen, fixed
// at 512 by bss_eval_sources).
const FilterTaps = 512

// MaxSources is the largest number of sources BSSEvalSources accepts.
// mir_eval.separation.MAX_SOURCES is 100, but the Gram matrix has
// (512 n)^2 entries: at 16 sources it takes 512 MB and its factorization
// minutes; at 100 it would take 21 GB.
const MaxSources = 16

// MaxPermuteSources is the largest number of sources for which
// BSSEvalSources tries every permutation (10! = 3628800 of them).
const MaxPermuteSources = 10

// tinyEnergy: energies below tinyEnergy times the estimate's energy are
// recomputed from the spectra (see residualEnergy); the closed forms
// through G lose about 1e-14 of the estimate's energy to rounding, so at
// 1e-6 they would still be right to 1e-8 relative, and the exact
// recomputation is rarely needed.
const tinyEnergy = 1e-6

// maxWorkers bounds the goroutines (each with FFT buffers of about 48 bytes
// per FFT point) that one call uses.
const maxWorkers = 4

var (
	// ErrShape is wrapped by the errors about the number or the lengths of
	// the signals.
	ErrShape = errors.New("references and estimates must have the same number of sources and of samples")
	// ErrSilent is wrapped by the errors about an all-zero reference or
	// estimate, which BSS Eval cannot score (mir_eval raises the same).
	ErrSilent = errors.New("BSS Eval needs every source to be non-silent (not all zeros)")
	// ErrNotFinite is wrapped by the errors about a NaN or infinite sample.
	ErrNotFinite = errors.New("samples must be finite")
)

// Result holds BSS Eval's scores, in dB, one per reference source: SDR[j],
// SIR[j] and SAR[j] score estimate Perm[j] against reference j. A value is
// +Inf when its error energy is exactly zero (as in mir_eval).
type Result struct {
	SDR, SIR, SAR []float64
	// Perm[j] is the estimate matched to reference j: the permutation with
	// the highest mean SIR when permutations were asked for, else the
	// identity.
	Perm []int
}

// BSSEvalSources scores estimated sources against reference sources as
// mir_eval.separation.bss_eval_sources(refs, ests, compute_permutation=permute)
// does: refs and ests are sources x samples, with the same number of
// sources and every source the same length. With permute, every matching of
// estimates to references is tried and the one with the highest mean SIR
// wins (the first one in lexicographic order on ties, as mir_eval).
//
// It returns an error (wrapping ErrShape, ErrSilent or ErrNotFinite) that
// names the source at fault when the shapes differ, a source is all zeros,
// a sample is NaN or infinite, there are no sources or no samples (mir_eval
// returns empty arrays there), more than MaxSources sources, or, with
// permute, more than MaxPermuteSources. BSSEvalSources allocates: see
// NewEvaluator and Evaluate for how much.
func BSSEvalSources(refs, ests [][]float64, permute bool) (Result, error) {
	// Every check before the work of NewEvaluator; Evaluate repeats the
	// cheap ones.
	if err := checkSignals("reference", refs, -1); err != nil {
		return Result{}, err
	}
	if err := checkEstimates(ests, len(refs), len(refs[0]), permute); err != nil {
		return Result{}, err
	}
	ev, err := NewEvaluator(refs)
	if err != nil {
		return Result{}, err
	}
	return ev.Evaluate(ests, permute)
}

// Evaluator holds what BSS Eval computes from the references alone: their
// spectra, the Gram matrix of their delayed copies and its factorizations.
// Scoring several sets of estimates against the same references (a
// separation and its oracle, say) with one Evaluator does that work once.
// An Evaluator is safe for concurrent use by several goroutines.
type Evaluator struct {
	nsrc, nsampl, nfft int
	spec               [][]complex128 // references' spectra, nfft/2+1 each
	gram               *mat.Dense     // G, (nsrc*FilterTaps)^2
	all                *system        // G factorized
	own                []*system      // each reference's diagonal block of G factorized
	workers            sync.Pool      // of *worker, for nfft
}

// NewEvaluator validates the references (sources x samples) and prepares
// them for Evaluate. It returns an error, wrapping ErrShape, ErrSilent or
// ErrNotFinite and naming the reference at fault, when there are no
// references or no samples, more than MaxSources, references of different
// lengths, an all-zero reference or a NaN or infinite sample.
//
// NewEvaluator allocates and keeps 8*N bytes per reference (N, the FFT
// length, is the next power of two of samples+511; for 60 s at 44.1 kHz
// it is 4194304) and 16*(512n)^2 bytes for G and its factorization (n
// references), plus 48*N bytes of FFT buffers per goroutine (up to
// min(4, GOMAXPROCS, n(n+1)/2) of them), kept in a sync.Pool for Evaluate.
// Its cost is n forward and n(n+1)/2 inverse FFTs of length N and a
// Cholesky factorization of G.
func NewEvaluator(refs [][]float64) (*Evaluator, error) {
	if err := checkSignals("reference", refs, -1); err != nil {
		return nil, err
	}
	nsrc, nsampl := len(refs), len(refs[0])
	ev := &Evaluator{nsrc: nsrc, nsampl: nsampl, nfft: fftLen(nsampl)}
	n, L, m := ev.nfft, FilterTaps, nsrc*FilterTaps
	ev.workers.New = func() any { return newWorker(n) }

	// Spectra of the references, zero-padded to nfft.
	ev.spec = make([][]complex128, nsrc)
	ev.run(nsrc, func(w *worker, i int) {
		clear(w.seq)
		copy(w.seq, refs[i])
		ev.spec[i] = w.fft.Coefficients(nil, w.seq)
	})

	// G, as mir_eval's _project builds it. Block (p, q) holds the inner
	// products <s_p delayed by a, s_q delayed by b> = r_pq[b-a], where
	// r_pq[k] = sum_t s_p[t+k] s_q[t] = ifft(S_p conj(S_q))[k mod nfft].
	// mir_eval's loop leaves ss_pq in the blocks with p > q, their
	// transposes above the diagonal and ss_pp transposed on it; so does this.
	ev.gram = mat.NewDense(m, m, nil)
	g := ev.gram.RawMatrix()
	type pair struct{ p, q int }
	var pairs []pair
	for p := range nsrc {
		for q := 0; q <= p; q++ {
			pairs = append(pairs, pair{p, q})
		}
	}
	scale := 1 / float64(n)
	ev.run(len(pairs), func(w *worker, t int) {
		pr := pairs[t]
		crossSpectrum(w.prod, ev.spec[pr.p], ev.spec[pr.q])
		r := w.fft.Sequence(w.seq, w.prod)
		for a := range L {
			for b := range L {
				v := r[(b-a+n)%n] * scale // ss[a][b]
				if pr.p == pr.q {
					g.Data[(pr.p*L+b)*g.Stride+pr.q*L+a] = v // ss transposed
					continue
				}
				g.Data[(pr.p*L+a)*g.Stride+pr.q*L+b] = v
				g.Data[(pr.q*L+b)*g.Stride+pr.p*L+a] = v
			}
		}
	})

	// Factorizations: G for the projection on every reference, and its
	// diagonal blocks for the projection on one (mir_eval builds those
	// from the single reference, which gives the same numbers). With one
	// reference they are the same system, so that the interference is
	// exactly zero, as in mir_eval.
	ev.own = make([]*system, nsrc)
	var wg sync.WaitGroup
	wg.Go(func() { ev.all = newSystem(ev.gram) })
	if nsrc > 1 {
		for j := range nsrc {
			wg.Go(func() {
				ev.own[j] = newSystem(ev.gram.Slice(j*L, (j+1)*L, j*L, (j+1)*L).(*mat.Dense))
			})
		}
	}
	wg.Wait()
	if nsrc == 1 {
		ev.own[0] = ev.all
	}
	return ev, nil
}

// NumSources returns the number of references.
func (ev *Evaluator) NumSources() int { return ev.nsrc }

// Samples returns the length of every reference, in samples.
func (ev *Evaluator) Samples() int { return ev.nsampl }

// Evaluate scores estimates (sources x samples, as many as references, each
// as long) against the Evaluator's references: see BSSEvalSources. It
// returns the same errors, naming the estimate at fault. Evaluate runs on
// up to min(4, GOMAXPROCS, n) goroutines, each with 48*N bytes of FFT
// buffers taken from the Evaluator's pool or allocated (N as in
// NewEvaluator), and costs one forward and n inverse FFTs of length N per
// estimate, plus small solves; the rare energy that is recomputed exactly
// costs one more FFT per filter.
func (ev *Evaluator) Evaluate(ests [][]float64, permute bool) (Result, error) {
	nsrc := ev.nsrc
	if err := checkEstimates(ests, nsrc, ev.nsampl, permute); err != nil {
		return Result{}, err
	}

	// crit[k][j] scores estimate k against reference j; without permute only
	// the diagonal is computed.
	type score struct{ sdr, sir, sar float64 }
	crit := make([][]score, nsrc)
	n, L, m := ev.nfft, FilterTaps, nsrc*FilterTaps
	scale := 1 / float64(n)
	ev.run(nsrc, func(w *worker, k int) {
		crit[k] = make([]score, nsrc)
		e := ests[k]
		ee := 0.0
		for _, v := range e {
			ee += v * v
		}
		clear(w.seq)
		copy(w.seq, e)
		w.fft.Coefficients(w.est, w.seq)

		// D: inner products of e with every reference delayed by a,
		// sum_t s_i[t-a] e[t] = ifft(S_i conj(E))[-a mod nfft].
		dv := make([]float64, m)
		for i := range nsrc {
			crossSpectrum(w.prod, ev.spec[i], w.est)
			r := w.fft.Sequence(w.seq, w.prod)
			for a := range L {
				dv[i*L+a] = r[(n-a)%n] * scale
			}
		}

		// Projection on every reference: filters c (G c = D), |P e|^2 = c'Gc
		// and |e - P e|^2 = |e|^2 - 2c'D + c'Gc (mir_eval's error signal,
		// expanded: second order in the solve's error, like the signal).
		c := ev.all.solve(dv)
		gc := ev.symv(nil, c)
		cD := dot(c, dv)
		pAll := dot(c, gc)
		art := ee - 2*cD + pAll
		if pAll < tinyEnergy*ee {
			pAll = w.residualEnergy(ev, 0, splitFilters(c, nsrc, -1, nil))
		}
		if art < tinyEnergy*ee {
			art = w.residualEnergy(ev, 1, splitFilters(c, nsrc, -1, nil))
		}
		sar := safeDB(pAll, art)

		gu := make([]float64, m)
		for j := range nsrc {
			if !permute && j != k {
				continue
			}
			// Projection on reference j alone: filter cj, the target
			// |P_j e|^2 and the distortion |e - P_j e|^2, likewise.
			dj := dv[j*L : (j+1)*L]
			cj := ev.own[j].solve(dj)
			gjcj := make([]float64, L)
			gjj := ev.gram.Slice(j*L, (j+1)*L, j*L, (j+1)*L).(*mat.Dense)
			gemv(gjcj, gjj, cj)
			target := dot(cj, gjcj)
			dist := ee - 2*dot(cj, dj) + target
			if target < tinyEnergy*ee {
				target = w.residualEnergy(ev, 0, splitFilters(nil, nsrc, j, cj))
			}
			if dist < tinyEnergy*ee {
				dist = w.residualEnergy(ev, 1, splitFilters(nil, nsrc, j, cj))
			}
			// Interference |P e - P_j e|^2 = u'Gu with u = c - cj in block j:
			// Gu = Gc - G[:, block j] cj.
			copy(gu, gc)
			colj := ev.gram.Slice(0, m, j*L, (j+1)*L).(*mat.Dense)
			blas64.Gemv(blas.NoTrans, -1, colj.RawMatrix(), blas64.Vector{N: L, Inc: 1, Data: cj}, 1, blas64.Vector{N: m, Inc: 1, Data: gu})
			u := make([]float64, m)
			copy(u, c)
			for a := range L {
				u[j*L+a] -= cj[a]
			}
			interf := dot(u, gu)
			if interf < tinyEnergy*ee && interf != 0 { // exactly 0 with one reference
				interf = w.residualEnergy(ev, 0, splitFilters(u, nsrc, -1, nil))
			}
			crit[k][j] = score{safeDB(target, dist), safeDB(target, interf), sar}
		}
	})

	res := Result{
		SDR:  make([]float64, nsrc),
		SIR:  make([]float64, nsrc),
		SAR:  make([]float64, nsrc),
		Perm: make([]int, nsrc),
	}
	for j := range nsrc {
		res.Perm[j] = j
	}
	if permute {
		sir := make([][]float64, nsrc)
		for k := range nsrc {
			sir[k] = make([]float64, nsrc)
			for j := range nsrc {
				sir[k][j] = crit[k][j].sir
			}
		}
		res.Perm = bestPermutation(sir)
	}
	for j, k := range res.Perm {
		s := crit[k][j]
		res.SDR[j], res.SIR[j], res.SAR[j] = s.sdr, s.sir, s.sar
	}
	return res, nil
}

// checkEstimates validates ests against nsrc references of nsampl samples.
func checkEstimates(ests [][]float64, nsrc, nsampl int, permute bool) error {
	if len(ests) != nsrc {
		return fmt.Errorf("eval: %d reference sources but %d estimates: %w", nsrc, len(ests), ErrShape)
	}
	if err := checkSignals("estimate", ests, nsampl); err != nil {
		return err
	}
	if permute && nsrc > MaxPermuteSources {
		return fmt.Errorf("eval: cannot try every permutation of %d sources (at most %d): evaluate without permutation", nsrc, MaxPermuteSources)
	}
	return nil
}

// checkSignals validates refs or ests (what names them in messages);
// nsampl < 0 takes the first one's length.
func checkSignals(what string, x [][]float64, nsampl int) error {
	if len(x) == 0 {
		return fmt.Errorf("eval: no %s sources: %w", what, ErrShape)
	}
	if len(x) > MaxSources {
		return fmt.Errorf("eval: %d %s sources, more than MaxSources = %d: %w", len(x), what, MaxSources, ErrShape)
	}
	others := "the references have"
	if nsampl < 0 {
		nsampl, others = len(x[0]), what+" 0 has"
	}
	if nsampl == 0 {
		return fmt.Errorf("eval: %s 0 has no samples: %w", what, ErrShape)
	}
	for i, s := range x {
		if len(s) != nsampl {
			return fmt.Errorf("eval: %s %d has %d samples, %s %d: %w", what, i, len(s), others, nsampl, ErrShape)
		}
		silent := true
		for t, v := range s {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("eval: %s %d sample %d is %v: %w", what, i, t, v, ErrNotFinite)
			}
			if v != 0 {
				silent = false
			}
		}
		if silent {
			return fmt.Errorf("eval: %s %d is all zeros: %w", what, i, ErrSilent)
		}
	}
	return nil
}

// fftLen is mir_eval's n_fft: the next power of two of nsampl+FilterTaps-1,
// long enough for every correlation lag below FilterTaps to be linear, not
// circular.
func fftLen(nsampl int) int {
	n := 1
	for n < nsampl+FilterTaps-1 {
		n *= 2
	}
	return n
}

// crossSpectrum sets dst[f] = x[f] * conj(y[f]).
func crossSpectrum(dst, x, y []complex128) {
	for f := range dst {
		a, b := real(x[f]), imag(x[f])
		c, d := real(y[f]), imag(y[f])
		dst[f] = complex(a*c+b*d, b*c-a*d)
	}
}

// safeDB is mir_eval's _safe_db: +Inf when den is exactly 0.
func safeDB(num, den float64) float64 {
	if den == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(num/den)
}

func dot(x, y []float64) float64 {
	return blas64.Dot(blas64.Vector{N: len(x), Inc: 1, Data: x}, blas64.Vector{N: len(y), Inc: 1, Data: y})
}

// gemv sets dst = a x.
func gemv(dst []float64, a *mat.Dense, x []float64) {
	blas64.Gemv(blas.NoTrans, 1, a.RawMatrix(), blas64.Vector{N: len(x), Inc: 1, Data: x}, 0, blas64.Vector{N: len(dst), Inc: 1, Data: dst})
}

// symv returns G x in dst (allocated when nil).
func (ev *Evaluator) symv(dst, x []float64) []float64 {
	if dst == nil {
		dst = make([]float64, len(x))
	}
	gemv(dst, ev.gram, x)
	return dst
}

// splitFilters returns per-reference filters for residualEnergy: the blocks
// of c (all references) when c is not nil, or cj for reference j alone.
func splitFilters(c []float64, nsrc, j int, cj []float64) [][]float64 {
	f := make([][]float64, nsrc)
	for i := range nsrc {
		switch {
		case c != nil:
			f[i] = c[i*FilterTaps : (i+1)*FilterTaps]
		case i == j:
			f[i] = cj
		}
	}
	return f
}

// bestPermutation returns the permutation perm maximizing the mean of
// sir[perm[j]][j] over j, the first in lexicographic order on ties (as
// mir_eval's argmax over itertools.permutations; a NaN mean wins as in
// numpy's argmax).
func bestPermutation(sir [][]float64) []int {
	n := len(sir)
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	best := append([]int(nil), perm...)
	bestMean := math.Inf(-1)
	vals := make([]float64, n)
	first := true
	for {
		for j, k := range perm {
			vals[j] = sir[k][j]
		}
		m := npSum(vals) / float64(n)
		if math.IsNaN(m) {
			copy(best, perm)
			break
		}
		if first || m > bestMean {
			bestMean, first = m, false
			copy(best, perm)
		}
		if !nextPermutation(perm) {
			break
		}
	}
	return best
}

// npSum sums as numpy's pairwise summation does for fewer than 128 values,
// so that near-ties between permutations break the same way.
func npSum(a []float64) float64 {
	if len(a) < 8 {
		s := 0.0
		for _, v := range a {
			s += v
		}
		return s
	}
	var r [8]float64
	copy(r[:], a[:8])
	i := 8
	for ; i+8 <= len(a); i += 8 {
		for k := range 8 {
			r[k] += a[i+k]
		}
	}
	s := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
	for ; i < len(a); i++ {
		s += a[i]
	}
	return s
}

// nextPermutation advances p to the next permutation in lexicographic
// order, reporting false after the last one.
func nextPermutation(p []int) bool {
	i := len(p) - 2
	for i >= 0 && p[i] >= p[i+1] {
		i--
	}
	if i < 0 {
		return false
	}
	j := len(p) - 1
	for p[j] <= p[i] {
		j--
	}
	p[i], p[j] = p[j], p[i]
	for a, b := i+1, len(p)-1; a < b; a, b = a+1, b-1 {
		p[a], p[b] = p[b], p[a]
	}
	return true
}

// system solves G c = D as mir_eval does with numpy.linalg.solve (LAPACK's
// gesv), falling back, when G is exactly singular, to numpy.linalg.lstsq
// with its default cutoff then (singular values up to machine epsilon times
// the largest count as zero): the minimum-norm least-squares solution.
//
// G is a Gram matrix, symmetric and positive semidefinite, so system first
// tries a Cholesky factorization, which takes half the time of gesv's LU
// and, G being positive definite, gives the same solution up to rounding.
// When Cholesky fails (G singular or nearly so to working precision), it
// does what gesv does: an LU factorization with partial pivoting, and the
// least-squares fallback if a pivot is exactly zero, where numpy raises
// LinAlgError and mir_eval calls lstsq.
type system struct {
	chol blas64.Triangular // Cholesky factor U (G = U'U), when that worked
	lu   blas64.General    // else L and U, as getrf leaves them
	ipiv []int
	svd  *mat.SVD // else, G being exactly singular, its SVD
	rank int
}

// lapackEps is LAPACK's dlamch('E') = 2^-53, the cutoff gelsd uses when
// numpy passes rcond = -1.
const lapackEps = 0x1p-53

func newSystem(a *mat.Dense) *system {
	n, _ := a.Dims()
	s := &system{}
	c := mat.DenseCopyOf(a).RawMatrix()
	t, ok := lapack64.Potrf(blas64.Symmetric{N: n, Stride: c.Stride, Data: c.Data, Uplo: blas.Upper})
	if ok {
		s.chol = t
		return s
	}
	s.lu = mat.DenseCopyOf(a).RawMatrix()
	s.ipiv = make([]int, n)
	if lapack64.Getrf(s.lu, s.ipiv) {
		return s
	}
	s.svd = &mat.SVD{}
	if !s.svd.Factorize(a, mat.SVDThin) {
		panic("eval: SVD of the Gram matrix failed to converge")
	}
	s.rank = s.svd.Rank(lapackEps)
	return s
}

// solve returns the solution of G c = b in a new slice.
func (s *system) solve(b []float64) []float64 {
	n := len(b)
	x := append([]float64(nil), b...)
	xm := blas64.General{Rows: n, Cols: 1, Stride: 1, Data: x}
	switch {
	case s.chol.Data != nil:
		lapack64.Potrs(s.chol, xm)
	case s.svd == nil:
		lapack64.Getrs(blas.NoTrans, s.lu, xm, s.ipiv)
	default:
		s.svd.SolveVecTo(mat.NewVecDense(n, x), mat.NewVecDense(n, b), s.rank)
	}
	return x
}

// worker owns one goroutine's FFT and buffers.
type worker struct {
	fft  *fourier.FFT
	seq  []float64    // nfft
	prod []complex128 // nfft/2+1
	est  []complex128 // nfft/2+1
	acc  []complex128 // nfft/2+1, allocated on first use
}

func newWorker(nfft int) *worker {
	return &worker{
		fft:  fourier.NewFFT(nfft),
		seq:  make([]float64, nfft),
		prod: make([]complex128, nfft/2+1),
		est:  make([]complex128, nfft/2+1),
	}
}

// run calls fn for tasks 0..tasks-1 on up to maxWorkers goroutines, each
// with a worker from ev.workers (so that the FFT set-up, whose twiddle
// factors cost about a tenth of a transform, is done once per goroutine
// and Evaluator, not per call).
func (ev *Evaluator) run(tasks int, fn func(w *worker, i int)) {
	nw := min(maxWorkers, runtime.GOMAXPROCS(0), tasks)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range nw {
		wg.Go(func() {
			w := ev.workers.Get().(*worker)
			defer ev.workers.Put(w)
			for {
				i := int(next.Add(1)) - 1
				if i >= tasks {
					return
				}
				fn(w, i)
			}
		})
	}
	wg.Wait()
}

// residualEnergy returns |we*e - sum_i filters[i] * s_i|^2 (* is
// convolution, e the estimate whose spectrum is in w.est, nil filters
// skipped) by Parseval's theorem on the nfft-point spectra. It is the
// energy mir_eval computes from the signals, with the same rounding
// (relative to the energy itself), where the closed forms through G
// would lose the digits of a small energy to cancellation.
func (w *worker) residualEnergy(ev *Evaluator, we float64, filters [][]float64) float64 {
	if w.acc == nil {
		w.acc = make([]complex128, len(w.est))
	}
	acc := w.acc
	for f, v := range w.est {
		acc[f] = complex(we, 0) * v
	}
	for i, h := range filters {
		if h == nil {
			continue
		}
		clear(w.seq)
		copy(w.seq, h)
		hf := w.fft.Coefficients(w.prod, w.seq)
		s := ev.spec[i]
		for f := range acc {
			acc[f] -= hf[f] * s[f]
		}
	}
	last := len(acc) - 1 // nfft is even: acc[last] is the Nyquist bin
	sum := 0.0
	for f := 1; f < last; f++ {
		sum += real(acc[f])*real(acc[f]) + imag(acc[f])*imag(acc[f])
	}
	sum = 2*sum + real(acc[0])*real(acc[0]) + real(acc[last])*real(acc[last])
	return sum / float64(ev.nfft)
}
