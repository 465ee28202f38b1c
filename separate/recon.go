package separate

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// reconBases holds a Separator's reconstruction bases (Bases.Recon): what
// its masks take W_s h_s from instead of W.
type reconBases struct {
	w   blas64.General // F x K: W' as given; the masks' bases without Adapt
	pan *panels32      // w in float32 panels, when the Separator uses panels for W (no Adapt)
	// q (F x K, stride K), with Adapt: W'/W0 where W0 > 0; -W' where
	// W0 = 0 (the adapted basis stays 0 there, and the masks take W').
	q     []float64
	fresh bool // with Adapt: the Separator's y already holds this frame's W'_s h_s
}

// newReconBases copies recon for a Separator whose bases are w (as given,
// before any adaptation). It allocates.
func newReconBases(recon *mat.Dense, w blas64.General, panels, adapt bool) *reconBases {
	rc := &reconBases{w: denseCopy(recon)}
	f, k := w.Rows, w.Cols
	if panels {
		rc.pan = newPanels32(rc.w.Data, f, k, rc.w.Stride)
	}
	if adapt {
		rc.q = make([]float64, f*k)
		for i := range f {
			for j := range k {
				wr := rc.w.Data[i*rc.w.Stride+j]
				if w0 := w.Data[i*w.Stride+j]; w0 > 0 {
					rc.q[i*k+j] = wr / w0
				} else {
					rc.q[i*k+j] = -wr
				}
			}
		}
	}
	return rc
}

// masksRecon sets s.y to W'_s h_s from the reconstruction bases: from
// their float32 panels where h is in the range of masks (see there), else
// in float64; with Adapt, W'_s o (W_s / W0_s), which adaptStep computed
// already unless the frame was not finite. It allocates nothing.
func (s *Separator) masksRecon(hmax float64) {
	rc := s.rc
	if rc.q != nil {
		if !rc.fresh {
			for i := range s.f {
				s.reconBin(i, s.w.Data[i*s.w.Stride:i*s.w.Stride+s.k])
			}
		}
		rc.fresh = false
		return
	}
	if rc.pan != nil && hmax >= 0x1p-60 && hmax*rc.pan.rowSum <= 0x1p60 {
		toFloat32(s.h32, s.h)
		for src, y := range s.y {
			rc.pan.dots(s.h32, y, s.start[src], s.start[src+1])
		}
		return
	}
	for src, y := range s.y {
		a, b := s.start[src], s.start[src+1]
		ws := blas64.General{Rows: s.f, Cols: b - a, Stride: rc.w.Stride, Data: rc.w.Data[a:]}
		blas64.Gemv(blas.NoTrans, 1, ws, vec(s.h[a:b]), 0, vec(y))
	}
}

// reconBin sets bin i of every source's y to (W'_s o (W_s / W0_s)) h_s
// from the bin's row w of adapted bases (W' where W0 = 0). adaptStep calls
// it for each row it updates, while the row is at hand. It allocates
// nothing.
func (s *Separator) reconBin(i int, w []float64) {
	k := len(w)
	q := s.rc.q[i*k : (i+1)*k]
	h := s.h[:k]
	for src, y := range s.y {
		sum := 0.0
		for j := s.start[src]; j < s.start[src+1]; j++ {
			if x := q[j]; x >= 0 {
				sum += w[j] * x * h[j]
			} else {
				sum -= x * h[j]
			}
		}
		y[i] = sum
	}
}

// Project runs a Separator with the bases b and parameters p over the
// columns of the magnitude spectrogram v (F x T), one frame after another
// as the engine does (warm starts, free or adapted bases as p and b say),
// and returns the activations of every frame, K x T. It allocates; it
// returns the Separator's errors, and stops with ctx's.
func Project(ctx context.Context, b *Bases, p Params, v *mat.Dense) (*mat.Dense, error) {
	sep, err := NewSeparator(b, p)
	if err != nil {
		return nil, err
	}
	f, t := v.Dims()
	if f != b.F() {
		return nil, fmt.Errorf("separate: Project: the spectrogram has %d bins, the bases %d", f, b.F())
	}
	h := mat.NewDense(b.K(), t, nil)
	masks := make([][]float64, b.NumSources())
	for i := range masks {
		masks[i] = make([]float64, f)
	}
	col := make([]float64, f)
	for j := range t {
		if j%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		mat.Col(col, j, v)
		sep.Process(masks, col)
		h.SetCol(j, sep.Activations())
	}
	return h, nil
}

