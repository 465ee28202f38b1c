package metrics

import (
	"fmt"
	"math"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/engine"
)

// Metrics is sepd's set of Prometheus metrics with its own registry. Create it
// with New; every method is safe for concurrent use, and the scrape side never
// blocks the setters.
type Metrics struct {
	reg *prometheus.Registry

	eng atomic.Pointer[engineView]
	xr  atomic.Pointer[xrunView]

	latencyConfigured atomic.Uint64 // float64 bits, seconds; NaN until set
	latencyMeasured   atomic.Uint64

	reloadOK   atomic.Bool
	reloadTime atomic.Int64 // Unix nanoseconds of the last successful load

	profiling atomic.Bool // serve /debug/pprof/ (SetProfiling)

	version string
}

// New returns Metrics whose sepd_build_info says version (the daemon's
// version string) and the Go version, with the Go and process collectors
// registered. It records the time of the call as the last successful
// configuration load: the daemon creates Metrics after its first Load
// succeeded. New allocates; it panics only if client_golang refuses a
// registration (a bug in this package).
func New(version string) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), version: version}
	m.latencyConfigured.Store(math.Float64bits(math.NaN()))
	m.latencyMeasured.Store(math.Float64bits(math.NaN()))
	m.eng.Store(&engineView{})
	m.xr.Store(&xrunView{})
	m.reloadOK.Store(true)
	m.reloadTime.Store(time.Now().UnixNano())
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collector{m},
	)
	return m
}

// Registry returns the registry the metrics live in, to register more
// collectors or to Gather without HTTP. It does not allocate.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// SetEngine makes e, running at sampleRateHz, the engine the metrics and the
// readiness check read; nil means no engine is running (not ready). The
// counters of the engines set before carry over, so totals keep growing
// across reloads; an engine that shares its Stats with the previous one is
// counted once.
//
// Call it when the daemon hands a new engine to the frame loop, just before
// or just after the swap; the counts stay exact as long as the previous swap
// has completed when SetEngine is called again (SetEngine keeps reading the
// engine it replaces, and folds that one into fixed totals at the next call).
// Setting an engine again after another one replaced it would count its frames
// twice; setting the same engine again after nil (a device reopened) is fine.
// It allocates a small view (not for the per-frame path; a reload already
// allocates a whole engine) and panics if e is not nil and sampleRateHz < 1.
func (m *Metrics) SetEngine(e *engine.Engine, sampleRateHz int) {
	nv := &engineView{}
	if e != nil {
		if sampleRateHz < 1 {
			panic(fmt.Sprintf("metrics: SetEngine with sample rate %d Hz", sampleRateHz))
		}
		nv.period = time.Duration(e.HopSamples()) * time.Second / time.Duration(sampleRateHz)
		nv.names = append([]string(nil), e.Bases().Names...)
		nv.cur = e.Stats()
	}
	for {
		old := m.eng.Load()
		nv.past, nv.prev = old.past, old.prev
		if old.cur != nil && old.cur != nv.cur {
			// The engine before old.cur is surely finished now: freeze it.
			if nv.prev != nil {
				nv.past = nv.past.add(totalsOf(nv.prev))
			}
			nv.prev = old.cur
		}
		if nv.prev == nv.cur {
			nv.prev = nil
		}
		if m.eng.CompareAndSwap(old, nv) {
			return
		}
	}
}

// SetXruns makes x the xrun counters that sepd_xruns_total and
// sepd_reconnects_total read; nil stops reading (totals so far stay). Counts
// carry over when x is replaced, as in SetEngine. It allocates a small view.
func (m *Metrics) SetXruns(x *audio.Xruns) {
	nv := &xrunView{cur: x}
	for {
		old := m.xr.Load()
		nv.past, nv.prev = old.past, old.prev
		if old.cur != nil && old.cur != x {
			if nv.prev != nil {
				nv.past = addXruns(nv.past, nv.prev.Snapshot())
			}
			nv.prev = old.cur
		}
		if nv.prev == nv.cur {
			nv.prev = nil
		}
		if m.xr.CompareAndSwap(old, nv) {
			return
		}
	}
}

// SetConfiguredLatency sets sepd_latency_seconds{kind="configured"}: the
// latency the configuration implies (algorithmic fft_size-1 samples plus the
// requested device buffers). The series appears once set. No allocation.
func (m *Metrics) SetConfiguredLatency(d time.Duration) {
	m.latencyConfigured.Store(math.Float64bits(d.Seconds()))
}

// SetMeasuredLatency sets sepd_latency_seconds{kind="measured"}: the latency
// a measurement found (the daemon's: the audio bridge's capture-to-playback
// lag plus the STFT delay, or for a real-time replay the algorithmic latency
// plus the processing time per frame). The series appears once set. No
// allocation.
func (m *Metrics) SetMeasuredLatency(d time.Duration) {
	m.latencyMeasured.Store(math.Float64bits(d.Seconds()))
}

