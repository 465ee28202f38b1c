package audio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gordonklaus/portaudio"
)

// StreamConfig says which device to open and how, for OpenCapture and
// OpenPlayback.
type StreamConfig struct {
	// Device names the device: see DeviceList.Resolve ("default", an index,
	// an exact name or a unique part of one). It is resolved again by Reopen.
	Device string
	// Channels: the stream uses device channels 0..Channels-1; >= 1.
	Channels int
	// SampleRateHz must be a rate the device runs at (through JACK: the
	// server's -r, nothing else).
	SampleRateHz int
	// FramesPerBuffer is the number of frames per callback; 0 means 256.
	// With FollowHost it is only the granularity of Read and Write (the
	// bridge's pipe block), not the callback's.
	FramesPerBuffer int
	// FollowHost asks PortAudio for callbacks of the host's own buffer size
	// (paFramesPerBufferUnspecified): through JACK, the server's period,
	// whatever it is and whenever it changes (above 1024 frames in several
	// callbacks of one host time; see hostPeriod). Without it, PortAudio cuts
	// the host's buffers into FramesPerBuffer-frame callbacks, several in a
	// burst when the period is larger, which hides the period from the
	// stream's timing (see StreamInfo.Period).
	FollowHost bool
	// RingFrames is the ring capacity, rounded up to a power of two; 0 means
	// 16 * FramesPerBuffer (85 ms at 256 frames and 48 kHz), and with
	// FollowHost at least 32768 (8 periods of JACK's largest usual, 4096).
	RingFrames int
	// PrefillFrames (playback only): the callback plays silence until the
	// ring holds this many frames, at the start and again after an underrun.
	// It is the jitter margin between the engine and the device, and adds
	// that much latency. 0 means 2 * FramesPerBuffer. With FollowHost it is
	// rounded up to whole host periods at every callback (see
	// StreamInfo.PrefillFrames).
	PrefillFrames int
	// Latency is the suggested device latency; 0 means the device's default
	// low latency, or its default high latency for an ALSA device that is
	// a sound server's plugin (see serverPlugin).
	Latency time.Duration
	// StallTimeout: a stream whose callback has not run for this long is
	// stalled (see ErrStalled); 0 means max(250 ms, 8 buffers).
	StallTimeout time.Duration
	// Xruns is where the stream counts glitches; nil means a new Xruns of the
	// stream's own. Give capture and playback the same one to see all in one
	// place.
	Xruns *Xruns
}

func (c StreamConfig) withDefaults() (StreamConfig, error) {
	if c.Channels < 1 {
		return c, fmt.Errorf("audio: device %q: %d channels, want >= 1", c.Device, c.Channels)
	}
	if c.SampleRateHz <= 0 {
		return c, fmt.Errorf("audio: device %q: sample rate %d Hz, want > 0", c.Device, c.SampleRateHz)
	}
	if c.FramesPerBuffer == 0 {
		c.FramesPerBuffer = 256
	}
	if c.FramesPerBuffer < 0 {
		return c, fmt.Errorf("audio: device %q: %d frames per buffer, want >= 0", c.Device, c.FramesPerBuffer)
	}
	if c.RingFrames <= 0 {
		c.RingFrames = 16 * c.FramesPerBuffer
		if c.FollowHost {
			c.RingFrames = max(c.RingFrames, followRing)
		}
	}
	if c.PrefillFrames <= 0 {
		c.PrefillFrames = 2 * c.FramesPerBuffer
	}
	if c.StallTimeout <= 0 {
		c.StallTimeout = max(250*time.Millisecond,
			time.Duration(8*c.FramesPerBuffer)*time.Second/time.Duration(c.SampleRateHz))
	}
	if c.Xruns == nil {
		c.Xruns = new(Xruns)
	}
	return c, nil
}

// StreamInfo describes an open stream, for logging the total latency.
type StreamInfo struct {
	Device          DeviceInfo
	Format          Format
	FramesPerBuffer int
	RingFrames      int // ring capacity
	// PrefillFrames (playback): frames buffered before the device plays; 0
	// for a capture. With FollowHost, once the stream ran, the configured
	// prefill rounded up to whole periods (and to whole FramesPerBuffer).
	PrefillFrames int
	// Period is the host's buffer size the callbacks last saw, in frames
	// (with FollowHost: JACK's period); 0 before the first callback.
	Period int
	// DeviceLatency is PortAudio's stream latency: InputLatency for a capture,
	// OutputLatency for a playback (through JACK: the port latency plus
	// PortAudio's own buffering), or sepd's estimate where PortAudio's figure
	// is nonsense (see LatencySource).
	DeviceLatency time.Duration
	// ReportedLatency is PortAudio's figure as it came.
	ReportedLatency time.Duration
	// LatencySource says where DeviceLatency comes from: LatencyReported,
	// LatencyEstimated or LatencyUnknown (see checkDeviceLatency).
	LatencySource string
}

