package stft_test

import (
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sepd/sepd/stft"
)

// roundTripTol is the largest error allowed between the input and the
// output of Analyze then Synthesize with unchanged spectra, for inputs in
// [-1, 1): the brief's 1e-9. Rounding alone gives about 1e-15.
const roundTripTol = 1e-9

// noise returns n samples uniform in [-1, 1) from a fixed seed, so a
// failure can be reproduced.
func noise(seed uint64, n int) []float64 {
	r := rand.New(rand.NewPCG(seed, 0x5e9d))
	x := make([]float64, n)
	for i := range x {
		x[i] = 2*r.Float64() - 1
	}
	return x
}

// roundTrip streams x through an Analyzer and a Synthesizer, applying mask
// (if not nil) to every spectrum, and returns the whole output stream: x
// followed by enough zeros for the last input sample to come out, rounded
// up to whole hops.
func roundTrip(t testing.TB, x []float64, fftSize, hop int, kind stft.WindowKind, mask func(spec []complex128)) []float64 {
	t.Helper()
	an, err := stft.NewAnalyzer(fftSize, hop, kind)
	if err != nil {
		t.Fatal(err)
	}
	syn, err := stft.NewSynthesizer(fftSize, hop, kind)
	if err != nil {
		t.Fatal(err)
	}
	n := len(x) + stft.DelaySamples(fftSize, hop)
	n = (n + hop - 1) / hop * hop
	in := make([]float64, n)
	copy(in, x)
	out := make([]float64, n)
	spec := make([]complex128, an.Bins())
	for k := 0; k < n; k += hop {
		an.Analyze(spec, in[k:k+hop])
		if mask != nil {
			mask(spec)
		}
		syn.Synthesize(out[k:k+hop], spec)
	}
	return out
}

// maxDelayedError returns the largest |out[i] - x[i-delay]| over the whole
// output stream, with x zero outside its range, and where it occurs.
func maxDelayedError(out, x []float64, delay int) (maxErr float64, at int) {
	for i, y := range out {
		var want float64
		if j := i - delay; j >= 0 && j < len(x) {
			want = x[j]
		}
		if e := math.Abs(y - want); e > maxErr {
			maxErr, at = e, i
		}
	}
	return maxErr, at
}

type stftCase struct {
	fftSize, hop int
	kind         stft.WindowKind
}

func (c stftCase) String() string { return fmt.Sprintf("%s/fft=%d/hop=%d", c.kind, c.fftSize, c.hop) }

// reconstructionCases are the brief's grid (fft sizes used in practice and
// one that is not a power of two, hops of 1/2, 1/4 and 1/8 of a frame, every
// window), then the odd ones.
func reconstructionCases() []stftCase {
	var cases []stftCase
	kinds := []stft.WindowKind{stft.Hann, stft.SqrtHann, stft.Hamming, stft.Blackman}
	for _, kind := range kinds {
		for _, n := range []int{256, 1000, 1024, 2048} {
			for _, div := range []int{2, 4, 8} {
				if n%div == 0 {
					cases = append(cases, stftCase{n, n / div, kind})
				}
			}
		}
	}
	for _, kind := range kinds {
		cases = append(cases,
			stftCase{16, 1, kind},     // hop 1: every sample starts a frame
			stftCase{16, 3, kind},     // the smallest frame, a hop that does not divide it
			stftCase{1000, 300, kind}, // hop not dividing fftSize, overlap < 1/2 at some samples
			stftCase{17, 5, kind},     // odd fftSize: no Nyquist bin
			stftCase{1024, 700, kind}, // hop > fftSize/2
		)
	}
	cases = append(cases,
		stftCase{16, 16, stft.Hamming},     // no overlap at all: hamming is never zero
		stftCase{2048, 2048, stft.Hamming}, // the same at a usual size
		stftCase{16, 15, stft.Hann},        // overlap only in the tails; still well conditioned at this size
	)
	return cases
}

