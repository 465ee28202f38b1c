package eval

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// directBSSEval is BSS Eval written the slow, obvious way, line by line
// after mir_eval's _bss_decomp_mtifilt, _project and _bss_source_crit:
// correlations as plain sums over time, the projections as signals built by
// direct convolution, the error signals subtracted sample by sample. It
// shares nothing with the package but FilterTaps and safeDB.
func directBSSEval(refs, ests [][]float64, permute bool) Result {
	nsrc, T, L := len(refs), len(refs[0]), FilterTaps
	// lag(x, y, d) = sum_u x[u] y[u+d].
	lag := func(x, y []float64, d int) float64 {
		s := 0.0
		for u := range x {
			if v := u + d; v >= 0 && v < len(y) {
				s += x[u] * y[v]
			}
		}
		return s
	}
	// project returns the projection of e onto the delayed copies (0..L-1
	// samples) of the references in idx, as a signal of T+L-1 samples.
	project := func(idx []int, e []float64) []float64 {
		m := len(idx) * L
		g := mat.NewDense(m, m, nil)
		d := mat.NewVecDense(m, nil)
		for p, i := range idx {
			for q, j := range idx {
				// <s_i delayed by a, s_j delayed by b> = lag(s_i, s_j, a-b).
				r := make([]float64, 2*L-1)
				for k := range r {
					r[k] = lag(refs[i], refs[j], k-(L-1))
				}
				for a := range L {
					for b := range L {
						g.Set(p*L+a, q*L+b, r[a-b+L-1])
					}
				}
			}
			for a := range L {
				d.SetVec(p*L+a, lag(refs[i], e, a))
			}
		}
		var c mat.VecDense
		if err := c.SolveVec(g, d); err != nil {
			var cond mat.Condition
			if !errors.As(err, &cond) || math.IsInf(float64(cond), 1) {
				panic(err)
			}
		}
		out := make([]float64, T+L-1)
		for p, i := range idx {
			for a := range L {
				ca := c.AtVec(p*L + a)
				for t, v := range refs[i] {
					out[t+a] += ca * v
				}
			}
		}
		return out
	}
	energy := func(x []float64) float64 {
		s := 0.0
		for _, v := range x {
			s += v * v
		}
		return s
	}
	all := make([]int, nsrc)
	for i := range all {
		all[i] = i
	}
	type score struct{ sdr, sir, sar float64 }
	palls := map[int][]float64{} // projections on all references, by estimate
	crit := func(k, j int) score {
		e := ests[k]
		pj := project([]int{j}, e) // s_true + e_spat
		pall, ok := palls[k]       // s_true + e_spat + e_interf
		if !ok {
			pall = project(all, e)
			palls[k] = pall
		}
		interf := make([]float64, len(pj))
		artif := make([]float64, len(pj))
		dist := make([]float64, len(pj))
		for t := range pj {
			interf[t] = pall[t] - pj[t]
			artif[t] = -pall[t]
			if t < T {
				artif[t] += e[t]
			}
			dist[t] = interf[t] + artif[t]
		}
		return score{
			safeDB(energy(pj), energy(dist)),
			safeDB(energy(pj), energy(interf)),
			safeDB(energy(pall), energy(artif)),
		}
	}
	res := Result{Perm: all}
	if permute {
		// Every permutation in lexicographic order, the first best mean SIR.
		table := make([][]score, nsrc)
		for k := range table {
			table[k] = make([]score, nsrc)
			for j := range table[k] {
				table[k][j] = crit(k, j)
			}
		}
		var best []int
		bestMean := math.Inf(-1)
		var rec func(prefix []int)
		rec = func(prefix []int) {
			if len(prefix) == nsrc {
				m := 0.0
				for j, k := range prefix {
					m += table[k][j].sir
				}
				if m /= float64(nsrc); best == nil || m > bestMean {
					best, bestMean = append([]int(nil), prefix...), m
				}
				return
			}
		next:
			for k := range nsrc {
				for _, u := range prefix {
					if u == k {
						continue next
					}
				}
				rec(append(prefix, k))
			}
		}
		rec(nil)
		res.Perm = best
		for j, k := range best {
			s := table[k][j]
			res.SDR, res.SIR, res.SAR = append(res.SDR, s.sdr), append(res.SIR, s.sir), append(res.SAR, s.sar)
		}
		return res
	}
	for j := range nsrc {
		s := crit(j, j)
		res.SDR, res.SIR, res.SAR = append(res.SDR, s.sdr), append(res.SIR, s.sir), append(res.SAR, s.sar)
	}
	return res
}

