package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/config"
	"github.com/sepd/sepd/engine"
	"github.com/sepd/sepd/metrics"
)

func init() { extraCommands = append(extraCommands, newRunCmd, newDevicesCmd) }

func newRunCmd() *cobra.Command {
	var path, saveFree string
	var lf logFlags
	c := &cobra.Command{
		Use:   "run -c sepd.yaml",
		Short: "the daemon: separate a device or a file in real time until stopped",
		Long: `run separates the configured input (an audio device, or a file replayed in real
time or as fast as possible) into the configured sources and sends each to its
outputs (device channels and/or WAV files) until SIGINT/SIGTERM or the end of the
input. SIGHUP (or POST /-/reload on the metrics address) re-reads the configuration
and swaps it in between two frames; an invalid file is logged and the running
configuration stays.

Exit status: 0 clean stop, 2 bad usage, configuration or device, 1 runtime failure.`,
		Args: argsError(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if path == "" {
				return usagef("run: give the configuration with -c sepd.yaml")
			}
			cfg, err := config.Load(path)
			if err != nil {
				return usageError{err}
			}
			log, logCtl, err := lf.logger(c.ErrOrStderr(), c.Flags(), cfg.Log)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runDaemon(ctx, cfg, log, logCtl, saveFree)
		},
	}
	c.Flags().StringVarP(&path, "config", "c", "", "YAML configuration file (required)")
	c.Flags().StringVar(&saveFree, "save-free", "", "at the end, save the free bases the run learned as DIR/NAME.npy")
	addLogFlags(c.Flags(), &lf)
	return c
}

func newDevicesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "devices",
		Short: "list audio host APIs and devices",
		Args:  argsError(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			l, err := audio.ListDevices()
			if err != nil {
				return err
			}
			return l.WriteTable(c.OutOrStdout())
		},
	}
}

// daemon is one `sepd run`: the configuration in force, its devices and files,
// and the control side of the frame loop (reloads, errors, metrics).
type daemon struct {
	log      *slog.Logger
	logCtl   *logControl // nil: the log settings stay as they are
	cfg      *config.Config
	rate     int
	channels int
	ctx      context.Context // the run's: bounds the start of devices on a reload
	live     *audio.Live     // nil when the configuration has no device
	dev      devicePlan      // what live opened
	xruns    *audio.Xruns
	metrics  *metrics.Metrics
	handler  http.Handler // the metrics listener's
	// The metrics listener: the metrics.listen it serves ("" none) and the
	// cancel that shuts it down.
	listening  string
	stopListen context.CancelFunc

	// Everything here belongs to the control goroutine (runDaemon's loop:
	// reloads, measurements, the end); the frame loop sees only the Stages
	// handed over through next.
	stage    *engine.Stage
	files    map[string]*fileOut // by fileKey
	next     atomic.Pointer[engine.Stage]
	sinkErr  chan error
	loopDone chan struct{} // closed when the frame loop has returned
	// fatal, set by a reload that lost the devices for good, stops the run
	// (exit status 1; systemd restarts it).
	fatal error

	// measureLatency's previous reading.
	measured struct {
		e      *engine.Engine
		frames uint64
		nanos  uint64
	}
	saveFree string // --save-free folder, "" for none
}

// fileKey names an output file of a source in daemon.files.
func fileKey(source, path string) string { return source + "\x00" + path }

