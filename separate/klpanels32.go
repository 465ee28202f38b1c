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
// across its lanes into the float64 num once every klPanelBlock panels.
// The panel is read from L2 once per pass and is still in L1 for the
// second half. Panels whose 16 v are all zero are skipped. K is padded to a
// multiple of 4 (zero columns, zero h) for the loops unrolled by four. The
// bins after the last whole panel are taken row by row (klTail32Go), their
// products with r_f in float64.
//
// The assembly takes the panels eight or four at a time (klpanels32_amd64.s),
// so that each broadcast of h_k and each load and store of acc_k serves
// several panels: loads, not the multiply-adds, limit the pass. Without
// AVX-512, the AVX2 assembly (avx2_amd64.s) takes a panel's column in two
// registers of 8 lanes and the panels four at a time, W h in four partial
// sums as in pure Go (c = ceil(K/4)); it adds the 16 lanes of acc in two
// levels in float32, then in float64 (2u, within the 4u below).
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
// The tail rows' terms are within (ceil(K/4) + 9) u (a dot product in
// four float32 partial sums, or 16 lanes added by a tree, the zero padding
// adding exactly; products and sums in float64), less than the panels'. A
// sum of positive terms each within e is within e, so num_k is within
// (c + min(P, klPanelBlock) + 12) u of the float64 pass, relative, element
// by element, with P = ceil(F/16) (33 at F 513, 65 at F 1025):
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
// passes and masks. The bins after the last whole panel (F mod 16 of them:
// one, the Nyquist bin, for every F = fft_size/2 + 1 from fft_size 32 on)
// are kept as rows instead (tail): a panel for one bin costs as much as a
// panel for sixteen, 5 % of a frame at fft 1024, K 64.
type panels32 struct {
	f, k int
	kq   int       // K rounded up to a multiple of 4
	np   int       // whole panels: floor(F / klPanelRows)
	w    []float32 // np x kq x klPanelRows: w[(p*kq+k)*16+i] = W[16p+i, k]
	kt   int       // K rounded up to a multiple of 16: the stride of tail
	tail []float32 // (F mod 16) x kt: the rows of the last bins, zero padded
	// rowSum is max_f sum_k W_fk, for the range check of the masks.
	rowSum float64
}

// newPanels32 repacks the F x K row-major w (stride stride). It allocates.
func newPanels32(w []float64, f, k, stride int) *panels32 {
	kq := (k + 3) &^ 3
	kt := (k + 15) &^ 15
	np := f / klPanelRows
	p := &panels32{
		f: f, k: k, kq: kq, np: np, kt: kt,
		w:    make([]float32, np*kq*klPanelRows),
		tail: make([]float32, (f-np*klPanelRows)*kt),
	}
	for i := range f {
		row := w[i*stride : i*stride+k]
		s := 0.0
		for j, x := range row {
			if i < np*klPanelRows {
				p.w[(i/klPanelRows*kq+j)*klPanelRows+i%klPanelRows] = float32(x)
			} else {
				p.tail[(i-np*klPanelRows)*kt+j] = float32(x)
			}
			s += x
		}
		p.rowSum = max(p.rowSum, s)
	}
	return p
}

// The assembly (klpanels32_amd64.s for AVX-512, avx2_amd64.s for AVX2 and
// FMA), or nil where the CPU or build has none; unused while asm32 is false
// (tests set it so to run the pure-Go path).
var (
	klPanels32Asm  func(w, h, v, acc []float32, panels, kq int)
	panelDots32Asm func(w, h []float32, y []float64, panels, kq, lo, hi int)
	addLanes32Asm  func(num []float64, acc []float32, kq int)
	klTail32Asm    func(w, h, v []float32, num []float64, rows, kt int)
)

// asm32 says the float32 passes (here and in klrows32.go) run their
// assembly: set where a CPU has it (AVX-512, or AVX2 and FMA).
var asm32 = false

// klPanels32 adds W^T (v / W h) to num (len >= kt) for the panels pn and
// their tail, with h (len >= kt, zero from K on) and v (len >= F) in
// float32, as klRows does for beta 1; acc (len >= kq*16) is float32 scratch
// that it leaves zero. It allocates nothing.
func klPanels32(pn *panels32, h, v, acc []float32, num []float64) {
	kq := pn.kq
	stride := kq * klPanelRows
	asm := klPanels32Asm != nil && asm32
	for lo := 0; lo < pn.np; lo += klPanelBlock {
		n := min(klPanelBlock, pn.np-lo)
		w := pn.w[lo*stride:]
		vb := v[lo*klPanelRows:]
		if asm {
			klPanels32Asm(w, h, vb, acc, n, kq)
			addLanes32Asm(num, acc, kq)
		} else {
			klPanels32Go(w, h, vb, acc, n, kq)
			addLanes32Go(num, acc, kq)
		}
	}
	if t := pn.f - pn.np*klPanelRows; t > 0 {
		vt := v[pn.np*klPanelRows : pn.f]
		if asm {
			klTail32Asm(pn.tail, h, vt, num, t, pn.kt)
		} else {
			klTail32Go(pn.tail, h, vt, num, t, pn.kt)
		}
	}
}

// klTail32Go adds r_f W_f to num for the rows of the tail (rows x kt), as
// klRows does: W_f . h in float32 (dot32), the ratio in float32, the
// products and sums in float64. The assembly sums W_f . h in 16 lanes. Rows
// where v_f = 0 are skipped.
func klTail32Go(w, h, v []float32, num []float64, rows, kt int) {
	num = num[:kt]
	for f, vf := range v[:rows] {
		if vf == 0 {
			continue
		}
		row := w[f*kt : f*kt+kt]
		d := float32(dot32(row, h))
		if d == 0 {
			d = epsilon
		}
		q := float64(vf / d)
		for j, x := range row {
			num[j] += q * float64(x)
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
		panelWH32(&s, pw, h, kq)
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
// float32) for every bin: y has length at least F. It allocates nothing.
func (pn *panels32) dots(h []float32, y []float64, lo, hi int) {
	if pn.np > 0 {
		if panelDots32Asm != nil && asm32 {
			panelDots32Asm(pn.w, h, y, pn.np, pn.kq, lo, hi)
		} else {
			panelDots32Go(pn.w, h, y, pn.np, pn.kq, lo, hi)
		}
	}
	h = h[lo:hi]
	for f := pn.np * klPanelRows; f < pn.f; f++ {
		row := pn.tail[(f-pn.np*klPanelRows)*pn.kt:]
		var s float32
		for j, x := range h {
			s += row[lo+j] * x
		}
		y[f] = float64(s)
	}
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

// panelWH32 adds one panel's W h into four partial sums, column k into
// s[k%4], as the assembly of the float32 passes does (klPanels32Go,
// b05Panels32Go): the order their tests hold the assembly to. kq is a
// multiple of 4. It allocates nothing.
func panelWH32(s *[4][klPanelRows]float32, pw, h []float32, kq int) {
	const m = klPanelRows
	for k := 0; k < kq; k += 4 {
		for j := range 4 {
			c, x, sj := pw[(k+j)*m:(k+j)*m+m], h[k+j], &s[j]
			for i := range sj {
				sj[i] += c[i] * x
			}
		}
	}
}
