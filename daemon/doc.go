// Package daemon is `sepd run`: one long-running separation from a YAML
// configuration, with its devices, files, reloads and metrics.
//
//	config.Config --Run--> input (audio.Live capture | file, paced or not)
//	                         -> engine.RunStage (the frame loop, its own goroutine)
//	                         -> per source: device channels (audio.Live) | WAV files
//	control goroutine: SIGHUP/POST reloads (reload.go: a new Stage built off the
//	audio path, swapped in between two frames; new devices opened beside the
//	running ones when the file needs others, devices.go), metrics and measured
//	latency (observe.go), the end (finish: every file completed or aborted).
//
// Why a package of its own: cmd/sepd is the command line (flags, logging setup,
// exit codes); engine/ is the streaming path that every mode shares; audio/
// opens devices. What joins them for hours - planning which devices a file
// needs, reopening them on a reload, keeping files aligned through gaps, the
// metrics feeder - is neither a command nor the engine, and living in the
// command made it testable only through the command line. Run takes a checked
// configuration and a logger, and returns when ctx is done or the input ends.
//
// Errors of the configuration, its files or its devices found at the start are
// *SetupError (the command exits 2); a run-time failure is any other error (1).
package daemon