// abortTimeout bounds how long Close waits for PortAudio to stop a stream;
// longer means the server is gone (see ErrRestartRequired). A live JACK server
// acknowledges within a period or two.
const abortTimeout = time.Second

// stream is one open PortAudio callback stream and its ring, watchdog and
// notification channel. Capture and Playback replace theirs on Reopen.
type stream struct {
	cfg   StreamConfig
	input bool
	info  StreamInfo
	ps    *portaudio.Stream
	ring  *Ring
	xruns *Xruns

	callbacks atomic.Uint64 // callback runs, for the watchdog
	// clock is the float64 bits of the host's time (PortAudio's stream
	// time, seconds) at which position 0 was at the converter: for a
	// capture, frame 0 at the ADC (see frames); for a playback, ring frame 0
	// at the DAC. Each callback with a time sets it from the time info
	// (InputBufferAdcTime, OutputBufferDacTime); 0: not known. See
	// timedLag.
	clock atomic.Uint64
	// Capture position: frames through the callbacks so far, and a
	// generation that is odd while a callback updates the ring and frames
	// (see position).
	frames atomic.Uint64
	gen    atomic.Uint64
	period atomic.Int64 // the host's buffer size in frames (see hostPeriod)
	// The callback's own (only it touches them): the host time of the
	// callbacks of the host buffer being processed, and their frames so far.
	cycleTime   time.Duration
	cycleFrames int
	lastCycle   int           // the frames of the last whole host buffer
	plugin      bool          // the device is a sound server's ALSA plugin (serverPlugin)
	peak        int           // not JACK: the largest wake-up's frames, held (see hostPeriod)
	nextPeak    int           // the largest since then
	sincePeak   int           // frames since a wake-up as large as peak
	primed      atomic.Bool   // playback: the prefill is reached
	primedLevel atomic.Int64  // playback: frames in the ring when it last primed (the prefill, or more after a burst)
	flush       atomic.Bool   // playback: play whatever is left (Drain)
	notify      chan struct{} // capture: capacity 1, TrySend after every callback
	stalled     chan struct{} // closed by the watchdog
	closed      chan struct{} // closed by close
	closeOnce   sync.Once
	closeErr    error
}

func (s *stream) what() string {
	dir := "output"
	if s.input {
		dir = "input"
	}
	return fmt.Sprintf("%s device %q", dir, s.info.Device.Name)
}

// openStream resolves cfg.Device and opens and starts a callback stream on it.
func openStream(cfg StreamConfig, input bool) (*stream, error) {
	dir := "output"
	if input {
		dir = "input"
	}
	if err := paLock(fmt.Sprintf("opening %s device %q", dir, cfg.Device)); err != nil {
		return nil, err
	}
	defer paUnlock()
	if err := paAcquireLocked(); err != nil {
		return nil, err
	}
	s, err := openLocked(cfg, input)
	if err != nil {
		paReleaseLocked()
		return nil, err
	}
	return s, nil
}

// newStream is a stream of cfg (defaults applied) on dev, not yet opened: its
// ring, its channels and its info.
func newStream(cfg StreamConfig, input bool, dev DeviceInfo) *stream {
	s := &stream{
		cfg: cfg, input: input, xruns: cfg.Xruns,
		ring:    NewRing(cfg.RingFrames, cfg.Channels),
		notify:  make(chan struct{}, 1),
		stalled: make(chan struct{}),
		closed:  make(chan struct{}),
	}
	s.info = StreamInfo{
		Device: dev, Format: Format{SampleRateHz: cfg.SampleRateHz, Channels: cfg.Channels},
		FramesPerBuffer: cfg.FramesPerBuffer, RingFrames: s.ring.Cap(),
	}
	if !input {
		s.info.PrefillFrames = min(cfg.PrefillFrames, s.ring.Cap())
	}
	return s
}

// newCapture and newPlayback wrap a stream of theirs.
func newCapture(s *stream) *Capture {
	return &Capture{
		cfg: s.cfg, cur: s, closed: make(chan struct{}),
		scratch: make([]float32, min(1024, s.ring.Cap())*s.cfg.Channels),
	}
}

