package audio_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sepd/sepd/audio"
)

// seq returns frames first..first+n-1 of the test sequence: frame i holds i in
// channel 0 and -i in channel 1. Integers below 2^24 are exact in float32.
func seq(first, n int) []float32 {
	s := make([]float32, 0, 2*n)
	for i := first; i < first+n; i++ {
		s = append(s, float32(i), -float32(i))
	}
	return s
}

func TestNewRingCapacity(t *testing.T) {
	for _, tc := range []struct{ frames, want int }{
		{1, 1}, {2, 2}, {3, 4}, {256, 256}, {257, 512}, {1000, 1024},
	} {
		if got := audio.NewRing(tc.frames, 3).Cap(); got != tc.want {
			t.Errorf("NewRing(%d).Cap() = %d, want %d", tc.frames, got, tc.want)
		}
	}
}

func TestNewRingPanics(t *testing.T) {
	for _, tc := range []struct{ frames, channels int }{{0, 1}, {1, 0}, {-4, 2}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewRing(%d, %d) did not panic", tc.frames, tc.channels)
				}
			}()
			audio.NewRing(tc.frames, tc.channels)
		}()
	}
}

func TestRingPartialFramePanics(t *testing.T) {
	r := audio.NewRing(8, 2)
	defer func() {
		if recover() == nil {
			t.Error("Write of 3 samples into a 2-channel ring did not panic")
		}
	}()
	r.Write(make([]float32, 3))
}

// TestRingSteps runs scripted producer/consumer steps on one goroutine and
// compares every result and read frame with a simple reference model.
func TestRingSteps(t *testing.T) {
	type step struct {
		op   string // "w" Write, "o" WriteOverwrite, "r" Read, "d" Discard
		n    int    // frames
		want int    // frames written/read/discarded, or dropped for "o"
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"fill and drain", []step{{"w", 8, 8}, {"r", 8, 8}, {"r", 1, 0}}},
		{"full ring refuses", []step{{"w", 6, 6}, {"w", 6, 2}, {"w", 1, 0}, {"r", 3, 3}, {"w", 4, 3}}},
		{"wrap around", []step{{"w", 5, 5}, {"r", 5, 5}, {"w", 7, 7}, {"r", 2, 2}, {"r", 10, 5}}},
		{"overwrite drops oldest", []step{{"w", 6, 6}, {"o", 4, 2}, {"r", 8, 8}}},
		{"overwrite without need", []step{{"o", 3, 0}, {"o", 5, 0}, {"r", 8, 8}}},
		{"overwrite longer than ring", []step{{"w", 2, 2}, {"o", 11, 5}, {"r", 9, 8}}},
		{"discard", []step{{"w", 7, 7}, {"d", 3, 3}, {"r", 2, 2}, {"d", 9, 2}, {"r", 1, 0}}},
		{"overwrite after wrap", []step{{"w", 7, 7}, {"r", 7, 7}, {"w", 8, 8}, {"o", 3, 3}, {"r", 4, 4}, {"o", 7, 3}, {"r", 8, 8}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const capFrames = 8 // NewRing(8, 2): capacity 8 frames
			r := audio.NewRing(capFrames, 2)
			var model []int // unread frame numbers, oldest first
			next := 0       // next frame number the producer writes
			for i, s := range tc.steps {
				var got int
				switch s.op {
				case "w":
					got = r.Write(seq(next, s.n))
					for j := range got {
						model = append(model, next+j)
					}
					next += s.n
				case "o":
					got = r.WriteOverwrite(seq(next, s.n))
					for j := range s.n {
						model = append(model, next+j)
					}
					next += s.n
					if len(model) > capFrames {
						model = model[len(model)-capFrames:]
					}
				case "r":
					buf := make([]float32, 2*s.n)
					got = r.Read(buf)
					for j := range got {
						if want := float32(model[j]); buf[2*j] != want || buf[2*j+1] != -want {
							t.Fatalf("step %d: frame %d = (%v, %v), want (%v, %v)", i, j, buf[2*j], buf[2*j+1], want, -want)
						}
					}
					model = model[got:]
				case "d":
					got = r.Discard(s.n)
					model = model[got:]
				}
				if got != s.want {
					t.Fatalf("step %d %s(%d) = %d, want %d", i, s.op, s.n, got, s.want)
				}
				if r.Len() != len(model) || r.Free() != capFrames-len(model) {
					t.Fatalf("step %d: Len %d Free %d, want %d %d", i, r.Len(), r.Free(), len(model), capFrames-len(model))
				}
			}
		})
	}
}

