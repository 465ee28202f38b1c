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
				nfree := 0
				if free {
					nfree = c.k / 2
				}
				b.Run(name, func(b *testing.B) { benchProcess(b, c.fftSize, c.k, c.iter, beta, nfree, Params{}) })
			}
		}
	}
}
