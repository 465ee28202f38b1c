package engine

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/config"
)

// TestLowDelayEngine: with stft.latency the engine's delay and latency are
// the low-delay synthesizers' (latency - hop, latency - 1), the sources still
// sum to the input at that delay (1e-9, the stft package's bound), and a
// frame allocates nothing.
func TestLowDelayEngine(t *testing.T) {
	for _, tc := range []struct{ fft, hop, latency, ch int }{{1024, 64, 128, 1}, {1024, 64, 256, 2}, {512, 32, 96, 1}} {
		t.Run(fmt.Sprintf("fft%d_hop%d_latency%d_ch%d", tc.fft, tc.hop, tc.latency, tc.ch), func(t *testing.T) {
			p := testParams(tc.fft, tc.hop, tc.ch, 5)
			p.LatencyWindow = tc.latency
			e, err := New(randomBases(t, 1, tc.fft, 2, 4), p)
			if err != nil {
				t.Fatal(err)
			}
			if e.DelaySamples() != tc.latency-tc.hop || e.LatencySamples() != tc.latency-1 {
				t.Errorf("DelaySamples %d, LatencySamples %d; want %d, %d", e.DelaySamples(), e.LatencySamples(), tc.latency-tc.hop, tc.latency-1)
			}
			rng := rand.New(rand.NewPCG(21, 21))
			x := make([][]float64, tc.ch)
			for c := range x {
				x[c] = noise(rng, 5*tc.fft+37, 0.5)
			}
			y := runBlocks(t, e, x)
			for c := range x {
				var worst float64
				for i := range x[c] {
					worst = max(worst, math.Abs(y[0][c][i]+y[1][c][i]-x[c][i]))
				}
				if worst > 1e-9 {
					t.Errorf("channel %d: sum of sources differs from the input by %g", c, worst)
				}
			}
			in := make([][]float64, tc.ch)
			for c := range in {
				in[c] = noise(rng, tc.hop, 0.3)
			}
			out := e.NewBlock()
			if a := testing.AllocsPerRun(100, func() { e.Process(out, in) }); a != 0 {
				t.Errorf("Process allocates %v times per frame", a)
			}
		})
	}
	// A latency the STFT refuses is an engine error.
	p := testParams(1024, 64, 1, 5)
	p.LatencyWindow = 100
	if _, err := New(randomBases(t, 1, 1024, 2, 4), p); err == nil {
		t.Error("New accepted latency 100 at hop 64")
	}
}

// TestLowDelaySameStream: a reload that changes stft.latency rebuilds the
// stream; latency left out and latency == fft_size are the same STFT.
func TestLowDelaySameStream(t *testing.T) {
	e, err := New(randomBases(t, 1, 1024, 2, 4), testParams(1024, 64, 1, 5))
	if err != nil {
		t.Fatal(err)
	}
	p := e.Params()
	if p.LatencyWindow != 1024 {
		t.Errorf("Params().LatencyWindow = %d, want fft_size 1024 for latency left out", p.LatencyWindow)
	}
	p.LatencyWindow = 0
	if err := e.SameStream(p); err != nil {
		t.Errorf("latency 0 against 1024: %v", err)
	}
	p.LatencyWindow = 128
	if err := e.SameStream(p); err == nil || err.Error() != "stft.latency changes from 1024 to 128" {
		t.Errorf("SameStream = %v, want stft.latency changes from 1024 to 128", err)
	}
}

// TestLowDelaySeparateFile: `sepd separate`'s path with stft.latency in the
// configuration writes files of the input's length, aligned with it: the
// sources sum to the input to 1e-5 (float32 files, as
// TestSeparateFileAlignment).
func TestLowDelaySeparateFile(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(22, 9))
	const n = 16000 + 77
	x := [][]float64{noise(rng, n, 0.4)}
	in := filepath.Join(dir, "in.wav")
	writeWAV(t, in, x, 16000, audio.Float32)
	cfg := config.Default()
	cfg.Path = "(test)"
	cfg.STFT.FFTSize, cfg.STFT.Hop, cfg.STFT.Latency = 512, 32, 64
	b := randomBases(t, 7, 512, 2, 6)
	p := &Plan{Config: cfg, Bases: b, Params: testParams(512, 32, 1, 5)}
	p.Params.LatencyWindow = cfg.STFT.Latency
	job := FileJob{Input: in, Encoding: audio.Float32}
	for _, s := range b.Names {
		job.Outputs = append(job.Outputs, []string{filepath.Join(dir, s+".wav")})
	}
	if _, err := SeparateFile(context.Background(), p, job); err != nil {
		t.Fatal(err)
	}
	sum := make([]float64, n)
	for _, outs := range job.Outputs {
		y, _, err := audio.ReadAll(outs[0])
		if err != nil {
			t.Fatal(err)
		}
		if len(y[0]) != n {
			t.Fatalf("%s: %d samples, want %d", outs[0], len(y[0]), n)
		}
		for i, v := range y[0] {
			sum[i] += v
		}
	}
	var worst float64
	for i := range sum {
		worst = max(worst, math.Abs(sum[i]-float64(float32(x[0][i]))))
	}
	if worst > 1e-5 {
		t.Errorf("sum of output files differs from the input by %g", worst)
	}
}
