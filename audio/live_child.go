package audio

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sepd/sepd/audio/internal/normal"
)

// The bridge process as the daemon side sees it: starting it, the goroutines
// that relay its pipes, stopping it, and the tail of its log kept for errors.

// liveChild is one bridge process and the goroutines that serve it.
type liveChild struct {
	l       *Live
	cmd     *exec.Cmd
	stdin   *os.File // parent ends of the pipes
	stdout  *os.File
	ctl     *os.File
	stderr  *os.File
	ready   bridgeMsg
	lastCtl atomic.Int64
	tail    lineTail

	first      chan bridgeMsg // capacity 1: "ready" or the open error
	exited     chan struct{}  // closed after Wait; waitErr is set
	waitErr    error
	dead       chan struct{} // closed by die
	deadOnce   sync.Once
	reason     string
	ctlDone    chan struct{}
	errDone    chan struct{}
	readerDone chan struct{} // nil until startRelays, or without capture
	writerDone chan struct{} // nil until startRelays, or without playback
	stopOnce   sync.Once
}

// deathReason is why the child is dead, with its exit status when it exits
// within 200 ms (a dying child's pipes often close before it is reaped).
func (c *liveChild) deathReason() string {
	select {
	case <-c.exited:
	case <-time.After(200 * time.Millisecond):
		return c.reason
	}
	st := "exit status 0"
	if c.waitErr != nil {
		st = c.waitErr.Error()
	}
	return c.reason + " (" + st + ")"
}

func (c *liveChild) die(reason string) {
	c.deadOnce.Do(func() {
		c.reason = reason
		close(c.dead)
	})
}

// startChild starts a bridge and waits for its "ready".
func (l *Live) startChild(ctx context.Context) (*liveChild, error) {
	c := &liveChild{
		l: l, first: make(chan bridgeMsg, 1), exited: make(chan struct{}), dead: make(chan struct{}),
		ctlDone: make(chan struct{}), errDone: make(chan struct{}),
	}
	var files [8]*os.File // child and parent ends of four pipes
	for i := 0; i < 8; i += 2 {
		r, w, err := os.Pipe()
		if err != nil {
			for _, f := range files[:i] {
				f.Close()
			}
			return nil, fmt.Errorf("audio: live: pipe for the audio bridge: %w", err)
		}
		files[i], files[i+1] = r, w
	}
	inR, inW, outR, outW, ctlR, ctlW, errR, errW := files[0], files[1], files[2], files[3], files[4], files[5], files[6], files[7]
	c.cmd = exec.Command(l.argv[0], append(l.argv[1:len(l.argv):len(l.argv)], "--spec", string(l.spec))...)
	c.cmd.Stdin, c.cmd.Stdout, c.cmd.Stderr = inR, outW, errW
	c.cmd.ExtraFiles = []*os.File{ctlW}
	// Never let libjack start a server of its own: it would inherit the pipes.
	c.cmd.Env = append(os.Environ(), "JACK_NO_START_SERVER=1")
	// Its own process group: a terminal's Ctrl-C goes to the daemon only,
	// which then stops the bridge after draining the playback.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err := normal.Start(c.cmd) // not real-time, whatever this thread is (see normal)
	inR.Close()
	outW.Close()
	ctlW.Close()
	errW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		ctlR.Close()
		errR.Close()
		return nil, fmt.Errorf("audio: live: starting the audio bridge %q: %w", l.argv[0], err)
	}
	c.stdin, c.stdout, c.ctl, c.stderr = inW, outR, ctlR, errR
	c.lastCtl.Store(time.Now().UnixNano())
	go func() {
		err := c.cmd.Wait()
		c.waitErr = err
		close(c.exited)
		c.die("the audio bridge ended")
	}()
	go c.readStderr()
	go c.readControl()

	timeout := time.NewTimer(liveReadyTimeout)
	defer timeout.Stop()
	var fail error
	select {
	case c.ready = <-c.first:
	case <-c.dead:
		// Its exit may overtake its last control and log lines: read to the
		// end of both pipes.
		bound := time.After(time.Second)
		for _, done := range []chan struct{}{c.ctlDone, c.errDone, c.exited} {
			select {
			case <-done:
			case <-bound:
			}
		}
		select {
		case c.ready = <-c.first:
		default:
			fail = fmt.Errorf("audio: live: %s before opening the devices%s", c.deathReason(), c.tail.suffix())
		}
	case <-timeout.C:
		fail = fmt.Errorf("audio: live: the audio bridge did not open the devices within %v%s", liveReadyTimeout, c.tail.suffix())
	case <-ctx.Done():
		fail = fmt.Errorf("audio: live: starting the audio bridge: %w", ctx.Err())
	case <-l.closing:
		fail = io.EOF
	}
	if fail == nil && c.ready.Type == "error" {
		fail = newBridgeError(c.ready.Kind, c.ready.Error)
	}
	if fail != nil {
		c.stop()
		return nil, fail
	}
	return c, nil
}

