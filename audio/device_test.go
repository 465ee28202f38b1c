package audio_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/audio/jacktest"
)

// jackServer returns the JACK server named by SEPD_JACK, or skips the test.
// CI starts one with scripts/jackd and sets SEPD_JACK; then every live test
// runs.
func jackServer(t *testing.T) string {
	t.Helper()
	name := os.Getenv("SEPD_JACK")
	if name == "" {
		t.Skip("SEPD_JACK is not set: run `scripts/jackd start NAME` and set SEPD_JACK=NAME to run the live JACK tests")
	}
	return name
}

func TestMain(m *testing.M) {
	if name := os.Getenv("SEPD_JACK"); name != "" {
		// Before PortAudio is initialized: every client of this process talks
		// to that server, and none tries to start its own.
		os.Setenv("JACK_DEFAULT_SERVER", name)
		os.Setenv("JACK_NO_START_SERVER", "1")
	}
	os.Exit(m.Run())
}

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
}

// loop copies the capture to the playback in hop-sized blocks until the
// capture fails or is closed; it returns that error.
func loop(c *audio.Capture, w *audio.PlaybackWriter, hop int) error {
	ch := c.Format().Channels
	buf := make([][]float64, ch)
	for i := range buf {
		buf[i] = make([]float64, hop)
	}
	for {
		n, err := c.Read(buf)
		if n == hop {
			if werr := w.Write(buf); werr != nil {
				return werr
			}
		}
		if err != nil {
			return err
		}
	}
}

func TestLoopbackJACK(t *testing.T) {
	jackServer(t)
	const (
		rate    = 48000 // the server's -r (scripts/jackd)
		fpb     = 256   // = the server's -p
		hop     = 256   // engine block
		seconds = 5
	)
	var x audio.Xruns
	cfg := audio.StreamConfig{Device: "system", Channels: 1, SampleRateHz: rate, FramesPerBuffer: fpb, Xruns: &x}
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
	go func() { loopErr <- loop(capt, w, hop) }()
	name, err := audio.JACKClientName()
	if err != nil {
		t.Fatal(err)
	}
	ci, pi := capt.Info(), pb.Info()
	t.Logf("client %q; capture latency %v, playback latency %v, prefill %d, ring %d", name, ci.DeviceLatency, pi.DeviceLatency, pi.PrefillFrames, pi.RingFrames)

	sig := jacktest.Noise(seconds*rate, 1, 1)
	res, err := jacktest.Run(context.Background(), jacktest.Config{
		Target: name, Signal: sig, RecordChannels: 1, RecordFrames: (seconds + 1) * rate,
		SampleRateHz: rate, FramesPerBuffer: fpb,
	})
	if err != nil {
		t.Fatal(err)
	}
	lag, compared, mismatches, ok := jacktest.Align(res.Recording[0], sig[0])
	if !ok {
		t.Fatalf("the recording is silent; helper log:\n%s", res.Log)
	}
	t.Logf("lag %d frames (%.2f ms), %d samples compared, %d differ; xruns here: %v, helper callbacks with xrun flags: %d",
		lag, float64(lag)*1e3/rate, compared, mismatches, x.Snapshot(), res.XrunCallbacks)
	if compared != len(sig[0]) || mismatches != 0 {
		t.Errorf("loopback not bit-exact: %d of %d samples compared, %d differ", compared, len(sig[0]), mismatches)
	}
	if x.Snapshot().Total() != 0 || res.XrunCallbacks != 0 {
		t.Errorf("xruns: %v here, %d helper callbacks", x.Snapshot(), res.XrunCallbacks)
	}
	capt.Close()
	if err := <-loopErr; err != io.EOF {
		t.Errorf("loop ended with %v, want io.EOF", err)
	}
}
