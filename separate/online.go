package separate

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// freeCols are the free columns lo:hi of W, owned by source src, and the
// running statistics of their online update (see Separator).
type freeCols struct {
	src    int
	lo, hi int
	a      []float64 // F x R, row-major: the numerator statistics
	// b holds the denominator statistics: F x R, row-major, or for beta 1
	// one value per column (R), since its terms do not depend on the bin.
	b    []float64
	init []float64 // F x R, row-major: the starting columns, unit L1
}

// initFree finds the free columns of b, normalises their starting values to
// unit L1 norm and allocates their statistics. It runs before the kernel is
// made, which takes the normalised columns as they are.
func (s *Separator) initFree(b *Bases) {
	for src, r := range b.Free {
		if r == 0 {
			continue
		}
		hi := b.Start[src+1]
		fc := freeCols{
			src: src, lo: hi - r, hi: hi,
			a:    make([]float64, s.f*r),
			init: make([]float64, s.f*r),
		}
		if s.p.Beta == 1 {
			fc.b = make([]float64, r)
		} else {
			fc.b = make([]float64, s.f*r)
		}
		for c := 0; c < r; c++ {
			n := 0.0
			for f := 0; f < s.f; f++ {
				n += s.w.Data[f*s.k+fc.lo+c]
			}
			for f := 0; f < s.f; f++ {
				x := s.w.Data[f*s.k+fc.lo+c] / n
				s.w.Data[f*s.k+fc.lo+c] = x
				fc.init[f*r+c] = x
			}
		}
		s.free = append(s.free, fc)
	}
	if len(s.free) > 0 {
		s.wh = make([]float64, s.f)
	}
}

// restart sets free column c back to its starting values and forgets its
// statistics.
func (fc *freeCols) restart(s *Separator, c int) {
	r := fc.hi - fc.lo
	for f := 0; f < s.f; f++ {
		s.w.Data[f*s.k+fc.lo+c] = fc.init[f*r+c]
		fc.a[f*r+c] = 0
	}
	fc.clearB(c)
}

// clearB zeroes the denominator statistics of column c.
func (fc *freeCols) clearB(c int) {
	r := fc.hi - fc.lo
	if len(fc.b) == r {
		fc.b[c] = 0
		return
	}
	for i := c; i < len(fc.b); i += r {
		fc.b[i] = 0
	}
}

// finiteSum reports whether the sum of v is finite (no NaN, no Inf).
func finiteSum(v []float64) bool {
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	return !math.IsNaN(sum) && !math.IsInf(sum, 0)
}

// freeStep is one update of the free columns for the frame v and the
// current h (see Separator for the formulas). With commit false it sets the
// free columns from the statistics of the frames before plus this frame's
// terms, and keeps the statistics; with commit true (once per frame, after
// the masks, which leave W_s h_s in s.y) it adds this frame's terms to the
// statistics for good and scales the free columns to unit L1 norm.
func (s *Separator) freeStep(v []float64, commit bool) {
	wh := s.wh
	if commit {
		copy(wh, s.y[0])
		for _, y := range s.y[1:] {
			for f, x := range y {
				wh[f] += x
			}
		}
	} else {
		blas64.Gemv(blas.NoTrans, 1, s.w, vec(s.h), 0, vec(wh))
	}
	for i := range s.free {
		fc := &s.free[i]
		switch {
		case s.p.Beta == 1:
			s.freeKL(fc, v, commit)
		case s.kn.gamma == 1:
			s.freeGamma1(fc, v, commit)
		default:
			s.freeGeneral(fc, v, commit)
		}
		if commit {
			s.normaliseFree(fc)
		}
	}
	// The kernel's column sums and W^T v (prepare) are stale for the free columns.
	s.refreshFree(v)
}

// freeKL is the update for beta = 1: A_fk += v_f/(Wh)_f h_k W_fk and
// B_k += h_k, the same for every bin.
func (s *Separator) freeKL(fc *freeCols, v []float64, commit bool) {
	k, r, rho := s.k, fc.hi-fc.lo, s.p.Forget
	h := s.h[fc.lo:fc.hi]
	inv := s.kn.num[:r] // scratch: 1/B_k of this step (num is free between kernel steps)
	for c, hc := range h {
		bn := rho*fc.b[c] + hc
		if commit {
			fc.b[c] = bn
		}
		inv[c] = 0
		if bn > 0 {
			inv[c] = 1 / bn
		}
	}
	for f := 0; f < s.f; f++ {
		x := s.wh[f]
		if x == 0 {
			x = epsilon
		}
		p := v[f] / x
		wr := s.w.Data[f*k+fc.lo : f*k+fc.hi]
		ar := fc.a[f*r : f*r+r]
		for c, hc := range h {
			an := rho*ar[c] + p*hc*wr[c]
			if commit {
				ar[c] = an
			}
			if inv[c] > 0 {
				wr[c] = an * inv[c]
			}
		}
	}
}

