package separate

// Bases that follow the mixture (Params.Adapt) for beta 1 and 0.5, kept as
// the float32 panels that the passes read (klpanels32.go, b05panels32.go).
//
// Row by row (adaptStep's loop), a frame's update took W h in float64
// (Gemv), then for every bin and basis A <- rho A + W r h, a division for
// W, then the kernel's copies of W (the padded float64 rows and their
// float32 copy) and, for the masks, W_s h_s in float64 (Gemv): five passes
// over F x K values, most of them in scalar Go, 60 % of a frame of the
// quality setting at fft 1024, K 64, 10 iterations (BenchmarkProcessAdapt:
// 128 us, of which the projection 59).
//
// Here the adapted W lives only in float32 panels (pan, the ones the
// passes read); A and W0 are float64, stored beside each panel column in
// the panels' layout (st; with reconstruction bases the masks' factors in
// float32, rq, below), and one pass per frame (adaptPanelsGo; AVX-512 and
// AVX2 assembly) does, for each panel of 16 bins:
//
//	W h of the 16 bins, in float64 from the float32 W (two partial sums,
//	columns k mod 2), r = v / max(W h, epsilon)
//	for each column k, source by source:
//	    A <- rho A + (W r) h_k             (W as stored, widened)
//	    W <- (A + lambda W0) / (B_k + lambda)   (times the reciprocal)
//	    store W rounded to float32
//	    y_s += W h_k, or (W qa + qb) h_k with reconstruction bases
//	    cs_k += W                          (column sums, for beta 1's den)
//
// so W, A and W0 are read once and W h of the masks comes for free (the
// masks use the updated bases, as before). The bins after the last whole
// panel (tail; the Nyquist bin) are done the same way row by row in Go.
//
// With reconstruction bases the masks take W'_s o (W_s / W0_s): qa = W'/W0
// and qb = 0 where W0 > 0; qa = 0 and qb = W' where W0 = 0 (the adapted W
// stays exactly 0 there: A starts at 0 and grows by W r h = 0). qa and qb
// are kept in float32 (rq, beside st in the same order), so that st, rq and
// the panels (896 KB at fft 1024, K 64) stay in a 1 MB L2: in float64 in st
// (1.1 MB) the pass took 37 % of a frame against 23 % without them. The
// masks' W'_s h_s are then within 2^-24 relative of products with the
// float64 factors (each term rounded once, u, and all of them positive).
//
// Error, against the float64 row-by-row update on the same float32 W,
// with u = 2^-24: W h sums K products of float32 values rounded from W
// (u) in float64 (exact to 2^-53): within u, relative, and r within 2u;
// the update in float64 differs by a few 2^-53 (the reciprocal instead of
// a division, fused multiply-adds in the assembly). What float32 adds is
// W's rounding, u, at every frame: A sums the frames' W r h, each within
// 3u, so A stays within 3u relative, plus what earlier frames' W errors
// carry through r into later frames: the update is a contraction (the
// new W depends on the old one with weight at most rho + (1 - rho)/(1 +
// c) < 1 at a basis used as much as the average), so the errors do not
// grow without bound. TestAdaptPanelsMatchRows runs it against adaptStep's
// float64 rows for hundreds of frames.

// adaptStride is the float64 values per panel column in st (A and W0 of 16
// bins), adaptStrideRecon the float32 values per panel column in rq (qa
// and qb of 16 bins).
const (
	adaptStride      = 2 * klPanelRows
	adaptStrideRecon = 2 * klPanelRows
)

// adaptPanels is the state of bases that follow the mixture in panels.
type adaptPanels struct {
	pan   *panels32 // the adapted W in float32: the kernel's passes read it
	st    []float64 // np x kq x adaptStride: A, W0 of each panel column
	rq    []float32 // np x kq x adaptStrideRecon: qa, qb; nil without reconstruction bases
	recon bool      // rq is not nil
	// The tail rows (F mod 16 bins), row-major with stride K.
	at, w0t, qat, qbt []float64
	hi                []float64 // kq x 2: h_k and 1/(B_k + lambda), zero padded
	cs                []float64 // kq x 8: the lanes of the column sums of W (panels)
	colSum            []float64 // K: the column sums of W
	start             []int     // the sources' first columns, and K
	y                 []float64 // S x F: the masks' W_s h_s, s.y are its rows
	fresh             bool      // y holds this frame's W_s h_s
}

