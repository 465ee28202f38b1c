package audio

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The bridge protocol between Live (the daemon, "parent") and RunBridge (the
// child process `sepd audio-bridge --spec JSON`, which owns PortAudio).
//
// The child is started with:
//
//	argv:   Command... --spec JSON       JSON: bridgeSpec (the stream configs, defaults applied)
//	fd 0:   playback, parent -> child    binary blocks, see below
//	fd 1:   capture, child -> parent     binary blocks, see below
//	fd 2:   the child's log              lines, relayed to the parent's log without the "ALSA lib" noise
//	fd 3:   control, child -> parent     JSON lines: bridgeMsg
//
// A block is B = FramesPerBuffer frames (the same for every stream) of
// float32 little-endian samples, interleaved, with a tag:
//
//   - capture (fd 1): a uint32 little-endian tag, then B frames of
//     Input.Channels samples: frame 0 channel 0, frame 0 channel 1, ...,
//     frame 1 channel 0, ... The tag is the capture position where the block
//     ends (its first frame's + B), in frames modulo 2^24.
//   - playback (fd 0): B "wide" frames of C+1 float32 values each, C = sum of
//     Outputs[d].Channels: output device 0's channels first, then device
//     1's, and so on, and last the frame's tag: sample (frame i, device d,
//     channel c) is at index i*(C+1) + off[d] + c with off[d] =
//     Outputs[0].Channels + ... + Outputs[d-1].Channels, and the tag at
//     i*(C+1) + C. The tag is the capture position (as above) of the input
//     frame this output frame was made from: the daemon stamps the frames
//     that every writer has written with the positions of the frames Read
//     returned last, in order. It is an integer below 2^24, exact in float32,
//     or -1 for none (no capture). The child uses it to keep the lag fixed
//     (see relayPlayback).
//
// float32 is what PortAudio delivers and takes, and float32 -> float64 ->
// float32 is exact, so the relay is bit-exact.
//
// Control messages, one JSON object per line:
//
//	{"type":"ready","input":StreamInfo,"outputs":[StreamInfo...],"client":"sepd"}   once, every stream open
//	{"type":"error","kind":"no_device","error":"audio: no input device matches ..."}  an open failure (the child then exits 2) or a fatal one (exits 1)
//	{"type":"xruns","xruns":[0,0,0,0,0,0],"lag":1024,"timed":3840,"period":256}       every 250 ms: the child's cumulative counts, by XrunKind, the lags, the host's period
//
// lag, when present, is the capture-to-playback lag of the first output
// device measured over the interval, in frames: for each block played, the
// capture position at which it starts playing less its tag (the capture
// position it was made from), the smallest over the interval (a reading can
// be one period high, see relayPlayback). It is absent without capture,
// before the playback runs, and when no block was played. timed, when
// present, is the mean over the interval of the same blocks' lag from the
// input's converter to the output's by the callbacks' host times (timedLag):
// the devices' whole part of the latency, which the parent takes where the
// devices' reported latencies are not exact (not JACK; see
// Live.MeasuredLatencySamples). It is absent also while a stream has given
// no time.
//
// The kind of an error is "no_device" (ErrNoDevice), "sample_rate"
// (ErrSampleRate), "stalled" (ErrStalled), "restart_required"
// (ErrRestartRequired) or "" for anything else.
//
// The child exits 0 on stdin EOF or SIGTERM after draining its playback, and
// 1 at once when a stream stalls or the server goes away: it never waits for
// PortAudio (see ErrRestartRequired).

// bridgeSpec is what the parent hands the child in --spec.
type bridgeSpec struct {
	Input      *StreamConfig  `json:"input,omitempty"`
	Outputs    []StreamConfig `json:"outputs,omitempty"`
	ClientName string         `json:"client_name,omitempty"`
}

// bridgeMsg is one control line.
type bridgeMsg struct {
	Type    string       `json:"type"` // "ready", "error", "xruns"
	Input   *StreamInfo  `json:"input,omitempty"`
	Outputs []StreamInfo `json:"outputs,omitempty"`
	Client  string       `json:"client,omitempty"`
	Kind    string       `json:"kind,omitempty"`
	Error   string       `json:"error,omitempty"`
	Xruns   *XrunCounts  `json:"xruns,omitempty"`
	Lag     *int64       `json:"lag,omitempty"`
	Timed   *int64       `json:"timed,omitempty"`
	Period  int          `json:"period,omitempty"`
}

// lagMeter keeps the smallest lag observed since it was last taken, and
// the mean of the timed lags (see timedLag). Its methods may be called from
// any goroutine; they do not allocate.
type lagMeter struct {
	min atomic.Int64

	mu  sync.Mutex
	sum float64 // timed lags since the last take, frames
	n   int
}

const noLag = math.MaxInt64

func newLagMeter() *lagMeter {
	m := new(lagMeter)
	m.min.Store(noLag)
	return m
}

func (m *lagMeter) observe(v int64) {
	for {
		old := m.min.Load()
		if v >= old || m.min.CompareAndSwap(old, v) {
			return
		}
	}
}

// take returns the smallest lag since the last take and starts over.
func (m *lagMeter) take() (int64, bool) {
	v := m.min.Swap(noLag)
	return v, v != noLag
}

func (m *lagMeter) observeTimed(v float64) {
	m.mu.Lock()
	m.sum += v
	m.n++
	m.mu.Unlock()
}

// takeTimed returns the mean timed lag since the last take, rounded to a
// frame, and starts over.
func (m *lagMeter) takeTimed() (int64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n == 0 {
		return 0, false
	}
	v := int64(math.Round(m.sum / float64(m.n)))
	m.sum, m.n = 0, 0
	return v, true
}

// timedLag is the time in frames from the moment capture frame first (a
// capture position modulo tagMod, of a block captured shortly before now:
// its tag less a block, since a tag is where the block ends) was at the
// input's converter to the moment playback ring frame pos will
// be at the output's, by the host times of the streams' callbacks (see
// stream.clock), and false while either stream has not given a time. It is
// the devices' whole part of the latency: their buffers, the sound server's
// and sepd's. Through PortAudio's ALSA host the times come from ALSA's
// delay (snd_pcm_status), which through a sound server's plugin is what the
// server says of its stream; unlike the streams' reported latencies (their
// whole buffers) it follows how full the buffers are kept. It does not
// allocate.
func timedLag(capt, play *stream, first int64, pos uint64) (float64, bool) {
	captured := int64(capt.frames.Load())
	full := captured - wrapTag(captured-first) // first's whole capture position
	if full < 0 {
		return 0, false
	}
	in, ok := capt.clockAt(uint64(full))
	if !ok {
		return 0, false
	}
	out, ok := play.clockAt(pos)
	if !ok {
		return 0, false
	}
	return (out - in) * float64(play.cfg.SampleRateHz), true
}

// bridgeXrunEvery is how often the child sends its xrun counts; the parent
// also takes these messages as the child's heartbeat.
const bridgeXrunEvery = 250 * time.Millisecond

var errorKinds = []struct {
	name string
	err  error
}{
	{"no_device", ErrNoDevice}, {"sample_rate", ErrSampleRate},
	{"stalled", ErrStalled}, {"restart_required", ErrRestartRequired},
}

func errorKind(err error) string {
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	return ""
}

// bridgeError is an error the child reported: its text is the child's own
// message, and errors.Is sees the sentinel its kind names.
type bridgeError struct {
	msg  string
	kind error // nil for none
}

func (e *bridgeError) Error() string { return e.msg }
func (e *bridgeError) Unwrap() error { return e.kind }

func newBridgeError(kind, msg string) error {
	e := &bridgeError{msg: msg}
	for _, k := range errorKinds {
		if k.name == kind {
			e.kind = k.err
		}
	}
	return e
}

// blockFrames returns the common FramesPerBuffer and rate of the streams (with
// defaults applied), or an error when they differ.
func (s *bridgeSpec) blockFrames() (block, rate int, err error) {
	var all []StreamConfig
	if s.Input != nil {
		all = append(all, *s.Input)
	}
	all = append(all, s.Outputs...)
	if len(all) == 0 {
		return 0, 0, errors.New("audio: live: no input and no output device")
	}
	for i, c := range all {
		if i == 0 {
			block, rate = c.FramesPerBuffer, c.SampleRateHz
			continue
		}
		if c.FramesPerBuffer != block || c.SampleRateHz != rate {
			return 0, 0, fmt.Errorf("audio: live: device %q runs %d frames per buffer at %d Hz, device %q %d at %d Hz: every device must use the same",
				all[0].Device, block, rate, c.Device, c.FramesPerBuffer, c.SampleRateHz)
		}
	}
	return block, rate, nil
}

// RunBridge is the child process of StartLive (`sepd audio-bridge`): it opens
// the streams that spec (the JSON StartLive passes in --spec) names, reports
// them on control, and relays capture blocks to stdout and playback blocks
// from stdin, until stdin ends or ctx is done (SIGTERM): then it drains the
// playback, closes the streams and returns nil. It returns an error at once,
// without closing anything, when a stream stalls or the audio server goes
// away (the caller must then exit the process: PortAudio cannot be used
// again, see ErrRestartRequired), or when a stream cannot be opened. The
// protocol is described in live_bridge.go. log receives the child's own
// messages. It allocates at start; the relays do not allocate per block.
func RunBridge(ctx context.Context, spec string, stdin io.Reader, stdout, control, log io.Writer) error {
	var s bridgeSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		return fmt.Errorf("audio: bridge: bad --spec: %w", err)
	}
	block, _, err := s.blockFrames()
	if err != nil {
		return err
	}
	ctl := &ctlWriter{enc: json.NewEncoder(control), w: control, buf: make([]byte, 0, 256)}
	fail := func(err error) error {
		ctl.send(bridgeMsg{Type: "error", Kind: errorKind(err), Error: err.Error()})
		return err
	}
	if s.ClientName != "" {
		SetJACKClientName(s.ClientName)
	}
	var x Xruns
	capt, plays, err := openFitted(&s, &x, log)
	if err != nil {
		return fail(err)
	}
	writers := make([]*PlaybackWriter, len(plays))
	for i, p := range plays {
		chans := make([]int, p.cfg.Channels)
		for c := range chans {
			chans[c] = c
		}
		if writers[i], err = p.Writer(chans...); err != nil {
			return fail(err)
		}
	}
	ready := bridgeMsg{Type: "ready"}
	if capt != nil {
		in := capt.Info()
		ready.Input = &in
	}
	for _, p := range plays {
		ready.Outputs = append(ready.Outputs, p.Info())
	}
	ready.Client, _ = JACKClientName()
	if err := ctl.send(ready); err != nil {
		return fmt.Errorf("audio: bridge: control pipe: %w", err)
	}

	fatal := make(chan error, 2+len(plays)) // every sender sends once
	if capt != nil {
		go func() { fatal <- relayCapture(capt, stdout, block) }()
	}
	stdinDone := make(chan error, 1)
	lag := newLagMeter()
	go func() { stdinDone <- relayPlayback(stdin, writers, capt, block, lag) }()
	stalled := func(ch <-chan struct{}, what func() error) {
		<-ch
		fatal <- what()
	}
	if capt != nil {
		go stalled(capt.Stalled(), func() error { return capt.cur.errStalled() })
	}
	for _, p := range plays {
		go stalled(p.Stalled(), func() error { return p.cur.errStalled() })
	}
	tick := time.NewTicker(bridgeXrunEvery)
	defer tick.Stop()
	for {
		select {
		case err := <-fatal:
			return fail(err)
		case err := <-stdinDone:
			if err != nil {
				if errors.Is(err, ErrStalled) {
					return fail(err)
				}
				fmt.Fprintf(log, "audio bridge: playback input: %v\n", err)
			}
			return bridgeStop(plays, capt, log)
		case <-ctx.Done():
			return bridgeStop(plays, capt, log)
		case <-tick.C:
			v, ok := lag.take()
			tv, tok := lag.takeTimed()
			if err := ctl.sendXruns(x.Snapshot(), v, ok, tv, tok, hostPeriod(capt, plays)); err != nil {
				return fmt.Errorf("audio: bridge: control pipe: %w", err) // the parent is gone
			}
		}
	}
}

