package audio_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/audio/jacktest"
)

// jackServer: see jacktest.Server.
func jackServer(t *testing.T) string { return jacktest.Server(t) }

func TestMain(m *testing.M) {
	if name := os.Getenv("SEPD_JACK"); name != "" {
		// Before PortAudio is initialized: every client of this process talks
		// to that server, and none tries to start its own.
		os.Setenv("JACK_DEFAULT_SERVER", name)
		os.Setenv("JACK_NO_START_SERVER", "1")
	}
	os.Exit(m.Run())
}

// TestListDevicesJACK checks that the server's "system" client is listed as
// a JACK device that can both capture and play (the dummy backend has 2 in,
// 2 out).
func TestListDevicesJACK(t *testing.T) {
	jackServer(t)
	l, err := audio.ListDevices()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := l.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", buf.String())
	found := false
	for _, d := range l.Devices {
		if d.Name != "system" || d.HostAPIType != "JACK" {
			continue
		}
		found = true
		if d.InputChannels < 1 || d.OutputChannels < 1 {
			t.Errorf("JACK device %q: %d input and %d output channels, want at least 1 of each", d.Name, d.InputChannels, d.OutputChannels)
		}
	}
	if !found {
		t.Error(`no JACK device named "system" listed`)
	}
}

// loop copies the capture to the playback in hop-sized blocks until the
// capture fails or is closed; it returns that error. It flushes the capture
// first (see Capture.Flush), and takes a snapshot of x when the first
// non-zero sample passes (when the test signal starts).
func loop(c *audio.Capture, w *audio.PlaybackWriter, hop int, x *audio.Xruns, atSignal chan<- audio.XrunCounts) error {
	ch := c.Format().Channels
	buf := make([][]float64, ch)
	for i := range buf {
		buf[i] = make([]float64, hop)
	}
	c.Flush()
	for {
		n, err := c.Read(buf)
		if n == hop {
			if atSignal != nil {
				for _, v := range buf[0] {
					if v != 0 {
						atSignal <- x.Snapshot()
						atSignal = nil
						break
					}
				}
			}
			if werr := w.Write(buf); werr != nil {
				return werr
			}
		}
		if err != nil {
			return err
		}
	}
}

var loopbackPrefill = flag.Int("loopback.prefill", 4*256, "PrefillFrames of TestLoopbackJACK's playback (for measuring the lag)")

// TestLoopbackJACK plays 5 s of noise into a Capture that feeds a Playback
// directly in hop-sized blocks, and checks that the recording is the signal,
// bit-exactly, after a constant lag, with no xrun while the signal flows. An
// attempt with xruns (a loaded machine: the engine goroutine late by more than
// the prefill, or a JACK server xrun) is repeated, twice at most. Under -race
// server xruns are tolerated (see raceEnabled), ring xruns are not.
//
// Measured lag (jackd -d dummy -r 48000 -p 256, FramesPerBuffer 256, hop 256,
// after Capture.Flush): 512 frames + PrefillFrames, the same in every run with
// no xrun before the signal, and the test asserts it then: the lag less (2
// periods + PrefillFrames) is in [0, one period], as testLiveLoopback asserts
// its lag against LatencySamples:
// prefill 256 -> 768, 512 (the default) -> 1024, 1024 -> 1536 (4 runs each).
// A program whose one duplex callback copies its input to its output measures
// 512 in the same setup (live-audio-testing.md), so Capture -> engine ->
// Playback adds exactly PrefillFrames. (The playback callback runs right after
// the capture callback in the same JACK cycle, because PortAudio serves all
// streams of a process from one JACK client, so the engine's block always
// arrives for the next cycle and the prefill is the whole margin.) Measure with
//
//	SEPD_JACK=NAME go test -run TestLoopbackJACK -v -count=5 ./audio -loopback.prefill=512
func TestLoopbackJACK(t *testing.T) {
	jackServer(t)
	for attempt := 1; ; attempt++ {
		xruns := loopbackOnce(t)
		if xruns == "" {
			return
		}
		if attempt == 3 {
			t.Fatalf("xruns while the signal flowed in %d attempts, the last: %s", attempt, xruns)
		}
		t.Logf("attempt %d: xruns while the signal flowed: %s; again", attempt, xruns)
	}
}

