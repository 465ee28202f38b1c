package audio

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/gordonklaus/portaudio"
)

// fakeStream is a stream with no PortAudio behind it: the tests call its
// callbacks by hand, as PortAudio's audio thread would.
func fakeStream(t *testing.T, input bool, cfg StreamConfig) *stream {
	t.Helper()
	cfg, err := cfg.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return newStream(cfg, input, DeviceInfo{Name: "fake"})
}

func fakeCapture(t *testing.T, cfg StreamConfig) (*Capture, *stream) {
	s := fakeStream(t, true, cfg)
	return newCapture(s), s
}

func fakePlayback(t *testing.T, cfg StreamConfig) (*Playback, *stream) {
	s := fakeStream(t, false, cfg)
	return newPlayback(s), s
}

func TestCaptureCallbackToRead(t *testing.T) {
	c, s := fakeCapture(t, StreamConfig{Channels: 2, SampleRateHz: 48000, FramesPerBuffer: 4, RingFrames: 8})
	// Three callbacks of 4 frames into an 8-frame ring: the first 4 frames are dropped.
	for k := range 3 {
		in := make([]float32, 8)
		for i := range 4 {
			in[2*i], in[2*i+1] = float32(4*k+i), -float32(4*k+i)
		}
		s.captureCallback(in, portaudio.StreamCallbackTimeInfo{}, 0)
	}
	s.captureCallback(nil, portaudio.StreamCallbackTimeInfo{}, portaudio.InputOverflow)
	if got := s.xruns.Snapshot(); got[RingOverrun] != 1 || got[InputOverflow] != 1 {
		t.Errorf("xruns %v, want ring_overrun=1 input_overflow=1", got)
	}
	dst := [][]float64{make([]float64, 8), make([]float64, 8)}
	if n, err := c.Read(dst); n != 8 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	for i := range 8 {
		if dst[0][i] != float64(4+i) || dst[1][i] != -float64(4+i) {
			t.Fatalf("frame %d = (%v, %v), want (%d, %d)", i, dst[0][i], dst[1][i], 4+i, -(4 + i))
		}
	}
	// A Read that waits: a later callback wakes it.
	go func() {
		time.Sleep(10 * time.Millisecond)
		s.captureCallback([]float32{1, 2, 3, 4}, portaudio.StreamCallbackTimeInfo{}, 0)
	}()
	small := [][]float64{make([]float64, 2), make([]float64, 2)}
	if n, err := c.Read(small); n != 2 || err != nil || small[1][1] != 4 {
		t.Fatalf("Read = %d, %v, %v", n, err, small)
	}
	// ctx, stall and close end a waiting Read.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := c.ReadContext(ctx, small); err != context.DeadlineExceeded {
		t.Errorf("ReadContext = %v, want DeadlineExceeded", err)
	}
	close(s.stalled)
	if _, err := c.Read(small); !errors.Is(err, ErrStalled) {
		t.Errorf("Read after stall = %v, want ErrStalled", err)
	}
	close(c.closed)
	if _, err := c.Read(small); err != io.EOF {
		t.Errorf("Read after close = %v, want io.EOF", err)
	}
}

func TestCaptureNoAllocs(t *testing.T) {
	c, s := fakeCapture(t, StreamConfig{Channels: 2, SampleRateHz: 48000, FramesPerBuffer: 256})
	in := make([]float32, 2*256)
	dst := [][]float64{make([]float64, 256), make([]float64, 256)}
	allocs := testing.AllocsPerRun(100, func() {
		s.captureCallback(in, portaudio.StreamCallbackTimeInfo{}, 0)
		c.Read(dst)
	})
	if allocs != 0 {
		t.Errorf("capture callback + Read allocate %v times per block, want 0", allocs)
	}
}

