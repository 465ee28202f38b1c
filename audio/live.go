package audio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Live runs the audio devices in a child process, the bridge (`sepd
// audio-bridge`, RunBridge), and relays samples over pipes, so that the
// daemon survives its audio server: after the JACK server dies, PortAudio
// 19.6 can never be used again in the process that had it open (see
// ErrRestartRequired), but a new process can. The daemon keeps the engine
// and the output files; when the child dies or stalls, Live kills it and
// starts a new one with a backoff until the devices are back, and meanwhile
// Read returns silence paced by the wall clock (so that file outputs stay
// aligned in time) and LiveWriter.Write drops its blocks.
//
//	daemon (Live)                                      child (RunBridge)
//	Read <- ring <- reader goroutine  <- stdout pipe <- Capture.Read <- capture callback
//	LiveWriter.Write -> ring -> writer goroutine -> stdin pipe -> PlaybackWriter.Write -> playback callback
//	supervisor goroutine <- control pipe (fd 3, JSON: ready, errors, xrun counts)
//	log                  <- stderr (without the "ALSA lib" lines)
//
// The protocol is described in live_bridge.go.
//
// # Latency
//
// LiveInfo.LatencySamples = round(Input.DeviceLatency * rate) + the largest
// over the outputs of (round(Output.DeviceLatency * rate) + margin), where
// margin is PrefillFrames rounded up to whole blocks (FramesPerBuffer). The
// bridge tags every captured block with its cycle, and plays what the daemon
// made from it margin/FramesPerBuffer periods after its capture, dropping or
// padding a block to come back to that after an xrun or a lost block (see
// relayPlayback), so the lag is the same after every reconnect. The pipes and
// the engine add nothing to it as long as the round trip (child -> daemon,
// Read, the engine, Write, daemon -> child) ends within margin - hop + one
// period of the capture of a hop's last block; a longer one underruns. So
// PrefillFrames must be at least the engine's hop, plus its time per hop.
//
// For the end-to-end latency add the engine's delay, stft.DelaySamples
// (fft_size - hop): the hop's filling time (the first block of a hop waits
// for the last) is inside the margin. Measured with jackd -d dummy -r 48000
// -p 256, FramesPerBuffer 256, Read -> Write as the engine (delay 0):
// PortAudio reports capture latency 0 and playback latency 256 frames; hop
// 256 and prefill 512 (the default): LatencySamples 768; hop 512 and prefill
// 768: LatencySamples 1024; a second JACK client playing into the capture
// and recording the playback measures 1024 and 1280, i.e. LatencySamples +
// 256, the 256 being that client's own playback latency (TestLiveLoopbackJACK).
// The same lag holds after a reconnect (TestLiveReconnectJACK).
//
// Read belongs to one goroutine and Writer/LiveWriter.Write to one goroutine
// (the engine's, which may be the same); Info, Reconnects, Connected and
// Close may be called from any.
type Live struct {
	cfg      LiveConfig // defaults applied: Xruns and Log are set
	argv     []string
	spec     []byte
	block    int // frames per pipe block (FramesPerBuffer)
	rate     int
	inCh     int   // capture channels, 0 without capture
	outChans []int // channels per output device
	outOff   []int // first wide column of each output device
	outCh    int   // wide frame: every output device's channels
	follow   bool  // the streams follow the host's period (FollowHost)
	prefill  []int // each output's configured PrefillFrames
	stall    time.Duration

	mu   sync.Mutex
	info LiveInfo

	// Capture: the current child's reader goroutine produces into in, Read
	// consumes. Its frames have inCh+1 columns: the samples and the tag
	// (see live_bridge.go).
	in        *Ring
	inNote    chan struct{} // capacity 1: a block arrived
	lastData  atomic.Int64  // UnixNano of the last capture block (or of the child's start)
	up        atomic.Bool   // a child is running with its streams open
	downAt    atomic.Int64  // UnixNano: where the silence of the current gap starts
	downGen   atomic.Uint64 // counts the gaps
	stateNote chan struct{} // capacity 1: up changed
	inFlush   atomic.Bool   // a new child is up: Read drops the backlog and starts on a Read boundary
	accept    atomic.Bool   // writes go to the child (set by Read at the first captured block of a child)
	capEnd    atomic.Int64  // tag of the frame after the last one Read returned

	// Read's state (its goroutine only).
	scratch   []float32
	lossRead  int64 // frames Read has taken from the ring, for lossEvery
	paceGen   uint64
	paceStart time.Time
	paceDone  int64 // silent frames returned since paceStart
	timer     *time.Timer
	fresh     bool // the ring was flushed for a new child; its first block sets accept

	// Playback: LiveWriter.Write stages and commits into out, the current
	// child's writer goroutine consumes. Frames have outCh+1 columns: the
	// wide frame and its tag.
	out     *Ring
	outNote chan struct{}
	stage   mixStage

	reconnects atomic.Uint64
	lag        atomic.Int64 // the bridge's last lag report, frames; -1: none
	timed      atomic.Int64 // the bridge's last timed lag report, frames; -1: none
	closing    chan struct{}
	closeOnce  sync.Once
	done       chan struct{} // the supervisor returned
	closeErr   error
}