func newPlayback(s *stream) *Playback {
	return &Playback{cfg: s.cfg, cur: s, closed: make(chan struct{}), stage: newMixStage(s.ring.Cap(), s.cfg.Channels)}
}

func openLocked(cfg StreamConfig, input bool) (*stream, error) {
	list, err := listLocked()
	if err != nil {
		return nil, err
	}
	dev, err := list.Resolve(cfg.Device, input)
	if err != nil {
		return nil, err
	}
	devs, err := portaudio.Devices()
	if err != nil {
		return nil, fmt.Errorf("audio: listing devices: %w", err)
	}
	s := newStream(cfg, input, dev)
	s.plugin = serverPlugin(list, dev)
	if have := dev.channels(input); cfg.Channels > have {
		return nil, fmt.Errorf("audio: %s: %d channels requested, it has %d", s.what(), cfg.Channels, have)
	}
	p := portaudio.StreamParameters{SampleRate: float64(cfg.SampleRateHz), FramesPerBuffer: cfg.FramesPerBuffer}
	if cfg.FollowHost {
		p.FramesPerBuffer = portaudio.FramesPerBufferUnspecified
	}
	dp := portaudio.StreamDeviceParameters{Device: devs[dev.Index], Channels: cfg.Channels, Latency: cfg.Latency}
	var cb any
	if input {
		if dp.Latency == 0 {
			dp.Latency = dev.LowInputLatency
			if s.plugin {
				dp.Latency = dev.HighInputLatency
			}
		}
		p.Input, cb = dp, s.captureCallback
	} else {
		if dp.Latency == 0 {
			dp.Latency = dev.LowOutputLatency
			if s.plugin {
				dp.Latency = dev.HighOutputLatency
			}
		}
		p.Output, cb = dp, s.playbackCallback
	}
	wrap := func(op string, err error) error {
		if errors.Is(err, portaudio.InvalidSampleRate) {
			return fmt.Errorf("audio: %s (%s) cannot run at %d Hz (its default rate is %g Hz): %w: %w",
				s.what(), dev.HostAPIType, cfg.SampleRateHz, dev.DefaultSampleRateHz, ErrSampleRate, err)
		}
		return fmt.Errorf("audio: %s %s (%s, %d ch, %d Hz, %d frames per buffer): %w",
			op, s.what(), dev.HostAPIType, cfg.Channels, cfg.SampleRateHz, cfg.FramesPerBuffer, err)
	}
	if err := portaudio.IsFormatSupported(p, cb); err != nil {
		return nil, wrap("opening", err)
	}
	if s.ps, err = portaudio.OpenStream(p, cb); err != nil {
		return nil, wrap("opening", err)
	}
	if err := s.ps.Start(); err != nil {
		s.ps.Close()
		return nil, wrap("starting", err)
	}
	if in := s.ps.Info(); in != nil {
		s.info.ReportedLatency = in.OutputLatency
		if input {
			s.info.ReportedLatency = in.InputLatency
		}
		s.info.DeviceLatency, s.info.LatencySource = checkDeviceLatency(s.info.ReportedLatency, cfg.SampleRateHz, input)
	}
	go s.watch()
	return s, nil
}

