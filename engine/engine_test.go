package engine

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/config"
	"github.com/sepd/sepd/separate"
	"github.com/sepd/sepd/stft"
)

// randomBases returns S sources of k random non-negative columns each, F bins.
func randomBases(t testing.TB, seed uint64, fftSize, sources, k int) *separate.Bases {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	F := fftSize/2 + 1
	var names []string
	var ws []*mat.Dense
	for s := 0; s < sources; s++ {
		w := mat.NewDense(F, k, nil)
		for i := 0; i < F; i++ {
			for j := 0; j < k; j++ {
				w.Set(i, j, rng.Float64()+1e-3)
			}
		}
		names = append(names, fmt.Sprintf("s%d", s))
		ws = append(ws, w)
	}
	b, err := separate.NewBases(names, ws)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testParams(fftSize, hop, channels, iters int) Params {
	sp := separate.DefaultParams()
	sp.Iterations = iters
	return Params{FFTSize: fftSize, HopSamples: hop, Window: stft.Hann, Channels: channels, Separation: sp}
}

func noise(rng *rand.Rand, n int, amp float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = amp * (2*rng.Float64() - 1)
	}
	return x
}

// runBlocks feeds x (channels x n) through e hop by hop, zero-padding the end and
// draining the delay, and returns the input-aligned output [source][channel][n].
func runBlocks(t testing.TB, e *Engine, x [][]float64) [][][]float64 {
	t.Helper()
	n := len(x[0])
	hop := e.HopSamples()
	delay := e.DelaySamples()
	in := make([][]float64, len(x))
	for c := range in {
		in[c] = make([]float64, hop)
	}
	out := e.NewBlock()
	res := make([][][]float64, e.Sources())
	for s := range res {
		res[s] = make([][]float64, len(x))
	}
	for pos := 0; pos < n+delay; pos += hop {
		for c := range in {
			clear(in[c])
			if pos < n {
				copy(in[c], x[c][pos:min(pos+hop, n)])
			}
		}
		e.Process(out, in)
		for s := range out {
			for c := range out[s] {
				res[s][c] = append(res[s][c], out[s][c]...)
			}
		}
	}
	for s := range res {
		for c := range res[s] {
			res[s][c] = res[s][c][delay : delay+n]
		}
	}
	return res
}

// TestSourcesSumToInput checks the masks' partition of unity end to end: the sources
// add up to the input, which the STFT reconstructs to rounding error (1e-9 is the
// stft package's own reconstruction bound, kept here for the float64 path).
func TestSourcesSumToInput(t *testing.T) {
	for _, tc := range []struct {
		fft, hop, ch, sources int
		beta                  float64
	}{
		{256, 64, 1, 2, 1}, {1024, 256, 2, 3, 2}, {1000, 250, 1, 2, 0.5}, {512, 128, 2, 2, 0},
	} {
		t.Run(fmt.Sprintf("fft%d_hop%d_ch%d_beta%g", tc.fft, tc.hop, tc.ch, tc.beta), func(t *testing.T) {
			p := testParams(tc.fft, tc.hop, tc.ch, 5)
			p.Separation.Beta = tc.beta
			e, err := New(randomBases(t, 1, tc.fft, tc.sources, 4), p)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(2, 2))
			x := make([][]float64, tc.ch)
			for c := range x {
				x[c] = noise(rng, 5*tc.fft+37, 0.5)
			}
			y := runBlocks(t, e, x)
			for c := range x {
				var worst float64
				for i := range x[c] {
					var sum float64
					for s := range y {
						sum += y[s][c][i]
					}
					worst = max(worst, math.Abs(sum-x[c][i]))
				}
				if worst > 1e-9 {
					t.Errorf("channel %d: sum of sources differs from the input by %g", c, worst)
				}
			}
		})
	}
}

