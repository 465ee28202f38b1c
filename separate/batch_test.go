package separate

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// golden is testdata/golden.json, written by testdata/sklearn_golden.py.
type golden struct {
	F, K, T  int
	KVoice   int     `json:"K_voice"`
	TGolden  int     `json:"T_golden"`
	NIter    int     `json:"n_iter"`
	Init     float64 `json:"init"`
	FFTSize  int     `json:"fft_size"`
	Hop      int     `json:"hop"`
	RateHz   int     `json:"sample_rate_hz"`
	Sklearn  string  `json:"sklearn"`
	BadL1Rel float64 `json:"sklearn_beta1_l1_max_rel_diff"`
	Cases    []struct {
		Name       string
		Beta       float64
		Sparsity   float64
		Source     string
		File       string
		Divergence float64
	}
}

func loadGolden(t testing.TB) golden {
	t.Helper()
	raw, err := os.ReadFile(td("golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// readMatrix reads a 2-D .npy fixture as it is stored (no orientation).
func readMatrix(t testing.TB, name string) *mat.Dense {
	t.Helper()
	raw, err := os.ReadFile(td(name))
	if err != nil {
		t.Fatal(err)
	}
	a, err := parseNPY(raw)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return mat.NewDense(a.rows, a.cols, a.data)
}

// fixtureV returns the mixture spectrogram V (F x T, float32 values).
func fixtureV(t testing.TB) *mat.Dense { return readMatrix(t, "mix_V_f32.npy") }

// maxRelErr returns max |got - want| / (|want| + floor) over all elements.
func maxRelErr(got, want mat.Matrix, floor float64) float64 {
	r, c := want.Dims()
	worst := 0.0
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			e := math.Abs(got.At(i, j)-want.At(i, j)) / (math.Abs(want.At(i, j)) + floor)
			if !(e <= worst) {
				worst = e
			}
		}
	}
	return worst
}

// TestSolveHMatchesSklearn runs SolveH from InitHLikeSklearn for the golden
// iterations and compares with sklearn 1.2.1's non_negative_factorization.
//
// Tolerance 1e-6 relative per element (plus 1e-12 * max(H) for the elements
// that decay towards zero): both sides run the same float64 operations, only
// in different summation orders (gonum's Gemv against numpy's BLAS), so each
// update differs by a few ulps and 50 multiplicative updates compound that
// to ~1e-13 (logged below). A wrong formula, clamp or exponent shows up at
// 1e-3 or more, so 1e-6 separates the two with room on both sides.
func TestSolveHMatchesSklearn(t *testing.T) {
	g := loadGolden(t)
	Vall := fixtureV(t)
	V := Vall.Slice(0, g.F, 0, g.TGolden).(*mat.Dense)
	W := loadFixtureW(t)
	const rel = 1e-6
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			want := readMatrix(t, c.File)
			H := InitHLikeSklearn(V, g.K)
			if e := math.Abs(H.At(3, 7)-g.Init) / g.Init; e > 1e-14 {
				t.Errorf("init %v, sklearn %v", H.At(3, 7), g.Init)
			}
			n := SolveH(V, W, H, BatchParams{Beta: c.Beta, Iterations: g.NIter, Sparsity: c.Sparsity})
			if n != g.NIter {
				t.Errorf("ran %d iterations, want %d", n, g.NIter)
			}
			e := maxRelErr(H, want, 1e-12*mat.Max(want))
			t.Logf("%s (%s): max relative error %.3g", c.Name, c.Source, e)
			if !(e <= rel) {
				t.Errorf("max relative error %g > %g", e, rel)
			}
			// sklearn's _beta_divergence of its own result: summation order
			// again, over 25700 terms of similar size -> 1e-12.
			d := BetaDivergence(V, W, want, c.Beta)
			if math.Abs(d-c.Divergence)/c.Divergence > 1e-12 {
				t.Errorf("BetaDivergence %.17g, sklearn %.17g", d, c.Divergence)
			}
		})
	}
}

// TestSklearnL1Accumulates pins down why golden_H_beta1_l1.npy does not come
// from sklearn: for beta = 1 with an L1 penalty and update_H=False, sklearn
// 1.2.1 adds the penalty once more at every iteration (see the script).
func TestSklearnL1Accumulates(t *testing.T) {
	g := loadGolden(t)
	if g.Sklearn != "1.2.1" || !(g.BadL1Rel > 0.1) {
		t.Errorf("sklearn %s: beta=1 L1 result differs from the constant-lambda one by %g; if sklearn was fixed, take the golden from it again",
			g.Sklearn, g.BadL1Rel)
	}
}

