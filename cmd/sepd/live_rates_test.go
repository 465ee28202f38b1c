package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/audio/jacktest"
)

// The live path at other JACK rates and periods (issue 13, part 1): each
// combination runs on a JACK server of its own (scripts/jackd with
// SEPD_JACK_RATE and SEPD_JACK_PERIOD), named after the shared one
// (SEPD_JACK) with the rate and period appended.

// rateConfigs separate as offlineConfig and liveConfig do, at a given rate,
// with fixed bases (adapt: 0; see liveFixedBases: adapted bases remember an
// xrun's frames for seconds, past jacktest.Judge's excuse window, and these
// tests judge the streaming path's exactness, which does not depend on the
// projection).
const (
	rateOfflineConfig = `sample_rate: %d
input: {file: %s}
stft: {fft_size: 1024, hop: 256}
separation: {adapt: 0}
sources:
  - {name: voice, bases: %s}
  - {name: noise, bases: %s}
`
	rateLiveConfig = `sample_rate: %d
input: {device: system, channels: 1}
stft: {fft_size: 1024, hop: 256}
separation: {adapt: 0}
sources:
  - {name: voice, bases: %s, output: {device: system, channels: [0]}}
  - {name: noise, bases: %s, output: {device: system, channels: [1]}}
metrics: {listen: "%s"}
`
	// rateHop is the hop of both.
	rateHop = 256
	// rateSeconds is the length of the mixture the rate tests play.
	rateSeconds = 2.5
	// rateTail is the silence after the mixture in the offline references:
	// the STFT delay (fft_size - hop) and a hop for the phase.
	rateTail = 1024
	// rateLead is the silence the client plays before it (see testLiveRate).
	rateLead = 2048
	// rateBlock is sepd's device block (daemon/devices.go: 256 frames, or the hop when
	// smaller), whatever the JACK period.
	rateBlock = 256
)

// rateMix returns the committed mixture at rate, rateSeconds long: 16 and
// 44.1 kHz from testdata/live/make.sh (mix16k.wav, mix44k.wav), 48 kHz the
// first rateSeconds of mix48k.wav (the samples as they are).
func rateMix(t *testing.T, rate int) []float64 {
	t.Helper()
	file := map[int]string{16000: "mix16k.wav", 44100: "mix44k.wav", 48000: "mix48k.wav"}[rate]
	x, f, err := audio.ReadAll(filepath.Join("../../testdata/live", file))
	if err != nil {
		t.Fatal(err)
	}
	n := int(rateSeconds * float64(rate))
	if f.SampleRateHz != rate || f.Channels != 1 || len(x[0]) < n {
		t.Fatalf("%s: %d Hz, %d channels, %d samples; want %d Hz mono, at least %d samples (testdata/live/make.sh)",
			file, f.SampleRateHz, f.Channels, len(x[0]), rate, n)
	}
	return x[0][:n]
}

// rateRefs computes, once per phase p, `sepd separate`'s output for p zeros,
// mix and rateTail zeros at rate (see testLiveEquals for why a phase), and
// returns voice and noise for the frames of mix and the rateTail - rateHop
// after them: refs(p)[c][i] is what source c plays for frame i of mix when
// mix starts p frames into one of sepd's hops. Indexed so, every candidate
// has the same length and starts with the mixture's first frame (a reference
// that started with p silent frames would make jacktest.Judge report them
// as missing at the start of the recording).
func rateRefs(t *testing.T, dir string, rate int, mix []float64, voice, noise string) func(p int) [][]float32 {
	cache := map[int][][]float32{}
	return func(p int) [][]float32 {
		t.Helper()
		if r, ok := cache[p]; ok {
			return r
		}
		in := filepath.Join(dir, fmt.Sprintf("mix%d.wav", p))
		x := append(append(make([]float64, p), mix...), make([]float64, rateTail)...)
		writeWAV(t, in, rate, audio.Float32, x)
		cfg := filepath.Join(dir, fmt.Sprintf("offline%d.yaml", p))
		if err := os.WriteFile(cfg, []byte(fmt.Sprintf(rateOfflineConfig, rate, filepath.Base(in), voice, noise)), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, fmt.Sprintf("offline%d", p))
		if code, _, stderr := sepd(t, "separate", "-q", "-c", cfg, "-o", out, in); code != 0 {
			t.Fatalf("sepd separate: exit %d\n%s", code, stderr)
		}
		var ref [][]float32
		n := len(mix) + rateTail - rateHop
		for _, s := range []string{"voice", "noise"} {
			y, _, err := audio.ReadAll(filepath.Join(out, s+".wav"))
			if err != nil {
				t.Fatal(err)
			}
			if len(y[0]) < p+n {
				t.Fatalf("sepd separate wrote %d samples of %s for %d", len(y[0]), s, len(x))
			}
			ref = append(ref, float32s(y[0][p:p+n]))
		}
		cache[p] = ref
		return ref
	}
}

