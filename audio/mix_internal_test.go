package audio

import (
	"slices"
	"testing"
)

// TestMixStageRemove: frames a writer staged ahead of the others before it was
// removed stay where they belong and are completed by the others, as
// PlaybackWriter.Remove promises. A stages 10 frames of 1, B 5 frames of 2; A
// is removed; the first 5 frames are 1+2 = 3, and so are the next 5 once B
// writes them (before the fix A's frames 5..9 stayed at 5..9 and B's next
// frames read 2: A's part came 5 frames late, under B's later frames).
func TestMixStageRemove(t *testing.T) {
	m := newMixStage(16, 1)
	a, _ := m.newWriter([]int{0}, 1, 0)
	b, _ := m.newWriter([]int{0}, 1, 0)
	fill := func(v float64, n int) [][]float64 {
		x := make([]float64, n)
		for i := range x {
			x[i] = v
		}
		return [][]float64{x}
	}
	m.add(a, fill(1, 10), 10)
	m.add(b, fill(2, 5), 5)
	m.remove(a)
	for round := range 2 {
		got := slices.Clone(m.ready())
		if want := []float32{3, 3, 3, 3, 3}; !slices.Equal(got, want) {
			t.Fatalf("round %d: ready %v, want %v", round, got, want)
		}
		m.advance(len(got))
		if round == 0 {
			m.add(b, fill(2, 5), 5)
		}
	}
}
