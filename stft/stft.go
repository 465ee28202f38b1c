package stft

import (
	"fmt"
	"math"
	"strings"
)

// MinFFTSize is the smallest fftSize NewAnalyzer and NewSynthesizer accept.
const MinFFTSize = 16

// minNormRatio is the smallest value the overlap-added squared window
// (see olaNorm) may take, relative to its largest value. The synthesis
// window divides by it, so a sample where it is 1e-6 of the largest is
// amplified about 1/sqrt(1e-6) = 1000 times more than the best-covered
// sample: any change a mask makes there (and any rounding) comes out 60 dB
// too loud. Below that the pair is treated as not invertible. It rejects
// exactly hop == fftSize for the windows that are 0 at n = 0 (hann,
// sqrt-hann, blackman) and, for them, the few hops just below fftSize whose
// only overlap is the window's near-zero tail.
const minNormRatio = 1e-6

// DelaySamples returns the delay, in samples, of the stream Synthesizer
// produces behind the stream Analyzer consumes, for one fftSize and hop:
// fftSize - hop. Output stream sample i equals input sample
// i - DelaySamples(fftSize, hop) when the spectra pass unchanged, and the
// first DelaySamples output samples are zeros (the input before the first
// sample counts as silence). DelaySamples does not allocate; it panics
// unless fftSize >= MinFFTSize and 1 <= hop <= fftSize.
func DelaySamples(fftSize, hop int) int {
	if fftSize < MinFFTSize || hop < 1 || hop > fftSize {
		panic(fmt.Sprintf("stft: DelaySamples(%d, %d): want fftSize >= %d and 1 <= hop <= fftSize", fftSize, hop, MinFFTSize))
	}
	return fftSize - hop
}

// LatencySamples returns the algorithmic latency of a live stream through
// an Analyzer and a Synthesizer of this fftSize, in sample periods:
// fftSize - 1, for every hop. It is DelaySamples(fftSize, hop) plus the
// hop - 1 sample periods the oldest sample of a block waits for the block to
// fill; see the package documentation for the exact accounting. Device
// buffers and processing time come on top. LatencySamples does not allocate;
// it panics if fftSize < MinFFTSize.
func LatencySamples(fftSize int) int {
	if fftSize < MinFFTSize {
		panic(fmt.Sprintf("stft: LatencySamples(%d): want fftSize >= %d", fftSize, MinFFTSize))
	}
	return fftSize - 1
}

// olaNorm returns D with D[r] = sum of w[n]^2 over all n = r (mod hop),
// 0 <= r < hop: the overlap-added squared window. Analysis with w followed
// by synthesis with w and overlap-add at this hop multiplies output sample t
// by D[t mod hop]; D is periodic with period hop whether or not hop divides
// len(w).
func olaNorm(w []float64, hop int) []float64 {
	d := make([]float64, hop)
	for n, v := range w {
		d[n%hop] += v * v
	}
	return d
}

// weakestNorm returns the index and value of the smallest element of d
// and the largest value.
func weakestNorm(d []float64) (at int, lo, hi float64) {
	lo, hi = d[0], d[0]
	for r, v := range d {
		if v < lo {
			at, lo = r, v
		}
		hi = max(hi, v)
	}
	return at, lo, hi
}

// invertible reports whether analysis and synthesis with the window w at
// this hop can reconstruct every sample.
func invertible(d []float64) bool {
	_, lo, hi := weakestNorm(d)
	return lo > minNormRatio*hi
}

// plan validates fftSize, hop, latency and kind and returns the analysis
// window wa (fftSize samples) and the support of the synthesis window,
// ws[i] = synthesis window at frame sample fftSize-latency+i, divided by
// fftSize for the unnormalised inverse FFT (latency samples). For
// latency == fftSize they are the symmetric pair of symmetricPlan; below it
// the low-delay pair of lowDelayPlan. Its errors name the configuration keys
// stft.fft_size, stft.hop, stft.latency and stft.window and say what to use
// instead.
func plan(fftSize, hop, latency int, kind WindowKind) (wa, ws []float64, err error) {
	if latency == fftSize {
		w, d, err := symmetricPlan(fftSize, hop, kind)
		if err != nil {
			return nil, nil, err
		}
		ws := make([]float64, fftSize)
		for n, v := range w {
			ws[n] = v / (d[n%hop] * float64(fftSize))
		}
		return w, ws, nil
	}
	return lowDelayPlan(fftSize, hop, latency, kind)
}

