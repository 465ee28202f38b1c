package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLowLatencyQuality: the low-delay STFT (stft.latency, here `sepd
// separate --hop 64 --latency 128`) costs the demo at most 1 dB of SDR per
// source against the symmetric STFT at the same fft size and hop (issue
// 12's bound). Measured with the default separation (the quality setting:
// beta 0.5, update exponent 1, adapt 5): voice 11.61 -> 10.72 dB, noise
// 12.38 -> 11.45 dB (the symmetric STFT at hop 256: 11.71 and 12.61); with
// scikit-learn's algorithm (beta 1, adapt 0, the default before): voice
// 11.41 -> 10.65 dB, noise 12.65 -> 11.80 dB (hop 256: 11.43 and 12.85),
// the figures of README's table, measured before the default changed.
// scripts/measure-lowlat prints these (with sepd's defaults) and the same at
// 48 kHz, where latency 128 lost more with beta 1 (1.3-1.7 dB) and 192
// stayed within 1 dB.
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

// TestReloadLowLatency: a reload that turns the low-delay STFT on (stft.latency,
// same fft_size and bases, hop 256 -> 64) rebuilds the stream, and the output
// files keep the input's length and alignment although the stream's delay
// drops from 768 to 64 samples: the sources sum to the input to 1e-5 but
// within the old fft_size before the swap and the new one after it (as
// TestReloadNewSTFT).
func TestReloadLowLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time replay")
	}
	dir := replayDir(t)
	cfg := filepath.Join(dir, "sepd.yaml")
	text := fmt.Sprintf(replayConfig, 10, 2.0, "bases.npz", "bases.npz", "")
	os.WriteFile(cfg, []byte(text), 0o644)
	d := startDaemon(t, cfg)
	waitFor(t, "the output files to start", 10*time.Second, func() bool {
		ents, _ := os.ReadDir(filepath.Join(dir, "out"))
		return len(ents) == 2
	})
	time.Sleep(2 * time.Second)
	os.WriteFile(cfg, []byte(strings.Replace(text, "fft_size: 1024, hop: 256", "fft_size: 1024, hop: 64, latency: 128", 1)), 0o644)
	d.cmd.Process.Signal(syscall.SIGHUP)
	if code := d.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("exit %d; log:\n%s", code, d.logText())
	}
	log := d.logText()
	swap := -1
	if at := reloadSamples(log); len(at) == 1 {
		swap = at[0]
	}
	if swap < 0 || !strings.Contains(log, "rebuilds the stream") || !strings.Contains(log, `"latency_samples":127`) || !strings.Contains(log, `"stft_delay_samples":64`) {
		t.Fatalf("no reload that rebuilds the stream with latency_samples 127 and stft_delay_samples 64 logged:\n%s", log)
	}
	t.Logf("swap at input sample %d", swap)
	checkOutputs(t, dir, filepath.Join(dir, "mix.wav"), func(i int) bool { return i > swap-1024 && i < swap+1024 })
}