// Fitting a sound server's plugin: how long the streams are watched, how
// many device xruns in that time mean the buffer is too short, and how far
// the latency is doubled.
const (
	fitWatch   = 500 * time.Millisecond // or 8 periods, when longer
	fitXruns   = 2
	fitMaxTime = 400 * time.Millisecond
)

// openFitted opens s's streams, counting into x, and waits until each has
// seen its host's period (at once on a running server; a stream that never
// calls back is left to its watchdog). Where a stream is a sound server's
// ALSA plugin at its default latency (see serverPlugin), it then watches
// the streams for fitWatch or 8 periods: a plugin whose buffer is shorter
// than the server's period drops or starves at every period (PipeWire's at quantum
// 2048, 42.7 ms, with the default 34.8 ms: an output underflow per quantum,
// measured), so with fitXruns device xruns or more it closes every stream
// and opens them again with those plugins' latency doubled, up to
// fitMaxTime, noting each step on log. What the watch counted is taken off
// x and what it captured is flushed. An error closes what was opened.
func openFitted(s *bridgeSpec, x *Xruns, log io.Writer) (*Capture, []*Playback, error) {
	// cfgs[0] is the input's, if any; fitted: the latency is one of ours.
	var cfgs []StreamConfig
	if s.Input != nil {
		cfgs = append(cfgs, *s.Input)
	}
	cfgs = append(cfgs, s.Outputs...)
	fitted := make([]bool, len(cfgs))
	for i := range cfgs {
		cfgs[i].Xruns = x
	}
	for {
		var capt *Capture
		var plays []*Playback
		var streams []*stream // as cfgs
		closeAll := func() {
			if capt != nil {
				capt.Close()
			}
			for _, p := range plays {
				p.Close()
			}
		}
		for i, c := range cfgs {
			if i == 0 && s.Input != nil {
				var err error
				if capt, err = OpenCapture(c); err != nil {
					return nil, nil, err
				}
				streams = append(streams, capt.cur)
				continue
			}
			p, err := OpenPlayback(c)
			if err != nil {
				closeAll()
				return nil, nil, err
			}
			plays = append(plays, p)
			streams = append(streams, p.cur)
		}
		waitPeriods(capt, plays, 2*time.Second)
		fit := func(i int) bool {
			return (cfgs[i].Latency == 0 && streams[i].plugin) || (fitted[i] && cfgs[i].Latency < fitMaxTime)
		}
		var fitting []time.Duration
		for i := range cfgs {
			if fit(i) {
				fitting = append(fitting, streams[i].info.DeviceLatency)
			}
		}
		if len(fitting) == 0 {
			return capt, plays, nil
		}
		watch := fitWatch
		if per := hostPeriod(capt, plays); per > 0 {
			watch = max(watch, time.Duration(8*per)*time.Second/time.Duration(cfgs[0].SampleRateHz))
		}
		before := x.Snapshot()
		time.Sleep(watch)
		d := x.Snapshot().Sub(before)
		x.sub(d)
		if dev := d[InputOverflow] + d[OutputUnderflow]; dev < fitXruns {
			if capt != nil {
				capt.Flush()
			}
			return capt, plays, nil
		}
		closeAll()
		for i := range cfgs {
			if fit(i) {
				cfgs[i].Latency = min(2*max(streams[i].info.DeviceLatency, cfgs[i].Latency, time.Millisecond), fitMaxTime)
				fitted[i] = true
			}
		}
		fmt.Fprintf(log, "audio bridge: %d device xruns in %v on a sound server's plugin at latency %v: its buffer is shorter than the server's period; opening again at twice that\n",
			d[InputOverflow]+d[OutputUnderflow], watch, fitting)
	}
}

