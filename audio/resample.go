package audio

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
)

// Resampler converts one channel of a stream from one sample rate to another
// with a polyphase FIR filter: a windowed-sinc low-pass (Kaiser window),
// applied at the rational ratio L/M = toHz/fromHz in lowest terms as
// scipy.signal.upfirdn(h, x, L, M) does, computed as the samples come.
//
// # The filter
//
// The prototype runs at the common rate F = fromHz*L = toHz*M. Its cutoff
// (-6 dB) is at 0.95 of the lower rate's Nyquist frequency, its passband ends
// at 0.90 of it and its stopband starts at the Nyquist frequency, so nothing
// above the lower Nyquist frequency aliases below it; the design attenuation
// is 100 dB (Kaiser's formulas, Oppenheim & Schafer, Discrete-Time Signal
// Processing, 3rd ed., eq. 7.62-7.63: beta = 0.1102 (A - 8.7), N - 1 >=
// (A - 7.95) / (2.285 dw)), which also bounds the passband ripple by
// 10^(-100/20), about 1e-4 dB. It is
// scipy.signal.firwin(N, 0.95/max(L, M), window=("kaiser", beta)) times L,
// with N - 1 the Kaiser estimate rounded up to a multiple of 2, L and M: the
// filter is odd and symmetric, and converting to toHz and back (which runs
// the same filter twice at the same common rate) delays the signal by N - 1
// samples of F, a whole number of samples at both rates (RoundTripDelay).
//
// # Streaming
//
// Output j is sum_n h[j M - n L] x[n] (upfirdn's alignment): it needs the
// inputs up to floor(j M / L), and is produced as soon as that input arrives,
// so the output never depends on how the input was cut into blocks (the
// tests compare irregular blocks with one call, and both with scipy). The
// filter is linear phase: the output is the input delayed by (N-1)/2 samples
// of F, DelayInputSamples at the input rate, DelayOutputSamples at the
// output rate. The history before the first input is silence.
//
// A Resampler's methods do not allocate (but NewResampler and Clone) and
// belong to one goroutine.
//
// # Why not a library
//
// Measured on 2026-12-06 (48 <-> 16 kHz, blocks of a 256-sample hop; the
// programs are in testdata/resample/survey, `go run .` in soxr/ and
// tphakala/):
// libsoxr 0.1.3 (Debian's libsoxr0) at its HQ and VHQ settings returns its
// output in bursts (48 -> 16 kHz, HQ: 0, 0, 490, 0, 489, ... samples per
// 768-sample block; VHQ 1100 every fourth or fifth), so handing the engine
// a hop per read would need a buffer of a burst on each side, about 30 ms
// each at HQ, on top of the filter; github.com/zaf/resample, its Go
// binding, also allocates on every Write and runs soxr on every core.
// github.com/tphakala/go-audio-resampler v1.4.0 (pure Go, after soxr)
// streams sample by sample with no allocation and is block invariant, but
// it is LGPL-2.1, which a statically linked Go binary cannot honour simply,
// and its round trip 48 -> 16 -> 48 kHz delays by about 25 ms at its High
// preset (11 ms at Low and Medium). This one is 150 lines, checked against
// scipy to 1e-12, and delays that round trip by 8.1 ms at 100 dB.
type Resampler struct {
	fromHz, toHz int
	l, m         int64     // up and down factors: toHz/g and fromHz/g
	n            int       // filter taps
	t            int       // taps per phase: ceil(n / l)
	coef         []float64 // l phases of t taps, oldest sample first (shared by clones)
	hist         []float64 // the last t inputs, twice: hist[pos:pos+t] oldest first
	pos          int
	in, out      int64 // inputs taken, outputs produced
}

// Design constants of the filter (see Resampler).
const (
	resampleAttenuationDB = 100
	resamplePassband      = 0.90 // of the lower rate's Nyquist frequency
	resampleStopband      = 1.00
)