// TestSolveHStackOverflow is the example of a well-known StackOverflow
// question on fixed-components NMF, in sklearn's naming:
// X = [[1,1],[2,1],[3,1.2],[4,1],[5,0.8],[6,1]] (6 samples x 2 features),
// components_ = [[0.4,0.2],[0.4,0.1]] fixed, beta = 2. sklearn printed
// less-converged activations there, e.g. [4.512, 2.987] for row 3 and
// [0.041, 9.957] for row 4; run to convergence, the activations are the
// exact non-negative least-squares solution:
//
//	rows a, b solve 0.4a + 0.4b = x1, 0.2a + 0.1b = x2, i.e. a + b = x1/0.4
//	and 0.1a = x2 - 0.1 x1/0.4, if both are >= 0:
//	  row 2: [2, 1]   -> a = 5,   b = 0
//	  row 3: [3, 1.2] -> a = 4.5, b = 3
//	  row 4: [4, 1]   -> a = 0,   b = 10
//	otherwise one column alone, whichever fits better:
//	  row 1: [1, 1]   -> a = -7.5 < 0 unconstrained; column 1:
//	         a = (0.4*1 + 0.2*1)/(0.4^2 + 0.2^2) = 3, b = 0
//	  row 5: [5, 0.8] -> a = -4.5 < 0; column 2:
//	         b = (0.4*5 + 0.1*0.8)/(0.4^2 + 0.1^2) = 2.08/0.17 = 12.2353
//	  row 6: [6, 1]   -> a = -5 < 0; column 2:
//	         b = (0.4*6 + 0.1*1)/0.17 = 2.5/0.17 = 14.7059
//
// (for rows 1, 5 and 6 the gradient of the other column is positive at the
// solution, so it is the NNLS optimum).
func TestSolveHStackOverflow(t *testing.T) {
	if testing.Short() {
		t.Skip("3e6 iterations (seconds): not in -short")
	}
	X := mat.NewDense(6, 2, []float64{1, 1, 2, 1, 3, 1.2, 4, 1, 5, 0.8, 6, 1})
	comp := mat.NewDense(2, 2, []float64{0.4, 0.2, 0.4, 0.1})
	want := mat.NewDense(6, 2, []float64{3, 0, 5, 0, 4.5, 3, 0, 10, 0, 2.08 / 0.17, 0, 2.5 / 0.17})
	W := mat.DenseCopyOf(comp.T()) // F x K = 2 x 2

	// The columns are independent, so the rows are solved in two groups,
	// each started as sklearn would from the whole X: sqrt(mean(X)/K) =
	// sqrt(2.25/2) (the problem is strictly convex, so the start only
	// changes the path). Rows 1, 3, 5, 6 converge linearly: 1e4
	// iterations. Rows 2 and 4 are degenerate (the unconstrained optimum
	// lies exactly on the boundary, b = 0 resp. a = 0 with zero gradient),
	// where multiplicative updates approach zero only like 1/n: a = 0.0019
	// after 1e5 iterations, 0.00019 after 1e6 (measured), so 3e6 iterations
	// bring them within 1e-4 (a ~ 6.4e-5).
	h0 := math.Sqrt(mat.Sum(X) / 12 / 2)
	for _, grp := range []struct {
		rows  []int
		iters int
	}{{[]int{0, 2, 4, 5}, 10000}, {[]int{1, 3}, 3000000}} {
		V := mat.NewDense(2, len(grp.rows), nil) // F x T
		H := mat.NewDense(2, len(grp.rows), nil)
		for j, r := range grp.rows {
			V.SetCol(j, mat.Row(nil, r, X))
			H.SetCol(j, []float64{h0, h0})
		}
		SolveH(V, W, H, BatchParams{Beta: 2, Iterations: grp.iters})
		for j, r := range grp.rows {
			got := mat.Col(nil, j, H)
			w := mat.Row(nil, r, want)
			if math.Abs(got[0]-w[0]) > 1e-4 || math.Abs(got[1]-w[1]) > 1e-4 {
				t.Errorf("row %d: %.6f, want %.6f (NNLS)", r+1, got, w)
			}
		}
	}
}

// TestSolveHTolerance: with a tolerance, SolveH stops at a multiple of 10
// (sklearn checks every 10 iterations) and no later than without one.
func TestSolveHTolerance(t *testing.T) {
	g := loadGolden(t)
	V := fixtureV(t).Slice(0, g.F, 0, 20).(*mat.Dense)
	W := loadFixtureW(t)
	H := InitHLikeSklearn(V, g.K)
	n := SolveH(V, W, H, BatchParams{Beta: 1, Iterations: 1000, Tolerance: 1e-3})
	if n%10 != 0 || n >= 1000 {
		t.Errorf("stopped after %d iterations", n)
	}
}

func TestBetaDivergenceSmall(t *testing.T) {
	// One element, v = 2, W h = 1: textbook values of d_beta(2 | 1).
	V := mat.NewDense(1, 1, []float64{2})
	W := mat.NewDense(1, 1, []float64{1})
	H := mat.NewDense(1, 1, []float64{1})
	for _, tc := range []struct{ beta, want float64 }{
		{2, 0.5},                   // (2-1)^2/2
		{1, 2*math.Log(2) - 2 + 1}, // v log(v/y) - v + y
		{0, 2 - math.Log(2) - 1},   // v/y - log(v/y) - 1
		{0.5, (math.Sqrt2 - 0.5 - 1) / (0.5 * -0.5)}, // (v^b + (b-1) y^b - b v y^(b-1)) / (b(b-1))
	} {
		if got := BetaDivergence(V, W, H, tc.beta); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("beta %v: %v, want %v", tc.beta, got, tc.want)
		}
	}
}