// Defaults of ReconParams.
const (
	DefaultReconIterations = 300
	DefaultReconStep       = 1
)

// ReconParams are the parameters of LearnRecon.
type ReconParams struct {
	// Iterations is the number of multiplicative updates, >= 1; 0 selects
	// DefaultReconIterations.
	Iterations int
	// Step is the exponent of the update ratio, in (0, 1]; 0 selects
	// DefaultReconStep, 1. The prototype took 1/2 (a safe step for
	// heuristic multiplicative updates); on the evaluation set's four
	// scenarios the objective fell at every update with 1 too, and 300
	// updates at 1 reach what 600 at 1/2 did, in half the time
	// (testdata/evalset/README.md, sixth round).
	Step float64
	// MaskPower is the power p of the masks the bases are learned for,
	// > 0; 0 selects 2.
	MaskPower float64
	// Progress, if not nil, is called after every iteration with the
	// number of iterations done and the objective before the last one.
	Progress func(iteration int, objective float64)
}

func (p *ReconParams) fill() error {
	if p.Iterations == 0 {
		p.Iterations = DefaultReconIterations
	}
	if p.Step == 0 {
		p.Step = DefaultReconStep
	}
	if p.MaskPower == 0 {
		p.MaskPower = 2
	}
	switch {
	case p.Iterations < 1:
		return fmt.Errorf("separate: recon iterations = %d: must be at least 1", p.Iterations)
	case !(p.Step > 0 && p.Step <= 1):
		return fmt.Errorf("separate: recon step = %v: must be in (0, 1]", p.Step)
	case !(p.MaskPower > 0) || math.IsInf(p.MaskPower, 1):
		return fmt.Errorf("separate: recon mask power = %v: must be finite and > 0", p.MaskPower)
	}
	return nil
}

// ReconData is the training material of LearnRecon: the magnitude
// spectrogram V of mixtures of the sources, each source's target S_s (in
// the order of the bases' sources), and the activations H that the
// Separator found on V (Project). A target is the source's own magnitude
// spectrogram |S_s|, or its phase-sensitive magnitude |S_s| cos(angle S_s
// - angle X) = Re(S_s X*) / |X| (X the mixture's complex spectrogram),
// which can be negative: for it, LearnRecon's objective is the squared
// error of the masked complex spectrogram, sum_s || S_s - M_s o X ||^2, but
// for a constant (Erdogan, Hershey, Watanabe & Le Roux 2015).
type ReconData struct {
	V *mat.Dense   // F x T
	S []*mat.Dense // one F x T per source
	H *mat.Dense   // K x T
}

func (d ReconData) check(b *Bases) error {
	if d.V == nil || d.H == nil || len(d.S) != b.NumSources() {
		return fmt.Errorf("separate: recon: need V, H and one S per source (%d)", b.NumSources())
	}
	f, t := d.V.Dims()
	if f != b.F() {
		return fmt.Errorf("separate: recon: V has %d bins, the bases %d", f, b.F())
	}
	if k, th := d.H.Dims(); k != b.K() || th != t {
		return fmt.Errorf("separate: recon: H is %dx%d, want %dx%d (K x T)", k, th, b.K(), t)
	}
	for i, s := range d.S {
		if s == nil {
			return fmt.Errorf("separate: recon: no spectrogram for source %q", b.Names[i])
		}
		if fs, ts := s.Dims(); fs != f || ts != t {
			return fmt.Errorf("separate: recon: source %q's spectrogram is %dx%d, V is %dx%d", b.Names[i], fs, ts, f, t)
		}
	}
	return nil
}

// reconEps keeps the updates away from 0/0, as in the prototype
// (testdata/evalset/candidates.py, learn_recon).
const reconEps = 1e-12

