package separate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// refSemi is the semi-supervised Separator written plainly from the
// formulas of its documentation, with refStep for h and math.Pow
// everywhere: it recomputes W h, the column sums and the Gram matrix from
// scratch, so it also checks that the kernel's caches follow the free
// columns.
type refSemi struct {
	p     Params
	w     [][]float64 // F x K
	free  [][2]int    // column ranges
	a, b  [][]float64 // F x K (only free columns used)
	h     []float64
	hmax  float64
	fresh bool
}

func newRefSemi(bases *Bases, p Params) *refSemi {
	F, K := bases.F(), bases.K()
	r := &refSemi{p: p, fresh: true, h: make([]float64, K)}
	for f := 0; f < F; f++ {
		r.w = append(r.w, mat.Row(nil, f, bases.W))
		r.a = append(r.a, make([]float64, K))
		r.b = append(r.b, make([]float64, K))
	}
	for s, n := range bases.Free {
		if n > 0 {
			r.free = append(r.free, [2]int{bases.Start[s+1] - n, bases.Start[s+1]})
		}
	}
	for _, fr := range r.free {
		for k := fr[0]; k < fr[1]; k++ {
			n := 0.0
			for f := range r.w {
				n += r.w[f][k]
			}
			for f := range r.w {
				r.w[f][k] /= n
			}
		}
	}
	return r
}

func (r *refSemi) gamma() float64 {
	if r.p.Beta < 1 {
		return 1 / (2 - r.p.Beta)
	}
	return 1
}

func (r *refSemi) process(v []float64) {
	F, K := len(r.w), len(r.h)
	if r.fresh || !(r.hmax > 0) {
		c := math.Sqrt(floatsSum(v) / float64(F) / float64(K))
		for k := range r.h {
			r.h[k] = c
		}
	} else {
		for k, x := range r.h {
			r.h[k] = math.Max(x, r.p.Floor*r.hmax)
		}
	}
	for n := 1; ; n++ {
		r.h = refStep(r.w, r.h, v, r.p.Beta, r.p.Sparsity)
		if n == r.p.Iterations {
			break
		}
		r.freeStep(v, false)
	}
	r.hmax = maxOf(r.h)
	r.fresh = false
	r.freeStep(v, true)
}

func (r *refSemi) freeStep(v []float64, commit bool) {
	F, K := len(r.w), len(r.h)
	beta, g, rho := r.p.Beta, r.gamma(), r.p.Forget
	wh := make([]float64, F)
	for f := range F {
		for k := range K {
			wh[f] += r.w[f][k] * r.h[k]
		}
	}
	for _, fr := range r.free {
		for f := range F {
			xs, xd := wh[f], wh[f]
			if beta < 2 && xs == 0 {
				xs = epsilon
			}
			if beta < 1 && xd == 0 {
				xd = epsilon
			}
			p, q := v[f]*math.Pow(xs, beta-2), math.Pow(xd, beta-1)
			for k := fr[0]; k < fr[1]; k++ {
				an := rho*r.a[f][k] + p*r.h[k]*math.Pow(r.w[f][k], 1/g)
				bn := rho*r.b[f][k] + q*r.h[k]
				if commit {
					r.a[f][k], r.b[f][k] = an, bn
				}
				if bn > 0 {
					r.w[f][k] = math.Pow(an/bn, g)
				}
			}
		}
		if !commit {
			continue
		}
		for k := fr[0]; k < fr[1]; k++ {
			n := 0.0
			for f := range F {
				n += r.w[f][k]
			}
			for f := range F {
				r.w[f][k] /= n
				r.a[f][k] *= math.Pow(n, 1-1/g)
				r.b[f][k] *= n
			}
			r.h[k] *= n
		}
	}
	if commit {
		r.hmax = maxOf(r.h)
	}
}

func floatsSum(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s
}

// withFree returns a copy of b whose sources have free[s] free columns.
func withFree(b *Bases, free ...int) *Bases {
	c := *b
	c.W = mat.DenseCopyOf(b.W)
	c.Free = free
	return &c
}

