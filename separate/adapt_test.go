package separate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestAdaptStep: one update of adapted bases by hand. F = 2, K = 2,
// W = [[1, 2], [3, 4]], W0 the same, h = (1, 2), v = (10, 22), rho = 0.5,
// c = 2, A and B from an earlier frame A = [[1, 1], [1, 1]], B = (1, 1):
//
//	W h = (5, 11), r = v / W h = (2, 2)
//	A = 0.5 A + W o (r h^T) = [[0.5 + 2, 0.5 + 8], [0.5 + 6, 0.5 + 16]]
//	B = 0.5 B + h = (1.5, 2.5), lambda = 2 mean(B) = 4
//	W = (A + 4 W0) / (B + 4) = [[6.5/5.5, 16.5/6.5], [18.5/5.5, 32.5/6.5]]
func TestAdaptStep(t *testing.T) {
	b, err := NewBases([]string{"a", "b"}, []*mat.Dense{
		mat.NewDense(2, 1, []float64{1, 3}), mat.NewDense(2, 1, []float64{2, 4}),
	})
	if err != nil {
		t.Fatal(err)
	}
	p := DefaultParams()
	p.Forget, p.Adapt = 0.5, 2
	s, err := NewSeparator(b, p)
	if err != nil {
		t.Fatal(err)
	}
	// W in float32 panels (adaptpanels.go; here F = 2: two tail rows) is
	// rounded to float32, and so is the W h it is taken from: within
	// 2^-23 relative.
	tol := 1e-15
	if s.ad.pp != nil {
		copy(s.ad.pp.at, []float64{1, 1, 1, 1})
		tol = 0x1p-22
	} else {
		copy(s.ad.a, []float64{1, 1, 1, 1})
	}
	copy(s.ad.b, []float64{1, 1})
	copy(s.h, []float64{1, 2})
	s.adaptStep([]float64{10, 22})
	want := []float64{6.5 / 5.5, 16.5 / 6.5, 18.5 / 5.5, 32.5 / 6.5}
	for i, x := range want {
		if got := adaptedW(s)[i]; math.Abs(got-x) > tol*x {
			t.Errorf("W[%d] = %v, want %v", i, got, x)
		}
	}
	// The kernel follows: its column sums (beta 1) are those of the new W.
	if got, want := s.kn.colDen[0], want[0]+want[2]; math.Abs(got-want) > tol*want {
		t.Errorf("column sum %v, want %v", got, want)
	}
	s.ResetFree()
	for i, x := range []float64{1, 2, 3, 4} {
		if got := adaptedW(s)[i]; got != x {
			t.Errorf("after ResetFree W[%d] = %v, want %v", i, got, x)
		}
	}
}

// adaptedW is the Separator's adapted bases, F x K row-major.
func adaptedW(s *Separator) []float64 {
	if s.ad.pp != nil {
		return s.ad.pp.adaptW(nil)
	}
	return s.w.Data
}

// TestAdaptLimits: with an overwhelming prior the adapted bases stay the
// given ones, and the masks are those of fixed bases (to the float32
// passes' rounding, which fixed bases may take and adapted ones do not);
// the masks stay masks (in [0, 1], summing to 1) with a weak one; ResetFree
// starts over exactly; and a frame allocates nothing.
func TestAdaptLimits(t *testing.T) {
	b := fixtureBases(t)
	V := fixtureV(t)
	_, T := V.Dims()
	for _, beta := range []float64{1, 0.5, 2} {
		t.Run(fmt.Sprint("beta", beta), func(t *testing.T) {
			p := DefaultParams()
			p.Beta = beta
			fixed, err := NewSeparator(b, p)
			if err != nil {
				t.Fatal(err)
			}
			p.Adapt = 1e12
			stiff, err := NewSeparator(b, p)
			if err != nil {
				t.Fatal(err)
			}
			p.Adapt = 0.5
			weak, err := NewSeparator(b, p)
			if err != nil {
				t.Fatal(err)
			}
			m1, m2, m3 := newMasks(2, b.F()), newMasks(2, b.F()), newMasks(2, b.F())
			worst := 0.0
			var first [][]float64
			for j := range T {
				v := column(V, j)
				fixed.Process(m1, v)
				stiff.Process(m2, v)
				weak.Process(m3, v)
				if j == 0 {
					first = [][]float64{append([]float64(nil), m3[0]...), append([]float64(nil), m3[1]...)}
				}
				for f := range m1[0] {
					worst = max(worst, math.Abs(m1[0][f]-m2[0][f]))
					if s := m3[0][f] + m3[1][f]; math.Abs(s-1) > 1e-12 || m3[0][f] < 0 || m3[0][f] > 1 {
						t.Fatalf("frame %d bin %d: weak prior masks %v, %v", j, f, m3[0][f], m3[1][f])
					}
				}
			}
			if worst > 1e-5 {
				t.Errorf("prior 1e12: masks differ from fixed bases' by %g, want <= 1e-5", worst)
			}
			weak.Reset()
			weak.ResetFree()
			weak.Process(m3, column(V, 0))
			for s := range first {
				for f := range first[s] {
					if m3[s][f] != first[s][f] {
						t.Fatalf("after ResetFree, mask %d bin %d: %v, want %v as at the start", s, f, m3[s][f], first[s][f])
					}
				}
			}
			cols := make([][]float64, T)
			for j := range cols {
				cols[j] = column(V, j)
			}
			j := 0
			if n := testing.AllocsPerRun(50, func() { weak.Process(m3, cols[j%T]); j++ }); n != 0 {
				t.Errorf("%v allocations per frame, want 0", n)
			}
		})
	}
}

