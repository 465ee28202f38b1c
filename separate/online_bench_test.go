package separate

import (
	"fmt"
	"testing"
)

// BenchmarkProcessFree is the per-frame cost of semi-supervised separation
// beside the supervised one, for the (fft_size, K, iterations) pairs of
// DESIGN.md, hop fft_size/4: "fixed" has every basis fixed; "free" makes the
// second source's K/2 columns free bases learned online (its starting values
// are the same random bases, so the projection does the same work):
//
//	go test -run XXX -bench ProcessFree -benchtime 2000x ./separate
func BenchmarkProcessFree(b *testing.B) {
	for _, c := range []struct{ fftSize, k, iter int }{{1024, 64, 10}, {2048, 128, 20}} {
		for _, beta := range []float64{1, 2} {
			for _, free := range []bool{false, true} {
				kind := "fixed"
				if free {
					kind = "free"
				}
				name := fmt.Sprintf("fft%d_K%d_it%d_beta%g_%s", c.fftSize, c.k, c.iter, beta, kind)
				b.Run(name, func(b *testing.B) {
					bases, frames := benchSetup(c.fftSize, c.k)
					if free {
						bases.Free = []int{0, c.k / 2}
					}
					p := DefaultParams()
					p.Beta, p.Iterations = beta, c.iter
					s, err := NewSeparator(bases, p)
					if err != nil {
						b.Fatal(err)
					}
					masks := newMasks(2, bases.F())
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						s.Process(masks, frames[i%len(frames)])
						i++
					}
					perFrame := b.Elapsed().Seconds() / float64(b.N)
					hop := float64(c.fftSize / 4)
					b.ReportMetric(perFrame*1e6, "us/frame")
					b.ReportMetric(hop/16000/perFrame, "xRT@16kHz")
					b.ReportMetric(hop/48000/perFrame, "xRT@48kHz")
				})
			}
		}
	}
}