// TestFreeAgainstReference runs the Separator with free columns (a whole
// source, and part of one) beside refSemi on 20 frames of the fixture, for
// every special case of beta, and compares the activations and the free
// bases after every frame. 1e-9 relative: summation order and an ulp or two
// per power, compounded over 20 frames of multiplicative updates.
func TestFreeAgainstReference(t *testing.T) {
	b := fixtureBases(t)
	V := fixtureV(t)
	for _, free := range [][]int{{0, 4}, {3, 2}} {
		for _, beta := range []float64{0, 0.5, 1, 1.5, 2} {
			t.Run(fmt.Sprintf("free%v_beta%v", free, beta), func(t *testing.T) {
				bases := withFree(b, free...)
				p := DefaultParams()
				p.Beta, p.Iterations, p.Forget = beta, 5, 0.9
				s, err := NewSeparator(bases, p)
				if err != nil {
					t.Fatal(err)
				}
				ref := newRefSemi(bases, p)
				masks := newMasks(2, bases.F())
				for j := 0; j < 20; j++ {
					v := column(V, 40+j)
					s.Process(masks, v)
					ref.process(v)
					for k, x := range s.h {
						if e := math.Abs(x-ref.h[k]) / (math.Abs(ref.h[k]) + 1e-300); e > 1e-9 && math.Abs(x-ref.h[k]) > 1e-300 {
							t.Fatalf("frame %d: h[%d] = %.17g, reference %.17g", j, k, x, ref.h[k])
						}
					}
					for _, fr := range ref.free {
						for f := range ref.w {
							for k := fr[0]; k < fr[1]; k++ {
								got, want := s.w.Data[f*s.k+k], ref.w[f][k]
								if e := math.Abs(got-want) / want; e > 1e-9 {
									t.Fatalf("frame %d: W[%d, %d] = %.17g, reference %.17g", j, f, k, got, want)
								}
							}
						}
					}
				}
				checkMasks(t, "last frame", masks)
			})
		}
	}
}

// hiddenSource makes frames of two sources with known bases: "known" (3
// bases) and "hidden" (2 bases, narrow-band), random activations, so that
// the oracle masks are known.
func hiddenSource(frames int) (known, hidden *mat.Dense, vs, oracle [][]float64) {
	const F = 24
	rng := rand.New(rand.NewPCG(4, 2))
	known = mat.NewDense(F, 3, nil)
	hidden = mat.NewDense(F, 2, nil)
	for f := 0; f < F; f++ {
		for k := 0; k < 3; k++ {
			known.Set(f, k, 0.2+rng.Float64())
		}
		// the hidden source: two peaks the known bases do not have
		hidden.Set(f, 0, math.Exp(-float64((f-5)*(f-5))/2)+0.01)
		hidden.Set(f, 1, math.Exp(-float64((f-17)*(f-17))/3)+0.01)
	}
	for range frames {
		hk := []float64{rng.ExpFloat64(), rng.ExpFloat64(), rng.ExpFloat64()}
		hh := []float64{2 * rng.ExpFloat64(), 2 * rng.ExpFloat64()}
		v, m := make([]float64, F), make([]float64, F)
		for f := 0; f < F; f++ {
			a := known.At(f, 0)*hk[0] + known.At(f, 1)*hk[1] + known.At(f, 2)*hk[2]
			c := hidden.At(f, 0)*hh[0] + hidden.At(f, 1)*hh[1]
			v[f] = a + c
			m[f] = c * c / (a*a + c*c)
		}
		vs, oracle = append(vs, v), append(oracle, m)
	}
	return known, hidden, vs, oracle
}

