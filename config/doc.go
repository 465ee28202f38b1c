// Package config owns sepd's YAML configuration file: its schema, its
// defaults, every check that can be made without opening an audio device or a
// data file, and the writing of configuration files (for `sepd learn`).
//
// Place in the pipeline: config runs before everything else and on every
// SIGHUP. The daemon calls Load; the result tells the engine which input to
// open, how to build the stft.Analyzer / stft.Synthesizer and the
// separate.Separator, and where each source goes:
//
//	sepd.yaml --Load--> *Config --> input (device | file)
//	                            --> stft (fft_size, hop, window, latency)
//	                            --> separate (bases per source, beta, iterations, ...)
//	                            --> outputs per source (device channels | WAV files)
//	                            --> metrics listener, logger
//
// A reload parses into a new *Config and swaps it in only when Load returned
// no error, so a bad file leaves the running configuration untouched.
//
// # Errors
//
// Every problem is an *Error naming the file, the line and the key path,
// formatted
//
//	config: FILE:LINE: KEY.PATH: message
//
// for example
//
//	config: sepd.yaml:7: stft.fft_size: must be at least 16, got 8
//
// Parse reports all the problems it finds, not just the first, as an Errors
// value (at most 20, sorted by line). Key paths use the YAML names and list
// indexes counted from 0: "sources[1].output.file", or
// "sources[1].output[0].file" when a source lists several outputs.
//
// # Paths
//
// Relative paths in the file (input.file, sources[].bases,
// sources[].recon, sources[].output.file) are relative to the folder of the configuration
// file. Load and Parse(data, path) resolve them into absolute, cleaned paths.
// Parse(data, "") has no file and therefore no folder: it cleans relative
// paths but leaves them relative, so they are opened relative to the current
// directory. This keeps Parse a pure function of its arguments.
//
// Load reads the file and hands its bytes to Parse, which reads no file, so
// that Parse can be fuzzed (FuzzParse). Validate applies the same checks to
// a Config built in code (the `sepd separate --bases ...` path), and Marshal
// writes a Config as a file that Parse reads back unchanged (`sepd learn`).
//
// # Defaults that depend on other keys
//
//   - stft.hop: fft_size/4.
//   - input.channels: 1 for a device; for a file, 0 (take the file's).
//   - An input section that is left out is the default device; one that is
//     written must name a device or a file.
//   - A file output's format: float32. A device output's channels:
//     0..input.channels-1 (just 0 when input.channels is 0).
//   - A .npz source's array: the source's name.
//   - separation.adapt: 5, but 0 when a source has free_components (bases
//     that follow the mixture do not go with free ones; adapt > 0 written
//     with free components is an error).
//
// # Separation defaults
//
// The separation section defaults to the quality setting measured on the
// evaluation set (README, "Quality"): beta 0.5, update_exponent 1, adapt 5.
// Written zeros keep their meaning: update_exponent: 0 is scikit-learn's
// exponent (1/(2-beta) below beta 1), adapt: 0 keeps the bases fixed.
// separation: {beta: 1, adapt: 0} is scikit-learn's algorithm (at beta 1 the
// update exponent is 1 either way), the product's default before; the
// library's separate.DefaultParams still is.
//
// A key written without a value (or null) counts as left out.
//
// # Learned parameters
//
// `sepd learn` records in a learned section the fft_size, hop, window, beta
// and sample rate the bases were learned with. When present, all five must
// be there, and all but beta must agree with stft and (when not 0)
// sample_rate; a difference is an error naming both values. The beta of
// the projection (separation.beta) is free: projecting with 0.5 on bases
// learned with 1 separates better (README, "Quality"). With the
// low-delay STFT (stft.latency below fft_size) the hop is not compared: it
// runs at a hop of its own on bases learned at the usual one. With
// sample_rate 0 the engine has to compare the input's rate with
// Learned.SampleRateHz itself.
package config
