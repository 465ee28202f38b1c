package audio

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"testing"
	"time"

	"github.com/gordonklaus/portaudio"
)

// TestXrunsMsg: the bridge's hand-written "xruns" line is what
// encoding/json makes of the same bridgeMsg, and sending it allocates
// nothing (it is sent every 250 ms for as long as the bridge runs).
func TestXrunsMsg(t *testing.T) {
	counts := XrunCounts{1, 0, 1 << 40, 3, 0, 7}
	for _, tc := range []struct {
		lag      int64
		hasLag   bool
		timed    int64
		hasTimed bool
		period   int
	}{
		{0, false, 0, false, 0}, {1024, true, 0, false, 256}, {-3, true, 4000, true, 0},
		{0, true, 0, true, 4096}, {0, false, 17, true, 64},
	} {
		m := bridgeMsg{Type: "xruns", Xruns: &counts, Period: tc.period}
		if tc.hasLag {
			m.Lag = &tc.lag
		}
		if tc.hasTimed {
			m.Timed = &tc.timed
		}
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, '\n')
		var got bytes.Buffer
		c := &ctlWriter{w: &got}
		if err := c.sendXruns(counts, tc.lag, tc.hasLag, tc.timed, tc.hasTimed, tc.period); err != nil {
			t.Fatal(err)
		}
		if got.String() != string(want) {
			t.Errorf("lag %d (%v), period %d: sent %q, encoding/json makes %q", tc.lag, tc.hasLag, tc.period, got.String(), want)
		}
		var back bridgeMsg
		if err := json.Unmarshal(got.Bytes(), &back); err != nil || back.Type != "xruns" || *back.Xruns != counts || back.Period != tc.period {
			t.Errorf("the line %q reads back as %+v, %v", got.String(), back, err)
		}
	}
	c := &ctlWriter{w: io.Discard, buf: make([]byte, 0, 256)}
	if n := testing.AllocsPerRun(100, func() { c.sendXruns(counts, 512, true, 3000, true, 1024) }); n != 0 {
		t.Errorf("sendXruns: %v allocations per line, want 0", n)
	}
}

// TestFollowHostPositions: with FollowHost the callbacks come in whatever
// size the host's period is, and change with it; the capture relay's tags
// are still the exact capture position of each block's first frame (every
// frame here holds its own position), and a playback primes at the prefill
// the period calls for.
func TestFollowHostPositions(t *testing.T) {
	const block = 256
	c, s := fakeCapture(t, StreamConfig{Channels: 1, SampleRateHz: 48000, FramesPerBuffer: block, FollowHost: true})
	if s.ring.Cap() < followRing {
		t.Fatalf("FollowHost ring %d frames, want at least %d", s.ring.Cap(), followRing)
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- relayCapture(c, pw, block) }()
	// The relay starts with a Flush, which may drop what the first
	// callbacks brought: the feeder goes on until the reader has seen
	// enough, and the tags may start anywhere, but must then be exact and
	// consecutive.
	periods := []int{64, 64, 128, 1024, 1024, 2048, 256, 4096, 64, 64, 64, 64}
	stop, fed := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(fed)
		pos := 0
		for {
			for _, p := range periods {
				select {
				case <-stop:
					return
				default:
				}
				for s.ring.Len() > 8192 { // the reader is behind
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
					}
				}
				in := make([]float32, p)
				for i := range in {
					in[i] = float32(pos + i)
				}
				pos += p
				s.captureCallback(in, portaudio.StreamCallbackTimeInfo{}, 0)
			}
		}
	}()
	buf := make([]byte, 4+4*block)
	next := -1
	for range 100 {
		if _, err := io.ReadFull(pr, buf); err != nil {
			t.Fatal(err)
		}
		tag := int(binary.LittleEndian.Uint32(buf))
		first := math.Float32frombits(binary.LittleEndian.Uint32(buf[4:]))
		if first+block != float32(tag) || (next >= 0 && tag != next) {
			t.Fatalf("a block tagged %d starts with the frame of position %v; want the tag %d (its end)", tag, first, next)
		}
		next = tag + block
	}
	close(stop)
	<-fed
	if got := s.period.Load(); got < 64 {
		t.Errorf("period %d after the callbacks, want one of theirs", got)
	}
	close(c.closed)
	pr.Close()
	<-done

	for _, tc := range []struct{ prefill, period, want int }{
		// the multiple of the period nearest to prefill + 2 (period -
		// block), at least prefill, in whole blocks (followPrefill)
		{1024, 64, 1024}, {1024, 256, 1024}, {1024, 512, 1536}, {1024, 1024, 3072}, {1280, 1024, 3072},
		{1024, 2048, 4096}, {1024, 4096, 8192}, {300, 64, 512}, {1000, 64, 1024},
	} {
		_, ps := fakePlayback(t, StreamConfig{Channels: 2, SampleRateHz: 48000, FramesPerBuffer: block, FollowHost: true, PrefillFrames: tc.prefill})
		if got := ps.prefill(tc.period); got != tc.want {
			t.Errorf("prefill %d at period %d: primes at %d, want %d", tc.prefill, tc.period, got, tc.want)
		}
		out := make([]float32, 2*tc.period)
		ps.ring.Write(make([]float32, 2*(tc.want-1)))
		ps.playbackCallback(out, portaudio.StreamCallbackTimeInfo{}, 0)
		if ps.primed.Load() {
			t.Errorf("prefill %d at period %d: primed with %d frames", tc.prefill, tc.period, tc.want-1)
		}
		ps.ring.Write(make([]float32, 2))
		ps.playbackCallback(out, portaudio.StreamCallbackTimeInfo{}, 0)
		if !ps.primed.Load() {
			t.Errorf("prefill %d at period %d: not primed with %d frames", tc.prefill, tc.period, tc.want)
		}
	}
}