// captureCallback runs on the audio thread: it only copies (PortAudio's
// slice is C memory, never kept), counts and notifies. No allocation, no lock.
func (s *stream) captureCallback(in []float32, ti portaudio.StreamCallbackTimeInfo, flags portaudio.StreamCallbackFlags) {
	s.callbacks.Add(1)
	n := len(in) / s.cfg.Channels
	s.hostPeriod(n, ti.CurrentTime)
	if ti.InputBufferAdcTime != 0 {
		s.setClock(ti.InputBufferAdcTime, s.frames.Load())
	}
	if flags&portaudio.InputOverflow != 0 {
		s.xruns.Inc(InputOverflow)
	}
	s.gen.Add(1)
	over := s.ring.WriteOverwrite(in) > 0
	s.frames.Add(uint64(n))
	s.gen.Add(1)
	if over {
		s.xruns.Inc(RingOverrun)
	}
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// playbackCallback runs on the audio thread: it copies from the ring into the
// device buffer, silence until the prefill is reached and for what is missing.
func (s *stream) playbackCallback(out []float32, ti portaudio.StreamCallbackTimeInfo, flags portaudio.StreamCallbackFlags) {
	s.callbacks.Add(1)
	period := s.hostPeriod(len(out)/s.cfg.Channels, ti.CurrentTime)
	if flags&portaudio.OutputUnderflow != 0 {
		s.xruns.Inc(OutputUnderflow)
	}
	if !s.primed.Load() {
		if s.ring.Len() < s.prefill(period) && !s.flush.Load() {
			clear(out)
			return
		}
		s.primedLevel.Store(int64(s.ring.Len()))
		s.primed.Store(true)
	}
	if ti.OutputBufferDacTime != 0 {
		s.setClock(ti.OutputBufferDacTime, s.ring.readPos.Load())
	}
	n := s.ring.Read(out)
	if rest := out[n*s.cfg.Channels:]; len(rest) > 0 {
		clear(rest)
		if !s.flush.Load() {
			s.xruns.Inc(RingUnderrun)
			s.primed.Store(false) // build the margin up again
		}
	}
}

// setClock records that position pos is (was, or will be) at the converter
// at host time t. Audio thread; it does not allocate.
func (s *stream) setClock(t time.Duration, pos uint64) {
	s.clock.Store(math.Float64bits(t.Seconds() - float64(pos)/float64(s.cfg.SampleRateHz)))
}

// clockAt returns the host time, in seconds, at which position pos is at the
// converter, and false while no callback gave a time.
func (s *stream) clockAt(pos uint64) (float64, bool) {
	c := s.clock.Load()
	if c == 0 {
		return 0, false
	}
	return math.Float64frombits(c) + float64(pos)/float64(s.cfg.SampleRateHz), true
}

// hostPeriod records and returns the host's buffer size, given a callback of
// n frames whose time info says the host's time is now. PortAudio hands the
// callbacks of one host buffer the same CurrentTime (its buffer processor
// passes the host's time through and never refreshes it; JACK's is
// jack_frame_time at the start of the cycle), and it splits a host buffer
// into several callbacks where the host's buffer size is unknown to it: with
// paFramesPerBufferUnspecified through JACK, into callbacks of at most 1024
// frames (PA_FRAMES_PER_TEMP_BUFFER_WHEN_HOST_BUFFER_SIZE_IS_UNKNOWN_), so a
// 4096-frame period comes as four callbacks of 1024, back to back. The period
// is therefore the frames of the callbacks that share a time: the larger of
// the last whole buffer's and the current one's so far, so that a longer
// period is seen at once and a shorter one after one buffer. A host that
// gives no time (0) has one callback per buffer.
//
// Other host APIs share a time among the callbacks of one wake-up too, but
// their wake-ups are not the same size: PortAudio's ALSA host, through
// PipeWire's plugin at a quantum of 1024, hands 1024 frames per quantum in
// callbacks of 24 to 600 frames, split differently at every wake-up, or
// wakes every ALSA period (417 frames at 34.8 ms) and finds one period
// ready, sometimes more; at 44.1 kHz one 95-frame buffer, sometimes two; and
// at a quantum of 4096 with a 139 ms buffer, three callbacks of up to 1668
// frames within half a millisecond, whose times differ by that (measured).
// So there a callback joins the wake-up whose first callback came less than
// a quarter of the wake-up's frames so far before it, and the period is the
// largest wake-up seen, to the nearest power of two (PipeWire's quanta are
// powers of two; see nearPow2), lowered to the largest of the last ones only
// after peakHold seconds without one as large: it stays put instead of
// following the split. It runs on the audio thread and does not allocate.
func (s *stream) hostPeriod(n int, now time.Duration) int {
	if now == 0 {
		s.period.Store(int64(n))
		return n
	}
	same := now == s.cycleTime
	if !same && s.cycleFrames > 0 && s.info.Device.HostAPIType != "JACK" {
		// Within a quarter of what the wake-up so far holds: the same one.
		d := now - s.cycleTime
		same = d >= 0 && d < time.Duration(s.cycleFrames)*time.Second/time.Duration(4*s.cfg.SampleRateHz)
	}
	if !same {
		if s.cycleFrames > 0 {
			s.lastCycle = s.cycleFrames
			s.holdPeak(s.cycleFrames)
		}
		s.cycleTime, s.cycleFrames = now, 0
	}
	s.cycleFrames += n
	p := max(s.lastCycle, s.cycleFrames)
	if s.info.Device.HostAPIType != "JACK" {
		p = nearPow2(max(p, s.peak))
	}
	s.period.Store(int64(p))
	return p
}

// nearPow2 is the power of two nearest n >= 1 (the larger one from 3/4 of
// it up): a wake-up of 1100 frames, a quantum of 1024 and a few frames of
// the next one, is 1024; 1668 + 1668 + 760 is 4096.
func nearPow2(n int) int {
	up := 1 << bits.Len(uint(n-1))
	if 4*n < 3*up {
		return up / 2
	}
	return up
}

// peakHold is how long, in seconds of audio, a non-JACK host's largest
// wake-up stays its period after the last wake-up as large (see hostPeriod).
const peakHold = 10

// holdPeak takes a whole wake-up of b frames into s.peak: a larger one at
// once; a smaller peak, the largest since, when peakHold seconds of audio
// have passed without one as large as the peak.
func (s *stream) holdPeak(b int) {
	if b >= s.peak {
		s.peak, s.sincePeak, s.nextPeak = b, 0, 0
		return
	}
	s.nextPeak = max(s.nextPeak, b)
	s.sincePeak += b
	if s.sincePeak > peakHold*s.cfg.SampleRateHz {
		s.peak, s.sincePeak, s.nextPeak = s.nextPeak, 0, 0
	}
}

// serverPlugin reports whether dev is an ALSA device that a sound server's
// ALSA plugin serves: "pipewire" or "pulse", or "default" where one of them
// is listed (pipewire-alsa or the pulse plugin installed makes them ALSA's
// default). Such a device moves the server's whole quantum at each wake-up,
// and a buffer shorter than that loses audio: through PipeWire's plugin at a
// quantum of 1024 (21.3 ms), a capture at PortAudio's default low latency
// (8.7 ms) delivered 535 frames per quantum, at 30 ms all 1024 (measured);
// so it opens at PortAudio's default high latency (34.8 ms there), which
// covers PipeWire's default quantum; the audio bridge doubles it where the
// quantum is longer still (see openFitted).
func serverPlugin(list *DeviceList, dev DeviceInfo) bool {
	if dev.HostAPIType != "ALSA" {
		return false
	}
	switch dev.Name {
	case "pipewire", "pulse":
		return true
	case "default":
		for _, d := range list.Devices {
			if d.HostAPIType == "ALSA" && (d.Name == "pipewire" || d.Name == "pulse") {
				return true
			}
		}
	}
	return false
}

// infoNow is s.info with what the callbacks have seen so far: the period,
// and the prefill it gives.
func (s *stream) infoNow() StreamInfo {
	in := s.info
	in.Period = int(s.period.Load())
	if !s.input {
		in.PrefillFrames = s.prefill(in.Period)
	}
	return in
}

// followRing is the smallest default ring of a FollowHost stream.
const followRing = 32768

// prefill is the playback's prefill when the host's buffers are period
// frames: the configured one, and with FollowHost followPrefill's.
func (s *stream) prefill(period int) int {
	if !s.cfg.FollowHost || period <= 0 {
		return s.info.PrefillFrames
	}
	return min(followPrefill(s.cfg.PrefillFrames, period, s.cfg.FramesPerBuffer), s.ring.Cap())
}

// followPrefill is the prefill, and the capture-to-playback lag the bridge
// holds (see relayPlayback), of a FollowHost playback whose configured
// prefill was made for callbacks of block frames, when the host's period is
// period frames. When the period is longer than a block, a captured block
// reaches the pipe up to period - block frames later (it waits for the
// period's end) and a played one must be there up to period - block frames
// earlier (the period's first frame plays first), so the prefill grows by
// twice that; and it is a whole number of periods, the nearest, since the
// lag the bridge can hold moves by whole periods (measured through
// jack_iodelay with prefill 1024, block 256: periods 512, 1024, 2048 and
// 4096 held lags of 1536, 3072, 4096 and 8192 frames, the multiples of the
// period nearest to prefill + 2 (period - block)). It is never below prefill
// and is rounded up to whole blocks.
func followPrefill(prefill, period, block int) int {
	want := prefill + 2*max(period-block, 0)
	return marginFrames(max(prefill, (want+period/2)/period*period), block)
}

// lagQuantum is the unit in which a capture-to-playback lag is read when the
// host's buffers are period frames and the pipe's blocks block frames: a
// reading can be off by a period (see relayPlayback), or by a block when
// blocks span several periods.
func lagQuantum(period, block int) int { return max(period, block) }

// position returns the capture position of the oldest frame in the ring:
// the frames captured before it. It does not allocate.
func (s *stream) position() uint64 {
	for {
		g := s.gen.Load()
		if g&1 == 0 {
			f, n := s.frames.Load(), s.ring.Len()
			if s.gen.Load() == g {
				return f - uint64(n)
			}
		}
		runtime.Gosched()
	}
}

// watch closes s.stalled when the callback count stops moving for
// StallTimeout (also before the first callback), and returns at close.
func (s *stream) watch() {
	t := time.NewTicker(s.cfg.StallTimeout / 8)
	defer t.Stop()
	s.watchTicks(t.C, time.Now())
}

// watchTicks is watch's loop on a given clock: ticks deliver the current
// time, start is the time the watch begins (a parameter so that a test can
// drive it without sleeping).
func (s *stream) watchTicks(ticks <-chan time.Time, start time.Time) {
	last, since := s.callbacks.Load(), start
	for {
		select {
		case <-s.closed:
			return
		case now := <-ticks:
			if c := s.callbacks.Load(); c != last {
				last, since = c, now
			} else if now.Sub(since) >= s.cfg.StallTimeout {
				close(s.stalled)
				return
			}
		}
	}
}

func (s *stream) isStalled() bool {
	select {
	case <-s.stalled:
		return true
	default:
		return false
	}
}

func (s *stream) errStalled() error {
	return fmt.Errorf("audio: %s: no callback for %v: %w", s.what(), s.cfg.StallTimeout, ErrStalled)
}

// close stops and closes the PortAudio stream; when that does not finish
// within abortTimeout the server is gone: the stream is abandoned and
// PortAudio marked dead (see ErrRestartRequired). Idempotent.
func (s *stream) close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		done := make(chan error, 1)
		go func() {
			if err := paLock("closing " + s.what()); err != nil {
				done <- err
				return
			}
			defer paUnlock()
			err := s.ps.Abort()
			if paIsDead() {
				// Close timed out meanwhile; Pa_CloseStream might now abort the process.
				done <- errRestart("closing " + s.what())
				return
			}
			if errors.Is(err, portaudio.StreamIsStopped) {
				err = nil
			}
			err = errors.Join(err, s.ps.Close(), paReleaseLocked())
			if err != nil {
				err = fmt.Errorf("audio: closing %s: %w", s.what(), err)
			}
			done <- err
		}()
		select {
		case s.closeErr = <-done:
		case <-time.After(abortTimeout):
			paMarkDead()
			s.closeErr = fmt.Errorf("audio: %s did not stop within %v, stream abandoned: %w", s.what(), abortTimeout, ErrRestartRequired)
		}
	})
	return s.closeErr
}