// TestFreeLearnsHiddenSource: frames made of a known source and a hidden
// one; with the hidden one's bases replaced by 2 free bases, the mask of
// the free source approaches what the true bases give. Mean absolute error
// against the oracle mask, measured (beta 1 / 2 / 0.5): first 50 frames
// 0.064 / 0.072 / 0.063, last 200 of 2000 frames 0.028 / 0.038 / 0.032,
// the true bases 0.017 / 0.020 / 0.020. Required: at the end below 0.6
// times the start and 2.5 times the true bases' error.
func TestFreeLearnsHiddenSource(t *testing.T) {
	known, hidden, vs, oracle := hiddenSource(2000)
	F := len(vs[0])
	for _, beta := range []float64{1, 2, 0.5} {
		t.Run(fmt.Sprint(beta), func(t *testing.T) {
			b, err := NewBases([]string{"known", "other"}, []*mat.Dense{known, initFreeColumns(F, 2, "other")})
			if err != nil {
				t.Fatal(err)
			}
			b.Free[1] = 2
			p := DefaultParams()
			p.Beta, p.Iterations = beta, 20
			s, err := NewSeparator(b, p)
			if err != nil {
				t.Fatal(err)
			}
			masks := newMasks(2, F)
			var first, last float64
			for j, v := range vs {
				s.Process(masks, v)
				e := 0.0
				for f := range v {
					e += math.Abs(masks[1][f] - oracle[j][f])
				}
				e /= float64(F)
				switch {
				case j < 50:
					first += e / 50
				case j >= len(vs)-200:
					last += e / 200
				}
			}
			sup, _ := NewBases([]string{"known", "other"}, []*mat.Dense{known, hidden})
			ss, _ := NewSeparator(sup, p)
			supErr := 0.0
			for j, v := range vs {
				ss.Process(masks, v)
				if j >= len(vs)-200 {
					for f := range v {
						supErr += math.Abs(masks[1][f]-oracle[j][f]) / float64(F) / 200
					}
				}
			}
			t.Logf("beta %v: mean mask error %.3f in the first 50 frames, %.4f in the last 200, supervised %.4f", beta, first, last, supErr)
			if !(last < 0.6*first && last < 2.5*supErr) {
				t.Errorf("mask error %.4f at the end, %.4f at the start, %.4f with the true bases", last, first, supErr)
			}
			w := s.FreeBases("other")
			for k := 0; k < 2; k++ {
				if s := mat.Sum(w.ColView(k)); math.Abs(s-1) > 1e-12 {
					t.Errorf("free basis %d sums to %v", k, s)
				}
			}
		})
	}
}

func TestFreeAllocs(t *testing.T) {
	b := fixtureBases(t)
	V := fixtureV(t)
	for _, beta := range []float64{0, 0.5, 1, 2} {
		p := DefaultParams()
		p.Beta = beta
		s, err := NewSeparator(withFree(b, 0, 4), p)
		if err != nil {
			t.Fatal(err)
		}
		prev, _ := NewSeparator(withFree(b, 0, 4), p)
		masks := newMasks(2, b.F())
		cols := make([][]float64, 7)
		for i := range cols {
			cols[i] = column(V, i)
		}
		j := 0
		if a := testing.AllocsPerRun(50, func() {
			s.Process(masks, cols[j%7])
			j++
		}); a != 0 {
			t.Errorf("beta %v: %v allocations per frame", beta, a)
		}
		if a := testing.AllocsPerRun(20, func() { s.CarryOver(prev) }); a != 0 {
			t.Errorf("beta %v: CarryOver allocates %v times", beta, a)
		}
	}
}

// TestCarryOver: a new Separator that carries over the state of one that
// processed 30 frames continues exactly as the old one would have; a source
// with another number of columns keeps its own state.
func TestCarryOver(t *testing.T) {
	b := fixtureBases(t)
	V := fixtureV(t)
	p := DefaultParams()
	old, _ := NewSeparator(withFree(b, 0, 4), p)
	masks := newMasks(2, b.F())
	for j := 0; j < 30; j++ {
		old.Process(masks, column(V, j))
	}
	next, _ := NewSeparator(withFree(b, 0, 4), p)
	next.CarryOver(old)
	if !mat.Equal(next.FreeBases("noise"), old.FreeBases("noise")) {
		t.Fatal("free bases not carried over")
	}
	m2 := newMasks(2, b.F())
	for j := 30; j < 35; j++ {
		old.Process(masks, column(V, j))
		next.Process(m2, column(V, j))
		for s := range masks {
			for f := range masks[s] {
				if masks[s][f] != m2[s][f] {
					t.Fatalf("frame %d: masks differ at [%d][%d]: %v != %v", j, s, f, masks[s][f], m2[s][f])
				}
			}
		}
	}

	// Another layout: "noise" has 3 columns now, "voice" is the same.
	voice, _ := b.Source(0)
	_, noise := b.Source(1)
	other, err := NewBases([]string{"noise", voice}, []*mat.Dense{mat.DenseCopyOf(noise.Slice(0, b.F(), 0, 3)), mat.DenseCopyOf(b.W.Slice(0, b.F(), 0, 12))})
	if err != nil {
		t.Fatal(err)
	}
	other.Free[0] = 3
	s3, _ := NewSeparator(other, p)
	before := s3.FreeBases("noise")
	s3.CarryOver(old)
	if !mat.Equal(before, s3.FreeBases("noise")) {
		t.Error("free bases of another size were carried over")
	}
	for k := 0; k < 12; k++ {
		if s3.h[3+k] != old.h[k] {
			t.Fatalf("voice activation %d not carried over", k)
		}
	}
	for k := 0; k < 3; k++ {
		if s3.h[k] != 0 {
			t.Fatalf("noise activation %d carried over across sizes", k)
		}
	}
	s3.CarryOver(nil)
	s3.CarryOver(s3)
}