// LearnRecon learns reconstruction bases W' (F x K, Bases.Recon) for the
// bases b from the training material d: starting from W' = W, it
// decreases
//
//	L(W') = sum_s || S_s - M_s o V ||^2,   M_s = Y_s^p / sum_j Y_j^p,   Y_s = W'_s H_s
//
// (H_s: the rows of H of source s; p: MaskPower; element-wise products and
// powers, Y floored at 1e-12), the squared error of the masked mixture to
// each source's target (ReconData), by multiplicative updates from the
// positive and negative parts of its gradient. With G_j = V o M_j / Y_j,
//
//	dL/dY_j = 2p G_j o [(M_j o V + sum_s M_s o S_s) - (S_j + V o sum_s M_s^2)]
//
// (from dM_s/dY_j = p M_j (delta_sj - M_s) / Y_j). With S_s = S+_s - S-_s,
// the target's positive and negative parts, every iteration sets, for
// every source j from the same Y,
//
//	W'_j <- W'_j o ( ([(S+_j + V o sum_s M_s^2 + sum_s M_s o S-_s) o G_j] H_j^T + eps)
//	               / ([(M_j o V + sum_s M_s o S+_s + S-_j) o G_j] H_j^T + eps) )^Step
//
// with eps = 1e-12. For two sources, p = 2 and magnitude targets this is
// the prototype's "wienerl2", for phase-sensitive targets its "psa"
// (testdata/evalset/candidates.py, learn_recon); the factor 2p cancels in
// the ratio. The activations stay as given: W' only changes
// what the masks make of them (after Weninger, Le Roux, Hershey & Schuller
// 2014, with only the reconstruction side trained).
//
// It returns W' and the objective before the first and after the last
// update. The products are gonum's (parallel) matrix products; it holds
// 3 S + 2 F x T matrices besides d. It returns an error for inconsistent
// data or parameters, and ctx's error when it is cancelled.
//
// References:
//
//	Weninger, F., Le Roux, J., Hershey, J. R., & Schuller, B. (2014).
//	Discriminative NMF and its application to single-channel source
//	separation. Interspeech 2014, 865-869.
func LearnRecon(ctx context.Context, b *Bases, d ReconData, p ReconParams) (wr *mat.Dense, before, after float64, err error) {
	if err := b.validate(); err != nil {
		return nil, 0, 0, err
	}
	if err := p.fill(); err != nil {
		return nil, 0, 0, err
	}
	if err := d.check(b); err != nil {
		return nil, 0, 0, err
	}
	wr = mat.DenseCopyOf(b.W)
	st := newReconState(b, d)
	for it := range p.Iterations {
		if err := ctx.Err(); err != nil {
			return nil, 0, 0, err
		}
		obj := st.step(wr, p.MaskPower, p.Step)
		if it == 0 {
			before = obj
		}
		if p.Progress != nil {
			p.Progress(it+1, obj)
		}
	}
	// The objective of the final bases, with the state the updates used
	// (ReconObjective would allocate a second one).
	st.products(wr)
	after = st.terms(p.MaskPower, false)
	return wr, before, after, nil
}

// ReconObjective returns L(W') of LearnRecon for the reconstruction bases
// wr (F x K) on the material d with mask power p. It allocates.
func ReconObjective(b *Bases, wr *mat.Dense, d ReconData, p float64) float64 {
	st := newReconState(b, d)
	st.products(wr)
	return st.terms(p, false)
}

// reconState is LearnRecon's scratch.
type reconState struct {
	b      *Bases
	d      ReconData
	y      []*mat.Dense // per source: Y_s = W'_s H_s
	gn, gd []*mat.Dense // per source: the gradient's parts before H_j^T
	nu, de []*mat.Dense // per source, F x K_s: gn_j H_j^T and gd_j H_j^T
}

func newReconState(b *Bases, d ReconData) *reconState {
	f, t := d.V.Dims()
	n := b.NumSources()
	st := &reconState{b: b, d: d}
	for s := range n {
		k := b.Start[s+1] - b.Start[s]
		st.y = append(st.y, mat.NewDense(f, t, nil))
		st.gn = append(st.gn, mat.NewDense(f, t, nil))
		st.gd = append(st.gd, mat.NewDense(f, t, nil))
		st.nu = append(st.nu, mat.NewDense(f, k, nil))
		st.de = append(st.de, mat.NewDense(f, k, nil))
	}
	return st
}

// hOf returns the rows of H of source s.
func (st *reconState) hOf(s int) mat.Matrix {
	_, t := st.d.H.Dims()
	return st.d.H.Slice(st.b.Start[s], st.b.Start[s+1], 0, t)
}

