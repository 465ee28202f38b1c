package separate

import (
	"fmt"
	"math"
	"testing"
)

// refStep is one multiplicative update written plainly from the general
// formula, with math.Pow everywhere and no special cases:
//
//	h <- h * ( W^T[(Wh)^(beta-2) * v] / (W^T (Wh)^(beta-1) + lambda) )^gamma
//
// with sklearn's clamps (Wh == 0 -> eps before a negative power, zero
// denominator -> eps, h < float64 eps -> 0 for beta < 1).
func refStep(w [][]float64, h, v []float64, beta, lambda float64) []float64 {
	F, K := len(w), len(h)
	wh := make([]float64, F)
	for f := range F {
		for k := range K {
			wh[f] += w[f][k] * h[k]
		}
	}
	gamma := 1.0
	if beta < 1 {
		gamma = 1 / (2 - beta)
	}
	out := make([]float64, K)
	for k := range K {
		var num, den float64
		for f := range F {
			x := wh[f]
			xs, xd := x, x
			if beta < 2 && xs == 0 {
				xs = epsilon
			}
			if beta < 1 && xd == 0 {
				xd = epsilon
			}
			num += w[f][k] * math.Pow(xs, beta-2) * v[f]
			den += w[f][k] * math.Pow(xd, beta-1)
		}
		den += lambda
		if den == 0 {
			den = epsilon
		}
		out[k] = h[k] * math.Pow(num/den, gamma)
		if beta < 1 && out[k] < float64Eps {
			out[k] = 0
		}
	}
	return out
}

// TestKernelAgainstReference checks every special case of kernel.step (the
// Gram form for beta = 2, column sums for 1, reciprocals for 0, square roots
// for 0.5 and 1.5) and the general math.Pow path against refStep, over 5
// updates on a real frame, with the fused beta-1 pass in assembly and in pure
// Go. 1e-12 relative: the two differ only in summation order and in an ulp
// or two per power.
func TestKernelAgainstReference(t *testing.T) {
	b := fixtureBases(t)
	F, K := b.F(), b.K()
	v := column(fixtureV(t), 30)
	w := make([][]float64, F)
	for f := range w {
		w[f] = make([]float64, K)
		for k := range w[f] {
			w[f][k] = b.W.At(f, k)
		}
	}
	withKLPaths(t, func(t *testing.T) { kernelAgainstReference(t, b, v, w) })
}

func kernelAgainstReference(t *testing.T, b *Bases, v []float64, w [][]float64) {
	K := b.K()
	for _, beta := range []float64{0, 0.25, 0.5, 1, 1.5, 1.75, 2} {
		for _, lambda := range []float64{0, 0.3} {
			t.Run(fmt.Sprintf("beta%v_l1%v", beta, lambda), func(t *testing.T) {
				kn := newKernel(denseCopy(b.W), beta, lambda, false)
				kn.prepare(v)
				h := make([]float64, K)
				ref := make([]float64, K)
				for k := range h {
					h[k] = 0.1 + 0.05*float64(k) // an uneven start
					ref[k] = h[k]
				}
				for it := range 5 {
					kn.step(h, v)
					ref = refStep(w, ref, v, beta, lambda)
					for k := range h {
						if e := math.Abs(h[k]-ref[k]) / (ref[k] + 1e-300); e > 1e-12 {
							t.Fatalf("update %d, h[%d] = %.17g, reference %.17g (rel %g)", it+1, k, h[k], ref[k], e)
						}
					}
				}
			})
		}
	}
}