// NewResampler returns a Resampler from fromHz to toHz (see Resampler for
// its filter). It allocates the filter (at 44.1 kHz <-> 16 kHz, 70 561 taps,
// 560 KB; Clone shares it).
func NewResampler(fromHz, toHz int) (*Resampler, error) {
	if fromHz <= 0 || toHz <= 0 {
		return nil, fmt.Errorf("audio: resampler: rates %d Hz -> %d Hz, want both > 0", fromHz, toHz)
	}
	g := gcd(fromHz, toHz)
	l, m := toHz/g, fromHz/g
	if l > 1<<16 || m > 1<<16 {
		return nil, fmt.Errorf("audio: resampler: %d Hz -> %d Hz is the ratio %d/%d in lowest terms; at most 65536 phases are supported", fromHz, toHz, l, m)
	}
	n := resampleTaps(l, m)
	h := kaiserLowpass(n, 0.5*(resamplePassband+resampleStopband)/float64(max(l, m)), kaiserBeta(resampleAttenuationDB))
	t := (n + l - 1) / l
	coef := make([]float64, l*t)
	for ph := range l {
		for s := range t {
			if k := ph + (t-1-s)*l; k < n {
				coef[ph*t+s] = float64(l) * h[k]
			}
		}
	}
	r := &Resampler{fromHz: fromHz, toHz: toHz, l: int64(l), m: int64(m), n: n, t: t, coef: coef}
	r.hist = make([]float64, 2*t)
	return r, nil
}

// resampleTaps is the filter length N for up factor l and down factor m:
// Kaiser's estimate for resampleAttenuationDB over the transition band, with
// N - 1 rounded up to a multiple of lcm(2, l, m) (see Resampler), the same
// for (l, m) and (m, l).
func resampleTaps(l, m int) int {
	width := math.Pi * (resampleStopband - resamplePassband) / float64(max(l, m)) // radians per sample at the common rate
	minN1 := (resampleAttenuationDB - 7.95) / (2.285 * width)
	step := lcm(2, lcm(l, m))
	return int(math.Ceil(minN1/float64(step)))*step + 1
}

// RoundTripDelay is the delay, in samples at rateHz, of converting from
// rateHz to otherHz and back (or the reverse) with Resamplers: Taps - 1
// samples of the common rate, a whole number at either rate. It is 0 when
// the rates are equal (nothing to convert).
func RoundTripDelay(rateHz, otherHz int) int {
	if rateHz == otherHz || rateHz <= 0 || otherHz <= 0 {
		return 0
	}
	g := gcd(rateHz, otherHz)
	l, m := otherHz/g, rateHz/g
	return (resampleTaps(l, m) - 1) / l
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func lcm(a, b int) int { return a / gcd(a, b) * b }

// kaiserBeta is Kaiser's beta for a stopband attenuation of a dB (a > 50).
func kaiserBeta(a float64) float64 { return 0.1102 * (a - 8.7) }

// kaiserLowpass is scipy.signal.firwin(n, cutoff, window=("kaiser", beta)):
// the ideal low-pass of cutoff (a fraction of the Nyquist frequency) shifted
// to the middle of n taps, times the symmetric Kaiser window, scaled to a
// gain of 1 at DC.
func kaiserLowpass(n int, cutoff, beta float64) []float64 {
	h := make([]float64, n)
	alpha := 0.5 * float64(n-1)
	i0b := besselI0(beta)
	sum := 0.0
	for i := range h {
		m := float64(i) - alpha
		v := cutoff * sinc(cutoff*m)
		r := 2*float64(i)/float64(n-1) - 1
		w := besselI0(beta*math.Sqrt(max(0, 1-r*r))) / i0b
		h[i] = v * w
		sum += h[i]
	}
	for i := range h {
		h[i] /= sum
	}
	return h
}

// sinc is sin(pi x)/(pi x), numpy's sinc.
func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	y := math.Pi * x
	return math.Sin(y) / y
}

