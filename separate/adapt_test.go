package separate

import (
	"fmt"
	"math"
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
	copy(s.ad.a, []float64{1, 1, 1, 1})
	copy(s.ad.b, []float64{1, 1})
	copy(s.h, []float64{1, 2})
	s.adaptStep([]float64{10, 22})
	want := []float64{6.5 / 5.5, 16.5 / 6.5, 18.5 / 5.5, 32.5 / 6.5}
	for i, x := range want {
		if got := s.w.Data[i]; math.Abs(got-x) > 1e-15 {
			t.Errorf("W[%d] = %v, want %v", i, got, x)
		}
	}
	// The kernel follows: its column sums (beta 1) are those of the new W.
	if got, want := s.kn.colDen[0], want[0]+want[2]; math.Abs(got-want) > 1e-15 {
		t.Errorf("column sum %v, want %v", got, want)
	}
	s.ResetFree()
	for i, x := range []float64{1, 2, 3, 4} {
		if s.w.Data[i] != x {
			t.Errorf("after ResetFree W[%d] = %v, want %v", i, s.w.Data[i], x)
		}
	}
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