// synthCase makes nsrc references of n samples (harmonic signals over
// independent noise floors, seeded) and estimates in which each source
// leaks leakDB below and white noise noiseDB below its own reference.
func synthCase(seed uint64, nsrc, n int, leakDB, noiseDB float64) (refs, ests [][]float64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	rms := func(x []float64) float64 {
		s := 0.0
		for _, v := range x {
			s += v * v
		}
		return math.Sqrt(s / float64(len(x)))
	}
	for i := range nsrc {
		r := testSignal(n, 150+70*float64(i))
		for t := range r {
			r[t] += 0.01 * rng.NormFloat64()
		}
		refs = append(refs, r)
	}
	for j := range nsrc {
		e := append([]float64(nil), refs[j]...)
		for i := range nsrc {
			if i == j {
				continue
			}
			k := math.Pow(10, leakDB/20) * rms(refs[j]) / rms(refs[i])
			for t := range e {
				e[t] += k * refs[i][t]
			}
		}
		k := math.Pow(10, noiseDB/20) * rms(refs[j])
		for t := range e {
			e[t] += k * rng.NormFloat64()
		}
		ests = append(ests, e)
	}
	return refs, ests
}

// TestBSSEvalSourcesMatchesDirect checks the FFT, Gram-matrix and
// closed-form path against directBSSEval. Both use float64 throughout, so
// they agree to rounding: 1e-6 dB for ordinary scores. The near-perfect
// case (about 120 dB) leans on the exact recomputation of small energies:
// without it the closed forms would be off by about 0.1 dB there.
func TestBSSEvalSourcesMatchesDirect(t *testing.T) {
	cases := []struct {
		name          string
		nsrc, n       int
		leak, noise   float64
		swap, permute bool
		tolDB         float64
	}{
		{"ordinary", 2, 1200, -15, -25, false, false, 1e-6},
		{"swapped, permuted", 2, 1000, -10, -30, true, true, 1e-6},
		{"near perfect", 2, 1000, -120, -125, false, false, 1e-5},
		{"one source", 1, 1500, 0, -20, false, true, 1e-6},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			refs, ests := synthCase(uint64(i), c.nsrc, c.n, c.leak, c.noise)
			if c.swap {
				ests[0], ests[1] = ests[1], ests[0]
			}
			got, err := BSSEvalSources(refs, ests, c.permute)
			if err != nil {
				t.Fatal(err)
			}
			want := directBSSEval(refs, ests, c.permute)
			if fmt.Sprint(got.Perm) != fmt.Sprint(want.Perm) {
				t.Errorf("perm %v, direct %v", got.Perm, want.Perm)
			}
			worst := 0.0
			for _, m := range []struct {
				name      string
				got, want []float64
			}{{"SDR", got.SDR, want.SDR}, {"SIR", got.SIR, want.SIR}, {"SAR", got.SAR, want.SAR}} {
				for j := range m.want {
					if m.got[j] == m.want[j] {
						continue // both +Inf, for one source's SIR
					}
					d := math.Abs(m.got[j] - m.want[j])
					if !(d <= c.tolDB) {
						t.Errorf("%s[%d] = %.9f dB, direct %.9f dB", m.name, j, m.got[j], m.want[j])
					}
					worst = max(worst, d)
				}
			}
			t.Logf("SDR %.2f..., largest |difference| %.3g dB", got.SDR[0], worst)
		})
	}
}

