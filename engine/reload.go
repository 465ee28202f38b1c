package engine

import (
	"fmt"

	"github.com/sepd/sepd/separate"
)

// Successor builds, off the audio path, an Engine that continues e with new bases
// and separation parameters but the same STFT and channels: it shares e's analyzers
// (so the spectrum history goes on) and, for every source whose name e also has,
// that source's synthesizers (so its overlap-add tail goes on: no gap, no click). New
// sources start with an empty tail. Activations and free bases are carried over by
// name when the new engine is adopted (Adopt). Until then e keeps running unchanged;
// after that e must not be used again.
func (e *Engine) Successor(b *separate.Bases, sp separate.Params) (*Engine, error) {
	p := e.p
	p.Separation = sp
	n, err := New(b, p)
	if err != nil {
		return nil, err
	}
	n.an = e.an
	n.spec = e.spec
	for s, name := range b.Names {
		for j, old := range e.bases.Names {
			if old == name {
				n.syn[s] = e.syn[j]
			}
		}
	}
	return n, nil
}

// Adopt takes over prev's per-source separation state (activations, free bases) by
// source name. It runs on the frame goroutine between two frames and allocates
// nothing. Counters are not carried over: each engine counts its own frames, and
// the metrics collector adds up the engines it has seen.
func (e *Engine) Adopt(prev *Engine) {
	e.sep.CarryOver(prev.sep)
	e.stats.LastFrameUnixNs.Store(prev.stats.LastFrameUnixNs.Load())
}

// SameStream reports whether an Engine with parameters p can be a Successor of e
// (same STFT and channels); otherwise the stream must be rebuilt.
func (e *Engine) SameStream(p Params) error {
	switch {
	case p.FFTSize != e.p.FFTSize:
		return fmt.Errorf("stft.fft_size changes from %d to %d", e.p.FFTSize, p.FFTSize)
	case p.HopSamples != e.p.HopSamples:
		return fmt.Errorf("stft.hop changes from %d to %d", e.p.HopSamples, p.HopSamples)
	case latencyWindow(p) != e.p.LatencyWindow: // e.p's is never 0 (New)
		return fmt.Errorf("stft.latency changes from %d to %d", e.p.LatencyWindow, latencyWindow(p))
	case p.Window != e.p.Window:
		return fmt.Errorf("stft.window changes from %s to %s", e.p.Window, p.Window)
	case p.Channels != e.p.Channels:
		return fmt.Errorf("input channels change from %d to %d", e.p.Channels, p.Channels)
	}
	return nil
}

// latencyWindow is p's synthesis window length, FFTSize when it is left 0.
func latencyWindow(p Params) int {
	if p.LatencyWindow == 0 {
		return p.FFTSize
	}
	return p.LatencyWindow
}