func TestFreeBasesAndResetFree(t *testing.T) {
	b := fixtureBases(t)
	s, _ := NewSeparator(withFree(b, 0, 4), DefaultParams())
	if s.FreeBases("voice") != nil || s.FreeBases("nope") != nil {
		t.Error("FreeBases of a fixed or unknown source is not nil")
	}
	start := s.FreeBases("noise")
	masks := newMasks(2, b.F())
	V := fixtureV(t)
	for j := 0; j < 10; j++ {
		s.Process(masks, column(V, j))
	}
	got := s.FreeBases("noise")
	if mat.Equal(got, start) {
		t.Fatal("free bases did not change")
	}
	got.Set(0, 0, 42)
	if s.FreeBases("noise").At(0, 0) == 42 {
		t.Error("FreeBases returned a view, not a copy")
	}
	s.ResetFree()
	if !mat.Equal(s.FreeBases("noise"), start) {
		t.Error("ResetFree did not restore the starting columns")
	}
	if b.W.At(0, 12) != fixtureBases(t).W.At(0, 12) {
		t.Error("the Separator changed the Bases it was built from")
	}
}

// TestFreeRobust: NaN frames teach nothing, silence keeps the free bases
// finite and normalised, and a frame that starts after silence is fine.
func TestFreeRobust(t *testing.T) {
	b := fixtureBases(t)
	V := fixtureV(t)
	s, _ := NewSeparator(withFree(b, 0, 4), DefaultParams())
	masks := newMasks(2, b.F())
	for j := 0; j < 5; j++ {
		s.Process(masks, column(V, j))
	}
	before := s.FreeBases("noise")
	nan := column(V, 6)
	nan[3] = math.NaN()
	s.Process(masks, nan)
	checkMasks(t, "NaN frame", masks)
	if !mat.Equal(before, s.FreeBases("noise")) {
		t.Error("a NaN frame changed the free bases")
	}
	zero := make([]float64, b.F())
	for range 20 {
		s.Process(masks, zero)
	}
	s.Process(masks, column(V, 7))
	checkMasks(t, "after silence", masks)
	w := s.FreeBases("noise")
	for k := 0; k < 4; k++ {
		if sum := mat.Sum(w.ColView(k)); math.Abs(sum-1) > 1e-12 || math.IsNaN(sum) {
			t.Errorf("free basis %d sums to %v", k, sum)
		}
	}
}

func TestLoadBasesFree(t *testing.T) {
	b, reports, err := LoadBases([]BasesFile{
		{Name: "voice", Path: td("bad/good.npy")},
		{Name: "room", Free: 5},
	}, 16)
	if err != nil {
		t.Fatal(err)
	}
	if b.K() != 8 || b.Free[0] != 0 || b.Free[1] != 5 || b.Start[1] != 3 {
		t.Fatalf("K=%d Free=%v Start=%v", b.K(), b.Free, b.Start)
	}
	if want := "room: 5 free bases of 9 bins, learned online from a seeded start"; reports[1].String() != want {
		t.Errorf("report %q, want %q", reports[1], want)
	}
	again, _, _ := LoadBases([]BasesFile{{Name: "room", Free: 5}}, 16)
	_, w1 := b.Source(1)
	if !mat.Equal(w1, again.W) {
		t.Error("free starting columns depend on more than the name and F")
	}
	other, _, _ := LoadBases([]BasesFile{{Name: "hall", Free: 5}}, 16)
	if mat.Equal(other.W, again.W) {
		t.Error("two names gave the same starting columns")
	}
	for _, tc := range []struct {
		files []BasesFile
		want  string
	}{
		{[]BasesFile{{Name: "room", Path: td("bad/good.npy"), Free: 2}}, `source "room": both a bases file`},
		{[]BasesFile{{Free: 2}}, "needs a name"},
		{[]BasesFile{{Name: "room", Free: -1}}, "-1 free bases"},
	} {
		if _, _, err := LoadBases(tc.files, 16); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.files, err, tc.want)
		}
	}
}