// Capture is a live input: a PortAudio callback stream whose callback copies
// the interleaved input into a Ring (dropping the oldest frames when the
// engine falls behind), and a blocking, deinterleaving Read for the engine.
// It implements Reader (Frames is -1).
//
// Read, ReadContext and Reopen belong to one goroutine (the engine's); Close,
// Stalled, Info and Xruns may be called from any.
type Capture struct {
	cfg     StreamConfig
	mu      sync.Mutex // guards cur against Close during Reopen
	cur     *stream
	closed  chan struct{}
	once    sync.Once
	scratch []float32
}

// OpenCapture opens and starts a capture stream. Errors name the device; a
// rate the device cannot run wraps ErrSampleRate, an unknown or ambiguous
// device ErrNoDevice. It allocates the ring and buffers.
func OpenCapture(cfg StreamConfig) (*Capture, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s, err := openStream(cfg, true)
	if err != nil {
		return nil, err
	}
	return newCapture(s), nil
}

// Format returns the stream's rate and channel count.
func (c *Capture) Format() Format {
	return Format{SampleRateHz: c.cfg.SampleRateHz, Channels: c.cfg.Channels}
}

// Frames returns -1: a live stream has no known length.
func (c *Capture) Frames() int64 { return -1 }

// Info describes the open stream (device, latency, buffer sizes).
func (c *Capture) Info() StreamInfo { c.mu.Lock(); defer c.mu.Unlock(); return c.cur.infoNow() }