// killWait bounds how long stop waits for a killed bridge to exit; a
// SIGKILLed process normally exits within milliseconds.
const killWait = 5 * time.Second

// stop kills the child (if it still runs), closes the pipes and waits for
// its goroutines. Idempotent.
func (c *liveChild) stop() {
	c.stopOnce.Do(func() {
		c.cmd.Process.Kill()
		select {
		case <-c.exited:
		case <-time.After(killWait):
			// A process in uninterruptible sleep (a driver stuck in
			// the kernel) outlives SIGKILL until it wakes. Waiting for
			// it would hang the daemon, which can go on without it: its
			// pipes are closed below, and the Wait goroutine reaps it
			// whenever it dies.
			c.l.cfg.Log.Error("the audio bridge did not exit after SIGKILL; going on without it",
				"pid", c.cmd.Process.Pid, "waited", killWait)
		}
		c.stdin.Close() // unblocks the writer
		// The readers reach the end of the pipes by themselves now (the
		// child's ends are closed), after its last lines; unless something
		// else holds them open.
		drained := time.After(500 * time.Millisecond)
		for _, done := range []chan struct{}{c.ctlDone, c.errDone, c.readerDone} {
			if done == nil {
				continue
			}
			select {
			case <-done:
			case <-drained:
			}
		}
		for _, f := range []*os.File{c.stdout, c.ctl, c.stderr} {
			f.Close() // unblocks the readers still reading
		}
		c.die("stopped")
		<-c.ctlDone
		<-c.errDone
		if c.readerDone != nil {
			<-c.readerDone
		}
		if c.writerDone != nil {
			<-c.writerDone
		}
	})
}

// startRelays starts the goroutines that move the audio.
func (c *liveChild) startRelays() {
	if c.l.in != nil {
		c.readerDone = make(chan struct{})
		go c.readCapture()
	}
	if c.l.out != nil {
		c.writerDone = make(chan struct{})
		go c.writePlayback()
	}
}

// readControl reads the child's control lines: hands the first ("ready" or
// an open error) to startChild, forwards xrun counts, and marks the child
// dead at a fatal error or the end of the pipe.
func (c *liveChild) readControl() {
	defer close(c.ctlDone)
	l := c.l
	var last XrunCounts
	first := true
	sc := bufio.NewScanner(c.ctl)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		c.lastCtl.Store(time.Now().UnixNano())
		var m bridgeMsg
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			c.die(fmt.Sprintf("the audio bridge sent a bad control line %q: %v", sc.Text(), err))
			return
		}
		switch {
		case m.Type == "xruns" && m.Xruns != nil:
			d := m.Xruns.Sub(last)
			for k, v := range d {
				if v > 0 && XrunKind(k) != Reconnect && v < 1<<63 {
					l.cfg.Xruns.Add(XrunKind(k), v)
				}
			}
			last = *m.Xruns
			if m.Lag != nil {
				l.lag.Store(*m.Lag)
			} else {
				l.lag.Store(-1)
			}
			if m.Timed != nil && *m.Timed >= 0 {
				l.timed.Store(*m.Timed)
			} else {
				l.timed.Store(-1)
			}
			if m.Period > 0 {
				l.followPeriod(m.Period)
			}
		case first && (m.Type == "ready" || m.Type == "error"):
			first = false
			c.first <- m
		case m.Type == "error":
			c.die("the audio bridge failed: " + m.Error)
		}
	}
	if err := sc.Err(); err != nil {
		c.die("control pipe: " + err.Error())
	}
	c.die("the audio bridge closed its control pipe")
}

