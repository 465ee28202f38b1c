package separate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// panelCase is a W (F x K, stride kp, zero padding), h (len kp) and v of
// seeded random values: exponential W and h, v uniform in [0, 100) with a
// fifth of the bins zero and bins 16 to 31 all zero (a whole panel, which
// the assembly skips).
func panelCase(rng *rand.Rand, f, k int) (w, h, v []float64, kp int) {
	kp = (k + klPad - 1) / klPad * klPad
	w = make([]float64, f*kp)
	for i := range f {
		for j := range k {
			w[i*kp+j] = rng.ExpFloat64()
		}
	}
	h = make([]float64, kp)
	for j := range k {
		h[j] = rng.ExpFloat64()
	}
	v = make([]float64, f)
	for i := range v {
		if rng.IntN(5) > 0 && !(i >= 16 && i < 32) {
			v[i] = 100 * rng.Float64()
		}
	}
	return w, h, v, kp
}

// klPanelsRun runs klPanels32 as the kernel does (klpanels32.go): h and v
// rounded to float32; it returns num, and fails t if the pass left its
// accumulator dirty.
func klPanelsRun(t testing.TB, pn *panels32, h, v []float64) []float64 {
	t.Helper()
	h32 := make([]float32, pn.kt)
	for j := range pn.k {
		h32[j] = float32(h[j])
	}
	v32 := make([]float32, pn.f)
	for i, x := range v {
		v32[i] = float32(x)
	}
	acc := make([]float32, pn.kq*klPanelRows)
	num := make([]float64, pn.kt)
	klPanels32(pn, h32, v32, acc, num)
	for i, x := range acc {
		if x != 0 {
			t.Fatalf("acc[%d] = %v after the pass, want 0", i, x)
		}
	}
	return num
}

// panelBound is the relative bound that klpanels32.go derives for num:
// (c + min(P, klPanelBlock) + 12) 2^-24 with P = ceil(F/16) panels and
// c = 2 ceil(K/4) (two partial sums of W h) up to klOctMaxK, ceil(K/4)
// above.
func panelBound(f, k int) float64 {
	p := (f + klPanelRows - 1) / klPanelRows
	kq := (k + 3) &^ 3
	c := kq / 4
	if kq <= klOctMaxK {
		c = kq / 2
	}
	return (float64(c) + float64(min(p, klPanelBlock)) + 12) * 0x1p-24
}

// panelShapes are F a multiple of 16 or not, with more panels than
// klPanelBlock (2100: three blocks), numbers of panels that leave the
// assembly's groups of eight and four a remainder of each size (209: one
// octet, one quad, two single panels), and K a multiple of 16, of 4 only,
// or of neither, above and below klOctMaxK.
var panelShapes = []struct{ f, k int }{
	{513, 64}, {1025, 128}, {37, 7}, {4, 1}, {257, 100}, {3, 16}, {32, 5}, {64, 8}, {100, 12}, {209, 20}, {2100, 18}, {1025, 126},
}

// TestKLPanels32Bound: the panel pass, in assembly and in pure Go, against
// the float64 pass (klRowsGo) on the same W: every element of num within
// panelBound relative (every term is positive, so the bound holds element
// by element). On random inputs (panelShapes) and on the bases and frames
// of BenchmarkProcess (exponential bases, frames they explain to 10 %).
func TestKLPanels32Bound(t *testing.T) {
	withKLPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, c := range panelShapes {
			w, h, v, kp := panelCase(rng, c.f, c.k)
			want := make([]float64, kp)
			klRowsGo(w, h, v, want, c.f, kp)
			got := klPanelsRun(t, newPanels32(w, c.f, c.k, kp), h, v)
			within(t, fmt.Sprintf("F%d K%d klPanels32", c.f, c.k), got[:c.k], want[:c.k], c.k, panelBound(c.f, c.k))
		}
		for _, c := range []struct{ fftSize, k int }{{1024, 64}, {2048, 128}} {
			bases, frames := benchSetup(c.fftSize, c.k)
			kn := newKernel(denseCopy(bases.W), 1, 0, false)
			f := bases.F()
			pn := newPanels32(kn.wPad, f, c.k, kn.kp)
			h := make([]float64, kn.kp)
			for j := range c.k {
				h[j] = rng.ExpFloat64()
			}
			for i, v := range frames[:4] {
				want := make([]float64, kn.kp)
				klRowsGo(kn.wPad, h, v, want, f, kn.kp)
				got := klPanelsRun(t, pn, h, v)
				within(t, fmt.Sprintf("fft %d K %d frame %d", c.fftSize, c.k, i), got[:c.k], want[:c.k], c.k, panelBound(f, c.k))
			}
		}
	})
}