// Xruns returns the counters the stream increments.
func (c *Capture) Xruns() *Xruns { return c.cfg.Xruns }

// Stalled returns a channel that is closed when the current stream stalls
// (the channel changes after Reopen).
func (c *Capture) Stalled() <-chan struct{} { c.mu.Lock(); defer c.mu.Unlock(); return c.cur.stalled }

// Read is ReadContext with a context that is never done.
func (c *Capture) Read(dst [][]float64) (int, error) {
	return c.ReadContext(context.Background(), dst)
}

// ReadContext blocks until it has filled dst[ch][:L] for every channel (L =
// len(dst[0])) with the next captured frames, converted to float64, and
// returns L, nil. It returns early with the frames read so far and: io.EOF
// once Close was called, an error wrapping ErrStalled when the stream stalls,
// or ctx.Err(). It panics unless len(dst) == Channels and all dst[ch] have the
// same length. It does not allocate.
func (c *Capture) ReadContext(ctx context.Context, dst [][]float64) (int, error) {
	ch := c.cfg.Channels
	want := checkBlock(dst, ch, "Capture.Read", "dst")
	select {
	case <-c.closed:
		return 0, io.EOF
	default:
	}
	s := c.cur
	n := 0
	for n < want {
		k := s.ring.Read(c.scratch[:min(len(c.scratch)/ch, want-n)*ch])
		if k > 0 {
			for j, d := range dst {
				d := d[n : n+k]
				for i := range d {
					d[i] = float64(c.scratch[i*ch+j])
				}
			}
			n += k
			continue
		}
		select {
		case <-s.notify:
		case <-c.closed:
			return n, io.EOF
		case <-s.stalled:
			return n, s.errStalled()
		case <-ctx.Done():
			return n, ctx.Err()
		}
	}
	return n, nil
}