// reconnectsSince returns the audio bridge's reconnections that sepd logged
// after its first from records of them, and the frames at rate that they
// may spoil: the time the devices were down (down_for), plus a second for
// the stall that took them down (250 ms before sepd notices) and the rings'
// refill. A reconnection is counted by sepd (sepd_reconnects_total), not
// silent, so it excuses one glitch of that length (jacktest.Expect.Counted);
// seen once in five runs at 48 kHz, -p 1024, beside two busy loops: "no
// callback for 250ms: stream stalled", devices down for 544 ms.
func reconnectsSince(t *testing.T, d *daemonRun, from, rate int) (n, frames int) {
	t.Helper()
	recs := d.recordsOf("audio devices reconnected")
	for _, r := range recs[min(from, len(recs)):] {
		n++
		frames += int(float64(r.int(t, "down_for"))*1e-9*float64(rate)) + rate
	}
	return n, frames
}

// rateServer starts a JACK server of the test's own at rate and period, named
// after the shared one, and returns its name.
func rateServer(t *testing.T, shared string, rate, period int) string {
	t.Helper()
	name := fmt.Sprintf("%s-r%d-p%d", shared, rate, period)
	t.Setenv("SEPD_JACK_RATE", strconv.Itoa(rate))
	t.Setenv("SEPD_JACK_PERIOD", strconv.Itoa(period))
	jacktest.OwnServer(t, jackdScript, name)
	return name
}

// TestLiveRatesJACK is TestLiveEqualsSeparateJACK at 16, 44.1 and 48 kHz,
// each with JACK periods of 64, 256 and 1024 frames, and at 48 kHz also 2048
// and 4096 (issue 16), on servers of its own:
// `sepd run` at the server's rate, fed 2.5 s of the committed mixture at
// that rate by a jacktest client whose buffers are the server's period, must
// play each source as `sepd separate` computes it for the same file, to
// 1e-4, after one constant delay, but where a server xrun broke the
// recording (jacktest.Judge, with the margins of TestLiveEqualsSeparateJACK
// and a few periods more for the larger periods). When no xrun moved it, the
// delay must be the logged latency_samples plus at most one period of the
// server (the client's own playback period), or at most a block of sepd's
// (256) when the period is shorter: PortAudio adapts sepd's 256-frame
// callbacks to 64-frame periods with a latency that sepd's log does not
// count (measured at -p 64: logged + 64 to + 256, depending on where the
// mixture falls in the hop).
//
// Measured on the 2-core development machine: idle or lightly loaded, the
// nine cases take 43 s and every frame matches (mixture and tail). Beside
// two busy loops and another engineer's test suite (load 7-10), two or three
// of the nine failed per run (16 kHz -p 1024, 44.1 kHz -p 64, 48 kHz
// -p 1024): sepd's engine fell behind (44-122 ring overruns in 2.5 s) and its
// audio bridge stalled and was restarted, losing the end of the mixture,
// which nothing then matches. That is sepd short of CPU, not a rate.
//
// sepd's blocks are 256 frames whatever the period (PortAudio adapts them to
// JACK's periods), so with a period of 64 the mixture may start at any
// multiple of 64 within sepd's hop (256): the references are `sepd separate`
// of p zeros and the mixture for p = 0, 64, 128, 192 (rateRefs), and the
// recording must hold one of them. With periods of 256 and 1024 it starts on a hop.
func TestLiveRatesJACK(t *testing.T) {
	shared := jackServer(t)
	for _, rate := range []int{16000, 44100, 48000} {
		t.Run(fmt.Sprintf("%dHz", rate), func(t *testing.T) {
			mix := rateMix(t, rate)
			dir := t.TempDir()
			voice, noise := liveBases(t, dir, 1024)
			refs := rateRefs(t, dir, rate, mix, voice, noise)
			periods := []int{64, 256, 1024}
			if rate == 48000 {
				// Periods PortAudio's JACK host cuts into callbacks of
				// 1024 frames (see hostPeriod in audio/device_stream.go).
				periods = append(periods, 2048, 4096)
			}
			for _, period := range periods {
				t.Run(fmt.Sprintf("p%d", period), func(t *testing.T) {
					testLiveRate(t, shared, dir, rate, period, mix, voice, noise, refs)
				})
			}
		})
	}
}

