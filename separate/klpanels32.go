package separate

// The fused Kullback-Leibler pass over W stored as float32 panels, which the
// Separator runs (without free columns), and the masks' products W_s h_s
// from the same panels.
//
// Row by row (klrows32.go), a row of K = 64 float32 is four registers: the
// dot product W_f . h ends in a reduction across lanes for every bin, and
// num += r_f W_f loads and stores all of num for every four bins. Panels
// turn that around: W (F x K) is repacked once, at construction, into
// panels of klPanelRows bins; within a panel, column k is klPanelRows
// consecutive float32 (the panel's W_fk), one AVX-512 register. For a
// panel, (W h) of its 16 bins is sum_k h_k * column k, sixteen bins per
// fused multiply-add and no reduction across lanes; the 16 ratios
// r = v / (W h) are one division; and W^T r is accumulated vertically:
// acc_k += column k * r, lane by lane, into a K x 16 float32 block, reduced
// across its lanes (in float64, into num) once every klPanelBlock panels.
// The panel is read from L2 once per pass and is still in L1 for the
// second half. The last panel is padded with zero W (and zero v), whose
// ratio 0 / epsilon = 0 adds nothing; panels whose 16 v are all zero are
// skipped. K is padded to a multiple of 4 (zero columns, zero h) for the
// loops unrolled by four.
//
// The assembly takes the panels eight or four at a time (klpanels32_amd64.s),
// so that each broadcast of h_k and each load and store of acc_k serves
// several panels: loads, not the multiply-adds, limit the pass.
//
// Error, with u = 2^-24 and every term positive (W, h, v >= 0), to first
// order: W_fk and h_k are rounded to float32 (2u); (W h)_f sums K terms in
// float32 partial sums of c terms each (one rounding per fused
// multiply-add, the first one included), then adds them (2u at most): four
// partial sums, c = ceil(K/4), in pure Go and four panels at a time; two,
// c = 2 ceil(K/4), eight panels at a time (the assembly for K <= klOctMaxK).
// v_f is rounded (u) and the division rounds (u), so r_f is within
// (c + 6) u. Each acc lane adds at most klPanelBlock terms W_fk r_f, one per
// panel (W_fk rounded, u, then one rounding per panel), and the 16 lanes of
// a row are added in float32 in four levels of a tree (assembly, 4u; in
// float64 in pure Go) before they go into the float64 num (u, generously).
// A sum of positive terms each within e is within e, so num_k is within
// (c + min(P, klPanelBlock) + 12) u of the float64 pass, relative, element
// by element, with P = ceil(F/16) panels (33 at F 513, 65 at F 1025):
// TestKLPanels32Bound checks it with c = 2 ceil(K/4) up to klOctMaxK.

// klPanelRows is the bins of a panel: one AVX-512 register of float32.
const klPanelRows = 16

// klOctMaxK is the largest kq (K rounded up to a multiple of 4) for which
// the assembly takes panels eight at a time: eight panels of it (32 KB at
// kq 64) must stay in L1 (48 KB here) between the two halves of the pass.
// At fft 1024, K 64 that made a frame (BenchmarkProcess) 7 % faster than
// four at a time.
const klOctMaxK = 64

// klPanelBlock is the most panels whose acc lanes are summed in float32
// before they go into the float64 num (a bound on the error above; F up to
// 1024 bins needs no intermediate reduction).
const klPanelBlock = 64

// panels32 is W (F x K) repacked as float32 panels for the Separator's
// passes and masks.
type panels32 struct {
	f, k int
	kq   int       // K rounded up to a multiple of 4
	np   int       // panels: ceil(F / klPanelRows)
	w    []float32 // np x kq x klPanelRows: w[(p*kq+k)*16+i] = W[16p+i, k]
	// rowSum is max_f sum_k W_fk, for the range check of the masks.
	rowSum float64
}

// newPanels32 repacks the F x K row-major w (stride stride). It allocates.
func newPanels32(w []float64, f, k, stride int) *panels32 {
	kq := (k + 3) &^ 3
	np := (f + klPanelRows - 1) / klPanelRows
	p := &panels32{f: f, k: k, kq: kq, np: np, w: make([]float32, np*kq*klPanelRows)}
	for i := range f {
		row := w[i*stride : i*stride+k]
		s := 0.0
		base := (i/klPanelRows*kq)*klPanelRows + i%klPanelRows
		for j, x := range row {
			p.w[base+j*klPanelRows] = float32(x)
			s += x
		}
		p.rowSum = max(p.rowSum, s)
	}
	return p
}

