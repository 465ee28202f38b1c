package audio

import (
	"slices"
	"testing"
)

// TestRingStaleClaim: a read claim stored from a readPos the producer has
// lapped since (the consumer's CAS is about to fail) must not let a write land
// on an unread frame. Here the ring (capacity 4) is full with frames 6..9 and
// the claim says 1: 1 + 4 - 10 is negative, so there is no room; before the
// fix that difference wrapped round as a uint64 and Write put its frame in the
// slot of unread frame 6 (TestRingStress found it under load).
func TestRingStaleClaim(t *testing.T) {
	r := NewRing(4, 1)
	for i := range 10 {
		r.WriteOverwrite([]float32{float32(i)})
	}
	r.reading.Store(1)
	if n := r.Write([]float32{100}); n != 0 || r.Len() != 4 {
		t.Errorf("Write with a stale claim wrote %d frames, Len %d; want 0 and 4", n, r.Len())
	}
	// WriteOverwrite drops the oldest unread frame (6) to make room, but the
	// claim keeps it from writing: its own frame is dropped too.
	if d := r.WriteOverwrite([]float32{101}); d != 2 {
		t.Errorf("WriteOverwrite with a stale claim dropped %d frames, want 2", d)
	}
	r.reading.Store(ringIdle) // the consumer withdraws the claim
	got := make([]float32, 8)
	got = got[:r.Read(got)]
	if want := []float32{7, 8, 9}; !slices.Equal(got, want) {
		t.Errorf("read %v, want %v", got, want)
	}
}
