package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sepd/sepd/config"
	"github.com/sepd/sepd/engine"
)

// Handler returns the HTTP handler of the metrics listener:
//
//	GET  /metrics    the registry in the Prometheus text format (or OpenMetrics, as
//	                 negotiated); a collector that fails is logged and left out
//	GET  /healthz    200 "ok": the process is alive and serving
//	GET  /readyz     200 "ok" when audio flows (see Ready), else 503 with the reason
//	POST /-/reload   calls reload: 200 "ok"; 400 with the error text when the new
//	                 configuration is at fault (the error wraps a config.Error or
//	                 engine.ErrInput); 500 with the error text otherwise.
//	                 Other methods get 405. Without a reload func the path is 404.
//	GET  /debug/pprof/...  Go's runtime profiles (net/http/pprof: heap, allocs,
//	                 goroutine, profile, trace, ...) while SetProfiling(true),
//	                 else 404: for finding where memory or CPU goes in a
//	                 running daemon
//	GET  /           a short index of the above
//
// reload is the daemon's one reload path, the one SIGHUP takes too; it runs on
// the request's goroutine and may be called while a SIGHUP reload runs, so the
// daemon must serialise reloads (e.g. hand them to one goroutine and wait).
// The handler does not call RecordReload: reload does, for both paths.
// log (nil: discard) gets request-level events and scrape errors. Handler
// allocates.
func (m *Metrics) Handler(reload func() error, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog: promLog{log},
		// A collector that fails (e.g. /proc hidden by a sandbox) loses its
		// own series, not the whole scrape: the error is logged.
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := m.Ready(time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	index := "sepd\n\nGET /metrics\nGET /healthz\nGET /readyz\n"
	if reload != nil {
		index += "POST /-/reload\n"
		mux.HandleFunc("POST /-/reload", func(w http.ResponseWriter, r *http.Request) {
			log.Info("reload requested over HTTP", "remote", r.RemoteAddr)
			if err := reload(); err != nil {
				code := http.StatusInternalServerError
				var ce *config.Error
				if errors.As(err, &ce) || errors.Is(err, engine.ErrInput) {
					code = http.StatusBadRequest
				}
				http.Error(w, err.Error(), code)
				return
			}
			io.WriteString(w, "ok\n")
		})
	}
	prof := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !m.profiling.Load() {
				http.Error(w, "profiling is off (metrics.pprof: false)", http.StatusNotFound)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /debug/pprof/", prof(pprof.Index))
	mux.HandleFunc("GET /debug/pprof/cmdline", prof(pprof.Cmdline))
	mux.HandleFunc("GET /debug/pprof/profile", prof(pprof.Profile))
	mux.HandleFunc("GET /debug/pprof/symbol", prof(pprof.Symbol))
	mux.HandleFunc("GET /debug/pprof/trace", prof(pprof.Trace))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		if m.profiling.Load() {
			io.WriteString(w, index+"GET /debug/pprof/\n")
			return
		}
		io.WriteString(w, index)
	})
	return mux
}

// SetProfiling turns the /debug/pprof/ endpoints of Handler on or off
// (metrics.pprof; off by default, since a profile reveals the process's
// internals and costs CPU while it runs). Safe to call at any time.
func (m *Metrics) SetProfiling(on bool) { m.profiling.Store(on) }

// promLog adapts a slog.Logger to promhttp.Logger.
type promLog struct{ l *slog.Logger }

func (p promLog) Println(v ...any) {
	var me prometheus.MultiError
	if len(v) == 1 {
		if err, ok := v[0].(error); ok && errors.As(err, &me) {
			for _, e := range me {
				p.l.Error("metrics: scrape", "err", e)
			}
			return
		}
	}
	p.l.Error("metrics: scrape", "err", fmt.Sprint(v...))
}

// Server is a running metrics listener; Listen returns it.
type Server struct {
	addr string
	srv  *http.Server
	done chan struct{}
	err  error
}

// ShutdownGrace is how long a Server waits for requests in flight (a scrape, a
// reload) when its context ends before it closes their connections.
const ShutdownGrace = 5 * time.Second

// Listen opens a TCP listener on addr (host:port, as metrics.listen writes it)
// and serves h on it in a goroutine of its own; it returns as soon as the
// listener is open. When ctx ends the server shuts down gracefully (at most
// ShutdownGrace) and Wait returns.
//
// Listen refuses an address that is not loopback (127.0.0.0/8, ::1,
// "localhost", or a name that resolves only to those) unless explicit is
// true, which the daemon passes when the configuration file wrote
// metrics.listen (config.Metrics.ListenSet): metrics and /-/reload are not
// meant for the network unless someone chose so. The error names the address
// and the key.
//
// An address that cannot be opened (port taken, no such interface) is an
// error naming it. The daemon logs that error and keeps running without
// metrics: audio matters more than its statistics. Listen allocates; log (nil:
// discard) gets serve errors.
func Listen(ctx context.Context, addr string, explicit bool, h http.Handler, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if addr == "" {
		return nil, errors.New(`metrics: metrics.listen is "": the listener is disabled, do not call Listen`)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: metrics.listen %q: %w", addr, err)
	}
	if !explicit {
		ok, err := isLoopback(ctx, host)
		if err != nil {
			return nil, fmt.Errorf("metrics: metrics.listen %q: %w", addr, err)
		}
		if !ok {
			return nil, fmt.Errorf("metrics: refusing to listen on %q: not a loopback address; write it as metrics.listen in the configuration file to serve metrics and /-/reload beyond this host", addr)
		}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: metrics.listen %q: %w", addr, err)
	}
	s := &Server{
		addr: ln.Addr().String(),
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       time.Minute,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		done: make(chan struct{}),
	}
	served := make(chan error, 1)
	go func() { served <- s.srv.Serve(ln) }()
	go func() {
		defer close(s.done)
		select {
		case err := <-served:
			// Serve failed on its own (the listener broke): report it.
			s.err = fmt.Errorf("metrics: serving %s: %w", s.addr, err)
			log.Error("metrics listener stopped", "addr", s.addr, "err", err)
			return
		case <-ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownGrace)
		defer cancel()
		if err := s.srv.Shutdown(sctx); err != nil {
			s.srv.Close()
		}
		<-served // http.ErrServerClosed
	}()
	return s, nil
}

// Addr returns the address the Server listens on, with the port chosen by the
// system when addr asked for port 0. It does not allocate.
func (s *Server) Addr() string { return s.addr }

// Wait blocks until the Server has stopped: after its context ended and the
// shutdown finished (nil), or when serving failed (the error).
func (s *Server) Wait() error {
	<-s.done
	return s.err
}

// isLoopback reports whether every address host stands for is a loopback one.
// "" (all interfaces) is not; "localhost" is, without asking a resolver.
func isLoopback(ctx context.Context, host string) (bool, error) {
	switch host {
	case "":
		return false, nil
	case "localhost":
		return true, nil
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.IsLoopback(), nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return false, err
	}
	for _, a := range addrs {
		if !a.Unmap().IsLoopback() {
			return false, nil
		}
	}
	return len(addrs) > 0, nil
}
