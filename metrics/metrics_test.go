package metrics_test

import (
	"context"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gonum.org/v1/gonum/mat"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/engine"
	"github.com/sepd/sepd/metrics"
	"github.com/sepd/sepd/separate"
	"github.com/sepd/sepd/stft"
)

// Small engine shapes keep the tests fast: fft 256 gives F = 129 bins, a hop of
// 64 samples is the usual 75 % overlap. At 16 kHz one hop is 4 ms.
const (
	testFFT   = 256
	testHop   = 64
	testRate  = 16000
	testIters = 5
)

// newEngine builds a real engine over random non-negative bases (4 columns per
// source, +1e-3 so that no column is all zero, which NewBases refuses).
func newEngine(t testing.TB, seed uint64, names ...string) *engine.Engine {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	F := testFFT/2 + 1
	var ws []*mat.Dense
	for range names {
		w := mat.NewDense(F, 4, nil)
		for i := 0; i < F; i++ {
			for j := 0; j < 4; j++ {
				w.Set(i, j, rng.Float64()+1e-3)
			}
		}
		ws = append(ws, w)
	}
	b, err := separate.NewBases(names, ws)
	if err != nil {
		t.Fatal(err)
	}
	sp := separate.DefaultParams()
	sp.Iterations = testIters
	e, err := engine.New(b, engine.Params{FFTSize: testFFT, HopSamples: testHop, Window: stft.Hann, Channels: 1, Separation: sp})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// feeder runs frames of uniform noise of amplitude 0.5 through an engine and
// remembers the last input hop.
type feeder struct {
	e    *engine.Engine
	rng  *rand.Rand
	in   [][]float64
	out  [][][]float64
	last []float64
}

func newFeeder(e *engine.Engine, seed uint64) *feeder {
	return &feeder{e: e, rng: rand.New(rand.NewPCG(seed, 2)), in: [][]float64{make([]float64, e.HopSamples())}, out: e.NewBlock()}
}

func (f *feeder) frames(n int) {
	for range n {
		for i := range f.in[0] {
			f.in[0][i] = 0.5 * (2*f.rng.Float64() - 1)
		}
		f.last = slices.Clone(f.in[0])
		f.e.Process(f.out, f.in)
	}
}

// dBFS is the level engine.Stats reports for one hop: 10 log10 of the mean square.
func dBFS(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	return 10 * math.Log10(s/float64(len(x)))
}

// serve starts a real listener on a free loopback port and stops it at the end
// of the test.
func serve(t *testing.T, m *metrics.Metrics, reload func() error) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := metrics.Listen(ctx, "127.0.0.1:0", false, m.Handler(reload, nil), nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := srv.Wait(); err != nil {
			t.Error(err)
		}
	})
	return "http://" + srv.Addr()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	return do(t, http.MethodGet, url)
}

func do(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// scrape GETs /metrics and parses the text format.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return fams
}

// sample returns the value of the series of family name whose labels include
// the given name=value pairs; it fails the test if there is none.
func sample(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	m := find(fams, name, labels...)
	if m == nil {
		t.Fatalf("no series %s%v in the scrape", name, labels)
	}
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	t.Fatalf("%s%v is neither counter nor gauge", name, labels)
	return 0
}

func find(fams map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.Label {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		return m
	}
	return nil
}

