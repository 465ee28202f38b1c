package audio_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/audio/jacktest"
)

// The PipeWire tests run the bridge on a headless PipeWire (scripts/pipewire:
// WirePlumber, the virtual devices "sepd virtual mic" and "sepd virtual
// speakers", no sound card) through the two paths a desktop user has:
// PipeWire's libjack (pw-jack) and PipeWire's ALSA plugin. scripts/dev test
// starts the instance, sets SEPD_PIPEWIRE to its name and runs `pw-jack go
// test -run PipeWire` with the instance's environment (scripts/pipewire env),
// so that this test binary, the bridge and the jacktest helper all load
// PipeWire's libjack. They are judged as the JACK tests are (jacktest.Judge):
// bit-exact but where an xrun of the graph, or one sepd counted, explains a
// break.

// pwLeadIn is the helper's lead-in through PipeWire (see jacktest.Config):
// a quarter of a second, about seven times the longest wait for the helper's
// links seen here beside busy loops (the first 1792 frames at 48 kHz, 37 ms).
const pwLeadIn = 250 * time.Millisecond

// pipewireQuanta are the graph periods tested: a music setup's and
// PipeWire's default.
var pipewireQuanta = []int{256, 1024}

// pipewire returns the instance SEPD_PIPEWIRE names, or skips the test when it
// is unset; it fails the test when this process does not run on PipeWire's
// libjack (then PortAudio's JACK host API would look for a jackd).
func pipewire(t *testing.T) string {
	t.Helper()
	name := os.Getenv("SEPD_PIPEWIRE")
	if name == "" {
		t.Skip("SEPD_PIPEWIRE is not set: run `scripts/pipewire start NAME`, then eval \"$(scripts/pipewire env NAME)\" and SEPD_PIPEWIRE=NAME pw-jack go test -run PipeWire")
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(maps), "/pipewire-0.3/jack/libjack") {
		t.Fatalf("SEPD_PIPEWIRE=%s, but this test does not run on PipeWire's libjack: run it under pw-jack", name)
	}
	if out, err := exec.Command("../scripts/pipewire", "status", name).CombinedOutput(); err != nil {
		t.Fatalf("SEPD_PIPEWIRE=%s: %v: %s", name, err, out)
	}
	return name
}

// setQuantum forces the graph's period to q frames (pw-metadata; see
// scripts/pipewire) until the test ends, and waits for the graph to take it.
func setQuantum(t *testing.T, name string, q int) {
	t.Helper()
	quantum := func(q int) error {
		out, err := exec.Command("../scripts/pipewire", "quantum", name, fmt.Sprint(q)).CombinedOutput()
		if err != nil {
			return fmt.Errorf("scripts/pipewire quantum %s %d: %v: %s", name, q, err, out)
		}
		return nil
	}
	if err := quantum(q); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { quantum(0) })
	time.Sleep(200 * time.Millisecond)
}

