package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/audio/jacktest"
)

// Bases at another rate than the server's (issue 16, part 3): the devices
// run at the server's 48 kHz, the engine at the bases' 16 kHz, and sepd
// converts at the device boundary (audio.Resampler).
const (
	resampleRate = 16000 // the bases' (the demo's), sample_rate
	// resampleOfflineConfig separates a 48 kHz file at 16 kHz, as
	// resampleLiveConfig does live on the 48 kHz server; both with fixed
	// bases (adapt: 0; see liveFixedBases: adapted bases remember an
	// xrun's frames for seconds, past jacktest.Judge's excuse window, and
	// the test judges the exactness of the conversion and streaming path,
	// which does not depend on the projection).
	resampleOfflineConfig = `sample_rate: 16000
input: {file: %s}
stft: {fft_size: 1024, hop: 256}
separation: {adapt: 0}
sources:
  - {name: voice, bases: %s}
  - {name: noise, bases: %s}
`
	resampleLiveConfig = `sample_rate: 16000
input: {device: system, channels: 1}
stft: {fft_size: 1024, hop: 256}
separation: {adapt: 0}
sources:
  - {name: voice, bases: %s, output: {device: system, channels: [0]}}
  - {name: noise, bases: %s, output: {device: system, channels: [1]}}
metrics: {listen: "%s"}
`
	// resampleHop is the engine's hop in device frames: 256 at 16 kHz.
	resampleHop = rateHop * liveRate / resampleRate
)