func TestBSSEvalSourcesErrors(t *testing.T) {
	ok := func(n int, seed float64) []float64 {
		x := make([]float64, n)
		for i := range x {
			x[i] = math.Sin(seed * float64(i+1))
		}
		return x
	}
	a, b := ok(600, 0.1), ok(600, 0.37)
	zeros := make([]float64, 600)
	withNaN := append([]float64(nil), a...)
	withNaN[42] = math.NaN()
	withInf := append([]float64(nil), b...)
	withInf[7] = math.Inf(-1)
	many := make([][]float64, MaxSources+1)
	for i := range many {
		many[i] = a
	}
	perm11 := make([][]float64, MaxPermuteSources+1) // over the limit, under MaxSources
	for i := range perm11 {
		perm11[i] = ok(10, float64(i+1))
	}
	cases := []struct {
		name       string
		refs, ests [][]float64
		permute    bool
		is         error
		msg        string
	}{
		{"no references", nil, nil, false, ErrShape, "eval: no reference sources"},
		{"no samples", [][]float64{{}}, [][]float64{{}}, false, ErrShape, "eval: reference 0 has no samples"},
		{"more estimates", [][]float64{a, b}, [][]float64{a, b, a}, false, ErrShape, "eval: 2 reference sources but 3 estimates"},
		{"fewer estimates", [][]float64{a, b}, [][]float64{a}, false, ErrShape, "eval: 2 reference sources but 1 estimates"},
		{"reference lengths", [][]float64{a, b[:599]}, [][]float64{a, b}, false, ErrShape, "eval: reference 1 has 599 samples, reference 0 has 600"},
		{"estimate length", [][]float64{a, b}, [][]float64{a, ok(601, 1)}, false, ErrShape, "eval: estimate 1 has 601 samples, the references have 600"},
		{"silent reference", [][]float64{a, zeros}, [][]float64{a, b}, false, ErrSilent, "eval: reference 1 is all zeros"},
		{"silent estimate", [][]float64{a, b}, [][]float64{zeros, b}, false, ErrSilent, "eval: estimate 0 is all zeros"},
		{"NaN reference", [][]float64{withNaN, b}, [][]float64{a, b}, false, ErrNotFinite, "eval: reference 0 sample 42 is NaN"},
		{"Inf estimate", [][]float64{a, b}, [][]float64{a, withInf}, false, ErrNotFinite, "eval: estimate 1 sample 7 is -Inf"},
		{"too many sources", many, many, false, ErrShape, "eval: 17 reference sources, more than MaxSources = 16"},
		{"too many to permute", perm11, perm11, true, nil, "eval: cannot try every permutation of 11 sources (at most 10)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := BSSEvalSources(c.refs, c.ests, c.permute)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), c.msg) {
				t.Errorf("error %q, want it to start with %q", err, c.msg)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %q does not wrap %v", err, c.is)
			}
		})
	}
}

// TestBSSEvalSourcesInvariance: BSS Eval scores do not change with the
// estimates' gain (each projection scales with it), and a perfect estimate
// leaves only rounding error (mir_eval gives about 250 to 300 dB there; the
// exact value is rounding noise in both).
func TestBSSEvalSourcesInvariance(t *testing.T) {
	refs, ests := synthCase(11, 2, 900, -12, -20)
	ev, err := NewEvaluator(refs)
	if err != nil {
		t.Fatal(err)
	}
	base, err := ev.Evaluate(ests, false)
	if err != nil {
		t.Fatal(err)
	}
	scaled := make([][]float64, len(ests))
	for k, e := range ests {
		for _, v := range e {
			scaled[k] = append(scaled[k], -3.7*v)
		}
	}
	got, err := ev.Evaluate(scaled, false)
	if err != nil {
		t.Fatal(err)
	}
	for j := range base.SDR {
		for _, m := range [][2]float64{{got.SDR[j], base.SDR[j]}, {got.SIR[j], base.SIR[j]}, {got.SAR[j], base.SAR[j]}} {
			if math.Abs(m[0]-m[1]) > 1e-9 {
				t.Errorf("source %d: %.12f dB with the estimates scaled by -3.7, %.12f without", j, m[0], m[1])
			}
		}
	}
	perfect, err := ev.Evaluate(refs, false)
	if err != nil {
		t.Fatal(err)
	}
	for j := range refs {
		// 150 dB: an energy ratio of 1e15, far above any real error (one
		// sample of 900 wrong by its own size leaves 10 log10 900 = 30 dB)
		// and below the float64 rounding floor mir_eval reaches (250 to
		// 300 dB).
		if !(perfect.SDR[j] > 150 && perfect.SIR[j] > 150 && perfect.SAR[j] > 150) {
			t.Errorf("perfect estimate %d: SDR %v, SIR %v, SAR %v dB, want all > 150", j, perfect.SDR[j], perfect.SIR[j], perfect.SAR[j])
		}
	}
}

