package main

import (
	"path/filepath"
	"testing"
)

// TestLowLatencyQuality: the low-delay STFT (stft.latency, here `sepd
// separate --hop 64 --latency 128`) costs the demo at most 1 dB of SDR per
// source against the symmetric STFT at the same fft size and hop (issue
// 12's bound). Measured: voice 11.41 -> 10.65 dB, noise 12.65 -> 11.80 dB
// (the symmetric STFT at hop 256: 11.43 and 12.85). scripts/measure-lowlat
// prints these and the same at 48 kHz, where latency 128 loses more (1.3-1.7
// dB) and 192 stays within 1 dB.
func TestLowLatencyQuality(t *testing.T) {
	cfg := demoConfig("demo/bases.npz")
	cfg.STFT.Hop = 64
	_, sym := demoSDR(t, cfg, 0)

	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := sepd(t, "separate", "-q", "--bases", "voice=demo/bases.npz", "--bases", "noise=demo/bases.npz",
		"--fft-size", "1024", "--hop", "64", "--latency", "128", "-o", out, "demo/mix.wav")
	if code != 0 {
		t.Fatalf("sepd separate --latency 128: exit %d\n%s%s", code, stdout, stderr)
	}
	names := []string{"voice", "noise"}
	_, low := scoreDemo(t, names, func(s int) string { return filepath.Join(out, names[s]+".wav") })
	for _, s := range names {
		t.Logf("%s: SDR %.2f dB symmetric (fft 1024, hop 64), %.2f dB low-delay (latency 128): %+.2f dB", s, sym[s], low[s], low[s]-sym[s])
		if !(low[s] >= sym[s]-1) {
			t.Errorf("%s: SDR %.2f dB with latency 128, more than 1 dB below the symmetric STFT's %.2f dB", s, low[s], sym[s])
		}
	}
}
