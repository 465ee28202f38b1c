// Package stft owns sepd's short-time Fourier transform: the streaming
// Analyzer that turns blocks of samples into windowed spectra, the
// streaming Synthesizer that turns (masked) spectra back into samples by
// weighted overlap-add, the analysis windows, and the accounting of the
// delay and latency this adds.
//
// # Place in the pipeline
//
//	input (device | file) -> capture loop -> ring buffer
//	   |  hop samples per channel c
//	   v
//	+-----------------------------+
//	| stft.Analyzer (per channel) |  window (fft_size), FFT
//	+-----------------------------+
//	   |  X[c][f], Bins() = fft_size/2+1 complex bins
//	   v
//	magnitude V[f] -> separate.Separator -> masks M_s[f]
//	   |  Y[f] = M_s[f] * X[c][f], per source s and channel c
//	   v
//	+-------------------------------------------+
//	| stft.Synthesizer (per source and channel) |  inverse FFT, window, overlap-add
//	+-------------------------------------------+
//	   |  hop samples
//	   v
//	outputs (device | WAV file | dropped)
//
// The engine owns one Analyzer per input channel and one Synthesizer per
// source and channel, all with the same fft_size, hop and window, and calls
// them once per hop from its single real-time goroutine. Analyze and
// Synthesize allocate nothing when given their destination slices.
//
// # Reconstruction
//
// The analysis window w is one of the periodic windows of Window (Hann by
// default). The Synthesizer uses the least-squares synthesis window of
// Griffin and Lim,
//
//	ws[n] = w[n] / D[n mod hop],  D[r] = sum of w[n]^2 over 0 <= n < fft_size, n = r (mod hop),
//
// so that sum over frames of ws*w is exactly 1 at every output sample, for
// any hop between 1 and fft_size, whether or not it divides fft_size. An
// Analyzer followed by a Synthesizer with unchanged spectra therefore
// reproduces its input to rounding error (the tests see at most 7e-15 for
// inputs in [-1, 1), over every window and many sizes and hops). Where D
// is zero or nearly so (below 1e-6 of its largest value), some input
// samples could not be recovered, or only by amplifying them a thousand
// times or more; NewAnalyzer and NewSynthesizer refuse such a combination
// with an error naming it and what to use instead. The only common case is
// hop == fft_size with hann, sqrt-hann or blackman (all zero at n = 0);
// hop <= fft_size/2 always works, and hamming works at every hop.
//
// # Delay and latency
//
// Both are counted in samples (sample periods of the stream's rate).
//
// Delay is a property of the sample streams. Number the input samples
// x[0], x[1], ... as they are passed to Analyze, a block of hop samples per
// call, and the output samples y[0], y[1], ... as Synthesize returns them,
// a block of hop samples per call. With unchanged spectra
//
//	y[i] = x[i - DelaySamples(fft_size, hop)],  DelaySamples = fft_size - hop,
//
// where x before x[0] counts as zeros: the Analyzer's history starts as
// zeros, so y[0 .. fft_size-hop-1] are zeros (to rounding) and every later
// sample is exact. So that an output file has exactly the input's length and
// alignment, an offline run drops the first DelaySamples output samples
// (DelaySamples, not LatencySamples: in stream terms the shift is
// fft_size - hop) and feeds zeros after the input's end until the last
// input sample has come out.
//
// Latency is a property of time in a live run. Call tick t the sample
// period in which the device delivers x[t]. Block k (x[k*hop .. k*hop+hop-1])
// is complete at tick k*hop+hop-1; if it is processed at once, output block
// k (y[k*hop .. k*hop+hop-1]) can start playing in that same tick, so y[j]
// plays at tick j+hop-1. Since y[j] = x[j - (fft_size-hop)], input
// sample x[i] is heard at tick
//
//	i + (fft_size - hop) + (hop - 1) = i + LatencySamples(fft_size),  LatencySamples = fft_size - 1:
//
// the delay plus the hop - 1 ticks that the first sample of each block
// waits for the block to fill. Every sample, not just the worst, has this
// latency, and it does not depend on hop: a smaller hop trades block
// filling for overlap. Processing time and device buffers come on top; at
// 16 kHz, fft_size 1024 is 63.9 ms.
//
// # Low delay
//
// The delay above is set by the synthesis window's length, and that is the
// analysis window's (fft_size) because the two are the same shape. The
// low-delay pair (NewLowDelayAnalyzer, NewLowDelaySynthesizer; the
// configuration's stft.latency) separates them, after Mauler and Martin
// (2007): the analysis window keeps fft_size samples, so the spectra have
// the usual bins and bases learned with the usual STFT apply, but it is
// asymmetric; the synthesis window is zero but on the newest L = latency
// samples of the frame:
//
//	wa[n] = g * rise[n],                      0 <= n < N - L/2   (rise: the first half of the kind's window of length 2(N - L/2))
//	wa[n] = g * sin(pi (n - (N-L)) / L),      N - L/2 <= n < N   (the falling half of a square-root Hann of length L)
//	ws[n] = hann_L[n - (N-L)] / (wa[n] * D[n mod hop]),  N - L <= n < N, and 0 before,
//
// with N = fft_size, hann_L the periodic Hann window of length L, D its
// overlap-add at this hop (as above) and g the factor that gives wa the sum
// of the symmetric window of the kind (so that a tone has the level the
// bases expect). wa*ws is hann_L/D on the last L samples, which sums to 1
// over the frames at every sample: reconstruction is exact (the tests see
// below 1e-15). With the sqrt-hann kind and L = 2*hop this is Mauler and
// Martin's pair without zero padding. Since only the newest L samples of a
// frame are synthesised,
//
//	DelaySamples = L - hop,  LatencySamples = L - 1,
//
// (Synthesizer.DelaySamples, Synthesizer.LatencySamples): at 48 kHz, hop 64
// and L 128 that is 64 and 127 samples (2.6 ms) instead of 768 and 1023 at
// fft_size 1024, hop 256. L must be between 2*hop and fft_size; L ==
// fft_size is the symmetric STFT, bit for bit.
//
// The price is in the masks, not in the spectra the bases see: a mask
// applied to a frame acts as a filter whose impulse response the synthesis
// window then cuts to L samples, so the filter applied is the mask smoothed
// over about 2*rate/L Hz (750 Hz at 48 kHz and L 128, 375 Hz at L 256),
// whatever fft_size resolves. Measured on the demo (scripts/measure-lowlat):
// at 48 kHz, fft_size 1024 and hop 64, latency 128 loses 1.3-1.7 dB of SDR
// against the symmetric STFT, 192 0.4-0.7 dB, 256 0.1-0.4 dB. In a one-off
// experiment, shortening the analysis window instead (zeros over its first
// 256 or 512 samples, as Mauler and Martin allow) or a fall over all L
// samples changed the SDR by at most 0.15 dB.
//
// References:
//
//	D. W. Griffin and J. S. Lim, "Signal estimation from modified short-time
//	Fourier transform", IEEE Trans. ASSP 32(2), 236-243, 1984.
//	D. Mauler and R. Martin, "A low delay, variable resolution, perfect
//	reconstruction spectral analysis-synthesis system for speech
//	enhancement", Proc. EUSIPCO 2007, 222-226.
package stft
