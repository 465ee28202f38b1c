package separate

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestReconStepByHand: one update of LearnRecon by hand. F = T = 1, two
// sources of one basis each, W = (1 | 1), H = (1, 1), V = 2, p = 2, so Y =
// (1, 1), M = (1/2, 1/2), sum_s M_s^2 = 1/2 and G_j = V M_j / Y_j = 1. A
// target's negative part (a phase-sensitive target can be < 0) moves to the
// other side of the ratio: with S = S+ - S-,
//
//	W'_j = W'_j ((S+_j + V sum_s M_s^2 + sum_s M_s S-_s)
//	           / (M_j V + sum_s M_s S+_s + S-_j))^Step
//
// S = (1.5, 0.5): sum_s M_s S+_s = 1, no negative part,
//
//	W'_1 = ((1.5 + 1) / (1 + 1))^Step, W'_2 = ((0.5 + 1) / (1 + 1))^Step
//	L before = (1.5 - 1)^2 + (0.5 - 1)^2 = 0.5
//
// S = (2.5, -0.5) (the two still sum to V, as phase-sensitive targets
// of two sources do): sum_s M_s S+_s = 1.25, sum_s M_s S-_s = 0.25,
//
//	W'_1 = ((2.5 + 1 + 0.25) / (1 + 1.25))^Step, W'_2 = ((1 + 0.25) / (1 + 1.25 + 0.5))^Step
//	L before = (2.5 - 1)^2 + (-0.5 - 1)^2 = 4.5
//
// with Step the default (DefaultReconStep, 1) and 1/2 (the eps of 1e-12
// moves the ratios by less than 1e-12).
func TestReconStepByHand(t *testing.T) {
	b, err := NewBases([]string{"a", "b"}, []*mat.Dense{mat.NewDense(1, 1, []float64{1}), mat.NewDense(1, 1, []float64{1})})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		step, s1, s2, want1, want2, before float64
	}{
		{0, 1.5, 0.5, 2.5 / 2, 1.5 / 2, 0.5},
		{0, 2.5, -0.5, 3.75 / 2.25, 1.25 / 2.75, 4.5},
		{0.5, 1.5, 0.5, math.Sqrt(2.5 / 2), math.Sqrt(1.5 / 2), 0.5},
		{0.5, 2.5, -0.5, math.Sqrt(3.75 / 2.25), math.Sqrt(1.25 / 2.75), 4.5},
	} {
		d := ReconData{
			V: mat.NewDense(1, 1, []float64{2}),
			S: []*mat.Dense{mat.NewDense(1, 1, []float64{c.s1}), mat.NewDense(1, 1, []float64{c.s2})},
			H: mat.NewDense(2, 1, []float64{1, 1}),
		}
		wr, before, _, err := LearnRecon(context.Background(), b, d, ReconParams{Iterations: 1, Step: c.step})
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []float64{c.want1, c.want2} {
			if got := wr.At(0, i); math.Abs(got-want) > 1e-12 {
				t.Errorf("step %v, S = (%v, %v): W'[%d] = %v, want %v", c.step, c.s1, c.s2, i, got, want)
			}
		}
		if before != c.before {
			t.Errorf("step %v, S = (%v, %v): objective before = %v, want %v", c.step, c.s1, c.s2, before, c.before)
		}
	}
}

// reconCase returns random material for three sources (K 2, 3, 2) on
// F = 6 bins and T = 9 frames, every value positive.
func reconCase(rng *rand.Rand) (*Bases, ReconData) {
	const f, t = 6, 9
	ks := []int{2, 3, 2}
	var ws []*mat.Dense
	d := ReconData{V: mat.NewDense(f, t, nil)}
	k := 0
	for _, n := range ks {
		w := mat.NewDense(f, n, nil)
		for i := range f {
			for j := range n {
				w.Set(i, j, 0.1+rng.Float64())
			}
		}
		ws = append(ws, w)
		s := mat.NewDense(f, t, nil)
		for i := range f {
			for c := range t {
				s.Set(i, c, 0.05+rng.Float64())
			}
		}
		d.S = append(d.S, s)
		d.V.Add(d.V, s)
		k += n
	}
	d.H = mat.NewDense(k, t, nil)
	for i := range k {
		for c := range t {
			d.H.Set(i, c, 0.1+rng.Float64())
		}
	}
	b, err := NewBases([]string{"a", "b", "c"}, ws)
	if err != nil {
		panic(err)
	}
	return b, d
}