// Flush drops the frames captured but not read yet and returns how many. The
// engine calls it right before its loop starts (or after a pause), so that
// the backlog of stale input, e.g. what arrived while the outputs were being
// opened, does not become a fixed extra latency. Read's goroutine only; it
// does not allocate.
func (c *Capture) Flush() int {
	s := c.cur
	select {
	case <-s.notify:
	default:
	}
	return s.ring.Discard(s.ring.Cap())
}

// Reopen closes the current stream (abandoning it if the server is gone) and
// opens the same configuration again, resolving the device spec anew; it
// counts a Reconnect. Call it after ErrStalled, with a backoff between
// failures. After the JACK server went away it fails with ErrRestartRequired:
// the process must restart (see that error). After Close it returns io.EOF.
func (c *Capture) Reopen() error {
	return reopen(&c.mu, &c.cur, c.closed, c.cfg, true)
}

// Close stops the stream and releases the device; a blocked Read returns
// io.EOF. It may be called from any goroutine, more than once. When the
// server is gone it returns within about a second with an error wrapping
// ErrRestartRequired.
func (c *Capture) Close() error {
	c.once.Do(func() { close(c.closed) })
	c.mu.Lock()
	s := c.cur
	c.mu.Unlock()
	return s.close()
}

func reopen(mu *sync.Mutex, cur **stream, closed chan struct{}, cfg StreamConfig, input bool) error {
	mu.Lock()
	old := *cur
	mu.Unlock()
	select {
	case <-closed:
		return io.EOF
	default:
	}
	old.close() // its error says why the old stream failed; the new one's matters
	s, err := openStream(cfg, input)
	if err != nil {
		return err
	}
	mu.Lock()
	*cur = s
	mu.Unlock()
	select {
	case <-closed: // Close ran meanwhile and closed the old stream only
		s.close()
		return io.EOF
	default:
	}
	cfg.Xruns.Inc(Reconnect)
	return nil
}

// Playback is a live output: the engine writes blocks through one or more
// PlaybackWriters without blocking, and a PortAudio callback stream plays them
// from a Ring, with silence until PrefillFrames are buffered and wherever the
// engine fell behind (counted as RingUnderrun).
//
// Several writers can feed one device: each owns some device channels (one
// per source, say "voice" on channel 0 and "noise" on channel 1). A frame
// goes to the device once every writer has written it, so every writer must
// be fed the same number of frames (Remove a writer that stops). Writers that
// share a device channel are summed.
//
// Writer, PlaybackWriter.Write, Drain and Reopen belong to one goroutine (the
// engine's); Close, Stalled, Info and Xruns may be called from any.
type Playback struct {
	cfg    StreamConfig
	mu     sync.Mutex // guards cur against Close during Reopen
	cur    *stream
	closed chan struct{}
	once   sync.Once
	stage  mixStage // frames not yet written by every writer, Channels columns
}

// OpenPlayback opens and starts a playback stream; it plays silence until
// the writers have written PrefillFrames. Errors as for OpenCapture. It
// allocates the ring and buffers.
func OpenPlayback(cfg StreamConfig) (*Playback, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s, err := openStream(cfg, false)
	if err != nil {
		return nil, err
	}
	return newPlayback(s), nil
}

// Format returns the stream's rate and channel count (the device channels).
func (p *Playback) Format() Format {
	return Format{SampleRateHz: p.cfg.SampleRateHz, Channels: p.cfg.Channels}
}

