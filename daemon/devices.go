package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/config"
	"github.com/sepd/sepd/engine"
)

// devicePlan is the device side of a configuration: what audio.Live opens
// for it, where each source plays, and the deadline of a frame.
type devicePlan struct {
	lc    audio.LiveConfig
	names []string            // output devices, in lc.Outputs order
	keys  map[string][]string // per source, its device outputs: "device\x00ch,ch"
	slack time.Duration       // the playback prefill's slack beyond the hop
	// The engine runs at rate, the devices at devRate; when they differ the
	// engine's device input and outputs are converted (see convert).
	rate, devRate int
}

// converts reports whether the devices run at another rate than the engine.
func (p devicePlan) converts() bool { return p.rate != p.devRate }

// convDelay is the delay the rate conversion adds between the devices, in
// device frames: the input's filter and the outputs' (the same filter at
// the same common rate), audio.RoundTripDelay for both, half of it for
// either alone (see audio.Resampler).
func (p devicePlan) convDelay() float64 {
	if !p.converts() {
		return 0
	}
	trip := float64(audio.RoundTripDelay(p.devRate, p.rate))
	switch {
	case p.lc.Input != nil && len(p.lc.Outputs) > 0:
		return trip
	case p.lc.Input != nil || len(p.lc.Outputs) > 0:
		return trip / 2
	}
	return 0
}

// deviceRate is the rate cfg's devices run at: device_rate, or else the
// rate a short-lived audio bridge chooses for the device that the input (or
// the first output) names (audio.DeviceRate: rate when that device is no
// JACK client and takes it, else its default rate); rate when cfg has no
// device.
func deviceRate(ctx context.Context, cfg *config.Config, rate, channels int) (int, error) {
	if cfg.DeviceRateHz > 0 {
		return cfg.DeviceRateHz, nil
	}
	p := planDevices(cfg, rate, rate, channels, nil, nil)
	if !p.any() {
		return rate, nil
	}
	r, _, err := audio.DeviceRate(ctx, p.lc, rate)
	return r, err
}

// planDevices says which devices cfg needs for an engine at rate on devices
// at devRate, with the input's channel count (the input is a device when cfg
// has no input file). The blocks and prefill below are device frames; at
// another rate than the engine's, a hop is ceil(hop devRate / rate) device
// frames (engine.RateSource reads as many as engine.RateSink writes).
//
// Device streams follow the host's period (audio.StreamConfig.FollowHost:
// JACK's buffer size, whatever it is, and its changes); the bridge's pipe
// block is 256 frames, or the hop when smaller.
// The playback prefill is the hop plus three blocks: the hop's filling and
// three periods of slack for the engine, whose thread is not real-time
// (measured: with one block of slack a 60 s run had ring xruns whenever
// anything else ran; audio.Live documents that the prefill must exceed the
// hop plus the engine's time per hop), rounded up to whole hops: the engine
// writes a hop at a time, so the playback ring reaches its prefill on a hop
// boundary, and a prefill between two would start playing with up to a hop
// more queued than the lag the bridge holds, which it then corrects by
// dropping a block (measured with hop 512: prefill 1280 gave one ring overrun
// at every start, 1536 none). The streams round it up to whole periods when
// the server's period is larger than a block.
func planDevices(cfg *config.Config, rate, devRate, channels int, xr *audio.Xruns, log *slog.Logger) devicePlan {
	hop := (cfg.STFT.Hop*devRate + rate - 1) / max(rate, 1) // device frames
	block := min(hop, 256)
	prefill := (hop + 3*block + hop - 1) / hop * hop
	p := devicePlan{
		lc:    audio.LiveConfig{Xruns: xr, Log: log},
		keys:  map[string][]string{},
		slack: time.Duration(prefill-hop) * time.Second / time.Duration(max(devRate, 1)),
		rate:  rate, devRate: devRate,
	}
	rate = devRate // the streams'
	if cfg.Input.File == "" {
		p.lc.Input = &audio.StreamConfig{Device: cfg.Input.Device, Channels: channels, SampleRateHz: rate, FramesPerBuffer: block, FollowHost: true, Latency: cfg.Input.Latency, Xruns: xr}
	}
	chans := map[string]int{}
	lat := map[string]time.Duration{} // per device, the largest asked for
	for _, s := range cfg.Sources {
		for _, o := range s.Outputs {
			if o.Device == "" {
				continue
			}
			if _, ok := chans[o.Device]; !ok {
				p.names = append(p.names, o.Device)
			}
			for _, ch := range o.Channels {
				chans[o.Device] = max(chans[o.Device], ch+1)
			}
			lat[o.Device] = max(lat[o.Device], o.Latency)
			p.keys[s.Name] = append(p.keys[s.Name], deviceKey(o))
		}
	}
	for _, name := range p.names {
		p.lc.Outputs = append(p.lc.Outputs, audio.StreamConfig{Device: name, Channels: chans[name], SampleRateHz: rate, FramesPerBuffer: block, FollowHost: true, PrefillFrames: prefill, Latency: lat[name], Xruns: xr})
	}
	return p
}

