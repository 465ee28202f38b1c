package audio_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"codeberg.org/sbinet/npyio/npy"

	"github.com/sepd/sepd/audio"
)

// resamplePairs are the rate pairs of audio/testdata/resample/make.py.
var resamplePairs = [][2]int{{48000, 16000}, {16000, 48000}, {44100, 16000}, {16000, 44100}, {22050, 48000}}

// readPair reads make.py's input and scipy's output for a pair.
func readPair(t *testing.T, from, to int) (x, y []float64) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "resample", fmt.Sprintf("%d_%d.npy", from, to)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := npy.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var v []float64
	if err := r.Read(&v); err != nil {
		t.Fatal(err)
	}
	n := r.Header.Descr.Shape[1]
	x, y = v[:n], v[n:]
	for len(x) > 0 && math.IsNaN(x[len(x)-1]) {
		x = x[:len(x)-1]
	}
	for len(y) > 0 && math.IsNaN(y[len(y)-1]) {
		y = y[:len(y)-1]
	}
	return x, y
}

// TestResamplerMatchesScipy: the filter has the length make.py computes, and
// the streaming output, whether the input comes in one block, in irregular
// blocks (Process) or the output is asked for in irregular blocks (Convert),
// is scipy.signal.upfirdn's with scipy.signal.firwin's filter (make.py) to
// 1e-12: float64 sums of a few hundred products of numbers below 1 in
// another order differ by about 1e-15.
func TestResamplerMatchesScipy(t *testing.T) {
	var taps map[string]int
	b, err := os.ReadFile(filepath.Join("testdata", "resample", "taps.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &taps); err != nil {
		t.Fatal(err)
	}
	for _, p := range resamplePairs {
		t.Run(fmt.Sprintf("%d_%d", p[0], p[1]), func(t *testing.T) {
			x, want := readPair(t, p[0], p[1])
			r, err := audio.NewResampler(p[0], p[1])
			if err != nil {
				t.Fatal(err)
			}
			if n := taps[fmt.Sprintf("%d_%d", p[0], p[1])]; r.Taps() != n {
				t.Fatalf("%d taps, make.py designed %d", r.Taps(), n)
			}
			if k := r.OutputFor(len(x)); k != len(want) {
				t.Fatalf("OutputFor(%d) = %d, scipy made %d", len(x), k, len(want))
			}
			check := func(how string, got []float64) {
				t.Helper()
				if len(got) != len(want) {
					t.Fatalf("%s: %d outputs, want %d", how, len(got), len(want))
				}
				worst, at := 0.0, 0
				for i := range got {
					if d := math.Abs(got[i] - want[i]); d > worst {
						worst, at = d, i
					}
				}
				if worst > 1e-12 {
					t.Errorf("%s: output %d is %g, scipy %g (difference %g)", how, at, got[at], want[at], worst)
				}
			}
			one := make([]float64, len(want))
			check("one block", one[:r.Process(one, x)])

			rng := rand.New(rand.NewPCG(1, uint64(p[0])))
			r2 := r.Clone()
			var got []float64
			buf := make([]float64, len(want))
			for i := 0; i < len(x); {
				n := min(1+rng.IntN(300), len(x)-i)
				k := r2.Process(buf, x[i:i+n])
				got = append(got, buf[:k]...)
				i += n
			}
			check("irregular input blocks", got)

			r3 := r.Clone()
			got = got[:0]
			in := x
			for len(got) < len(want) {
				n := min(1+rng.IntN(300), len(want)-len(got))
				if r3.InputFor(n) > len(in) {
					break
				}
				used := r3.Convert(buf[:n], in)
				got = append(got, buf[:n]...)
				in = in[used:]
			}
			if len(in) != 0 {
				// The last outputs need no further input: Process made them.
				got = append(got, buf[:r3.Process(buf, in)]...)
			} else if k := r3.OutputFor(0); k > 0 {
				got = append(got, buf[:r3.Process(buf, nil)]...)
			}
			check("irregular output blocks", got)
		})
	}
}

// sineLevel returns the amplitude of the sinusoid of frequency f (Hz) in y
// (rate fs) over its middle half, by projection: exact for frequencies that
// make whole cycles in that window (multiples of 4 Hz for 0.5 s of y at the
// rates tested), whatever else y holds at other such frequencies.
func sineLevel(y []float64, f, fs float64) float64 {
	var c, s float64
	lo, hi := len(y)/4, 3*len(y)/4
	for i := lo; i < hi; i++ {
		w := 2 * math.Pi * f * float64(i) / fs
		c += y[i] * math.Cos(w)
		s += y[i] * math.Sin(w)
	}
	return 2 * math.Hypot(c, s) / float64(hi-lo)
}

// rmsMiddle is the RMS of y over its middle half.
func rmsMiddle(y []float64) float64 {
	s := 0.0
	lo, hi := len(y)/4, 3*len(y)/4
	for _, v := range y[lo:hi] {
		s += v * v
	}
	return math.Sqrt(s / float64(hi-lo))
}

func resampleAll(t testing.TB, from, to int, x []float64) []float64 {
	r, err := audio.NewResampler(from, to)
	if err != nil {
		t.Fatal(err)
	}
	y := make([]float64, r.OutputFor(len(x)))
	return y[:r.Process(y, x)]
}

// TestResamplerQuality measures the filter on sines: through the passband
// (up to 0.9 of the lower rate's Nyquist frequency) a unit sine keeps its
// amplitude within the design's ripple, 10^(-100/20) (about 8.7e-5 dB);
// converting down, a sine above the lower Nyquist frequency (where it would
// alias) comes out at least 100 dB down, the design attenuation; converting
// up, the image of a passband sine (at the lower rate minus its frequency)
// is as far down. The figures are logged (go test -v -run Quality ./audio/).
func TestResamplerQuality(t *testing.T) {
	const atten = 100                                      // dB, the design attenuation (resample.go)
	ripple := 20 * math.Log10(1+math.Pow(10, -atten/20.0)) // dB: a gain within 1 +- 10^(-A/20)
	for _, p := range [][2]int{{48000, 16000}, {16000, 48000}, {44100, 16000}, {16000, 44100}} {
		from, to := float64(p[0]), float64(p[1])
		nyq := math.Min(from, to) / 2
		sine := func(f float64) []float64 {
			x := make([]float64, p[0]/2)
			for i := range x {
				x[i] = math.Sin(2 * math.Pi * f * float64(i) / from)
			}
			return x
		}
		worstPass, worstStop := 0.0, -math.MaxFloat64
		// Frequencies on the 4 Hz grid (see sineLevel).
		for f := 52.0; f <= 0.9*nyq; f = math.Round((f+0.9*nyq/23)/4) * 4 {
			y := resampleAll(t, p[0], p[1], sine(f))
			worstPass = math.Max(worstPass, math.Abs(20*math.Log10(sineLevel(y, f, to))))
			if to > from { // the image of f
				worstStop = math.Max(worstStop, 20*math.Log10(sineLevel(y, 2*nyq-f, to)))
			}
		}
		if from > to {
			for f := nyq; f < from/2; f += (from/2 - nyq) / 29 {
				y := resampleAll(t, p[0], p[1], sine(f))
				worstStop = math.Max(worstStop, 20*math.Log10(rmsMiddle(y)*math.Sqrt2))
			}
		}
		t.Logf("%d -> %d Hz: passband ripple %.2g dB (bound %.2g), worst alias or image %.1f dB", p[0], p[1], worstPass, ripple, worstStop)
		if worstPass > ripple {
			t.Errorf("%d -> %d Hz: passband deviation %.3g dB, more than the design's %.3g dB", p[0], p[1], worstPass, ripple)
		}
		if worstStop > -atten {
			t.Errorf("%d -> %d Hz: an alias or image at %.1f dB, above -%d dB", p[0], p[1], worstStop, atten)
		}
	}
}

// TestResamplerDelay: an impulse comes out at DelayOutputSamples (whole at
// 48 -> 16 kHz and back), and a round trip delays by RoundTripDelay, a
// whole number of samples.
func TestResamplerDelay(t *testing.T) {
	for _, p := range [][2]int{{48000, 16000}, {16000, 48000}, {44100, 16000}, {16000, 44100}} {
		down, _ := audio.NewResampler(p[0], p[1])
		x := make([]float64, p[0]/10)
		x[p[0]/20] = 1
		y := resampleAll(t, p[0], p[1], x)
		z := resampleAll(t, p[1], p[0], y)
		peak := 0
		for i := range z {
			if math.Abs(z[i]) > math.Abs(z[peak]) {
				peak = i
			}
		}
		d := audio.RoundTripDelay(p[0], p[1])
		t.Logf("%d -> %d Hz: %d taps, delay %.2f output samples; round trip %d samples (%.2f ms)",
			p[0], p[1], down.Taps(), down.DelayOutputSamples(), d, float64(d)*1e3/float64(p[0]))
		if peak-p[0]/20 != d {
			t.Errorf("%d -> %d -> %d Hz: the impulse at %d comes back at %d, want a delay of RoundTripDelay = %d", p[0], p[1], p[0], p[0]/20, peak, d)
		}
		if got := down.DelayInputSamples()*float64(p[1])/float64(p[0]) - down.DelayOutputSamples(); math.Abs(got) > 1e-9 {
			t.Errorf("the delays at the two rates disagree by %g", got)
		}
	}
}

// TestResamplerAllocs: Process and Convert allocate nothing.
func TestResamplerAllocs(t *testing.T) {
	r, _ := audio.NewResampler(48000, 16000)
	src := make([]float64, 768)
	dst := make([]float64, 300)
	if n := testing.AllocsPerRun(50, func() { r.Process(dst, src) }); n != 0 {
		t.Errorf("Process: %g allocations", n)
	}
	if n := testing.AllocsPerRun(50, func() { r.Convert(dst[:256], src) }); n != 0 {
		t.Errorf("Convert: %g allocations", n)
	}
}

// BenchmarkResampler measures the CPU per second of audio of one channel in
// 256-frame blocks at the processing side (go test -run '^$' -bench
// Resampler ./audio/): cpu_s/audio_s is the fraction of a core it takes.
func BenchmarkResampler(b *testing.B) {
	for _, p := range [][2]int{{48000, 16000}, {16000, 48000}, {44100, 16000}, {16000, 44100}} {
		b.Run(fmt.Sprintf("%d_%d", p[0], p[1]), func(b *testing.B) {
			r, err := audio.NewResampler(p[0], p[1])
			if err != nil {
				b.Fatal(err)
			}
			block := 256 * p[0] / min(p[0], p[1]) // a 256-sample hop at the lower rate
			src := make([]float64, block)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range src {
				src[i] = rng.Float64()*2 - 1
			}
			dst := make([]float64, r.OutputFor(block)+2)
			b.ResetTimer()
			for b.Loop() {
				r.Process(dst, src)
			}
			audioSec := float64(b.N) * float64(block) / float64(p[0])
			b.ReportMetric(b.Elapsed().Seconds()/audioSec, "cpu_s/audio_s")
			b.ReportMetric(audioSec/b.Elapsed().Seconds(), "x-realtime")
		})
	}
}
