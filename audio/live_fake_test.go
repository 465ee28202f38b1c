package audio_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sepd/sepd/audio"
)

// The tests in this file need no audio server: the bridge is a fake, this
// test binary re-run as TestLiveFakeBridge, which speaks the bridge protocol
// (live_bridge.go) with a clock instead of devices. They check the daemon
// side: the start handshake and its errors, pacing across a crash and the
// restart, forwarded xrun counts, allocation, and Close's escalation.

// fakeCommand returns a LiveConfig.Command that runs the fake in mode. The
// fake counts its starts in the file state (so "crash1" crashes only the
// first time).
func fakeCommand(t *testing.T, mode string) []string {
	state := filepath.Join(t.TempDir(), "starts")
	return []string{"env", "SEPD_FAKE_BRIDGE=" + mode, "SEPD_FAKE_STATE=" + state,
		os.Args[0], "-test.run=^TestLiveFakeBridge$", "-test.count=1", "--"}
}

func fakeConfig(t *testing.T, mode string, x *audio.Xruns) audio.LiveConfig {
	in := audio.StreamConfig{Device: "fake", Channels: 2, SampleRateHz: liveRate, FramesPerBuffer: livePer}
	out := audio.StreamConfig{Device: "fake", Channels: 1, SampleRateHz: liveRate, FramesPerBuffer: livePer}
	return audio.LiveConfig{
		Input: &in, Outputs: []audio.StreamConfig{out}, Xruns: x, Command: fakeCommand(t, mode),
		Log: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
	}
}

// fakeSample is the fake's capture: frame f of channel c.
func fakeSample(f int64, c int) float64 { return float64(f%100000)/200000 + float64(c)/4 }

// TestLiveFakeBridge is the fake bridge (run by the other tests). Modes:
// "ok" runs until stdin ends or SIGTERM; "crash1" exits 1 after 300 ms the
// first time it is started and runs like "ok" after that; "nodevice" fails
// to open like the device code; "stubborn" ignores SIGTERM and stdin's end.
// It reports 3 input overflows in its xrun counts.
func TestLiveFakeBridge(t *testing.T) {
	mode := os.Getenv("SEPD_FAKE_BRIDGE")
	if mode == "" {
		t.Skip("the fake bridge of the Live tests")
	}
	os.Exit(fakeBridge(mode, os.Getenv("SEPD_FAKE_STATE")))
}

func fakeBridge(mode, state string) int {
	args := flag.Args()
	if len(args) != 2 || args[0] != "--spec" {
		fmt.Fprintf(os.Stderr, "fake bridge: args %q\n", args)
		return 2
	}
	var spec struct {
		Input   *audio.StreamConfig `json:"input"`
		Outputs []audio.StreamConfig
	}
	if err := json.Unmarshal([]byte(args[1]), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "fake bridge:", err)
		return 2
	}
	starts := 0
	if b, err := os.ReadFile(state); err == nil {
		fmt.Sscan(string(b), &starts)
	}
	starts++
	os.WriteFile(state, []byte(fmt.Sprint(starts)), 0o600)
	ctl := json.NewEncoder(os.NewFile(3, "control"))
	fmt.Fprintln(os.Stderr, "ALSA lib noise that the daemon filters")
	fmt.Fprintf(os.Stderr, "fake bridge: start %d in mode %s\n", starts, mode)
	if mode == "nodevice" {
		ctl.Encode(map[string]string{"type": "error", "kind": "no_device", "error": `audio: no input device matches "fake"; input devices: none: no such device`})
		return 2
	}
	in, out := *spec.Input, spec.Outputs[0]
	info := func(c audio.StreamConfig, lat time.Duration, prefill int) audio.StreamInfo {
		return audio.StreamInfo{Device: audio.DeviceInfo{Name: "fake"}, Format: audio.Format{SampleRateHz: c.SampleRateHz, Channels: c.Channels},
			FramesPerBuffer: c.FramesPerBuffer, PrefillFrames: prefill, DeviceLatency: lat}
	}
	ii := info(in, 0, 0)
	ctl.Encode(map[string]any{"type": "ready", "input": ii, "outputs": []audio.StreamInfo{info(out, 5333333*time.Nanosecond, out.PrefillFrames)}, "client": "fake"})

	term := make(chan os.Signal, 1)
	if mode == "stubborn" {
		signal.Ignore(syscall.SIGTERM)
	} else {
		signal.Notify(term, syscall.SIGTERM)
	}
	stdinDone := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(stdinDone)
	}()
	block := in.FramesPerBuffer
	buf := make([]byte, 4+4*block*in.Channels)
	period := time.Duration(block) * time.Second / time.Duration(in.SampleRateHz)
	tick := time.NewTicker(period)
	defer tick.Stop()
	xr := time.NewTicker(250 * time.Millisecond)
	defer xr.Stop()
	crash := time.After(300 * time.Millisecond)
	if mode != "crash1" || starts > 1 {
		crash = nil
	}
	var x audio.XrunCounts
	x[audio.InputOverflow] = 3
	start := time.Now()
	for f := int64(0); ; {
		select {
		case <-tick.C:
			// Every block that is due (a ticker drops ticks when late; a
			// device does not drop blocks).
			for due := int64(time.Since(start) / period); f/int64(block) < due; f += int64(block) {
				binary.LittleEndian.PutUint32(buf, uint32(f%(1<<24)))
				for i := range block {
					for c := range in.Channels {
						binary.LittleEndian.PutUint32(buf[4+4*(i*in.Channels+c):], math.Float32bits(float32(fakeSample(f+int64(i), c))))
					}
				}
				if _, err := os.Stdout.Write(buf); err != nil {
					return 1
				}
			}
		case <-xr.C:
			ctl.Encode(map[string]any{"type": "xruns", "xruns": x})
		case <-crash:
			fmt.Fprintln(os.Stderr, "fake bridge: crashing")
			return 1
		case <-stdinDone:
			if mode == "stubborn" {
				stdinDone = nil
				continue
			}
			return 0
		case <-term:
			return 0
		}
	}
}

