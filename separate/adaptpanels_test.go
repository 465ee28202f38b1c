package separate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestAdaptPanelsAsmMatchesGo: the assembly update of adapted bases in
// panels (AVX-512; AVX2 as a CPU without AVX-512 runs it) against
// adaptPanelsGo on random panels and statistics, for 1 to 5 panels, kq from
// 4 to 132 with padding columns (K < kq), one to three sources, with and
// without reconstruction bases. Both compute the same float64 values in
// the same order but for the fused multiply-adds (one rounding fewer per
// product added: W h, A, A + lam W0, W qa + qb, y) and the column sums'
// lanes (added pairwise before cs in the assembly): every value within
// 2^-40 relative (W h and y sum up to 132 terms of float64 rounding,
// 2^-53 each: far below), and W, rounded to float32, within one float32
// ulp where the float64 values straddle a rounding boundary.
func TestAdaptPanelsAsmMatchesGo(t *testing.T) {
	if adaptPanelsAsm == nil || !asm32 {
		t.Skip("no assembly adapted-bases update on this CPU or build")
	}
	testAdaptPanelsAsm(t)
	if withAVX2 != nil {
		restore := withAVX2()
		defer restore()
		t.Run("avx2", testAdaptPanelsAsm)
	}
}

func testAdaptPanelsAsm(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, c := range []struct{ panels, k int }{{1, 4}, {2, 7}, {3, 16}, {5, 64}, {4, 129}, {1, 33}} {
		for _, recon := range []bool{false, true} {
			kq := (c.k + 3) &^ 3
			stride := adaptStride
			f := c.panels*klPanelRows + 1
			w := make([]float32, c.panels*kq*klPanelRows)
			st := make([]float64, c.panels*kq*stride)
			var rq []float32
			if recon {
				rq = make([]float32, c.panels*kq*adaptStrideRecon)
			}
			for p := range c.panels {
				for j := range c.k {
					for i := range klPanelRows {
						w[(p*kq+j)*klPanelRows+i] = float32(rng.ExpFloat64())
					}
					for i := range stride {
						st[(p*kq+j)*stride+i] = rng.ExpFloat64()
					}
					if recon {
						for i := range adaptStrideRecon {
							rq[(p*kq+j)*adaptStrideRecon+i] = float32(rng.ExpFloat64())
						}
					}
				}
			}
			v := make([]float64, f)
			for i := range v {
				v[i] = 10 * rng.ExpFloat64()
			}
			v[3] = 0
			hi := make([]float64, 2*kq)
			for j := range c.k {
				hi[2*j], hi[2*j+1] = rng.ExpFloat64(), 1/(1+rng.ExpFloat64())
			}
			start := []int{0, c.k}
			if c.k > 2 {
				start = []int{0, c.k / 3, c.k/3 + 1, c.k}
			}
			ns := len(start) - 1
			y, yGo := make([]float64, ns*f), make([]float64, ns*f)
			cs, csGo := make([]float64, 8*kq), make([]float64, 8*kq)
			wGo, stGo := append([]float32(nil), w...), append([]float64(nil), st...)
			adaptPanelsGo(wGo, stGo, rq, v, hi, yGo, csGo, start, c.panels, kq, f, 0.99, 0.7)
			adaptPanelsAsm(w, st, rq, v, hi, y, cs, start, c.panels, kq, f, 0.99, 0.7)
			name := fmt.Sprintf("panels %d K %d recon %v", c.panels, c.k, recon)
			near := func(what string, got, want []float64) {
				t.Helper()
				for i := range want {
					if e := math.Abs(got[i] - want[i]); e > 0x1p-40*math.Abs(want[i]) {
						t.Fatalf("%s: %s[%d] = %.17g, Go %.17g", name, what, i, got[i], want[i])
					}
				}
			}
			near("A", st, stGo)
			near("y", y, yGo)
			near("cs", cs, csGo)
			for i := range wGo {
				if d := math.Abs(float64(w[i]) - float64(wGo[i])); d > 0x1p-23*float64(wGo[i]) {
					t.Fatalf("%s: W[%d] = %v, Go %v", name, i, w[i], wGo[i])
				}
			}
		}
	}
}
