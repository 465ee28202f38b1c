package engine_test

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/engine"
)

// noiseSource gives seeded noise on two channels, n frames then io.EOF
// (n < 0: forever), counting what it gave.
type noiseSource struct {
	rng  *rand.Rand
	n    int64
	gave int64
	all  [][]float64
}

func (s *noiseSource) Read(dst [][]float64) (int, error) {
	k := len(dst[0])
	if s.n >= 0 {
		k = int(min(int64(k), s.n-s.gave))
	}
	for i := range k {
		for c := range dst {
			v := s.rng.Float64()*2 - 1
			dst[c][i] = v
			if s.all != nil {
				s.all[c] = append(s.all[c], v)
			}
		}
	}
	s.gave += int64(k)
	if s.n >= 0 && s.gave == s.n {
		return k, io.EOF
	}
	return k, nil
}

type countSink struct {
	frames int64
	all    [][]float64
}

func (s *countSink) Write(src [][]float64) error {
	s.frames += int64(len(src[0]))
	if s.all != nil {
		for c := range src {
			s.all[c] = append(s.all[c], src[c]...)
		}
	}
	return nil
}

// TestRateFrameBalance: for every hop the engine reads through a
// RateSource from a device at one rate and writes through a RateSink back to
// it, the device frames read and written so far are equal:
// ceil(J device/bases) after J frames at the bases' rate (so audio.Live's
// capture-to-playback tags hold). The RateSource's output is the one
// audio.Resampler makes of the whole input at once (block invariance).
func TestRateFrameBalance(t *testing.T) {
	for _, p := range [][2]int{{48000, 16000}, {44100, 16000}, {16000, 48000}, {48000, 22050}} {
		t.Run(fmt.Sprintf("%d_%d", p[0], p[1]), func(t *testing.T) {
			dev, bases := p[0], p[1]
			src := &noiseSource{rng: rand.New(rand.NewPCG(1, 2)), n: -1, all: make([][]float64, 2)}
			rs, err := engine.NewRateSource(src, 2, dev, bases)
			if err != nil {
				t.Fatal(err)
			}
			sink := &countSink{}
			ws, err := engine.NewRateSink(sink, 2, bases, dev)
			if err != nil {
				t.Fatal(err)
			}
			hop := 256
			blk := [][]float64{make([]float64, hop), make([]float64, hop)}
			var got []float64
			for j := 1; j <= 300; j++ {
				if n, err := rs.Read(blk); n != hop || err != nil {
					t.Fatalf("Read: %d, %v", n, err)
				}
				got = append(got, blk[1]...)
				if err := ws.Write(blk); err != nil {
					t.Fatal(err)
				}
				want := (int64(j*hop)*int64(dev) + int64(bases) - 1) / int64(bases)
				if src.gave != want || sink.frames != want {
					t.Fatalf("after %d hops: read %d device frames, wrote %d; want %d both", j, src.gave, sink.frames, want)
				}
			}
			r, _ := audio.NewResampler(dev, bases)
			ref := make([]float64, r.OutputFor(len(src.all[1])))
			ref = ref[:r.Process(ref, src.all[1])]
			for i := range got {
				if got[i] != ref[i] {
					t.Fatalf("frame %d: %g through the RateSource, %g in one block", i, got[i], ref[i])
				}
			}
		})
	}
}

// TestRateSourceEnd: at the source's end the RateSource returns what its
// input covers, or with End as many frames as End says, padding with
// silence; then io.EOF.
func TestRateSourceEnd(t *testing.T) {
	for _, end := range []int64{0, 5000} {
		src := &noiseSource{rng: rand.New(rand.NewPCG(3, 4)), n: 10000}
		rs, _ := engine.NewRateSource(src, 2, 48000, 16000)
		var in int64 = -1
		if end > 0 {
			rs.End = func(n int64) int64 { in = n; return end }
		}
		blk := [][]float64{make([]float64, 256), make([]float64, 256)}
		total := 0
		for {
			n, err := rs.Read(blk)
			total += n
			if err == io.EOF {
				break
			}
			if err != nil || n != 256 {
				t.Fatalf("Read: %d, %v", n, err)
			}
		}
		want := int(math.Ceil(10000.0 / 3))
		if end > 0 {
			want = int(end)
			if in != 10000 {
				t.Errorf("End got %d input frames, want 10000", in)
			}
		}
		if total != want {
			t.Errorf("End %d: %d frames in all, want %d", end, total, want)
		}
		if n, err := rs.Read(blk); n != 0 || err != io.EOF {
			t.Errorf("after the end: %d, %v", n, err)
		}
	}
}

// TestRateAllocs: a RateSource's Read and a RateSink's Write allocate
// nothing once they have seen a block of the size.
func TestRateAllocs(t *testing.T) {
	src := &noiseSource{rng: rand.New(rand.NewPCG(1, 2)), n: -1}
	rs, _ := engine.NewRateSource(src, 2, 44100, 16000)
	ws, _ := engine.NewRateSink(&countSink{}, 2, 16000, 44100)
	blk := [][]float64{make([]float64, 256), make([]float64, 256)}
	rs.Read(blk)
	ws.Write(blk)
	if n := testing.AllocsPerRun(100, func() { rs.Read(blk); ws.Write(blk) }); n != 0 {
		t.Errorf("%g allocations per hop", n)
	}
}
