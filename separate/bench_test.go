package separate

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// benchSetup makes seeded random bases (two sources of K/2 columns each,
// F = fftSize/2+1) and 32 frames that the bases explain up to 10 % noise.
func benchSetup(fftSize, k int) (*Bases, [][]float64) {
	f := fftSize/2 + 1
	rng := rand.New(rand.NewPCG(uint64(fftSize), uint64(k)))
	ws := make([]*mat.Dense, 2)
	for s := range ws {
		w := mat.NewDense(f, k/2, nil)
		for i := 0; i < f; i++ {
			for j := 0; j < k/2; j++ {
				w.Set(i, j, rng.ExpFloat64())
			}
		}
		ws[s] = w
	}
	b, err := NewBases([]string{"voice", "noise"}, ws)
	if err != nil {
		panic(err)
	}
	frames := make([][]float64, 32)
	h := make([]float64, k)
	for t := range frames {
		for j := range h {
			h[j] = 0
			if rng.IntN(4) == 0 { // a quarter of the bases active
				h[j] = rng.ExpFloat64()
			}
		}
		v := make([]float64, f)
		for i := range v {
			for j, x := range h {
				v[i] += b.W.At(i, j) * x
			}
			v[i] *= 0.9 + 0.2*rng.Float64()
		}
		frames[t] = v
	}
	return b, frames
}

// BenchmarkProcess is the per-frame projection and masks (Separator.Process)
// for the (fft_size, K, iterations) pairs of DESIGN.md, with hop fft_size/4,
// for beta 1 (KL), 2 and 0.5 (the general path):
//
//	go test -run XXX -bench 'Process$' -benchtime 2000x ./separate
//
// us/frame is the time per call; cpu-us/frame the CPU time of the thread per
// call (Linux), which other processes on a busy machine do not inflate;
// xRT@16kHz and xRT@48kHz are how many times
// faster than real time that is, for one hop (fft_size/4 samples) per frame.
func BenchmarkProcess(b *testing.B) {
	for _, c := range []struct{ fftSize, k, iter int }{{1024, 64, 10}, {2048, 128, 20}} {
		for _, beta := range []float64{1, 2, 0.5} {
			name := fmt.Sprintf("fft%d_K%d_it%d_beta%g", c.fftSize, c.k, c.iter, beta)
			b.Run(name, func(b *testing.B) { benchProcess(b, c.fftSize, c.k, c.iter, beta, 0, Params{}) })
		}
	}
}

// BenchmarkProcessAdapt: the quality setting measured for issue 11 (README,
// Quality): beta 0.5, update exponent 1, bases that follow the mixture.
func BenchmarkProcessAdapt(b *testing.B) {
	for _, c := range []struct{ fftSize, k, iter int }{{1024, 64, 10}, {2048, 128, 20}} {
		name := fmt.Sprintf("fft%d_K%d_it%d_beta0.5_exp1_adapt5", c.fftSize, c.k, c.iter)
		b.Run(name, func(b *testing.B) {
			benchProcess(b, c.fftSize, c.k, c.iter, 0.5, 0, Params{UpdateExponent: 1, Adapt: 5})
		})
	}
}

// BenchmarkProcessRecon: the same with reconstruction bases for the masks
// (Bases.Recon; here W' = 2 W, the cost does not depend on the values),
// alone with beta 1 and 0.5 (update exponent 1), and with adapted bases.
func BenchmarkProcessRecon(b *testing.B) {
	for _, c := range []struct{ fftSize, k, iter int }{{1024, 64, 10}, {2048, 128, 20}} {
		for _, beta := range []float64{1, 0.5} {
			name := fmt.Sprintf("fft%d_K%d_it%d_beta%g_recon", c.fftSize, c.k, c.iter, beta)
			b.Run(name, func(b *testing.B) { benchProcessRecon(b, c.fftSize, c.k, c.iter, beta, Params{UpdateExponent: 1}) })
		}
		name := fmt.Sprintf("fft%d_K%d_it%d_beta0.5_exp1_adapt5_recon", c.fftSize, c.k, c.iter)
		b.Run(name, func(b *testing.B) {
			benchProcessRecon(b, c.fftSize, c.k, c.iter, 0.5, Params{UpdateExponent: 1, Adapt: 5})
		})
	}
}