// any reports whether the plan opens a device.
func (p devicePlan) any() bool { return p.lc.Input != nil || len(p.lc.Outputs) > 0 }

// changes says why devices planned as p cannot be those running as q: "" when
// they can (the same streams, every source playing where it did).
func (p devicePlan) changes(q devicePlan) string {
	var why []string
	switch {
	case (p.lc.Input == nil) != (q.lc.Input == nil):
		why = append(why, "the input changes between a file and a device")
	case p.lc.Input != nil && *p.lc.Input != *q.lc.Input:
		if p.lc.Input.Device != q.lc.Input.Device {
			why = append(why, fmt.Sprintf("input.device changes from %q to %q", q.lc.Input.Device, p.lc.Input.Device))
		} else {
			why = append(why, "the hop changes the input's buffers")
		}
	}
	if !slices.Equal(p.names, q.names) || !maps.EqualFunc(p.keys, q.keys, slices.Equal) {
		why = append(why, "the device outputs change")
	} else if !slices.Equal(p.lc.Outputs, q.lc.Outputs) {
		why = append(why, "the hop changes the output buffers")
	}
	return strings.Join(why, "; ")
}

func deviceKey(o config.Output) string {
	var b strings.Builder
	b.WriteString(o.Device)
	b.WriteByte(0)
	for i, ch := range o.Channels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(ch))
	}
	return b.String()
}

// deadline is the frame loop's source for the device input of live, opened
// from dev, or nil when dev has no device input. A frame misses its deadline
// when it takes longer than the slack the playback prefill leaves: then the
// device would play a gap.
func (d *daemon) deadline(live *audio.Live, dev devicePlan) engine.Source {
	if dev.lc.Input == nil {
		return nil
	}
	var src engine.Source = live
	if dev.converts() {
		rs, err := engine.NewRateSource(live, d.channels, dev.devRate, dev.rate)
		if err != nil {
			panic(err) // rates checked by planDevices' caller: both > 0
		}
		src = rs
	}
	return &deadlineSource{src: src, period: dev.slack, xruns: d.xruns}
}

// openAfterClosing is the second way to the devices of dev, when they did not
// open beside the running ones (first is why): a device that opens only once,
// such as an ALSA hw device, or a JACK server out of ports. The frame loop
// moves to the running engine without its device outputs, reading silence
// paced by the clock in place of a device input (file outputs go on, aligned
// in time); the running devices close, and the new ones open. When they still
// do not open, the running configuration's devices open again and the error
// says so; when even they do not, the run cannot go on: d.fatal is set.
func (d *daemon) openAfterClosing(dev devicePlan, first error) (*audio.Live, error) {
	d.log.Warn("the new audio devices did not open beside the running ones; closing those first (silence meanwhile)", "err", first)
	var src engine.Source
	if d.dev.lc.Input != nil {
		src = &pacedSilence{rate: d.rate}
	}
	interim, err := withoutDevices(d.stage, src)
	if err != nil {
		return nil, err
	}
	if err := d.swap(interim); err != nil {
		return nil, err
	}
	if err := d.live.Close(); err != nil && !errors.Is(err, io.EOF) {
		d.log.Warn("closing the previous audio devices", "err", err)
	}
	d.live = nil
	opened, err := audio.StartLive(d.ctx, dev.lc)
	if err == nil {
		return opened, nil
	}
	if rerr := d.restoreDevices(); rerr != nil {
		return nil, fmt.Errorf("%w; and the previous devices did not open again: %v", err, rerr)
	}
	return nil, fmt.Errorf("%w (also with the running devices closed; those are open again)", err)
}