// newAdaptPanels puts the bases w (F x K, stride K) into panels, with
// reconstruction bases rw (F x K, stride K) if not nil, and sets the
// Separator's y to rows of one S x F block. It allocates.
func newAdaptPanels(s *Separator, w, rw []float64) *adaptPanels {
	f, k := s.f, s.k
	pn := newPanels32(w, f, k, k)
	stride := adaptStride
	t := f - pn.np*klPanelRows
	ap := &adaptPanels{
		pan: pn, st: make([]float64, pn.np*pn.kq*stride), recon: rw != nil,
		at: make([]float64, t*k), w0t: make([]float64, t*k),
		hi: make([]float64, pn.kq*2), cs: make([]float64, pn.kq*8), colSum: make([]float64, k),
		start: append([]int(nil), s.start...),
		y:     make([]float64, len(s.y)*f),
	}
	if rw != nil {
		ap.qat, ap.qbt = make([]float64, t*k), make([]float64, t*k)
		ap.rq = make([]float32, pn.np*pn.kq*adaptStrideRecon)
	}
	for i := range f {
		for j := range k {
			w0 := w[i*k+j]
			var qa, qb float64
			if rw != nil {
				if w0 > 0 {
					qa = rw[i*k+j] / w0
				} else {
					qb = rw[i*k+j]
				}
				qa, qb = float64(float32(qa)), float64(float32(qb)) // as rq holds them
			}
			if p := i / klPanelRows; p < pn.np {
				o := (p*pn.kq+j)*stride + i%klPanelRows
				ap.st[o+klPanelRows] = w0
				if rw != nil {
					q := (p*pn.kq+j)*adaptStrideRecon + i%klPanelRows
					ap.rq[q], ap.rq[q+klPanelRows] = float32(qa), float32(qb)
				}
				continue
			}
			o := (i-pn.np*klPanelRows)*k + j
			ap.w0t[o] = w0
			if rw != nil {
				ap.qat[o], ap.qbt[o] = qa, qb
			}
		}
	}
	for src := range s.y {
		s.y[src] = ap.y[src*f : (src+1)*f]
	}
	return ap
}

// adaptPanelsAsm is the assembly of adaptPanelsGo (AVX-512,
// adaptpanels_amd64.s; AVX2, avx2_amd64.s), or nil; unused while asm32 is
// false.
var adaptPanelsAsm func(w []float32, st []float64, rq []float32, v, hi, y, cs []float64, start []int, panels, kq, f int, rho, lam float64)

// step updates the adapted bases with the frame v and the activations h
// (see the top of this file), B already updated and lam its lambda; it
// leaves the masks' W_s h_s in y and, if colDen is not nil, the new column
// sums plus l1 (0 -> epsilon) in colDen. It allocates nothing.
func (ap *adaptPanels) step(v, h, b []float64, rho, lam, l1 float64, colDen []float64) {
	pn := ap.pan
	k := pn.k
	for j := range k {
		ap.hi[2*j] = h[j]
		ap.hi[2*j+1] = 1 / (b[j] + lam)
	}
	f := pn.f
	clear(ap.cs)
	if pn.np > 0 {
		if adaptPanelsAsm != nil && asm32 {
			adaptPanelsAsm(pn.w, ap.st, ap.rq, v, ap.hi, ap.y, ap.cs, ap.start, pn.np, pn.kq, f, rho, lam)
		} else {
			adaptPanelsGo(pn.w, ap.st, ap.rq, v, ap.hi, ap.y, ap.cs, ap.start, pn.np, pn.kq, f, rho, lam)
		}
	}
	for j := range k {
		s := 0.0
		for _, x := range ap.cs[j*8 : j*8+8] {
			s += x
		}
		ap.colSum[j] = s
	}
	ap.tail(v, rho, lam)
	ap.fresh = true
	if colDen != nil {
		for j, x := range ap.colSum {
			x += l1
			if x == 0 {
				x = epsilon
			}
			colDen[j] = x
		}
	}
}

// tail does the tail rows, as adaptPanelsGo does a panel's 16 bins.
func (ap *adaptPanels) tail(v []float64, rho, lam float64) {
	pn := ap.pan
	k := pn.k
	for t := range pn.f - pn.np*klPanelRows {
		i := pn.np*klPanelRows + t
		row := pn.tail[t*pn.kt : t*pn.kt+k]
		wh0, wh1 := 0.0, 0.0
		for j := 0; j+1 < k; j += 2 {
			wh0 += float64(row[j]) * ap.hi[2*j]
			wh1 += float64(row[j+1]) * ap.hi[2*j+2]
		}
		if k%2 == 1 {
			wh0 += float64(row[k-1]) * ap.hi[2*k-2]
		}
		r := v[i] / max(wh0+wh1, epsilon)
		a, w0 := ap.at[t*k:t*k+k], ap.w0t[t*k:t*k+k]
		for src := range len(ap.start) - 1 {
			y := 0.0
			for j := ap.start[src]; j < ap.start[src+1]; j++ {
				hj, inv := ap.hi[2*j], ap.hi[2*j+1]
				a[j] = rho*a[j] + float64(row[j])*r*hj
				w := (a[j] + lam*w0[j]) * inv
				row[j] = float32(w)
				ap.colSum[j] += w
				if ap.recon {
					w = w*ap.qat[t*k+j] + ap.qbt[t*k+j]
				}
				y += w * hj
			}
			ap.y[src*pn.f+i] = y
		}
	}
}