func testLiveRate(t *testing.T, shared, dir string, rate, period int, mix []float64, voice, noise string, refs func(int) [][]float32) {
	step := min(period, rateHop)
	var want [][][]float32
	for p := 0; p < rateHop; p += step {
		want = append(want, refs(p))
	}
	server := rateServer(t, shared, rate, period)
	jackEnv(t, server)
	addr := freePort(t)
	run := t.TempDir()
	copyFile(t, filepath.Join(dir, "bases.npz"), filepath.Join(run, "bases.npz"))
	d, running, client := startLive(t, run, fmt.Sprintf(rateLiveConfig, rate, voice, noise, addr))
	logged := running.int(t, "latency_samples")

	// The client plays rateLead frames of silence before the mixture, so
	// that the mixture does not fall in its first periods, which it plays
	// while PortAudio connects its ports (as the command-line tools need a
	// lead-in; see TestLiveToolsJACK).
	sig := append(make([]float32, rateLead), float32s(mix)...)
	// sepd logs "running" before its metrics listener is up: scraping at
	// once was refused on a loaded machine.
	d.waitRecord(t, "metrics", 10*time.Second)
	before := xruns(t, scrape(t, addr))
	reconnects := len(d.recordsOf("audio devices reconnected"))
	res, err := jacktest.Run(context.Background(), jacktest.Config{
		Target: client, Server: server, Signal: [][]float32{sig},
		RecordChannels: 2, RecordFrames: len(sig) + rate/2 + 8*period, // room for the delay
		SampleRateHz: rate, FramesPerBuffer: period,
	})
	if err != nil {
		t.Fatalf("%v\nsepd's log:\n%s", err, d.logText())
	}
	time.Sleep(300 * time.Millisecond) // the bridge forwards its counts every 250 ms
	total := xruns(t, scrape(t, addr)) // since sepd started
	during := total.Sub(before)
	slack := 4 * max(period, livePeriod)
	nr, down := reconnectsSince(t, d, reconnects, rate)
	v := jacktest.Judge(res.Recording, res.XrunFrames, jacktest.Expect{
		Want: want, Tol: liveTol, MaxLag: liveMaxLag + 4*period + down, Slack: slack, // at -p 4096 the delay is 17152 (logged 13056 + the client's period)
		Excuse: liveExcuse(1024) + 4*period + down, Recover: liveRecover(1024, rateHop),
		Counted: res.Counted(during.Own(), during.Server()) + nr,
	})
	t.Logf("%d Hz, period %d: %v; xruns %v; client callbacks with xrun flags %d at %v",
		rate, period, v, during, res.XrunCallbacks, res.XrunFrames)
	if !v.OK() {
		t.Fatalf("the recording is not sepd separate's output to %g where no xrun explains it: %v\nsepd's log:\n%s", liveTol, v, d.logText())
	}
	// A delay that xruns moved before the mixture came is not the steady
	// one (seen at 48 kHz -p 64 on a loaded machine: the first segment at
	// logged + 2240, then sepd dropping blocks back to the steady delay).
	if steadyStart(v, res, total) {
		phase := v.Segments[0].Candidate * step
		delay := v.Lag() - rateLead
		t.Logf("phase %d in the hop; delay %d samples (%.2f ms); logged latency %d: measured - logged = %d",
			phase, delay, float64(delay)*1e3/float64(rate), logged, delay-logged)
		if diff := delay - logged; diff < 0 || diff > max(period, rateBlock) {
			t.Errorf("measured delay %d, logged latency_samples %d: measured - logged = %d, want 0 to %d (one JACK period, or sepd's block when the period is shorter)",
				delay, logged, diff, max(period, rateBlock))
		}
	} else {
		t.Logf("the delay was not checked: an xrun may have moved it before the mixture came")
	}
	d.cmd.Process.Signal(os.Interrupt)
	if code := d.wait(t, 10*time.Second); code != 0 {
		t.Errorf("exit status %d after SIGINT; log:\n%s", code, d.logText())
	}
}