// fileOut is one output file of a running daemon.
type fileOut struct {
	w       *audio.WAVWriter
	aligned *engine.Aligned
	sink    *guardedSink
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

// devicePlan is the device side of a configuration: what audio.Live opens
// for it, where each source plays, and the deadline of a frame.
type devicePlan struct {
	lc    audio.LiveConfig
	names []string            // output devices, in lc.Outputs order
	keys  map[string][]string // per source, its device outputs: "device\x00ch,ch"
	slack time.Duration       // the playback prefill's slack beyond the hop
}

// planDevices says which devices cfg needs at the given rate and input channel
// count (the input is a device when cfg has no input file).
//
// Device blocks: a JACK-sized period (256 frames, or the hop when smaller).
// The playback prefill is the hop plus three blocks: the hop's filling and
// three periods of slack for the engine, whose thread is not real-time
// (measured: with one block of slack a 60 s run had ring xruns whenever
// anything else ran; audio.Live documents that the prefill must exceed the
// hop plus the engine's time per hop), rounded up to whole hops: the engine
// writes a hop at a time, so the playback ring reaches its prefill on a hop
// boundary, and a prefill between two would start playing with up to a hop
// more queued than the lag the bridge holds, which it then corrects by
// dropping a block (measured with hop 512: prefill 1280 gave one ring overrun
// at every start, 1536 none).
func planDevices(cfg *config.Config, rate, channels int, xr *audio.Xruns, log *slog.Logger) devicePlan {
	hop := cfg.STFT.Hop
	block := min(hop, 256)
	prefill := (hop + 3*block + hop - 1) / hop * hop
	p := devicePlan{
		lc:    audio.LiveConfig{Xruns: xr, Log: log},
		keys:  map[string][]string{},
		slack: time.Duration(prefill-hop) * time.Second / time.Duration(max(rate, 1)),
	}
	if cfg.Input.File == "" {
		p.lc.Input = &audio.StreamConfig{Device: cfg.Input.Device, Channels: channels, SampleRateHz: rate, FramesPerBuffer: block, Xruns: xr}
	}
	chans := map[string]int{}
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
			p.keys[s.Name] = append(p.keys[s.Name], deviceKey(o))
		}
	}
	for _, name := range p.names {
		p.lc.Outputs = append(p.lc.Outputs, audio.StreamConfig{Device: name, Channels: chans[name], SampleRateHz: rate, FramesPerBuffer: block, PrefillFrames: prefill, Xruns: xr})
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

// deadline is the frame loop's source for the device input of live, opened
// from dev, or nil when dev has no device input. A frame misses its deadline
// when it takes longer than the slack the playback prefill leaves: then the
// device would play a gap.
func (d *daemon) deadline(live *audio.Live, dev devicePlan) engine.Source {
	if dev.lc.Input == nil {
		return nil
	}
	return &deadlineSource{src: live, period: dev.slack, xruns: d.xruns}
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

func runDaemon(ctx context.Context, cfg *config.Config, log *slog.Logger, logCtl *logControl, saveFree string) error {
	d := &daemon{logCtl: logCtl, saveFree: saveFree, log: log, cfg: cfg, xruns: new(audio.Xruns), files: map[string]*fileOut{}, sinkErr: make(chan error, 16), loopDone: make(chan struct{})}
	log.Info("sepd starting", "version", buildVersion(), "config", cfg.Path)

	// The input: a file (replayed in real time or as fast as possible) or a device.
	var src engine.Source
	pace := 0
	if cfg.Input.File != "" {
		r, err := audio.Open(cfg.Input.File)
		if err != nil {
			return usageError{err}
		}
		defer r.Close()
		f := r.Format()
		if cfg.Input.Channels > 0 && cfg.Input.Channels != f.Channels {
			return usagef("run: %s has %d channels but input.channels is %d in %s", cfg.Input.File, f.Channels, cfg.Input.Channels, cfg.Path)
		}
		d.rate, d.channels = f.SampleRateHz, f.Channels
		src = r
		if cfg.Input.Realtime {
			pace = d.rate
		}
	} else {
		if cfg.SampleRateHz == 0 {
			return usagef("run: %s: sample_rate must be set for a device input (the rate the device and the bases run at)", cfg.Path)
		}
		d.rate, d.channels = cfg.SampleRateHz, max(cfg.Input.Channels, 1)
	}
	d.dev = planDevices(cfg, d.rate, d.channels, d.xruns, log)

	plan, err := engine.NewPlan(cfg, d.channels)
	if err != nil {
		return usageError{err}
	}
	if err := checkRate(plan, d.rate, inputName(cfg)); err != nil {
		return usageError{err}
	}
	for _, r := range plan.Reports {
		log.Info("bases", "source", r.Name, "file", r.Path, "read", r.String())
	}
	e, err := plan.NewEngine()
	if err != nil {
		return usageError{err}
	}

	d.ctx = ctx
	if d.dev.any() {
		d.live, err = audio.StartLive(ctx, d.dev.lc)
		if err != nil {
			// The configured devices did not open (missing, ambiguous, the
			// wrong rate, too few channels, no server): a device error, exit
			// 2 whatever its kind, unless a signal stopped the start.
			if ctx.Err() == nil {
				return usageError{err}
			}
			return err
		}
		// A reload may replace d.live: close the one in force at the end.
		defer func() {
			if d.live != nil {
				d.live.Close()
			}
		}()
		if d.dev.lc.Input != nil {
			src = d.live
		}
	}

	st, err := d.buildStage(e, cfg, d.live, &d.dev)
	if err != nil {
		d.abortFiles()
		return err
	}
	d.stage = st

	total := d.logLatency("running", e, cfg,
		"input", inputName(cfg), "rate_hz", d.rate, "channels", d.channels,
		"fft_size", cfg.STFT.FFTSize, "hop", cfg.STFT.Hop, "window", cfg.STFT.Window,
		"beta", cfg.Separation.Beta, "iterations", cfg.Separation.Iterations, "mask_power", cfg.Separation.MaskPower,
		"sources", strings.Join(plan.Bases.Names, ","))

	// Metrics and health, on loopback unless the file names another address.
	d.metrics = metrics.New(buildVersion())
	d.metrics.SetEngine(e, d.rate)
	d.metrics.SetXruns(d.xruns)
	d.metrics.SetConfiguredLatency(time.Duration(total) * time.Second / time.Duration(d.rate))
	reloads := make(chan chan error)
	reload := func() error {
		ch := make(chan error, 1)
		select {
		case reloads <- ch:
		case <-ctx.Done():
			return errors.New("run: stopping")
		}
		return <-ch
	}
	d.handler = d.metrics.Handler(reload, log)
	d.listenMetrics(cfg)
	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	go audio.NewXrunReporter(d.xruns, log, time.Second).Run(rctx)

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	measure := time.NewTicker(time.Second)
	defer measure.Stop()

	// The frame loop owns the engine; this goroutine handles reloads and errors.
	if in := d.deadline(d.live, d.dev); in != nil {
		src = in
	}
	done := make(chan error, 1)
	var consumed int64
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	go func() {
		n, err := engine.RunStage(runCtx, st, src, engine.RunOptions{PaceHz: pace, Next: &d.next})
		consumed = n
		close(d.loopDone)
		done <- err
	}()
	for {
		select {
		case err := <-done:
			return d.finish(err, consumed)
		case <-hup:
			err := d.reload()
			d.metrics.RecordReload(err)
		case ch := <-reloads:
			err := d.reload()
			d.metrics.RecordReload(err)
			ch <- err
		case err := <-d.sinkErr:
			log.Error("output failed; it is dropped and the other outputs go on", "err", err)
		case <-measure.C:
			d.measureLatency()
		}
		if d.fatal != nil {
			stopRun() // the frame loop drains and returns: done
		}
	}
}

// logLatency logs the devices d.live opened and then a record msg with the
// given attributes and the latency of engine e on them, and returns the total.
//
// The design's algorithmic figure is fft_size - 1 samples: the STFT's stream
// delay (fft_size - hop) plus the hop - 1 samples a block waits to fill.
// Through devices the hop's filling happens inside the playback prefill that
// LiveInfo.LatencySamples already counts, so end to end it is the stream
// delay plus the devices' part (audio.Live documents and measures that
// split). With a file input the STFT delay is compensated in the files and
// the figure is the algorithmic one.
func (d *daemon) logLatency(msg string, e *engine.Engine, cfg *config.Config, attrs ...any) int {
	algo, delay := e.LatencySamples(), e.DelaySamples()
	devLat := 0
	if d.live != nil {
		info := d.live.Info()
		devLat = info.LatencySamples
		if info.Input != nil {
			d.log.Info("input device", "device", info.Input.Device.Name, "channels", info.Input.Format.Channels, "latency", info.Input.DeviceLatency)
		}
		for _, o := range info.Outputs {
			d.log.Info("output device", "device", o.Device.Name, "channels", o.Format.Channels, "latency", o.DeviceLatency, "prefill_frames", o.PrefillFrames)
		}
	}
	total := algo
	if d.dev.lc.Input != nil {
		total = delay + devLat
	}
	attrs = append(attrs,
		"latency_samples", total, "latency_ms", fmt.Sprintf("%.2f", float64(total)*1000/float64(d.rate)),
		"algorithmic_samples", algo, "stft_delay_samples", delay, "device_samples", devLat)
	d.log.Info(msg, attrs...)
	return total
}

// listenMetrics opens the metrics listener cfg asks for when it is not the one
// open: at the start, and at a reload that changes metrics.listen. The new one
// opens first and the old one then shuts down gracefully (so that a reload
// request it carries gets its answer). An address that cannot be opened is
// logged and the audio goes on: at the start without metrics, at a reload with
// the listener it had (and the next reload tries again).
func (d *daemon) listenMetrics(cfg *config.Config) {
	addr := cfg.Metrics.Listen
	if addr == d.listening {
		return
	}
	if addr == "" {
		d.stopListen()
		d.listening, d.stopListen = "", nil
		d.log.Info("metrics listener closed (metrics.listen is empty)")
		return
	}
	lctx, cancel := context.WithCancel(d.ctx)
	srv, err := metrics.Listen(lctx, addr, cfg.Metrics.ListenSet, d.handler, d.log)
	if err != nil {
		cancel()
		if d.listening == "" {
			d.log.Error("metrics disabled; audio goes on", "err", err)
		} else {
			d.log.Error("metrics stay where they were; audio goes on", "listening", d.listening, "err", err)
		}
		return
	}
	if d.stopListen != nil {
		d.stopListen()
		d.log.Info("metrics listener moved", "from", d.listening)
	}
	d.listening, d.stopListen = addr, cancel
	d.log.Info("metrics", "addr", "http://"+srv.Addr()+"/metrics")
}

// measureLatency sets sepd_latency_seconds{kind="measured"}, once a second:
//   - with a device input, the STFT delay plus the devices' part as the audio
//     bridge measures it (Live.MeasuredLatencySamples: the lag it observes
//     from each block's capture to its playback, and the devices' own
//     latencies); nothing while the devices are down or without device outputs;
//   - with a real-time file replay, the algorithmic latency (a hop's first
//     sample waits for its last, then the STFT delay) plus the mean
//     processing time of the frames since the last call, plus the device
//     outputs' part (their latency and prefill) if any;
//   - with a file read as fast as possible, nothing: no sample has a time.
func (d *daemon) measureLatency() {
	e := d.stage.Engine
	var samples float64
	switch {
	case d.dev.lc.Input != nil:
		if d.live == nil {
			return // a reload lost the devices (d.fatal)
		}
		n, ok := d.live.MeasuredLatencySamples()
		if !ok {
			return
		}
		samples = float64(e.DelaySamples() + n)
	case d.cfg.Input.Realtime: // a real-time file replay (a reload never changes the input)
		st := e.Stats()
		frames, nanos := st.Frames.Load(), st.FrameTimeNanos.Load()
		prev := d.measured
		d.measured.e, d.measured.frames, d.measured.nanos = e, frames, nanos
		if prev.e != e || frames == prev.frames {
			return // a new engine, or no frame since: wait for the next reading
		}
		proc := float64(nanos-prev.nanos) / float64(frames-prev.frames) / 1e9
		samples = float64(e.LatencySamples()) + proc*float64(d.rate)
		if d.live != nil {
			samples += float64(d.live.Info().LatencySamples)
		}
	default:
		return
	}
	d.metrics.SetMeasuredLatency(time.Duration(samples / float64(d.rate) * float64(time.Second)))
}

// checkRate refuses a plan whose sample rate (sample_rate, or the rate the
// bases were learned at when sample_rate is 0; see engine.NewPlan) is not
// the rate the run goes at, as engine.SeparateFile does for a file.
func checkRate(plan *engine.Plan, rate int, input string) error {
	if want := plan.Config.SampleRateHz; want > 0 && want != rate {
		return engine.InputErrorf("run: %s runs at %d Hz but the configuration's sample rate is %d Hz (%s); resample the input or change the configuration",
			input, rate, want, plan.Config.Path)
	}
	return nil
}

func inputName(cfg *config.Config) string {
	if cfg.Input.File != "" {
		return cfg.Input.File
	}
	return "device " + cfg.Input.Device
}

// buildStage opens (or, on a reload, reuses) every output of cfg for engine e.
// With dev (the plan live was opened from: the start, or a reload that opened
// new devices) device outputs are new writers into live; with dev nil they are
// the running stage's device sinks of the same source, which the caller has
// checked play where cfg says.
func (d *daemon) buildStage(e *engine.Engine, cfg *config.Config, live *audio.Live, dev *devicePlan) (*engine.Stage, error) {
	sinks := make([]engine.Sink, len(cfg.Sources))
	fresh := dev != nil
	for s, src := range cfg.Sources {
		var fan engine.Fanout
		for _, o := range src.Outputs {
			switch {
			case o.File != "":
				key := fileKey(src.Name, o.File)
				f := d.files[key]
				if f == nil {
					enc, err := audio.ParseEncoding(cmp.Or(o.Format, "float32"))
					if err != nil {
						return nil, err
					}
					w, err := audio.CreateWAV(o.File, audio.Format{SampleRateHz: d.rate, Channels: d.channels}, enc)
					if err != nil {
						return nil, err
					}
					a := engine.NewAligned(w, d.channels, e.DelaySamples(), -1)
					f = &fileOut{w: w, aligned: a, sink: &guardedSink{sink: a, report: d.sinkErr}}
					d.files[key] = f
					d.log.Info("output file", "source", src.Name, "file", o.File, "format", enc.String())
				}
				fan = append(fan, f.sink)
			case o.Device != "" && fresh:
				w, err := live.Writer(slices.Index(dev.names, o.Device), o.Channels...)
				if err != nil {
					return nil, err
				}
				fan = append(fan, newChannelMap(w, len(o.Channels), e.HopSamples()))
			}
		}
		if !fresh {
			// Reuse the running stage's device sinks for this source.
			for _, s := range d.stageSink(src.Name) {
				if _, ok := s.(*channelMap); ok {
					fan = append(fan, s)
				}
			}
		}
		if len(fan) == 1 {
			sinks[s] = fan[0]
		} else if len(fan) > 1 {
			sinks[s] = fan
		}
	}
	return engine.NewStage(e, sinks)
}

// stageSink returns the sinks the running stage gives the named source.
func (d *daemon) stageSink(name string) engine.Fanout {
	if d.stage == nil {
		return nil
	}
	for s, n := range d.stage.Engine.Bases().Names {
		if n != name {
			continue
		}
		switch v := d.stage.Sinks[s].(type) {
		case engine.Fanout:
			return v
		case nil:
			return nil
		default:
			return engine.Fanout{v}
		}
	}
	return nil
}

// reload re-reads the configuration file and swaps it in between two frames. An
// invalid file, or a change this process cannot make without a restart, leaves the
// running configuration in force and is returned (and logged).
func (d *daemon) reload() error {
	err := d.applyReload()
	if err != nil {
		d.log.Error("reload failed; the running configuration stays", "config", d.cfg.Path, "err", err)
		return err
	}
	d.listenMetrics(d.cfg)
	if d.logCtl != nil {
		d.logCtl.Apply(d.cfg.Log, func(change string) { d.log.Info("log settings change", "change", change) })
	}
	return nil
}

func (d *daemon) applyReload() error {
	cfg, err := config.Load(d.cfg.Path)
	if err != nil {
		return err
	}
	old := d.cfg
	switch {
	case (cfg.Input.File != "" || old.Input.File != "") && cfg.Input != old.Input:
		// The output files are the separation of the input they started with.
		return fmt.Errorf("%s: the input changes from %s to %s; restart sepd to start on a new input", cfg.Path, inputName(old), inputName(cfg))
	case cfg.Input.File == "" && max(cfg.Input.Channels, 1) != d.channels:
		return fmt.Errorf("%s: input.channels changes from %d to %d; restart sepd (the engine and the output files have the input's channel count)", cfg.Path, d.channels, max(cfg.Input.Channels, 1))
	}
	plan, err := engine.NewPlan(cfg, d.channels)
	if err != nil {
		return engine.InputError(err)
	}
	if err := checkRate(plan, d.rate, inputName(cfg)); err != nil {
		return fmt.Errorf("%w; restart sepd to change the rate", err)
	}
	cur := d.stage.Engine
	var e *engine.Engine
	rebuilt := cur.SameStream(plan.Params)
	if rebuilt == nil {
		e, err = cur.Successor(plan.Bases, plan.Params.Separation)
	} else {
		// A new STFT cannot continue the old one's overlap-add: the stream is
		// rebuilt, with a gap of at most fft_size samples in the outputs.
		e, err = plan.NewEngine()
	}
	if err != nil {
		return engine.InputError(err)
	}

	// Devices: the running ones serve when every stream and every source's
	// device outputs stay as they are. Otherwise the new ones open beside them
	// (the old keep playing until the swap) and replace them between two frames.
	dev := planDevices(cfg, d.rate, d.channels, d.xruns, d.log)
	reopen := dev.changes(d.dev)
	live := d.live
	var opened *audio.Live
	if reopen != "" && dev.any() {
		d.log.Info("reload opens new audio devices", "why", reopen)
		opened, err = audio.StartLive(d.ctx, dev.lc)
		stay := " (the running ones stay)"
		if err != nil && d.live != nil && !errors.Is(err, audio.ErrNoDevice) && !errors.Is(err, audio.ErrSampleRate) {
			opened, err = d.openAfterClosing(dev, err)
			stay = "" // its error says which devices are open
		}
		if err != nil {
			return fmt.Errorf("%s: %s, but the new devices did not open%s: %w", cfg.Path, reopen, stay, err)
		}
		live = opened
	}
	// openAfterClosing leaves d.live nil exactly when it closed the running
	// devices to open the new ones.
	closedFirst := d.dev.any() && d.live == nil
	closeOpened := func() {
		if opened != nil {
			opened.Close()
		}
		if closedFirst {
			d.restoreDevices()
		}
	}

	prevFiles := maps.Clone(d.files)
	abortNew := func() {
		for k, f := range d.files {
			if prevFiles[k] == nil {
				f.w.Abort()
				delete(d.files, k)
			}
		}
	}
	var newDev *devicePlan
	if reopen != "" {
		newDev = &dev
	}
	st, err := d.buildStage(e, cfg, live, newDev)
	if err != nil {
		abortNew()
		closeOpened()
		return err
	}
	if opened != nil {
		st.Source = d.deadline(opened, dev)
	}
	if rebuilt == nil {
		st.OnAdopt = func(prev *engine.Stage) { st.Engine.Adopt(prev.Engine) }
	} else {
		// The file outputs stay aligned with the input across the new delay.
		shift := e.DelaySamples() - cur.DelaySamples()
		var aligned []*engine.Aligned
		for _, f := range prevFiles {
			aligned = append(aligned, f.aligned)
		}
		st.OnAdopt = func(*engine.Stage) {
			for _, a := range aligned {
				a.Shift(shift)
			}
		}
		d.log.Warn("reload rebuilds the stream", "why", rebuilt.Error(), "gap_samples_at_most", cfg.STFT.FFTSize)
	}
	if err := d.swap(st); err != nil {
		abortNew()
		closeOpened()
		return err
	}
	d.cfg = cfg
	d.metrics.SetEngine(e, d.rate)
	// Files of outputs that are gone are finished now that no frame writes them.
	wanted := map[string]bool{}
	for _, src := range cfg.Sources {
		for _, o := range src.Outputs {
			if o.File != "" {
				wanted[fileKey(src.Name, o.File)] = true
			}
		}
	}
	for k, f := range d.files {
		if !wanted[k] {
			if err := f.w.Close(); err != nil {
				d.log.Error("closing output", "file", f.w.Path(), "err", err)
			}
			delete(d.files, k)
		}
	}
	attrs := []any{"config", cfg.Path, "at_sample", st.AdoptedAt, "sources", strings.Join(plan.Bases.Names, ","),
		"beta", cfg.Separation.Beta, "iterations", cfg.Separation.Iterations, "mask_power", cfg.Separation.MaskPower,
		"devices_reopened", reopen != ""}
	if reopen == "" && rebuilt == nil {
		d.log.Info("reloaded", attrs...)
		return nil
	}
	if reopen != "" {
		// No frame uses the old devices any more: the old bridge drains what
		// it holds and exits.
		if d.live != nil {
			if err := d.live.Close(); err != nil && !errors.Is(err, io.EOF) {
				d.log.Warn("closing the previous audio devices", "err", err)
			}
		}
		d.live, d.dev = opened, dev
		attrs = append(attrs, "why", reopen)
		if closedFirst {
			attrs = append(attrs, "closed_first", true)
		}
	}
	// The latency may have changed: say it, as at the start.
	attrs = append(attrs, "fft_size", cfg.STFT.FFTSize, "hop", cfg.STFT.Hop, "window", cfg.STFT.Window)
	total := d.logLatency("reloaded", e, cfg, attrs...)
	d.metrics.SetConfiguredLatency(time.Duration(total) * time.Second / time.Duration(d.rate))
	return nil
}

// swap hands st to the frame loop and waits until it runs it.
func (d *daemon) swap(st *engine.Stage) error {
	d.next.Store(st)
	select {
	case <-st.Adopted:
		d.stage = st
		return nil
	case <-d.loopDone:
		d.next.Store(nil)
		return errors.New("run: the input ended before the new configuration could be swapped in")
	}
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

// finish closes every output file after the frame loop ended.
func (d *daemon) finish(runErr error, consumed int64) error {
	var errs []error
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		errs = append(errs, runErr)
	}
	if d.fatal != nil {
		errs = append(errs, d.fatal)
	}
	for _, f := range d.files {
		if f.sink.failed.Load() {
			f.w.Abort()
			continue
		}
		if err := f.w.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	d.files = nil
	if d.saveFree != "" {
		fs := &freeSave{dir: d.saveFree, eng: d.stage.Engine}
		b := d.stage.Engine.Bases()
		for i, n := range b.Names {
			if b.Free != nil && b.Free[i] > 0 {
				fs.names = append(fs.names, n)
			}
		}
		var msg strings.Builder
		if len(fs.names) == 0 {
			d.log.Warn("--save-free: no source has free_components; nothing saved")
		} else if err := fs.write(&msg); err != nil {
			errs = append(errs, err)
		} else {
			d.log.Info("free bases saved", "detail", strings.TrimSpace(msg.String()))
		}
	}
	if d.live != nil {
		if err := d.live.Close(); err != nil && !errors.Is(err, io.EOF) {
			d.log.Warn("closing devices", "err", err)
		}
	}
	d.log.Info("stopped", "input_samples", consumed, "seconds", fmt.Sprintf("%.2f", float64(consumed)/float64(d.rate)), "xruns", d.xruns.Snapshot().String())
	return errors.Join(errs...)
}

func (d *daemon) abortFiles() {
	for _, f := range d.files {
		f.w.Abort()
	}
}