// hostPeriod is the host's buffer size the streams last saw (the capture's,
// else the first playback's), 0 before any callback.
func hostPeriod(capt *Capture, plays []*Playback) int {
	if capt != nil {
		return int(capt.cur.period.Load())
	}
	if len(plays) > 0 {
		return int(plays[0].cur.period.Load())
	}
	return 0
}

// waitPeriods waits until every stream has seen its host's period, or for
// at most d.
func waitPeriods(capt *Capture, plays []*Playback, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		seen := capt == nil || capt.cur.period.Load() > 0
		for _, p := range plays {
			seen = seen && p.cur.period.Load() > 0
		}
		if seen {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// bridgeStop drains the playback (what is in the rings, bounded by
// the rings' duration plus half a second), then closes every stream.
func bridgeStop(plays []*Playback, capt *Capture, log io.Writer) error {
	for _, p := range plays {
		d := time.Duration(p.cur.ring.Cap())*time.Second/time.Duration(p.cfg.SampleRateHz) + 500*time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), d)
		err := p.Drain(ctx)
		cancel()
		if err != nil {
			fmt.Fprintf(log, "audio bridge: draining %s: %v\n", p.cur.what(), err)
			if errors.Is(err, ErrStalled) {
				return err // the server is gone: closing could hang
			}
		}
	}
	var errs []error
	if capt != nil {
		errs = append(errs, capt.Close())
	}
	for _, p := range plays {
		err := p.Close()
		errs = append(errs, err)
		if errors.Is(err, ErrRestartRequired) {
			break // exit now; PortAudio would block
		}
	}
	return errors.Join(errs...)
}

