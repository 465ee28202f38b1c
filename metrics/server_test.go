package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sepd/sepd/config"
	"github.com/sepd/sepd/engine"
	"github.com/sepd/sepd/metrics"
)

// TestListenAddress: a non-loopback address needs explicit (metrics.listen
// written in the file); loopback ones never do.
func TestListenAddress(t *testing.T) {
	for _, tc := range []struct {
		addr     string
		explicit bool
		refused  bool
	}{
		{"127.0.0.1:0", false, false},
		{"127.0.0.2:0", false, false}, // all of 127.0.0.0/8 is loopback (RFC 1122)
		{"localhost:0", false, false},
		{"0.0.0.0:0", false, true},
		{":0", false, true}, // empty host: every interface
		{"[::]:0", false, true},
		{"0.0.0.0:0", true, false},
		{":0", true, false},
	} {
		t.Run(fmt.Sprintf("%s explicit=%v", tc.addr, tc.explicit), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			srv, err := metrics.Listen(ctx, tc.addr, tc.explicit, http.NotFoundHandler(), nil)
			if tc.refused {
				if err == nil {
					t.Fatalf("Listen(%q, explicit=false) accepted a non-loopback address", tc.addr)
				}
				for _, want := range []string{tc.addr, "metrics.listen", "loopback"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not mention %q", err, want)
					}
				}
				return
			}
			if err != nil {
				if errors.Is(err, syscall.EADDRNOTAVAIL) {
					t.Skipf("no such address here: %v", err)
				}
				t.Fatal(err)
			}
			cancel()
			if err := srv.Wait(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestListenPortTaken: the error names the address and the key, and keeps the
// system's error for errors.Is.
func TestListenPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	_, err = metrics.Listen(context.Background(), addr, false, http.NotFoundHandler(), nil)
	if err == nil {
		t.Fatalf("Listen on the taken %s succeeded", addr)
	}
	if !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "metrics.listen") {
		t.Errorf("error %q does not name %s and metrics.listen", err, addr)
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("error %q is not EADDRINUSE", err)
	}
}

func TestListenEmptyAddress(t *testing.T) {
	if _, err := metrics.Listen(context.Background(), "", false, http.NotFoundHandler(), nil); err == nil {
		t.Error(`Listen("") succeeded`)
	}
}

// TestShutdown: cancelling the context stops the server; Wait returns nil and
// the port answers no more.
func TestShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := metrics.Listen(ctx, "127.0.0.1:0", false, metrics.New("dev").Handler(nil, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, "http://"+srv.Addr()+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz: %d", code)
	}
	cancel()
	if err := srv.Wait(); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if resp, err := http.Get("http://" + srv.Addr() + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatal("the server still answers after its context ended")
	}
}

// TestReload covers POST /-/reload's answers.
func TestReload(t *testing.T) {
	_, badConfig := config.Parse([]byte("stft:\n  fft_size: 8\n"), "sepd.yaml")
	if badConfig == nil {
		t.Fatal("config.Parse accepted fft_size 8")
	}
	for _, tc := range []struct {
		name   string
		method string
		err    error
		code   int
		body   string // a fragment
	}{
		{"success", http.MethodPost, nil, http.StatusOK, "ok"},
		{"invalid file", http.MethodPost, fmt.Errorf("reload: %w", badConfig), http.StatusBadRequest, "sepd.yaml:2: stft.fft_size"},
		{"bad bases", http.MethodPost, engine.InputErrorf("separate: voice.npy: NaN in column 3"), http.StatusBadRequest, "voice.npy"},
		{"device failure", http.MethodPost, errors.New("audio: open device \"hw:1\": busy"), http.StatusInternalServerError, "hw:1"},
		{"GET", http.MethodGet, nil, http.StatusMethodNotAllowed, ""},
		{"PUT", http.MethodPut, nil, http.StatusMethodNotAllowed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			base := serve(t, metrics.New("dev"), func() error { calls++; return tc.err })
			code, body := do(t, tc.method, base+"/-/reload")
			if code != tc.code || !strings.Contains(body, tc.body) {
				t.Errorf("%s /-/reload: %d %q, want %d with %q", tc.method, code, body, tc.code, tc.body)
			}
			if want := map[bool]int{true: 1, false: 0}[tc.method == http.MethodPost]; calls != want {
				t.Errorf("reload called %d times, want %d", calls, want)
			}
		})
	}
	t.Run("no reload func", func(t *testing.T) {
		if code, _ := do(t, http.MethodPost, serve(t, metrics.New("dev"), nil)+"/-/reload"); code != http.StatusNotFound {
			t.Errorf("POST /-/reload without a reload func: %d, want 404", code)
		}
	})
}

