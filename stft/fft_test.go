package stft

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/dsp/fourier"
)

// TestRealFFTMatchesGonum: the FFT the Analyzer and Synthesizer use (FFTW by
// default) against gonum's FFTPACK on random frames: forward within 1e-12 of
// the largest coefficient, inverse within 1e-12 of the largest sample, as
// two correct double-precision FFTs of these sizes agree (their rounding is
// O(log2 N) ulps of the largest value, about 1e-15).
func TestRealFFTMatchesGonum(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{16, 512, 1024, 2048, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			x := make([]float64, n)
			for i := range x {
				x[i] = rng.NormFloat64()
			}
			f, g := newRealFFT(n), fourier.NewFFT(n)
			got, want := make([]complex128, n/2+1), make([]complex128, n/2+1)
			f.forward(got, x)
			g.Coefficients(want, x)
			scale := 0.0
			for _, z := range want {
				scale = math.Max(scale, math.Hypot(real(z), imag(z)))
			}
			for k := range want {
				if d := got[k] - want[k]; math.Hypot(real(d), imag(d)) > 1e-12*scale {
					t.Fatalf("forward bin %d: %v, gonum %v", k, got[k], want[k])
				}
			}
			want[0] += 3i // the imaginary parts of bin 0 and n/2 are ignored
			if n%2 == 0 {
				want[n/2] -= 2i
			}
			y, yWant := make([]float64, n), make([]float64, n)
			f.inverse(y, want)
			g.Sequence(yWant, want)
			scale = 0
			for _, v := range yWant {
				scale = math.Max(scale, math.Abs(v))
			}
			for i := range y {
				if math.Abs(y[i]-yWant[i]) > 1e-12*scale {
					t.Fatalf("inverse sample %d: %v, gonum %v", i, y[i], yWant[i])
				}
			}
		})
	}
}

// BenchmarkRealFFT is BenchmarkFFT's op (one forward and one inverse
// transform) with the FFT the Analyzer and Synthesizer use: FFTW, or gonum
// with -tags nofftw.
//
//	go test -run '^$' -bench FFT ./stft/
func BenchmarkRealFFT(b *testing.B) {
	for _, n := range []int{1024, 2048} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			x := make([]float64, n)
			for i := range x {
				x[i] = math.Sin(float64(i * i))
			}
			f := newRealFFT(n)
			coef, y := make([]complex128, n/2+1), make([]float64, n)
			b.ReportAllocs()
			for b.Loop() {
				f.forward(coef, x)
				f.inverse(y, coef)
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*1e6, "us/op")
		})
	}
}