// TestEdgeSignals: silence, an impulse, full-scale clipping, DC and NaN input never
// produce NaN or Inf, and silence in gives exact silence out.
func TestEdgeSignals(t *testing.T) {
	const fft, hop, n = 512, 128, 4096
	cases := map[string]func(i int) float64{
		"silence":  func(int) float64 { return 0 },
		"impulse":  func(i int) float64 { return b2f(i == 1000) },
		"clipping": func(i int) float64 { return math.Copysign(1, math.Sin(float64(i)*0.05)) },
		"dc":       func(int) float64 { return 1 },
		"tiny":     func(i int) float64 { return 1e-300 * float64(i%3) },
		"nan":      func(i int) float64 { return map[bool]float64{true: math.NaN(), false: 0.1}[i%777 == 0] },
	}
	for name, gen := range cases {
		t.Run(name, func(t *testing.T) {
			e, err := New(randomBases(t, 3, fft, 2, 8), testParams(fft, hop, 1, 10))
			if err != nil {
				t.Fatal(err)
			}
			x := make([]float64, n)
			for i := range x {
				x[i] = gen(i)
			}
			y := runBlocks(t, e, [][]float64{x})
			for s := range y {
				for i, v := range y[s][0] {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("source %d sample %d is %v", s, i, v)
					}
					if name == "silence" && v != 0 {
						t.Fatalf("silence in gave %g out (source %d sample %d)", v, s, i)
					}
				}
			}
			if name == "nan" && e.NonFinite() == 0 {
				t.Error("NaN input samples were not counted")
			}
		})
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// TestProcessAllocatesNothing proves the per-frame path (analyse, project, mask,
// synthesise) allocates nothing, mono and stereo.
func TestProcessAllocatesNothing(t *testing.T) {
	for _, ch := range []int{1, 2} {
		e, err := New(randomBases(t, 4, 1024, 2, 32), testParams(1024, 256, ch, 10))
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(5, 5))
		in := make([][]float64, ch)
		for c := range in {
			in[c] = noise(rng, 256, 0.3)
		}
		out := e.NewBlock()
		e.Process(out, in)
		if a := testing.AllocsPerRun(100, func() { e.Process(out, in) }); a != 0 {
			t.Errorf("%d channels: Process allocates %v times per frame", ch, a)
		}
	}
}

// TestSeparateFileAlignment: every output file has the input's length, the sources
// sum to the input to 1e-5 peak (float32 output rounding is 2^-24 relative per file,
// summed over the sources; 1e-5 leaves margin), for mono and stereo WAV input.
func TestSeparateFileAlignment(t *testing.T) {
	dir := t.TempDir()
	for _, ch := range []int{1, 2} {
		rng := rand.New(rand.NewPCG(uint64(ch), 9))
		const n = 16000*2 + 123
		x := make([][]float64, ch)
		for c := range x {
			x[c] = noise(rng, n, 0.4)
		}
		in := filepath.Join(dir, fmt.Sprintf("in%d.wav", ch))
		writeWAV(t, in, x, 16000, audio.Float32)
		cfg := config.Default()
		cfg.Path = "(test)"
		cfg.STFT.FFTSize, cfg.STFT.Hop = 512, 128
		b := randomBases(t, 7, 512, 2, 6)
		p := &Plan{Config: cfg, Bases: b, Params: testParams(512, 128, ch, 5)}
		job := FileJob{Input: in, Encoding: audio.Float32}
		for _, s := range b.Names {
			job.Outputs = append(job.Outputs, []string{filepath.Join(dir, fmt.Sprintf("%d-%s.wav", ch, s))})
		}
		if _, err := SeparateFile(context.Background(), p, job); err != nil {
			t.Fatal(err)
		}
		sum := make([][]float64, ch)
		for c := range sum {
			sum[c] = make([]float64, n)
		}
		for _, outs := range job.Outputs {
			y, f, err := audio.ReadAll(outs[0])
			if err != nil {
				t.Fatal(err)
			}
			if f.Channels != ch || len(y[0]) != n {
				t.Fatalf("%s: %d channels x %d samples, want %d x %d", outs[0], f.Channels, len(y[0]), ch, n)
			}
			for c := range y {
				for i, v := range y[c] {
					sum[c][i] += v
				}
			}
		}
		for c := range sum {
			var worst float64
			for i := range sum[c] {
				worst = max(worst, math.Abs(sum[c][i]-float64(float32(x[c][i]))))
			}
			if worst > 1e-5 {
				t.Errorf("%d channels: sum of output files differs from the input by %g (channel %d)", ch, worst, c)
			}
		}
	}
}

