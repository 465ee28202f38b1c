package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sepd/sepd/audio/jacktest"
)

// reloadDevicesConfig is a live run whose hop, iterations and playback
// channels a reload changes: voice and noise each go to a file and to one
// channel of the server's "system" device.
const reloadDevicesConfig = `sample_rate: 48000
input: {device: system, channels: 1}
stft: {fft_size: 1024, hop: %d}
separation: {iterations: %d}
sources:
  - {name: voice, bases: bases.npz, output: [{file: voice.wav}, {device: system, channels: [%d]}]}
  - {name: noise, bases: bases.npz, output: [{file: noise.wav}, {device: system, channels: [%d]}]}
metrics: {listen: "%s"}
`

// TestLiveReloadDevicesJACK reloads a running live `sepd run` three times
// through POST /-/reload, playing a burst of noise into it with a jacktest
// client (which records sepd's two playback channels) before the first reload
// and after each reload that changes the devices:
//
//  1. iterations 10 -> 5: the devices stay. The "reloaded" record says
//     devices_reopened false and no second audio bridge starts.
//  2. voice from playback channel 0 to 1 and noise from 1 to 0: new devices
//     open beside the running ones and take over between two frames; the
//     "reloaded" record says devices_reopened true and why ("the device
//     outputs change"), a second bridge starts (a new JACK client, where the
//     next burst is played), and the first bridge's process is gone when the
//     reload returns.
//  3. hop 256 -> 512: the stream is rebuilt and, as the device buffers follow
//     the hop, the devices reopen again ("the hop changes ...").
//
// Each reload answers 200 and leaves sepd_config_last_reload_successful at 1.
// After SIGINT (exit 0) the files are checked:
//   - each burst is in the sum of the sources, sample for sample (1e-5,
//     float32 files), with silence before it: the files run on through the
//     reopens;
//   - each device channel played exactly (bit for bit: the file and the port
//     both hold float32 of the same float64 samples) what the file of the
//     source mapped to it holds around that burst, and both channels at the
//     same lag: before the remap channel 0 is voice, after it noise;
//   - the files' length is the wall-clock time from "running" to SIGINT, to
//     within 8 periods: 4 for knowing the start and the stop (as in
//     TestLiveReconnectJACK) and 2 per reopen, where the capture moves from
//     one bridge to the other between two frames and what the old bridge
//     had captured but the engine had not read, and the new one's backlog,
//     are dropped (the difference is logged: within 2.5 periods in 5 runs).
//
// And the latency series: configured = the latency_samples logged at the
// start and at each reopen; measured = the same while no xrun moved the lag.
func TestLiveReloadDevicesJACK(t *testing.T) {
	server := jackServer(t)
	dir := t.TempDir()
	liveBases(t, dir, 1024)
	jackEnv(t, server)
	addr := freePort(t)
	write := func(hop, iterations, voiceCh, noiseCh int) {
		t.Helper()
		text := fmt.Sprintf(reloadDevicesConfig, hop, iterations, voiceCh, noiseCh, addr)
		if err := os.WriteFile(filepath.Join(dir, "sepd.yaml"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, running, _ := startLive(t, dir, fmt.Sprintf(reloadDevicesConfig, 256, 10, 0, 1, addr))
	t0 := running.time(t)
	p0, _ := cpuPressure() // for checkFileClock

	bridges := func() []logRecord { return d.recordsOf("audio bridge started") }
	reloaded := func() []logRecord { return d.recordsOf("reloaded") }
	reload := func() logRecord {
		t.Helper()
		n := len(reloaded())
		postReload(t, d, addr, http.StatusOK)
		if ok := scrape(t, addr)["sepd_config_last_reload_successful"]; ok != 1 {
			t.Errorf("sepd_config_last_reload_successful %v after a good reload, want 1", ok)
		}
		time.Sleep(300 * time.Millisecond) // the bridge forwards its counts every 250 ms
		t.Logf("xruns so far: %v", xruns(t, scrape(t, addr)))
		r := d.waitRecords(t, "reloaded", n+1, 5*time.Second)
		if len(r) != n+1 {
			t.Fatalf("%d \"reloaded\" records after a reload, want %d; log:\n%s", len(r), n+1, d.logText())
		}
		return r[n]
	}

	// A burst played by a jacktest client into the current bridge, with
	// sepd's two playback channels recorded; voice is the channel the source
	// voice plays on.
	type burst struct {
		sig        []float32
		rec        [][]float32
		voice      int
		start, end time.Time
		accepted   bool  // played and recorded without an xrun getting in the way
		xruns      []int // frames of sig at which the client saw server xruns
		counted    int   // xruns sepd counted beyond those (Result.Counted)
	}
	var bursts []*burst
	seed := uint64(1)
	play := func(voice int) {
		t.Helper()
		b := bridges()
		client := b[len(b)-1].str(t, "jack_client")
		for attempt := 1; ; attempt++ {
			sig := jacktest.Noise(liveRate/2, 1, seed)[0] // 0.5 s
			seed++
			before := xruns(t, scrape(t, addr))
			p := &burst{sig: sig, voice: voice, start: time.Now()}
			res, err := jacktest.Run(context.Background(), jacktest.Config{
				Target: client, Server: server, Signal: [][]float32{sig},
				RecordChannels: 2, RecordFrames: len(sig) + liveRate/2,
				SampleRateHz: liveRate, FramesPerBuffer: livePeriod,
			})
			if err != nil {
				t.Fatalf("%v\nsepd's log:\n%s", err, d.logText())
			}
			p.end, p.rec = time.Now(), res.Recording
			time.Sleep(300 * time.Millisecond) // the bridge forwards its counts every 250 ms
			during := xruns(t, scrape(t, addr)).Sub(before)
			p.xruns, p.counted = res.XrunFrames, res.Counted(during.Own(), during.Server())
			bursts = append(bursts, p)
			// The two channels sum to the input: find the burst in their sum
			// and judge it (jacktest.Judge: exact but where an xrun broke it).
			sum := make([]float64, len(p.rec[0]))
			for i := range sum {
				sum[i] = float64(p.rec[0][i]) + float64(p.rec[1][i])
			}
			at, _, _ := findBurst(sum, sig, 0)
			if at < 0 {
				t.Fatalf("burst %d into %s: not in the recording; xruns %v\nsepd's log:\n%s", len(bursts), client, during, d.logText())
			}
			v, _ := judgeBurst(sum, sig, at, res.XrunFrames, p.counted)
			t.Logf("burst %d into %s: recorded at lag %d (%.2f ms); the channels' sum against it: %v; xruns %v, client callbacks with xrun flags %d",
				len(bursts), client, at, float64(at)*1e3/liveRate, v, during, res.XrunCallbacks)
			if !v.OK() {
				t.Fatalf("burst %d into %s: the recorded channels do not sum to it where no xrun explains it: %v\nsepd's log:\n%s", len(bursts), client, v, d.logText())
			}
			// The channel-by-channel check against the files (below) needs a
			// burst that no xrun broke; try again for one, a few times.
			if p.accepted = len(v.Glitches) == 0; p.accepted || attempt == liveAttempts {
				return
			}
			t.Logf("burst %d: an xrun broke it; again, for one to compare with the files channel by channel", len(bursts))
		}
	}
	pidOf := func(r logRecord) int { return r.int(t, "pid") }

	// The latency: sepd_latency_seconds{kind="configured"} is what the last
	// "running" or device-reopening "reloaded" record says; the measured one
	// (the STFT delay plus the lag the bridge observes, see
	// Live.MeasuredLatencySamples) equals it while no xrun has moved the lag,
	// and is at most a period more after one.
	logged := running.int(t, "latency_samples")
	checkLatency := func(what string) {
		t.Helper()
		time.Sleep(1300 * time.Millisecond) // the daemon updates it every second
		m := scrape(t, addr)
		conf := int(math.Round(m["sepd_latency_seconds{kind=configured}"] * liveRate))
		meas := int(math.Round(m["sepd_latency_seconds{kind=measured}"] * liveRate))
		x := countedXruns(xruns(t, m))
		t.Logf("%s: latency logged %d, configured %d, measured %d samples; xruns so far %v", what, logged, conf, meas, x)
		if conf != logged {
			t.Errorf("%s: configured latency %d samples, logged %d", what, conf, logged)
		}
		if meas != logged && (x.Total() == 0 || meas < logged || meas > logged+livePeriod) {
			t.Errorf("%s: measured latency %d samples, logged %d (xruns %v)", what, meas, logged, x)
		}
	}

	play(0)
	checkLatency("start")

	// 1. A parameter: the devices stay.
	write(256, 5, 0, 1)
	r := reload()
	if r["devices_reopened"] != false || len(bridges()) != 1 {
		t.Errorf("iterations 10 -> 5: devices_reopened %v, %d bridges started; want false and 1", r["devices_reopened"], len(bridges()))
	}

	// 2. Remap the playback channels: new devices.
	first := bridges()[0]
	write(256, 5, 1, 0)
	r = reload()
	t.Logf("remap: %v", r)
	if r["devices_reopened"] != true || !strings.Contains(fmt.Sprint(r["why"]), "the device outputs change") || len(bridges()) != 2 {
		t.Fatalf("remap: devices_reopened %v, why %q, %d bridges started; want true, \"the device outputs change\", 2; log:\n%s", r["devices_reopened"], r["why"], len(bridges()), d.logText())
	}
	if err := syscall.Kill(pidOf(first), 0); err != syscall.ESRCH {
		t.Errorf("the first bridge (pid %d) is still there after the reload (kill 0: %v)", pidOf(first), err)
	}
	logged = r.int(t, "latency_samples")
	play(1)
	checkLatency("after the remap")

	// 3. A new hop: a new stream and new device buffers.
	write(512, 5, 1, 0)
	r = reload()
	t.Logf("new hop: %v", r)
	if r["devices_reopened"] != true || !strings.Contains(fmt.Sprint(r["why"]), "the hop changes") || len(bridges()) != 3 || r.int(t, "hop") != 512 {
		t.Fatalf("hop 256 -> 512: devices_reopened %v, why %q, %d bridges, hop %v; want true, \"the hop changes ...\", 3, 512; log:\n%s", r["devices_reopened"], r["why"], len(bridges()), r["hop"], d.logText())
	}
	logged = r.int(t, "latency_samples")
	play(1)
	checkLatency("after the new hop")

	m := scrape(t, addr)
	stop := time.Now()
	d.cmd.Process.Signal(os.Interrupt)
	if code := d.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("exit status %d after SIGINT; log:\n%s", code, d.logText())
	}
	t.Logf("xruns over the run: %v", xruns(t, m))

	files := map[string][]float64{}
	files["voice"], files["noise"] = liveFiles(t, dir)
	n := len(files["voice"])
	// Within 8 periods: 4 for the start and stop, 2 per reopen.
	checkFileClock(t, n, stop.Sub(t0).Seconds()*liveRate, 8*livePeriod, xruns(t, m).Server(), p0, t0)

	sum := make([]float64, n)
	for i := range sum {
		sum[i] = files["voice"][i] + files["noise"][i]
	}
	from := 0
	for k, b := range bursts {
		at, _, before := findBurst(sum, b.sig, from)
		if at < 0 {
			t.Fatalf("burst %d is not in the files after sample %d", k+1, from)
		}
		v, end := judgeBurst(sum, b.sig, at, shifted(b.xruns, at), b.counted)
		t.Logf("burst %d at sample %d of the files (%.3f s after \"running\"; played from %.3f s to %.3f s); sum of sources against the burst: %v; before it %.2g",
			k+1, at, float64(at)/liveRate, b.start.Sub(t0).Seconds(), b.end.Sub(t0).Seconds(), v, before)
		if !v.OK() || before > burstTol {
			t.Errorf("burst %d: the sources sum to it (%v) and are %.3g before it; want it to %g but where an xrun broke it, and silence before", k+1, v, before, burstTol)
		}
		if b.accepted {
			// What each channel played is the file of the source mapped to
			// it: from the file's first non-zero sample after the previous
			// burst's tail, over the burst and a tail of fft_size.
			lags := map[string]int{}
			for _, s := range []string{"voice", "noise"} {
				ch := b.voice
				if s == "noise" {
					ch = 1 - ch
				}
				y := files[s]
				p := from
				for p < len(y) && y[p] == 0 {
					p++
				}
				seg := make([]float32, 0, len(b.sig)+1024)
				for i := p; i < min(len(y), p+len(b.sig)+1024); i++ {
					seg = append(seg, float32(y[i]))
				}
				lag, compared, bad, ok := jacktest.Align(b.rec[ch], seg)
				if !ok || bad > 0 || compared < len(b.sig) {
					t.Errorf("burst %d: channel %d should have played %s.wav from sample %d: %d of %d samples compared differ (silent: %v)", k+1, ch, s, p, bad, compared, !ok)
				}
				lags[s] = lag - p
			}
			if lags["voice"] != lags["noise"] {
				t.Errorf("burst %d: voice and noise played at different lags (%d, %d samples from the files)", k+1, lags["voice"], lags["noise"])
			}
		}
		from = end + 1024 // the burst and its overlap-add tail
	}
}

// replayDevicesConfig is a real-time replay of a file to two files and to two
// channels of the server's "system" device.
const replayDevicesConfig = `input: {file: mix.wav, realtime: true}
stft: {fft_size: 1024, hop: 256}
sources:
  - {name: voice, bases: bases.npz, output: [{file: out/voice.wav}, {device: system, channels: [%d]}]}
  - {name: noise, bases: bases.npz, output: [{file: out/noise.wav}, {device: system, channels: [%d]}]}
metrics: {listen: "%s"}
`

// TestLiveReloadReplayDevicesJACK: a real-time replay of the committed 48 kHz
// mixture to files and device channels takes a reload that swaps the channels
// 1.2 s in. The devices reopen (a second bridge, with playback only; the
// first one's process is gone when the reload returns) while the input stays
// the file, so the files are untouched by it: the run ends by itself at the
// end of the input (exit 0), and the files have the input's exact length and
// sum to it to 1e-5 (float32 files) at every sample, across the reopen.
func TestLiveReloadReplayDevicesJACK(t *testing.T) {
	server := jackServer(t)
	dir := t.TempDir()
	liveBases(t, dir, 1024)
	copyFile(t, liveMix, filepath.Join(dir, "mix.wav"))
	if err := os.Mkdir(filepath.Join(dir, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	jackEnv(t, server)
	addr := freePort(t)
	d, _, _ := startLive(t, dir, fmt.Sprintf(replayDevicesConfig, 0, 1, addr))
	first := d.recordsOf("audio bridge started")[0]
	time.Sleep(1200 * time.Millisecond)
	if err := os.WriteFile(filepath.Join(dir, "sepd.yaml"), []byte(fmt.Sprintf(replayDevicesConfig, 1, 0, addr)), 0o644); err != nil {
		t.Fatal(err)
	}
	postReload(t, d, addr, http.StatusOK)
	r := d.waitRecords(t, "reloaded", 1, 5*time.Second)
	if len(r) != 1 || r[0]["devices_reopened"] != true || len(d.recordsOf("audio bridge started")) != 2 {
		t.Fatalf("want one reload that reopened the devices and a second bridge; log:\n%s", d.logText())
	}
	if err := syscall.Kill(first.int(t, "pid"), 0); err != syscall.ESRCH {
		t.Errorf("the first bridge (pid %d) is still there after the reload (kill 0: %v)", first.int(t, "pid"), err)
	}
	t.Logf("reloaded at input sample %d: %v", r[0].int(t, "at_sample"), r[0]["why"])
	if code := d.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("exit %d; log:\n%s", code, d.logText())
	}
	checkOutputs(t, dir, liveMix, nil)
}

// TestLiveReloadClosesFirstJACK: on a JACK server of its own with room for
// the system ports and one bridge only (SEPD_JACK_PORT_MAX=8: 4 system ports
// and 3 of the bridge's; a second bridge cannot register its ports, as an
// ALSA hw device cannot be opened twice), a reload that swaps the playback
// channels cannot open the new devices beside the running ones. sepd then
// closes the running ones first and opens the new ones, with silence paced by
// the clock in between: the reload answers 200, the "reloaded" record says
// closed_first, and the first bridge's process is gone. A second reload asks
// for a playback channel the device does not have: the new devices do not
// open even with the running ones closed, so sepd opens the running ones again
// and the reload answers 500 saying so ("those are open again"), with the
// metric at 0. The run goes on to SIGINT (exit 0), and the files hold its
// wall-clock length to within 8 periods (4 for the start and stop, and the
// gaps filled with silence), so the silence kept them aligned in time.
func TestLiveReloadClosesFirstJACK(t *testing.T) {
	name := jackServer(t) + "-ports"
	t.Setenv("SEPD_JACK_PORT_MAX", "8")
	jacktest.OwnServer(t, jackdScript, name)
	dir := t.TempDir()
	liveBases(t, dir, 1024)
	jackEnv(t, name)
	addr := freePort(t)
	d, running, _ := startLive(t, dir, fmt.Sprintf(reloadDevicesConfig, 256, 10, 0, 1, addr))
	t0 := running.time(t)
	p0, _ := cpuPressure() // for checkFileClock
	first := d.recordsOf("audio bridge started")[0]
	post := func(want int) string { return postReload(t, d, addr, want) }
	write := func(voiceCh, noiseCh int) {
		t.Helper()
		text := fmt.Sprintf(reloadDevicesConfig, 256, 10, voiceCh, noiseCh, addr)
		if err := os.WriteFile(filepath.Join(dir, "sepd.yaml"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	time.Sleep(time.Second)
	write(1, 0)
	post(http.StatusOK)
	r := d.waitRecords(t, "reloaded", 1, 5*time.Second)
	if len(r) != 1 || r[0]["devices_reopened"] != true || r[0]["closed_first"] != true || d.record("the new audio devices did not open beside the running ones; closing those first (silence meanwhile)") == nil {
		t.Fatalf("the reload did not reopen the devices by closing the running ones first; log:\n%s", d.logText())
	}
	if err := syscall.Kill(first.int(t, "pid"), 0); err != syscall.ESRCH {
		t.Errorf("the first bridge (pid %d) is still there after the reload (kill 0: %v)", first.int(t, "pid"), err)
	}
	warn := d.record("the new audio devices did not open beside the running ones; closing those first (silence meanwhile)")
	t.Logf("devices away (from the warning to \"reloaded\"): %v", r[0].time(t).Sub(warn.time(t)).Round(time.Millisecond))

	time.Sleep(time.Second)
	write(1, 5) // the device has 2 playback channels
	body := post(http.StatusInternalServerError)
	t.Logf("reload to channel 5: %s", strings.TrimSpace(body))
	d.waitRecords(t, "reload failed; the running configuration stays", 1, 5*time.Second)
	if !strings.Contains(body, "those are open again") || d.record("the previous audio devices are open again") == nil {
		t.Errorf("the failed reload does not say the running devices are open again: %q; log:\n%s", body, d.logText())
	}
	if ok := scrape(t, addr)["sepd_config_last_reload_successful"]; ok != 0 {
		t.Errorf("sepd_config_last_reload_successful %v after a failed reload, want 0", ok)
	}
	time.Sleep(time.Second)
	if !ready(addr) {
		t.Errorf("/readyz is not ready after the failed reload; log:\n%s", d.logText())
	}

	m := scrape(t, addr)
	stop := time.Now()
	d.cmd.Process.Signal(os.Interrupt)
	if code := d.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("exit status %d after SIGINT; log:\n%s", code, d.logText())
	}
	voice, _ := liveFiles(t, dir)
	checkFileClock(t, len(voice), stop.Sub(t0).Seconds()*liveRate, 8*livePeriod, xruns(t, m).Server(), p0, t0)
}