// TestLiveResampledJACK: `sepd run` with the demo's 16 kHz bases
// (sample_rate 16000) on the 48 kHz JACK server runs, converting, and plays
// each source as `sepd separate` of the same 48 kHz file computes it (which
// converts with the same resampler, TestSeparateResampled) to 1e-4 (liveTol:
// float32 rounding at the ports and in the file), after one constant delay,
// but where a server xrun broke the recording (jacktest.Judge, with the
// margins of the rate tests scaled to device frames). The tolerance is
// float rounding because the conversion is block invariant: audio.Resampler
// computes each output from the same inputs with the same taps whatever the
// blocks (TestResamplerMatchesScipy), and engine.RateSource reads exactly
// the device frames that engine.RateSink writes (TestRateFrameBalance). In
// fact the live run and the file run do the same float64 operations in the
// same order and round to float32 once each: with Tol set to 1e-30 every
// frame of a run matched (2026-12-06, 122304 frames), bit for bit.
//
// Phase: the client starts on a JACK period (256 frames); sepd's hop is 768
// device frames (256 at 16 kHz), so the mixture starts at 0, 256 or 512
// frames into one: the references are `sepd separate` of p zeros and the
// mixture for those p (as in TestLiveRatesJACK), and since 256 is not a
// multiple of 3 they also differ in the resampler's phase, which the
// reference with the same p has too.
//
// When no xrun moved it, the delay must be the logged
// latency_device_samples (STFT delay 768 at 16 kHz = 2304, the devices'
// 1792, the resampler's 390) plus at most one period (the client's own).
func TestLiveResampledJACK(t *testing.T) {
	server := jackServer(t)
	jackEnv(t, server)
	mix := rateMix(t, liveRate)
	dir := t.TempDir()
	voice, noise := liveBases(t, dir, 1024)
	var want [][][]float32
	for p := 0; p < resampleHop; p += livePeriod {
		want = append(want, resampledRef(t, dir, p, mix, voice, noise))
	}
	addr := freePort(t)
	run := t.TempDir()
	copyFile(t, filepath.Join(dir, "bases.npz"), filepath.Join(run, "bases.npz"))
	d, running, client := startLive(t, run, fmt.Sprintf(resampleLiveConfig, voice, noise, addr))
	logged := running.int(t, "latency_device_samples")
	if got := running.int(t, "device_rate_hz"); got != liveRate {
		t.Fatalf("device_rate_hz %d, want the server's %d", got, liveRate)
	}
	sig := append(make([]float32, rateLead), float32s(mix)...)
	d.waitRecord(t, "metrics", 10*time.Second)
	before := xruns(t, scrape(t, addr))
	reconnects := len(d.recordsOf("audio devices reconnected"))
	res, err := jacktest.Run(context.Background(), jacktest.Config{
		Target: client, Server: server, Signal: [][]float32{sig},
		RecordChannels: 2, RecordFrames: len(sig) + liveRate/2 + 8*livePeriod,
		SampleRateHz: liveRate, FramesPerBuffer: livePeriod,
	})
	if err != nil {
		t.Fatalf("%v\nsepd's log:\n%s", err, d.logText())
	}
	time.Sleep(300 * time.Millisecond) // the bridge forwards its counts every 250 ms
	m := scrape(t, addr)
	total := xruns(t, m) // since sepd started
	during := total.Sub(before)
	// The exported latency counts the conversion as the log does; the
	// measured one equals it while no underrun moved the lag (as without
	// conversion, TestLiveReloadDevicesJACK), so it is only logged.
	if conf := int(math.Round(m["sepd_latency_seconds{kind=configured}"] * liveRate)); conf != logged {
		t.Errorf("sepd_latency_seconds{kind=configured} is %d samples at 48 kHz, the log says %d", conf, logged)
	}
	t.Logf("sepd_latency_seconds: configured %.5f s, measured %.5f s",
		m["sepd_latency_seconds{kind=configured}"], m["sepd_latency_seconds{kind=measured}"])
	nr, down := reconnectsSince(t, d, reconnects, liveRate)
	fftDev := 1024 * liveRate / resampleRate
	v := jacktest.Judge(res.Recording, res.XrunFrames, jacktest.Expect{
		Want: want, Tol: liveTol, MaxLag: liveMaxLag + down, Slack: 4 * livePeriod,
		Excuse: liveExcuse(fftDev) + down, Recover: liveRecover(fftDev, resampleHop),
		Counted: res.Counted(during.Own(), during.Server()) + nr,
	})
	t.Logf("%v; xruns %v; client callbacks with xrun flags %d at %v", v, during, res.XrunCallbacks, res.XrunFrames)
	if !v.OK() {
		t.Fatalf("the recording is not sepd separate's output to %g where no xrun explains it: %v\nsepd's log:\n%s", liveTol, v, d.logText())
	}
	if steadyStart(v, res, total) {
		phase := v.Segments[0].Candidate * livePeriod
		delay := v.Lag() - rateLead
		t.Logf("phase %d in the hop; delay %d samples (%.2f ms); logged latency_device_samples %d: measured - logged = %d",
			phase, delay, float64(delay)*1e3/float64(liveRate), logged, delay-logged)
		if diff := delay - logged; diff < 0 || diff > livePeriod {
			t.Errorf("measured delay %d, logged latency_device_samples %d: measured - logged = %d, want 0 to %d (one JACK period)",
				delay, logged, diff, livePeriod)
		}
	} else {
		t.Logf("the delay was not checked: an xrun may have moved it before the mixture came")
	}
	d.cmd.Process.Signal(os.Interrupt)
	if code := d.wait(t, 10*time.Second); code != 0 {
		t.Errorf("exit status %d after SIGINT; log:\n%s", code, d.logText())
	}
}

// resampledRef is `sepd separate` (at 16 kHz, converting) of p zeros, mix
// and rateTail*3 zeros at 48 kHz: voice and noise for the frames of mix and
// the tail after them, as rateRefs indexes them.
func resampledRef(t *testing.T, dir string, p int, mix []float64, voice, noise string) [][]float32 {
	t.Helper()
	tail := rateTail * liveRate / resampleRate
	in := filepath.Join(dir, fmt.Sprintf("rmix%d.wav", p))
	x := append(append(make([]float64, p), mix...), make([]float64, tail)...)
	writeWAV(t, in, liveRate, audio.Float32, x)
	cfg := filepath.Join(dir, fmt.Sprintf("roffline%d.yaml", p))
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(resampleOfflineConfig, filepath.Base(in), voice, noise)), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, fmt.Sprintf("roffline%d", p))
	if code, _, stderr := sepd(t, "separate", "-q", "-c", cfg, "-o", out, in); code != 0 {
		t.Fatalf("sepd separate: exit %d\n%s", code, stderr)
	}
	var ref [][]float32
	n := len(mix) + tail - resampleHop
	for _, s := range []string{"voice", "noise"} {
		y, _, err := audio.ReadAll(filepath.Join(out, s+".wav"))
		if err != nil {
			t.Fatal(err)
		}
		ref = append(ref, float32s(y[0][p:p+n]))
	}
	return ref
}
