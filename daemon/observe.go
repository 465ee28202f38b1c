package daemon

import (
	"context"
	"fmt"
	"log/slog"
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
func (d *daemon) logLatency(msg string, e *engine.Engine, cfg *config.Config, attrs ...any) int {
	algo, delay := e.LatencySamples(), e.DelaySamples()
	devLat := 0
	if d.live != nil {
		info := d.live.Info()
		devLat = info.LatencySamples
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