// wOf returns the columns of wr of source s.
func (st *reconState) wOf(wr *mat.Dense, s int) *mat.Dense {
	f, _ := wr.Dims()
	return wr.Slice(0, f, st.b.Start[s], st.b.Start[s+1]).(*mat.Dense)
}

// products sets Y_s = W'_s H_s.
func (st *reconState) products(wr *mat.Dense) {
	for s, y := range st.y {
		y.Mul(st.wOf(wr, s), st.hOf(s))
	}
}

// terms returns L for the current Y and, with grad, sets the gradient's
// parts gn_j = (S_j + V sum_s M_s^2) G_j and gd_j = (M_j V + sum_s M_s S_s) G_j.
// The bins are shared among GOMAXPROCS goroutines (element-wise, so the
// gradient does not depend on how; the objective's sum may, to rounding).
func (st *reconState) terms(p float64, grad bool) float64 {
	f, _ := st.d.V.Dims()
	workers := max(1, min(runtime.GOMAXPROCS(0), f/16))
	objs := make([]float64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			objs[w] = st.termRows(p, grad, w*f/workers, (w+1)*f/workers)
		}()
	}
	wg.Wait()
	obj := 0.0
	for _, o := range objs {
		obj += o
	}
	return obj
}

// termRows does terms for the bins lo..hi-1 and returns their part of L.
func (st *reconState) termRows(p float64, grad bool, lo, hi int) float64 {
	v := st.d.V.RawMatrix()
	t := v.Cols
	n := len(st.y)
	q, m := make([]float64, n), make([]float64, n)
	// Row views, per source, of the bin being done.
	ys, ss, gns, gds := make([][]float64, n), make([][]float64, n), make([][]float64, n), make([][]float64, n)
	row := func(a *mat.Dense, i int) []float64 { return a.RawRowView(i)[:t] }
	obj := 0.0
	for i := lo; i < hi; i++ {
		vr := v.Data[i*v.Stride : i*v.Stride+t]
		for s := range n {
			ys[s], ss[s] = row(st.y[s], i), row(st.d.S[s], i)
			gns[s], gds[s] = row(st.gn[s], i), row(st.gd[s], i)
		}
		for c, vv := range vr {
			den := 0.0
			for s := range n {
				yy := max(ys[s][c], reconEps)
				if p == 2 {
					q[s] = yy * yy
				} else {
					q[s] = math.Pow(yy, p)
				}
				den += q[s]
			}
			den = max(den, reconEps)
			// ms and msn: sum_s M_s S_s over the targets' positive and
			// negative parts (a phase-sensitive target may be < 0).
			ms, msn, mm := 0.0, 0.0, 0.0
			for s := range n {
				m[s] = q[s] / den
				sv := ss[s][c]
				e := sv - m[s]*vv
				obj += e * e
				if sv >= 0 {
					ms += m[s] * sv
				} else {
					msn -= m[s] * sv
				}
				mm += m[s] * m[s]
			}
			if !grad {
				continue
			}
			for j := range n {
				g := vv * m[j] / max(ys[j][c], reconEps)
				sp, sn := ss[j][c], 0.0
				if sp < 0 {
					sp, sn = 0, -sp
				}
				gns[j][c] = (sp + vv*mm + msn) * g
				gds[j][c] = (m[j]*vv + ms + sn) * g
			}
		}
	}
	return obj
}

// step makes one update of wr in place and returns L before it.
func (st *reconState) step(wr *mat.Dense, p, step float64) float64 {
	st.products(wr)
	obj := st.terms(p, true)
	f, _ := wr.Dims()
	for j := range st.y {
		w := st.wOf(wr, j)
		k := st.b.Start[j+1] - st.b.Start[j]
		num, den := st.nu[j], st.de[j]
		num.Mul(st.gn[j], st.hOf(j).T())
		den.Mul(st.gd[j], st.hOf(j).T())
		for i := range f {
			for c := range k {
				r := (num.At(i, c) + reconEps) / (den.At(i, c) + reconEps)
				switch step {
				case 1: // the default: the ratio as it is
				case 0.5:
					r = math.Sqrt(r)
				default:
					r = math.Pow(r, step)
				}
				w.Set(i, c, w.At(i, c)*r)
			}
		}
	}
	return obj
}
