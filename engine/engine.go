package engine

import (
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/sepd/sepd/separate"
	"github.com/sepd/sepd/stft"
)

// Params is what an Engine needs besides the bases.
type Params struct {
	FFTSize    int
	HopSamples int
	Window     stft.WindowKind
	// LatencyWindow is stft.latency: the low-delay STFT's synthesis window in
	// samples (stft.NewLowDelaySynthesizer). 0 or FFTSize: the symmetric STFT.
	LatencyWindow int
	Channels      int
	Separation    separate.Params
}

// Engine turns one hop of input per channel into one hop per source and channel.
// Create it with New; one goroutine owns it.
type Engine struct {
	p      Params
	bases  *separate.Bases
	an     []*stft.Analyzer      // [channel]
	syn    [][]*stft.Synthesizer // [source][channel]
	sep    *separate.Separator
	spec   [][]complex128 // [channel][bin]
	masked []complex128   // [bin]
	mag    []float64      // [bin]
	masks  [][]float64    // [source][bin]
	stats  *Stats
	delay  int // the synthesizers' stream delay
	lat    int // the synthesizers' algorithmic latency
}

// New validates p against the bases and builds an Engine with all its buffers.
// It allocates; Process never does.
func New(b *separate.Bases, p Params) (*Engine, error) {
	if b == nil {
		return nil, errors.New("engine: no bases")
	}
	if p.Channels < 1 {
		return nil, fmt.Errorf("engine: channels must be at least 1, got %d", p.Channels)
	}
	if p.Window == "" {
		p.Window = stft.Hann
	}
	if p.LatencyWindow == 0 {
		p.LatencyWindow = p.FFTSize
	}
	bins := p.FFTSize/2 + 1
	if b.F() != bins {
		return nil, fmt.Errorf("engine: bases have %d bins per column but fft_size %d implies %d", b.F(), p.FFTSize, bins)
	}
	sep, err := separate.NewSeparator(b, p.Separation)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	e := &Engine{p: p, bases: b, sep: sep, stats: &Stats{sourceLevels: make([]atomic.Uint64, b.NumSources())}}
	storeLevel(&e.stats.inputLevel, Silence)
	for i := range e.stats.sourceLevels {
		storeLevel(&e.stats.sourceLevels[i], Silence)
	}
	for c := 0; c < p.Channels; c++ {
		a, err := stft.NewLowDelayAnalyzer(p.FFTSize, p.HopSamples, p.LatencyWindow, p.Window)
		if err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
		e.an = append(e.an, a)
		e.spec = append(e.spec, make([]complex128, bins))
	}
	S := b.NumSources()
	for s := 0; s < S; s++ {
		row := make([]*stft.Synthesizer, p.Channels)
		for c := range row {
			row[c], err = stft.NewLowDelaySynthesizer(p.FFTSize, p.HopSamples, p.LatencyWindow, p.Window)
			if err != nil {
				return nil, fmt.Errorf("engine: %w", err)
			}
		}
		e.syn = append(e.syn, row)
		e.masks = append(e.masks, make([]float64, bins))
	}
	if S == 0 {
		return nil, errors.New("engine: bases have no source")
	}
	e.delay, e.lat = e.syn[0][0].DelaySamples(), e.syn[0][0].LatencySamples()
	e.masked = make([]complex128, bins)
	e.mag = make([]float64, bins)
	return e, nil
}

// Params returns the parameters the Engine was built with.
func (e *Engine) Params() Params { return e.p }

// Bases returns the bases the Engine separates with.
func (e *Engine) Bases() *separate.Bases { return e.bases }

// Separator returns the Engine's separator (to read activations between frames).
func (e *Engine) Separator() *separate.Separator { return e.sep }

// Sources returns the number of sources.
func (e *Engine) Sources() int { return len(e.syn) }

// Channels returns the number of input (and output) channels.
func (e *Engine) Channels() int { return e.p.Channels }

// HopSamples is the number of samples per channel that Process takes and gives.
func (e *Engine) HopSamples() int { return e.p.HopSamples }

// DelaySamples is the stream delay: output sample i is input sample
// i-DelaySamples. It is the synthesizers' (stft.Synthesizer.DelaySamples):
// fft_size - hop for the symmetric STFT, latency - hop for the low-delay one.
func (e *Engine) DelaySamples() int { return e.delay }