// besselI0 is the modified Bessel function of the first kind of order 0, by
// its power series sum_k ((x/2)^k / k!)^2, to float64 precision.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	q := x * x / 4
	for k := 1; k < 500; k++ {
		term *= q / float64(k*k)
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}

// Clone returns a Resampler with the same filter (shared, not copied) and a
// fresh stream: for another channel. It allocates the history only.
func (r *Resampler) Clone() *Resampler {
	c := *r
	c.hist = make([]float64, len(r.hist))
	c.pos, c.in, c.out = 0, 0, 0
	return &c
}

// Reset starts a new stream: the history is silence again. It does not
// allocate.
func (r *Resampler) Reset() {
	clear(r.hist)
	r.pos, r.in, r.out = 0, 0, 0
}

// Taps is the filter's length at the common rate.
func (r *Resampler) Taps() int { return r.n }

// DelayInputSamples is the filter's delay in samples at the input rate:
// (Taps - 1) / 2 / L.
func (r *Resampler) DelayInputSamples() float64 { return float64(r.n-1) / 2 / float64(r.l) }

// DelayOutputSamples is the filter's delay in samples at the output rate:
// (Taps - 1) / 2 / M.
func (r *Resampler) DelayOutputSamples() float64 { return float64(r.n-1) / 2 / float64(r.m) }

// OutputFor returns how many outputs Process makes of k more inputs.
func (r *Resampler) OutputFor(k int) int {
	return int(ceilDiv((r.in+int64(k))*r.l, r.m) - r.out)
}

// InputFor returns how many more inputs Convert takes to make n outputs.
func (r *Resampler) InputFor(n int) int {
	if n <= 0 {
		return 0
	}
	// Output j needs the inputs up to floor(j M / L).
	need := (r.out+int64(n)-1)*r.m/r.l + 1
	return int(max(need-r.in, 0))
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// Process takes every sample of src and writes the outputs they complete to
// dst, OutputFor(len(src)) of them, returning that number. It panics when
// dst is shorter. It does not allocate.
func (r *Resampler) Process(dst, src []float64) int {
	if want := r.OutputFor(len(src)); len(dst) < want {
		panic(fmt.Sprintf("audio: Resampler.Process: dst has %d samples, %d inputs make %d", len(dst), len(src), want))
	}
	k := 0
	for r.out*r.m < r.in*r.l { // left ready by Convert
		dst[k] = r.next()
		k++
	}
	for _, x := range src {
		r.push(x)
		for r.out*r.m < r.in*r.l {
			dst[k] = r.next()
			k++
		}
	}
	return k
}

// Convert fills dst with the next len(dst) outputs, taking the inputs they
// need from the start of src, InputFor(len(dst)) of them, and returns how
// many it took. It panics when src is shorter. It does not allocate.
func (r *Resampler) Convert(dst, src []float64) int {
	if want := r.InputFor(len(dst)); len(src) < want {
		panic(fmt.Sprintf("audio: Resampler.Convert: src has %d samples, %d outputs need %d", len(src), len(dst), want))
	}
	i := 0
	for k := range dst {
		for r.out*r.m >= r.in*r.l {
			r.push(src[i])
			i++
		}
		dst[k] = r.next()
	}
	return i
}

func (r *Resampler) push(x float64) {
	r.hist[r.pos] = x
	r.hist[r.pos+r.t] = x
	r.pos++
	if r.pos == r.t {
		r.pos = 0
	}
	r.in++
}

// next computes output r.out, whose newest input is the last one pushed
// (outputs are computed as soon as their input arrives).
func (r *Resampler) next() float64 {
	ph := int((r.out * r.m) % r.l)
	r.out++
	return floats.Dot(r.coef[ph*r.t:(ph+1)*r.t], r.hist[r.pos:r.pos+r.t])
}