// TestScrape drives a real engine, scrapes a real listener twice and checks every
// series sepd promises, with values that follow from what the test did.
func TestScrape(t *testing.T) {
	before := time.Now()
	m := metrics.New("v1.2.3-test")
	e := newEngine(t, 1, "voice", "music")
	m.SetEngine(e, testRate)
	var x audio.Xruns
	x.Add(audio.RingOverrun, 3)
	x.Inc(audio.Reconnect)
	x.Inc(audio.DeadlineMissed)
	m.SetXruns(&x)
	// 255 samples of algorithmic latency at 16 kHz plus a 10 ms device buffer.
	configured := time.Duration(testFFT-1)*time.Second/testRate + 10*time.Millisecond
	m.SetConfiguredLatency(configured)
	base := serve(t, m, nil)

	f := newFeeder(e, 7)
	var lastFrames float64
	for step, n := range []int{5, 3} {
		f.frames(n)
		if step == 1 {
			m.SetMeasuredLatency(27 * time.Millisecond)
		}
		fams := scrape(t, base)
		frames := sample(t, fams, "sepd_frames_total")
		want := float64(e.Frames())
		if frames != want || frames <= lastFrames {
			t.Errorf("scrape %d: sepd_frames_total = %v, want %v and more than the last scrape's %v", step, frames, want, lastFrames)
		}
		lastFrames = frames

		h := find(fams, "sepd_frame_seconds")
		if h == nil || h.Histogram == nil {
			t.Fatalf("scrape %d: no sepd_frame_seconds histogram", step)
		}
		if got := float64(h.Histogram.GetSampleCount()); got != frames {
			t.Errorf("scrape %d: histogram count %v, want %v frames", step, got, frames)
		}
		// The sum is the engine's own nanosecond total, in seconds: exactly.
		if s, want := h.Histogram.GetSampleSum(), float64(e.Stats().FrameTimeNanos.Load())/1e9; s != want {
			t.Errorf("scrape %d: histogram sum %v s, want the engine's %v s", step, s, want)
		}
		// The text format lists every bound of engine.FrameTimeBucketsSeconds
		// and then +Inf, whose count is the total.
		bs := h.Histogram.Bucket
		if len(bs) != len(engine.FrameTimeBucketsSeconds)+1 {
			t.Fatalf("scrape %d: %d buckets, want %d and +Inf", step, len(bs), len(engine.FrameTimeBucketsSeconds))
		}
		for i, b := range bs {
			le := math.Inf(1)
			if i < len(engine.FrameTimeBucketsSeconds) {
				le = engine.FrameTimeBucketsSeconds[i]
			}
			if b.GetUpperBound() != le {
				t.Errorf("bucket %d: le=%v, want %v", i, b.GetUpperBound(), le)
			}
			if i > 0 && b.GetCumulativeCount() < bs[i-1].GetCumulativeCount() {
				t.Errorf("bucket %d: count %d below the previous bucket's %d: not cumulative", i, b.GetCumulativeCount(), bs[i-1].GetCumulativeCount())
			}
			if float64(b.GetCumulativeCount()) > frames {
				t.Errorf("bucket %d: count %d above the %v frames", i, b.GetCumulativeCount(), frames)
			}
		}
		var cum uint64 // what the engine counted, per bucket, summed up to each bound
		for i, b := range bs {
			cum += e.Stats().FrameTimeCounts[i].Load()
			if b.GetCumulativeCount() != cum {
				t.Errorf("bucket %d: count %d, want %d (engine.Stats' counts summed up to it)", i, b.GetCumulativeCount(), cum)
			}
		}
		if got := float64(bs[len(bs)-1].GetCumulativeCount()); got != frames {
			t.Errorf("+Inf bucket: %v, want all %v frames", got, frames)
		}

		if got, want := sample(t, fams, "sepd_input_level_dbfs"), dBFS(f.last); math.Abs(got-want) > 1e-9 {
			t.Errorf("input level %v dBFS, want %v (the last hop's)", got, want)
		}
		for _, s := range []string{"voice", "music"} {
			// After 5 frames the output has passed the stream delay of
			// fft-hop = 192 samples = 3 hops, so every source carries signal.
			l := sample(t, fams, "sepd_source_level_dbfs", "source", s)
			// The input's RMS is 0.5/sqrt(3) (-10.8 dBFS); a source is a
			// masked part of it, so 6 dBFS only catches a wrong unit
			// (a sum instead of a mean, power as amplitude).
			if math.IsNaN(l) || math.IsInf(l, 0) || l <= engine.Silence || l > 6 {
				t.Errorf("source %s level %v dBFS: want finite, above silence", s, l)
			}
		}
		its := sample(t, fams, "sepd_iterations_per_frame")
		if its < 1 || its > testIters {
			t.Errorf("sepd_iterations_per_frame = %v, want 1..%d", its, testIters)
		}
		if tot := sample(t, fams, "sepd_iterations_total"); tot < frames || tot > frames*testIters {
			t.Errorf("sepd_iterations_total = %v for %v frames of 1..%d iterations", tot, frames, testIters)
		}
		if n := sample(t, fams, "sepd_nonfinite_samples_total"); n != 0 {
			t.Errorf("sepd_nonfinite_samples_total = %v, want 0", n)
		}
		for kind, want := range map[string]float64{"input_overflow": 0, "output_underflow": 0, "ring_overrun": 3, "ring_underrun": 0, "deadline_missed": 1} {
			if got := sample(t, fams, "sepd_xruns_total", "kind", kind); got != want {
				t.Errorf("sepd_xruns_total{kind=%q} = %v, want %v", kind, got, want)
			}
		}
		if find(fams, "sepd_xruns_total", "kind", "reconnect") != nil {
			t.Error(`reconnects also appear as sepd_xruns_total{kind="reconnect"}`)
		}
		if got := sample(t, fams, "sepd_reconnects_total"); got != 1 {
			t.Errorf("sepd_reconnects_total = %v, want 1", got)
		}
		if got := sample(t, fams, "sepd_latency_seconds", "kind", "configured"); math.Abs(got-configured.Seconds()) > 1e-12 {
			t.Errorf("configured latency %v s, want %v", got, configured.Seconds())
		}
		if step == 0 && find(fams, "sepd_latency_seconds", "kind", "measured") != nil {
			t.Error("measured latency shown before it was set")
		}
		if step == 1 {
			if got := sample(t, fams, "sepd_latency_seconds", "kind", "measured"); got != 0.027 {
				t.Errorf("measured latency %v s, want 0.027", got)
			}
		}
		if got := sample(t, fams, "sepd_config_last_reload_successful"); got != 1 {
			t.Errorf("sepd_config_last_reload_successful = %v, want 1 (the start-up load)", got)
		}
		ts := sample(t, fams, "sepd_config_last_reload_success_timestamp_seconds")
		if ts < float64(before.UnixNano())/1e9 || ts > float64(time.Now().UnixNano())/1e9 {
			t.Errorf("reload timestamp %v not between New and now", ts)
		}
		if got := sample(t, fams, "sepd_build_info", "version", "v1.2.3-test", "goversion", runtime.Version()); got != 1 {
			t.Errorf("sepd_build_info = %v, want 1", got)
		}
		// The standard collectors (names from client_golang's Go and process collectors).
		for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_cpu_seconds_total", "process_resident_memory_bytes"} {
			if fams[name] == nil {
				t.Errorf("no %s in the scrape", name)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}
}

// TestNoEngine: before SetEngine a scrape still works and carries zeros and the
// reload and build series, but no levels (there is nothing to measure).
func TestNoEngine(t *testing.T) {
	m := metrics.New("dev")
	fams := scrape(t, serve(t, m, nil))
	if got := sample(t, fams, "sepd_frames_total"); got != 0 {
		t.Errorf("sepd_frames_total = %v, want 0", got)
	}
	if got := sample(t, fams, "sepd_xruns_total", "kind", "ring_underrun"); got != 0 {
		t.Errorf("ring_underrun = %v, want 0", got)
	}
	sample(t, fams, "sepd_config_last_reload_successful")
	for _, name := range []string{"sepd_input_level_dbfs", "sepd_source_level_dbfs", "sepd_iterations_per_frame", "sepd_latency_seconds"} {
		if fams[name] != nil {
			t.Errorf("%s present without an engine or a setting", name)
		}
	}
}

// gather reads the registry without HTTP.
func gather(t *testing.T, m *metrics.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	fs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fs {
		out[f.GetName()] = f
	}
	return out
}

// TestSwapCarriesCounters: a reload swaps engines; totals keep growing, even
// when the old engine finishes a frame after SetEngine, and the level series
// follow the new engine's sources.
func TestSwapCarriesCounters(t *testing.T) {
	m := metrics.New("dev")
	e1, e2, e3 := newEngine(t, 1, "a", "b"), newEngine(t, 2, "a", "c"), newEngine(t, 3, "d")
	f1, f2, f3 := newFeeder(e1, 1), newFeeder(e2, 2), newFeeder(e3, 3)
	frames := func() float64 { return sample(t, gather(t, m), "sepd_frames_total") }
	hist := func() uint64 { return find(gather(t, m), "sepd_frame_seconds").Histogram.GetSampleCount() }

	m.SetEngine(e1, testRate)
	f1.frames(4)
	m.SetEngine(e2, testRate) // before the loop's swap:
	f1.frames(1)              // the old engine still runs one frame
	f2.frames(3)
	if got := frames(); got != 8 {
		t.Fatalf("after the first swap: %v frames, want 4+1+3", got)
	}
	m.SetEngine(e3, testRate) // freezes e1, keeps reading e2
	if got := frames(); got != 8 {
		t.Fatalf("right after the second swap: %v frames, want 8", got)
	}
	f3.frames(2)
	if got, h := frames(), hist(); got != 10 || h != 10 {
		t.Fatalf("after e3 ran: %v frames, histogram count %d, want 10", got, h)
	}
	fams := gather(t, m)
	if find(fams, "sepd_source_level_dbfs", "source", "d") == nil || len(fams["sepd_source_level_dbfs"].Metric) != 1 {
		t.Errorf("source levels after the swap: %v, want only source d", fams["sepd_source_level_dbfs"])
	}
	if got, want := sample(t, fams, "sepd_iterations_total"), float64(e1.Stats().IterationsTotal.Load()+e2.Stats().IterationsTotal.Load()+e3.Stats().IterationsTotal.Load()); got != want {
		t.Errorf("iterations %v, want %v summed over the three engines", got, want)
	}

	// Setting the same engine again, or nil and then the same engine (a
	// device reopened), counts nothing twice.
	m.SetEngine(e3, testRate)
	m.SetEngine(nil, 0)
	if got := frames(); got != 10 {
		t.Errorf("after SetEngine(nil): %v frames, want 10", got)
	}
	if err := m.Ready(time.Now()); err == nil || !strings.Contains(err.Error(), "no engine") {
		t.Errorf("Ready without an engine: %v", err)
	}
	m.SetEngine(e3, testRate)
	f3.frames(1)
	if got := frames(); got != 11 {
		t.Errorf("after e3 came back: %v frames, want 11", got)
	}
}

// TestXrunsSwap: replacing the Xruns (new devices) keeps the totals.
func TestXrunsSwap(t *testing.T) {
	m := metrics.New("dev")
	var a, b audio.Xruns
	m.SetXruns(&a)
	a.Add(audio.InputOverflow, 2)
	m.SetXruns(&b)
	a.Inc(audio.InputOverflow) // a late callback on the old stream
	b.Add(audio.InputOverflow, 5)
	b.Inc(audio.Reconnect)
	m.SetXruns(nil)
	fams := gather(t, m)
	if got := sample(t, fams, "sepd_xruns_total", "kind", "input_overflow"); got != 8 {
		t.Errorf("input_overflow = %v, want 2+1+5", got)
	}
	if got := sample(t, fams, "sepd_reconnects_total"); got != 1 {
		t.Errorf("reconnects = %v, want 1", got)
	}
}

// TestReady checks the readiness rule at chosen ages of the last frame.
func TestReady(t *testing.T) {
	m := metrics.New("dev")
	e := newEngine(t, 1, "a")
	m.SetEngine(e, testRate)
	now := time.Now()
	if err := m.Ready(now); err == nil || !strings.Contains(err.Error(), "no audio frame") {
		t.Fatalf("Ready before any frame: %v", err)
	}
	// The limit is max(2 hops, ReadyFloor). Hop 64 at 16 kHz: 2 hops = 8 ms,
	// so the floor (100 ms) applies; at 100 Hz the same hop is 640 ms, so the
	// limit is 2 hops = 1.28 s.
	for _, tc := range []struct {
		rate int
		age  time.Duration
		ok   bool
	}{
		{testRate, 0, true},
		{testRate, 99 * time.Millisecond, true},
		{testRate, 101 * time.Millisecond, false},
		{100, 1270 * time.Millisecond, true},
		{100, 1290 * time.Millisecond, false},
	} {
		m.SetEngine(e, tc.rate)
		e.Stats().LastFrameUnixNs.Store(now.Add(-tc.age).UnixNano())
		err := m.Ready(now)
		if (err == nil) != tc.ok {
			t.Errorf("rate %d, last frame %v ago: Ready = %v, want ok=%v", tc.rate, tc.age, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "last frame") {
			t.Errorf("reason %q does not say how old the last frame is", err)
		}
	}
}

// TestReadyzOverHTTP: /readyz is 200 while frames arrive and 503 with the
// reason once they stop; /healthz stays 200.
func TestReadyzOverHTTP(t *testing.T) {
	m := metrics.New("dev")
	e := newEngine(t, 1, "a")
	base := serve(t, m, nil)
	if code, body := get(t, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "no engine") {
		t.Errorf("/readyz without an engine: %d %q", code, body)
	}
	m.SetEngine(e, testRate)
	f := newFeeder(e, 1)
	// Right after a frame /readyz is 200; on a loaded machine the request
	// itself may take longer than the 100 ms limit, so try a few times.
	var code int
	var body string
	for range 5 {
		f.frames(1)
		if code, body = get(t, base+"/readyz"); code == http.StatusOK {
			break
		}
	}
	if code != http.StatusOK || body != "ok\n" {
		t.Errorf("/readyz right after a frame: %d %q", code, body)
	}
	time.Sleep(metrics.ReadyFloor + 50*time.Millisecond) // the input stops
	if code, body := get(t, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "last frame") {
		t.Errorf("/readyz after the input stopped: %d %q", code, body)
	}
	if code, body := get(t, base+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
}

// TestConcurrentScrape runs frames and swaps engines on one goroutine, like the
// daemon's loop, while another scrapes: sepd_frames_total never goes down.
// Run with -race.
func TestConcurrentScrape(t *testing.T) {
	m := metrics.New("dev")
	base := serve(t, m, nil)
	var engines []*engine.Engine
	for i := range 8 {
		engines = append(engines, newEngine(t, uint64(i), "a", "b"))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i, e := range engines {
			m.SetEngine(e, testRate)
			newFeeder(e, uint64(i)).frames(25)
		}
	}()
	var last float64
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		got := sample(t, scrape(t, base), "sepd_frames_total")
		if got < last {
			t.Errorf("sepd_frames_total went down from %v to %v", last, got)
		}
		last = got
	}
	if want := float64(25 * len(engines)); last != want {
		t.Errorf("final sepd_frames_total = %v, want %v", last, want)
	}
}

// TestDeviceLatencySource: sepd_device_latency_info says where the devices'
// latency comes from, one series at a time, and none without devices.
func TestDeviceLatencySource(t *testing.T) {
	m := metrics.New("dev")
	if fams := gather(t, m); fams["sepd_device_latency_info"] != nil {
		t.Error("sepd_device_latency_info present before it was set")
	}
	for _, src := range []string{"estimated", "reported", "unknown"} {
		m.SetDeviceLatencySource(src)
		fams := gather(t, m)
		if got := sample(t, fams, "sepd_device_latency_info", "source", src); got != 1 {
			t.Errorf("sepd_device_latency_info{source=%q} = %v, want 1", src, got)
		}
		if n := len(fams["sepd_device_latency_info"].GetMetric()); n != 1 {
			t.Errorf("%d series after setting %q, want 1", n, src)
		}
	}
	m.SetDeviceLatencySource("")
	if fams := gather(t, m); fams["sepd_device_latency_info"] != nil {
		t.Error(`sepd_device_latency_info present after SetDeviceLatencySource("")`)
	}
}