// tagMod: tags are capture positions in frames modulo 2^24, the largest
// range of integers float32 holds exactly (349 s at 48 kHz; only differences
// of a few blocks are ever taken).
const tagMod = 1 << 24

// wrapTag maps a difference of two tags into [-tagMod/2, tagMod/2).
func wrapTag(d int64) int64 {
	d %= tagMod
	if d >= tagMod/2 {
		d -= tagMod
	} else if d < -tagMod/2 {
		d += tagMod
	}
	return d
}

// relayCapture copies captured blocks to w, each with its tag (see the
// protocol above), until Read or the write fails.
func relayCapture(c *Capture, w io.Writer, block int) error {
	ch := c.Format().Channels
	buf := make([][]float64, ch)
	for i := range buf {
		buf[i] = make([]float64, block)
	}
	out := make([]byte, 4+4*block*ch)
	c.Flush() // what arrived while the other streams opened is stale: see Capture.Flush
	s := c.cur
	for {
		if _, err := c.Read(buf); err != nil {
			return err
		}
		// The tag is the capture position where the block ends (the
		// ring's oldest frame): what the bridge's lags were calibrated
		// with (see relayPlayback), one block more than its first frame's.
		pos := s.position()
		binary.LittleEndian.PutUint32(out, uint32(pos%tagMod))
		for j, b := range buf {
			for i, v := range b {
				binary.LittleEndian.PutUint32(out[4+4*(i*ch+j):], math.Float32bits(float32(v)))
			}
		}
		if _, err := w.Write(out); err != nil {
			return fmt.Errorf("audio: bridge: writing capture: %w", err)
		}
	}
}