// adaptPanelsGo updates the panels (w: panels x kq x 16 float32) and their
// statistics st (A, W0: panels x kq x adaptStride) with the
// frame v and hi (h_k and 1/(B_k + lam), interleaved), writes the masks'
// W_s h_s of the panels' bins into y (source s at s*f) for the sources
// whose columns start says, or (W qa + qb) h with the factors rq (qa, qb:
// panels x kq x adaptStrideRecon) if it is not empty, and adds the new W's
// values into cs (kq x 8, lane i mod 8 of a column).
func adaptPanelsGo(w []float32, st []float64, rq []float32, v, hi, y, cs []float64, start []int, panels, kq, f int, rho, lam float64) {
	const m = klPanelRows
	stride := adaptStride
	recon := len(rq) > 0
	var r, wh0, wh1 [m]float64
	for p := range panels {
		pw := w[p*kq*m : (p+1)*kq*m]
		clear(wh0[:])
		clear(wh1[:])
		for j := 0; j < kq; j += 2 {
			c0, c1, h0, h1 := pw[j*m:j*m+m], pw[(j+1)*m:(j+1)*m+m], hi[2*j], hi[2*j+2]
			for i := range m {
				wh0[i] += float64(c0[i]) * h0
				wh1[i] += float64(c1[i]) * h1
			}
		}
		for i := range r {
			r[i] = v[p*m+i] / max(wh0[i]+wh1[i], epsilon)
		}
		for src := range len(start) - 1 {
			var ys [m]float64
			for j := start[src]; j < start[src+1]; j++ {
				c := pw[j*m : j*m+m]
				o := (p*kq + j) * stride
				a, w0 := st[o:o+m], st[o+m:o+2*m]
				hj, inv := hi[2*j], hi[2*j+1]
				cj := cs[j*8 : j*8+8]
				for i := range m {
					a[i] = rho*a[i] + float64(c[i])*r[i]*hj
					x := (a[i] + lam*w0[i]) * inv
					c[i] = float32(x)
					cj[i%8] += x
					if recon {
						q := (p*kq + j) * adaptStrideRecon
						x = x*float64(rq[q+i]) + float64(rq[q+m+i])
					}
					ys[i] += x * hj
				}
			}
			copy(y[src*f+p*m:src*f+p*m+m], ys[:])
		}
	}
}

// adaptW returns the adapted bases, F x K row-major in float64, from the
// panels (for tests and the masks of a frame the update skipped). It
// allocates if dst is too short.
func (ap *adaptPanels) adaptW(dst []float64) []float64 {
	pn := ap.pan
	k := pn.k
	if len(dst) < pn.f*k {
		dst = make([]float64, pn.f*k)
	}
	for i := range pn.f {
		for j := range k {
			if p := i / klPanelRows; p < pn.np {
				dst[i*k+j] = float64(pn.w[(p*pn.kq+j)*klPanelRows+i%klPanelRows])
			} else {
				dst[i*k+j] = float64(pn.tail[(i-pn.np*klPanelRows)*pn.kt+j])
			}
		}
	}
	return dst
}

// masks sets y to the masks' W_s h_s (or W'_s o (W_s / W0_s) h_s) from the
// panels as they are, in float64: for a frame the update skipped (NaN or
// Inf in v). It allocates nothing.
func (ap *adaptPanels) masks(h []float64) {
	pn := ap.pan
	k := pn.k
	for i := range pn.f {
		p, l := i/klPanelRows, i%klPanelRows
		for src := range len(ap.start) - 1 {
			y := 0.0
			for j := ap.start[src]; j < ap.start[src+1]; j++ {
				var w float64
				if p < pn.np {
					w = float64(pn.w[(p*pn.kq+j)*klPanelRows+l])
					if ap.recon {
						q := (p*pn.kq+j)*adaptStrideRecon + l
						w = w*float64(ap.rq[q]) + float64(ap.rq[q+klPanelRows])
					}
				} else {
					t := i - pn.np*klPanelRows
					w = float64(pn.tail[t*pn.kt+j])
					if ap.recon {
						w = w*ap.qat[t*k+j] + ap.qbt[t*k+j]
					}
				}
				y += w * h[j]
			}
			ap.y[src*pn.f+i] = y
		}
	}
}

// reset returns the panels to W0 and forgets A. It allocates nothing.
func (ap *adaptPanels) reset() {
	pn := ap.pan
	k := pn.k
	stride := adaptStride
	for p := range pn.np {
		for j := range k {
			o := (p*pn.kq + j) * stride
			clear(ap.st[o : o+klPanelRows])
			for i := range klPanelRows {
				pn.w[(p*pn.kq+j)*klPanelRows+i] = float32(ap.st[o+klPanelRows+i])
			}
		}
	}
	clear(ap.at)
	for t := range pn.f - pn.np*klPanelRows {
		for j := range k {
			pn.tail[t*pn.kt+j] = float32(ap.w0t[t*k+j])
		}
	}
	ap.fresh = false
}
