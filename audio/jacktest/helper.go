package jacktest

import (
	"encoding/json"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/gordonklaus/portaudio"
	"golang.org/x/sys/unix"
)

// HelperMain is the main function of the helper program
// (audio/jacktest/cmd/jacktest-helper), which Run starts: it runs the job named
// by the environment and exits. (It cannot run in the test binary itself: a
// PortAudio callback calls into Go, and cgo callbacks wait until every package
// init function has returned, so a helper in an init function deadlocks, and
// after init the test binary would run its tests.)
func HelperMain() {
	jobFile := os.Getenv(helperEnv)
	if jobFile == "" {
		fmt.Fprintln(os.Stderr, "jacktest-helper: run by jacktest.Run, which sets "+helperEnv)
		os.Exit(2)
	}
	var hr helperResult
	code := 0
	if err := helper(jobFile, &hr); err != nil {
		hr.Err = err.Error()
		code = 1
	}
	var j job
	if b, err := os.ReadFile(jobFile); err == nil && json.Unmarshal(b, &j) == nil {
		b, _ := json.Marshal(hr)
		os.WriteFile(j.ResultFile, b, 0o600)
	}
	os.Exit(code)
}

// xrunTail is how many periods the helper runs past the signal.
const xrunTail = 8

func helper(jobFile string, hr *helperResult) error {
	b, err := os.ReadFile(jobFile)
	if err != nil {
		return err
	}
	var j job
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	sig, err := readF32(j.SignalFile)
	if err != nil {
		return err
	}
	step := func(msg string, args ...any) {
		fmt.Fprintf(os.Stderr, "jacktest helper: "+msg+"\n", args...)
	}
	step("initializing PortAudio")
	if err := setClientName(); err != nil {
		return err
	}
	if err := portaudio.Initialize(); err != nil {
		return fmt.Errorf("initializing PortAudio: %w", err)
	}
	defer portaudio.Terminate()
	jack, err := portaudio.HostApi(portaudio.JACK)
	if err != nil {
		return fmt.Errorf("no JACK host API (is the server %q running?): %w", os.Getenv("JACK_DEFAULT_SERVER"), err)
	}
	if j.RecordFrom == "" {
		j.RecordFrom = j.Target
	}
	var dev, from *portaudio.DeviceInfo
	var names []string
	for _, d := range jack.Devices {
		names = append(names, fmt.Sprintf("%q (%d in, %d out)", d.Name, d.MaxInputChannels, d.MaxOutputChannels))
		if d.Name == j.Target {
			dev = d
		}
		if d.Name == j.RecordFrom {
			from = d
		}
	}
	if dev == nil {
		return fmt.Errorf("no JACK client %q; clients with ports: %v", j.Target, names)
	}
	if from == nil {
		return fmt.Errorf("no JACK client %q to record from; clients with ports: %v", j.RecordFrom, names)
	}
	p := portaudio.StreamParameters{SampleRate: float64(j.SampleRateHz), FramesPerBuffer: j.FramesPerBuffer}
	if j.SignalChannels > 0 {
		p.Output = portaudio.StreamDeviceParameters{Device: dev, Channels: j.SignalChannels, Latency: dev.DefaultLowOutputLatency}
	}
	if j.RecordChannels > 0 {
		p.Input = portaudio.StreamDeviceParameters{Device: from, Channels: j.RecordChannels, Latency: from.DefaultLowInputLatency}
	}
	rec := make([]float32, j.RecordFrames*j.RecordChannels)
	var pos int // frames done; only the callback touches it until done is closed
	var xruns atomic.Int64
	// The frames of the flagged callbacks; only the callback appends (into
	// room made here: a callback should not allocate) until done is closed.
	xrunFrames := make([]int, 0, 4096)
	// When each callback began (CLOCK_MONOTONIC, the clock of PipeWire's
	// profiler) and at which frame: see Result.FrameAt. Room for every callback of
	// the run and as many again (a host may split its buffers).
	calls := 2*max(j.RecordFrames, j.SignalFrames)/max(j.FramesPerBuffer, 1) + 64
	clockFrames, clockNanos := make([]int, 0, calls), make([]int64, 0, calls)
	done := make(chan struct{})
	var finished atomic.Bool
	lead := j.LeadInFrames // only the callback touches it
	cb := func(in, out []float32, _ portaudio.StreamCallbackTimeInfo, flags portaudio.StreamCallbackFlags) {
		if finished.Load() {
			clear(out)
			return
		}
		if lead > 0 {
			// The lead-in: silence, not recorded (see Config.LeadIn).
			clear(out)
			if j.SignalChannels > 0 {
				lead -= len(out) / j.SignalChannels
			} else {
				lead -= len(in) / j.RecordChannels
			}
			return
		}
		if len(clockFrames) < cap(clockFrames) {
			var ts unix.Timespec
			if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) == nil {
				clockFrames, clockNanos = append(clockFrames, pos), append(clockNanos, ts.Nano())
			}
		}
		if flags&(portaudio.InputOverflow|portaudio.OutputUnderflow|portaudio.InputUnderflow|portaudio.OutputOverflow) != 0 {
			xruns.Add(1)
			if len(xrunFrames) < cap(xrunFrames) {
				xrunFrames = append(xrunFrames, pos)
			}
		}
		var n int
		if j.SignalChannels > 0 {
			n = len(out) / j.SignalChannels
			k := copy(out, sig[min(pos*j.SignalChannels, len(sig)):])
			clear(out[k:])
		} else {
			n = len(in) / j.RecordChannels
		}
		if j.RecordChannels > 0 {
			copy(rec[min(pos*j.RecordChannels, len(rec)):], in)
		}
		pos += n
		// Past the signal it runs a few periods more, so that a server xrun
		// during its last periods is still reported (PortAudio flags the
		// callback after JACK's notification).
		if pos >= j.RecordFrames && pos >= j.SignalFrames+xrunTail*j.FramesPerBuffer {
			finished.Store(true)
			close(done)
		}
	}
	step("opening %d out on %q, %d in from %q", j.SignalChannels, j.Target, j.RecordChannels, j.RecordFrom)
	s, err := portaudio.OpenStream(p, cb)
	if err != nil {
		return fmt.Errorf("opening a duplex stream on %q: %w", j.Target, err)
	}
	defer s.Close()
	step("starting")
	if err := s.Start(); err != nil {
		return fmt.Errorf("starting the stream on %q: %w", j.Target, err)
	}
	step("started")
	// A server starved of CPU runs slower than the wall clock (seen beside
	// two busy loops: 61.8 s of audio in more than 67 s), so the stream gets
	// a quarter more than its length, and 5 s.
	want := max(j.RecordFrames, j.SignalFrames+xrunTail*j.FramesPerBuffer)
	total := time.Duration(want+j.LeadInFrames) * time.Second / time.Duration(j.SampleRateHz)
	limit := total + total/4 + 5*time.Second
	select {
	case <-done:
	case <-time.After(limit):
		return fmt.Errorf("the stream on %q ran %d of %d frames in %v", j.Target, pos, want, limit)
	}
	if err := s.Stop(); err != nil {
		return fmt.Errorf("stopping: %w", err)
	}
	hr.XrunCallbacks = int(xruns.Load())
	hr.XrunFrames = xrunFrames
	hr.ClockFrames, hr.ClockNanos = clockFrames, clockNanos
	return writeF32(j.RecordFile, rec)
}
