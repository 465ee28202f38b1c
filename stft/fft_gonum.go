//go:build nofftw

package stft

import "gonum.org/v1/gonum/dsp/fourier"

// realFFT is the real-input FFT through gonum's pure-Go FFTPACK, for builds
// with -tags nofftw (see fft_fftw.go).
type realFFT struct{ fft *fourier.FFT }

func newRealFFT(n int) *realFFT { return &realFFT{fourier.NewFFT(n)} }

func (f *realFFT) forward(dst []complex128, x []float64) { f.fft.Coefficients(dst, x) }

func (f *realFFT) inverse(dst []float64, spec []complex128) { f.fft.Sequence(dst, spec) }
