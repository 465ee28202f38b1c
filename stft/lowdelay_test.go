package stft_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sepd/sepd/stft"
)

type lowDelayCase struct {
	fftSize, hop, latency int
	kind                  stft.WindowKind
}

func (c lowDelayCase) String() string {
	return fmt.Sprintf("%s/fft=%d/hop=%d/latency=%d", c.kind, c.fftSize, c.hop, c.latency)
}

// lowDelayCases: the example (1024/64/128) with every window, the
// Mauler-Martin shape (latency 2*hop) at other sizes, longer synthesis
// windows, and latencies and hops that divide nothing.
func lowDelayCases() []lowDelayCase {
	var cases []lowDelayCase
	for _, kind := range []stft.WindowKind{stft.Hann, stft.SqrtHann, stft.Hamming, stft.Blackman} {
		cases = append(cases, lowDelayCase{1024, 64, 128, kind})
	}
	return append(cases,
		lowDelayCase{2048, 64, 128, stft.Hann},
		lowDelayCase{2048, 128, 256, stft.Hann},
		lowDelayCase{1024, 64, 256, stft.Hann},
		lowDelayCase{1024, 128, 512, stft.Hann},
		lowDelayCase{1024, 64, 1000, stft.Hann},     // close to fft_size: the rising part is short
		lowDelayCase{1024, 64, 1023, stft.Blackman}, // one below: still the asymmetric pair
		lowDelayCase{1000, 48, 100, stft.Hann},      // fft_size not a power of two
		lowDelayCase{1024, 100, 300, stft.Hann},     // hop divides neither
		lowDelayCase{1024, 64, 201, stft.SqrtHann},  // odd latency
		lowDelayCase{16, 1, 2, stft.Hann},           // the smallest
	)
}

// lowDelayRoundTrip is roundTrip for the low-delay pair.
func lowDelayRoundTrip(t testing.TB, x []float64, c lowDelayCase, mask func([]complex128)) []float64 {
	t.Helper()
	an, err := stft.NewLowDelayAnalyzer(c.fftSize, c.hop, c.latency, c.kind)
	if err != nil {
		t.Fatal(err)
	}
	syn, err := stft.NewLowDelaySynthesizer(c.fftSize, c.hop, c.latency, c.kind)
	if err != nil {
		t.Fatal(err)
	}
	n := (len(x) + syn.DelaySamples() + c.hop - 1) / c.hop * c.hop
	in := make([]float64, n)
	copy(in, x)
	out := make([]float64, n)
	spec := make([]complex128, an.Bins())
	for k := 0; k < n; k += c.hop {
		an.Analyze(spec, in[k:k+c.hop])
		if mask != nil {
			mask(spec)
		}
		syn.Synthesize(out[k:k+c.hop], spec)
	}
	return out
}

// TestLowDelayReconstruction: with unit masks the low-delay pair gives the
// input back, delayed by latency - hop, to roundTripTol (the 1e-9),
// and the first latency - hop outputs are zeros.
func TestLowDelayReconstruction(t *testing.T) {
	x := noise(11, 16000)
	if testing.Short() {
		x = x[:4000]
	}
	for _, c := range lowDelayCases() {
		t.Run(c.String(), func(t *testing.T) {
			out := lowDelayRoundTrip(t, x, c, nil)
			delay := c.latency - c.hop
			e, at := maxDelayedError(out, x, delay)
			if e > roundTripTol {
				t.Errorf("max |out[i] - x[i-%d]| = %.3g at i = %d, want <= %g", delay, e, at, roundTripTol)
			}
			t.Logf("max error %.3g", e)
		})
	}
}

// TestLowDelayComplementaryMasks: random masks that sum to 1 give outputs
// that sum to the delayed input, as the engine needs.
func TestLowDelayComplementaryMasks(t *testing.T) {
	c := lowDelayCase{1024, 64, 128, stft.Hann}
	x := noise(12, 8000)
	r := rand.New(rand.NewPCG(13, 0))
	an, _ := stft.NewLowDelayAnalyzer(c.fftSize, c.hop, c.latency, c.kind)
	synA, _ := stft.NewLowDelaySynthesizer(c.fftSize, c.hop, c.latency, c.kind)
	synB, _ := stft.NewLowDelaySynthesizer(c.fftSize, c.hop, c.latency, c.kind)
	n := (len(x) + synA.DelaySamples() + c.hop - 1) / c.hop * c.hop
	in := make([]float64, n)
	copy(in, x)
	sum := make([]float64, n)
	spec := make([]complex128, an.Bins())
	sa, sb := make([]complex128, an.Bins()), make([]complex128, an.Bins())
	oa, ob := make([]float64, c.hop), make([]float64, c.hop)
	for k := 0; k < n; k += c.hop {
		an.Analyze(spec, in[k:k+c.hop])
		for f, v := range spec {
			m := r.Float64()
			sa[f], sb[f] = complex(m, 0)*v, complex(1-m, 0)*v
		}
		synA.Synthesize(oa, sa)
		synB.Synthesize(ob, sb)
		for j := range oa {
			sum[k+j] = oa[j] + ob[j]
		}
	}
	if e, at := maxDelayedError(sum, x, synA.DelaySamples()); e > roundTripTol {
		t.Errorf("sum of complementary outputs: max error %.3g at %d, want <= %g", e, at, roundTripTol)
	}
}