// LiveConfig says which devices StartLive opens.
type LiveConfig struct {
	// Input is the capture device; nil means no capture (file replay to
	// devices; Read then fails).
	Input *StreamConfig
	// Outputs are the playback devices; Channels is the number of device
	// channels used (0..Channels-1). Every stream must have the same
	// SampleRateHz and FramesPerBuffer (the pipe block).
	Outputs []StreamConfig
	// Xruns receives every count: the child's streams' counts (forwarded
	// every 250 ms), the daemon-side rings' overruns, and Reconnect. nil
	// means a new Xruns. The streams' own Xruns fields are ignored.
	Xruns *Xruns
	// Log receives the bridge's events and its stderr; nil discards them.
	Log *slog.Logger
	// Command starts the child; the bridge's arguments are appended. nil
	// means {os.Executable(), "audio-bridge"}.
	Command []string
	// ClientName is the JACK client name the bridge asks for; "" keeps
	// PortAudio's "PortAudio". JACK appends "-01" and so on when it is taken.
	ClientName string
}

// LiveInfo describes the open devices.
type LiveInfo struct {
	Input   *StreamInfo // nil without capture
	Outputs []StreamInfo
	// LatencySamples is the devices' part of the end-to-end latency, in
	// frames at the sample rate: the input's DeviceLatency + the largest of
	// the outputs' DeviceLatency + PrefillFrames rounded up to whole blocks
	// (each latency rounded to frames). The engine adds its own
	// (fft_size-1). See Live for the formula and the measurement.
	LatencySamples int
	// JACKClientName is the bridge's JACK client (the device name under which
	// other JACK programs see it); "" when not on JACK.
	JACKClientName string
}

var errNoLiveInput = errors.New("audio: Live.Read: the live configuration has no input device")