func benchProcessRecon(b *testing.B, fftSize, k, iter int, beta float64, extra Params) {
	if beta == 1 {
		extra.UpdateExponent = 0
	}
	benchProcessBases(b, fftSize, k, iter, beta, 0, extra, func(bases *Bases) {
		bases.Recon = mat.DenseCopyOf(bases.W)
		bases.Recon.Scale(2, bases.Recon)
	})
}

// benchProcess measures Separator.Process with two sources of k/2 bases each,
// the second with free of its columns learned online (0: all fixed), and
// extra's UpdateExponent and Adapt.
func benchProcess(b *testing.B, fftSize, k, iter int, beta float64, free int, extra Params) {
	benchProcessBases(b, fftSize, k, iter, beta, free, extra, nil)
}

// benchProcessBases is benchProcess with the bases changed by edit first
// (unless nil).
func benchProcessBases(b *testing.B, fftSize, k, iter int, beta float64, free int, extra Params, edit func(*Bases)) {
	bases, frames := benchSetup(fftSize, k)
	if free > 0 {
		bases.Free = []int{0, free}
	}
	if edit != nil {
		edit(bases)
	}
	p := DefaultParams()
	p.Beta, p.Iterations = beta, iter
	p.UpdateExponent, p.Adapt = extra.UpdateExponent, extra.Adapt
	s, err := NewSeparator(bases, p)
	if err != nil {
		b.Fatal(err)
	}
	masks := newMasks(2, bases.F())
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	i := 0
	cpu0 := threadCPU()
	for b.Loop() {
		s.Process(masks, frames[i%len(frames)])
		i++
	}
	if cpu0 >= 0 {
		b.ReportMetric((threadCPU()-cpu0).Seconds()/float64(b.N)*1e6, "cpu-us/frame")
	}
	perFrame := b.Elapsed().Seconds() / float64(b.N)
	hop := float64(fftSize / 4)
	b.ReportMetric(perFrame*1e6, "us/frame")
	b.ReportMetric(hop/16000/perFrame, "xRT@16kHz")
	b.ReportMetric(hop/48000/perFrame, "xRT@48kHz")
}

// BenchmarkLearnRecon measures one of LearnRecon's multiplicative updates
// (reconState.step: the products, the gradient's terms, the update), without
// the setup of its F x T state, on learn-recon's size for 30 s per source:
// two sources of K/2 bases, the three training mixtures' T frames (fft 1024,
// hop 256: 5628; fft 2048, hop 512: 7755), seeded random material. It
// reports s/iteration, and allocs/op shows that an update allocates only
// inside gonum's parallel products.
func BenchmarkLearnRecon(b *testing.B) {
	for _, c := range []struct{ fftSize, k, t int }{{1024, 64, 5628}, {2048, 64, 7755}} {
		b.Run(fmt.Sprintf("fft%d_K%d_T%d", c.fftSize, c.k, c.t), func(b *testing.B) {
			bases, _ := benchSetup(c.fftSize, c.k)
			f := bases.F()
			rng := rand.New(rand.NewPCG(1, 2))
			rnd := func(r, cols int) *mat.Dense {
				m := mat.NewDense(r, cols, nil)
				for i := range r {
					for j := range cols {
						m.Set(i, j, rng.ExpFloat64())
					}
				}
				return m
			}
			d := ReconData{H: rnd(c.k, c.t), S: []*mat.Dense{rnd(f, c.t), rnd(f, c.t)}}
			d.V = mat.NewDense(f, c.t, nil)
			d.V.Add(d.S[0], d.S[1])
			st := newReconState(bases, d)
			wr := mat.DenseCopyOf(bases.W)
			b.ReportAllocs()
			for b.Loop() {
				st.step(wr, 2, DefaultReconStep)
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/iteration")
		})
	}
}
