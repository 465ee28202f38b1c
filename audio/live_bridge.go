package audio

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
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
// float32 little-endian samples, interleaved:
//
//   - capture (fd 1): B frames of Input.Channels samples: frame 0 channel 0,
//     frame 0 channel 1, ..., frame 1 channel 0, ...
//   - playback (fd 0): B "wide" frames of C = sum of Outputs[d].Channels
//     samples each; within a wide frame output device 0's channels come first,
//     then device 1's, and so on: sample (frame i, device d, channel c) is at
//     index i*C + off[d] + c with off[d] = Outputs[0].Channels + ... +
//     Outputs[d-1].Channels.
//
// float32 is what PortAudio delivers and takes, and float32 -> float64 ->
// float32 is exact, so the relay is bit-exact.
//
// Control messages, one JSON object per line:
//
//	{"type":"ready","input":StreamInfo,"outputs":[StreamInfo...],"client":"sepd"}   once, every stream open
//	{"type":"error","kind":"no_device","error":"audio: no input device matches ..."}  an open failure (the child then exits 2) or a fatal one (exits 1)
//	{"type":"xruns","xruns":[0,0,0,0,0,0]}                                            every 250 ms: the child's cumulative counts, by XrunKind
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
	ctl := &ctlWriter{enc: json.NewEncoder(control)}
	fail := func(err error) error {
		ctl.send(bridgeMsg{Type: "error", Kind: errorKind(err), Error: err.Error()})
		return err
	}
	if s.ClientName != "" {
		SetJACKClientName(s.ClientName)
	}
	var x Xruns
	var capt *Capture
	if s.Input != nil {
		cfg := *s.Input
		cfg.Xruns = &x
		if capt, err = OpenCapture(cfg); err != nil {
			return fail(err)
		}
	}
	plays := make([]*Playback, len(s.Outputs))
	writers := make([]*PlaybackWriter, len(s.Outputs))
	for i, cfg := range s.Outputs {
		cfg.Xruns = &x
		if plays[i], err = OpenPlayback(cfg); err != nil {
			return fail(err)
		}
		chans := make([]int, cfg.Channels)
		for c := range chans {
			chans[c] = c
		}
		if writers[i], err = plays[i].Writer(chans...); err != nil {
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
	go func() { stdinDone <- relayPlayback(stdin, writers, block) }()
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
			c := x.Snapshot()
			if err := ctl.send(bridgeMsg{Type: "xruns", Xruns: &c}); err != nil {
				return fmt.Errorf("audio: bridge: control pipe: %w", err) // the parent is gone
			}
		}
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

// relayCapture copies captured blocks to w until Read or the write fails.
func relayCapture(c *Capture, w io.Writer, block int) error {
	ch := c.Format().Channels
	buf := make([][]float64, ch)
	for i := range buf {
		buf[i] = make([]float64, block)
	}
	out := make([]byte, 4*block*ch)
	c.Flush() // what arrived while the other streams opened is stale: see Capture.Flush
	for {
		if _, err := c.Read(buf); err != nil {
			return err
		}
		for j, b := range buf {
			for i, v := range b {
				binary.LittleEndian.PutUint32(out[4*(i*ch+j):], math.Float32bits(float32(v)))
			}
		}
		if _, err := w.Write(out); err != nil {
			return fmt.Errorf("audio: bridge: writing capture: %w", err)
		}
	}
}

// relayPlayback reads wide blocks from r and writes each device's part to
// its writer, until r ends (nil) or fails.
func relayPlayback(r io.Reader, writers []*PlaybackWriter, block int) error {
	wide := 0
	bufs := make([][][]float64, len(writers))
	for d, w := range writers {
		bufs[d] = make([][]float64, len(w.Channels()))
		for c := range bufs[d] {
			bufs[d][c] = make([]float64, block)
		}
		wide += len(w.Channels())
	}
	in := make([]byte, 4*block*wide)
	if wide == 0 {
		in = make([]byte, 4096) // no output: read until EOF
	}
	for {
		if _, err := io.ReadFull(r, in); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return nil
			}
			return err
		}
		off := 0
		for d, w := range writers {
			for c, b := range bufs[d] {
				for i := range b {
					b[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(in[4*(i*wide+off+c):])))
				}
			}
			off += len(bufs[d])
			if err := w.Write(bufs[d]); err != nil {
				return err
			}
		}
	}
}

// ctlWriter writes control lines from several goroutines.
type ctlWriter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (c *ctlWriter) send(m bridgeMsg) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.enc.Encode(m)
}
