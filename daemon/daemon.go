package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/config"
	"github.com/sepd/sepd/engine"
	"github.com/sepd/sepd/metrics"
)

// Options are what Run needs beside the context.
type Options struct {
	// Config is the checked configuration (config.Load); Config.Path is
	// re-read on a reload.
	Config *config.Config
	// Log receives every record; nil discards them.
	Log *slog.Logger
	// LogControl, when not nil, applies a reloaded file's log settings to
	// Log (format, level).
	LogControl LogControl
	// SaveFree, when not "", is the folder where the free bases the run
	// learned are saved at the end, as NAME.npy.
	SaveFree string
	// Version is sepd's version, for the log and the build-info metric.
	Version string
	// Reload, when not nil, asks for a reload at each receive: the file at
	// Config.Path is read and checked again and swapped in between two
	// frames (the command sends one per SIGHUP).
	Reload <-chan struct{}
}

// LogControl changes the format and level of a running logger; Apply returns
// a description of what it changed ("" for nothing) and calls announce with
// it first, in the old settings.
type LogControl interface {
	Apply(cfg config.Log, announce func(change string)) string
}

// SetupError is an error of the configuration, its files or its devices,
// found before or during a reload: the user must fix them (the command exits
// 2), as opposed to a failure at run time (1).
type SetupError struct{ Err error }

func (e *SetupError) Error() string { return e.Err.Error() }

// Unwrap returns the error itself.
func (e *SetupError) Unwrap() error { return e.Err }

func setupf(format string, a ...any) error { return &SetupError{fmt.Errorf(format, a...)} }

// daemon is one `sepd run`: the configuration in force, its devices and files,
// and the control side of the frame loop (reloads, errors, metrics).
type daemon struct {
	log      *slog.Logger
	logCtl   LogControl // nil: the log settings stay as they are
	cfg      *config.Config
	rate     int // the engine's (sample_rate, or the input file's)
	devRate  int // the audio devices' (device_rate, or their default rate); rate without devices
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

	// Everything here belongs to the control goroutine (Run's loop:
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
	devLatency int // the devices' part of the configured latency last exported, frames
	measured   struct {
		e      *engine.Engine
		frames uint64
		nanos  uint64
		seen   int // device readings since the start or the last change of period
	}
	saveFree string // --save-free folder, "" for none
	version  string // sepd's, for the log and the build-info metric
}

// fileKey names an output file of a source in daemon.files.
func fileKey(source, path string) string { return source + "\x00" + path }

// fileOut is one output file of a running daemon.
type fileOut struct {
	w       *audio.WAVWriter
	aligned *engine.Aligned
	sink    *guardedSink
}

// Run runs the daemon for opts.Config until ctx is done (a clean stop: the
// pipeline drains and every output file is completed) or the input ends. A
// reload comes from opts.Reload or the metrics listener's POST /-/reload; Run
// installs no signal handler (the command turns SIGHUP into opts.Reload, and
// SIGINT/SIGTERM into ctx). It returns nil after a clean stop, a *SetupError
// for a bad configuration, file or device, and any other error for a failure
// at run time. It allocates; the frame loop it starts does not.
func Run(ctx context.Context, opts Options) error {
	cfg, log := opts.Config, opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &daemon{logCtl: opts.LogControl, saveFree: opts.SaveFree, version: opts.Version, log: log, cfg: cfg, xruns: new(audio.Xruns), files: map[string]*fileOut{}, sinkErr: make(chan error, 16), loopDone: make(chan struct{})}
	log.Info("sepd starting", "version", d.version, "config", cfg.Path)

	// The input: a file (replayed in real time or as fast as possible) or a device.
	var err error
	var src engine.Source
	pace := 0
	if cfg.Input.File != "" {
		r, err := audio.Open(cfg.Input.File)
		if err != nil {
			return &SetupError{err}
		}
		defer r.Close()
		f := r.Format()
		if cfg.Input.Channels > 0 && cfg.Input.Channels != f.Channels {
			return setupf("run: %s has %d channels but input.channels is %d in %s", cfg.Input.File, f.Channels, cfg.Input.Channels, cfg.Path)
		}
		d.rate, d.channels = f.SampleRateHz, f.Channels
		src = r
		if cfg.Input.Realtime {
			pace = d.rate
		}
	} else {
		if cfg.SampleRateHz == 0 {
			return setupf("run: %s: sample_rate must be set for a device input (the rate the device and the bases run at)", cfg.Path)
		}
		d.rate, d.channels = cfg.SampleRateHz, max(cfg.Input.Channels, 1)
	}
	// The devices run at their own rate (device_rate, or the server's);
	// the engine's device input and outputs are converted when it is not
	// the engine's.
	if d.devRate, err = deviceRate(ctx, cfg, d.rate, d.channels); err != nil {
		if ctx.Err() == nil {
			return &SetupError{err}
		}
		return err
	}
	if d.devRate != d.rate {
		if _, err := audio.NewResampler(d.devRate, d.rate); err != nil {
			return setupf("run: the devices run at %d Hz and sample_rate is %d Hz (%s): %w", d.devRate, d.rate, cfg.Path, err)
		}
	}
	d.dev = planDevices(cfg, d.rate, d.devRate, d.channels, d.xruns, log)
	if d.dev.converts() {
		log.Info("the audio devices run at another rate than sample_rate: sepd converts", "device_rate_hz", d.devRate, "rate_hz", d.rate,
			"resampler_delay_device_samples", d.dev.convDelay())
	}

	plan, err := engine.NewPlan(cfg, d.channels)
	if err != nil {
		return &SetupError{err}
	}
	if err := checkRate(plan, d.rate, inputName(cfg)); err != nil {
		return &SetupError{err}
	}
	for _, r := range plan.Reports {
		log.Info("bases", "source", r.Name, "file", r.Path, "read", r.String())
	}
	e, err := plan.NewEngine()
	if err != nil {
		return &SetupError{err}
	}

	d.ctx = ctx
	if d.dev.any() {
		d.live, err = audio.StartLive(ctx, d.dev.lc)
		if err != nil {
			// The configured devices did not open (missing, ambiguous, the
			// wrong rate, too few channels, no server): a device error, exit
			// 2 whatever its kind, unless a signal stopped the start.
			if ctx.Err() == nil {
				return &SetupError{err}
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
	d.metrics = metrics.New(d.version)
	d.metrics.SetEngine(e, d.rate)
	d.metrics.SetXruns(d.xruns)
	d.metrics.SetConfiguredLatency(total)
	d.metrics.SetDeviceLatencySource(d.deviceLatencySource())
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
	d.metrics.SetProfiling(cfg.Metrics.Pprof)
	d.listenMetrics(cfg)
	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	xr := audio.NewXrunReporter(d.xruns, log, time.Second)
	xr.Hint = d.deviceHint()
	go xr.Run(rctx)

	hup := opts.Reload // nil: never
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
		names := engine.FreeSources(d.stage.Engine.Bases())
		var msg strings.Builder
		if len(names) == 0 {
			d.log.Warn("--save-free: no source has free_components; nothing saved")
		} else if err := engine.SaveFree(d.saveFree, d.stage.Engine, names, &msg); err != nil {
			errs = append(errs, fmt.Errorf("run: --save-free: %w", err))
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