// TestReconstruction checks that Analyze then Synthesize with unit masks
// gives back the input, delayed by DelaySamples, from the first output
// sample on (the first DelaySamples outputs must be zeros).
func TestReconstruction(t *testing.T) {
	// Three seconds at 16 kHz, the design's default rate (a quarter second
	// with -short: about 10 s under -race otherwise).
	x := noise(1, 3*16000)
	if testing.Short() {
		x = x[:4000]
	}
	for _, c := range reconstructionCases() {
		t.Run(c.String(), func(t *testing.T) {
			out := roundTrip(t, x, c.fftSize, c.hop, c.kind, nil)
			delay := stft.DelaySamples(c.fftSize, c.hop)
			if e, at := maxDelayedError(out, x, delay); e > roundTripTol {
				t.Errorf("max |out[i] - x[i-%d]| = %.3g at i = %d, want <= %g", delay, e, at, roundTripTol)
			}
		})
	}
}

// TestComplementaryMasks checks the property the engine relies on: masks
// that sum to 1 over the sources give outputs that sum to the delayed input.
func TestComplementaryMasks(t *testing.T) {
	const fftSize, hop = 1024, 256 // the design's default stft section
	x := noise(2, 16000)
	an, _ := stft.NewAnalyzer(fftSize, hop, stft.Hann)
	synA, _ := stft.NewSynthesizer(fftSize, hop, stft.Hann)
	synB, _ := stft.NewSynthesizer(fftSize, hop, stft.Hann)
	r := rand.New(rand.NewPCG(3, 0))
	n := (len(x) + stft.DelaySamples(fftSize, hop) + hop - 1) / hop * hop
	in := make([]float64, n)
	copy(in, x)
	sum := make([]float64, n)
	spec := make([]complex128, an.Bins())
	specA := make([]complex128, an.Bins())
	specB := make([]complex128, an.Bins())
	outA := make([]float64, hop)
	outB := make([]float64, hop)
	for k := 0; k < n; k += hop {
		an.Analyze(spec, in[k:k+hop])
		for f, v := range spec {
			m := r.Float64()
			specA[f] = complex(m, 0) * v
			specB[f] = complex(1-m, 0) * v
		}
		synA.Synthesize(outA, specA)
		synB.Synthesize(outB, specB)
		for i := range outA {
			sum[k+i] = outA[i] + outB[i]
		}
	}
	if e, at := maxDelayedError(sum, x, stft.DelaySamples(fftSize, hop)); e > roundTripTol {
		t.Errorf("sum of complementary outputs: max error %.3g at %d, want <= %g", e, at, roundTripTol)
	}
}

// TestAnalyzeMatchesNumpy checks the spectra of a small known stream against
// numpy.fft.rfft of the windowed history, from testdata/rfft_golden.json.
func TestAnalyzeMatchesNumpy(t *testing.T) {
	// 1e-12: the inputs are of order 1 and the frames at most 20 samples, so
	// the bins are below 20; two FFT implementations agree to a few ulps.
	const tol = 1e-12
	for _, g := range readGolden(t).Streams {
		name := fmt.Sprintf("%s/fft=%d/hop=%d", g.Window, g.FFTSize, g.Hop)
		t.Run(name, func(t *testing.T) {
			an, err := stft.NewAnalyzer(g.FFTSize, g.Hop, stft.WindowKind(g.Window))
			if err != nil {
				t.Fatal(err)
			}
			if len(g.Frames) != len(g.Input)/g.Hop {
				t.Fatalf("golden has %d frames for %d samples at hop %d", len(g.Frames), len(g.Input), g.Hop)
			}
			for k, frame := range g.Frames {
				got := an.Analyze(nil, g.Input[k*g.Hop:(k+1)*g.Hop])
				if len(got) != len(frame) {
					t.Fatalf("frame %d: %d bins, numpy has %d", k, len(got), len(frame))
				}
				for f, c := range frame {
					want := complex(c[0], c[1])
					if cmplx.Abs(got[f]-want) > tol {
						t.Errorf("frame %d bin %d = %v, numpy.fft.rfft gives %v", k, f, got[f], want)
					}
				}
			}
		})
	}
}