// LatencySamples is the algorithmic latency of a live run, the synthesizers'
// (stft.Synthesizer.LatencySamples): fft_size - 1, or latency - 1 for the
// low-delay STFT.
func (e *Engine) LatencySamples() int { return e.lat }

// Stats returns the Engine's counters; safe to read from any goroutine.
func (e *Engine) Stats() *Stats { return e.stats }

// Frames is the number of frames processed so far; safe from any goroutine.
func (e *Engine) Frames() uint64 { return e.stats.Frames.Load() }

// NonFinite counts input samples that were NaN or Inf and were replaced by 0;
// safe from any goroutine.
func (e *Engine) NonFinite() uint64 { return e.stats.NonFinite.Load() }

// LastIterations is the number of iterations the last frame ran; safe from any goroutine.
func (e *Engine) LastIterations() int { return int(e.stats.LastIterations.Load()) }

// Masks returns the masks of the last frame, [source][bin]. The slices are the
// Engine's own: read them between frames, on the goroutine that calls Process.
func (e *Engine) Masks() [][]float64 { return e.masks }

// Spectrum returns the last frame's spectrum of channel c (the Engine's own buffer).
func (e *Engine) Spectrum(c int) []complex128 { return e.spec[c] }

// Process analyses one hop of input, in[c][:HopSamples], separates it and writes
// out[s][c][:HopSamples]. NaN and Inf input samples are replaced by zero in place
// (and counted) so that one bad sample cannot poison the state. It updates Stats
// with atomics, allocates nothing, and panics if the buffers have the wrong shape.
func (e *Engine) Process(out [][][]float64, in [][]float64) {
	if len(in) != e.p.Channels || len(out) != len(e.syn) {
		panic("engine: buffer shape mismatch")
	}
	start := time.Now()
	for c, x := range in {
		e.analyze(c, e.spec[c], x)
	}
	magnitude(e.mag, e.spec)
	e.sep.Process(e.masks, e.mag)
	for c := range e.spec {
		e.synthesize(c, out, e.masks, e.spec[c], e.masked)
	}
	e.levels(out, in)
	e.stats.observe(start, time.Now(), e.sep.LastIterations())
}

// The steps of Process, which RunParallel runs on several goroutines: the
// analysis and the synthesis of a channel touch only that channel's state
// (e.an[c], e.syn[s][c]), the projection only e.sep.

// analyze replaces NaN and Inf in x by zero (counting them) and analyses
// one hop of channel c into spec.
func (e *Engine) analyze(c int, spec []complex128, x []float64) {
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			x[i] = 0
			e.stats.NonFinite.Add(1)
		}
	}
	e.an[c].Analyze(spec, x)
}

// magnitude sets mag[f] = sqrt(mean_c |spec[c][f]|^2).
func magnitude(mag []float64, spec [][]complex128) {
	inv := 1 / float64(len(spec))
	for f := range mag {
		var p float64
		for c := range spec {
			z := spec[c][f]
			p += real(z)*real(z) + imag(z)*imag(z)
		}
		mag[f] = math.Sqrt(p * inv)
	}
}

// synthesize writes out[s][c] for every source s: masks[s] times spec (channel
// c's spectrum), through the synthesizer of (s, c); masked is scratch.
func (e *Engine) synthesize(c int, out [][][]float64, masks [][]float64, spec, masked []complex128) {
	for s, row := range e.syn {
		m := masks[s]
		for f := range masked {
			masked[f] = complex(m[f], 0) * spec[f]
		}
		row[c].Synthesize(out[s][c], masked)
	}
}

// levels stores the input's and every source's level.
func (e *Engine) levels(out [][][]float64, in [][]float64) {
	storeLevel(&e.stats.inputLevel, levelDBFS(in))
	for s := range out {
		storeLevel(&e.stats.sourceLevels[s], levelDBFS(out[s]))
	}
}

// Reset clears all streaming state (analysis history, overlap-add tails, activations).
func (e *Engine) Reset() {
	for _, a := range e.an {
		a.Reset()
	}
	for _, row := range e.syn {
		for _, s := range row {
			s.Reset()
		}
	}
	e.sep.Reset()
}

// NewBlock allocates a [sources][channels][hop] output block for Process.
func (e *Engine) NewBlock() [][][]float64 {
	out := make([][][]float64, len(e.syn))
	for s := range out {
		out[s] = make([][]float64, e.p.Channels)
		for c := range out[s] {
			out[s][c] = make([]float64, e.p.HopSamples)
		}
	}
	return out
}