// lowDelayPlan builds the asymmetric pair of the package documentation for
// latency L < fftSize N: wa rises as the first half of the kind's window of
// length 2(N - L/2) and falls over its last L/2 samples as the second half
// of a square-root Hann window of length L; wa times the synthesis window
// is the periodic Hann window of length L on the last L samples of the
// frame, divided by its overlap-add at this hop so that the frames sum to 1
// at every sample. wa is scaled to the sum of the symmetric window of the
// kind, so that spectra keep the level bases learned with it expect.
func lowDelayPlan(N, hop, L int, kind WindowKind) (wa, ws []float64, err error) {
	if N < MinFFTSize {
		return nil, nil, fmt.Errorf("stft: fft_size %d is too small: use at least %d (1024 or 2048 are usual)", N, MinFFTSize)
	}
	if hop < 1 || hop > N {
		return nil, nil, fmt.Errorf("stft: hop %d is out of range for fft_size %d: use 1 <= hop <= %d (fft_size/4 = %d is usual)", hop, N, N, N/4)
	}
	if L < 2*hop || L > N {
		return nil, nil, fmt.Errorf("stft: latency %d is out of range for fft_size %d and hop %d: use 2*hop = %d <= latency <= fft_size = %d (fft_size for the usual symmetric STFT)",
			L, N, hop, 2*hop, N)
	}
	sym, err := Window(kind, N)
	if err != nil {
		return nil, nil, err
	}
	fall := L / 2       // samples of the falling part
	riseLen := N - fall // samples of the rising part, the peak at its end
	rise, err := Window(kind, 2*riseLen)
	if err != nil {
		return nil, nil, err
	}
	wa = make([]float64, N)
	copy(wa, rise[:riseLen])
	for n := riseLen; n < N; n++ {
		wa[n] = math.Sin(math.Pi * float64(n-(N-L)) / float64(L))
	}
	var sumSym, sumA float64
	for n := range wa {
		sumSym += sym[n]
		sumA += wa[n]
	}
	for n := range wa {
		wa[n] *= sumSym / sumA
	}
	// prod[m]: the periodic Hann window of length L, wa times the synthesis
	// window at frame sample N-L+m; d: its overlap-add at this hop.
	off := N - L
	prod := make([]float64, L)
	d := make([]float64, hop)
	for m := range prod {
		s := math.Sin(math.Pi * float64(m) / float64(L))
		prod[m] = s * s
		d[(off+m)%hop] += prod[m]
	}
	if !invertible(d) {
		at, lo, hi := weakestNorm(d)
		return nil, nil, fmt.Errorf("stft: latency %d with fft_size %d and hop %d cannot be inverted: "+
			"the overlap-added window is %.3g at sample %d of every hop (largest %.3g); use latency >= %d (2*hop)",
			L, N, hop, lo, at, hi, 2*hop)
	}
	ws = make([]float64, L)
	for m, p := range prod {
		if p == 0 {
			continue // m == 0: the Hann window's zero; wa is not zero there
		}
		ws[m] = p / (wa[off+m] * d[(off+m)%hop] * float64(N))
	}
	return wa, ws, nil
}

// symmetricPlan validates fftSize, hop and kind and returns the analysis
// window and its overlap-add normaliser (see olaNorm). Its errors name the
// configuration keys stft.fft_size, stft.hop and stft.window and say what
// to use instead.
func symmetricPlan(fftSize, hop int, kind WindowKind) (w, d []float64, err error) {
	if fftSize < MinFFTSize {
		return nil, nil, fmt.Errorf("stft: fft_size %d is too small: use at least %d (1024 or 2048 are usual)", fftSize, MinFFTSize)
	}
	if hop < 1 || hop > fftSize {
		return nil, nil, fmt.Errorf("stft: hop %d is out of range for fft_size %d: use 1 <= hop <= %d (fft_size/4 = %d is usual)", hop, fftSize, fftSize, fftSize/4)
	}
	w, err = Window(kind, fftSize)
	if err != nil {
		return nil, nil, err
	}
	d = olaNorm(w, hop)
	if invertible(d) {
		return w, d, nil
	}
	at, lo, hi := weakestNorm(d)
	var others []string
	for _, k := range windowKinds {
		if k == kind {
			continue
		}
		if ow, _ := Window(k, fftSize); invertible(olaNorm(ow, hop)) {
			others = append(others, string(k))
		}
	}
	instead := fmt.Sprintf("use hop <= %d (fft_size/2)", fftSize/2)
	if len(others) > 0 {
		instead += " or window " + strings.Join(others, " or ")
	}
	return nil, nil, fmt.Errorf("stft: %s window with fft_size %d and hop %d cannot be inverted: "+
		"the overlap-added squared window is %.3g at sample %d of every hop (largest %.3g), "+
		"so those samples are lost; %s", kind, fftSize, hop, lo, at, hi, instead)
}

// Analyzer turns a stream of samples into a stream of spectra: every call to
// Analyze takes the next Hop() samples and returns the spectrum of the
// newest FFTSize() samples, windowed. It owns its FFT and buffers; create it
// once, not per frame. An Analyzer is not safe for concurrent use.
type Analyzer struct {
	fft   *realFFT
	hop   int
	win   []float64 // analysis window, len fftSize
	hist  []float64 // the newest fftSize input samples, oldest first
	frame []float64 // scratch: hist times win
}

