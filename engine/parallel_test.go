package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/config"
)

// TestRunParallelMatchesRun: SeparateFile with Parallel (RunParallel) writes
// the same bytes as without (Run), for 1, 2 and 3 channels, a length that is
// no multiple of the hop, KL and beta 0.5, three sources. Each stage runs
// Process's steps
// on the same state in the same order, so nothing may differ, not even by
// rounding.
func TestRunParallelMatchesRun(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		ch   int
		beta float64
	}{{1, 1}, {2, 0.5}, {3, 1}} {
		ch, beta := c.ch, c.beta
		{
			t.Run(fmt.Sprintf("ch%d_beta%g", ch, beta), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(ch), 11))
				const n = 16000 + 77
				x := make([][]float64, ch)
				for c := range x {
					x[c] = noise(rng, n, 0.4)
					for i := range x[c] { // a slow envelope, so that frames differ
						x[c][i] *= 0.5 + 0.5*math.Sin(float64(i)/(1500+float64(300*c)))
					}
				}
				in := filepath.Join(dir, fmt.Sprintf("in%d_%g.wav", ch, beta))
				writeWAV(t, in, x, 16000, audio.Float32)
				cfg := config.Default()
				cfg.Path = "(test)"
				cfg.STFT.FFTSize, cfg.STFT.Hop = 512, 128
				b := randomBases(t, 7, 512, 3, 6)
				params := testParams(512, 128, ch, 5)
				params.Separation.Beta = beta
				p := &Plan{Config: cfg, Bases: b, Params: params}
				var files [2][]string
				var res [2]FileResult
				for i, par := range []bool{false, true} {
					job := FileJob{Input: in, Encoding: audio.Float32, Parallel: par}
					for _, s := range b.Names {
						o := filepath.Join(dir, fmt.Sprintf("%d-%g-%v-%s.wav", ch, beta, par, s))
						job.Outputs = append(job.Outputs, []string{o})
						files[i] = append(files[i], o)
					}
					var err error
					if res[i], err = SeparateFile(context.Background(), p, job); err != nil {
						t.Fatal(err)
					}
				}
				if res[0] != res[1] {
					t.Errorf("results differ: serial %+v, parallel %+v", res[0], res[1])
				}
				for s := range files[0] {
					a, err := os.ReadFile(files[0][s])
					if err != nil {
						t.Fatal(err)
					}
					c, err := os.ReadFile(files[1][s])
					if err != nil {
						t.Fatal(err)
					}
					if len(a) < 1000 || !bytes.Equal(a, c) {
						t.Errorf("source %s: parallel output (%d bytes) differs from serial (%d bytes)", b.Names[s], len(c), len(a))
					}
				}
			})
		}
	}
}

// failingSource gives noise for ok reads, then an error.
type failingSource struct {
	ok  int
	rng *rand.Rand
}

func (f *failingSource) Read(dst [][]float64) (int, error) {
	if f.ok == 0 {
		return 0, errors.New("disk on fire")
	}
	f.ok--
	for c := range dst {
		copy(dst[c], noise(f.rng, len(dst[c]), 0.3))
	}
	return len(dst[0]), nil
}

// failingSink fails its nth write.
type failingSink struct{ n int }

func (f *failingSink) Write(src [][]float64) error {
	if f.n--; f.n == 0 {
		return errors.New("out of space")
	}
	return nil
}

// TestRunParallelErrors: a source or sink error stops RunParallel with that
// error (frames in flight are finished, the goroutines end), as Run stops.
func TestRunParallelErrors(t *testing.T) {
	b := randomBases(t, 3, 512, 2, 4)
	for _, c := range []struct {
		name string
		src  Source
		sink Sink
		want string
	}{
		{"source", &failingSource{ok: 40, rng: rand.New(rand.NewPCG(1, 2))}, nil, "disk on fire"},
		{"sink", &failingSource{ok: 1000, rng: rand.New(rand.NewPCG(1, 2))}, &failingSink{n: 20}, "out of space"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := New(b, testParams(512, 128, 2, 3))
			if err != nil {
				t.Fatal(err)
			}
			_, err = RunParallel(context.Background(), e, c.src, []Sink{c.sink, nil}, RunOptions{})
			if err == nil || err.Error() != c.want {
				t.Fatalf("RunParallel: %v, want %q", err, c.want)
			}
		})
	}
}