func TestConstructorErrors(t *testing.T) {
	tests := []struct {
		fftSize, hop int
		kind         stft.WindowKind
		want         []string // substrings of the error
	}{
		{1024, 1024, stft.Hann, []string{
			"stft: hann window with fft_size 1024 and hop 1024 cannot be inverted",
			"is 0 at sample 0 of every hop",
			"use hop <= 512 (fft_size/2) or window hamming",
		}},
		{1024, 1024, stft.SqrtHann, []string{"stft: sqrt-hann window with fft_size 1024 and hop 1024 cannot be inverted", "or window hamming"}},
		{16, 16, stft.Blackman, []string{"stft: blackman window with fft_size 16 and hop 16", "use hop <= 8 (fft_size/2)"}},
		// Hop 1020 overlaps only the window's ends: sample 2 of a hop is covered
		// by w[2] and w[1022], 2 sin(2 pi/1024)^4 = 2.83e-9 of the largest sum (1);
		// the limit is 1e-6 (minNormRatio). sqrt-hann, whose ends are sin, not sin^2, passes.
		{1024, 1020, stft.Hann, []string{
			"hann window with fft_size 1024 and hop 1020 cannot be inverted",
			"is 2.83e-09 at sample 2 of every hop (largest 1)",
			"use hop <= 512 (fft_size/2) or window sqrt-hann or hamming",
		}},
		{1024, 1023, stft.Blackman, []string{"blackman window with fft_size 1024 and hop 1023 cannot be inverted"}},
		{15, 4, stft.Hann, []string{"stft: fft_size 15 is too small: use at least 16"}},
		{0, 0, stft.Hann, []string{"stft: fft_size 0 is too small"}},
		{1024, 0, stft.Hann, []string{"stft: hop 0 is out of range for fft_size 1024: use 1 <= hop <= 1024"}},
		{1024, 1025, stft.Hann, []string{"stft: hop 1025 is out of range for fft_size 1024"}},
		{1024, -256, stft.Hann, []string{"stft: hop -256 is out of range"}},
		{1024, 256, "hanning", []string{`stft: unknown window "hanning": valid windows are hann, sqrt-hann, hamming, blackman`}},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s/fft=%d/hop=%d", tt.kind, tt.fftSize, tt.hop)
		_, errA := stft.NewAnalyzer(tt.fftSize, tt.hop, tt.kind)
		_, errS := stft.NewSynthesizer(tt.fftSize, tt.hop, tt.kind)
		if errA == nil || errS == nil {
			t.Errorf("%s: NewAnalyzer error %v, NewSynthesizer error %v; want both to fail", name, errA, errS)
			continue
		}
		if errA.Error() != errS.Error() {
			t.Errorf("%s: NewAnalyzer says %q, NewSynthesizer %q; want the same", name, errA, errS)
		}
		for _, w := range tt.want {
			if !strings.Contains(errA.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", name, errA, w)
			}
		}
	}
	// Just inside the limits, both must work.
	for _, c := range []stftCase{{16, 16, stft.Hamming}, {1024, 1000, stft.Hann}, {16, 8, stft.Blackman}, {16, 1, stft.Hann}} {
		if _, err := stft.NewAnalyzer(c.fftSize, c.hop, c.kind); err != nil {
			t.Errorf("NewAnalyzer %s: %v", c, err)
		}
		if _, err := stft.NewSynthesizer(c.fftSize, c.hop, c.kind); err != nil {
			t.Errorf("NewSynthesizer %s: %v", c, err)
		}
	}
}

func TestAccessors(t *testing.T) {
	for _, c := range []stftCase{{1024, 256, stft.Hann}, {17, 5, stft.Hamming}, {16, 16, stft.Hamming}} {
		an, err := stft.NewAnalyzer(c.fftSize, c.hop, c.kind)
		if err != nil {
			t.Fatal(err)
		}
		syn, err := stft.NewSynthesizer(c.fftSize, c.hop, c.kind)
		if err != nil {
			t.Fatal(err)
		}
		bins := c.fftSize/2 + 1 // numpy.fft.rfft's output length, odd or even
		for _, got := range [][3]int{{an.FFTSize(), an.Hop(), an.Bins()}, {syn.FFTSize(), syn.Hop(), syn.Bins()}} {
			if want := [3]int{c.fftSize, c.hop, bins}; got != want {
				t.Errorf("%s: FFTSize, Hop, Bins = %v, want %v", c, got, want)
			}
		}
	}
}

