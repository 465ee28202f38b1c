package audio_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/audio/jacktest"

	"github.com/sepd/sepd/audio/internal/normal"
)

// TestReopenJACK reopens live streams while the server is up (what the daemon
// does after a stall that was not the server's death): reading and writing go
// on, and a Reconnect is counted per stream.
func TestReopenJACK(t *testing.T) {
	jackServer(t)
	var x audio.Xruns
	cfg := audio.StreamConfig{Device: "system", Channels: 2, SampleRateHz: 48000, Xruns: &x}
	c, err := audio.OpenCapture(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := audio.OpenPlayback(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	w, err := p.Writer(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	buf := [][]float64{make([]float64, 256), make([]float64, 256)}
	for i := range 3 {
		if n, err := c.Read(buf); n != 256 || err != nil {
			t.Fatalf("round %d: Read = %d, %v", i, n, err)
		}
		if err := w.Write(buf); err != nil {
			t.Fatalf("round %d: Write: %v", i, err)
		}
		if i < 2 {
			if err := c.Reopen(); err != nil {
				t.Fatalf("round %d: capture Reopen: %v", i, err)
			}
			if err := p.Reopen(); err != nil {
				t.Fatalf("round %d: playback Reopen: %v", i, err)
			}
		}
	}
	if got := x.Load(audio.Reconnect); got != 4 {
		t.Errorf("%d reconnects counted, want 4", got)
	}
	if err := c.Close(); err != nil {
		t.Error(err)
	}
	if err := c.Reopen(); err != io.EOF {
		t.Errorf("Reopen after Close: %v, want io.EOF", err)
	}
	if n, err := c.Read(buf); n != 0 || err != io.EOF {
		t.Errorf("Read after Close = %d, %v; want 0 and io.EOF", n, err)
	}
}

// TestJACKRestart kills the JACK server under a process with open streams and
// starts it again. It uses a server of its own (SEPD_JACK + "-restart"), so
// that tests running beside it on the shared server do not notice, and child
// processes (this test binary, running TestJACKRestartChild), because the
// first process cannot reconnect: see audio.ErrRestartRequired.
func TestJACKRestart(t *testing.T) {
	base := jackServer(t)
	for _, how := range []string{"stop", "kill"} { // SIGTERM, SIGKILL (a crash)
		t.Run(how, func(t *testing.T) { testJACKRestart(t, base+"-restart", how) })
	}
}

func testJACKRestart(t *testing.T, name, how string) {
	jackd := jacktest.OwnServer(t, "../scripts/jackd", name)

	started := time.Now()
	lines, wait := startChild(t, name, "stall")
	// expect returns the child's next line, which must start with prefix, and
	// when it arrived.
	expect := func(prefix string, within time.Duration) (string, time.Time) {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok || !strings.HasPrefix(l, prefix) {
				t.Fatalf("child said %q (open %v), want %s...; its exit: %v", l, ok, prefix, wait())
			}
			return l, time.Now()
		case <-time.After(within):
			t.Fatalf("child said nothing in %v, want %s...", within, prefix)
		}
		return "", time.Time{}
	}
	_, ready := expect("READY", 10*time.Second)
	// How long this process takes to start and read audio from a server
	// that is up, on this machine now: the reopen below may take that, and
	// 2 s more.
	first := ready.Sub(started)
	stop := time.Now()
	jackd(how)
	stopped := time.Now()
	_, stalled := expect("STALLED", 2*time.Second)
	reopen, _ := expect("REOPEN", 3*time.Second)
	closed, _ := expect("CLOSED", 3*time.Second)
	if err := wait(); err != nil {
		t.Fatalf("stall child: %v", err)
	}
	t.Logf("`scripts/jackd %s` took %v; the stall was reported %v after it began; %s; %s",
		how, stopped.Sub(stop).Round(time.Millisecond), stalled.Sub(stop).Round(time.Millisecond), reopen, closed)
	if !strings.Contains(reopen, "restart required") {
		t.Errorf("want Reopen to report that a restart is required")
	}

	jackd("start")
	up := time.Now()
	lines, wait = startChild(t, name, "open")
	expect("READY", 5*time.Second)
	took := time.Since(up)
	if err := wait(); err != nil {
		t.Fatalf("open child: %v", err)
	}
	t.Logf("a new process read audio %v after the server was back (the first one %v after it was started)", took.Round(time.Millisecond), first.Round(time.Millisecond))
	if took > first+2*time.Second {
		t.Errorf("reopening in a new process took %v, want < 2 s more than the first start (%v)", took, first)
	}
}

// startChild runs TestJACKRestartChild in a new process on the server name
// and returns the lines it prints and a function that waits for its exit.
func startChild(t *testing.T, server, mode string) (<-chan string, func() error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestJACKRestartChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SEPD_JACK="+server, "SEPD_AUDIO_CHILD="+mode)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := normal.Start(cmd); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "CHILD ") {
				lines <- strings.TrimPrefix(l, "CHILD ")
			}
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	return lines, cmd.Wait
}

// TestJACKRestartChild is the child process of TestJACKRestart.
func TestJACKRestartChild(t *testing.T) {
	mode := os.Getenv("SEPD_AUDIO_CHILD")
	if mode == "" {
		t.Skip("run by TestJACKRestart")
	}
	say := func(format string, args ...any) { fmt.Printf("CHILD "+format+"\n", args...) }
	cfg := audio.StreamConfig{Device: "default", Channels: 1, SampleRateHz: 48000, StallTimeout: 250 * time.Millisecond}
	c, err := audio.OpenCapture(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := audio.OpenPlayback(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w, err := p.Writer(0)
	if err != nil {
		t.Fatal(err)
	}
	buf := [][]float64{make([]float64, 256)}
	if _, err := c.Read(buf); err != nil {
		t.Fatal(err)
	}
	say("READY")
	if mode == "open" {
		c.Close()
		p.Close()
		return
	}
	for {
		_, err := c.Read(buf)
		if err != nil {
			if !errors.Is(err, audio.ErrStalled) {
				t.Fatalf("Read: %v, want ErrStalled", err)
			}
			break
		}
		if err := w.Write(buf); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	<-p.Stalled()
	werr := w.Write(buf)
	say("STALLED capture and playback; Write: %v", werr)
	t0 := time.Now()
	cerr := c.Reopen()
	t1 := time.Now()
	perr := p.Reopen()
	_, lerr := audio.ListDevices()
	say("REOPEN capture in %v: %s; playback in %v: %s; ListDevices: %s", t1.Sub(t0).Round(time.Millisecond), verdict(cerr),
		time.Since(t1).Round(time.Millisecond), verdict(perr), verdict(lerr))
	t0 = time.Now()
	cerr, perr = c.Close(), p.Close()
	say("CLOSED in %v: %s; %s", time.Since(t0).Round(time.Millisecond), verdict(cerr), verdict(perr))
}

func verdict(err error) string {
	if errors.Is(err, audio.ErrRestartRequired) {
		return "restart required (" + err.Error() + ")"
	}
	return fmt.Sprint(err)
}

func TestJACKClientName(t *testing.T) {
	jackServer(t)
	if _, err := audio.JACKClientName(); err == nil {
		t.Error("JACKClientName with no stream open succeeded")
	}
	audio.SetJACKClientName("sepd-audio-test")
	defer audio.SetJACKClientName("PortAudio")
	c, err := audio.OpenCapture(audio.StreamConfig{Device: "system", Channels: 1, SampleRateHz: 48000})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// JACK appends "-01" and so on when the name is taken.
	if name, err := audio.JACKClientName(); err != nil || !strings.HasPrefix(name, "sepd-audio-test") {
		t.Errorf("JACKClientName = %q, %v; want sepd-audio-test...", name, err)
	}
}
