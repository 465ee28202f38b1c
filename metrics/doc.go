// Package metrics owns what sepd shows to the outside while it runs: the
// Prometheus metrics, the health and readiness checks and the HTTP reload
// endpoint, and the HTTP listener that serves them.
//
// Its place beside the pipeline (it reads, never writes, and nothing on the
// audio path waits for it):
//
//	device/file --> engine.Engine.Process --> sinks
//	   |                  |
//	 audio.Xruns     engine.Stats          (atomics, written per hop)
//	   |                  |
//	   +---- read at scrape time by the Metrics collector
//	                      |
//	         Handler: GET /metrics, /healthz, /readyz; POST /-/reload --> daemon's reload
//	                      |
//	         Listen(metrics.listen, loopback unless written in the config)
//
// Why a package of its own: Prometheus exposition and an HTTP listener have
// nothing to do with separation (separate, stft), with audio I/O (audio) or
// with the configuration file (config), and none of those should import an
// HTTP server or client_golang. The engine and the devices publish plain
// atomics; this package turns them into metrics when a scrape asks.
//
// # Metrics
//
// Metrics has its own prometheus.Registry (never the global one) holding the
// standard Go and process collectors and one collector that, at scrape time,
// reads the engine and the xrun counters the daemon last handed over with
// SetEngine and SetXruns. Both can be swapped at any time (a reload builds a
// new engine): counters carry over from one engine to the next so that
// sepd_frames_total and the others never go down while the process lives.
//
//	sepd_frames_total                                   counter
//	sepd_frame_seconds                                  histogram (engine.FrameTimeBucketsSeconds)
//	sepd_iterations_total                               counter
//	sepd_iterations_per_frame                           gauge, last frame
//	sepd_nonfinite_samples_total                        counter, NaN/Inf input samples replaced by 0
//	sepd_input_level_dbfs                               gauge
//	sepd_source_level_dbfs{source}                      gauge
//	sepd_xruns_total{kind}                              counter, kind = audio.XrunKind.String()
//	sepd_reconnects_total                               counter
//	sepd_latency_seconds{kind="configured"|"measured"}  gauge, each once set
//	sepd_device_latency_info{source}                    gauge, always 1: reported, estimated or unknown (audio.LatencyReported...)
//	sepd_config_last_reload_successful                  gauge, 0 or 1
//	sepd_config_last_reload_success_timestamp_seconds   gauge, Unix time
//	sepd_build_info{version,goversion}                  gauge, always 1
//	go_*, process_*                                     the standard collectors
//
// # HTTP
//
// Handler serves /metrics, /healthz (the process answers), /readyz (audio is
// flowing: the last frame is at most two hops old, with a floor of
// ReadyFloor) and POST /-/reload. Listen refuses a non-loopback address
// unless the configuration file wrote it (metrics.listen), returns at once
// with the listener open, and shuts the server down when its context ends.
package metrics
