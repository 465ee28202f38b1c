package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// Source is where a run's samples come from: a file reader or a device capture.
// Read fills dst[c][:n] for every channel and returns io.EOF at the end; it may
// return fewer samples than asked.
type Source interface {
	Read(dst [][]float64) (int, error)
}

// Sink takes one source's separated samples, src[channel][:n].
type Sink interface {
	Write(src [][]float64) error
}

// RunOptions tune Run.
type RunOptions struct {
	// PaceHz, when positive, paces the run at that sample rate (real-time replay of a
	// file). Zero runs as fast as the CPU allows.
	PaceHz int
	// Progress, if set, is called after every block with the input samples consumed.
	Progress func(samples int64)
	// OnFrame, if set, is called after every frame the engine processes (including
	// the drain), on the goroutine that runs it: it may read e.Masks(),
	// e.Spectrum(c) and e.Separator().Activations(). For offline analysis (plots);
	// leave it nil on a live path.
	OnFrame func(e *Engine)
	// Next, if set, is polled between two frames: a Stage stored there replaces the
	// running one (hot reload). See Stage.
	Next *atomic.Pointer[Stage]
}

// Stage is what the frame loop runs: an engine, one Sink per source (nil drops the
// source) and the output block. A daemon builds the next Stage off the audio path
// (Successor shares the streaming state that must survive) and stores it in
// RunOptions.Next; Run adopts it between two frames and closes Adopted.
type Stage struct {
	Engine *Engine
	Sinks  []Sink
	// Adopted is closed by Run once the stage runs (the previous one is retired);
	// AdoptedAt is then the number of input samples consumed before its first frame.
	Adopted   chan struct{}
	AdoptedAt int64
	// OnAdopt, if set, runs on the frame goroutine right after the swap, before
	// the next frame (e.g. Aligned.Shift for a changed delay). It must not block.
	OnAdopt func(prev *Stage)
	// Source, if set, is where the run reads from this stage on (a reload that
	// reopened the input device); nil keeps the running source. It must have
	// the engine's channels.
	Source Source
	out    [][][]float64
}

// NewStage checks that sinks match e's sources and allocates the output block.
func NewStage(e *Engine, sinks []Sink) (*Stage, error) {
	if len(sinks) != e.Sources() {
		return nil, fmt.Errorf("engine: %d sinks for %d sources", len(sinks), e.Sources())
	}
	return &Stage{Engine: e, Sinks: sinks, Adopted: make(chan struct{}), out: e.NewBlock()}, nil
}

// Run drives e from src to sinks (sinks[s] receives source s; a nil Sink drops it)
// until src ends or ctx is done, then drains the pipeline: it feeds zeros for the
// engine's DelaySamples so that the last input samples reach the sinks. It returns
// the number of input samples consumed. Sinks that need input alignment wrap
// themselves with Aligned. The first Source or Sink error stops the run.
func Run(ctx context.Context, e *Engine, src Source, sinks []Sink, opt RunOptions) (int64, error) {
	st, err := NewStage(e, sinks)
	if err != nil {
		return 0, err
	}
	return RunStage(ctx, st, src, opt)
}