// freeGamma1 is the update for 1 < beta <= 2 (gamma = 1): no powers of W.
func (s *Separator) freeGamma1(fc *freeCols, v []float64, commit bool) {
	k, r, rho, beta := s.k, fc.hi-fc.lo, s.p.Forget, s.p.Beta
	h := s.h[fc.lo:fc.hi]
	for f := 0; f < s.f; f++ {
		x := s.wh[f]
		var p, q float64
		switch beta {
		case 2:
			p, q = v[f], x
		case 1.5:
			xs := x
			if xs == 0 {
				xs = epsilon
			}
			p, q = v[f]/math.Sqrt(xs), math.Sqrt(x)
		default:
			xs := x
			if xs == 0 {
				xs = epsilon
			}
			p, q = math.Pow(xs, beta-2)*v[f], math.Pow(x, beta-1)
		}
		wr := s.w.Data[f*k+fc.lo : f*k+fc.hi]
		ar := fc.a[f*r : f*r+r]
		br := fc.b[f*r : f*r+r]
		for c, hc := range h {
			an := rho*ar[c] + p*hc*wr[c]
			bn := rho*br[c] + q*hc
			if commit {
				ar[c], br[c] = an, bn
			}
			if bn > 0 {
				wr[c] = an / bn
			}
		}
	}
}

// freeGeneral is the update for beta < 1 (gamma = 1/(2-beta)).
func (s *Separator) freeGeneral(fc *freeCols, v []float64, commit bool) {
	k, r, rho, beta := s.k, fc.hi-fc.lo, s.p.Forget, s.p.Beta
	h := s.h[fc.lo:fc.hi]
	for f := 0; f < s.f; f++ {
		xs := s.wh[f]
		if xs == 0 {
			xs = epsilon // both clamps apply for beta < 1
		}
		var p, q float64
		switch beta {
		case 0:
			p, q = v[f]/(xs*xs), 1/xs
		case 0.5:
			p, q = v[f]/(xs*math.Sqrt(xs)), 1/math.Sqrt(xs)
		default:
			p, q = math.Pow(xs, beta-2)*v[f], math.Pow(xs, beta-1)
		}
		wr := s.w.Data[f*k+fc.lo : f*k+fc.hi]
		ar := fc.a[f*r : f*r+r]
		br := fc.b[f*r : f*r+r]
		for c, hc := range h {
			an := rho*ar[c] + p*hc*s.wPow(wr[c])
			bn := rho*br[c] + q*hc
			if commit {
				ar[c], br[c] = an, bn
			}
			if bn > 0 {
				wr[c] = s.ratioPow(an / bn)
			}
		}
	}
}

// wPow returns w^(1/gamma), the power of a basis value in the numerator
// statistic of the majorisation-minimisation update, for beta < 1.
func (s *Separator) wPow(w float64) float64 {
	switch s.p.Beta {
	case 0: // 1/gamma = 2
		return w * w
	case 0.5: // 1/gamma = 1.5
		return w * math.Sqrt(w)
	}
	return math.Pow(w, 1/s.kn.gamma)
}

// ratioPow returns x^gamma for beta < 1.
func (s *Separator) ratioPow(x float64) float64 {
	switch s.p.Beta {
	case 0: // gamma = 1/2
		return math.Sqrt(x)
	case 0.5: // gamma = 2/3
		c := math.Cbrt(x)
		return c * c
	}
	return math.Pow(x, s.kn.gamma)
}

// normaliseFree scales the free columns of fc to unit L1 norm, and their
// activations and statistics so that W h and (A/B)^gamma = W stay as they
// were: column c divided by n, h_c and B_c multiplied by n, A_c by
// n^(1-1/gamma). A column that is no longer a finite, non-zero vector starts
// again from its initial values.
func (s *Separator) normaliseFree(fc *freeCols) {
	k, r := s.k, fc.hi-fc.lo
	norms := s.kn.den[:r] // scratch, free between kernel steps
	clear(norms)
	for f := 0; f < s.f; f++ {
		for c, x := range s.w.Data[f*k+fc.lo : f*k+fc.hi] {
			norms[c] += x
		}
	}
	perColumnB := len(fc.b) == r
	for c, n := range norms {
		if !(n > 0) || math.IsInf(n, 1) {
			fc.restart(s, c)
			continue
		}
		sa := 1.0
		if s.kn.gamma != 1 {
			sa = math.Pow(n, 1-1/s.kn.gamma)
		}
		norms[c] = 1 / n
		s.h[fc.lo+c] *= n
		if perColumnB {
			fc.b[c] *= n
		} else {
			for f := 0; f < s.f; f++ {
				fc.b[f*r+c] *= n
			}
		}
		if sa != 1 {
			for f := 0; f < s.f; f++ {
				fc.a[f*r+c] *= sa
			}
		}
	}
	for f := 0; f < s.f; f++ {
		wr := s.w.Data[f*k+fc.lo : f*k+fc.hi]
		for c, inv := range norms {
			if inv > 0 {
				wr[c] *= inv
			}
		}
	}
}

