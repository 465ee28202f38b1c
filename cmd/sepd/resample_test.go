package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/eval"
)

// TestSeparateResampled: `sepd separate` of a 48 kHz file with the demo's
// 16 kHz bases (sample_rate 16000) converts it to 16 kHz, separates, and
// writes each source back at 48 kHz, exactly as long as the input and
// aligned with it: the sources add up to the input after the same round
// trip through audio.Resampler (48 -> 16 -> 48 kHz, delayed by
// audio.RoundTripDelay), to 1e-5 (the masks sum to 1; float32 files), and
// the voice separated so, brought to 16 kHz, scores within 0.3 dB SDR of the
// voice separated from the 16 kHz mixture directly (the 48 kHz file is
// sox's conversion of it, testdata/live/make.sh: the two differ only near
// 8 kHz, in the filters' transition bands).
func TestSeparateResampled(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join("../../testdata/live", "mix48k.wav")
	x48, f, err := audio.ReadAll(in)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "sepd.yaml")
	bases, _ := filepath.Abs("demo/bases.npz")
	yml := fmt.Sprintf("sample_rate: 16000\nsources:\n  - {name: voice, bases: %q}\n  - {name: noise, bases: %q}\n", bases, bases)
	if err := os.WriteFile(cfg, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := sepd(t, "separate", "-q", "-c", cfg, "-o", filepath.Join(dir, "out48"), in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "separated at 16000 Hz") {
		t.Errorf("the summary does not say the file was converted: %q", stdout)
	}
	var sum []float64
	var voice48 []float64
	for _, s := range []string{"voice", "noise"} {
		y, g, err := audio.ReadAll(filepath.Join(dir, "out48", s+".wav"))
		if err != nil {
			t.Fatal(err)
		}
		if g != f || len(y[0]) != len(x48[0]) {
			t.Fatalf("%s.wav: %v, %d frames; want %v, %d frames (the input's)", s, g, len(y[0]), f, len(x48[0]))
		}
		if sum == nil {
			sum = make([]float64, len(y[0]))
			voice48 = y[0]
		}
		for i, v := range y[0] {
			sum[i] += v
		}
	}
	trip := audio.RoundTripDelay(48000, 16000)
	pad := append(append([]float64(nil), x48[0]...), make([]float64, trip+8)...)
	rt := resampleTest(t, 16000, 48000, resampleTest(t, 48000, 16000, pad))[trip:]
	worst, at := 0.0, 0
	for i, v := range sum {
		if d := math.Abs(v - rt[i]); d > worst {
			worst, at = d, i
		}
	}
	t.Logf("sum of the sources against the round trip of the input: worst difference %.2g at %d", worst, at)
	if worst > 1e-5 {
		t.Errorf("voice + noise differs from the input's round trip by %g at frame %d", worst, at)
	}

	// Quality: the same 3.5 s at 16 kHz, separated directly.
	x16, _, err := audio.ReadAll("demo/mix.wav")
	if err != nil {
		t.Fatal(err)
	}
	n16 := len(x48[0]) / 3
	writeWAV(t, filepath.Join(dir, "mix16.wav"), 16000, audio.Float32, x16[0][:n16])
	if code, _, stderr := sepd(t, "separate", "-q", "-c", cfg, "-o", filepath.Join(dir, "out16"), filepath.Join(dir, "mix16.wav")); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	ref, _, err := audio.ReadAll("demo/voice.wav")
	if err != nil {
		t.Fatal(err)
	}
	v16, _, err := audio.ReadAll(filepath.Join(dir, "out16", "voice.wav"))
	if err != nil {
		t.Fatal(err)
	}
	d := audio.RoundTripDelay(48000, 16000) / 2 / 3 // one way, 48 -> 16 kHz, at 16 kHz
	down := resampleTest(t, 48000, 16000, append(append([]float64(nil), voice48...), make([]float64, 3*d)...))[d : d+n16]
	sdr16 := eval.SDR(ref[0][:n16], v16[0])
	sdr48 := eval.SDR(ref[0][:n16], down)
	t.Logf("voice SDR: %.2f dB separated at 16 kHz; %.2f dB from the 48 kHz file", sdr16, sdr48)
	if math.Abs(sdr48-sdr16) > 0.3 {
		t.Errorf("voice SDR %.2f dB from the 48 kHz file, %.2f dB at 16 kHz: more than 0.3 dB apart", sdr48, sdr16)
	}
}

// resampleTest converts x from one rate to another with audio.Resampler.
func resampleTest(t *testing.T, from, to int, x []float64) []float64 {
	t.Helper()
	r, err := audio.NewResampler(from, to)
	if err != nil {
		t.Fatal(err)
	}
	y := make([]float64, r.OutputFor(len(x)))
	return y[:r.Process(y, x)]
}