// NewAnalyzer returns an Analyzer for frames of fftSize samples advancing by
// hop samples, windowed by kind, with a history of zeros. It returns an
// error unless fftSize >= MinFFTSize and 1 <= hop <= fftSize, for an
// unknown kind, and when the window cannot be inverted at this hop (for
// example hann with hop == fftSize), because the matching Synthesizer could
// not rebuild the signal; the error says what to use instead. NewAnalyzer
// allocates. It is NewLowDelayAnalyzer with latency fftSize.
func NewAnalyzer(fftSize, hop int, kind WindowKind) (*Analyzer, error) {
	return NewLowDelayAnalyzer(fftSize, hop, fftSize, kind)
}

// NewLowDelayAnalyzer returns an Analyzer for the low-delay STFT of the
// given latency (the length of the synthesis window; see the package
// documentation): its analysis window is fftSize samples long, so its
// spectra have fftSize/2+1 bins as usual, but asymmetric, rising over
// fftSize - latency/2 samples as the first half of the window kind and
// falling over the last latency/2 as a square-root Hann. Latency fftSize
// gives the usual symmetric window, exactly NewAnalyzer's. It returns an
// error unless 2*hop <= latency <= fftSize (or latency == fftSize), and the
// errors of NewAnalyzer. It allocates.
func NewLowDelayAnalyzer(fftSize, hop, latency int, kind WindowKind) (*Analyzer, error) {
	w, _, err := plan(fftSize, hop, latency, kind)
	if err != nil {
		return nil, err
	}
	return &Analyzer{
		fft:   newRealFFT(fftSize),
		hop:   hop,
		win:   w,
		hist:  make([]float64, fftSize),
		frame: make([]float64, fftSize),
	}, nil
}

// FFTSize returns the frame length in samples. It does not allocate.
func (a *Analyzer) FFTSize() int { return len(a.win) }

// Hop returns the number of samples each Analyze call consumes. It does not
// allocate.
func (a *Analyzer) Hop() int { return a.hop }

// Bins returns the number of frequency bins of a spectrum, FFTSize()/2+1.
// It does not allocate.
func (a *Analyzer) Bins() int { return len(a.win)/2 + 1 }

// Analyze appends the Hop() samples of block to the history and writes the
// spectrum of the newest FFTSize() samples x[0..N-1] (oldest first, N =
// FFTSize(), samples before the first block being zeros) into dst:
//
//	dst[f] = sum_n w[n] x[n] exp(-2 pi i f n / N),  0 <= f < Bins()
//
// with w the window, unnormalised, as numpy.fft.rfft(w*x). Bin f is at
// f*rate/N Hz. It returns dst. If dst is nil a new slice is allocated;
// otherwise Analyze does not allocate. Analyze panics if len(block) !=
// Hop() or if dst is not nil and len(dst) != Bins().
func (a *Analyzer) Analyze(dst []complex128, block []float64) []complex128 {
	if len(block) != a.hop {
		panic(fmt.Sprintf("stft: Analyze got a block of %d samples, want Hop() = %d", len(block), a.hop))
	}
	if dst == nil {
		dst = make([]complex128, a.Bins())
	} else if len(dst) != a.Bins() {
		panic(fmt.Sprintf("stft: Analyze got dst of length %d, want Bins() = %d", len(dst), a.Bins()))
	}
	n := len(a.hist)
	copy(a.hist, a.hist[a.hop:])
	copy(a.hist[n-a.hop:], block)
	for i, w := range a.win {
		a.frame[i] = w * a.hist[i]
	}
	a.fft.forward(dst, a.frame)
	return dst
}

// Reset clears the history to zeros, so that the Analyzer behaves as a new
// one. It does not allocate.
func (a *Analyzer) Reset() {
	clear(a.hist)
}

// Synthesizer turns a stream of spectra back into samples by inverse FFT
// and weighted overlap-add. Every call to Synthesize takes one frame's
// spectrum (as made by an Analyzer of the same fftSize, hop and window,
// possibly masked) and returns the next Hop() finished output samples. It
// owns its FFT and buffers; create it once, not per frame. A Synthesizer is
// not safe for concurrent use.
//
// The synthesis window is the least-squares one of Griffin and Lim (1984),
//
//	ws[n] = w[n] / sum_m w[n + m*hop]^2   (sum over all 0 <= n + m*hop < N)
//
// which makes Analyze followed by Synthesize with unchanged spectra the
// identity, delayed by DelaySamples, and for modified spectra gives the
// signal whose STFT is closest to them in the least-squares sense.
//
// References:
//
//	D. W. Griffin and J. S. Lim, "Signal estimation from modified short-time
//	Fourier transform", IEEE Trans. ASSP 32(2), 236-243, 1984.
type Synthesizer struct {
	fft   *realFFT
	hop   int
	off   int       // fftSize - latency: the frame samples before the synthesis window's support
	win   []float64 // synthesis window ws[off+i]/N on its support (the 1/N undoes the unnormalised inverse FFT)
	acc   []float64 // overlap-add accumulator, len latency; acc[0] is the next output sample
	frame []float64 // scratch: inverse FFT of one spectrum, len fftSize
}