// readStderr relays the child's stderr to the log (see lineTail).
func (c *liveChild) readStderr() {
	defer close(c.errDone)
	sc := bufio.NewScanner(c.stderr)
	for sc.Scan() {
		if s := sc.Text(); strings.TrimSpace(s) != "" && !strings.HasPrefix(s, "ALSA lib ") {
			c.tail.add(s)
		}
	}
}

// readCapture moves capture blocks from the child's stdout into l.in.
func (c *liveChild) readCapture() {
	defer close(c.readerDone)
	l := c.l
	raw := make([]byte, 4+4*l.block*l.inCh)
	stride := l.inCh + 1
	f := make([]float32, l.block*stride)
	for {
		if _, err := io.ReadFull(c.stdout, raw); err != nil {
			if err == io.EOF {
				c.die("the audio bridge closed its capture pipe")
			} else {
				c.die("capture pipe: " + err.Error())
			}
			return
		}
		tag := binary.LittleEndian.Uint32(raw)
		for i := range l.block {
			for c := range l.inCh {
				f[i*stride+c] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4+4*(i*l.inCh+c):]))
			}
			f[i*stride+l.inCh] = float32((tag + uint32(i)) % tagMod)
		}
		if l.in.WriteOverwrite(f) > 0 {
			l.cfg.Xruns.Inc(RingOverrun)
		}
		l.lastData.Store(time.Now().UnixNano())
		notify(l.inNote)
	}
}

// writePlayback moves whole blocks from l.out to the child's stdin; at Close
// it also sends the last partial block, padded with silence.
func (c *liveChild) writePlayback() {
	defer close(c.writerDone)
	l := c.l
	stride := l.outCh + 1
	f := make([]float32, l.block*stride)
	raw := make([]byte, 4*len(f))
	send := func(min int) bool {
		for l.out.Len() >= min {
			n := l.out.Read(f)
			if n == 0 {
				return true
			}
			clear(f[n*stride:])
			for i := n; i < l.block; i++ {
				f[i*stride+l.outCh] = -1 // padding at Close: no tag
			}
			for i, v := range f {
				binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
			}
			if _, err := c.stdin.Write(raw); err != nil {
				c.die("playback pipe: " + err.Error())
				return false
			}
		}
		return true
	}
	for {
		if !send(l.block) {
			return
		}
		select {
		case <-l.outNote:
		case <-c.dead:
			return
		case <-l.closing:
			send(1)
			return
		}
	}
}

// lineTail collects the child's stderr lines: until the child is ready it
// keeps the last few (for the error message if the start fails, or logged at
// Info once it succeeds); after that every line is logged at Warn.
type lineTail struct {
	mu    sync.Mutex
	lines []string
	log   *slog.Logger // set by goLive
	pid   int
}

const lineTailMax = 20

func (t *lineTail) add(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.log != nil {
		t.log.Warn("audio bridge says", "pid", t.pid, "line", s)
	}
	if len(t.lines) == lineTailMax {
		copy(t.lines, t.lines[1:])
		t.lines = t.lines[:lineTailMax-1]
	}
	t.lines = append(t.lines, s)
}

func (t *lineTail) goLive(log *slog.Logger, pid int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.lines {
		log.Info("audio bridge says", "pid", pid, "line", s)
	}
	t.log, t.pid = log, pid
}

// String returns the lines kept, joined by " | ".
func (t *lineTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, " | ")
}

// suffix is String for an error message: "; its log: ..." or "".
func (t *lineTail) suffix() string {
	if s := t.String(); s != "" {
		return "; its log: " + s
	}
	return ""
}
