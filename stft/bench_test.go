package stft_test

import (
	"fmt"
	"testing"

	godsp "github.com/mjibson/go-dsp/fft"
	"gonum.org/v1/gonum/dsp/fourier"

	"github.com/sepd/sepd/stft"
)

// BenchmarkFrame measures the per-frame STFT cost of the engine, one
// Analyze and one Synthesize, at the design's two benchmark sizes. Besides
// ns/op it reports us/frame and x-realtime: the seconds of audio one frame
// advances (hop/rate) divided by the seconds it takes, at 16 and 48 kHz.
func BenchmarkFrame(b *testing.B) {
	for _, c := range []struct{ fftSize, hop int }{{1024, 256}, {2048, 512}} {
		b.Run(fmt.Sprintf("fft=%d/hop=%d", c.fftSize, c.hop), func(b *testing.B) {
			an, err := stft.NewAnalyzer(c.fftSize, c.hop, stft.Hann)
			if err != nil {
				b.Fatal(err)
			}
			syn, err := stft.NewSynthesizer(c.fftSize, c.hop, stft.Hann)
			if err != nil {
				b.Fatal(err)
			}
			block := noise(7, c.hop)
			spec := make([]complex128, an.Bins())
			out := make([]float64, c.hop)
			b.ReportAllocs()
			for b.Loop() {
				an.Analyze(spec, block)
				syn.Synthesize(out, spec)
			}
			perFrame := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(perFrame*1e6, "us/frame")
			b.ReportMetric(float64(c.hop)/16000/perFrame, "x-realtime-16kHz")
			b.ReportMetric(float64(c.hop)/48000/perFrame, "x-realtime-48kHz")
		})
	}
}

// BenchmarkFFT compares a real forward and inverse transform with gonum's
// dsp/fourier (used by this package with -tags nofftw; BenchmarkRealFFT is the FFTW
// one it uses by default) and with github.com/mjibson/go-dsp/fft
// (FFTReal then IFFT, its API for real input), at the design's frame sizes.
// One op is one forward plus one inverse transform.
func BenchmarkFFT(b *testing.B) {
	for _, n := range []int{1024, 2048} {
		x := noise(8, n)
		b.Run(fmt.Sprintf("gonum/n=%d", n), func(b *testing.B) {
			fft := fourier.NewFFT(n)
			coef := make([]complex128, n/2+1)
			y := make([]float64, n)
			b.ReportAllocs()
			for b.Loop() {
				fft.Coefficients(coef, x)
				fft.Sequence(y, coef)
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*1e6, "us/op")
		})
		b.Run(fmt.Sprintf("go-dsp/n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c := godsp.FFTReal(x)
				godsp.IFFT(c)
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*1e6, "us/op")
		})
	}
}