// pipewireLive is one mono capture on inDev and one mono playback on outDev
// (sepd's specs) through a bridge started with env added to the
// environment.
func pipewireLive(t *testing.T, inDev, outDev string, env []string, x *audio.Xruns, period int, latency time.Duration) *audio.Live {
	t.Helper()
	// FollowHost, as sepd run's streams (daemon/devices.go): callbacks of the
	// graph's own period, whatever the quantum. latency 0 is the devices'
	// default.
	stream := audio.StreamConfig{Device: inDev, Channels: 1, SampleRateHz: liveRate, FramesPerBuffer: livePer, FollowHost: true, Latency: latency}
	out := stream
	out.Device, out.PrefillFrames = outDev, 2*livePer
	l, err := audio.StartLive(context.Background(), audio.LiveConfig{
		Input: &stream, Outputs: []audio.StreamConfig{out}, Xruns: x,
		Log:        slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Command:    append(append([]string{"env"}, env...), sepdBinary(t), "audio-bridge"),
		ClientName: "sepd-pw-test",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	info := l.Info()
	t.Logf("quantum %d, devices %q -> %q: JACK client %q; capture %q latency %v (%s, PortAudio said %v), playback %q latency %v (%s, PortAudio said %v): LatencySamples %d",
		period, inDev, outDev, info.JACKClientName, info.Input.Device.Name, info.Input.DeviceLatency, info.Input.LatencySource, info.Input.ReportedLatency,
		info.Outputs[0].Device.Name, info.Outputs[0].DeviceLatency, info.Outputs[0].LatencySource, info.Outputs[0].ReportedLatency, info.LatencySamples)
	return l
}

// pipewireLoopback plays seconds of noise into target, records recordFrom
// (see jacktest.Config) while lp copies the bridge's capture to its playback,
// and judges the recording as judgeLoopback does, with the graph's period
// and its late cycles as server xruns (graphLate of them hit the recording).
func pipewireLoopback(t *testing.T, l *audio.Live, lp *liveLoop, x *audio.Xruns, target, recordFrom string, period, seconds int, seed uint64) (v jacktest.Verdict, clean bool, graphLate int) {
	t.Helper()
	sig := jacktest.Noise(seconds*liveRate, 1, seed)
	before := x.Snapshot()
	atSignal := lp.arm()
	late := startGraphWatch(t)
	res, err := jacktest.Run(context.Background(), jacktest.Config{
		Target: target, RecordFrom: recordFrom, Signal: sig, RecordChannels: 1,
		RecordFrames: (seconds + 1) * liveRate, SampleRateHz: liveRate, FramesPerBuffer: livePer,
		LeadIn: pwLeadIn,
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the child's last xrun counts (every 250 ms)
	graph := late()
	end := x.Snapshot()
	var start audio.XrunCounts
	select {
	case start = <-atSignal:
	default:
		t.Fatalf("the loop never saw the signal; helper log:\n%s", res.Log)
	}
	during := end.Sub(start)
	during[audio.Reconnect] = 0
	out := l.Info().Outputs[0]
	e := loopbackExpect(sig, during, res, 2*out.RingFrames, out.PrefillFrames, period)
	// The graph's late cycles, where they hit the recording, are server
	// xruns (see jacktest.WatchPipeWire).
	graphXruns := graph.Frames(res, jacktest.HelperClient)
	v = jacktest.Judge(res.Recording, append(slices.Clone(res.XrunFrames), graphXruns...), e)
	pre := start.Sub(before)
	pre[audio.Reconnect] = 0
	t.Logf("%v; xruns before the signal %v, during it %v; late graph cycles %d of %d, %d in the helper's graph during its run, at frames %v; helper callbacks with xrun flags: %d at frames %v; reconnects %d",
		v, pre, during, len(graph.Late), graph.Cycles, len(graphXruns), graphXruns, res.XrunCallbacks, res.XrunFrames, l.Reconnects())
	lp.mu.Lock()
	since := start.Sub(lp.settled) // see loopback's clean
	lp.mu.Unlock()
	since[audio.Reconnect] = 0
	// A late graph cycle before the signal may have moved the lag too.
	return v, since.Total() == 0 && v.CleanStart() && graph.Before(res, jacktest.HelperClient) == 0, len(graphXruns)
}

// The JACK devices the pw-jack tests open: "default", which under pw-jack
// is the virtual mic in (silence: nothing plays into it) and the virtual
// speakers out. PortAudio's own JACK default input would be the speakers'
// monitor, the first device it lists with inputs, and in and out on it would
// loop sepd's playback into its capture; sepd's skips monitors
// (TestPipeWireDefaultIsJACK).
const (
	pwMic      = "default"
	pwSpeakers = "default"
)

// TestPipeWireDefaultIsJACK: under pw-jack, "default" means JACK devices
// (PipeWire's), not ALSA's default, even with pipewire-alsa's configuration
// making ALSA's default PipeWire too; and for capture not a sink's monitor
// (PortAudio's JACK default here) but the virtual mic.
func TestPipeWireDefaultIsJACK(t *testing.T) {
	pipewire(t)
	t.Setenv("ALSA_CONFIG_PATH", os.Getenv("SEPD_PW_ALSA_CONFIG_PATH"))
	l, err := audio.ListDevices()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	l.WriteTable(&b)
	t.Logf("\n%s", b.String())
	for _, input := range []bool{true, false} {
		want := "sepd virtual speakers"
		if input {
			want = "sepd virtual mic"
		}
		d, err := l.Resolve("default", input)
		if err != nil || d.HostAPIType != "JACK" || d.Name != want {
			t.Errorf("default (input %v) under pw-jack: %q (%s), %v; want JACK's %q", input, d.Name, d.HostAPIType, err, want)
		}
		if d, err := l.Resolve("alsa:default", input); err != nil || d.Name != "default" || d.HostAPIType != "ALSA" {
			t.Errorf("alsa:default (input %v): %q (%s), %v; want ALSA's default", input, d.Name, d.HostAPIType, err)
		}
	}
}

// startGraphWatch is jacktest.WatchPipeWire for a test: its stop returns
// the graph's late cycles, PipeWire's xruns.
func startGraphWatch(t *testing.T) func() jacktest.Graph {
	t.Helper()
	stop, err := jacktest.WatchPipeWire()
	if err != nil {
		t.Fatal(err)
	}
	return func() jacktest.Graph {
		g, err := stop()
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
}

// TestPipeWireLoopbackJACK runs Live through pw-jack at each quantum, and
// plays 5 s of noise into the bridge's JACK ports: it must
// come back bit-exact but where an xrun explains a break, with no bridge
// restart. The devices' latency must be the estimate (PipeWire's libjack
// reports port latency 0, which PortAudio 19.6 turns into 2^32 - quantum
// frames; see checkDeviceLatency) and, on a loopback no xrun moved, agree
// with the lag to within the helper's own period (the quantum).
func TestPipeWireLoopbackJACK(t *testing.T) {
	name := pipewire(t)
	for _, q := range pipewireQuanta {
		t.Run(fmt.Sprint("quantum", q), func(t *testing.T) {
			setQuantum(t, name, q)
			var x audio.Xruns
			l := pipewireLive(t, pwMic, pwSpeakers, nil, &x, q, 0)
			info := l.Info()
			// What PortAudio 19.6 reports through PipeWire's libjack, and
			// what sepd makes of it.
			wrapped := time.Duration(float64(1<<32-q) / liveRate * float64(time.Second))
			for _, s := range []audio.StreamInfo{*info.Input, info.Outputs[0]} {
				if d := s.ReportedLatency - wrapped; d < -time.Microsecond || d > time.Microsecond || s.LatencySource != audio.LatencyEstimated {
					t.Errorf("%s: PortAudio said %v (%s); want the wrapped %v, estimated", s.Device.Name, s.ReportedLatency, s.LatencySource, wrapped)
				}
			}
			w, err := l.Writer(0, 0)
			if err != nil {
				t.Fatal(err)
			}
			lp := startLoop(l, w, &x, livePer)
			v, clean, _ := pipewireLoopback(t, l, lp, &x, info.JACKClientName, "", q, 5, 1)
			if !v.OK() {
				t.Fatalf("the recording is not the signal: %v", v)
			}
			if !clean {
				// An xrun since the start may have moved the lag (see
				// loopback's clean).
				t.Logf("lag %d not checked: an xrun since the start may have moved it", v.Lag())
			} else if d := v.Lag() - info.LatencySamples; d < 0 || d > q {
				t.Errorf("lag %d, LatencySamples %d: they differ by %d, not within one quantum (%d)", v.Lag(), info.LatencySamples, d, q)
			}
			if n := l.Reconnects(); n != 0 {
				t.Errorf("%d bridge restarts, want 0", n)
			}
		})
	}
}

// TestPipeWireLossCaughtJACK proves that a silent loss fails the PipeWire
// loopback as it fails the JACK one (TestLiveLossCaughtJACK): one captured
// frame in 2400 lost, no xrun counted.
func TestPipeWireLossCaughtJACK(t *testing.T) {
	name := pipewire(t)
	setQuantum(t, name, 256)
	var x audio.Xruns
	l := pipewireLive(t, pwMic, pwSpeakers, nil, &x, 256, 0)
	w, err := l.Writer(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	lp := startLoop(l, w, &x, livePer)
	const every = 2400
	defer audio.SetLiveLossEvery(every)()
	v, _, _ := pipewireLoopback(t, l, lp, &x, l.Info().JACKClientName, "", 256, 2, 40)
	bare := 0
	for _, g := range v.Glitches {
		if g.Xrun < 0 {
			bare++
		}
	}
	if v.OK() || bare == 0 {
		t.Errorf("a loss of one frame in %d passed the judge: %v", every, v)
	}
}

// TestPipeWireLoopbackALSA runs Live through PipeWire's ALSA plugin, as a
// desktop user without pw-jack does ("alsa:default", which the plugin's
// configuration makes PipeWire's default source and sink), at each quantum.
// The plugin's files come through the bridge's own ALSA_CONFIG_PATH
// (SEPD_PW_ALSA_CONFIG_PATH, from scripts/pipewire env), never through the
// machine's ALSA configuration. The helper plays into "sepd virtual mic" and
// records the monitor of "sepd virtual speakers", the defaults WirePlumber
// links the plugin's streams to: the noise must come back bit-exact but where
// an xrun explains a break, with no bridge restart. The plugin's default
// latency (the device's high latency, 34.8 ms: see serverPlugin) covers
// quanta up to 1024; at 2048 (42.7 ms) the bridge finds its buffer too short
// as it opens and opens it again at twice the latency (openFitted), which
// the test checks.
func TestPipeWireLoopbackALSA(t *testing.T) {
	name := pipewire(t)
	conf := os.Getenv("SEPD_PW_ALSA_CONFIG_PATH")
	if conf == "" {
		t.Fatal("SEPD_PW_ALSA_CONFIG_PATH is not set: eval \"$(scripts/pipewire env NAME)\"")
	}
	for _, q := range append(pipewireQuanta, 2048) {
		t.Run(fmt.Sprint("quantum", q), func(t *testing.T) {
			setQuantum(t, name, q)
			var x audio.Xruns
			l := pipewireLive(t, "alsa:default", "alsa:default", []string{"ALSA_CONFIG_PATH=" + conf}, &x, q, 0)
			info := l.Info()
			if h := info.Input.Device.HostAPIType; h != "ALSA" {
				t.Fatalf("alsa:default opened a %s device", h)
			}
			// The buffer holds a quantum (and at 2048 was doubled to).
			quantum := time.Duration(q) * time.Second / liveRate
			for _, lat := range []time.Duration{info.Input.DeviceLatency, info.Outputs[0].DeviceLatency} {
				if lat < quantum {
					t.Errorf("device latency %v, shorter than the quantum (%v)", lat, quantum)
				}
			}
			w, err := l.Writer(0, 0)
			if err != nil {
				t.Fatal(err)
			}
			lp := startLoop(l, w, &x, livePer)
			v, _, graphLate := pipewireLoopback(t, l, lp, &x, "sepd virtual mic", "sepd virtual speakers", q, 5, 7)
			if !v.OK() {
				t.Errorf("the recording is not the signal: %v", v)
			}
			// The measured latency is the devices' part timed by the
			// streams' clocks (timedLag), which the loop adds nothing to.
			// The recording's lag is port to port plus the helper's own
			// PortAudio buffer (a livePer-frame block through JACK: its
			// lag was 214-255 frames above sepd's measured latency at
			// quanta 256-2048, where jack_iodelay, port to port, was 0-210
			// frames below it). The measured latency is the last report's,
			// so it is held to the last segment's lag (an xrun can move
			// the lag). The bound is a quantum and a quarter (and 384
			// frames): in one of 12 runs PipeWire's graph held 1251 frames
			// more at quantum 1024 (the lag 6311, not 5060) where no
			// stream's time shows it. A tag taken across its wrap or a
			// clock from the wrong stream would be off by far more; an
			// error of a block is TestTimedLag's to catch. A late graph
			// cycle moves the lag where no stream's time shows it either
			// (a quantum lost before the capture or added after the
			// playback: seen off by 644 frames at quantum 256 and by 4710
			// at 1024 beside two busy loops), so after one the measured
			// latency is only logged.
			if n, ok := l.MeasuredLatencySamples(); !ok {
				t.Errorf("no measured latency")
			} else if len(v.Segments) > 0 && graphLate > 0 {
				t.Logf("measured latency %d frames, the recording's last lag %d less the helper's %d: not compared, %d late graph cycles may have moved the lag", n, v.Segments[len(v.Segments)-1].Lag, livePer, graphLate)
			} else if len(v.Segments) > 0 {
				last := v.Segments[len(v.Segments)-1].Lag
				if d, tol := n-(last-livePer), max(q+q/4, 384); d < -tol || d > tol {
					t.Errorf("measured latency %d frames, the recording's last lag %d less the helper's %d: off by %d, more than %d", n, last, livePer, d, tol)
				} else {
					t.Logf("measured latency %d frames, the recording's last lag %d less the helper's %d (reported: %d)", n, last, livePer, info.LatencySamples)
				}
			}
			if n := l.Reconnects(); n != 0 {
				t.Errorf("%d bridge restarts, want 0", n)
			}
		})
	}
}

// TestPipeWireDeviceRateALSA: PipeWire's ALSA plugin reports ALSA's own
// default rate (44100 Hz) whatever its graph runs at, and takes any rate, so
// DeviceRate gives it the rate sepd prefers (the bases') instead of making
// sepd convert 48 kHz to 44.1 kHz for PipeWire to convert back; a JACK
// device keeps the server's rate (it cannot run at another).
func TestPipeWireDeviceRateALSA(t *testing.T) {
	pipewire(t)
	conf := os.Getenv("SEPD_PW_ALSA_CONFIG_PATH")
	if conf == "" {
		t.Fatal("SEPD_PW_ALSA_CONFIG_PATH is not set: eval \"$(scripts/pipewire env NAME)\"")
	}
	alsa := []string{"env", "ALSA_CONFIG_PATH=" + conf, sepdBinary(t), "audio-bridge"}
	for _, c := range []struct {
		device string
		cmd    []string
		prefer int
		want   int
	}{
		{"alsa:default", alsa, 0, 44100},
		{"alsa:default", alsa, 48000, 48000},
		{"alsa:default", alsa, 16000, 16000},
		{"jack:default", nil, 16000, liveRate},
	} {
		cfg := audio.LiveConfig{Input: &audio.StreamConfig{Device: c.device, Channels: 1}, Command: c.cmd}
		if cfg.Command == nil {
			cfg.Command = []string{sepdBinary(t), "audio-bridge"}
		}
		got, name, err := audio.DeviceRate(context.Background(), cfg, c.prefer)
		if err != nil {
			t.Fatalf("%s, prefer %d: %v", c.device, c.prefer, err)
		}
		if got != c.want {
			t.Errorf("%s (%q), prefer %d: rate %d, want %d", c.device, name, c.prefer, got, c.want)
		}
	}
}