// TestReconGradient checks the N-source gradient of LearnRecon's doc
// comment, dL/dW'_j = 2p ([(M_j V + sum_s M_s S_s) G_j] H_j^T - [(S_j + V
// sum_s M_s^2) G_j] H_j^T), against central differences of the objective,
// for three sources and p = 2 and 1.5, with positive targets and with
// targets of either sign (every value less 0.5: phase-sensitive ones can
// be negative, and their negative parts take the other side of the
// update's ratio, which must leave the gradient as it is). With a step of 1e-6 on values of
// order 1, the central difference is off by about h^2 (1e-12) plus the
// rounding of L (1e-16 L / h, 1e-9 here): 1e-6 relative is far outside
// both and far inside a wrong term.
func TestReconGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	b, d := reconCase(rng)
	signed := ReconData{V: d.V, H: d.H}
	for _, s := range d.S {
		q := mat.DenseCopyOf(s)
		q.Apply(func(_, _ int, x float64) float64 { return x - 0.5 }, q)
		signed.S = append(signed.S, q)
	}
	for _, c := range []struct {
		d ReconData
		p float64
	}{{d, 2}, {d, 1.5}, {signed, 2}, {signed, 1.5}} {
		d, p := c.d, c.p
		wr := mat.DenseCopyOf(b.W)
		st := newReconState(b, d)
		st.products(wr)
		st.terms(p, true)
		f, _ := wr.Dims()
		for j := range b.NumSources() {
			k := b.Start[j+1] - b.Start[j]
			num, den := mat.NewDense(f, k, nil), mat.NewDense(f, k, nil)
			num.Mul(st.gn[j], st.hOf(j).T())
			den.Mul(st.gd[j], st.hOf(j).T())
			for i := range f {
				for c := range k {
					col := b.Start[j] + c
					const h = 1e-6
					x := wr.At(i, col)
					wr.Set(i, col, x+h)
					lp := ReconObjective(b, wr, d, p)
					wr.Set(i, col, x-h)
					lm := ReconObjective(b, wr, d, p)
					wr.Set(i, col, x)
					fd := (lp - lm) / (2 * h)
					an := 2 * p * (den.At(i, c) - num.At(i, c))
					if math.Abs(fd-an) > 1e-6*(1+math.Abs(an)) {
						t.Errorf("p %v source %d [%d, %d]: finite difference %v, gradient %v", p, j, i, c, fd, an)
					}
				}
			}
		}
	}
}