// RecordReload records the outcome of a configuration reload (SIGHUP or
// POST /-/reload): err == nil sets sepd_config_last_reload_successful to 1
// and its timestamp to now; an error sets it to 0 and keeps the timestamp of
// the last success. No allocation.
func (m *Metrics) RecordReload(err error) {
	if err != nil {
		m.reloadOK.Store(false)
		return
	}
	m.reloadTime.Store(time.Now().UnixNano())
	m.reloadOK.Store(true)
}

// ReadyFloor is the least time without a frame that /readyz tolerates, however
// short the hop: scheduling and garbage collection pauses of a few
// milliseconds must not flap readiness.
const ReadyFloor = 100 * time.Millisecond

// Ready returns nil when audio is flowing at now: an engine is set and its
// last frame (or the last frame of the engine it replaced) is at most
// max(2*hop/rate, ReadyFloor) old. Otherwise the error says why, e.g.
// "metrics: not ready: last frame 1.5s ago (limit 100ms)". It allocates only
// when it returns an error.
func (m *Metrics) Ready(now time.Time) error {
	v := m.eng.Load()
	if v.cur == nil {
		return fmt.Errorf("metrics: not ready: no engine running")
	}
	last := max(v.past.lastFrameNs, v.cur.LastFrameUnixNs.Load())
	if v.prev != nil {
		last = max(last, v.prev.LastFrameUnixNs.Load())
	}
	if last == 0 {
		return fmt.Errorf("metrics: not ready: no audio frame processed yet")
	}
	limit := max(2*v.period, ReadyFloor)
	if age := now.Sub(time.Unix(0, last)); age > limit {
		return fmt.Errorf("metrics: not ready: last frame %v ago (limit %v)", age.Round(time.Millisecond), limit)
	}
	return nil
}

// engineView is what SetEngine published: the current engine's Stats, the
// previous one's (still read live, it may finish a frame after the call), and
// the frozen totals of all the ones before.
type engineView struct {
	cur    *engine.Stats
	prev   *engine.Stats
	past   totals
	period time.Duration // one hop
	names  []string      // per source, of cur
}

// totals are the cumulative counters of one or more engines.
type totals struct {
	frames, iterations, nonFinite, sumNanos uint64
	buckets                                 [len(engine.FrameTimeBucketsSeconds) + 1]uint64 // non-cumulative, as in engine.Stats
	lastFrameNs                             int64
}

func totalsOf(s *engine.Stats) totals {
	t := totals{
		frames:      s.Frames.Load(),
		iterations:  s.IterationsTotal.Load(),
		nonFinite:   s.NonFinite.Load(),
		sumNanos:    s.FrameTimeNanos.Load(),
		lastFrameNs: s.LastFrameUnixNs.Load(),
	}
	for i := range t.buckets {
		t.buckets[i] = s.FrameTimeCounts[i].Load()
	}
	return t
}

func (t totals) add(u totals) totals {
	t.frames += u.frames
	t.iterations += u.iterations
	t.nonFinite += u.nonFinite
	t.sumNanos += u.sumNanos
	for i := range t.buckets {
		t.buckets[i] += u.buckets[i]
	}
	t.lastFrameNs = max(t.lastFrameNs, u.lastFrameNs)
	return t
}

// now returns the totals over every engine the view knows.
func (v *engineView) now() totals {
	t := v.past
	if v.prev != nil {
		t = t.add(totalsOf(v.prev))
	}
	if v.cur != nil {
		t = t.add(totalsOf(v.cur))
	}
	return t
}

// xrunView is SetXruns' counterpart of engineView.
type xrunView struct {
	cur, prev *audio.Xruns
	past      audio.XrunCounts
}

func addXruns(a, b audio.XrunCounts) audio.XrunCounts {
	for k := range a {
		a[k] += b[k]
	}
	return a
}

func (v *xrunView) now() audio.XrunCounts {
	c := v.past
	if v.prev != nil {
		c = addXruns(c, v.prev.Snapshot())
	}
	if v.cur != nil {
		c = addXruns(c, v.cur.Snapshot())
	}
	return c
}