// RunStage is Run for a Stage, with hot swaps through opt.Next. The stage in force
// when the input ends is the one drained.
func RunStage(ctx context.Context, st *Stage, src Source, opt RunOptions) (int64, error) {
	close(st.Adopted)
	hop := st.Engine.HopSamples()
	chans := st.Engine.Channels()
	in := make([][]float64, chans)
	view := make([][]float64, chans)
	for c := range in {
		in[c] = make([]float64, hop)
	}
	var consumed int64
	start := time.Now()
	var pace *time.Timer
	if opt.PaceHz > 0 {
		pace = time.NewTimer(time.Hour)
		defer pace.Stop()
	}
	frame := func() error {
		st.Engine.Process(st.out, in)
		if opt.OnFrame != nil {
			opt.OnFrame(st.Engine)
		}
		for s, sink := range st.Sinks {
			if sink == nil {
				continue
			}
			if err := sink.Write(st.out[s]); err != nil {
				return err
			}
		}
		return nil
	}
	ended := false
	for !ended {
		if opt.Next != nil {
			if next := opt.Next.Swap(nil); next != nil {
				if next.Engine.Channels() != chans {
					// The input decides the channels; a daemon never swaps them.
					panic("engine: swapped stage changes the channel count")
				}
				if h := next.Engine.HopSamples(); h != hop {
					// A new STFT: the input block changes size. This allocates,
					// once per such reload, never per frame.
					hop = h
					for c := range in {
						in[c] = make([]float64, hop)
					}
				}
				prev := st
				st = next
				if st.Source != nil {
					src = st.Source
				}
				if st.OnAdopt != nil {
					st.OnAdopt(prev)
				}
				st.AdoptedAt = consumed
				close(st.Adopted)
			}
		}
		// Fill one hop, tolerating short reads.
		n := 0
		for n < hop {
			if ctx.Err() != nil {
				ended = true
				break
			}
			for c := range in {
				view[c] = in[c][n:]
			}
			k, err := src.Read(view)
			n += k
			if errors.Is(err, io.EOF) {
				ended = true
				break
			}
			if err != nil {
				return consumed, err
			}
		}
		if n == 0 && ended {
			break
		}
		for c := range in {
			clear(in[c][n:])
		}
		consumed += int64(n)
		if opt.PaceHz > 0 {
			due := start.Add(time.Duration(float64(consumed) / float64(opt.PaceHz) * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				pace.Reset(d)
				select {
				case <-ctx.Done():
					ended = true
				case <-pace.C:
				}
			}
		}
		if err := frame(); err != nil {
			return consumed, err
		}
		if opt.Progress != nil {
			opt.Progress(consumed)
		}
	}
	// Sinks that keep input alignment now know the input's length.
	for _, sink := range st.Sinks {
		if l, ok := sink.(interface{ SetLimit(int64) }); ok {
			l.SetLimit(consumed)
		}
	}
	// Drain: push zeros until every consumed sample has left the synthesizers.
	for c := range in {
		clear(in[c])
	}
	for left := st.Engine.DelaySamples(); left > 0; left -= hop {
		if err := frame(); err != nil {
			return consumed, err
		}
	}
	return consumed, nil
}

// Aligned wraps a Sink so that it receives exactly the samples aligned with the
// input: it drops the first delay samples of the stream and, once limit samples have
// been written (limit < 0: no limit), drops the rest. Run calls SetLimit with the
// number of samples consumed when the input ends, before it drains the pipeline.
type Aligned struct {
	sink  Sink
	skip  int
	pad   int // zeros to write before the next block (Shift)
	limit int64
	done  int64
	view  [][]float64
}

// NewAligned returns an Aligned sink. It allocates once.
func NewAligned(sink Sink, channels, delay int, limit int64) *Aligned {
	return &Aligned{sink: sink, skip: delay, limit: limit, view: make([][]float64, channels)}
}

// Shift keeps the sink aligned when the stream's delay changes by n samples (an
// engine with another STFT took over): n > 0 drops n more samples, n < 0 writes -n
// zeros before the next block (the samples nobody will produce). The next Write
// allocates those zeros, once.
func (a *Aligned) Shift(n int) {
	if n >= 0 {
		a.skip += n
		return
	}
	a.pad = -n
}

// SetLimit sets the number of samples after which the sink drops its input.
func (a *Aligned) SetLimit(limit int64) { a.limit = limit }

// Written is the number of samples passed to the wrapped sink.
func (a *Aligned) Written() int64 { return a.done }

// Write implements Sink.
func (a *Aligned) Write(src [][]float64) error {
	if len(src) == 0 {
		return nil
	}
	if a.pad > 0 {
		z := make([]float64, a.pad)
		a.pad = 0
		zs := make([][]float64, len(src))
		for c := range zs {
			zs[c] = z
		}
		if err := a.Write(zs); err != nil {
			return err
		}
	}
	lo, hi := 0, len(src[0])
	if a.skip > 0 {
		d := min(a.skip, hi)
		a.skip -= d
		lo = d
	}
	if a.limit >= 0 {
		if room := a.limit - a.done; int64(hi-lo) > room {
			hi = lo + int(max(room, 0))
		}
	}
	if hi <= lo {
		return nil
	}
	for c := range a.view {
		a.view[c] = src[c][lo:hi]
	}
	a.done += int64(hi - lo)
	return a.sink.Write(a.view)
}

// Fanout is a Sink that writes to several sinks in order.
type Fanout []Sink

// Write implements Sink; it stops at the first error.
func (f Fanout) Write(src [][]float64) error {
	for _, s := range f {
		if err := s.Write(src); err != nil {
			return err
		}
	}
	return nil
}

// SetLimit passes the input's length on to the sinks that keep alignment.
func (f Fanout) SetLimit(n int64) {
	for _, s := range f {
		if l, ok := s.(interface{ SetLimit(int64) }); ok {
			l.SetLimit(n)
		}
	}
}
