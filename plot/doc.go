// Package plot draws what a separation run did, as PNG images a person reads
// at a glance: the input's spectrogram, each source's spectrogram and mask,
// and the activations of the bases over time, with axes in seconds and Hz and
// a colour bar in dB.
//
// # Why a package of its own
//
// Rendering pictures has nothing to do with separating (separate/), with
// reading and writing audio (audio/) or with the streaming path (engine/): it
// needs a plotting library, fonts and PNG encoding, which no run without plots
// should load or pay for, and its data is a summary of a whole run, not a
// frame. Keeping it apart also keeps it free of the pipeline's types: it
// imports none of sepd's packages. The command line (cmd/sepd) wires the two
// together through the engine's per-frame hook.
//
// # Place in the pipeline
//
// Beside it, fed after every frame; nothing flows back:
//
//	input -> stft.Analyzer -> separate.Separator -> masks -> stft.Synthesizer -> outputs
//	              |  X[0][f]             |  h[k]        |  M[s][f]
//	              v                      v              v
//	      +------------------------------------------------------+
//	      | plot.Recorder.Add (engine.RunOptions.OnFrame)         |  per frame, no allocation
//	      +------------------------------------------------------+
//	                                  |  after the run
//	                                  v
//	      Recorder.WritePNGs: input.png, source-NAME.png, mask-NAME.png, activations.png
//
// A Recorder keeps a bounded summary whatever the length of the run: at most
// MaxColumns time columns (neighbouring frames are averaged, two by two, when
// a run outgrows them) and MaxRows frequency rows (neighbouring bins averaged),
// in float32. Spectra are stored as power, so averaging is in power, and each
// source's spectrogram is recorded as |M[s][f] X[0][f]|^2 frame by frame, not
// rebuilt from averaged masks.
//
// Colours come from matplotlib's viridis (perceptually uniform, readable in
// grey and by most colour-blind readers). The colour scales, in dB for
// spectra and activations and linear for masks, are returned with every image
// (Image.ScaleMin, ScaleMax) beside the range of the data they show
// (DataMin, DataMax), so that tests can check one covers the other.
package plot