// TestLearnReconLowersObjective: on the fixture (espeak-ng voice plus fan
// noise, testdata/mix_V_f32.npy) with its true sources' magnitudes
// unknown, a stand-in: S_s = M*_s V with the masks M* of bases that are
// not the Separator's (W with every value squared), so that W' has
// something to learn. LearnRecon's objective must fall, and W' must be
// valid reconstruction bases. Measured with the default step (1): 5757 ->
// 361 in 30 iterations, falling at every one, the last fall 6.4 (with step
// 1/2: 5757 -> 496). The test asks for a fall by a fifth and a fall at
// every iteration, so that another summation order or CPU cannot fail it
// while a wrong sign in the update, or updates that overshoot, do (the
// ratio to the power 8 instead of 1 makes the objective rise at the 3rd
// and 5th updates; to the power 3 it still falls at every one here).
func TestLearnReconLowersObjective(t *testing.T) {
	b := fixtureBases(t)
	V := fixtureV(t)
	p := DefaultParams()
	H, err := Project(context.Background(), b, p, V)
	if err != nil {
		t.Fatal(err)
	}
	f, T := V.Dims()
	w2 := mat.DenseCopyOf(b.W)
	w2.Apply(func(_, _ int, x float64) float64 { return x * x }, w2)
	y := make([]*mat.Dense, b.NumSources())
	for s := range y {
		y[s] = mat.NewDense(f, T, nil)
		y[s].Mul(w2.Slice(0, f, b.Start[s], b.Start[s+1]), H.Slice(b.Start[s], b.Start[s+1], 0, T))
	}
	d := ReconData{V: V, H: H}
	for s := range y {
		S := mat.NewDense(f, T, nil)
		S.Apply(func(i, c int, x float64) float64 {
			a, o := x*x, y[1-s].At(i, c)
			if a+o*o == 0 {
				return V.At(i, c) / 2
			}
			return a / (a + o*o) * V.At(i, c)
		}, y[s])
		d.S = append(d.S, S)
	}
	var objs []float64
	wr, before, after, err := LearnRecon(context.Background(), b, d, ReconParams{Iterations: 30, Progress: func(_ int, o float64) { objs = append(objs, o) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("objective %v -> %v: %v", before, after, objs)
	if !(after < 0.8*before) || len(objs) != 30 || objs[0] != before {
		t.Errorf("objective %v -> %v (per iteration %v): want a fall by a fifth at least", before, after, objs)
	}
	for i := 1; i < len(objs); i++ {
		if !(objs[i] < objs[i-1]) {
			t.Errorf("objective rose at iteration %d: %v -> %v", i+1, objs[i-1], objs[i])
		}
	}
	if got := ReconObjective(b, b.W, d, 2); got != before {
		t.Errorf("ReconObjective(W) = %v, LearnRecon's first = %v", got, before)
	}
	b.Recon = wr
	if err := b.validate(); err != nil {
		t.Errorf("learned W' invalid: %v", err)
	}
	if _, _, _, err := LearnRecon(context.Background(), b, ReconData{V: V, H: H, S: d.S[:1]}, ReconParams{}); err == nil {
		t.Error("one spectrogram for two sources: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, _, err := LearnRecon(ctx, b, d, ReconParams{}); err != context.Canceled {
		t.Errorf("cancelled: err = %v", err)
	}
}

// TestReconMasks: masks from reconstruction bases. W' = W gives the masks
// of no W' bit for bit with fixed bases (the same panels or the same
// float64 products), and to 1e-12 with adapted ones (W'_s h_s summed in
// adaptStep's row loop, W_s h_s by blas64.Gemv: other orders of the same
// K terms); W' = c_s W_s per source scales source s's
// model by c_s, so its mask is c_s^2 Y_s^2 / sum_j c_j^2 Y_j^2 (p = 2) from
// the Y_s of no W' (to 1e-12 with adapted bases, whose masks are taken in
// float64; to 1e-6 with fixed ones, whose masks come from float32 panels of
// W' and W that round differently: 2^-24 relative per product, about
// 6e-8, a few times over); and Process allocates nothing.
func TestReconMasks(t *testing.T) {
	b := fixtureBases(t)
	V := fixtureV(t)
	f, T := V.Dims()
	scale := []float64{3, 0.5}
	for _, tc := range []struct {
		beta, adapt float64
	}{{1, 0}, {0.5, 0}, {2, 0}, {1, 5}, {0.5, 5}} {
		t.Run(fmt.Sprintf("beta%v_adapt%v", tc.beta, tc.adapt), func(t *testing.T) {
			p := DefaultParams()
			p.Beta, p.Adapt = tc.beta, tc.adapt
			if tc.beta == 0.5 {
				p.UpdateExponent = 1
			}
			plain, err := NewSeparator(b, p)
			if err != nil {
				t.Fatal(err)
			}
			same := *b
			same.Recon = mat.DenseCopyOf(b.W)
			eq, err := NewSeparator(&same, p)
			if err != nil {
				t.Fatal(err)
			}
			scaled := *b
			scaled.Recon = mat.DenseCopyOf(b.W)
			for s, c := range scale {
				w := scaled.Recon.Slice(0, f, b.Start[s], b.Start[s+1]).(*mat.Dense)
				w.Scale(c, w)
			}
			sc, err := NewSeparator(&scaled, p)
			if err != nil {
				t.Fatal(err)
			}
			m0, m1, m2 := newMasks(2, f), newMasks(2, f), newMasks(2, f)
			v := make([]float64, f)
			for c := range T {
				mat.Col(v, c, V)
				plain.Process(m0, v)
				eq.Process(m1, v)
				sc.Process(m2, v)
				for i := range f {
					for s := range 2 {
						if d := math.Abs(m0[s][i] - m1[s][i]); d > 0 && (tc.adapt == 0 || d > 1e-12) {
							t.Fatalf("frame %d bin %d source %d: W' = W gives %v, no W' %v", c, i, s, m1[s][i], m0[s][i])
						}
					}
					// m0 = Y_0^2 / (Y_0^2 + Y_1^2): the scaled masks follow from the ratio.
					a, o := scale[0]*scale[0]*m0[0][i], scale[1]*scale[1]*m0[1][i]
					if a+o == 0 {
						continue
					}
					tol := 1e-6
					if tc.adapt > 0 {
						tol = 1e-12
					}
					if want := a / (a + o); math.Abs(m2[0][i]-want) > tol {
						t.Fatalf("frame %d bin %d: W' = (3 W_0 | W_1 / 2) gives mask %v, want %v", c, i, m2[0][i], want)
					}
				}
			}
			// A frame with a NaN skips the adaptation: the masks come from
			// the bases as they are, and are masks.
			v[3] = math.NaN()
			sc.Process(m2, v)
			checkMasks(t, "NaN frame", m2)
			v[3] = 0
			if n := testing.AllocsPerRun(20, func() { sc.Process(m2, v) }); n != 0 {
				t.Errorf("Process with W' allocates %v times a frame", n)
			}
			sc.ResetFree()
			sc.Reset()
		})
	}
}

// TestReconBasesErrors: what LoadBases and NewSeparator refuse for
// reconstruction bases, and the .npy round trip.
func TestReconBasesErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, m *mat.Dense) string {
		path := filepath.Join(dir, name)
		fh, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		// WriteNPY refuses negative values and NaN: the raw float32 layout.
		r, c := m.Dims()
		raw := npyHeader(r, c)
		for i := range r {
			for j := range c {
				raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(float32(m.At(i, j))))
			}
		}
		if _, err := fh.Write(raw); err != nil {
			t.Fatal(err)
		}
		fh.Close()
		return path
	}
	const fft = 8 // F = 5
	w := mat.NewDense(5, 2, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	wr := mat.NewDense(5, 2, []float64{0.5, 2, 3, 4, 5, 6, 7, 8, 9, 1.25}) // float32-exact
	bases := write("a.npy", w)
	recon := write("a.recon.npy", wr)
	other := write("b.npy", mat.NewDense(5, 1, []float64{1, 1, 1, 1, 1}))
	b, reps, err := LoadBases([]BasesFile{{Name: "a", Path: bases, Recon: recon}, {Name: "b", Path: other}}, fft)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		for j := range 2 {
			if b.Recon.At(i, j) != wr.At(i, j) {
				t.Errorf("Recon[%d, %d] = %v, want %v", i, j, b.Recon.At(i, j), wr.At(i, j))
			}
		}
		if b.Recon.At(i, 2) != 1 {
			t.Errorf("source b without a file: Recon[%d, 2] = %v, want W's 1", i, b.Recon.At(i, 2))
		}
	}
	if reps[0].Recon != recon || reps[1].Recon != "" || !strings.Contains(reps[0].String(), "reconstruction bases "+recon) {
		t.Errorf("reports %+v", reps)
	}
	// sklearn's K x F layout is read as the bases are.
	kxf := write("t.npy", mat.DenseCopyOf(wr.T()))
	if b, _, err := LoadBases([]BasesFile{{Name: "a", Path: bases, Recon: kxf}}, fft); err != nil || !mat.Equal(b.Recon, wr) {
		t.Errorf("K x F reconstruction bases: err %v", err)
	}
	neg := mat.DenseCopyOf(wr)
	neg.Set(1, 1, -1)
	nan := mat.DenseCopyOf(wr)
	nan.Set(2, 0, math.NaN())
	zero := mat.DenseCopyOf(wr)
	for i := range 5 {
		zero.Set(i, 1, 0)
	}
	for _, tc := range []struct {
		name string
		file BasesFile
		want string
	}{
		{"shape", BasesFile{Name: "a", Path: bases, Recon: write("s.npy", mat.NewDense(5, 3, []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}))},
			`source "a" reconstruction bases (recon: ` + dir + `/s.npy): shape 5x3 holds 3 bases, the source has 2 for F = 5`},
		{"bins", BasesFile{Name: "a", Path: bases, Recon: write("f.npy", mat.NewDense(4, 2, []float64{1, 1, 1, 1, 1, 1, 1, 1}))},
			"shape 4x2 fits neither F x K nor K x F"},
		{"negative", BasesFile{Name: "a", Path: bases, Recon: write("n.npy", neg)}, `reconstruction bases (recon: ` + dir + `/n.npy): element [1, 1] (bin 1, basis 1) is negative`},
		{"nan", BasesFile{Name: "a", Path: bases, Recon: write("nan.npy", nan)}, "element [2, 0] (bin 2, basis 0) is NaN"},
		{"zero", BasesFile{Name: "a", Path: bases, Recon: write("z.npy", zero)}, "basis 1 (column 1 of the F x K array) is all zero"},
		{"missing", BasesFile{Name: "a", Path: bases, Recon: filepath.Join(dir, "none.npy")}, `source "a" reconstruction bases`},
		{"not npy", BasesFile{Name: "a", Path: bases, Recon: bases + "x"}, "no such file"},
		{"free", BasesFile{Name: "a", Free: 2, Recon: recon}, "reconstruction bases (" + recon + ") and 2 free bases: not both"},
	} {
		_, _, err := LoadBases([]BasesFile{tc.file}, fft)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	// Bases built by hand: NewSeparator validates Recon.
	hand := *b
	hand.Recon = mat.NewDense(5, 2, nil)
	if _, err := NewSeparator(&hand, DefaultParams()); err == nil || !strings.Contains(err.Error(), "reconstruction bases of 5x2, the bases are 5x3") {
		t.Errorf("wrong shape by hand: err = %v", err)
	}
	hand.Recon = mat.DenseCopyOf(b.W)
	hand.Free = []int{0, 1}
	if _, err := NewSeparator(&hand, DefaultParams()); err == nil || !strings.Contains(err.Error(), "free bases") {
		t.Errorf("free and recon by hand: err = %v", err)
	}
}
