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
		lag    int64
		hasLag bool
		period int
	}{
		{0, false, 0}, {1024, true, 256}, {-3, true, 0}, {0, true, 4096}, {0, false, 64},
	} {
		m := bridgeMsg{Type: "xruns", Xruns: &counts, Period: tc.period}
		if tc.hasLag {
			m.Lag = &tc.lag
		}
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, '\n')
		var got bytes.Buffer
		c := &ctlWriter{w: &got}
		if err := c.sendXruns(counts, tc.lag, tc.hasLag, tc.period); err != nil {
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
	if n := testing.AllocsPerRun(100, func() { c.sendXruns(counts, 512, true, 1024) }); n != 0 {
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
