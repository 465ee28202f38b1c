package separate

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// adaptive holds the state of bases that follow the mixture (Params.Adapt):
// the given bases W0 and the running statistics A (F x K) and B (K) of the
// online update, with the Separator's forgetting factor.
type adaptive struct {
	w0    []float64 // F x K (Stride K): the bases as given
	a     []float64 // F x K
	b     []float64 // K
	prior float64   // c: the prior's weight, in units of the mean of B
	// pp, when not nil, holds W, A and W0 in float32 panels instead
	// (adaptpanels.go: beta 1 and 0.5 where the float32 passes run); w0
	// and a are then nil and the Separator's W stays the given bases.
	pp *adaptPanels
}

// newAdaptive returns the state of bases that follow the mixture from the
// given bases w, with A and W0 row by row unless panels (the caller sets
// pp).
func newAdaptive(w blas64.General, prior float64, panels bool) *adaptive {
	f, k := w.Rows, w.Cols
	ad := &adaptive{b: make([]float64, k), prior: prior}
	if panels {
		return ad
	}
	ad.w0, ad.a = make([]float64, f*k), make([]float64, f*k)
	for i := range f {
		copy(ad.w0[i*k:(i+1)*k], w.Data[i*w.Stride:i*w.Stride+k])
	}
	return ad
}

// adaptStep updates every basis with the frame v and its activations h
// (see Separator, "Bases that follow the mixture"): with r = v / (W h),
//
//	A <- rho A + W o (r h^T)      B <- rho B + h
//	W <- (A + lambda W0) / (B + lambda),   lambda = c mean(B)
//
// then refreshes what the kernel derives from W; with reconstruction bases
// it also sets the masks' W'_s h_s from W' o (W / W0), row by row
// (reconBin). It allocates nothing.
func (s *Separator) adaptStep(v []float64) {
	ad, w := s.ad, s.w
	rho := s.p.Forget
	k := s.k
	mean := 0.0
	for j, x := range s.h {
		ad.b[j] = rho*ad.b[j] + x
		mean += ad.b[j]
	}
	// The tiny term keeps W = W0 (not 0/0) while nothing was seen yet.
	lam := ad.prior*mean/float64(k) + 1e-30
	if ad.pp != nil {
		var colDen []float64
		if s.p.Beta == 1 {
			colDen = s.kn.colDen
		}
		ad.pp.step(v, s.h, ad.b, rho, lam, s.kn.l1, colDen)
		return
	}
	blas64.Gemv(blas.NoTrans, 1, w, vec(s.h), 0, vec(s.wh)) // the free update's scratch: never both
	for i, x := range v {
		r := x / max(s.wh[i], epsilon)
		row := w.Data[i*w.Stride : i*w.Stride+k]
		a := ad.a[i*k : (i+1)*k]
		w0 := ad.w0[i*k : (i+1)*k]
		for j, h := range s.h {
			a[j] = rho*a[j] + row[j]*r*h
			row[j] = (a[j] + lam*w0[j]) / (ad.b[j] + lam)
		}
		if s.rc != nil {
			s.reconBin(i, row)
		}
	}
	if s.rc != nil {
		s.rc.fresh = true
	}
	s.kn.refresh(0, k, nil)
}

// maxAdaptSum is the largest sum of a frame's magnitudes that adapted bases
// learn from: 2^60, where audio within full scale gives at most fft_size/2
// per bin (the sum of the Hann window), so at most about 2^31 summed over
// the bins of a 2^16-point window. A frame
// above it cannot come from audio, only from a broken input; learning from
// it would fill B, and with it lambda, with values near the float64 limit,
// and the bases would not return from there within seconds (TestEdgeCases'
// frames at 1e302 left h at zero afterwards).
const maxAdaptSum = 0x1p60

// adaptable says whether adapted bases learn from the frame v: its sum is
// finite and at most maxAdaptSum. Other frames are projected and masked
// with the bases as they are.
func adaptable(v []float64) bool {
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	return sum <= maxAdaptSum // false for NaN
}

// resetAdapt returns the bases to the given ones and forgets the
// statistics. It allocates nothing.
func (s *Separator) resetAdapt() {
	ad, w := s.ad, s.w
	clear(ad.b)
	if ad.pp != nil {
		ad.pp.reset()
		s.kn.refresh(0, s.k, nil) // W is still W0
		return
	}
	clear(ad.a)
	for i := range s.f {
		copy(w.Data[i*w.Stride:i*w.Stride+s.k], ad.w0[i*s.k:(i+1)*s.k])
	}
	s.kn.refresh(0, s.k, nil)
}

// adaptInPanels says whether bases that follow the mixture are kept in
// float32 panels for beta: for beta 1 and 0.5 where the float32 passes are
// taken (singleFast, or forceSingle in tests).
func adaptInPanels(beta float64) bool {
	return (singleFast || forceSingle) && (beta == 1 || beta == 0.5) && !forceAdaptRows
}

// forceAdaptRows makes NewSeparator keep adapted bases row by row in
// float64 for every beta, for the tests that hold the panels to it.
var forceAdaptRows = false

// rows says whether the adapted bases are kept row by row in float64 (the
// Separator's W), not in panels.
func (ad *adaptive) rows() bool { return ad.w0 != nil }
