package stft_test

import (
	"fmt"

	"github.com/sepd/sepd/stft"
)

// Example streams a few samples through an Analyzer and a Synthesizer with
// an all-ones mask: the output is the input, DelaySamples later.
func Example() {
	const fftSize, hop = 16, 4
	an, err := stft.NewAnalyzer(fftSize, hop, stft.Hann)
	if err != nil {
		panic(err)
	}
	syn, err := stft.NewSynthesizer(fftSize, hop, stft.Hann)
	if err != nil {
		panic(err)
	}
	delay := stft.DelaySamples(fftSize, hop)

	// Eight input samples, then zeros to push them through the delay.
	in := make([]float64, 8+delay)
	copy(in, []float64{1, 2, 3, 4, -4, -3, -2, -1})

	spec := make([]complex128, an.Bins()) // buffers owned by the caller:
	block := make([]float64, hop)         // no allocation per frame
	var out []float64
	for k := 0; k < len(in); k += hop {
		an.Analyze(spec, in[k:k+hop])
		// A separator would multiply spec by a mask here.
		syn.Synthesize(block, spec)
		out = append(out, block...)
	}
	fmt.Println("delay:", delay, "samples")
	fmt.Printf("output after the delay: %.6f\n", out[delay:])
	// Output:
	// delay: 12 samples
	// output after the delay: [1.000000 2.000000 3.000000 4.000000 -4.000000 -3.000000 -2.000000 -1.000000]
}

func ExampleWindow() {
	w, err := stft.Window(stft.Hann, 8)
	if err != nil {
		panic(err)
	}
	// Periodic: the first 8 values of the symmetric Hann window of length 9.
	fmt.Printf("%.3f\n", w)
	// Output:
	// [0.000 0.146 0.500 0.854 1.000 0.854 0.500 0.146]
}

func ExampleParseWindow() {
	kind, err := stft.ParseWindow("sqrt-hann")
	fmt.Println(kind, err)
	_, err = stft.ParseWindow("hanning")
	fmt.Println(err)
	// Output:
	// sqrt-hann <nil>
	// stft: unknown window "hanning": valid windows are hann, sqrt-hann, hamming, blackman
}

func ExampleNewAnalyzer_error() {
	_, err := stft.NewAnalyzer(1024, 1024, stft.Hann)
	fmt.Println(err)
	// Output:
	// stft: hann window with fft_size 1024 and hop 1024 cannot be inverted: the overlap-added squared window is 0 at sample 0 of every hop (largest 1), so those samples are lost; use hop <= 512 (fft_size/2) or window hamming
}

func ExampleLatencySamples() {
	const rateHz, fftSize, hop = 16000, 1024, 256
	delay := stft.DelaySamples(fftSize, hop)
	latency := stft.LatencySamples(fftSize)
	fmt.Printf("stream delay %d samples; live latency %d samples = %.1f ms at %d Hz\n",
		delay, latency, 1e3*float64(latency)/rateHz, rateHz)
	// Output:
	// stream delay 768 samples; live latency 1023 samples = 63.9 ms at 16000 Hz
}

// The low-delay STFT of issue 12 at 48 kHz: the spectra keep fft_size's bins
// (the bases learned at 1024 apply), the delay follows the synthesis window.
func ExampleNewLowDelaySynthesizer() {
	const rateHz, fftSize, hop, latency = 48000, 1024, 64, 128
	an, err := stft.NewLowDelayAnalyzer(fftSize, hop, latency, stft.Hann)
	if err != nil {
		panic(err)
	}
	syn, err := stft.NewLowDelaySynthesizer(fftSize, hop, latency, stft.Hann)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d bins; stream delay %d samples; live latency %d samples = %.2f ms at %d Hz\n",
		an.Bins(), syn.DelaySamples(), syn.LatencySamples(), 1e3*float64(syn.LatencySamples())/rateHz, rateHz)
	_, err = stft.NewLowDelaySynthesizer(fftSize, hop, 100, stft.Hann)
	fmt.Println(err)
	// Output:
	// 513 bins; stream delay 64 samples; live latency 127 samples = 2.65 ms at 48000 Hz
	// stft: latency 100 is out of range for fft_size 1024 and hop 64: use 2*hop = 128 <= latency <= fft_size = 1024 (fft_size for the usual symmetric STFT)
}
