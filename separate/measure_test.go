package separate

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

var measure = flag.Bool("measure", false, "run TestWarmStartMeasure (tens of seconds)")

// measureSequence builds the frames of the warm-start measurement from the
// committed fixture (espeak-ng speech + fan noise, F = 257):
//
//   - level: the 200 fixture frames in blocks of 20 with gains of
//     0, -20, +12, -40, 0, -6, +20, -30, 0, -10 dB, and 10 frames of digital
//     silence after the 3rd and the 7th block;
//   - onset: 40 frames of noise alone (the noise bases with random
//     activations at the fixture's noise level), then speech (frames 20..79).
//
// It returns the frames and, per frame, whether it is silent.
func measureSequence(t testing.TB, b *Bases) (frames [][]float64, silent []bool) {
	V := fixtureV(t)
	F, _ := V.Dims()
	gains := []float64{0, -20, 12, -40, 0, -6, 20, -30, 0, -10}
	for blk, db := range gains {
		g := math.Pow(10, db/20)
		for j := blk * 20; j < blk*20+20; j++ {
			v := column(V, j)
			for f := range v {
				v[f] *= g
			}
			frames = append(frames, v)
			silent = append(silent, false)
		}
		if blk == 2 || blk == 6 {
			for range 10 {
				frames = append(frames, make([]float64, F))
				silent = append(silent, true)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	// Noise level: the fixture's quietest frame is mostly noise; its mean
	// magnitude sets the scale of the noise-only frames.
	quiet := math.Inf(1)
	for j := 0; j < 200; j++ {
		quiet = math.Min(quiet, mat.Sum(V.ColView(j))/float64(F))
	}
	for range 40 {
		v := make([]float64, F)
		var mean float64
		h := make([]float64, b.K())
		for k := b.Start[1]; k < b.K(); k++ {
			h[k] = 0.5 + rng.Float64()
		}
		for f := range v {
			for k := b.Start[1]; k < b.K(); k++ {
				v[f] += b.W.At(f, k) * h[k]
			}
			mean += v[f] / float64(F)
		}
		for f := range v {
			v[f] *= quiet / mean
		}
		frames = append(frames, v)
		silent = append(silent, true) // noise only: left out of the averages
	}
	for j := 20; j < 80; j++ {
		frames = append(frames, column(V, j))
		silent = append(silent, false)
	}
	return frames, silent
}

// TestWarmStartMeasure measures the warm-start choices quoted in the
// Separator's doc comment:
//
//	go test -run WarmStartMeasure -measure -v ./separate
//
// For every non-silent frame it compares the divergence and the voice mask
// after N iterations with the converged ones (cold start, 2000 iterations),
// and reports the means: excess divergence (D_N - D*)/D* in percent, and
// mean |M_N - M*| of the voice mask.
func TestWarmStartMeasure(t *testing.T) {
	if !*measure {
		t.Skip("a measurement, not a test: run with -measure")
	}
	b := fixtureBases(t)
	frames, silent := measureSequence(t, b)
	F := b.F()
	div := func(v, h []float64, beta float64) float64 {
		return BetaDivergence(mat.NewDense(F, 1, v), b.W, mat.NewDense(len(h), 1, h), beta)
	}
	type strategy struct {
		name    string
		cold    bool
		floor   float64
		rescale bool
	}
	strategies := []strategy{{name: "cold", cold: true}}
	for _, fl := range []float64{0, 1e-6, 1e-3, 1e-2, 2e-2, 3e-2, 5e-2, 1e-1} {
		strategies = append(strategies, strategy{name: fmt.Sprintf("warm floor %g", fl), floor: fl})
	}
	for _, fl := range []float64{0, 1e-3, 3e-2} {
		strategies = append(strategies, strategy{name: fmt.Sprintf("floor %g + rescale", fl), floor: fl, rescale: true})
	}
	for _, run := range []struct {
		beta float64
		n    int
	}{{1, 10}, {2, 10}, {0.5, 10}, {0, 10}, {1, 20}, {2, 20}} {
		beta, N := run.beta, run.n
		// Converged reference per frame.
		p := DefaultParams()
		p.Beta, p.Iterations = beta, 2000
		ref, _ := NewSeparator(b, p)
		masks := newMasks(2, F)
		dStar := make([]float64, len(frames))
		mStar := make([][]float64, len(frames))
		for j, v := range frames {
			ref.Reset()
			ref.Process(masks, v)
			dStar[j] = div(v, ref.Activations(), beta)
			mStar[j] = append([]float64(nil), masks[0]...)
		}
		var lines []string
		for _, st := range strategies {
			p := DefaultParams()
			p.Beta, p.Iterations, p.Floor = beta, N, st.floor
			s, _ := NewSeparator(b, p)
			var exLevel, exOnset, mLevel, mOnset, mFirst float64
			var nLevel, nOnset, nFirst int
			for j, v := range frames {
				if st.cold {
					s.Reset()
				}
				if st.rescale && maxOf(s.h) > 0 {
					// The floor is relative to max(h), so scaling h first is
					// the same as scaling after the floor.
					rescaleToFrame(s, v)
				}
				s.Process(masks, v)
				if silent[j] {
					continue
				}
				d := div(v, s.Activations(), beta)
				ex := (d - dStar[j]) / dStar[j]
				me := 0.0
				for f := range masks[0] {
					me += math.Abs(masks[0][f]-mStar[j][f]) / float64(F)
				}
				switch {
				case j < 220:
					exLevel += ex
					mLevel += me
					nLevel++
				default:
					exOnset += ex
					mOnset += me
					nOnset++
					if nOnset <= 5 {
						mFirst += me
						nFirst++
					}
				}
			}
			lines = append(lines, fmt.Sprintf("  %-24s level: excess D %6.3f%%  mask err %.4f | onset: excess D %6.3f%%  mask err %.4f, first 5 frames %.4f",
				st.name, 100*exLevel/float64(nLevel), mLevel/float64(nLevel),
				100*exOnset/float64(nOnset), mOnset/float64(nOnset), mFirst/float64(nFirst)))
		}
		t.Logf("beta=%v, N=%d iterations, reference 2000 cold iterations:\n%s", beta, N, strings.Join(lines, "\n"))
	}
}

// rescaleToFrame multiplies the Separator's activations by the c > 0 that
// minimises D_beta(v | c W h): setting the derivative in c to zero gives
// c = sum(v u^(beta-1)) / sum(u^beta) with u = W h, i.e. sum(v)/sum(u) for
// beta = 1 and <v,u>/<u,u> for beta = 2. It is the rescaling the
// measurement tries; the Separator does not do it (see its doc comment).
func rescaleToFrame(s *Separator, v []float64) {
	F := s.f
	beta := s.p.Beta
	var num, den float64
	for f := 0; f < F; f++ {
		u := 0.0
		for k, x := range s.h {
			u += s.w.Data[f*s.w.Stride+k] * x
		}
		if u == 0 {
			continue
		}
		num += v[f] * math.Pow(u, beta-1)
		den += math.Pow(u, beta)
	}
	if c := num / den; c > 0 && !math.IsInf(c, 1) {
		for k := range s.h {
			s.h[k] *= c
		}
	}
}