// restoreDevices opens the running configuration's devices again, after
// openAfterClosing closed them, and hands the frame loop a stage of the
// running engine with them. If they do not open while the run goes on, the
// run cannot go on with its devices: d.fatal is set.
func (d *daemon) restoreDevices() error {
	select {
	case <-d.loopDone:
		return nil // the run is over: nothing to play to
	default:
	}
	err := func() error {
		live, err := audio.StartLive(d.ctx, d.dev.lc)
		if err != nil {
			return err
		}
		st, err := d.buildStage(d.stage.Engine, d.cfg, live, &d.dev)
		if err != nil {
			live.Close()
			return err
		}
		st.Source = d.deadline(live, d.dev)
		if err := d.swap(st); err != nil {
			live.Close()
			return err
		}
		d.live = live
		d.log.Info("the previous audio devices are open again")
		return nil
	}()
	select {
	case <-d.loopDone:
	default:
		if err != nil && d.fatal == nil {
			d.fatal = fmt.Errorf("run: a reload closed the audio devices and they did not open again: %w", err)
			d.log.Error("stopping: the audio devices are gone", "err", d.fatal)
		}
	}
	return err
}

// withoutDevices is a stage of st's engine (the same one: nothing to carry
// over) with st's sinks but the device outputs, reading src (nil: the run's
// source).
func withoutDevices(st *engine.Stage, src engine.Source) (*engine.Stage, error) {
	sinks := make([]engine.Sink, len(st.Sinks))
	for i, s := range st.Sinks {
		switch v := s.(type) {
		case *channelMap:
		case engine.Fanout:
			var f engine.Fanout
			for _, x := range v {
				if _, ok := x.(*channelMap); !ok {
					f = append(f, x)
				}
			}
			if len(f) > 0 {
				sinks[i] = f
			}
		default:
			sinks[i] = s
		}
	}
	ns, err := engine.NewStage(st.Engine, sinks)
	if err != nil {
		return nil, err
	}
	ns.Source = src
	return ns, nil
}

// guardedSink keeps the daemon running when one output fails (a full disk): the
// first error is handed to the control goroutine (non-blocking) and the sink then
// drops its input.
type guardedSink struct {
	sink   engine.Sink
	failed atomic.Bool
	report chan<- error
}

func (g *guardedSink) Write(src [][]float64) error {
	if g.failed.Load() {
		return nil
	}
	if err := g.sink.Write(src); err != nil {
		g.failed.Store(true)
		select {
		case g.report <- err:
		default:
		}
	}
	return nil
}

func (g *guardedSink) SetLimit(n int64) {
	if l, ok := g.sink.(interface{ SetLimit(int64) }); ok {
		l.SetLimit(n)
	}
}

// channelMap adapts a source's C channels to the n device channels of an output:
// equal counts pass through, mono is copied to every channel, several channels
// to one are averaged, otherwise channel i takes source channel i mod C.
type channelMap struct {
	dst engine.Sink
	buf [][]float64
}

func newChannelMap(dst engine.Sink, n, hop int) *channelMap {
	m := &channelMap{dst: dst, buf: make([][]float64, n)}
	for i := range m.buf {
		m.buf[i] = make([]float64, hop)
	}
	return m
}

func (m *channelMap) Write(src [][]float64) error {
	n := len(m.buf)
	if len(src) == n {
		return m.dst.Write(src)
	}
	k := len(src[0])
	for i := range m.buf {
		m.buf[i] = m.buf[i][:k]
	}
	if n == 1 {
		b := m.buf[0]
		clear(b)
		for _, ch := range src {
			for j, v := range ch {
				b[j] += v
			}
		}
		inv := 1 / float64(len(src))
		for j := range b {
			b[j] *= inv
		}
	} else {
		for i := range m.buf {
			copy(m.buf[i], src[i%len(src)])
		}
	}
	return m.dst.Write(m.buf)
}

// deadlineSource counts frames that took longer than their deadline (the slack
// of the playback prefill): the time from one Read's return to the next Read is
// the frame's processing time.
type deadlineSource struct {
	src    engine.Source
	period time.Duration
	last   time.Time
	xruns  *audio.Xruns
}

func (d *deadlineSource) Read(dst [][]float64) (int, error) {
	if !d.last.IsZero() && time.Since(d.last) > d.period {
		d.xruns.Inc(audio.DeadlineMissed)
	}
	n, err := d.src.Read(dst)
	d.last = time.Now()
	return n, err
}

// pacedSilence is a Source of silence at the sample rate by the wall clock:
// the input while a device input is away during a reload (openAfterClosing),
// so that file outputs stay aligned in time.
type pacedSilence struct {
	rate  int
	start time.Time
	done  int64
}

func (p *pacedSilence) Read(dst [][]float64) (int, error) {
	if p.start.IsZero() {
		p.start = time.Now()
	}
	n := len(dst[0])
	due := p.start.Add(time.Duration(float64(p.done+int64(n)) / float64(p.rate) * float64(time.Second)))
	time.Sleep(time.Until(due))
	for _, c := range dst {
		clear(c)
	}
	p.done += int64(n)
	return n, nil
}
