package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/sepd/sepd/audio"
)

// ErrInput marks errors caused by what the user gave (a file, a flag, a config):
// the command line maps them to exit status 2.
var ErrInput = errors.New("bad input")

// inputError wraps err so that errors.Is(err, ErrInput) holds.
type inputError struct{ err error }

func (e inputError) Error() string         { return e.err.Error() }
func (e inputError) Unwrap() []error       { return []error{e.err, ErrInput} }
func InputError(err error) error           { return inputError{err} }
func InputErrorf(f string, a ...any) error { return inputError{fmt.Errorf(f, a...)} }

// FileJob is one offline separation: an input file and, per source, its output files.
type FileJob struct {
	Input    string
	Outputs  [][]string // [source] -> output paths (may be empty to drop a source)
	Encoding audio.Encoding
	// Progress, if set, gets (samples done, total samples or -1).
	Progress func(done, total int64)
	// OnFrame, if set, is passed to Run (see RunOptions.OnFrame).
	OnFrame func(e *Engine)
	// Parallel spreads each frame's work over goroutines (RunParallel: per
	// channel analysis and synthesis, and the projection, pipelined), for a
	// machine with cores to spare; the outputs are the same. Ignored with
	// OnFrame.
	Parallel bool
}

// FileResult says what a FileJob did.
type FileResult struct {
	Format  audio.Format
	Samples int64
	Frames  uint64
	// RateHz is the rate the engine ran at: Format.SampleRateHz, or the
	// configuration's sample_rate when the file was converted to it.
	RateHz int
}

// SeparateFile runs the engine path over one file as fast as the CPU allows and
// writes every output with exactly the input's length and alignment. A file
// whose rate is not the configuration's sample_rate (the bases') is converted
// to it and the outputs back to the file's rate (audio.Resampler), aligned
// with the input: through the resampler, the outputs are those of a live
// run on devices at the file's rate (see resampled). Outputs are
// written to temporary names and renamed only when the whole file is done; on any
// error none of them appears. Errors about the input are marked with ErrInput.
func SeparateFile(ctx context.Context, p *Plan, job FileJob) (FileResult, error) {
	var res FileResult
	if len(job.Outputs) != p.Bases.NumSources() {
		return res, fmt.Errorf("engine: %d output lists for %d sources", len(job.Outputs), p.Bases.NumSources())
	}
	inAbs, _ := filepath.Abs(job.Input)
	for _, outs := range job.Outputs {
		for _, o := range outs {
			if oAbs, _ := filepath.Abs(o); oAbs == inAbs {
				return res, InputErrorf("engine: output %s is the input file: choose another output folder", o)
			}
		}
	}
	r, err := audio.Open(job.Input)
	if err != nil {
		return res, InputError(err)
	}
	defer r.Close()
	f := r.Format()
	res.Format = f
	// A file at another rate than the bases' is converted to theirs and its
	// outputs back to its own (see resampled).
	rate := f.SampleRateHz
	if want := p.Config.SampleRateHz; want > 0 && want != f.SampleRateHz {
		rate = want
	}
	params := p.Params
	params.Channels = f.Channels
	e, err := New(p.Bases, params)
	if err != nil {
		return res, InputError(err)
	}
	var writers []*audio.WAVWriter
	abort := func() {
		for _, w := range writers {
			w.Abort()
		}
	}
	total := r.Frames()
	sinks := make([]Sink, e.Sources())
	var aligned []*Aligned
	for s, outs := range job.Outputs {
		var fan Fanout
		for _, o := range outs {
			w, err := audio.CreateWAV(o, f, job.Encoding)
			if err != nil {
				abort()
				return res, err
			}
			writers = append(writers, w)
			fan = append(fan, w)
		}
		if len(fan) == 0 {
			continue
		}
		a := NewAligned(fan, f.Channels, e.DelaySamples(), total)
		aligned = append(aligned, a)
		sinks[s] = a
	}
	var src Source = readerSource{r, job.Input}
	var progress func(int64)
	if job.Progress != nil {
		progress = func(n int64) { job.Progress(n, total) }
	}
	var rs *RateSource
	if rate != f.SampleRateHz {
		if rs, aligned, err = resampled(sinks, f, rate, e.DelaySamples(), &src); err != nil {
			abort()
			return res, err
		}
		if job.Progress != nil {
			progress = func(n int64) {
				done := n * int64(f.SampleRateHz) / int64(rate)
				if total >= 0 {
					done = min(done, total)
				}
				job.Progress(done, total)
			}
		}
	}
	run := Run
	if job.Parallel && job.OnFrame == nil {
		run = RunParallel
	}
	n, err := run(ctx, e, src, sinks, RunOptions{Progress: progress, OnFrame: job.OnFrame})
	if rs != nil {
		n = rs.InputFrames() // the file's frames, as the outputs count them
	}
	if err != nil {
		abort()
		return res, err
	}
	if ctx.Err() != nil {
		abort()
		return res, ctx.Err()
	}
	for _, a := range aligned {
		if a.Written() != n {
			abort()
			return res, fmt.Errorf("engine: %s: wrote %d samples for %d input samples (internal error)", job.Input, a.Written(), n)
		}
	}
	for i, w := range writers {
		if err := w.Close(); err != nil {
			for _, rest := range writers[i+1:] {
				rest.Abort()
			}
			return res, err
		}
	}
	res.Samples = n
	res.Frames = e.Frames()
	res.RateHz = rate
	return res, nil
}

// readerSource marks a file reader's decode errors as input errors.
type readerSource struct {
	r    audio.Reader
	path string
}

func (s readerSource) Read(dst [][]float64) (int, error) {
	n, err := s.r.Read(dst)
	if err != nil && !errors.Is(err, io.EOF) {
		return n, InputError(err)
	}
	return n, err
}

// resampled rebuilds an offline run for a file at f.SampleRateHz separated
// at rate: the source becomes a RateSource into rate, and each source's sink
// (an Aligned of the engine's delay, into the file outputs) is split: the
// engine-side Aligned (at rate: the engine's delay, all it consumes) writes
// to a RateSink back to the file's rate, which writes to the file-side
// Aligned that drops the two filters' delay, audio.RoundTripDelay (whole
// at the file's rate), and keeps the file's length. The RateSource pads the
// file with silence so that the filters' tail comes out. It returns the
// file-side Aligned sinks.
func resampled(sinks []Sink, f audio.Format, rate, delay int, src *Source) (*RateSource, []*Aligned, error) {
	rs, err := NewRateSource(*src, f.Channels, f.SampleRateHz, rate)
	if err != nil {
		return nil, nil, err
	}
	trip := int64(audio.RoundTripDelay(f.SampleRateHz, rate))
	var outer []*Aligned
	for s, sink := range sinks {
		if sink == nil {
			continue
		}
		a := sink.(*Aligned)
		fileSide := NewAligned(a.sink, f.Channels, int(trip), a.limit)
		up, err := NewRateSink(fileSide, f.Channels, rate, f.SampleRateHz)
		if err != nil {
			return nil, nil, err
		}
		outer = append(outer, fileSide)
		sinks[s] = NewAligned(up, f.Channels, delay, -1)
	}
	rs.End = func(in int64) int64 {
		for _, a := range outer {
			a.SetLimit(in)
		}
		// Enough frames at rate for the file's frames and the filters' delay
		// to come out of the RateSink: ceil((in + trip) rate / fileRate).
		fr := int64(f.SampleRateHz)
		return ((in+trip)*int64(rate) + fr - 1) / fr
	}
	*src = rs
	return rs, outer, nil
}