// TestKLPanels32AsmMatchesGo: the assembly and the pure-Go panel passes sum
// in the same order; they differ where Go rounds a product before adding it
// and the assembly's fused multiply-add does not. Each is within panelBound
// of the exact sums, so they are within twice that of each other (within
// logs the largest difference against that bound).
func TestKLPanels32AsmMatchesGo(t *testing.T) {
	if klPanels32Asm == nil || !asm32 {
		t.Skip("no assembly panel pass on this CPU or build")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, c := range panelShapes {
		w, h, v, kp := panelCase(rng, c.f, c.k)
		pn := newPanels32(w, c.f, c.k, kp)
		got := klPanelsRun(t, pn, h, v)
		restore := pureGo()
		want := klPanelsRun(t, pn, h, v)
		restore()
		within(t, fmt.Sprintf("F%d K%d asm against pure Go", c.f, c.k), got[:c.k], want[:c.k], c.k, 2*panelBound(c.f, c.k))
	}
}

// TestPanelMasks: W_s h_s from the panels (panels32.dots, asm and pure Go)
// within (n + 4) 2^-24 relative of float64, for n = hi - lo columns summed
// in float32 (W and h rounded, 2u; at most n roundings; the conversion to
// float64 is exact), in the panels and the tail rows. Then a
// Separator's masks against masks computed in float64 from its activations:
// with each W_s h_s within e, (W_s h_s)^2 is within 2e and a mask, a ratio
// of such terms, within 4e, absolutely since it is at most 1.
func TestPanelMasks(t *testing.T) {
	withKLPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		for _, c := range panelShapes {
			w, h, _, kp := panelCase(rng, c.f, c.k)
			pn := newPanels32(w, c.f, c.k, kp)
			h32 := make([]float32, pn.kq)
			for j := range c.k {
				h32[j] = float32(h[j])
			}
			for _, r := range [][2]int{{0, c.k}, {0, (c.k + 1) / 2}, {c.k / 2, c.k}, {c.k - 1, c.k}} {
				lo, hi := r[0], r[1]
				if lo >= hi {
					continue
				}
				y := make([]float64, c.f)
				pn.dots(h32, y, lo, hi)
				want := make([]float64, c.f)
				for i := range want {
					for j := lo; j < hi; j++ {
						want[i] += w[i*kp+j] * h[j]
					}
				}
				within(t, fmt.Sprintf("F%d K%d columns %d:%d", c.f, c.k, lo, hi), y, want, c.f, float64(hi-lo+4)*0x1p-24)
			}
		}

		b := fixtureBases(t)
		V := fixtureV(t)
		for _, pw := range []float64{1, 2, 3} {
			p := DefaultParams()
			p.MaskPower = pw
			s, err := NewSeparator(b, p)
			if err != nil {
				t.Fatal(err)
			}
			masks := newMasks(2, b.F())
			want := newMasks(2, b.F())
			worst := 0.0
			for j := range 20 {
				s.Process(masks, column(V, j))
				h := s.Activations()
				for f := range b.F() {
					var y [2]float64
					for k, x := range h {
						src := 0
						if k >= b.Start[1] {
							src = 1
						}
						y[src] += b.W.At(f, k) * x
					}
					a, c := math.Pow(y[0], pw), math.Pow(y[1], pw)
					if a+c == 0 {
						want[0][f], want[1][f] = 0.5, 0.5
					} else {
						want[0][f], want[1][f] = a/(a+c), c/(a+c)
					}
				}
				for src := range masks {
					for f, m := range masks[src] {
						worst = math.Max(worst, math.Abs(m-want[src][f]))
					}
				}
			}
			bound := 4 * pw / 2 * float64(b.K()+4) * 0x1p-24
			if !(worst <= bound) {
				t.Errorf("mask power %v: masks differ from float64's by %g, bound %g", pw, worst, bound)
			}
			t.Logf("mask power %v: masks within %.3g of float64's (bound %.3g)", pw, worst, bound)
		}
	})
}

// TestMulUpdateAsm: the assembly update of h (mulUpdate) gives the same bits
// as mulUpdateGo, and the same maxima, for lengths with and without a tail
// of fewer than 8 and inputs with a zero den, NaN and Inf in num, a NaN h
// (which neither counts in max |dh| nor survives) and an overflowing product.
func TestMulUpdateAsm(t *testing.T) {
	if mulUpdateAsm == nil || (klRowsAsm == nil && !asm32) {
		t.Skip("no assembly update on this CPU or build")
	}
	testMulUpdateAsm(t)
	if withAVX2 != nil {
		restore := withAVX2()
		defer restore()
		t.Run("avx2", testMulUpdateAsm)
	}
}

