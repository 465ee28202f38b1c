package daemon

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/config"
	"github.com/sepd/sepd/engine"
)

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
	d.metrics.SetProfiling(d.cfg.Metrics.Pprof)
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