// TestProfiling: /debug/pprof/ answers 404 until SetProfiling(true) (metrics.pprof),
// then serves the runtime's profiles, and stops again when turned off by a reload.
func TestProfiling(t *testing.T) {
	m := metrics.New("dev")
	base := serve(t, m, nil)
	for _, tc := range []struct {
		on   bool
		path string
		code int
		body string // a fragment
	}{
		{false, "/debug/pprof/", http.StatusNotFound, "metrics.pprof"},
		{false, "/debug/pprof/heap", http.StatusNotFound, "metrics.pprof"},
		{true, "/debug/pprof/", http.StatusOK, "goroutine"},
		{true, "/debug/pprof/heap?debug=1", http.StatusOK, "heap profile"},
		{true, "/debug/pprof/goroutine?debug=1", http.StatusOK, "goroutine profile"},
		{true, "/", http.StatusOK, "/debug/pprof/"},
		{false, "/debug/pprof/goroutine?debug=1", http.StatusNotFound, "metrics.pprof"},
	} {
		m.SetProfiling(tc.on)
		code, body := do(t, http.MethodGet, base+tc.path)
		if code != tc.code || !strings.Contains(body, tc.body) {
			t.Errorf("profiling %v: GET %s: %d %.80q, want %d with %q", tc.on, tc.path, code, body, tc.code, tc.body)
		}
	}
}

// TestRecordReload: a failed reload sets the gauge to 0 and keeps the time of
// the last success; the next success moves both.
func TestRecordReload(t *testing.T) {
	m := metrics.New("dev")
	fams := gather(t, m)
	t0 := sample(t, fams, "sepd_config_last_reload_success_timestamp_seconds")
	m.RecordReload(errors.New("bad"))
	fams = gather(t, m)
	if ok, ts := sample(t, fams, "sepd_config_last_reload_successful"), sample(t, fams, "sepd_config_last_reload_success_timestamp_seconds"); ok != 0 || ts != t0 {
		t.Errorf("after a failure: successful=%v timestamp=%v, want 0 and %v", ok, ts, t0)
	}
	now := float64(time.Now().UnixNano()) / 1e9
	m.RecordReload(nil)
	fams = gather(t, m)
	if ok, ts := sample(t, fams, "sepd_config_last_reload_successful"), sample(t, fams, "sepd_config_last_reload_success_timestamp_seconds"); ok != 1 || ts < now {
		t.Errorf("after a success: successful=%v timestamp=%v, want 1 and at least %v (the time of the call)", ok, ts, now)
	}
}

// failing is a collector whose scrape always fails, like the process
// collector in a sandbox that hides /proc/stat.
type failing struct{ d *prometheus.Desc }

func (f failing) Describe(ch chan<- *prometheus.Desc) { ch <- f.d }
func (f failing) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.NewInvalidMetric(f.d, errors.New("open /proc/stat: permission denied"))
}

// TestScrapeSurvivesFailingCollector: one broken collector is logged and the
// rest of the scrape still arrives.
func TestScrapeSurvivesFailingCollector(t *testing.T) {
	m := metrics.New("dev")
	m.Registry().MustRegister(failing{prometheus.NewDesc("broken_total", "always fails", nil, nil)})
	var logs bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := metrics.Listen(ctx, "127.0.0.1:0", false, m.Handler(nil, slog.New(slog.NewTextHandler(&logs, nil))), nil)
	if err != nil {
		t.Fatal(err)
	}
	fams := scrape(t, "http://"+srv.Addr())
	sample(t, fams, "sepd_frames_total")
	if fams["broken_total"] != nil {
		t.Error("the failing collector's series is present")
	}
	cancel()
	srv.Wait()
	if !strings.Contains(logs.String(), "/proc/stat") {
		t.Errorf("the collector error was not logged: %q", logs.String())
	}
}