// Info describes the open stream (device, latency, buffer sizes).
func (p *Playback) Info() StreamInfo { p.mu.Lock(); defer p.mu.Unlock(); return p.cur.infoNow() }

// Xruns returns the counters the stream increments.
func (p *Playback) Xruns() *Xruns { return p.cfg.Xruns }

// Stalled returns a channel that is closed when the current stream stalls
// (the channel changes after Reopen).
func (p *Playback) Stalled() <-chan struct{} { p.mu.Lock(); defer p.mu.Unlock(); return p.cur.stalled }

// PlaybackWriter writes some channels of a Playback: its Write's src[i] goes
// to device channel Channels()[i].
type PlaybackWriter struct {
	p *Playback
	m *mixWriter // its columns are the device channels
}

// Writer returns a writer of the given device channels (0-based, distinct,
// < Format().Channels). It allocates.
func (p *Playback) Writer(channels ...int) (*PlaybackWriter, error) {
	if len(channels) == 0 {
		return nil, fmt.Errorf("audio: %s: a writer needs at least one channel", p.cur.what())
	}
	m, ok := p.stage.newWriter(channels, p.cfg.Channels, 0)
	if !ok {
		return nil, fmt.Errorf("audio: %s: writer channels %v: want distinct channels in [0, %d)", p.cur.what(), channels, p.cfg.Channels)
	}
	return &PlaybackWriter{p: p, m: m}, nil
}

// Channels returns the device channels the writer feeds.
func (w *PlaybackWriter) Channels() []int { return w.m.cols }

// Write adds src[i][:L] to device channel Channels()[i] (L = len(src[0])),
// converted to float32, and sends the frames that every writer has written to
// the ring without blocking; frames that do not fit are dropped and counted as
// a RingOverrun. It returns an error wrapping ErrStalled when the stream
// stalled, io.EOF after Close, and an error when this writer is more than the
// ring capacity ahead of another. It panics unless len(src) == len(Channels())
// and all src[i] have the same length. It does not allocate.
func (w *PlaybackWriter) Write(src [][]float64) error {
	p := w.p
	n := checkBlock(src, len(w.m.cols), "PlaybackWriter.Write", "src")
	s := p.cur
	select {
	case <-p.closed:
		return io.EOF
	default:
	}
	if s.isStalled() {
		return s.errStalled()
	}
	if !p.stage.add(w.m, src, n) {
		return fmt.Errorf("audio: %s: writer of channels %v is %d frames ahead of another writer, more than the ring holds (%d): feed every writer",
			s.what(), w.m.cols, w.m.pos+n, p.stage.frames())
	}
	p.commit()
	return nil
}

// Remove detaches the writer: the others are no longer held back by it. Its
// frames not yet sent stay staged for the others to complete.
func (w *PlaybackWriter) Remove() {
	w.p.stage.remove(w.m)
	w.p.commit()
}

// commit sends the frames every writer has written to the ring.
func (p *Playback) commit() {
	frames := p.stage.ready()
	done := len(frames) / p.cfg.Channels
	if done == 0 {
		return
	}
	if k := p.cur.ring.Write(frames); k < done {
		p.cfg.Xruns.Inc(RingOverrun)
	}
	p.stage.advance(done)
}

// Drain waits until the device has taken every frame sent to the ring (also
// those short of the prefill), or ctx is done, or the stream stalls. Call it
// before Close to play the end of the output.
func (p *Playback) Drain(ctx context.Context) error {
	s := p.cur
	s.flush.Store(true)
	defer s.flush.Store(false)
	period := time.Duration(p.cfg.FramesPerBuffer) * time.Second / time.Duration(p.cfg.SampleRateHz)
	t := time.NewTicker(max(period/2, time.Millisecond))
	defer t.Stop()
	for s.ring.Len() > 0 {
		select {
		case <-t.C:
		case <-p.closed:
			return io.EOF
		case <-s.stalled:
			return s.errStalled()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Reopen closes the current stream and opens the same configuration again,
// like Capture.Reopen. Writers and staged frames are kept; the ring starts
// empty (what it held is lost) and fills to the prefill again.
func (p *Playback) Reopen() error {
	return reopen(&p.mu, &p.cur, p.closed, p.cfg, false)
}

// Close stops the stream at once (call Drain first to play what is left) and
// releases the device. Like Capture.Close.
func (p *Playback) Close() error {
	p.once.Do(func() { close(p.closed) })
	p.mu.Lock()
	s := p.cur
	p.mu.Unlock()
	return s.close()
}