// StartLive starts the bridge process and waits until every stream is open
// (at most 10 s, or until ctx is done; ctx bounds only the start). An error
// the bridge reports is returned with the device code's own message and
// wraps ErrNoDevice or ErrSampleRate where the device code's error did. After
// a successful start, failures are handled inside (see Live) until Close. It
// allocates.
func StartLive(ctx context.Context, cfg LiveConfig) (*Live, error) {
	if cfg.Xruns == nil {
		cfg.Xruns = new(Xruns)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if len(cfg.ClientName) > 63 { // libjack 2's jack_client_name_size() is 64 with the NUL
		return nil, fmt.Errorf("audio: live: JACK client name %q is longer than 63 bytes", cfg.ClientName)
	}
	spec := bridgeSpec{ClientName: cfg.ClientName}
	var stall time.Duration
	if cfg.Input != nil {
		in, err := cfg.Input.withDefaults()
		if err != nil {
			return nil, err
		}
		in.Xruns = nil
		spec.Input = &in
		stall = max(stall, in.StallTimeout)
	}
	l := &Live{
		cfg:       cfg,
		inNote:    make(chan struct{}, 1),
		stateNote: make(chan struct{}, 1),
		outNote:   make(chan struct{}, 1),
		closing:   make(chan struct{}),
		done:      make(chan struct{}),
	}
	l.lag.Store(-1)
	l.timed.Store(-1)
	l.follow = spec.Input != nil && spec.Input.FollowHost
	outRing := 0
	for _, o := range cfg.Outputs {
		o, err := o.withDefaults()
		if err != nil {
			return nil, err
		}
		o.Xruns = nil
		spec.Outputs = append(spec.Outputs, o)
		l.outOff = append(l.outOff, l.outCh)
		l.outChans = append(l.outChans, o.Channels)
		l.outCh += o.Channels
		l.prefill = append(l.prefill, o.PrefillFrames)
		l.follow = l.follow || o.FollowHost
		outRing = max(outRing, o.RingFrames)
		stall = max(stall, o.StallTimeout)
	}
	var err error
	if l.block, l.rate, err = spec.blockFrames(); err != nil {
		return nil, err
	}
	l.stall = max(stall, 300*time.Millisecond, l.frames(8*l.block))
	if spec.Input != nil {
		l.inCh = spec.Input.Channels
		l.in = NewRing(spec.Input.RingFrames, l.inCh+1)
		l.scratch = make([]float32, min(1024, l.in.Cap())*(l.inCh+1))
	}
	if l.outCh > 0 {
		l.out = NewRing(outRing, l.outCh+1)
		l.stage = newMixStage(l.out.Cap(), l.outCh+1)
	}
	if l.spec, err = json.Marshal(spec); err != nil {
		return nil, fmt.Errorf("audio: live: %w", err)
	}
	l.argv = cfg.Command
	if len(l.argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("audio: live: finding this program to start the audio bridge: %w", err)
		}
		l.argv = []string{exe, "audio-bridge"}
	}
	l.timer = time.NewTimer(time.Hour)
	l.timer.Stop()

	c, err := l.startChild(ctx)
	if err != nil {
		return nil, err
	}
	l.goUp(c)
	info := l.Info()
	cfg.Log.Info("audio bridge started", "pid", c.cmd.Process.Pid, "jack_client", info.JACKClientName,
		"latency_samples", info.LatencySamples, "latency_ms", float64(info.LatencySamples)*1e3/float64(l.rate))
	go l.supervise(c)
	return l, nil
}

// frames returns the duration of n frames.
func (l *Live) frames(n int) time.Duration {
	return time.Duration(n) * time.Second / time.Duration(l.rate)
}

// Info describes the streams the current (or last) bridge opened. The
// returned slices must not be modified. It allocates nothing.
func (l *Live) Info() LiveInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.info
}

// Reconnects returns how many times the bridge was restarted with every
// stream open again after a loss (each is also counted as a Reconnect in
// LiveConfig.Xruns). It does not allocate.
func (l *Live) Reconnects() uint64 { return l.reconnects.Load() }

// MeasuredLatencySamples is the devices' part of the end-to-end latency as
// the bridge measures it, in frames: the input's DeviceLatency, plus the lag
// from capture to playback that the bridge observed over its last report
// (every 250 ms; for each block played, where the capture stood when it
// started playing less where it stood when the block was captured, the
// smallest in the report), plus the first output's DeviceLatency. In steady
// state it equals LiveInfo.LatencySamples; it is larger after an underrun
// the bridge could not take back (see relayPlayback).
//
// Where the input is not a JACK device (an ALSA device, a sound server's ALSA
// plugin), it is the mean over the last report of the time from each block's
// first frame at the input's converter to that frame at the output's, by the
// host times PortAudio gives the callbacks (see timedLag), since there the
// devices' reported latencies are their whole buffers, which a sound
// server's plugin does not keep full: through PipeWire's plugin the reported
// ones came to 4-25 % above what jack_iodelay measured port to port, and
// the truth moved by up to 1900 frames between runs at one quantum (README,
// Live). Through JACK the reported latencies are the ports' and exact.
//
// ok is false without capture or playback, before the playback runs, and
// while the bridge is down. It does not allocate.
func (l *Live) MeasuredLatencySamples() (n int, ok bool) {
	lag := l.lag.Load()
	if lag < 0 || !l.up.Load() {
		return 0, false
	}
	info := l.Info()
	if info.Input == nil || len(info.Outputs) == 0 {
		return 0, false
	}
	if info.Input.Device.HostAPIType != "JACK" {
		if t := l.timed.Load(); t >= 0 {
			return int(t), true
		}
	}
	return l.durFrames(info.Input.DeviceLatency) + int(lag) + l.durFrames(info.Outputs[0].DeviceLatency), true
}