func writeWAV(t testing.TB, path string, x [][]float64, rate int, enc audio.Encoding) {
	t.Helper()
	w, err := audio.CreateWAV(path, audio.Format{SampleRateHz: rate, Channels: len(x)}, enc)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(x); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkFrame measures the whole per-frame path (analyse, project with the given
// iterations, mask, synthesise) for one mono channel and two sources of K/2 bases.
// cpu-us/frame is the CPU time of the thread per frame (Linux): on a busy machine,
// the figure other processes do not inflate.
func BenchmarkFrame(b *testing.B) {
	// The design's two sizes at hop fft/4, then the low-delay STFT at hop 64
	// (issue 12: 750 frames a second at 48 kHz, 1.33 ms each).
	for _, bc := range []struct{ fft, k, iters, hop, latency int }{{1024, 64, 10, 256, 0}, {2048, 128, 20, 512, 0}, {1024, 64, 10, 64, 128}} {
		for _, beta := range []float64{1, 2} {
			name := fmt.Sprintf("fft%d_K%d_it%d_beta%g", bc.fft, bc.k, bc.iters, beta)
			if bc.latency != 0 {
				name += fmt.Sprintf("_hop%d_latency%d", bc.hop, bc.latency)
			}
			b.Run(name, func(b *testing.B) {
				hop := bc.hop
				p := testParams(bc.fft, hop, 1, bc.iters)
				p.LatencyWindow = bc.latency
				p.Separation.Beta = beta
				e, err := New(randomBases(b, 8, bc.fft, 2, bc.k/2), p)
				if err != nil {
					b.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(9, 9))
				x := noise(rng, 64*hop, 0.3)
				in := [][]float64{make([]float64, hop)}
				out := e.NewBlock()
				b.ReportAllocs()
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				b.ResetTimer()
				cpu0 := threadCPU()
				for i := 0; i < b.N; i++ {
					j := (i % 64) * hop
					copy(in[0], x[j:j+hop])
					e.Process(out, in)
				}
				if cpu0 >= 0 {
					b.ReportMetric((threadCPU()-cpu0).Seconds()/float64(b.N)*1e6, "cpu-us/frame")
				}
				perFrame := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(perFrame*1e6, "us/frame")
				for _, rate := range []float64{16000, 48000} {
					b.ReportMetric(float64(hop)/rate/perFrame, fmt.Sprintf("x-realtime@%gk", rate/1000))
				}
			})
		}
	}
}

// TestSuccessorSwap: an engine replaced mid-stream by its Successor (other
// parameters, other bases for one source) keeps the sources summing to the input
// at every sample, the swap included: no sample is lost, repeated or misaligned.
func TestSuccessorSwap(t *testing.T) {
	const fft, hop = 512, 128
	e, err := New(randomBases(t, 1, fft, 2, 4), testParams(fft, hop, 1, 5))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	x := noise(rng, 40*hop, 0.5)
	sp := separate.DefaultParams()
	sp.Iterations, sp.MaskPower = 20, 1
	next, err := e.Successor(randomBases(t, 2, fft, 2, 6), sp)
	if err != nil {
		t.Fatal(err)
	}
	in := [][]float64{make([]float64, hop)}
	sum := make([]float64, 0, len(x)+fft)
	out := e.NewBlock()
	cur := e
	for pos := 0; pos < len(x)+fft; pos += hop {
		if pos == 20*hop {
			next.Adopt(cur)
			cur = next
			out = cur.NewBlock()
		}
		clear(in[0])
		if pos < len(x) {
			copy(in[0], x[pos:min(pos+hop, len(x))])
		}
		cur.Process(out, in)
		for i := 0; i < hop; i++ {
			sum = append(sum, out[0][0][i]+out[1][0][i])
		}
	}
	d := cur.DelaySamples()
	for i := range x {
		if diff := math.Abs(sum[i+d] - x[i]); diff > 1e-9 {
			t.Fatalf("sample %d: sources sum to %g, input %g (swap at %d)", i, sum[i+d], x[i], 20*hop-d)
		}
	}
}

// TestPlanNPZArray: a source's `array:` picks the .npz array, whatever the
// source's name (here the demo's bases, voice read as "speech").
func TestPlanNPZArray(t *testing.T) {
	cfg := config.Default()
	cfg.Path = "(test)"
	cfg.Sources = []config.Source{
		{Name: "speech", Bases: "../cmd/sepd/demo/bases.npz", Array: "voice"},
		{Name: "noise", Bases: "../cmd/sepd/demo/bases.npz"},
	}
	p, err := NewPlan(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	// The demo's bases.npz holds voice 32 x 513 and noise 16 x 513
	// (testdata/gen/README.md).
	if got := p.Bases.Start; got[1]-got[0] != 32 || got[2]-got[1] != 16 {
		t.Errorf("columns per source %v, want voice's 32 then noise's 16", got)
	}
	cfg.Sources[0].Array = "piano"
	if _, err := NewPlan(cfg, 1); err == nil || !strings.Contains(err.Error(), `no array "piano"`) {
		t.Errorf("a missing array: %v", err)
	}
}