// TestAdaptRejectsFree: adapted and free bases do not go together.
func TestAdaptRejectsFree(t *testing.T) {
	b := fixtureBases(t)
	b.Free = make([]int, b.NumSources())
	b.Free[1] = 1
	p := DefaultParams()
	p.Adapt = 5
	if _, err := NewSeparator(b, p); err == nil || !strings.Contains(err.Error(), "free bases") {
		t.Fatalf("adapt with free bases: %v, want an error saying they do not go together", err)
	}
	p.Adapt = math.Inf(1)
	if _, err := NewSeparator(fixtureBases(t), p); err == nil {
		t.Fatal("adapt = +Inf accepted")
	}
}

// TestAdaptPanelsMatchRows: the update of adapted bases in float32 panels
// (adaptpanels.go; assembly and pure Go) against the float64 rows of
// adaptStep, on the same bases (the fixture's, rounded to float32, so that
// both start from the same W) and the same activations and frames: the
// fixture's 200 frames, each with seeded random h, 3 times over (600
// frames, 7 half-lives of A at rho 0.99), with and without reconstruction
// bases. The panels round W to float32 every frame (u = 2^-24) and take
// W h from it: one frame's W is within a few u of the rows' (see
// adaptpanels.go), and the rounding does not pile up: every frame's W
// within 16u, relative, of the rows' (measured: 1.8u), and the masks'
// W_s h_s within the same (measured: 0.5u).
func TestAdaptPanelsMatchRows(t *testing.T) {
	withKLPaths(t, func(t *testing.T) {
		b := fixtureBases(t)
		for i := range b.F() {
			for j := range b.K() {
				b.W.Set(i, j, float64(float32(b.W.At(i, j))))
			}
		}
		V := fixtureV(t)
		_, T := V.Dims()
		for _, beta := range []float64{1, 0.5} {
			for _, recon := range []bool{false, true} {
				bb := *b
				if recon {
					bb.Recon = mat.DenseCopyOf(b.W)
					bb.Recon.Apply(func(i, j int, x float64) float64 { return x * float64(1+(i+j)%3) }, bb.Recon)
				}
				p := DefaultParams()
				p.Beta, p.Adapt = beta, 5
				pan, err := NewSeparator(&bb, p)
				if err != nil {
					t.Fatal(err)
				}
				if pan.ad.pp == nil {
					t.Skip("adapted bases stay in rows on this path")
				}
				forceAdaptRows = true
				rows, err := NewSeparator(&bb, p)
				forceAdaptRows = false
				if err != nil {
					t.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(21, 22))
				worstW, worstY := 0.0, 0.0
				for n := range 3 * T {
					v := column(V, n%T)
					for j := range pan.h {
						pan.h[j] = rng.ExpFloat64()
						rows.h[j] = pan.h[j]
					}
					pan.adaptStep(v)
					rows.adaptStep(v)
					got := adaptedW(pan)
					for i, x := range rows.w.Data {
						if x == 0 && got[i] != 0 {
							t.Fatalf("frame %d: W[%d] = %v, rows 0", n, i, got[i])
						} else if x > 0 {
							worstW = max(worstW, math.Abs(got[i]-x)/x)
						}
					}
					if !recon {
						rows.masksGemv()
					}
					for s := range pan.y {
						for i, x := range rows.y[s] {
							if x > 0 {
								worstY = max(worstY, math.Abs(pan.y[s][i]-x)/x)
							}
						}
					}
					pan.ad.pp.fresh = false
				}
				name := fmt.Sprintf("beta %v recon %v", beta, recon)
				if !(worstW <= 16*0x1p-24) || !(worstY <= 16*0x1p-24) {
					t.Errorf("%s: W within %.3g, W_s h_s within %.3g of the rows', relative; bound %.3g", name, worstW, worstY, 16*0x1p-24)
				}
				t.Logf("%s: W within %.2f u, W_s h_s within %.2f u of the rows' (u = 2^-24)", name, worstW/0x1p-24, worstY/0x1p-24)
			}
		}
	})
}