// durFrames is a device latency in frames, rounded.
func (l *Live) durFrames(d time.Duration) int { return int(math.Round(d.Seconds() * float64(l.rate))) }

// marginFrames is the lag from capture to playback the bridge holds for a
// playback stream: its prefill rounded up to whole blocks (see relayPlayback).
// LatencySamples counts it and MeasuredLatencySamples measures it.
func marginFrames(prefill, block int) int { return (prefill + block - 1) / block * block }

// Connected reports whether a bridge is running with its streams open (for
// a health check). It does not allocate.
func (l *Live) Connected() bool { return l.up.Load() }

// Read fills dst[ch][:L] for every channel (L = len(dst[0])) with the next
// captured frames and returns L, nil, blocking until they are there. While
// the bridge is down it returns silence paced by the wall clock at the
// sample rate, starting where the captured audio stopped, so that what reads
// it stays aligned in time. It returns the frames so far and io.EOF after
// Close, and an error when there is no input device. It panics unless
// len(dst) is the input's channel count and all dst[ch] have the same length.
// It does not allocate.
func (l *Live) Read(dst [][]float64) (int, error) {
	if l.in == nil {
		return 0, errNoLiveInput
	}
	ch := l.inCh
	want := checkBlock(dst, ch, "Live.Read", "dst") // one slice per input channel
	stride := ch + 1                                // the tag column
	n := 0
	for n < want {
		select {
		case <-l.closing:
			return n, io.EOF
		default:
		}
		if l.inFlush.Load() {
			// A new child is up. Its capture starts at a Read boundary, so
			// that Reads of whole blocks take whole blocks (a block split
			// between two Reads would wait for the next one, a fixed extra
			// lag), and with no backlog (which would stay as latency).
			if n > 0 {
				for _, d := range dst {
					clear(d[n:])
				}
				return want, nil
			}
			l.inFlush.Store(false)
			l.in.Discard(l.in.Len()) // the writer adds whole blocks: this ends on a block boundary
			l.fresh = true
		}
		if k := l.in.Read(l.scratch[:min(len(l.scratch)/stride, want-n)*stride]); k > 0 {
			if e := lossEvery.Load(); e > 0 {
				if k = l.lose(k, e); k == 0 {
					continue
				}
			}
			for j, d := range dst {
				d := d[n : n+k]
				for i := range d {
					d[i] = float64(l.scratch[i*stride+j])
				}
			}
			n += k
			l.capEnd.Store(int64(l.scratch[(k-1)*stride+ch]) + 1)
			if l.fresh && l.up.Load() {
				// The first block of the new child: from here on what the
				// engine writes is made of it, and the child's playback is
				// primed as at the first start (the same lag).
				l.fresh = false
				l.accept.Store(true)
			}
			continue
		}
		var tick <-chan time.Time
		if !l.up.Load() {
			// downGen is stored before up, downAt before downGen: a new gap
			// is seen with its start.
			if g := l.downGen.Load(); g != l.paceGen {
				l.paceGen, l.paceStart, l.paceDone = g, time.Unix(0, l.downAt.Load()), 0
			}
			el := time.Since(l.paceStart)
			due := int64(el/time.Second)*int64(l.rate) + int64(el%time.Second)*int64(l.rate)/int64(time.Second) - l.paceDone
			if due > 0 {
				m := int(min(due, int64(want-n)))
				for _, d := range dst {
					clear(d[n : n+m])
				}
				n += m
				l.paceDone += int64(m)
				continue
			}
			next := l.paceStart.Add(l.frames(int(l.paceDone) + want - n))
			l.timer.Reset(max(time.Until(next), 0))
			tick = l.timer.C
		}
		select {
		case <-l.inNote:
		case <-l.stateNote:
		case <-tick:
		case <-l.closing:
		}
		if tick != nil {
			l.timer.Stop()
		}
	}
	return n, nil
}

// lossEvery, when positive, makes Live.Read lose one captured frame in every
// lossEvery, silently: no xrun is counted. It is a fault that the tests
// inject (SetLiveLossEvery in export_test.go) to prove that they catch a
// sample lost on sepd's path; it is zero outside them.
var lossEvery atomic.Int64

