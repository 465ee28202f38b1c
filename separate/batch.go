package separate

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// BatchParams are the parameters of SolveH.
type BatchParams struct {
	// Beta selects the beta-divergence, any real value in [0, 2]:
	// 0 Itakura-Saito, 1 Kullback-Leibler, 2 Euclidean.
	Beta float64
	// Iterations is the maximum number of updates, >= 1 (sklearn's max_iter).
	Iterations int
	// Tolerance stops early as sklearn's tol does: every 10 iterations, stop
	// when (previous error - error) / initial error < Tolerance, the error
	// being sqrt(2 * BetaDivergence). 0 runs every iteration.
	Tolerance float64
	// Sparsity is the weight lambda >= 0 of an L1 penalty on H, added to the
	// denominator of every update. sklearn 1.2 adds
	// l1_reg_W = n_features * alpha_W * l1_ratio there, with n_features = F,
	// so Sparsity = F * alpha_W * l1_ratio. (For Beta == 1, sklearn 1.2.1
	// itself adds the penalty cumulatively, once more at every iteration,
	// because it updates a cached array in place; SolveH keeps it constant.)
	Sparsity float64
}

// SolveH runs the multiplicative updates of H (K x T) with W (F x K) fixed so
// that V (F x T) ~ W H, starting from the H it is given, and returns the
// number of iterations it ran. It does exactly what scikit-learn 1.2.1's
//
//	non_negative_factorization(X=V.T, H=W.T, init='custom', update_H=False,
//	    solver='mu', beta_loss=p.Beta, max_iter=p.Iterations, tol=p.Tolerance)
//
// does to its W (our H transposed), given InitHLikeSklearn(V, K) as the start:
// the same update formulas (see Separator), the same EPSILON clamps, the same
// zeroing of activations below float64 epsilon for Beta < 1, and the same
// stopping rule. The one difference is the L1 penalty with Beta == 1 (see
// BatchParams.Sparsity).
//
// SolveH allocates O(T (F + K)) scratch. It panics if the dimensions do not
// agree, if p.Beta is outside [0, 2], p.Iterations < 1, or p.Tolerance or
// p.Sparsity is negative.
func SolveH(V, W, H *mat.Dense, p BatchParams) (iterations int) {
	f, t := V.Dims()
	fw, k := W.Dims()
	kh, th := H.Dims()
	if fw != f || kh != k || th != t {
		panic("separate: SolveH: dimension mismatch")
	}
	checkBatchParams(p)

	w := denseCopy(W)
	kn := newKernel(w, p.Beta, p.Sparsity, false)
	// Work frame by frame on contiguous rows, as sklearn does on X = V^T.
	vt := mat.DenseCopyOf(V.T())
	ht := mat.DenseCopyOf(H.T())
	vr, hr := vt.RawMatrix(), ht.RawMatrix()
	var wtv blas64.General // T x K = V^T W, sklearn's XHt, for Beta == 2
	if p.Beta == 2 {
		wtv = blas64.General{Rows: t, Cols: k, Stride: k, Data: make([]float64, t*k)}
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, vr, w, 0, wtv)
	}

	var errInit, errPrev float64
	if p.Tolerance > 0 {
		errInit = math.Sqrt(2 * BetaDivergence(V, W, H, p.Beta))
		errPrev = errInit
	}
	n := 0
	for n = 1; n <= p.Iterations; n++ {
		for j := 0; j < t; j++ {
			v := vr.Data[j*vr.Stride : j*vr.Stride+f]
			h := hr.Data[j*hr.Stride : j*hr.Stride+k]
			if p.Beta == 2 {
				kn.wtv = wtv.Data[j*k : j*k+k]
			}
			kn.step(h, v)
		}
		if p.Tolerance > 0 && n%10 == 0 {
			e := math.Sqrt(2 * math.Max(BetaDivergence(V, W, ht.T(), p.Beta), 0))
			if (errPrev-e)/errInit < p.Tolerance {
				break
			}
			errPrev = e
		}
	}
	if n > p.Iterations {
		n = p.Iterations
	}
	H.Copy(ht.T())
	return n
}