func TestDelayAndLatency(t *testing.T) {
	tests := []struct{ fftSize, hop, delay, latency int }{
		{1024, 256, 768, 1023},
		{2048, 512, 1536, 2047},
		{1000, 300, 700, 999},
		{16, 1, 15, 15},
		{16, 16, 0, 15},
	}
	for _, tt := range tests {
		if got := stft.DelaySamples(tt.fftSize, tt.hop); got != tt.delay {
			t.Errorf("DelaySamples(%d, %d) = %d, want %d", tt.fftSize, tt.hop, got, tt.delay)
		}
		if got := stft.LatencySamples(tt.fftSize); got != tt.latency {
			t.Errorf("LatencySamples(%d) = %d, want %d", tt.fftSize, got, tt.latency)
		}
	}
}

// TestImpulseDelay checks DelaySamples on the simplest stream: a unit
// impulse at input sample i comes out at output sample i + DelaySamples,
// and LatencySamples is that plus hop-1.
func TestImpulseDelay(t *testing.T) {
	for _, c := range []stftCase{{1024, 256, stft.Hann}, {1000, 300, stft.Blackman}, {16, 1, stft.SqrtHann}} {
		for _, i := range []int{0, 1, c.hop - 1, c.hop, 5 * c.hop / 2} {
			x := make([]float64, 4*c.fftSize)
			x[i] = 1
			out := roundTrip(t, x, c.fftSize, c.hop, c.kind, nil)
			peak := 0
			for j, v := range out {
				if math.Abs(v) > math.Abs(out[peak]) {
					peak = j
				}
			}
			if want := i + stft.DelaySamples(c.fftSize, c.hop); peak != want || math.Abs(out[peak]-1) > roundTripTol {
				t.Errorf("%s: impulse at %d came out at %d (%.17g), want at %d", c, i, peak, out[peak], want)
			}
		}
		if got := stft.DelaySamples(c.fftSize, c.hop) + c.hop - 1; got != stft.LatencySamples(c.fftSize) {
			t.Errorf("%s: delay + hop - 1 = %d, LatencySamples = %d", c, got, stft.LatencySamples(c.fftSize))
		}
	}
}

// TestReset checks that a reset Analyzer and Synthesizer produce exactly
// what new ones produce.
func TestReset(t *testing.T) {
	const fftSize, hop = 256, 64 // small enough to run many frames quickly
	first, second := noise(4, 20*hop), noise(5, 20*hop)

	run := func(an *stft.Analyzer, syn *stft.Synthesizer, x []float64) (specs [][]complex128, out []float64) {
		for k := 0; k < len(x); k += hop {
			s := an.Analyze(nil, x[k:k+hop])
			for f := range s {
				s[f] *= 0.5 // a mask, so the synthesizer sees something other than the identity
			}
			specs = append(specs, s)
			out = append(out, syn.Synthesize(nil, s)...)
		}
		return specs, out
	}
	an, _ := stft.NewAnalyzer(fftSize, hop, stft.Hann)
	syn, _ := stft.NewSynthesizer(fftSize, hop, stft.Hann)
	run(an, syn, first)
	an.Reset()
	syn.Reset()
	gotSpecs, gotOut := run(an, syn, second)

	freshA, _ := stft.NewAnalyzer(fftSize, hop, stft.Hann)
	freshS, _ := stft.NewSynthesizer(fftSize, hop, stft.Hann)
	wantSpecs, wantOut := run(freshA, freshS, second)
	for k := range wantSpecs {
		for f := range wantSpecs[k] {
			if gotSpecs[k][f] != wantSpecs[k][f] {
				t.Fatalf("after Reset, frame %d bin %d = %v, a new Analyzer gives %v", k, f, gotSpecs[k][f], wantSpecs[k][f])
			}
		}
	}
	for i := range wantOut {
		if gotOut[i] != wantOut[i] {
			t.Fatalf("after Reset, output %d = %v, a new Synthesizer gives %v", i, gotOut[i], wantOut[i])
		}
	}
}

