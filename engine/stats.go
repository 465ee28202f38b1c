package engine

import (
	"math"
	"sync/atomic"
	"time"
)

// FrameTimeBucketsSeconds are the upper bounds of the per-frame processing-time
// histogram in Stats (the last bucket, +Inf, is implicit).
var FrameTimeBucketsSeconds = [...]float64{25e-6, 50e-6, 100e-6, 200e-6, 400e-6, 800e-6, 1.6e-3, 3.2e-3, 6.4e-3, 12.8e-3}

// Stats are an Engine's counters and gauges. The frame loop writes them with
// atomics only (no lock, no allocation); any goroutine may read them, e.g. a metrics
// collector at scrape time.
type Stats struct {
	Frames          atomic.Uint64
	IterationsTotal atomic.Uint64
	LastIterations  atomic.Int64
	NonFinite       atomic.Uint64 // NaN/Inf input samples replaced by zero
	// FrameTimeCounts[i] counts frames that took at most FrameTimeBucketsSeconds[i]
	// (non-cumulative); the last element counts the rest.
	FrameTimeCounts [len(FrameTimeBucketsSeconds) + 1]atomic.Uint64
	FrameTimeNanos  atomic.Uint64 // sum
	LastFrameUnixNs atomic.Int64
	inputLevel      atomic.Uint64   // float64 bits, dBFS
	sourceLevels    []atomic.Uint64 // float64 bits, dBFS
}

// Silence is the level reported for an all-zero block, in dBFS.
const Silence = -200.0

// InputLevelDBFS is the RMS level of the last input hop (all channels) in dBFS
// (0 dBFS: RMS of 1; a full-scale sine reads -3 dBFS).
func (s *Stats) InputLevelDBFS() float64 { return math.Float64frombits(s.inputLevel.Load()) }

// SourceLevelDBFS is the RMS level of source i's last output hop, in dBFS.
func (s *Stats) SourceLevelDBFS(i int) float64 {
	return math.Float64frombits(s.sourceLevels[i].Load())
}

// NumSources is the number of per-source levels.
func (s *Stats) NumSources() int { return len(s.sourceLevels) }

// LastFrame is when the last frame was processed (zero before the first).
func (s *Stats) LastFrame() time.Time {
	ns := s.LastFrameUnixNs.Load()
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

func (s *Stats) observe(start, end time.Time, its int) {
	d := end.Sub(start)
	i := 0
	for i < len(FrameTimeBucketsSeconds) && d.Seconds() > FrameTimeBucketsSeconds[i] {
		i++
	}
	s.FrameTimeCounts[i].Add(1)
	s.FrameTimeNanos.Add(uint64(d))
	s.IterationsTotal.Add(uint64(its))
	s.LastIterations.Store(int64(its))
	s.LastFrameUnixNs.Store(end.UnixNano())
	s.Frames.Add(1)
}

// levelDBFS is the RMS of blocks in dBFS.
func levelDBFS(blocks [][]float64) float64 {
	var sum float64
	var n int
	for _, b := range blocks {
		for _, v := range b {
			sum += v * v
		}
		n += len(b)
	}
	if n == 0 || sum == 0 {
		return Silence
	}
	return max(10*math.Log10(sum/float64(n)), Silence)
}

func storeLevel(a *atomic.Uint64, dB float64) { a.Store(math.Float64bits(dB)) }
