//go:build !purego

package separate

func init() {
	if haveAVX512 {
		adaptPanelsAsm = adaptPanelsAVX512Slices
	}
}

// adaptPanelsAVX512 is adaptPanelsGo (adaptpanels_amd64.s); ns is the
// number of sources (len(start) - 1), rq nil without reconstruction bases.
//
//go:noescape
func adaptPanelsAVX512(w *float32, st *float64, rq *float32, v, hi, y, cs *float64, start *int, ns, panels, kq, f int, rho, lam float64)

// adaptPanelsCheck panics unless the slices hold what adaptPanelsGo reads
// and writes.
func adaptPanelsCheck(w []float32, st []float64, rq []float32, v, hi, y, cs []float64, start []int, panels, kq, f int) *float32 {
	ns := len(start) - 1
	if panels < 1 || kq < 4 || kq&3 != 0 || ns < 1 || start[0] != 0 || start[ns] > kq ||
		len(w) < panels*kq*klPanelRows || len(st) < panels*kq*adaptStride || len(v) < panels*klPanelRows ||
		(len(rq) > 0 && len(rq) < panels*kq*adaptStrideRecon) ||
		len(hi) < 2*kq || len(y) < (ns-1)*f+panels*klPanelRows || len(cs) < 8*kq || f < panels*klPanelRows {
		panic("separate: adaptPanels: bad dimensions")
	}
	for s := range ns {
		if start[s+1] < start[s] {
			panic("separate: adaptPanels: bad dimensions")
		}
	}
	if len(rq) == 0 {
		return nil
	}
	return &rq[0]
}

func adaptPanelsAVX512Slices(w []float32, st []float64, rq []float32, v, hi, y, cs []float64, start []int, panels, kq, f int, rho, lam float64) {
	q := adaptPanelsCheck(w, st, rq, v, hi, y, cs, start, panels, kq, f)
	adaptPanelsAVX512(&w[0], &st[0], q, &v[0], &hi[0], &y[0], &cs[0], &start[0], len(start)-1, panels, kq, f, rho, lam)
}