// TestRingStress runs a producer and a consumer goroutine with random block
// sizes and checks that the consumer sees every frame exactly once, in order
// (Write), or an increasing sequence whose gaps add up to the dropped count
// (WriteOverwrite). Run with -race: the race detector checks the
// memory-ordering argument in the Ring comment.
func TestRingStress(t *testing.T) {
	total := 200_000 // frames; below 2^24 so that float32 holds them exactly
	if testing.Short() {
		total = 50_000
	}
	// A bug in the ring shows as a deadlock (both sides see "no room"/"empty"):
	// fail after this long instead of hanging until the test binary times out.
	const patience = 30 * time.Second
	for _, overwrite := range []bool{false, true} {
		t.Run(fmt.Sprintf("overwrite=%v", overwrite), func(t *testing.T) {
			r := audio.NewRing(64, 2) // small, so that it is often full and often empty
			var dropped int
			var stop atomic.Bool
			deadline := time.Now().Add(patience)
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { // producer
				defer wg.Done()
				rng := rand.New(rand.NewPCG(1, 2))
				buf := make([]float32, 2*100)
				for next := 0; next < total; {
					n := min(1+rng.IntN(100), total-next)
					for j := range n {
						buf[2*j], buf[2*j+1] = float32(next+j), -float32(next+j)
					}
					if overwrite {
						dropped += r.WriteOverwrite(buf[:2*n])
						next += n
					} else if k := r.Write(buf[:2*n]); k > 0 {
						next += k
					} else if stop.Load() {
						return
					} else {
						runtime.Gosched() // full: let the consumer run (2 shared cores)
					}
				}
				// The end marker: written without dropping, so the consumer can stop.
				for r.Write([]float32{-1, 1}) == 0 && !stop.Load() {
					runtime.Gosched()
				}
			}()
			rng := rand.New(rand.NewPCG(3, 4))
			buf := make([]float32, 2*100)
			expect, seen := 0, 0
		loop:
			for {
				n := r.Read(buf[:2*(1+rng.IntN(100))])
				if n == 0 {
					if time.Now().After(deadline) {
						stop.Store(true)
						wg.Wait()
						t.Fatalf("no end marker after %v: %d frames seen, Len %d, Free %d", patience, seen, r.Len(), r.Free())
					}
					runtime.Gosched() // empty: let the producer run
				}
				for j := range n {
					v, w := buf[2*j], buf[2*j+1]
					if v == -1 && w == 1 {
						break loop
					}
					if w != -v {
						t.Fatalf("torn frame (%v, %v)", v, w)
					}
					if int(v) < expect || (!overwrite && int(v) != expect) {
						t.Fatalf("frame %v, want %d", v, expect)
					}
					expect = int(v) + 1
					seen++
				}
				if rng.IntN(8) == 0 {
					r.Discard(0) // exercise the no-op path concurrently
				}
			}
			wg.Wait()
			if seen+dropped != total {
				t.Fatalf("seen %d + dropped %d frames != %d written", seen, dropped, total)
			}
			t.Logf("%d frames, %d dropped", total, dropped)
		})
	}
}

func TestRingNoAllocs(t *testing.T) {
	r := audio.NewRing(1024, 2)
	src := seq(0, 256)
	dst := make([]float32, len(src))
	allocs := testing.AllocsPerRun(100, func() {
		r.Write(src)
		r.WriteOverwrite(src)
		r.Read(dst)
		r.Discard(256)
		_ = r.Len()
	})
	if allocs != 0 {
		t.Errorf("Write/WriteOverwrite/Read/Discard allocate %v times per run, want 0", allocs)
	}
}

func BenchmarkRingWriteRead(b *testing.B) {
	const frames = 256 // one JACK period at -p 256
	r := audio.NewRing(4096, 2)
	src := seq(0, frames)
	dst := make([]float32, len(src))
	b.ReportAllocs()
	for b.Loop() {
		r.Write(src)
		r.Read(dst)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "us/block")
}

func ExampleRing() {
	r := audio.NewRing(4, 1) // 4 mono frames
	fmt.Println(r.Write([]float32{1, 2, 3}))
	fmt.Println(r.WriteOverwrite([]float32{4, 5, 6})) // no room for 2 frames: drop 1 and 2
	dst := make([]float32, 4)
	n := r.Read(dst)
	fmt.Println(dst[:n])
	// Output:
	// 3
	// 2
	// [3 4 5 6]
}