// TestTimedLag: the lag timed by the streams' clocks is the time from a
// block's first frame at the input's converter to the same block's first
// frame at the output's, in frames, across the tags' wrap; unknown while a
// stream has given no time. Figures made by hand: the capture's frame 0 was
// at the ADC at t = 100 s, the playback's ring frame 0 is at the DAC at
// t = 100.5 s, 48 kHz.
func TestTimedLag(t *testing.T) {
	const rate = 48000
	capt := &stream{cfg: StreamConfig{SampleRateHz: rate}}
	play := &stream{cfg: StreamConfig{SampleRateHz: rate}}
	if _, ok := timedLag(capt, play, 0, 0); ok {
		t.Fatal("a lag with no clocks")
	}
	// The capture's callback at frame 96000 (2 s in) saw its first frame at
	// the ADC at 102 s; the playback's, reading ring frame 4800, will play
	// it at 100.6 s.
	capt.frames.Store(96000)
	capt.setClock(102*time.Second, 96000)
	if _, ok := timedLag(capt, play, 0, 0); ok {
		t.Fatal("a lag with no playback clock")
	}
	play.setClock(100600*time.Millisecond, 4800)
	for _, c := range []struct {
		captured uint64 // the capture position now
		first    int64  // the block's first frame, modulo tagMod
		pos      uint64 // its ring position
		want     float64
	}{
		// Frame 90000 at the ADC at 101.875 s; ring frame 96000 at the DAC
		// at 102.5 s: 0.625 s.
		{96000, 90000, 96000, 30000},
		{96000, 95744, 96000, 24256},
		// After the wrap: capture position tagMod + 1000, the block's
		// first frame 500 before it, given modulo tagMod.
		{tagMod + 1000, 500, tagMod + 1000 - 24000, 500},
	} {
		capt.frames.Store(c.captured)
		got, ok := timedLag(capt, play, c.first, c.pos)
		if !ok || math.Abs(got-c.want) > 1e-6 {
			t.Errorf("captured %d, first %d, ring position %d: lag %v (%v), want %v", c.captured, c.first, c.pos, got, ok, c.want)
		}
	}
	// A first frame before the capture began (position -100): no lag.
	capt.frames.Store(100)
	if v, ok := timedLag(capt, play, tagMod-100, 0); ok {
		t.Errorf("a block from before the start: lag %v", v)
	}
}

// TestLagMeterTimed: the timed lags of a report are averaged and rounded,
// and the meter starts over at each take; taking allocates nothing.
func TestLagMeterTimed(t *testing.T) {
	m := newLagMeter()
	if _, ok := m.takeTimed(); ok {
		t.Fatal("a timed lag before any")
	}
	for _, v := range []float64{1000.2, 1001.4, 1003.3} {
		m.observeTimed(v)
	}
	if v, ok := m.takeTimed(); !ok || v != 1002 { // 3004.9 / 3 = 1001.63
		t.Errorf("mean %d (%v), want 1002", v, ok)
	}
	if _, ok := m.takeTimed(); ok {
		t.Error("the meter did not start over")
	}
	if n := testing.AllocsPerRun(100, func() { m.observeTimed(5); m.takeTimed() }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