// The assembly (klpanels32_amd64.s), or nil where the CPU or build has none;
// unused while klRowsAsm is nil (tests set it so to run the pure-Go path).
var (
	klPanels32Asm  func(w, h, v, acc []float32, panels, kq int)
	panelDots32Asm func(w, h []float32, y []float64, panels, kq, lo, hi int)
	addLanes32Asm  func(num []float64, acc []float32, kq int)
)

// klPanels32 adds W^T (v / W h) to num (len >= kq) for the panels pn, with h
// (len >= kq, zero from K on) and v (len >= np*16, zero from F on) in
// float32, as klRows does for beta 1; acc (len >= kq*16) is float32 scratch
// that it leaves zero. It allocates nothing.
func klPanels32(pn *panels32, h, v, acc []float32, num []float64) {
	kq := pn.kq
	stride := kq * klPanelRows
	for lo := 0; lo < pn.np; lo += klPanelBlock {
		n := min(klPanelBlock, pn.np-lo)
		w := pn.w[lo*stride:]
		vb := v[lo*klPanelRows:]
		if klPanels32Asm != nil && klRowsAsm != nil {
			klPanels32Asm(w, h, vb, acc, n, kq)
			addLanes32Asm(num, acc, kq)
		} else {
			klPanels32Go(w, h, vb, acc, n, kq)
			addLanes32Go(num, acc, kq)
		}
	}
}

// klPanels32Go is the portable pass over n panels, in the order of the
// assembly: partial sums of W h (four; the assembly's octets take two), then
// acc_k += column k * r, panel after panel.
func klPanels32Go(w, h, v, acc []float32, n, kq int) {
	const m = klPanelRows
	h = h[:kq]
	acc = acc[:kq*m]
	var r [m]float32
	for p := range n {
		vp := v[p*m : p*m+m]
		if allZero32(vp) {
			continue
		}
		pw := w[p*kq*m : (p+1)*kq*m]
		var s [4][m]float32
		for k := 0; k < kq; k += 4 {
			for j := range 4 {
				c, x, sj := pw[(k+j)*m:(k+j)*m+m], h[k+j], &s[j]
				for i := range sj {
					sj[i] += c[i] * x
				}
			}
		}
		for i := range r {
			d := (s[0][i] + s[1][i]) + (s[2][i] + s[3][i])
			if d == 0 {
				d = epsilon
			}
			r[i] = vp[i] / d
		}
		for k := range kq {
			c, a := pw[k*m:k*m+m], acc[k*m:k*m+m]
			for i := range a {
				a[i] += c[i] * r[i]
			}
		}
	}
}

func allZero32(x []float32) bool {
	for _, a := range x {
		if a != 0 {
			return false
		}
	}
	return true
}

// addLanes32Go adds the 16 lanes of acc's row k, in float64, to num[k] for
// k < kq, and sets acc to zero. The assembly (16 rows at a time) adds the
// lanes in float32.
func addLanes32Go(num []float64, acc []float32, kq int) {
	for k := range kq {
		a := acc[k*klPanelRows : k*klPanelRows+klPanelRows]
		s := 0.0
		for _, x := range a {
			s += float64(x)
		}
		num[k] += s
		clear(a)
	}
}

// dots sets y[f] = sum_{lo <= k < hi} W_fk h_k (h in float32, the sums in
// float32) for every bin of every panel: y has length at least np*16 (the
// padding bins get 0). It allocates nothing.
func (pn *panels32) dots(h []float32, y []float64, lo, hi int) {
	if panelDots32Asm != nil && klRowsAsm != nil {
		panelDots32Asm(pn.w, h, y, pn.np, pn.kq, lo, hi)
		return
	}
	panelDots32Go(pn.w, h, y, pn.np, pn.kq, lo, hi)
}

func panelDots32Go(w, h []float32, y []float64, np, kq, lo, hi int) {
	const m = klPanelRows
	for p := range np {
		pw := w[p*kq*m : (p+1)*kq*m]
		var s [m]float32
		for k := lo; k < hi; k++ {
			c, x := pw[k*m:k*m+m], h[k]
			for i := range s {
				s[i] += c[i] * x
			}
		}
		yp := y[p*m : p*m+m]
		for i, x := range s {
			yp[i] = float64(x)
		}
	}
}