// TestLiveFake runs Live against a fake bridge that crashes once: Read
// returns the capture in order, then paced silence, then the capture of the
// new bridge; the restart is counted; the fake's xrun counts arrive; Read and
// Write do not allocate; Close stops the bridge cleanly.
func TestLiveFake(t *testing.T) {
	var x audio.Xruns
	var logb strings.Builder
	cfg := fakeConfig(t, "crash1", &x)
	cfg.Log = newTestLogger(t, &logb)
	l, err := audio.StartLive(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	info := l.Info()
	// Latency: 0 (input) + 256 (5.333 ms at 48 kHz) + the default prefill, 2 blocks.
	if want := 256 + 2*livePer; info.LatencySamples != want || info.JACKClientName != "fake" {
		t.Errorf("Info: LatencySamples %d, client %q; want %d, \"fake\"", info.LatencySamples, info.JACKClientName, want)
	}
	w, err := l.Writer(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Writer(1, 0); err == nil {
		t.Error("a writer of output 1 (there is one output) was made")
	}
	if _, err := l.Writer(0, 1); err == nil {
		t.Error("a writer of channel 1 of a 1-channel output was made")
	}
	buf := [][]float64{make([]float64, livePer), make([]float64, livePer)}
	out := [][]float64{buf[0]}
	var total int64
	read := func() {
		t.Helper()
		n, err := l.Read(buf)
		if n != livePer || err != nil {
			t.Fatalf("Read = %d, %v", n, err)
		}
		total += int64(n)
		if err := w.Write(out); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	// Before the crash: the capture, in order, from the first block the
	// first Read saw (Read drops the backlog). A jump ahead is allowed only
	// for a ring overrun that Xruns counted (the ring holds 85 ms: beside
	// two busy loops under -race this loop once fell that far behind, and
	// block 10 was 256 frames ahead).
	at := func() int64 { return int64(math.Round(buf[1][0]*200000)) - 50000 } // channel 1 = fakeSample(f, 1)
	read()
	next, jumps := at(), uint64(0)
	for b := range 20 {
		if b > 0 {
			read()
		}
		if f := at(); f != next {
			jumps++
			if f < next || x.Load(audio.RingOverrun) < jumps {
				t.Fatalf("block %d starts at frame %d, want %d (%d ring overruns counted, %d jumps)", b, f, next, x.Load(audio.RingOverrun), jumps)
			}
			t.Logf("block %d: %d frames ahead after a ring overrun", b, f-next)
			next = f
		}
		for c := range buf {
			for i, v := range buf[c] {
				if want := fakeSample(next+int64(i), c); v != float64(float32(want)) {
					t.Fatalf("block %d channel %d frame %d: %v, want %v", b, c, i, v, want)
				}
			}
		}
		next += livePer
	}
	// The crash (300 ms after the start), the gap, the restart (100 ms
	// backoff). Read must pay out silence at the sample rate meanwhile.
	start, startTotal := time.Now(), total
	silent := 0
	for l.Reconnects() == 0 {
		if time.Since(start) > 5*time.Second {
			t.Fatal("no reconnect within 5 s of the crash")
		}
		read()
		if buf[0][0] == 0 && buf[1][0] == 0 {
			silent++
		}
	}
	// The rate is taken up to the reconnect: what Read paid out while the
	// bridge was down, silence paced by the wall clock. After it, the
	// restarted fake bridge's clock-paced blocks begin a few periods late
	// under -race on a loaded 2-core machine (measured 43090 frames/s over
	// the gap and the 40 blocks after it, 10.2% low, beside two busy loops),
	// which is the fake's start, not Read's pacing.
	el := time.Since(start)
	rate := float64(total-startTotal) / el.Seconds()
	for range 40 {
		read()
	}
	t.Logf("%d silent blocks; %.0f frames/s over %v from before the crash to the reconnect", silent, rate, el.Round(time.Millisecond))
	if silent == 0 {
		t.Error("no silent block while the bridge was down")
	}
	// 10%: the window is only about half a second. The real-server test,
	// TestLiveReconnectJACK, checks the rate over its longer gap to 5%.
	if rate < 0.90*liveRate || rate > 1.10*liveRate {
		t.Errorf("Read returned %.0f frames/s across the gap, want %d within 10%%", rate, liveRate)
	}
	if v := buf[1][0]; v == 0 {
		t.Error("still silent after the reconnect")
	}
	if got := x.Load(audio.Reconnect); got != 1 {
		t.Errorf("%d reconnects in Xruns, want 1", got)
	}
	for wait := time.Now(); x.Load(audio.InputOverflow) != 6 && time.Since(wait) < time.Second; {
		time.Sleep(10 * time.Millisecond) // the new bridge reports every 250 ms
	}
	if got := x.Load(audio.InputOverflow); got != 6 {
		t.Errorf("%d input overflows forwarded, want 6 (3 from each bridge)", got)
	}
	if a := testing.AllocsPerRun(20, read); a != 0 {
		t.Errorf("Read + Write allocate %v times per block, want 0", a)
	}
	if err := l.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if n, err := l.Read(buf); n != 0 || err != io.EOF {
		t.Errorf("Read after Close = %d, %v; want 0, io.EOF", n, err)
	}
	logs := logb.String()
	for _, s := range []string{"audio devices lost", "fake bridge: crashing", "audio devices reconnected"} {
		if !strings.Contains(logs, s) {
			t.Errorf("the log lacks %q", s)
		}
	}
	if strings.Contains(logs, "ALSA lib") {
		t.Error("the log has the ALSA noise")
	}
}

// TestLiveFakeErrors: the bridge's open error comes back as the device
// code's error; a bridge that cannot be started, or exits without a word,
// is an error that says so; a bridge that ignores the end of its input and
// SIGTERM is killed by Close, which says so.
func TestLiveFakeErrors(t *testing.T) {
	t.Run("nodevice", func(t *testing.T) {
		_, err := audio.StartLive(context.Background(), fakeConfig(t, "nodevice", nil))
		if !errors.Is(err, audio.ErrNoDevice) || err.Error() != `audio: no input device matches "fake"; input devices: none: no such device` {
			t.Errorf("StartLive: %v", err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		cfg := fakeConfig(t, "ok", nil)
		cfg.Command = []string{filepath.Join(t.TempDir(), "no-such-sepd")}
		if _, err := audio.StartLive(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "starting the audio bridge") {
			t.Errorf("StartLive: %v", err)
		}
	})
	t.Run("silent exit", func(t *testing.T) {
		cfg := fakeConfig(t, "ok", nil)
		cfg.Command = []string{"sh", "-c", "echo not a bridge >&2; exit 3", "sh"}
		_, err := audio.StartLive(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), "(exit status 3) before opening the devices; its log: not a bridge") {
			t.Errorf("StartLive: %v", err)
		}
	})
	t.Run("client name", func(t *testing.T) {
		cfg := fakeConfig(t, "ok", nil)
		cfg.ClientName = strings.Repeat("x", 64)
		if _, err := audio.StartLive(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "longer than 63 bytes") {
			t.Errorf("StartLive: %v", err)
		}
	})
	t.Run("stubborn", func(t *testing.T) {
		l, err := audio.StartLive(context.Background(), fakeConfig(t, "stubborn", nil))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err = l.Close()
		took := time.Since(start)
		t.Logf("Close took %v: %v", took.Round(time.Millisecond), err)
		if err == nil || !strings.Contains(err.Error(), "ignored SIGTERM") {
			t.Errorf("Close: %v, want an error saying the bridge was killed", err)
		}
		// Close waits the rings' duration (2 x 16 blocks) + 1 s for the bridge
		// to drain, then 2 s after SIGTERM before SIGKILL: about 3.2 s, logged
		// above. Only a hang is a failure here (a wall-clock bound near 3.2 s
		// failed under -race on a busy machine: 5.04 s); the escalation to
		// SIGKILL is what the error above proves.
		if took > 30*time.Second {
			t.Errorf("Close took %v: it hangs", took)
		}
	})
}

// newTestLogger logs to t and to b.
func newTestLogger(t *testing.T, b *strings.Builder) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.MultiWriter(testWriter{t}, b), nil))
}