func TestSynthesizeKeepsSpectrum(t *testing.T) {
	syn, _ := stft.NewSynthesizer(16, 4, stft.Hann)
	spec := make([]complex128, syn.Bins())
	for f := range spec {
		spec[f] = complex(float64(f), -float64(f))
	}
	want := append([]complex128(nil), spec...)
	syn.Synthesize(nil, spec)
	for f := range spec {
		if spec[f] != want[f] {
			t.Fatalf("Synthesize changed spec[%d] from %v to %v", f, want[f], spec[f])
		}
	}
}

func TestNoAllocation(t *testing.T) {
	for _, c := range []stftCase{{1024, 256, stft.Hann}, {1000, 300, stft.Blackman}, {17, 5, stft.Hamming}} {
		an, _ := stft.NewAnalyzer(c.fftSize, c.hop, c.kind)
		syn, _ := stft.NewSynthesizer(c.fftSize, c.hop, c.kind)
		block := noise(6, c.hop)
		spec := make([]complex128, an.Bins())
		out := make([]float64, c.hop)
		if n := testing.AllocsPerRun(100, func() { an.Analyze(spec, block) }); n != 0 {
			t.Errorf("%s: Analyze allocates %v times per frame, want 0", c, n)
		}
		if n := testing.AllocsPerRun(100, func() { syn.Synthesize(out, spec) }); n != 0 {
			t.Errorf("%s: Synthesize allocates %v times per frame, want 0", c, n)
		}
	}
}

func TestPanics(t *testing.T) {
	an, _ := stft.NewAnalyzer(16, 4, stft.Hann)
	syn, _ := stft.NewSynthesizer(16, 4, stft.Hann)
	tests := []struct {
		name string
		f    func()
		want string
	}{
		{"Analyze short block", func() { an.Analyze(nil, make([]float64, 3)) }, "stft: Analyze got a block of 3 samples, want Hop() = 4"},
		{"Analyze long block", func() { an.Analyze(nil, make([]float64, 16)) }, "stft: Analyze got a block of 16 samples, want Hop() = 4"},
		{"Analyze nil block", func() { an.Analyze(nil, nil) }, "stft: Analyze got a block of 0 samples, want Hop() = 4"},
		{"Analyze short dst", func() { an.Analyze(make([]complex128, 8), make([]float64, 4)) }, "stft: Analyze got dst of length 8, want Bins() = 9"},
		{"Analyze empty dst", func() { an.Analyze([]complex128{}, make([]float64, 4)) }, "stft: Analyze got dst of length 0, want Bins() = 9"},
		{"Synthesize short spec", func() { syn.Synthesize(nil, make([]complex128, 8)) }, "stft: Synthesize got a spectrum of 8 bins, want Bins() = 9"},
		{"Synthesize full spec", func() { syn.Synthesize(nil, make([]complex128, 16)) }, "stft: Synthesize got a spectrum of 16 bins, want Bins() = 9"},
		{"Synthesize long dst", func() { syn.Synthesize(make([]float64, 5), make([]complex128, 9)) }, "stft: Synthesize got dst of length 5, want Hop() = 4"},
		{"DelaySamples hop 0", func() { stft.DelaySamples(16, 0) }, "stft: DelaySamples(16, 0)"},
		{"DelaySamples hop > fftSize", func() { stft.DelaySamples(16, 17) }, "stft: DelaySamples(16, 17)"},
		{"LatencySamples small", func() { stft.LatencySamples(8) }, "stft: LatencySamples(8)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				msg, ok := r.(string)
				if !ok || !strings.HasPrefix(msg, tt.want) {
					t.Errorf("panic %v, want a string starting %q", r, tt.want)
				}
			}()
			tt.f()
		})
	}
}