// refreshFree has the kernel recompute what it derives from the free
// columns (kernel.refresh): their column sums (beta 1) and, given the frame
// v, their part of W^T v (beta 2; between frames v is nil, and the next
// prepare computes it). It allocates nothing.
func (s *Separator) refreshFree(v []float64) {
	for _, fc := range s.free {
		s.kn.refresh(fc.lo, fc.hi, v)
	}
}

// freeOf returns the free columns of the source called name, or nil.
func (s *Separator) freeOf(name string) *freeCols {
	for i := range s.free {
		if s.names[s.free[i].src] == name {
			return &s.free[i]
		}
	}
	return nil
}

// FreeBases returns a copy of the current free bases of the source called
// name, F x R, each column of unit L1 norm, ready to be saved and reused as
// a fixed source's bases (WriteNPY). It returns nil if the source has no
// free bases. It allocates.
func (s *Separator) FreeBases(name string) *mat.Dense {
	fc := s.freeOf(name)
	if fc == nil {
		return nil
	}
	r := fc.hi - fc.lo
	m := mat.NewDense(s.f, r, nil)
	for f := 0; f < s.f; f++ {
		copy(m.RawRowView(f), s.w.Data[f*s.k+fc.lo:f*s.k+fc.hi])
	}
	return m
}

// CarryOver takes over the state of prev, the Separator that processed the
// frames so far, so that a configuration reload does not start cold: for
// every source of s that prev has under the same name with the same number
// of columns, it copies the activations (the warm start of the next frame),
// and for every source with free bases that prev has with as many free
// columns, the free bases and (when beta and sparsity are unchanged) their
// statistics. Nothing is copied when the
// number of bins differs. Sources that prev does not have start as after
// Reset (the warm-start floor lifts them on the next frame).
//
// CarryOver is meant to run between two frames on the goroutine that calls
// Process, with prev no longer in use; it allocates nothing. prev may be
// nil or s itself (then it does nothing).
func (s *Separator) CarryOver(prev *Separator) {
	if prev == nil || prev == s || prev.f != s.f {
		return
	}
	copied := false
	for src, name := range s.names {
		ps := -1
		for i, pn := range prev.names {
			if pn == name {
				ps = i
				break
			}
		}
		if ps < 0 {
			continue
		}
		a, b := s.start[src], s.start[src+1]
		pa, pb := prev.start[ps], prev.start[ps+1]
		if b-a != pb-pa {
			continue
		}
		copy(s.h[a:b], prev.h[pa:pb])
		copied = true
	}
	for i := range s.free {
		fc := &s.free[i]
		pfc := prev.freeOf(s.names[fc.src])
		r := fc.hi - fc.lo
		if pfc == nil || pfc.hi-pfc.lo != r {
			continue
		}
		for f := 0; f < s.f; f++ {
			copy(s.w.Data[f*s.k+fc.lo:f*s.k+fc.hi], prev.w.Data[f*prev.k+pfc.lo:f*prev.k+pfc.hi])
		}
		if prev.p.Beta == s.p.Beta && prev.p.Sparsity == s.p.Sparsity {
			copy(fc.a, pfc.a)
			copy(fc.b, pfc.b)
		}
	}
	s.refreshFree(nil)
	if copied {
		s.lastIter = prev.lastIter
	}
}

// maxOf returns the largest element of x, or 0 if none is larger; NaN if x
// holds one (h never does: the kernel sets a NaN update to zero).
func maxOf(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		m = max(m, v) // NaN propagates, as with math.Max, without its call
	}
	return m
}

// freeInitSeed is the first PCG seed word of the starting values of free
// bases that LoadBases makes; the second is a hash of the source name.
const freeInitSeed = 0xf7ee_ba5e

// initFreeColumns returns the starting values of r free bases of F bins
// for the source called name: |z| + 1/2 per element, z standard normal from
// a PCG generator seeded with freeInitSeed and the FNV-1a hash of the name,
// then each column scaled to unit L1 norm. The same name gives the same
// columns on every run and platform; columns differ from each other (equal
// columns would stay equal under multiplicative updates). It allocates.
func initFreeColumns(f, r int, name string) *mat.Dense {
	h := uint64(14695981039346656037) // FNV-1a 64 offset basis
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	rng := rand.New(rand.NewPCG(freeInitSeed, h))
	m := mat.NewDense(f, r, nil)
	for c := 0; c < r; c++ {
		n := 0.0
		for i := 0; i < f; i++ {
			x := math.Abs(rng.NormFloat64()) + 0.5
			m.Set(i, c, x)
			n += x
		}
		for i := 0; i < f; i++ {
			m.Set(i, c, m.At(i, c)/n)
		}
	}
	return m
}
