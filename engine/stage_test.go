package engine

import (
	"context"
	"io"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/sepd/sepd/separate"
)

type sliceSource struct {
	x    []float64
	pos  int
	hook func(pos int)
}

func (s *sliceSource) Read(dst [][]float64) (int, error) {
	if s.pos >= len(s.x) {
		return 0, io.EOF
	}
	if s.hook != nil {
		s.hook(s.pos)
	}
	n := copy(dst[0], s.x[s.pos:])
	s.pos += n
	return n, nil
}

type collect struct{ y []float64 }

// sumTol is how far the sources may sum from the input: the STFT's own
// reconstruction bound (see TestSourcesSumToInput).
const sumTol = 1e-9

// checkSum fails t unless a and b hold len(x) samples each and sum to x
// within sumTol at every sample.
func checkSum(t *testing.T, x, a, b []float64) {
	t.Helper()
	if len(a) != len(x) || len(b) != len(x) {
		t.Fatalf("%d and %d output samples, want %d", len(a), len(b), len(x))
	}
	for i := range x {
		if d := math.Abs(a[i] + b[i] - x[i]); d > sumTol {
			t.Fatalf("sample %d: sources sum to %g, input %g", i, a[i]+b[i], x[i])
		}
	}
}

func (c *collect) Write(src [][]float64) error { c.y = append(c.y, src[0]...); return nil }

// TestRunStageSwap: a Stage stored in RunOptions.Next mid-run is adopted between
// two frames and the sources still sum to the input at every sample.
func TestRunStageSwap(t *testing.T) {
	const fft, hop = 512, 128
	b := randomBases(t, 1, fft, 2, 4)
	e, err := New(b, testParams(fft, hop, 1, 5))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	x := noise(rng, 40*hop, 0.5)
	c0, c1 := &collect{}, &collect{}
	a0, a1 := NewAligned(c0, 1, e.DelaySamples(), -1), NewAligned(c1, 1, e.DelaySamples(), -1)
	st, err := NewStage(e, []Sink{a0, a1})
	if err != nil {
		t.Fatal(err)
	}
	var next atomic.Pointer[Stage]
	src := &sliceSource{x: x}
	src.hook = func(pos int) {
		if pos == 20*hop {
			sp := separate.DefaultParams()
			sp.Iterations, sp.MaskPower = 20, 1
			n, err := e.Successor(b, sp)
			if err != nil {
				t.Fatal(err)
			}
			ns, err := NewStage(n, []Sink{a0, a1})
			if err != nil {
				t.Fatal(err)
			}
			ns.OnAdopt = func(prev *Stage) { ns.Engine.Adopt(prev.Engine) }
			next.Store(ns)
		}
	}
	if _, err := RunStage(context.Background(), st, src, RunOptions{Next: &next}); err != nil {
		t.Fatal(err)
	}
	checkSum(t, x, c0.y, c1.y)
}

// TestRunStageSwapSource: a Stage with a Source moves the run onto that source at
// the swap (a reload that reopened the input device): the run reads the first
// source up to the swap and the second after it, and the outputs still sum to
// the input read, sample for sample. The first source has exactly the samples
// read before the swap, so an extra Read of it would end the run early (EOF).
func TestRunStageSwapSource(t *testing.T) {
	const fft, hop = 512, 128
	b := randomBases(t, 1, fft, 2, 4)
	e, err := New(b, testParams(fft, hop, 1, 5))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(4, 4))
	x := noise(rng, 40*hop, 0.5)
	c0, c1 := &collect{}, &collect{}
	a0, a1 := NewAligned(c0, 1, e.DelaySamples(), -1), NewAligned(c1, 1, e.DelaySamples(), -1)
	st, err := NewStage(e, []Sink{a0, a1})
	if err != nil {
		t.Fatal(err)
	}
	var next atomic.Pointer[Stage]
	second := &sliceSource{x: x[11*hop:]}
	first := &sliceSource{x: x[:11*hop]}
	var ns *Stage
	first.hook = func(pos int) {
		if pos == 10*hop {
			n, err := e.Successor(b, separate.DefaultParams())
			if err != nil {
				t.Fatal(err)
			}
			if ns, err = NewStage(n, []Sink{a0, a1}); err != nil {
				t.Fatal(err)
			}
			ns.OnAdopt = func(prev *Stage) { ns.Engine.Adopt(prev.Engine) }
			ns.Source = second
			next.Store(ns)
		}
	}
	consumed, err := RunStage(context.Background(), st, first, RunOptions{Next: &next})
	if err != nil {
		t.Fatal(err)
	}
	if consumed != int64(len(x)) || ns.AdoptedAt != 11*hop {
		t.Fatalf("consumed %d, swap at %d; want %d and %d", consumed, ns.AdoptedAt, len(x), 11*hop)
	}
	if len(c0.y) != len(x) {
		t.Fatalf("%d output samples, want %d", len(c0.y), len(x))
	}
	checkSum(t, x, c0.y, c1.y)
}