func testMulUpdateAsm(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{1, 7, 8, 15, 64, 128, 131} {
		h, num, den := make([]float64, n), make([]float64, n), make([]float64, n)
		for j := range n {
			h[j], num[j], den[j] = rng.ExpFloat64(), rng.ExpFloat64(), rng.ExpFloat64()
			switch rng.IntN(12) {
			case 0:
				den[j] = 0
			case 1:
				num[j] = math.NaN()
			case 2:
				num[j] = math.Inf(1)
			case 3:
				h[j] = math.NaN()
			case 4:
				h[j], den[j] = math.MaxFloat64/2, 1e-300
			}
		}
		for _, tiny := range []float64{0, float64Eps, 0.5} {
			h := append([]float64(nil), h...)
			hGo := append([]float64(nil), h...)
			dGo, mGo := mulUpdateGo(hGo, num, den, tiny)
			d, m := mulUpdate(h, num, den, tiny)
			if d != dGo || m != mGo {
				t.Errorf("n %d tiny %v: max |dh| %v, max h %v; pure Go %v, %v", n, tiny, d, m, dGo, mGo)
			}
			for j := range h {
				if math.Float64bits(h[j]) != math.Float64bits(hGo[j]) {
					t.Errorf("n %d tiny %v: h[%d] = %v, pure Go %v", n, tiny, j, h[j], hGo[j])
				}
			}
		}
	}
}

// TestMaskLoopsAsm: maskFast's loops (powAdd, recipRange, mulPow) in
// assembly give the same bits as in pure Go, and the same first bin out of
// range, for lengths with and without a tail and sums that are zero, NaN,
// Inf, below 2^-900 or above 2^900 (in the assembly's part and the tail).
func TestMaskLoopsAsm(t *testing.T) {
	if powAddAsm == nil || (klRowsAsm == nil && !asm32) {
		t.Skip("no assembly mask loops on this CPU or build")
	}
	testMaskLoopsAsm(t)
	if withAVX2 != nil {
		restore := withAVX2()
		defer restore()
		t.Run("avx2", testMaskLoopsAsm)
	}
}

func testMaskLoopsAsm(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	special := []float64{0, math.NaN(), math.Inf(1), 0x1p-460, 0x1p451}
	for _, n := range []int{1, 7, 8, 20, 513} {
		for _, square := range []bool{false, true} {
			for _, bad := range []int{-1, 0, n / 2, n - 1} {
				y := [2][]float64{make([]float64, n), make([]float64, n)}
				for f := range n {
					y[0][f], y[1][f] = rng.ExpFloat64(), rng.ExpFloat64()
				}
				if bad >= 0 {
					x := special[rng.IntN(len(special))]
					y[0][bad], y[1][bad] = x, x
				}
				run := func() (inv, m0 []float64, first int) {
					inv = make([]float64, n)
					for _, ys := range y {
						powAdd(inv, ys, square)
					}
					first = recipRange(inv)
					m0 = make([]float64, n)
					mulPow(m0, y[0], inv, square)
					return inv, m0, first
				}
				inv, m0, first := run()
				restore := pureGo()
				invGo, m0Go, firstGo := run()
				restore()
				what := fmt.Sprintf("n %d square %v bad %d", n, square, bad)
				if first != firstGo {
					t.Errorf("%s: first bin out of range %d, pure Go %d", what, first, firstGo)
				}
				for f := range n {
					if math.Float64bits(inv[f]) != math.Float64bits(invGo[f]) || math.Float64bits(m0[f]) != math.Float64bits(m0Go[f]) {
						t.Fatalf("%s: bin %d: 1/sum %v, mask %v; pure Go %v, %v", what, f, inv[f], m0[f], invGo[f], m0Go[f])
					}
				}
			}
		}
	}
}

