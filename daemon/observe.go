package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/config"
	"github.com/sepd/sepd/engine"
	"github.com/sepd/sepd/metrics"
)

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
//
// With the devices at another rate than the engine's, the devices' part is
// in device frames and the rate conversion adds its filters' delay
// (devicePlan.convDelay); latency_samples is then the total at the engine's
// rate, rounded, and latency_device_samples the total at the devices'.
func (d *daemon) logLatency(msg string, e *engine.Engine, cfg *config.Config, attrs ...any) time.Duration {
	algo, delay := e.LatencySamples(), e.DelaySamples()
	devLat := 0
	if d.live != nil {
		info := d.live.Info()
		devLat = info.LatencySamples
		d.devLatency = devLat
		if info.Input != nil {
			d.log.Log(context.Background(), deviceLogLevel(info.Input), "input device", "device", info.Input.Device.Name, "channels", info.Input.Format.Channels,
				"latency", info.Input.DeviceLatency, "latency_source", info.Input.LatencySource, "reported_latency", info.Input.ReportedLatency)
		}
		for _, o := range info.Outputs {
			d.log.Log(context.Background(), deviceLogLevel(&o), "output device", "device", o.Device.Name, "channels", o.Format.Channels,
				"latency", o.DeviceLatency, "latency_source", o.LatencySource, "reported_latency", o.ReportedLatency, "prefill_frames", o.PrefillFrames)
		}
		if src := info.LatencySource(); src != audio.LatencyReported {
			attrs = append(attrs, "device_latency", src)
		}
	}
	conv := d.dev.convDelay()
	secs := float64(algo) / float64(d.rate)
	if d.dev.lc.Input != nil {
		secs = float64(delay)/float64(d.rate) + (float64(devLat)+conv)/float64(d.dev.devRate)
	}
	attrs = append(attrs,
		"latency_samples", int(math.Round(secs*float64(d.rate))), "latency_ms", fmt.Sprintf("%.2f", secs*1000),
		"algorithmic_samples", algo, "stft_delay_samples", delay, "device_samples", devLat)
	if d.dev.converts() {
		attrs = append(attrs, "device_rate_hz", d.dev.devRate, "resampler_delay_device_samples", conv,
			"latency_device_samples", int(math.Round(secs*float64(d.dev.devRate))))
	}
	d.log.Info(msg, attrs...)
	return time.Duration(math.Round(secs * float64(time.Second)))
}

// deviceLogLevel: a device whose latency is unknown is logged as a warning
// (the totals count it as 0), others as info (an estimated one says so in
// latency_source, beside PortAudio's figure: through PipeWire's JACK every
// device's is estimated, which is no fault).
func deviceLogLevel(s *audio.StreamInfo) slog.Level {
	if s.LatencySource == audio.LatencyUnknown {
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// deviceHint is what the xrun reporter says when a device drops or starves
// steadily (audio.XrunReporter.Hint): on a device that is not a JACK client,
// where the device latency sets the buffer, that its buffer is shorter than
// the sound server's period; "" on JACK, where the server's period is the
// buffer and steady xruns mean a busy machine.
func (d *daemon) deviceHint() string {
	if d.live == nil {
		return ""
	}
	info := d.live.Info()
	var names []string
	if info.Input != nil && info.Input.Device.HostAPIType != "JACK" {
		names = append(names, fmt.Sprintf("input %q (%s, latency %v)", info.Input.Device.Name, info.Input.Device.HostAPIType, info.Input.DeviceLatency))
	}
	for _, o := range info.Outputs {
		if o.Device.HostAPIType != "JACK" {
			names = append(names, fmt.Sprintf("output %q (%s, latency %v)", o.Device.Name, o.Device.HostAPIType, o.DeviceLatency))
		}
	}
	if len(names) == 0 {
		return ""
	}
	return "the audio device keeps dropping or starving: its buffer is likely shorter than the sound server's period " +
		"(a PipeWire quantum of 2048 is 42.7 ms at 48 kHz); set input.latency and each output's latency to at least twice that " +
		"(for example 100ms) in the configuration: " + strings.Join(names, ", ")
}

// deviceLatencySource is where the devices' latencies come from
// (audio.LiveInfo.LatencySource), "" without devices.
func (d *daemon) deviceLatencySource() string {
	if d.live == nil {
		return ""
	}
	return d.live.Info().LatencySource()
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

// measuredLogAt: the reading of the measured latency that is logged, a few
// seconds in (measureLatency runs once a second), when the buffers have
// settled.
const measuredLogAt = 3

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
//
// The measured latency is logged once ("latency measured") at the
// measuredLogAt-th reading, and again after each change of the server's
// period: through JACK it is the logged one; through an ALSA device it is
// what the devices' buffers hold (see audio.Live.MeasuredLatencySamples),
// where the latency logged at the start is an upper bound.
func (d *daemon) measureLatency() {
	e := d.stage.Engine
	var samples float64
	switch {
	case d.dev.lc.Input != nil:
		if d.live == nil {
			return // a reload lost the devices (d.fatal)
		}
		if dev := d.live.Info().LatencySamples; dev != d.devLatency {
			// The server's period changed (see audio.Live): the configured
			// latency follows.
			d.devLatency = dev
			d.measured.seen = 0
			secs := float64(e.DelaySamples())/float64(d.rate) + (float64(dev)+d.dev.convDelay())/float64(d.dev.devRate)
			d.metrics.SetConfiguredLatency(time.Duration(math.Round(secs * float64(time.Second))))
		}
		n, ok := d.live.MeasuredLatencySamples()
		if !ok {
			return
		}
		// The bridge's part is in device frames (see logLatency).
		samples = float64(e.DelaySamples()) + (float64(n)+d.dev.convDelay())*float64(d.rate)/float64(d.dev.devRate)
		if d.measured.seen++; d.measured.seen == measuredLogAt {
			secs := samples / float64(d.rate)
			d.log.Info("latency measured", "latency_samples", int(math.Round(samples)),
				"latency_device_samples", int(math.Round(secs*float64(d.dev.devRate))),
				"latency_ms", fmt.Sprintf("%.2f", secs*1000), "devices_samples", n)
		}
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
			samples += (float64(d.live.Info().LatencySamples) + d.dev.convDelay()) * float64(d.rate) / float64(d.dev.devRate)
		}
	default:
		return
	}
	d.metrics.SetMeasuredLatency(time.Duration(samples / float64(d.rate) * float64(time.Second)))
}