var (
	descFrames = prometheus.NewDesc("sepd_frames_total",
		"Frames (hops) processed by the engine.", nil, nil)
	descFrameSeconds = prometheus.NewDesc("sepd_frame_seconds",
		"Time to process one frame (analysis, separation, synthesis of every source).", nil, nil)
	descIterTotal = prometheus.NewDesc("sepd_iterations_total",
		"Multiplicative-update iterations run, summed over frames.", nil, nil)
	descIterLast = prometheus.NewDesc("sepd_iterations_per_frame",
		"Multiplicative-update iterations the last frame ran.", nil, nil)
	descNonFinite = prometheus.NewDesc("sepd_nonfinite_samples_total",
		"Input samples that were NaN or Inf and were replaced by zero.", nil, nil)
	descInputLevel = prometheus.NewDesc("sepd_input_level_dbfs",
		"RMS level of the last input hop, all channels, in dBFS (-200 for silence).", nil, nil)
	descSourceLevel = prometheus.NewDesc("sepd_source_level_dbfs",
		"RMS level of the last output hop of each source, in dBFS (-200 for silence).", []string{"source"}, nil)
	descXruns = prometheus.NewDesc("sepd_xruns_total",
		"Audio glitches by kind (see the operations section of README.md).", []string{"kind"}, nil)
	descReconnects = prometheus.NewDesc("sepd_reconnects_total",
		"Times a device stream was closed and opened again.", nil, nil)
	descLatency = prometheus.NewDesc("sepd_latency_seconds",
		"Input-to-output latency: configured (algorithmic plus device buffers) and measured.", []string{"kind"}, nil)
	descReloadOK = prometheus.NewDesc("sepd_config_last_reload_successful",
		"Whether the last configuration reload succeeded (1) or failed and the previous configuration still runs (0).", nil, nil)
	descReloadTime = prometheus.NewDesc("sepd_config_last_reload_success_timestamp_seconds",
		"Unix time of the last successful configuration load.", nil, nil)
	descBuildInfo = prometheus.NewDesc("sepd_build_info",
		"Always 1; the labels say which sepd and Go built this process.", []string{"version", "goversion"}, nil)
)

// collector reads Metrics' views at scrape time.
type collector struct{ m *Metrics }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descFrames, descFrameSeconds, descIterTotal, descIterLast, descNonFinite,
		descInputLevel, descSourceLevel, descXruns, descReconnects, descLatency,
		descReloadOK, descReloadTime, descBuildInfo,
	} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	m := c.m
	v := m.eng.Load()
	t := v.now()
	ch <- prometheus.MustNewConstMetric(descFrames, prometheus.CounterValue, float64(t.frames))
	ch <- prometheus.MustNewConstMetric(descIterTotal, prometheus.CounterValue, float64(t.iterations))
	ch <- prometheus.MustNewConstMetric(descNonFinite, prometheus.CounterValue, float64(t.nonFinite))

	// engine.Stats counts per bucket; Prometheus wants cumulative counts.
	buckets := make(map[float64]uint64, len(engine.FrameTimeBucketsSeconds))
	var count uint64
	for i, n := range t.buckets {
		count += n
		if i < len(engine.FrameTimeBucketsSeconds) {
			buckets[engine.FrameTimeBucketsSeconds[i]] = count
		}
	}
	ch <- prometheus.MustNewConstHistogram(descFrameSeconds, count, float64(t.sumNanos)/1e9, buckets)

	if s := v.cur; s != nil {
		ch <- prometheus.MustNewConstMetric(descIterLast, prometheus.GaugeValue, float64(s.LastIterations.Load()))
		ch <- prometheus.MustNewConstMetric(descInputLevel, prometheus.GaugeValue, s.InputLevelDBFS())
		for i := 0; i < s.NumSources() && i < len(v.names); i++ {
			ch <- prometheus.MustNewConstMetric(descSourceLevel, prometheus.GaugeValue, s.SourceLevelDBFS(i), v.names[i])
		}
	}

	x := m.xr.Load().now()
	for k, n := range x {
		if audio.XrunKind(k) == audio.Reconnect {
			ch <- prometheus.MustNewConstMetric(descReconnects, prometheus.CounterValue, float64(n))
			continue
		}
		ch <- prometheus.MustNewConstMetric(descXruns, prometheus.CounterValue, float64(n), audio.XrunKind(k).String())
	}

	for _, l := range []struct {
		kind string
		v    *atomic.Uint64
	}{{"configured", &m.latencyConfigured}, {"measured", &m.latencyMeasured}} {
		if s := math.Float64frombits(l.v.Load()); !math.IsNaN(s) {
			ch <- prometheus.MustNewConstMetric(descLatency, prometheus.GaugeValue, s, l.kind)
		}
	}

	ok := 0.0
	if m.reloadOK.Load() {
		ok = 1
	}
	ch <- prometheus.MustNewConstMetric(descReloadOK, prometheus.GaugeValue, ok)
	ch <- prometheus.MustNewConstMetric(descReloadTime, prometheus.GaugeValue, float64(m.reloadTime.Load())/1e9)
	ch <- prometheus.MustNewConstMetric(descBuildInfo, prometheus.GaugeValue, 1, m.version, runtime.Version())
}
