package audio

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"
)

// XrunKind is a kind of audio glitch that Xruns counts.
type XrunKind int

const (
	// InputOverflow: the device or server dropped input before the capture
	// callback saw it (PortAudio's InputOverflow callback flag; through JACK,
	// any server xrun).
	InputOverflow XrunKind = iota
	// OutputUnderflow: the device or server played a gap (PortAudio's
	// OutputUnderflow flag; through JACK, any server xrun).
	OutputUnderflow
	// RingOverrun: a ring was full. Capture: the engine fell behind and the
	// oldest captured frames were dropped. Playback: the engine wrote faster
	// than the device plays and the newest frames were dropped.
	RingOverrun
	// RingUnderrun: the playback callback found fewer frames than the device
	// asked for and played silence for the rest.
	RingUnderrun
	// DeadlineMissed: the engine took longer than a hop to process one
	// (counted by the engine).
	DeadlineMissed
	// Reconnect: a device stream was closed and opened again.
	Reconnect

	// NumXrunKinds is the number of kinds; XrunCounts has one entry per kind.
	NumXrunKinds = int(iota)
)

var xrunNames = [NumXrunKinds]string{
	"input_overflow", "output_underflow", "ring_overrun", "ring_underrun", "deadline_missed", "reconnect",
}

// String returns the kind's snake_case name, e.g. "ring_overrun", usable as a
// metric label value.
func (k XrunKind) String() string {
	if k < 0 || int(k) >= NumXrunKinds {
		return fmt.Sprintf("XrunKind(%d)", int(k))
	}
	return xrunNames[k]
}

// Xruns counts glitches by kind with atomics: the audio callbacks and the
// engine increment, a metrics collector or XrunReporter reads, nothing locks.
// The zero value is ready to use; an Xruns must not be copied after first use.
type Xruns struct {
	n [NumXrunKinds]atomic.Uint64
}

// Add adds n events of kind k. It does not allocate; it is safe to call from an
// audio callback. It panics if k is not a valid kind.
func (x *Xruns) Add(k XrunKind, n uint64) { x.n[k].Add(n) }

// Inc adds one event of kind k, like Add(k, 1).
func (x *Xruns) Inc(k XrunKind) { x.n[k].Add(1) }

// sub takes c off the counts (what a stream's fitting counted, see
// openFitted).
func (x *Xruns) sub(c XrunCounts) {
	for k, v := range c {
		x.n[k].Add(-v)
	}
}

// Load returns the count of kind k. It does not allocate. It panics if k is not
// a valid kind.
func (x *Xruns) Load(k XrunKind) uint64 { return x.n[k].Load() }

// Snapshot returns all counts. Each count is read atomically; the set is not
// one instant (a count may move while the next is read). It does not allocate.
func (x *Xruns) Snapshot() XrunCounts {
	var c XrunCounts
	for k := range c {
		c[k] = x.n[k].Load()
	}
	return c
}

// XrunCounts is a snapshot of Xruns, indexed by XrunKind.
type XrunCounts [NumXrunKinds]uint64

// Total returns the sum over all kinds.
func (c XrunCounts) Total() uint64 {
	var t uint64
	for _, v := range c {
		t += v
	}
	return t
}

// Own returns the xruns of the program's own making: ring over- and
// underruns and missed deadlines.
func (c XrunCounts) Own() uint64 {
	return c[RingOverrun] + c[RingUnderrun] + c[DeadlineMissed]
}

// Server returns the xruns that the devices or the audio server reported:
// the larger of InputOverflow and OutputUnderflow (through JACK, PortAudio
// raises both flags for one server xrun).
func (c XrunCounts) Server() uint64 {
	return max(c[InputOverflow], c[OutputUnderflow])
}

// Sub returns c - prev per kind (the events between two snapshots).
func (c XrunCounts) Sub(prev XrunCounts) XrunCounts {
	for k := range c {
		c[k] -= prev[k]
	}
	return c
}

// String lists the non-zero counts, e.g. "ring_overrun=2 reconnect=1", or
// "none". It allocates.
func (c XrunCounts) String() string {
	var b strings.Builder
	for k, v := range c {
		if v == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", XrunKind(k), v)
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// XrunReporter logs a summary of new xruns, at most once per interval and only
// when a count changed. It runs off the audio path (it allocates when it logs).
type XrunReporter struct {
	x        *Xruns
	log      *slog.Logger
	interval time.Duration
	last     XrunCounts
	lastLog  time.Time

	// Hint, when set, is logged once (Warn, with Hint as the message) when
	// the device itself dropped or starved (InputOverflow, OutputUnderflow)
	// in HintAfter records in a row, each within two intervals of the last:
	// a steady stream of them, which says the device's buffer is too short,
	// not a busy moment. HintAfter <= 0 means 5.
	Hint      string
	HintAfter int
	devRun    int  // records in a row with device xruns
	hinted    bool // Hint was logged
}

// NewXrunReporter returns a reporter of x to log; interval <= 0 means one
// second. The counts at the time of the call are the baseline.
func NewXrunReporter(x *Xruns, log *slog.Logger, interval time.Duration) *XrunReporter {
	if interval <= 0 {
		interval = time.Second
	}
	return &XrunReporter{x: x, log: log, interval: interval, last: x.Snapshot()}
}

// Poll logs one Warn record with the new counts per kind since the last record
// and the totals, if any count changed and at least the interval has passed
// since the last record; it reports whether it logged. now is the current
// time (a parameter so that tests need no clock).
func (r *XrunReporter) Poll(now time.Time) bool {
	if !r.lastLog.IsZero() && now.Sub(r.lastLog) < r.interval {
		return false
	}
	cur := r.x.Snapshot()
	if cur == r.last {
		return false
	}
	d := cur.Sub(r.last)
	attrs := make([]any, 0, 2*NumXrunKinds+2)
	for k, v := range d {
		if v != 0 {
			attrs = append(attrs, XrunKind(k).String(), v)
		}
	}
	attrs = append(attrs, "total", cur.String())
	r.log.Warn("audio xruns", attrs...)
	if d[InputOverflow]+d[OutputUnderflow] == 0 || (!r.lastLog.IsZero() && now.Sub(r.lastLog) > 2*r.interval) {
		r.devRun = 0
	}
	if d[InputOverflow]+d[OutputUnderflow] > 0 {
		r.devRun++
	}
	after := r.HintAfter
	if after <= 0 {
		after = 5
	}
	if r.Hint != "" && !r.hinted && r.devRun >= after {
		r.log.Warn(r.Hint)
		r.hinted = true
	}
	r.last, r.lastLog = cur, now
	return true
}

// Run polls every interval/4 until ctx is done, so a burst is reported within
// about 1.25 intervals of its start and never more often than once per
// interval. Run it in its own goroutine; it returns ctx.Err().
func (r *XrunReporter) Run(ctx context.Context) error {
	t := time.NewTicker(r.interval / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			r.Poll(time.Now().Add(r.interval)) // flush what is pending
			return ctx.Err()
		case now := <-t.C:
			r.Poll(now)
		}
	}
}