// checkBatchParams panics if p is invalid. Unlike the Separator and Learn,
// SolveH accepts a tolerance of +Inf (see checkSolver).
func checkBatchParams(p BatchParams) {
	if err := checkSolver(p.Beta, p.Iterations, p.Tolerance, true); err != nil {
		panic(err)
	}
	if !(p.Sparsity >= 0) || math.IsInf(p.Sparsity, 1) {
		panic("separate: sparsity not a finite value >= 0")
	}
}

// denseCopy returns a row-major copy of m with Stride == Cols.
func denseCopy(m mat.Matrix) blas64.General {
	return mat.DenseCopyOf(m).RawMatrix()
}

// InitHLikeSklearn returns the K x T activations that scikit-learn 1.2.1's
// solver='mu' starts from when update_H=False: every element equal to
// sqrt(mean(V) / k). It allocates; it panics if k < 1.
func InitHLikeSklearn(V *mat.Dense, k int) *mat.Dense {
	if k < 1 {
		panic("separate: InitHLikeSklearn: k < 1")
	}
	f, t := V.Dims()
	h := mat.NewDense(k, t, nil)
	c := math.Sqrt(mat.Sum(V) / float64(f*t) / float64(k))
	raw := h.RawMatrix()
	for i := range raw.Data {
		raw.Data[i] = c
	}
	return h
}

// BetaDivergence returns D_beta(V | W H) summed over all elements, as
// scikit-learn 1.2.1's _beta_divergence(X, W, H, beta, square_root=False)
// computes it (dense X), for beta in [0, 2]:
//
//	beta = 2: sum (v - y)^2 / 2
//	beta = 1: sum v log(v/y) - v + y
//	beta = 0: sum v/y - log(v/y) - 1
//	other:    sum (v^beta + (beta-1) y^beta - beta v y^(beta-1)) / (beta (beta-1))
//
// with y = (W H), and like sklearn it skips the terms with v <= EPSILON
// (float32 epsilon) in the parts that divide by or take a power of v, and
// replaces y = 0 by EPSILON there. It allocates an F x T matrix; it panics if
// the dimensions do not agree or beta is outside [0, 2].
func BetaDivergence(V, W, H mat.Matrix, beta float64) float64 {
	if !(beta >= 0 && beta <= 2) {
		panic("separate: beta outside [0, 2]")
	}
	f, t := V.Dims()
	fw, k := W.Dims()
	kh, th := H.Dims()
	if fw != f || kh != k || th != t {
		panic("separate: BetaDivergence: dimension mismatch")
	}
	var wh mat.Dense
	wh.Mul(W, H)
	d := divSum{beta: beta}
	whr := wh.RawMatrix()
	for i := 0; i < f; i++ {
		for j := 0; j < t; j++ {
			d.add(V.At(i, j), whr.Data[i*whr.Stride+j])
		}
	}
	return d.value()
}

// divSum adds up D_beta(V | Y) element by element, as sklearn's
// _beta_divergence does (see BetaDivergence); BetaDivergence and Learn's
// block-by-block sum share it.
type divSum struct {
	beta                     float64
	res, sumX, sumY, sumBeta float64
	n                        float64 // elements added
}

// add adds the term of one element, v = x and (W H) = y.
func (d *divSum) add(x, y float64) {
	d.n++
	switch d.beta {
	case 2:
		e := x - y
		d.res += e * e
		return
	case 1:
		d.sumY += y // over all elements, as sklearn
	case 0:
	default:
		d.sumBeta += math.Pow(y, d.beta) // over all elements, as sklearn
	}
	if !(x > epsilon) {
		return
	}
	if y == 0 {
		y = epsilon
	}
	switch d.beta {
	case 1:
		d.res += x * math.Log(x/y)
		d.sumX += x
	case 0:
		r := x / y
		d.res += r - math.Log(r)
	default:
		d.res += math.Pow(x, d.beta) - d.beta*x*math.Pow(y, d.beta-1)
	}
}

// value is the divergence of everything added so far.
func (d *divSum) value() float64 {
	switch d.beta {
	case 2:
		return d.res / 2
	case 1:
		// sklearn adds sum(W H) over every element, and subtracts the kept v.
		return d.res + d.sumY - d.sumX
	case 0:
		return d.res - d.n
	}
	return (d.res + d.sumBeta*(d.beta-1)) / (d.beta * (d.beta - 1))
}