// relayPlayback reads wide blocks from r and writes each device's part to
// its writer, until r ends (nil) or fails.
//
// It keeps the lag from capture to playback fixed at margin = the stream's
// prefill (with FollowHost: followPrefill at the host's current period)
// rounded up to whole blocks, which is what the stream's priming gives when
// every block crosses the pipes and the daemon in time. It can drift from
// that for good: after an underrun (a late block, a server xrun) the stream
// primes again and plays everything later by the gap; a burst at the start
// primes it with too much; a capture block lost on the way (a ring overrun)
// makes it play everything sooner. The block's tag is the capture position
// of its first frame, so the relay knows when it will play (the capture
// position now, plus what the ring holds ahead of it, plus the period being
// played) and when it should. A reading can be off by a period (or a block,
// when blocks are longer: the quantum q, lagQuantum): when the blocks of
// lockRun quanta in a row would play late by n quanta, n quanta are dropped,
// this block first (RingOverrun, n); early, n quanta of silence are written
// before it (RingUnderrun, n). Only the tag is compared, not the ring's
// level, so blocks that take more than a period to arrive (a busy engine)
// change nothing while they are in time. A late block with nothing queued
// ahead of it is not dropped: then the blocks cannot arrive in time for the
// margin (the engine and the pipes take longer than the prefill allows), and
// dropping would only make the next underrun; the lag then stays longer. So
// the prefill should cover the engine's hop (when it is longer than a
// block) and its time per // hop. Without capture (tags < 0), or before the stream plays, there is no
// correction. A host other than JACK has its capture and its playback woken
// apart, in wake-ups whose size hostPeriod learns as they come: there the
// quantum is two periods, and no correction is made for settle seconds
// after the period changed (and after the start), so that the first
// wake-ups, smaller than the largest, do not move the lag that the larger
// ones would move back. The lag of each block
// of the first device (plays - tag, in frames) goes to lag.
func relayPlayback(r io.Reader, writers []*PlaybackWriter, capt *Capture, block int, lag *lagMeter) error {
	const lockRun = 3 // periods (or blocks, when larger); a single reading can be one period off (see below)
	wide := 0
	bufs := make([][][]float64, len(writers))
	zero := make([]float64, block)
	silence := make([][]float64, 0, 64)
	for d, w := range writers {
		bufs[d] = make([][]float64, len(w.Channels()))
		for c := range bufs[d] {
			bufs[d][c] = make([]float64, block)
		}
		wide += len(w.Channels())
		for len(silence) < len(w.Channels()) {
			silence = append(silence, zero)
		}
	}
	const settle = 1                    // seconds without correction after a period change (not JACK)
	run := make([]int, len(writers))    // > 0: blocks late in a row; < 0: early
	drop := make([]int64, len(writers)) // frames still to drop to come back to the margin
	stride := wide + 1                  // the tag column
	in := make([]byte, 4*block*stride)
	lastQ, quiet := 0, 0 // the last quantum; blocks to go without correction
	apart := capt != nil && capt.cur.info.Device.HostAPIType != "JACK"
	for {
		if _, err := io.ReadFull(r, in); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return nil
			}
			return err
		}
		tag := int64(math.Float32frombits(binary.LittleEndian.Uint32(in[4*wide:])))
		var captured int64 // the capture position now
		period := block
		if capt != nil {
			// Read between the capture and the playback callbacks of one
			// cycle (microseconds of each period) this is one period early:
			// lockRun absorbs that.
			captured = int64(capt.cur.frames.Load())
			if p := int(capt.cur.period.Load()); p > 0 {
				period = p
			}
		}
		q := lagQuantum(period, block)
		if apart {
			// Capture and playback wake apart, each a period at a time: a
			// reading can be off by a period either way.
			q = lagQuantum(2*period, block)
			if q != lastQ {
				quiet = settle * capt.cfg.SampleRateHz / block
			}
		}
		lastQ = q
		off := 0
		var timedFrom *stream // the first device's stream, when it took this block
		var before uint64     // its ring's write position before the block
		for d, w := range writers {
			for c, b := range bufs[d] {
				for i := range b {
					b[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(in[4*(i*stride+off+c):])))
				}
			}
			off += len(bufs[d])
			s := w.p.cur
			if tag < 0 || capt == nil || !s.primed.Load() {
				run[d] = 0
			} else {
				margin := marginFrames(s.prefill(period), block)
				level := s.ring.Len()
				plays := captured + int64(level) + int64(period)
				if d == 0 {
					lag.observe(wrapTag(plays - tag))
				}
				late := wrapTag(plays-tag-int64(margin)) / int64(q)
				switch {
				case late > 0:
					run[d] = max(run[d], 0) + 1
				case late < 0:
					run[d] = min(run[d], 0) - 1
				default:
					run[d] = 0
				}
				if quiet > 0 {
					run[d] = 0
				}
				if drop[d] > 0 && level >= block {
					drop[d] -= int64(block)
					run[d] = 0
					continue
				}
				if run[d] >= lockRun*q/block && level >= block {
					// Late by late quanta: drop that much, this block first.
					run[d] = 0
					w.p.cfg.Xruns.Add(RingOverrun, uint64(late))
					drop[d] = late*int64(q) - int64(block)
					continue
				}
				if run[d] <= -lockRun*q/block {
					run[d] = 0
					w.p.cfg.Xruns.Add(RingUnderrun, uint64(-late))
					for pad := -late * int64(q); pad > 0; pad -= int64(block) {
						if err := w.Write(silence[:len(bufs[d])]); err != nil {
							return err
						}
					}
				}
			}
			if d == 0 {
				timedFrom, before = w.p.cur, w.p.cur.ring.writePos.Load()
			}
			if err := w.Write(bufs[d]); err != nil {
				return err
			}
		}
		// The first device's block is in its ring once every writer of that
		// device had it: then its first frame is at ring position
		// writePos - block.
		if s := timedFrom; s != nil && tag >= 0 && capt != nil && s == writers[0].p.cur && s.primed.Load() {
			if w := s.ring.writePos.Load(); w-before >= uint64(block) {
				if v, ok := timedLag(capt.cur, s, tag-int64(block), w-uint64(block)); ok {
					lag.observeTimed(v)
				}
			}
		}
		if quiet > 0 {
			quiet--
		}
	}
}