// NewSynthesizer returns a Synthesizer for frames of fftSize samples
// advancing by hop samples, for spectra analysed with window kind, with an
// empty (zero) overlap-add buffer. It returns the same errors as
// NewAnalyzer. NewSynthesizer allocates. It is NewLowDelaySynthesizer with
// latency fftSize.
func NewSynthesizer(fftSize, hop int, kind WindowKind) (*Synthesizer, error) {
	return NewLowDelaySynthesizer(fftSize, hop, fftSize, kind)
}

// NewLowDelaySynthesizer returns a Synthesizer for the spectra of
// NewLowDelayAnalyzer(fftSize, hop, latency, kind): its synthesis window is
// zero but on the newest latency samples of a frame, so its stream delay is
// latency - hop instead of fftSize - hop. It returns the same errors as
// NewLowDelayAnalyzer and allocates.
func NewLowDelaySynthesizer(fftSize, hop, latency int, kind WindowKind) (*Synthesizer, error) {
	_, ws, err := plan(fftSize, hop, latency, kind)
	if err != nil {
		return nil, err
	}
	return &Synthesizer{
		fft:   newRealFFT(fftSize),
		hop:   hop,
		off:   fftSize - latency,
		win:   ws,
		acc:   make([]float64, latency),
		frame: make([]float64, fftSize),
	}, nil
}

// FFTSize returns the frame length in samples. It does not allocate.
func (s *Synthesizer) FFTSize() int { return len(s.frame) }

// LatencyWindow returns the length of the synthesis window, the latency
// the Synthesizer was made with (FFTSize() for the symmetric STFT). It
// does not allocate.
func (s *Synthesizer) LatencyWindow() int { return len(s.win) }

// DelaySamples returns the stream delay of this Synthesizer behind its
// Analyzer: LatencyWindow() - Hop(), which is the package's
// DelaySamples(FFTSize(), Hop()) for the symmetric STFT. It does not
// allocate.
func (s *Synthesizer) DelaySamples() int { return len(s.win) - s.hop }

// LatencySamples returns the algorithmic latency of a live stream through
// this Synthesizer and its Analyzer: LatencyWindow() - 1 sample periods,
// the delay plus the hop - 1 a block waits to fill (the package's
// LatencySamples(FFTSize()) for the symmetric STFT). It does not allocate.
func (s *Synthesizer) LatencySamples() int { return len(s.win) - 1 }

// Hop returns the number of samples each Synthesize call returns. It does
// not allocate.
func (s *Synthesizer) Hop() int { return s.hop }

// Bins returns the length of the spectra Synthesize takes, FFTSize()/2+1.
// It does not allocate.
func (s *Synthesizer) Bins() int { return len(s.frame)/2 + 1 }

// Synthesize inverse-transforms spec, the half spectrum of one real frame
// (the imaginary parts of bin 0 and, for even FFTSize(), of bin FFTSize()/2
// are ignored), multiplies it by the synthesis window, overlap-adds it, and
// writes the next Hop() output samples, now complete, into dst. It returns
// dst and does not modify spec. If dst is nil a new slice is allocated;
// otherwise Synthesize does not allocate. Synthesize panics if len(spec) !=
// Bins() or if dst is not nil and len(dst) != Hop().
func (s *Synthesizer) Synthesize(dst []float64, spec []complex128) []float64 {
	if len(spec) != s.Bins() {
		panic(fmt.Sprintf("stft: Synthesize got a spectrum of %d bins, want Bins() = %d", len(spec), s.Bins()))
	}
	if dst == nil {
		dst = make([]float64, s.hop)
	} else if len(dst) != s.hop {
		panic(fmt.Sprintf("stft: Synthesize got dst of length %d, want Hop() = %d", len(dst), s.hop))
	}
	s.fft.inverse(s.frame, spec)
	for i, w := range s.win {
		s.acc[i] += w * s.frame[s.off+i]
	}
	n := len(s.acc)
	copy(dst, s.acc[:s.hop])
	copy(s.acc, s.acc[s.hop:])
	clear(s.acc[n-s.hop:])
	return dst
}

// Reset clears the overlap-add buffer, so that the Synthesizer behaves as a
// new one. It does not allocate.
func (s *Synthesizer) Reset() {
	clear(s.acc)
}
