package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/audio/jacktest"
)

// pipewire returns the headless PipeWire instance SEPD_PIPEWIRE names
// (scripts/pipewire; scripts/dev test runs these tests under pw-jack with its
// environment), or skips the test when it is unset. It fails when the test
// does not run on PipeWire's libjack.
func pipewire(t *testing.T) string {
	t.Helper()
	name := os.Getenv("SEPD_PIPEWIRE")
	if name == "" {
		t.Skip("SEPD_PIPEWIRE is not set: see scripts/pipewire and the PipeWire step of scripts/dev")
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(maps), "/pipewire-0.3/jack/libjack") {
		t.Fatalf("SEPD_PIPEWIRE=%s, but this test does not run on PipeWire's libjack: run it under pw-jack", name)
	}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("../../scripts/pipewire", args...).CombinedOutput(); err != nil {
			t.Fatalf("scripts/pipewire %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	run("status", name)
	run("quantum", name, fmt.Sprint(pwQuantum))
	t.Cleanup(func() { exec.Command("../../scripts/pipewire", "quantum", name, "0").Run() })
	return name
}

// recipeMic waits until the node of deploy/pipewire/60-sepd-microphones.conf
// (the README's recipe, which scripts/pipewire installs in its instance) whose
// description is desc shows as a JACK client: an Audio/Source/Virtual that
// sepd plays into (its input port) and that applications record from (its
// capture port, or the node by name).
func recipeMic(t *testing.T, desc string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, _ := exec.Command("jack_lsp").Output() // on PipeWire's libjack too
		if strings.Contains(string(out), desc+":input_") {
			return
		}
		if time.Now().After(deadline) {
			nodes, _ := exec.Command("pw-cli", "ls", "Node").CombinedOutput()
			t.Fatalf("%q (deploy/pipewire/60-sepd-microphones.conf) does not show as a JACK client within 5 s; jack_lsp:\n%s\npw-cli ls Node:\n%s", desc, out, nodes)
		}
	}
}

// pwQuantum is the graph's period in these tests.
const pwQuantum = 256

// pipewireMicsConfig: sepd under pw-jack, capturing PipeWire's default source
// (the virtual mic of scripts/pipewire), each source to its own virtual
// microphone. The bases stay fixed (adapt: 0; see liveFixedBases): the
// recordings are compared with `sepd separate` sample for sample, and
// adapted bases remember an xrun's frames for seconds, past the window
// jacktest.Judge excuses.
const pipewireMicsConfig = `sample_rate: 48000
input: {device: default, channels: 1}
stft: {fft_size: 1024, hop: 256}
separation: {adapt: 0}
sources:
  - {name: voice, bases: %s, output: {device: "jack:sepd voice", channels: [0]}}
  - {name: noise, bases: %s, output: {device: "jack:sepd noise", channels: [0]}}
metrics: {listen: "%s"}
`

// TestPipeWireSourcesAsMicsJACK makes each separated source a microphone on
// PipeWire, as the README's recipe does: the nodes sepd-voice and sepd-noise
// (Audio/Source/Virtual, deploy/pipewire/60-sepd-microphones.conf, which
// scripts/pipewire installs), sepd under pw-jack playing voice into the one and
// noise into the other. A jacktest client plays the committed mixture into
// sepd's input and records the node "sepd voice" sample-exactly, while
// pw-record records the node sepd-noise, as any application (a browser, a
// video call, OBS) would. Both recordings must equal `sepd separate`'s
// output for the same file to 1e-4 (liveTol: float32 on both paths) after a
// constant delay, but where an xrun explains a break (jacktest.Judge; PipeWire
// reports no xrun positions to its JACK clients, so sepd's xruns and the
// graph's late cycles are counted).
func TestPipeWireSourcesAsMicsJACK(t *testing.T) {
	pipewire(t)
	mix, f, err := audio.ReadAll(liveMix)
	if err != nil {
		t.Fatal(err)
	}
	if f.SampleRateHz != liveRate || f.Channels != 1 {
		t.Fatalf("%s: %d Hz, %d channels; want %d Hz mono", liveMix, f.SampleRateHz, f.Channels, liveRate)
	}
	dir := t.TempDir()
	voice, noise := liveBases(t, dir, 1024)
	in := filepath.Join(dir, "mix.wav")
	writeFloatWAV(t, in, mix[0])
	cfg := filepath.Join(dir, "offline.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(offlineConfig, "mix.wav", 1024, 256, 0, voice, noise)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := sepd(t, "separate", "-q", "-c", cfg, "-o", filepath.Join(dir, "offline"), in); code != 0 {
		t.Fatalf("sepd separate: exit %d\n%s", code, stderr)
	}
	ref := map[string][]float32{}
	for _, s := range []string{"voice", "noise"} {
		y, _, err := audio.ReadAll(filepath.Join(dir, "offline", s+".wav"))
		if err != nil {
			t.Fatal(err)
		}
		ref[s] = float32s(y[0])
	}

	recipeMic(t, "sepd voice")
	recipeMic(t, "sepd noise")
	if _, err := sepdBinary(); err != nil {
		t.Fatal(err)
	}
	if err := jacktest.Prepare(); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	d, running, client := startLive(t, dir, fmt.Sprintf(pipewireMicsConfig, voice, noise, addr))
	t.Logf("sepd's JACK client %q; logged latency_samples %d", client, running.int(t, "latency_samples"))
	d.waitRecord(t, "metrics", 10*time.Second)
	// Through PipeWire's libjack PortAudio 19.6 reports 2^32 - quantum frames
	// for every device; sepd says it estimated them instead, in the log and
	// the metrics (the figure itself is held to jack_iodelay's by
	// scripts/measure-live; see README, "Latency and quantum").
	if src := running.str(t, "device_latency"); src != audio.LatencyEstimated {
		t.Errorf(`"running" record: device_latency %q, want %q`, src, audio.LatencyEstimated)
	}
	if got := scrape(t, addr)["sepd_device_latency_info{source=estimated}"]; got != 1 {
		t.Errorf(`sepd_device_latency_info{source="estimated"} = %v, want 1`, got)
	}

	// An application records the noise microphone.
	recFile := filepath.Join(dir, "noise-rec.wav")
	rec := exec.Command("pw-record", "--target", "sepd-noise", "--channels", "1", "--format", "f32", "--rate", fmt.Sprint(liveRate), recFile)
	var recLog strings.Builder
	rec.Stdout, rec.Stderr = &recLog, &recLog
	if err := rec.Start(); err != nil {
		t.Fatalf("pw-record: %v", err)
	}
	time.Sleep(500 * time.Millisecond) // pw-record connects

	sig := float32s(mix[0])
	if os.Getenv("SEPD_PW_DEBUG_DIR") != "" {
		go func() {
			time.Sleep(1500 * time.Millisecond)
			out, _ := exec.Command("jack_lsp", "-c").CombinedOutput()
			t.Logf("connections while the helper runs:\n%s", out)
		}()
	}
	before := xruns(t, scrape(t, addr))
	stopWatch, err := jacktest.WatchPipeWire()
	if err != nil {
		t.Fatal(err)
	}
	res, err := jacktest.Run(context.Background(), jacktest.Config{
		Target: client, RecordFrom: "sepd voice", Signal: [][]float32{sig},
		RecordChannels: 1, RecordFrames: len(sig) + liveRate,
		SampleRateHz: liveRate, FramesPerBuffer: livePeriod,
		LeadIn: 250 * time.Millisecond, // see audio's pwLeadIn
	})
	if err != nil {
		t.Fatalf("%v\nsepd's log:\n%s", err, d.logText())
	}
	time.Sleep(300 * time.Millisecond)
	rec.Process.Signal(syscall.SIGINT)
	if err := rec.Wait(); err != nil {
		t.Logf("pw-record: %v (%s)", err, recLog.String())
	}
	during := xruns(t, scrape(t, addr)).Sub(before)
	graph, err := stopWatch()
	if err != nil {
		t.Fatal(err)
	}
	// sepd's own xruns are counted; PipeWire's (late graph cycles, which it
	// tells its clients nothing of; see jacktest.WatchPipeWire) are server
	// xruns where they hit the recording.
	counted := int(during.Own())
	graphXruns := graph.Frames(res, jacktest.HelperClient)
	t.Logf("late graph cycles %d of %d, %d in the helper's graph during its run, at frames %v", len(graph.Late), graph.Cycles, len(graphXruns), graphXruns)
	// pw-record's recording has no helper clock to place them in: there they
	// are counted, as sepd's own are.
	countedRecord := counted + len(graph.Late)
	expect := func(want []float32, maxLag, counted int) jacktest.Expect {
		return jacktest.Expect{
			Want: [][][]float32{{want}}, Tol: liveTol, MaxLag: maxLag, Slack: 4 * livePeriod,
			Excuse: liveExcuse(1024), Recover: liveRecover(1024, 256), Counted: counted,
		}
	}
	rms := func(x []float32) float64 {
		var s float64
		for _, v := range x {
			s += float64(v) * float64(v)
		}
		return s / float64(max(1, len(x)))
	}
	t.Logf("mean squares: voice ref %.3g, recorded %.3g; noise ref %.3g", rms(ref["voice"]), rms(res.Recording[0]), rms(ref["noise"]))
	if out, err := exec.Command("jack_lsp", "-c").CombinedOutput(); err == nil {
		t.Logf("connections:\n%s", out)
	}
	if dbg := os.Getenv("SEPD_PW_DEBUG_DIR"); dbg != "" {
		writeFloatWAV(t, filepath.Join(dbg, "voice-rec.wav"), float64s(res.Recording[0]))
		writeFloatWAV(t, filepath.Join(dbg, "voice-ref.wav"), float64s(ref["voice"]))
		writeFloatWAV(t, filepath.Join(dbg, "noise-ref.wav"), float64s(ref["noise"]))
		copyFile(t, recFile, filepath.Join(dbg, "noise-rec.wav"))
	}
	v := jacktest.Judge(res.Recording, append(slices.Clone(res.XrunFrames), graphXruns...), expect(ref["voice"], liveMaxLag, counted))
	t.Logf("voice, recorded from the node by a JACK client: %v; sepd's xruns %v; late graph cycles at frames %v", v, during, graphXruns)
	if !v.OK() {
		t.Errorf("the voice microphone is not sepd separate's voice to %g: %v\nsepd's log:\n%s", liveTol, v, d.logText())
	}
	y, _, err := audio.ReadAll(recFile)
	if err != nil {
		t.Fatalf("pw-record's file: %v (%s)", err, recLog.String())
	}
	// pw-record started before the mixture: allow its whole length as lag.
	// pw-record is an ordinary (not real-time) PipeWire stream: on this busy
	// 2-core machine it has dropped whole quanta of its own (seen: twice 256
	// frames in 3.5 s, the lag stepping 26368, 26112, 25856, while the JACK
	// client's recording of the voice, from the same sepd at the same time,
	// had none). So its recording must hold every frame it has to 1e-4, and
	// where it breaks, only whole quanta may be missing: no frame may differ.
	vn := jacktest.Judge([][]float32{float32s(y[0])}, nil, expect(ref["noise"], len(y[0]), countedRecord))
	t.Logf("noise, recorded from the node by pw-record (%d frames): %v", len(y[0]), vn)
	dropped := 0
	for i := 1; i < len(vn.Segments); i++ {
		if d := vn.Segments[i-1].Lag - vn.Segments[i].Lag; d > 0 && d%pwQuantum == 0 {
			dropped += d
		}
	}
	clean := len(vn.Segments) > 0 && vn.Matched+dropped >= len(ref["noise"])
	for _, g := range vn.Glitches {
		clean = clean && g.Frames == 0
	}
	if !vn.OK() && !clean {
		t.Errorf("the noise microphone, as pw-record records it, is not sepd separate's noise to %g but for whole quanta the recorder dropped: %v", liveTol, vn)
	}
	d.cmd.Process.Signal(os.Interrupt)
	if code := d.wait(t, 10*time.Second); code != 0 {
		t.Errorf("exit status %d after SIGINT; log:\n%s", code, d.logText())
	}
}

func float64s(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}
