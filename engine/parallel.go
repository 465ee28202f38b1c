package engine

import (
	"context"
	"errors"
	"io"
	"time"
)

// pipeDepth is the number of batches RunParallel keeps in flight: enough for
// every stage (read, analyse, project, synthesise, write) to hold one.
// pipeBatch is the number of frames in a batch: a handoff between goroutines
// costs a few microseconds, a frame at fft 1024 some tens.
const (
	pipeDepth = 6
	pipeBatch = 16
)

// pipeFrame is one frame on its way through RunParallel: its input hop, the
// spectra, magnitude and masks, and the output block.
type pipeFrame struct {
	in    [][]float64    // [channel][hop]
	spec  [][]complex128 // [channel][bin]
	mag   []float64      // [bin]
	masks [][]float64    // [source][bin]
	out   [][][]float64  // [source][channel][hop]
	iters int            // iterations the projection ran
	start time.Time      // when the projection started (for Stats)
}

// pipeSlot is a batch of up to pipeBatch consecutive frames (n of them in
// use). The slots circulate; nothing is allocated per frame.
type pipeSlot struct {
	f [pipeBatch]pipeFrame
	n int
}

// RunParallel is Run for offline use, with the work of each frame spread
// over goroutines: per channel one for its analysis and one for its
// synthesis (every source), and one for the projection, which the channels
// share (it sees the magnitude over all channels, as Process does). Frames
// flow in order, in batches of pipeBatch through pipeDepth slots, so channel
// c's analysis of batch b+1 and synthesis of batch b-1 run while batch b is
// projected. Each
// stage runs the steps of Process (analyze, magnitude, Separator.Process,
// synthesize) on the same state in the same order, so the outputs equal
// Run's bit for bit (TestRunParallelMatchesRun). opt.Progress is honoured;
// OnFrame, Next and PaceHz are not (use Run). It allocates the slots once.
func RunParallel(ctx context.Context, e *Engine, src Source, sinks []Sink, opt RunOptions) (int64, error) {
	if opt.OnFrame != nil || opt.Next != nil || opt.PaceHz > 0 {
		panic("engine: RunParallel takes neither OnFrame, Next nor PaceHz")
	}
	st, err := NewStage(e, sinks)
	if err != nil {
		return 0, err
	}
	close(st.Adopted)
	hop, chans, bins := e.HopSamples(), e.Channels(), e.p.FFTSize/2+1
	free := make(chan *pipeSlot, pipeDepth)
	for range pipeDepth {
		sl := &pipeSlot{}
		for k := range sl.f {
			fr := &sl.f[k]
			fr.mag, fr.out = make([]float64, bins), e.NewBlock()
			for range chans {
				fr.in = append(fr.in, make([]float64, hop))
				fr.spec = append(fr.spec, make([]complex128, bins))
			}
			for range e.Sources() {
				fr.masks = append(fr.masks, make([]float64, bins))
			}
		}
		free <- sl
	}
	// One channel per stage and channel, each FIFO and as deep as the slots,
	// so that no send blocks while the frame goroutine waits elsewhere.
	mk := func() []chan *pipeSlot {
		cs := make([]chan *pipeSlot, chans)
		for c := range cs {
			cs[c] = make(chan *pipeSlot, pipeDepth)
		}
		return cs
	}
	anaIn, anaOut, synIn, synOut := mk(), mk(), mk(), mk()
	for c := range chans {
		go func() {
			for sl := range anaIn[c] {
				for k := range sl.n {
					e.analyze(c, sl.f[k].spec[c], sl.f[k].in[c])
				}
				anaOut[c] <- sl
			}
			close(anaOut[c])
		}()
		go func() {
			masked := make([]complex128, bins)
			for sl := range synIn[c] {
				for k := range sl.n {
					fr := &sl.f[k]
					e.synthesize(c, fr.out, fr.masks, fr.spec[c], masked)
				}
				synOut[c] <- sl
			}
			close(synOut[c])
		}()
	}
	go func() { // the projection, frames in order
		defer func() {
			for _, ch := range synIn {
				close(ch)
			}
		}()
		for {
			var sl *pipeSlot
			for c := range chans {
				s, ok := <-anaOut[c]
				if !ok {
					return
				}
				sl = s
			}
			for k := range sl.n {
				fr := &sl.f[k]
				fr.start = time.Now()
				magnitude(fr.mag, fr.spec)
				e.sep.Process(fr.masks, fr.mag)
				fr.iters = e.sep.LastIterations()
			}
			for c := range chans {
				synIn[c] <- sl
			}
		}
	}()

	var consumed int64
	inflight := 0
	ended, failed := false, false
	drain := -1 // zero frames still to feed once the input has ended
	var runErr error
	view := make([][]float64, chans)
	// feed reads the next hop into in; false when there is nothing more to
	// feed.
	feed := func(in [][]float64) (bool, error) {
		if !ended {
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
					return false, err
				}
			}
			for c := range in {
				clear(in[c][n:])
			}
			consumed += int64(n)
			if n > 0 {
				return true, nil
			}
		}
		if drain < 0 {
			// The input has ended: sinks that keep alignment learn its
			// length (Run tells them at the same point of the stream), and
			// zeros push the last samples out of the synthesizers.
			for _, sink := range st.Sinks {
				if l, ok := sink.(interface{ SetLimit(int64) }); ok {
					l.SetLimit(consumed)
				}
			}
			drain = (e.DelaySamples() + hop - 1) / hop
		}
		if drain == 0 {
			return false, nil
		}
		drain--
		for c := range in {
			clear(in[c])
		}
		return true, nil
	}
	more := true
	for {
		for more && !failed && inflight < pipeDepth {
			sl := <-free
			sl.n = 0
			for sl.n < pipeBatch {
				ok, err := feed(sl.f[sl.n].in)
				if err != nil {
					runErr, failed = err, true
				}
				if !ok {
					more = false
					break
				}
				sl.n++
			}
			if sl.n == 0 || failed {
				free <- sl
				break
			}
			for c := range chans {
				anaIn[c] <- sl
			}
			inflight++
			if opt.Progress != nil && drain < 0 {
				opt.Progress(consumed)
			}
		}
		if inflight == 0 {
			break
		}
		var sl *pipeSlot
		for c := range chans {
			sl = <-synOut[c]
		}
		inflight--
		for k := range sl.n {
			if failed {
				break
			}
			fr := &sl.f[k]
			for s, sink := range st.Sinks {
				if sink == nil {
					continue
				}
				if err := sink.Write(fr.out[s]); err != nil {
					runErr, failed = err, true
					break
				}
			}
			e.levels(fr.out, fr.in)
			e.stats.observe(fr.start, time.Now(), fr.iters)
		}
		free <- sl
	}
	for _, ch := range anaIn {
		close(ch)
	}
	for _, ch := range synOut {
		for range ch { // until the workers are gone
		}
	}
	return consumed, runErr
}