// TestLowDelayImpulse: an impulse at input sample i comes out at i +
// latency - hop, whatever its place in the hop, and the accessors say so.
func TestLowDelayImpulse(t *testing.T) {
	for _, c := range []lowDelayCase{{1024, 64, 128, stft.Hann}, {1024, 100, 300, stft.Blackman}, {2048, 64, 256, stft.SqrtHann}} {
		syn, err := stft.NewLowDelaySynthesizer(c.fftSize, c.hop, c.latency, c.kind)
		if err != nil {
			t.Fatal(err)
		}
		if syn.FFTSize() != c.fftSize || syn.Hop() != c.hop || syn.LatencyWindow() != c.latency || syn.Bins() != c.fftSize/2+1 {
			t.Errorf("%s: FFTSize %d, Hop %d, LatencyWindow %d, Bins %d", c, syn.FFTSize(), syn.Hop(), syn.LatencyWindow(), syn.Bins())
		}
		if syn.DelaySamples() != c.latency-c.hop || syn.LatencySamples() != c.latency-1 {
			t.Errorf("%s: DelaySamples %d, LatencySamples %d; want %d, %d", c, syn.DelaySamples(), syn.LatencySamples(), c.latency-c.hop, c.latency-1)
		}
		for _, i := range []int{0, 1, c.hop - 1, c.hop, 5 * c.hop / 2, 3*c.fftSize + 7} {
			x := make([]float64, 4*c.fftSize)
			x[i] = 1
			out := lowDelayRoundTrip(t, x, c, nil)
			peak := 0
			for j, v := range out {
				if math.Abs(v) > math.Abs(out[peak]) {
					peak = j
				}
			}
			if want := i + c.latency - c.hop; peak != want || math.Abs(out[peak]-1) > roundTripTol {
				t.Errorf("%s: impulse at %d came out at %d (%.17g), want at %d", c, i, peak, out[peak], want)
			}
		}
	}
}

// TestLowDelaySymmetricLimit: latency == fft_size is the usual STFT, bit for
// bit, so configurations without stft.latency behave exactly as before.
func TestLowDelaySymmetricLimit(t *testing.T) {
	const fftSize, hop = 1024, 256
	x := noise(14, 20*hop)
	a1, _ := stft.NewAnalyzer(fftSize, hop, stft.Hann)
	s1, _ := stft.NewSynthesizer(fftSize, hop, stft.Hann)
	a2, _ := stft.NewLowDelayAnalyzer(fftSize, hop, fftSize, stft.Hann)
	s2, _ := stft.NewLowDelaySynthesizer(fftSize, hop, fftSize, stft.Hann)
	if s2.DelaySamples() != stft.DelaySamples(fftSize, hop) || s2.LatencySamples() != stft.LatencySamples(fftSize) {
		t.Errorf("DelaySamples %d, LatencySamples %d; want %d, %d", s2.DelaySamples(), s2.LatencySamples(), stft.DelaySamples(fftSize, hop), stft.LatencySamples(fftSize))
	}
	for k := 0; k < len(x); k += hop {
		sp1, sp2 := a1.Analyze(nil, x[k:k+hop]), a2.Analyze(nil, x[k:k+hop])
		for f := range sp1 {
			if sp1[f] != sp2[f] {
				t.Fatalf("frame %d bin %d: %v, latency fft_size gives %v", k/hop, f, sp1[f], sp2[f])
			}
			sp1[f] *= 0.3
			sp2[f] *= 0.3
		}
		o1, o2 := s1.Synthesize(nil, sp1), s2.Synthesize(nil, sp2)
		for i := range o1 {
			if o1[i] != o2[i] {
				t.Fatalf("output %d: %v, latency fft_size gives %v", k+i, o1[i], o2[i])
			}
		}
	}
}