// TestMasksRangeBounds: Separator.masks takes W_s h_s from the float32
// panels only where hmax >= 2^-60 and hmax * rowSum <= 2^60, and from W in
// float64 outside. Just inside and just outside each bound (the frame's
// activations scaled by powers of two, which the masks do not see: they
// are ratios of powers) the masks are the float64 masks of the unscaled
// frame: inside within 1e-6 (the panels' rounding; TestPanelMasks), outside
// to 1e-12 (the same float64 path).
func TestMasksRangeBounds(t *testing.T) {
	forceSingle = true // the panels also where their passes have no assembly
	defer func() { forceSingle = false }()
	b := fixtureBases(t)
	V := fixtureV(t)
	s, err := NewSeparator(b, DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	if s.pan == nil {
		t.Skip("no float32 panels for these bases")
	}
	masks := newMasks(2, b.F())
	for j := range 10 {
		s.Process(masks, column(V, j))
	}
	h0 := slices.Clone(s.h)
	hmax0 := slices.Max(h0)
	want := newMasks(2, b.F())
	s.masksGemv()
	clear(s.kn.tmp[:s.f]) // maskBins skips the bins maskFast marked done there
	s.maskBins(want, 0)
	// scaled sets s.h to h0 times the power of two that puts max(h) (times
	// rowSum when withRows) in [2^e, 2^(e+1)).
	scaled := func(e int, withRows bool) float64 {
		top := hmax0
		if withRows {
			top *= s.pan.rowSum
		}
		c := math.Ldexp(1, e-math.Ilogb(top))
		for j, x := range h0 {
			s.h[j] = x * c
		}
		return hmax0 * c
	}
	for _, c := range []struct {
		name     string
		e        int
		withRows bool
		inside   bool
	}{
		{"hmax just above 2^-60", -60, false, true},
		{"hmax just below 2^-60", -61, false, false},
		{"hmax*rowSum just below 2^60", 59, true, true},
		{"hmax*rowSum just above 2^60", 60, true, false},
	} {
		hmax := scaled(c.e, c.withRows)
		got := newMasks(2, b.F())
		s.masks(got, hmax)
		tol := 1e-12
		if c.inside {
			tol = 1e-6
		}
		worst := 0.0
		for i := range got {
			for f := range got[i] {
				worst = max(worst, math.Abs(got[i][f]-want[i][f]))
			}
		}
		if worst > tol {
			t.Errorf("%s (hmax %g): masks off by %g, want <= %g", c.name, hmax, worst, tol)
		}
	}
}

// TestMulUpdateCbrtAsm: the AVX-512 update for gamma 2/3 (a cube root by a
// cubic fit and two Halley steps) against powUpdateGo (math.Cbrt): h' within
// 8 ulps (2^-49 relative: each cube root within 2 ulps of the exact one,
// math.Cbrt's within 1, doubled by the square, and the roundings of the
// square and the product; measured 3.9), the same zeros (den 0 ->
// epsilon, NaN and Inf in num, NaN h, an overflowing product), and the
// same maxima to that tolerance; ratios from 2^-1000 to 2^1000 and
// subnormal ones, exponents of every residue mod 3.
func TestMulUpdateCbrtAsm(t *testing.T) {
	if mulUpdateCbrtAsm == nil || !asm32 {
		t.Skip("no assembly gamma-2/3 update on this CPU or build")
	}
	rng := rand.New(rand.NewPCG(41, 42))
	worst := 0.0
	for _, n := range []int{8, 64, 128, 1024} {
		for _, tiny := range []float64{0, float64Eps} {
			h, num, den := make([]float64, n), make([]float64, n), make([]float64, n)
			for j := range n {
				h[j], num[j], den[j] = rng.ExpFloat64(), rng.ExpFloat64(), rng.ExpFloat64()
				switch rng.IntN(16) {
				case 0:
					den[j] = 0
				case 1:
					num[j] = math.NaN()
				case 2:
					num[j] = math.Inf(1)
				case 3:
					h[j] = math.NaN()
				case 4:
					h[j], den[j] = math.MaxFloat64/2, 1e-300
				case 5:
					num[j] = 0
				case 6:
					num[j] = 0x1p-1070 // subnormal ratio
				case 7, 8, 9:
					e := rng.IntN(2001) - 1000
					num[j] = math.Ldexp(1+rng.Float64(), e)
					h[j] = math.Ldexp(1, -2*e/3) // keep h' in range
				}
			}
			hGo := append([]float64(nil), h...)
			dGo, mGo := powUpdateGo(hGo, num, den, 2.0/3, tiny)
			d, m := mulUpdateCbrtAsm(h, num, den, tiny)
			for j := range h {
				a, b := h[j], hGo[j]
				if (a == 0) != (b == 0) || math.IsNaN(a) {
					t.Fatalf("n %d: h[%d] = %v, Go %v (num %v den %v)", n, j, a, b, num[j], den[j])
				}
				if b != 0 {
					e := math.Abs(a-b) / b
					worst = max(worst, e)
					if e > 0x1p-49 {
						t.Fatalf("n %d: h[%d] = %.17g, Go %.17g: relative %g (num %v den %v)", n, j, a, b, e, num[j], den[j])
					}
				}
			}
			if math.Abs(m-mGo) > 0x1p-49*mGo || math.Abs(d-dGo) > 0x1p-49*mGo {
				t.Errorf("n %d: max |dh| %v, max h %v; Go %v, %v", n, d, m, dGo, mGo)
			}
		}
	}
	t.Logf("largest relative difference %.3g = %.2f ulp (2^-52)", worst, worst/0x1p-52)
}