// loopbackOnce runs the loopback once; it fails t on a wrong recording and
// returns a description of the xruns while the signal flowed, "" if none.
func loopbackOnce(t *testing.T) string {
	t.Helper()
	const (
		rate    = 48000 // the server's -r (scripts/jackd)
		fpb     = 256   // = the server's -p
		hop     = 256   // engine block
		seconds = 5
	)
	var x audio.Xruns
	cfg := audio.StreamConfig{
		Device: "system", Channels: 1, SampleRateHz: rate, FramesPerBuffer: fpb, Xruns: &x,
		// 4 periods by default here, not the 2 of the default: a loaded 2-core CI
		// machine delays the engine goroutine by more than a period now and then.
		PrefillFrames: *loopbackPrefill,
	}
	capt, err := audio.OpenCapture(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer capt.Close()
	pb, err := audio.OpenPlayback(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pb.Close()
	w, err := pb.Writer(0)
	if err != nil {
		t.Fatal(err)
	}
	loopErr := make(chan error, 1)
	atSignal := make(chan audio.XrunCounts, 1)
	go func() { loopErr <- loop(capt, w, hop, &x, atSignal) }()
	name, err := audio.JACKClientName()
	if err != nil {
		t.Fatal(err)
	}
	ci, pi := capt.Info(), pb.Info()
	t.Logf("client %q; PortAudio latency: capture %v, playback %v; prefill %d, ring %d",
		name, ci.DeviceLatency, pi.DeviceLatency, pi.PrefillFrames, pi.RingFrames)

	sig := jacktest.Noise(seconds*rate, 1, 1)
	res, err := jacktest.Run(context.Background(), jacktest.Config{
		Target: name, Signal: sig, RecordChannels: 1, RecordFrames: (seconds + 1) * rate,
		SampleRateHz: rate, FramesPerBuffer: fpb,
	})
	if err != nil {
		t.Fatal(err)
	}
	end := x.Snapshot()
	lag, compared, mismatches, ok := jacktest.Align(res.Recording[0], sig[0])
	if !ok {
		t.Fatalf("the recording is silent; helper log:\n%s", res.Log)
	}
	var start audio.XrunCounts
	select {
	case start = <-atSignal:
	default:
		t.Fatal("the loop never saw the signal")
	}
	t.Logf("lag %d frames (%.2f ms, %.2f periods), %d samples compared, %d differ; xruns before the signal: %v, during: %v; helper callbacks with xrun flags: %d",
		lag, float64(lag)*1e3/rate, float64(lag)/fpb, compared, mismatches, start, end.Sub(start), res.XrunCallbacks)
	capt.Close()
	if err := <-loopErr; err != io.EOF {
		t.Errorf("loop ended with %v, want io.EOF", err)
	}
	exact := compared == len(sig[0]) && mismatches == 0
	during := end.Sub(start)
	if raceEnabled && exact && during[audio.RingOverrun]+during[audio.RingUnderrun] == 0 {
		// Server xruns only, and the recording is intact: see raceEnabled.
		during[audio.InputOverflow], during[audio.OutputUnderflow] = 0, 0
	}
	if during.Total() != 0 || res.XrunCallbacks != 0 {
		// An xrun drops or pads samples, so the recording of this attempt
		// cannot be bit-exact; the caller tries again.
		return fmt.Sprintf("%v here, %d helper callbacks", during, res.XrunCallbacks)
	}
	if !exact {
		t.Errorf("loopback not bit-exact with no xrun: %d of %d samples compared, %d differ", compared, len(sig[0]), mismatches)
	}
	// The lag: 2 periods (what a duplex copy in one callback measures) plus
	// the prefill (see TestLoopbackJACK), with a period of slack as
	// testLiveLoopback allows (measured: none). An xrun before the signal
	// moves it: after a ring underrun the playback waits for a new prefill
	// (measured with prefill 256: 1536, not 768), so then it is only logged.
	want := 2*fpb + pi.PrefillFrames
	switch d := lag - want; {
	case start.Total() != 0:
		t.Logf("lag %d frames not checked (want %d with no xrun): xruns before the signal: %v", lag, want, start)
	case d < 0 || d > fpb:
		t.Errorf("lag %d frames, want 2 periods + PrefillFrames = 2*%d + %d = %d, up to a period (%d) more", lag, fpb, pi.PrefillFrames, want, fpb)
	}
	return ""
}