// analysisWindow reads the analysis window out of an Analyzer at hop 1: an
// impulse that moves one sample per frame through the history; bin 0 of
// the frame where it sits at sample n is w[n].
func analysisWindow(t *testing.T, fftSize, latency int, kind stft.WindowKind) []float64 {
	t.Helper()
	an, err := stft.NewLowDelayAnalyzer(fftSize, 1, latency, kind)
	if err != nil {
		t.Fatal(err)
	}
	w := make([]float64, fftSize)
	in := []float64{1}
	for k := 0; k < fftSize; k++ {
		w[fftSize-1-k] = real(an.Analyze(nil, in)[0])
		in[0] = 0
	}
	return w
}

// TestLowDelayWindow checks the analysis window against Mauler and Martin
// (2007), eq. for h_A with no zero padding: with sqrt-hann and a synthesis
// window of 2M samples it is sqrt(Hann_{2(K-M)}(n)) for n < K-M and
// sqrt(Hann_{2M}(n-(K-2M))) after, K the frame and M = latency/2, up to the
// scale that gives it the symmetric window's sum (so that a stationary tone
// has the level the bases learned with the usual window expect).
func TestLowDelayWindow(t *testing.T) {
	const K, L = 64, 16
	M := L / 2
	w := analysisWindow(t, K, L, stft.SqrtHann)
	sym, _ := stft.Window(stft.SqrtHann, K)
	var sumW, sumSym float64
	for n := range w {
		sumW += w[n]
		sumSym += sym[n]
	}
	if math.Abs(sumW-sumSym) > 1e-12*sumSym {
		t.Errorf("sum of the analysis window %.15g, of the symmetric one %.15g", sumW, sumSym)
	}
	peak := w[K-M]
	hann := func(n, len int) float64 { return 0.5 - 0.5*math.Cos(2*math.Pi*float64(n)/float64(len)) }
	for n := range w {
		var want float64
		if n < K-M {
			want = math.Sqrt(hann(n, 2*(K-M)))
		} else {
			want = math.Sqrt(hann(n-(K-2*M), 2*M))
		}
		if math.Abs(w[n]/peak-want) > 1e-12 {
			t.Errorf("h_A[%d] = %.15g of its peak, Mauler-Martin %.15g", n, w[n]/peak, want)
		}
	}
}

func TestLowDelayErrors(t *testing.T) {
	tests := []struct {
		c    lowDelayCase
		want string
	}{
		{lowDelayCase{1024, 64, 127, stft.Hann}, "stft: latency 127 is out of range for fft_size 1024 and hop 64: use 2*hop = 128 <= latency <= fft_size = 1024"},
		{lowDelayCase{1024, 64, 2048, stft.Hann}, "stft: latency 2048 is out of range"},
		{lowDelayCase{1024, 64, 0, stft.Hann}, "stft: latency 0 is out of range"},
		{lowDelayCase{1024, 600, 900, stft.Hann}, "use 2*hop = 1200 <= latency"},
		{lowDelayCase{1024, 0, 128, stft.Hann}, "stft: hop 0 is out of range for fft_size 1024"},
		{lowDelayCase{8, 1, 4, stft.Hann}, "stft: fft_size 8 is too small"},
		{lowDelayCase{1024, 64, 128, "hanning"}, `stft: unknown window "hanning"`},
	}
	for _, tt := range tests {
		_, errA := stft.NewLowDelayAnalyzer(tt.c.fftSize, tt.c.hop, tt.c.latency, tt.c.kind)
		_, errS := stft.NewLowDelaySynthesizer(tt.c.fftSize, tt.c.hop, tt.c.latency, tt.c.kind)
		if errA == nil || errS == nil || errA.Error() != errS.Error() {
			t.Errorf("%s: errors %v and %v, want the same error", tt.c, errA, errS)
			continue
		}
		if !strings.Contains(errA.Error(), tt.want) {
			t.Errorf("%s: error %q does not contain %q", tt.c, errA, tt.want)
		}
	}
}

func TestLowDelayNoAllocation(t *testing.T) {
	c := lowDelayCase{1024, 64, 128, stft.Hann}
	an, _ := stft.NewLowDelayAnalyzer(c.fftSize, c.hop, c.latency, c.kind)
	syn, _ := stft.NewLowDelaySynthesizer(c.fftSize, c.hop, c.latency, c.kind)
	block := noise(15, c.hop)
	spec := make([]complex128, an.Bins())
	out := make([]float64, c.hop)
	if n := testing.AllocsPerRun(100, func() { an.Analyze(spec, block); syn.Synthesize(out, spec) }); n != 0 {
		t.Errorf("%s: a frame allocates %v times, want 0", c, n)
	}
}
