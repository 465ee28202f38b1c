// Package engine is the one streaming path every sepd mode runs: live, replay and
// offline runs differ only in where samples come from, where they go, and pacing.
//
//	Source (device capture | file) --hop--> Engine.Process --hop per source--> Sinks
//	                                          |
//	         per channel  stft.Analyzer  ->  X[c][f]
//	                      magnitude      ->  V[f] = sqrt(mean_c |X[c][f]|^2)
//	                      separate.Separator: h, masks M[s][f] (sum over s == 1)
//	         per source,  Y = M[s]*X[c]  ->  stft.Synthesizer -> hop samples
//	         per channel
//
// Why a package of its own: stft/ owns the transform, separate/ the numerical core
// and audio/ the devices and files. The engine joins all three; putting it in any one
// of them would make that package own two unrelated things (and make the numerical
// core import device code).
//
// An Engine owns every buffer of the per-frame path and Process allocates nothing.
// It is not safe for concurrent use: one goroutine owns it. Run drives an Engine from a
// Source to per-source Sinks and handles the stream delay of the STFT (DelaySamples),
// so that file outputs have exactly the input's length and alignment.
//
// RateSource and RateSink (rate.go) put the engine at the bases' rate between
// a Source and Sinks at another (a device's, a file's), converting with
// audio.Resampler; SeparateFile uses them for a file at another rate.
package engine
