package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/audio/jacktest"
)

// toolsRate and toolsPeriod are the JACK server of TestLiveToolsJACK: the
// rate of issue 13's report, at which jack-play's default converter is not
// exact (see the test).
const (
	toolsRate   = 16000
	toolsPeriod = 256
)

// TestLiveToolsJACK drives `sepd run` with the standard JACK tools a user
// reaches for, as issue 13 did: jack-play (jack-tools) plays a file into
// sepd's input port, jack_rec (jackd2's example clients) records both source
// outputs, at 16 kHz on a server of its own. The masks sum to one, so the
// sum of the recorded sources must be the file, delayed, to 1e-4 (liveTol),
// but where a server xrun or one of sepd's own explains a break
// (jacktest.Judge with Counted: neither tool reports where an xrun hit, so
// each counted xrun excuses one glitch anywhere). The tools start and connect
// at times that vary from run to run, so the delay is found by search.
//
// jack-play must run with -c 3 (libsamplerate's zero-order hold): jack-play
// always passes the file through libsamplerate, even when the file's rate
// is the server's (ratio 1), and its default converter, -c 2
// (SRC_SINC_FASTEST, a low-pass at 80% of the band), changes the signal.
// Measured at 16 kHz, jack-play straight into jack_rec, no sepd: with the
// default, 62% of the samples of the demo mixture within 1e-4 and up to 0.047
// off (peak 0.63); with -c 3 or -c 4 (linear), bit-exact. At 48 kHz the
// default only touches 42 samples of the resampled mixture (up to 0.0085 off),
// whose band ends at 8 kHz, far below the low-pass. jack_rec -b 32 (32-bit
// PCM WAV) keeps float samples to 2^-31; its default, -b 16, to 2^-16.
func TestLiveToolsJACK(t *testing.T) {
	shared := jackServer(t)
	for _, tool := range []string{"jack-play", "jack_rec", "jack_lsp", "jack_connect"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s: %v (scripts/dev setup test installs jack-tools and jackd2)", tool, err)
		}
	}
	mix := rateMix(t, toolsRate)
	server := rateServer(t, shared, toolsRate, toolsPeriod)
	dir := t.TempDir()
	voice, noise := liveBases(t, dir, 1024)
	jackEnv(t, server)
	t.Setenv("JACK_DEFAULT_SERVER", server)

	// What jack-play plays: half a second of silence on either side, so that
	// the start of the file is not lost while jack-play is being connected.
	pad := toolsRate / 2
	in := append(append(make([]float64, pad), mix...), make([]float64, pad)...)
	inFile := filepath.Join(dir, "in.wav")
	writeWAV(t, inFile, toolsRate, audio.Float32, in)

	addr := freePort(t)
	d, _, client := startLive(t, dir, fmt.Sprintf(rateLiveConfig, toolsRate, voice, noise, addr))
	d.waitRecord(t, "metrics", 10*time.Second) // logged after "running"
	before := xruns(t, scrape(t, addr))
	reconnects := len(d.recordsOf("audio devices reconnected"))

	// jack_rec records for whole seconds: the file and 2 s for the delay and
	// the connections.
	seconds := (len(in)+toolsRate-1)/toolsRate + 2
	recFile := filepath.Join(dir, "rec.wav")
	var recLog bytes.Buffer
	rec := exec.Command("jack_rec", "-f", recFile, "-d", fmt.Sprint(seconds), "-b", "32", client+":out_0", client+":out_1")
	rec.Stdout, rec.Stderr = &recLog, &recLog
	if err := rec.Start(); err != nil {
		t.Fatal(err)
	}
	defer rec.Process.Kill()
	waitFor(t, "jack_rec's ports connected", 10*time.Second, func() bool {
		out, _ := exec.Command("jack_lsp", "-c", "jackrec:input2").Output()
		return strings.Contains(string(out), client+":out_1")
	})
	var playLog bytes.Buffer
	play := exec.Command("jack-play", "-c", "3", inFile)
	play.Stdout, play.Stderr = &playLog, &playLog
	if err := play.Start(); err != nil {
		t.Fatal(err)
	}
	defer play.Process.Kill()
	// jack-play's client is jack-play-PID, its port out_1; it connects
	// nowhere by itself (JACK_PLAY_CONNECT_TO cannot name PortAudio's
	// 0-based ports), and plays from the moment it is active.
	port := fmt.Sprintf("jack-play-%d:out_1", play.Process.Pid)
	waitFor(t, "jack-play connected to sepd's input", 10*time.Second, func() bool {
		return exec.Command("jack_connect", port, client+":in_0").Run() == nil
	})
	if err := play.Wait(); err != nil {
		t.Fatalf("jack-play: %v\n%s", err, playLog.String())
	}
	if err := rec.Wait(); err != nil {
		t.Fatalf("jack_rec: %v\n%s", err, recLog.String())
	}
	time.Sleep(300 * time.Millisecond) // the bridge forwards its counts every 250 ms
	during := xruns(t, scrape(t, addr)).Sub(before)
	t.Logf("jack-play: %s; jack_rec: %s", strings.TrimSpace(playLog.String()), strings.TrimSpace(recLog.String()))

	y, f, err := audio.ReadAll(recFile)
	if err != nil {
		t.Fatal(err)
	}
	if f.SampleRateHz != toolsRate || f.Channels != 2 {
		t.Fatalf("jack_rec wrote %d Hz, %d channels", f.SampleRateHz, f.Channels)
	}
	sum := make([]float32, len(y[0]))
	for i := range sum {
		sum[i] = float32(y[0][i] + y[1][i])
	}
	nr, down := reconnectsSince(t, d, reconnects, toolsRate)
	v := jacktest.Judge([][]float32{sum}, nil, jacktest.Expect{
		Want: [][][]float32{{float32s(in)}}, Tol: liveTol, MaxLag: len(sum),
		Excuse: burstExcuse + down, Counted: int(during.Own()+during.Server()) + nr,
	})
	t.Logf("the sum of the sources recorded by jack_rec against the file jack-play played: %v; xruns %v", v, during)
	if !v.OK() {
		t.Fatalf("the sum of the sources is not the input to %g where no xrun explains it: %v\nsepd's log:\n%s", liveTol, v, d.logText())
	}
	if v.Matched < len(mix)/2 {
		t.Errorf("only %d of the mixture's %d frames matched", v.Matched, len(mix))
	}
	d.cmd.Process.Signal(os.Interrupt)
	if code := d.wait(t, 10*time.Second); code != 0 {
		t.Errorf("exit status %d after SIGINT; log:\n%s", code, d.logText())
	}
}