// ctlWriter writes control lines from several goroutines.
type ctlWriter struct {
	mu  sync.Mutex
	enc *json.Encoder // on w
	w   io.Writer
	buf []byte // sendXruns's line
}

func (c *ctlWriter) send(m bridgeMsg) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.enc.Encode(m)
}

// sendXruns sends the periodic "xruns" line, as send would encode it, without
// allocating: the bridge sends one every 250 ms for as long as it runs, and
// a process that allocates a little all the time grows its resident memory
// until its first collection, hours later (the bridge's RSS rose 42 KiB/min
// over a 30-minute soak, its heap never reaching the 4 MB of a first GC).
func (c *ctlWriter) sendXruns(counts XrunCounts, lag int64, hasLag bool, timed int64, hasTimed bool, period int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := appendXrunsMsg(c.buf[:0], &counts, lag, hasLag, timed, hasTimed, period)
	c.buf = b
	_, err := c.w.Write(b)
	return err
}

// appendXrunsMsg appends the JSON line of bridgeMsg{Type: "xruns", Xruns:
// counts, Lag: &lag if hasLag, Timed: &timed if hasTimed, Period: period} to b.
func appendXrunsMsg(b []byte, counts *XrunCounts, lag int64, hasLag bool, timed int64, hasTimed bool, period int) []byte {
	b = append(b, `{"type":"xruns","xruns":[`...)
	for i, n := range counts {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, n, 10)
	}
	b = append(b, ']')
	if hasLag {
		b = append(b, `,"lag":`...)
		b = strconv.AppendInt(b, lag, 10)
	}
	if hasTimed {
		b = append(b, `,"timed":`...)
		b = strconv.AppendInt(b, timed, 10)
	}
	if period != 0 {
		b = append(b, `,"period":`...)
		b = strconv.AppendInt(b, int64(period), 10)
	}
	return append(b, "}\n"...)
}