// TestEvaluatorConcurrent runs Evaluate from several goroutines on one
// Evaluator (run it with -race).
func TestEvaluatorConcurrent(t *testing.T) {
	refs, ests := synthCase(3, 2, 700, -10, -20)
	ev, err := NewEvaluator(refs)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ev.Evaluate(ests, true)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	got := make([]Result, 3)
	for i := range got {
		wg.Go(func() {
			r, err := ev.Evaluate(ests, true)
			if err != nil {
				t.Error(err)
			}
			got[i] = r
		})
	}
	wg.Wait()
	for i, r := range got {
		if fmt.Sprint(r) != fmt.Sprint(want) {
			t.Errorf("goroutine %d: %v, want %v", i, r, want)
		}
	}
}

func TestBestPermutation(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	cases := []struct {
		name string
		sir  [][]float64 // sir[estimate][reference]
		want []int
	}{
		{"identity", [][]float64{{10, 0}, {0, 10}}, []int{0, 1}},
		{"swapped", [][]float64{{0, 10}, {10, 0}}, []int{1, 0}},
		// All means equal: the first permutation in lexicographic order.
		{"tie", [][]float64{{5, 5, 5}, {5, 5, 5}, {5, 5, 5}}, []int{0, 1, 2}},
		{"three", [][]float64{{0, 0, 9}, {9, 0, 0}, {0, 9, 0}}, []int{1, 2, 0}},
		// Two permutations reach +Inf: the first wins, as numpy's argmax.
		{"inf tie", [][]float64{{inf, inf}, {inf, inf}}, []int{0, 1}},
		// A NaN mean wins at once, as numpy's argmax returns the first NaN.
		{"nan", [][]float64{{1, 2}, {nan, 1}}, []int{1, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := bestPermutation(c.sir); fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestNextPermutationLexicographic(t *testing.T) {
	p := []int{0, 1, 2, 3}
	var all []string
	for {
		all = append(all, fmt.Sprint(p))
		if !nextPermutation(p) {
			break
		}
	}
	if len(all) != 24 { // 4!
		t.Fatalf("%d permutations of 4, want 24", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i-1] >= all[i] {
			t.Errorf("%s before %s: not lexicographic (as itertools.permutations)", all[i-1], all[i])
		}
	}
}

// TestSystemPaths: a positive definite G goes through Cholesky, a
// regular one that is not through LU, and an exactly singular one falls
// back to the minimum-norm least-squares solution, as mir_eval's lstsq.
// Each system below has the solution [1 1]; for the singular one,
// [[1,1],[1,1]] c = [2,2] has the solutions c0 + c1 = 2, the shortest [1 1].
func TestSystemPaths(t *testing.T) {
	cases := []struct {
		name string
		g, b []float64
		path string
	}{
		{"positive definite", []float64{2, 1, 1, 3}, []float64{3, 4}, "cholesky"},
		{"indefinite", []float64{1, 2, 2, 1}, []float64{3, 3}, "lu"},
		{"singular", []float64{1, 1, 1, 1}, []float64{2, 2}, "lstsq"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSystem(mat.NewDense(2, 2, c.g))
			path := "lu"
			switch {
			case s.chol.Data != nil:
				path = "cholesky"
			case s.svd != nil:
				path = "lstsq"
			}
			if path != c.path {
				t.Errorf("solved by %s, want %s", path, c.path)
			}
			got := s.solve(c.b)
			if math.Abs(got[0]-1) > 1e-12 || math.Abs(got[1]-1) > 1e-12 {
				t.Errorf("got %v, want [1 1]", got)
			}
		})
	}
}

// TestFFTLen: mir_eval's n_fft = 2**ceil(log2(nsampl + 511)).
func TestFFTLen(t *testing.T) {
	for _, c := range [][2]int{{1, 512}, {2, 1024}, {513, 1024}, {514, 2048}, {441000, 524288}, {2646000, 4194304}} {
		if got := fftLen(c[0]); got != c[1] {
			t.Errorf("fftLen(%d) = %d, want %d", c[0], got, c[1])
		}
	}
}