func TestPlaybackWriters(t *testing.T) {
	// A 3-channel device: "voice" on channel 2, "noise" on channels 0 and 1,
	// "click" mixed into channel 0.
	p, s := fakePlayback(t, StreamConfig{Channels: 3, SampleRateHz: 48000, FramesPerBuffer: 4, PrefillFrames: 4, RingFrames: 16})
	voice, err := p.Writer(2)
	if err != nil {
		t.Fatal(err)
	}
	noise, _ := p.Writer(0, 1)
	click, _ := p.Writer(0)
	for _, bad := range [][]int{{}, {3}, {-1}, {1, 1}} {
		if _, err := p.Writer(bad...); err == nil {
			t.Errorf("Writer(%v) succeeded", bad)
		}
	}
	out := make([]float32, 3*4)
	play := func() []float32 {
		s.playbackCallback(out, portaudio.StreamCallbackTimeInfo{}, 0)
		return append([]float32(nil), out...)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(voice.Write([][]float64{{1, 2, 3, 4, 5, 6}}))
	must(noise.Write([][]float64{{10, 20, 30, 40}, {-10, -20, -30, -40}}))
	if s.ring.Len() != 0 {
		t.Fatalf("ring holds %d frames before every writer wrote", s.ring.Len())
	}
	must(click.Write([][]float64{{0.5, 0, 0, 0.5, 0}}))
	// Committed: 4 frames (the slowest writer, noise). Prefill 4 reached.
	want := []float32{10.5, -10, 1, 20, -20, 2, 30, -30, 3, 40.5, -40, 4}
	if got := play(); !equal(got, want) {
		t.Fatalf("played %v, want %v", got, want)
	}
	if got := play(); !equal(got, make([]float32, 12)) || s.xruns.Load(RingUnderrun) != 1 {
		t.Fatalf("underrun played %v (underruns %d), want silence and 1", got, s.xruns.Load(RingUnderrun))
	}
	// Remove noise: voice (2 ahead) and click (1 ahead) hold the rest back to 1 frame.
	noise.Remove()
	if s.ring.Len() != 1 {
		t.Fatalf("ring holds %d frames after Remove, want 1", s.ring.Len())
	}
	// Re-priming after the underrun: silence until 4 frames are there.
	if got := play(); !equal(got, make([]float32, 12)) {
		t.Fatalf("played %v before the prefill, want silence", got)
	}
	// A writer running ahead by more than the ring holds is an error.
	if err := voice.Write([][]float64{make([]float64, 16)}); err == nil {
		t.Error("a writer 18 frames ahead of another (ring 16) was accepted")
	}
	close(s.stalled)
	if err := voice.Write([][]float64{{1}}); !errors.Is(err, ErrStalled) {
		t.Errorf("Write after stall: %v, want ErrStalled", err)
	}
	close(p.closed)
	if err := voice.Write([][]float64{{1}}); err != io.EOF {
		t.Errorf("Write after close: %v, want io.EOF", err)
	}
}

func TestPlaybackOverrunAndDrainFlush(t *testing.T) {
	p, s := fakePlayback(t, StreamConfig{Channels: 1, SampleRateHz: 48000, FramesPerBuffer: 4, RingFrames: 8})
	w, _ := p.Writer(0)
	if err := w.Write([][]float64{make([]float64, 6)}); err != nil {
		t.Fatal(err)
	}
	if err := w.Write([][]float64{make([]float64, 6)}); err != nil {
		t.Fatal(err)
	}
	if got := s.xruns.Load(RingOverrun); got != 1 {
		t.Errorf("%d ring overruns, want 1 (12 frames into 8)", got)
	}
	// Drain plays what is left even below the prefill (8 frames here).
	s.ring.Discard(5)
	done := make(chan error)
	go func() { done <- p.Drain(context.Background()) }()
	out := make([]float32, 4)
	for s.ring.Len() > 0 {
		s.playbackCallback(out, portaudio.StreamCallbackTimeInfo{}, 0)
		time.Sleep(time.Millisecond)
	}
	if err := <-done; err != nil {
		t.Errorf("Drain: %v", err)
	}
	if got := s.xruns.Load(RingUnderrun); got != 0 {
		t.Errorf("draining counted %d underruns, want 0", got)
	}
}

func TestPlaybackNoAllocs(t *testing.T) {
	p, s := fakePlayback(t, StreamConfig{Channels: 2, SampleRateHz: 48000, FramesPerBuffer: 256, PrefillFrames: 256})
	a, _ := p.Writer(0)
	b, _ := p.Writer(1)
	src := [][]float64{make([]float64, 256)}
	out := make([]float32, 2*256)
	allocs := testing.AllocsPerRun(100, func() {
		a.Write(src)
		b.Write(src)
		s.playbackCallback(out, portaudio.StreamCallbackTimeInfo{}, 0)
	})
	if allocs != 0 {
		t.Errorf("two writers + playback callback allocate %v times per block, want 0", allocs)
	}
}

func TestStreamConfigDefaults(t *testing.T) {
	c, err := StreamConfig{Device: "x", Channels: 1, SampleRateHz: 48000}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	// 256 frames per buffer; ring 16 buffers; prefill 2 buffers; stall after
	// max(250 ms, 8 buffers = 42.7 ms).
	if c.FramesPerBuffer != 256 || c.RingFrames != 4096 || c.PrefillFrames != 512 || c.StallTimeout != 250*time.Millisecond || c.Xruns == nil {
		t.Errorf("defaults %+v", c)
	}
	for _, bad := range []StreamConfig{
		{Channels: 0, SampleRateHz: 48000}, {Channels: 1}, {Channels: 1, SampleRateHz: 48000, FramesPerBuffer: -1},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestWatchdog drives the watchdog with a clock of its own (no sleeping, so
// that a loaded machine cannot make it fail): ticks every 5 ms (StallTimeout
// / 8) with a callback between each keep it quiet; once the callbacks stop,
// it reports a stall when StallTimeout (40 ms) has passed since the tick that
// saw the last callback, not before. Which tick saw it is known to a tick:
// the test cannot tell when the watchdog has finished handling the tick it
// took last, so the last callback is seen by the tick after it (T) or, when
// the handling of the tick before was still loading the count, by that one
// (T - 5 ms). So: no stall up to T + 30 ms, a stall by T + 40 ms.
func TestWatchdog(t *testing.T) {
	s := fakeStream(t, true, StreamConfig{Channels: 1, SampleRateHz: 48000, StallTimeout: 40 * time.Millisecond})
	ticks := make(chan time.Time)
	done := make(chan struct{})
	t0 := time.Unix(1000, 0)
	go func() { s.watchTicks(ticks, t0); close(done) }()
	now := t0
	// tick hands the watchdog the time 5 ms on; false if it has ended. The
	// handoff is unbuffered: a tick taken means the one before it was
	// handled.
	tick := func() bool {
		now = now.Add(5 * time.Millisecond)
		select {
		case ticks <- now:
			return true
		case <-done:
			return false
		}
	}
	for range 20 { // 100 ms of callbacks
		s.callbacks.Add(1)
		if !tick() {
			t.Fatal("stalled while callbacks ran")
		}
	}
	seen := now // T
	for now.Sub(seen) < 35*time.Millisecond {
		if !tick() { // up to T + 35 ms: the one at 35 ms is taken, so the one at 30 ms was handled
			t.Fatalf("stalled %v after the last callback was seen, before the timeout (40 ms)", now.Sub(seen)-5*time.Millisecond)
		}
	}
	tick() // T + 40 ms: taken, or the watchdog already stopped at T + 35 ms
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the watchdog went on 40 ms after the last callback was seen")
	}
	if !s.isStalled() {
		t.Fatal("the watchdog ended without reporting a stall")
	}
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestHostPeriod: the period is the frames of the callbacks that share the
// host's time (PortAudio's JACK host splits a period longer than 1024 frames
// into callbacks of 1024 with one CurrentTime; see hostPeriod): a longer
// period is seen within its first buffer, a shorter one after one buffer,
// and a host that gives no time has one callback per buffer, as has every
// host API but JACK.
func TestHostPeriod(t *testing.T) {
	for _, input := range []bool{true, false} {
		cfg, err := StreamConfig{Channels: 1, SampleRateHz: 48000, FramesPerBuffer: 256, FollowHost: true}.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		s := newStream(cfg, input, DeviceInfo{Name: "system", HostAPIType: "JACK"})
		call := func(n int, now time.Duration) {
			ti := portaudio.StreamCallbackTimeInfo{CurrentTime: now}
			if input {
				s.captureCallback(make([]float32, n), ti, 0)
			} else {
				s.playbackCallback(make([]float32, n), ti, 0)
			}
		}
		type step struct {
			n    int
			now  time.Duration
			want int
		}
		const ms = time.Millisecond
		for i, c := range []step{
			// A 4096-frame period in four callbacks, twice.
			{1024, 10 * ms, 1024}, {1024, 10 * ms, 2048}, {1024, 10 * ms, 3072}, {1024, 10 * ms, 4096},
			{1024, 95 * ms, 4096}, {1024, 95 * ms, 4096}, {1024, 95 * ms, 4096}, {1024, 95 * ms, 4096},
			// The server's period becomes 256: seen once a 256-frame buffer is whole.
			{256, 180 * ms, 4096}, {256, 185 * ms, 256}, {256, 191 * ms, 256},
			// ... and 2048, in two callbacks: seen at once.
			{1024, 196 * ms, 1024}, {1024, 196 * ms, 2048}, {1024, 239 * ms, 2048},
			// No time from the host: one callback per buffer.
			{512, 0, 512}, {128, 0, 128},
		} {
			call(c.n, c.now)
			if got := int(s.period.Load()); got != c.want {
				t.Errorf("input %v, callback %d (%d frames at %v): period %d, want %d", input, i, c.n, c.now, got, c.want)
			}
		}
	}
}

// TestHostPeriodNotJACK: on another host API the period is the largest
// wake-up (callbacks sharing a time), held for peakHold seconds, so the split
// of PipeWire's 1024-frame quanta into callbacks (the ALSA plugin's, measured
// at 30 ms of device latency) reads as 1024 throughout, and a smaller quantum
// is followed once peakHold seconds of it have passed.
func TestHostPeriodNotJACK(t *testing.T) {
	s := fakeStream(t, true, StreamConfig{Channels: 1, SampleRateHz: 48000, FramesPerBuffer: 256, FollowHost: true})
	if s.info.Device.HostAPIType == "JACK" {
		t.Fatal("fakeStream's device is a JACK one")
	}
	now := time.Second
	wake := func(split ...int) {
		now += 21333 * time.Microsecond
		for _, n := range split {
			s.captureCallback(make([]float32, n), portaudio.StreamCallbackTimeInfo{CurrentTime: now}, 0)
		}
	}
	wake(360, 24, 360, 280)
	for i := range 10 * peakHold * 48000 / 1024 {
		wake([][]int{{360, 360, 304}, {136, 360, 360, 168}, {600, 424}, {32, 600, 392}}[i%4]...)
		if got := int(s.period.Load()); got != 1024 {
			t.Fatalf("wake-up %d of 1024 frames in several callbacks: period %d, want 1024", i, got)
		}
	}
	hold := peakHold * 48000 / 512 // wake-ups of 512 frames in peakHold seconds
	for i := range hold + 2 {
		wake(256, 256)
		want := 1024
		if i > hold {
			want = 512
		}
		if got := int(s.period.Load()); got != want {
			t.Fatalf("wake-up %d of 512 frames after 1024s: period %d, want %d", i, got, want)
		}
	}
}

// TestHostPeriodNotJACKTimes: the ALSA host's callbacks of one wake-up may
// differ in time by a fraction of a millisecond (measured at quantum 4096
// with a 139 ms buffer: 1668, 1668 and 760 frames within 0.4 ms), and are one
// wake-up still; callbacks a period apart are not, however small (quantum
// 64: 64 frames every 1.33 ms).
func TestHostPeriodNotJACKTimes(t *testing.T) {
	for _, c := range []struct {
		name    string
		split   []int
		offsets []time.Duration // of each callback from the wake-up's start
		every   time.Duration
		want    int
	}{
		{"quantum 4096", []int{1668, 1668, 760}, []time.Duration{0, 400 * time.Microsecond, 420 * time.Microsecond}, 85333 * time.Microsecond, 4096},
		{"quantum 64", []int{64}, []time.Duration{0}, 1333 * time.Microsecond, 64},
	} {
		s := fakeStream(t, true, StreamConfig{Channels: 1, SampleRateHz: 48000, FramesPerBuffer: 256, FollowHost: true})
		start := time.Second
		for i := range 20 {
			for j, n := range c.split {
				s.captureCallback(make([]float32, n), portaudio.StreamCallbackTimeInfo{CurrentTime: start + c.offsets[j]}, 0)
			}
			if got := int(s.period.Load()); i > 0 && got != c.want {
				t.Fatalf("%s, wake-up %d: period %d, want %d", c.name, i, got, c.want)
			}
			start += c.every
		}
	}
}

func TestNearPow2(t *testing.T) {
	for n, want := range map[int]int{1: 1, 2: 2, 3: 4, 95: 64, 190: 128, 1024: 1024, 1100: 1024, 1535: 1024, 1536: 2048, 4096: 4096, 4097: 4096} {
		if got := nearPow2(n); got != want {
			t.Errorf("nearPow2(%d) = %d, want %d", n, got, want)
		}
	}
}