// lose drops the first of the k frames in l.scratch when they cross a
// multiple of every frames read; it returns the frames left.
func (l *Live) lose(k int, every int64) int {
	before := l.lossRead
	l.lossRead += int64(k)
	if l.lossRead/every == before/every {
		return k
	}
	stride := l.inCh + 1
	copy(l.scratch, l.scratch[stride:k*stride])
	return k - 1
}

// LiveWriter writes one source's playback into some channels of one output
// device.
type LiveWriter struct {
	l *Live
	m *mixWriter // its columns are wide-frame columns
}

// Writer returns a writer into output device `output` (an index into
// LiveConfig.Outputs) on the given device channels (0-based, distinct, <
// that output's Channels). A block goes to the devices once every writer has
// written it, so every writer must be fed the same number of frames (Remove
// one that stops); writers on the same device channel are summed. It
// allocates.
func (l *Live) Writer(output int, channels ...int) (*LiveWriter, error) {
	if output < 0 || output >= len(l.outChans) {
		return nil, fmt.Errorf("audio: live: output %d: there are %d output devices", output, len(l.outChans))
	}
	dev := l.cfg.Outputs[output].Device
	if len(channels) == 0 {
		return nil, fmt.Errorf("audio: live: output device %q: a writer needs at least one channel", dev)
	}
	m, ok := l.stage.newWriter(channels, l.outChans[output], l.outOff[output])
	if !ok {
		return nil, fmt.Errorf("audio: live: output device %q: writer channels %v: want distinct channels in [0, %d)", dev, channels, l.outChans[output])
	}
	return &LiveWriter{l: l, m: m}, nil
}

// Write adds src[i][:L] to the writer's device channel i (L = len(src[0])),
// converted to float32, and hands the frames that every writer has written
// to the bridge without blocking. While the bridge is down they are dropped
// (that is not an error); frames that do not fit in the ring are dropped and
// counted as a RingOverrun. It returns io.EOF after Close, and an error when
// this writer is more than the ring capacity ahead of another. It panics
// unless len(src) is the writer's channel count and all src[i] have the same
// length. It does not allocate.
func (w *LiveWriter) Write(src [][]float64) error {
	l := w.l
	n := checkBlock(src, len(w.m.cols), "LiveWriter.Write", "src") // one slice per writer channel
	select {
	case <-l.closing:
		return io.EOF
	default:
	}
	if !l.stage.add(w.m, src, n) {
		return fmt.Errorf("audio: live: writer of wide columns %v is %d frames ahead of another writer, more than the ring holds (%d): feed every writer",
			w.m.cols, w.m.pos+n, l.stage.frames())
	}
	l.commit()
	return nil
}

// Remove detaches the writer: the others are no longer held back by it. It
// does not allocate.
func (w *LiveWriter) Remove() {
	w.l.stage.remove(w.m)
	w.l.commit()
}

// commit sends the frames every writer has written to the ring (or drops
// them while the bridge is down).
func (l *Live) commit() {
	ch := l.outCh + 1 // the wide frame and its tag
	frames := l.stage.ready()
	done := len(frames) / ch
	if done == 0 {
		return
	}
	if l.up.Load() && l.accept.Load() {
		// The tags: these frames were made from the last ones Read returned.
		tag := int64(-1)
		if l.in != nil {
			tag = l.capEnd.Load() - int64(done)
		}
		for i := range done {
			t := float32(-1)
			if l.in != nil {
				t = float32(((tag+int64(i))%tagMod + tagMod) % tagMod)
			}
			frames[i*ch+l.outCh] = t
		}
		if k := l.out.Write(frames); k < done {
			l.cfg.Xruns.Inc(RingOverrun)
		}
		notify(l.outNote)
	}
	l.stage.advance(done)
}

func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Close stops the bridge: it stops Read (io.EOF) and Write, sends the
// playback staged so far (a last partial block padded with silence), closes
// the bridge's stdin so that it plays what it holds and exits, and waits for
// that at most the rings' duration plus one second; then it sends SIGTERM,
// and SIGKILL 2 s later. It may be called from any goroutine, more than once.
// It returns an error when the bridge had to be killed.
func (l *Live) Close() error {
	l.closeOnce.Do(func() { close(l.closing) })
	<-l.done
	return l.closeErr
}
