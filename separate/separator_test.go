package separate

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// fixtureBases returns the golden bases as two sources, voice (12 columns)
// and noise (4), as sklearn_golden.py made them.
func fixtureBases(t testing.TB) *Bases {
	t.Helper()
	g := loadGolden(t)
	W := loadFixtureW(t)
	b, err := NewBases([]string{"voice", "noise"}, []*mat.Dense{
		mat.DenseCopyOf(W.Slice(0, g.F, 0, g.KVoice)),
		mat.DenseCopyOf(W.Slice(0, g.F, g.KVoice, g.K)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newMasks(s, f int) [][]float64 {
	m := make([][]float64, s)
	for i := range m {
		m[i] = make([]float64, f)
	}
	return m
}

// checkMasks fails unless every mask value is finite, in [0, 1], and the
// masks sum to 1 within 1e-12 at every bin (a sum of S terms of size <= 1,
// each rounded once: a few ulps).
func checkMasks(t *testing.T, what string, masks [][]float64) {
	t.Helper()
	for f := range masks[0] {
		sum := 0.0
		for s := range masks {
			m := masks[s][f]
			if !(m >= 0 && m <= 1) {
				t.Fatalf("%s: masks[%d][%d] = %v", what, s, f, m)
			}
			sum += m
		}
		if math.Abs(sum-1) > 1e-12 {
			t.Fatalf("%s: masks sum to %v at bin %d", what, sum, f)
		}
	}
}

func column(m *mat.Dense, j int) []float64 { return mat.Col(nil, j, m) }

// TestSeparatorMatchesSolveH: a Separator that is Reset before every frame
// starts from sqrt(mean(v_t)/K) and runs the same kernel as SolveH, so it
// must reproduce SolveH started from the same per-column values, column by
// column. With W in float64 (float64Kernel) they differ only where beta = 2
// computes W^T v with Gemv (Separator) against Gemm (SolveH): a few ulps, so
// 1e-12 relative. As it runs, with W in float32 (klpanels32.go for beta 1,
// b05panels32.go for beta 0.5, klrows32.go for the others), each
// iteration's num and den are within e = (K/4 + klBlock + 4) 2^-24
// relative of float64's (the largest of the three bounds at F 257, K 16);
// an update multiplies h by num/den (2e), and the next num
// depends on h at most linearly, so 10 iterations stay within 10 * 2 * 2e.
func TestSeparatorMatchesSolveH(t *testing.T) {
	// Also with the float32 passes where they have no assembly (a CPU
	// without AVX2 and FMA takes the float64 ones): their Go code is what the
	// purego build and other architectures could run.
	for _, single := range []bool{false, true} {
		forceSingle = single
		t.Run(fmt.Sprint("forceSingle=", single), testSeparatorMatchesSolveH)
	}
	forceSingle = false
	if withAVX2 != nil {
		// The AVX2 kernels as a CPU without AVX-512 runs them.
		restore := withAVX2()
		t.Run("avx2", testSeparatorMatchesSolveH)
		restore()
	}
}

func testSeparatorMatchesSolveH(t *testing.T) {
	g := loadGolden(t)
	V := fixtureV(t).Slice(0, g.F, 0, 40).(*mat.Dense)
	b := fixtureBases(t)
	_, T := V.Dims()
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			H := mat.NewDense(g.K, T, nil)
			for j := 0; j < T; j++ {
				c := math.Sqrt(mat.Sum(V.ColView(j)) / float64(g.F) / float64(g.K))
				for k := 0; k < g.K; k++ {
					H.Set(k, j, c)
				}
			}
			SolveH(V, b.W, H, BatchParams{Beta: c.Beta, Iterations: 10, Sparsity: c.Sparsity})

			single := 10 * 2 * 2 * (float64(g.K)/4 + klBlock + 4) * 0x1p-24
			for _, double := range []bool{true, false} {
				p := DefaultParams()
				p.Beta, p.Iterations, p.Sparsity = c.Beta, 10, c.Sparsity
				s, err := NewSeparator(b, p)
				if err != nil {
					t.Fatal(err)
				}
				bound := 1e-12
				if double {
					float64Kernel(s)
				} else if c.Beta != 2 {
					bound = single
				}
				masks := newMasks(2, g.F)
				got := mat.NewDense(g.K, T, nil)
				for j := 0; j < T; j++ {
					s.Reset()
					s.Process(masks, column(V, j))
					got.SetCol(j, s.Activations())
				}
				e := maxRelErr(got, H, 1e-12*mat.Max(H))
				if !(e <= bound) {
					t.Errorf("W in float64 %v: max relative difference %g, bound %g", double, e, bound)
				}
				t.Logf("W in float64 %v: max relative difference %.3g (bound %.3g)", double, e, bound)
			}
		})
	}
}

func TestMasksSumToOne(t *testing.T) {
	V := fixtureV(t)
	b := fixtureBases(t)
	F, T := V.Dims()
	for _, beta := range []float64{0, 0.5, 1, 1.5, 2} {
		for _, pw := range []float64{0.5, 1, 2, 3} {
			p := DefaultParams()
			p.Beta, p.MaskPower = beta, pw
			s, err := NewSeparator(b, p)
			if err != nil {
				t.Fatal(err)
			}
			masks := newMasks(2, F)
			for j := 0; j < T; j += 3 { // every 3rd frame: the level jumps more
				s.Process(masks, column(V, j))
				checkMasks(t, fmt.Sprintf("beta %v p %v frame %d", beta, pw, j), masks)
			}
		}
	}
}

// TestEdgeCases runs frames that stress the arithmetic through one
// warm-started Separator per (beta, p): the masks must stay finite and sum
// to 1, silence must give uniform masks (so silence in gives silence out)
// and zero activations.
func TestEdgeCases(t *testing.T) {
	b := fixtureBases(t)
	F := b.F()
	real := column(fixtureV(t), 50)
	frame := func(gen func(f int) float64) []float64 {
		v := make([]float64, F)
		for f := range v {
			v[f] = gen(f)
		}
		return v
	}
	frames := []struct {
		name string
		v    []float64
	}{
		{"zero", frame(func(int) float64 { return 0 })},
		{"impulse", frame(func(f int) float64 { return b2f(f == 40) })},
		{"real", real},
		{"huge 1e6", frame(func(f int) float64 { return 1e6 * (1 + real[f]) })},
		{"tiny 1e-30", frame(func(f int) float64 { return 1e-30 * real[f] })},
		{"zero again", frame(func(int) float64 { return 0 })},
		{"impulse 1e6", frame(func(f int) float64 { return 1e6 * b2f(f == 100) })},
		{"tiny constant", frame(func(int) float64 { return 1e-30 })},
		{"smallest normal", frame(func(int) float64 { return 0x1p-1022 })},
		{"largest/1e6", frame(func(int) float64 { return math.MaxFloat64 / 1e6 })},
		{"NaN bin", frame(func(f int) float64 { return nanAt(f, 3) + real[f] })},
		{"real again", real},
	}
	type setting struct{ beta, pw, adapt float64 }
	var settings []setting
	for _, beta := range []float64{0, 0.5, 1, 1.5, 2} {
		for _, pw := range []float64{1, 2} {
			settings = append(settings, setting{beta, pw, 0})
		}
	}
	// Bases that follow the mixture (in float32 panels for beta 1 and 0.5).
	settings = append(settings, setting{0.5, 2, 5}, setting{1, 2, 5}, setting{2, 2, 5})
	for _, st := range settings {
		beta, pw := st.beta, st.pw
		{
			p := DefaultParams()
			p.Beta, p.MaskPower, p.Adapt = beta, pw, st.adapt
			s, err := NewSeparator(b, p)
			if err != nil {
				t.Fatal(err)
			}
			masks := newMasks(2, F)
			for _, fr := range frames {
				what := fmt.Sprintf("beta %v p %v adapt %v %s", beta, pw, st.adapt, fr.name)
				s.Process(masks, fr.v)
				checkMasks(t, what, masks)
				for k, h := range s.Activations() {
					if !(h >= 0 && h <= math.MaxFloat64) {
						t.Fatalf("%s: h[%d] = %v", what, k, h)
					}
				}
				if strings.HasPrefix(fr.name, "zero") {
					for f := 0; f < F; f++ {
						if masks[0][f] != 0.5 || masks[1][f] != 0.5 {
							t.Fatalf("%s: masks %v %v at bin %d, want 1/2", what, masks[0][f], masks[1][f], f)
						}
					}
					if h := s.Activations(); mat.Max(mat.NewVecDense(len(h), h)) != 0 {
						t.Fatalf("%s: activations not zero", what)
					}
				}
				if fr.name == "real again" && mat.Max(mat.NewVecDense(len(s.Activations()), s.Activations())) == 0 {
					t.Fatalf("%s: activations stuck at zero", what)
				}
			}
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func nanAt(f, at int) float64 {
	if f == at {
		return math.NaN()
	}
	return 0
}

// voiceShare is the voice's share of the model's energy, sum (W_v h_v)^2 /
// sum (W h)^2, for activations h of the fixture bases.
func voiceShare(b *Bases, h []float64) float64 {
	F := b.F()
	var ev, e float64
	for f := 0; f < F; f++ {
		var yv, y float64
		for k, x := range h {
			y += b.W.At(f, k) * x
			if k < b.Start[1] {
				yv += b.W.At(f, k) * x
			}
		}
		ev += yv * yv
		e += y * y
	}
	return ev / e
}

// TestWarmStartRecoversAfterSilence: after 50 frames of digital silence, and
// after 50 frames with only noise, a voice frame must get the voice
// activations that a cold start gets (the floor re-seeds what the noise-only
// frames drove towards zero). Without the floor they stay locked near zero.
// Voice share of the activations, measured (`go test ./separate -run
// WarmStartRecoversAfterSilence -v`, which logs them): cold start 0.434;
// after silence 0.434 with and without the floor (all-zero h: cold start);
// after noise only 0.264 (0.61 of cold) with the default floor and 0.0931
// (0.21 of cold) without. Required: recovered means above 0.5 times the
// cold share, which lies between the two noise-only cases.
func TestWarmStartRecoversAfterSilence(t *testing.T) {
	b := fixtureBases(t)
	F := b.F()
	V := fixtureV(t)
	// Frame 30 of the fixture is loud speech (largest voice share among the
	// first 100 frames when solved cold, see the log).
	voice := column(V, 30)
	noise := make([]float64, F)
	for f := range noise {
		for k := b.Start[1]; k < b.K(); k++ {
			noise[f] += b.W.At(f, k) // the noise model itself: no voice at all
		}
	}
	silence := make([]float64, F)
	masks := newMasks(2, F)

	cold, _ := NewSeparator(b, DefaultParams())
	cold.Process(masks, voice)
	want := voiceShare(b, cold.Activations())
	t.Logf("cold start: voice share %.3f", want)

	for _, tc := range []struct {
		name   string
		before []float64
		floor  float64
		ok     bool
	}{
		{"silence, default floor", silence, DefaultParams().Floor, true},
		{"silence, no floor", silence, 0, true}, // all-zero h: cold start
		{"noise only, default floor", noise, DefaultParams().Floor, true},
		{"noise only, no floor", noise, 0, false},
	} {
		p := DefaultParams()
		p.Floor = tc.floor
		s, err := NewSeparator(b, p)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 50; i++ {
			s.Process(masks, tc.before)
		}
		s.Process(masks, voice)
		got := voiceShare(b, s.Activations())
		t.Logf("%s: voice share %.3g", tc.name, got)
		if ok := got > 0.5*want; ok != tc.ok {
			t.Errorf("%s: voice share %.3g against %.3g cold: recovered = %v, want %v", tc.name, got, want, ok, tc.ok)
		}
		voiceH := s.Activations()[:b.Start[1]]
		if tc.ok && mat.Max(mat.NewVecDense(len(voiceH), voiceH)) == 0 {
			t.Errorf("%s: voice activations all zero", tc.name)
		}
	}
}

func TestProcessAllocs(t *testing.T) {
	b := fixtureBases(t)
	V := fixtureV(t)
	for _, beta := range []float64{0, 0.5, 1, 2} {
		// Mask powers 1 and 2 take the assembly mask loops (maskFast), 1.5
		// the general one.
		for _, tc := range []struct{ tol, power float64 }{{0, 1.5}, {1e-3, 1.5}, {0, 1}, {0, 2}} {
			p := DefaultParams()
			p.Beta, p.Tolerance, p.MaskPower = beta, tc.tol, tc.power
			s, err := NewSeparator(b, p)
			if err != nil {
				t.Fatal(err)
			}
			masks := newMasks(2, b.F())
			cols := make([][]float64, 7)
			for i := range cols {
				cols[i] = column(V, i)
			}
			j := 0
			allocs := testing.AllocsPerRun(50, func() {
				s.Process(masks, cols[j%7])
				j++
			})
			if allocs != 0 {
				t.Errorf("beta %v tol %v mask power %v: %v allocations per frame", beta, tc.tol, tc.power, allocs)
			}
		}
	}
}

func TestTolerance(t *testing.T) {
	b := fixtureBases(t)
	V := fixtureV(t)
	p := DefaultParams()
	p.Iterations, p.Tolerance = 200, 1e-4
	s, err := NewSeparator(b, p)
	if err != nil {
		t.Fatal(err)
	}
	masks := newMasks(2, b.F())
	total := 0
	for j := 0; j < 50; j++ {
		s.Process(masks, column(V, j))
		n := s.LastIterations()
		if n < 1 || n > 200 {
			t.Fatalf("frame %d: %d iterations", j, n)
		}
		total += n
	}
	t.Logf("mean iterations with tolerance 1e-4: %.1f", float64(total)/50)
	if total == 50*200 {
		t.Error("the tolerance never stopped a frame early")
	}
}

func TestNewSeparatorErrors(t *testing.T) {
	b := fixtureBases(t)
	for _, tc := range []struct {
		name string
		edit func(*Params)
		want string
	}{
		{"beta", func(p *Params) { p.Beta = 2.5 }, "beta = 2.5"},
		{"beta NaN", func(p *Params) { p.Beta = math.NaN() }, "beta = NaN"},
		{"iterations", func(p *Params) { p.Iterations = 0 }, "iterations = 0"},
		{"tolerance", func(p *Params) { p.Tolerance = -1 }, "tolerance = -1"},
		{"sparsity", func(p *Params) { p.Sparsity = math.Inf(1) }, "sparsity = +Inf"},
		{"mask power", func(p *Params) { p.MaskPower = 0 }, "mask_power = 0"},
		{"floor", func(p *Params) { p.Floor = 1 }, "floor = 1"},
		{"forget", func(p *Params) { p.Forget = 1.5 }, "forget = 1.5"},
		{"update exponent", func(p *Params) { p.UpdateExponent = 1.5 }, "update_exponent = 1.5"},
		{"update exponent < 0", func(p *Params) { p.UpdateExponent = -0.5 }, "update_exponent = -0.5"},
	} {
		p := DefaultParams()
		tc.edit(&p)
		if _, err := NewSeparator(b, p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
	bad := *b
	bad.Free = []int{0, 5}
	if _, err := NewSeparator(&bad, DefaultParams()); err == nil || !strings.Contains(err.Error(), `"noise": 5 free bases, but the source has 4 columns`) {
		t.Errorf("free bases: got %v", err)
	}
	bad = *b
	bad.Start = []int{0, 16, 16}
	if _, err := NewSeparator(&bad, DefaultParams()); err == nil || !strings.Contains(err.Error(), "no columns") {
		t.Errorf("bad Start: got %v", err)
	}
}

func TestProcessPanics(t *testing.T) {
	b := fixtureBases(t)
	s, _ := NewSeparator(b, DefaultParams())
	F := b.F()
	for _, tc := range []struct {
		name  string
		masks [][]float64
		v     []float64
		want  string
	}{
		{"short v", newMasks(2, F), make([]float64, F-1), "separate: Process: len(v) != F"},
		{"one mask", newMasks(1, F), make([]float64, F), "separate: Process: len(masks) != number of sources"},
		{"short mask", newMasks(2, F-1), make([]float64, F), "separate: Process: len(masks[s]) != F"},
	} {
		func() {
			defer func() {
				if r := recover(); r != tc.want {
					t.Errorf("%s: panic %v, want %q", tc.name, r, tc.want)
				}
			}()
			s.Process(tc.masks, tc.v)
		}()
	}
}

// float64Kernel gives s the kernel SolveH runs, with W in float64 (the
// Separator's reads W in float32 unless columns are free).
func float64Kernel(s *Separator) {
	s.kn = newKernel(s.w, s.p.Beta, s.p.Sparsity, len(s.free) > 0)
	s.kn.gammaH = s.p.UpdateExponent
}

// TestUpdateExponent: one update from the cold start, on a frame of the
// fixture, equals the formula of the Separator's doc written out here in
// plain loops: h * (W^T[(Wh)^(beta-2) v] / W^T (Wh)^(beta-1))^gamma with
// gamma = 1/(2-beta) by default (scikit-learn's) and UpdateExponent when it
// is set; and for beta 1, where gamma is 1 already, UpdateExponent 1 changes
// nothing. 1e-12 relative: the kernel's sums are ordered differently (with W
// in float64, float64Kernel; the float32 passes are bounded by
// TestKLRows32Bound and TestSeparatorMatchesSolveH).
func TestUpdateExponent(t *testing.T) {
	g := loadGolden(t)
	v := column(fixtureV(t), 7)
	b := fixtureBases(t)
	W := b.W
	for _, tc := range []struct{ beta, exp, gamma float64 }{
		{0.5, 0, 2.0 / 3}, {0.5, 1, 1}, {0.5, 0.8, 0.8}, {0, 1, 1}, {0, 0, 0.5}, {1, 1, 1}, {1, 0, 1}, {2, 0.5, 0.5},
	} {
		p := DefaultParams()
		p.Beta, p.Iterations, p.UpdateExponent = tc.beta, 1, tc.exp
		s, err := NewSeparator(b, p)
		if err != nil {
			t.Fatal(err)
		}
		float64Kernel(s)
		s.Process(newMasks(2, g.F), v)

		sum := 0.0
		for _, x := range v {
			sum += x
		}
		h0 := math.Sqrt(sum / float64(g.F) / float64(g.K))
		wh := make([]float64, g.F)
		for f := range wh {
			for k := 0; k < g.K; k++ {
				wh[f] += W.At(f, k) * h0
			}
		}
		for k := 0; k < g.K; k++ {
			num, den := 0.0, 0.0
			for f := range wh {
				num += W.At(f, k) * math.Pow(wh[f], tc.beta-2) * v[f]
				den += W.At(f, k) * math.Pow(wh[f], tc.beta-1)
			}
			want := h0 * math.Pow(num/den, tc.gamma)
			if got := s.Activations()[k]; math.Abs(got-want) > 1e-12*want {
				t.Errorf("beta %v, UpdateExponent %v: h[%d] = %v, want %v (gamma %v)", tc.beta, tc.exp, k, got, want, tc.gamma)
				break
			}
		}
	}
}
