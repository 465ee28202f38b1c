// Package separate is the numerical core of sepd: it owns the spectral bases
// of the named sources, projects every magnitude spectrum onto them with
// multiplicative beta-divergence updates (supervised NMF with the bases
// fixed), and turns the result into one soft mask per source.
//
// Its place in the pipeline:
//
//	stft.Analyzer -> |X[f]| = v (len F) -> Separator.Process -> masks[s][f]
//	                                                              |
//	             per source s: M_s * X -> stft.Synthesizer  <-----+
//
// Notation follows the audio convention V (F x T) ~ W (F x K) H (K x T) with
// F = fft_size/2+1 bins, K bases and T frames. scikit-learn uses the
// transposed factorisation X (T x F) ~ W_sk (T x K) H_sk (K x F), so its
// components_ is our W transposed and its transform(X) is our H transposed.
//
// The package has five parts:
//
//   - Bases and LoadBases: the named groups of columns of W, read from numpy
//     .npy/.npz files in either orientation and validated (finite,
//     non-negative, no all-zero column, F matching fft_size), and WriteNPY,
//     which saves bases as numpy reads them. A source may instead have free
//     bases (BasesFile.Free, Bases.Free).
//   - Separator: the per-frame, allocation-free, warm-started projection and
//     the masks. It is what the engine calls once per hop. It learns free
//     bases online (semi-supervised NMF, after Lefevre, Bach & Fevotte
//     2011) while the others stay fixed, and hands its state to its
//     successor on a reload (CarryOver).
//   - SolveH, InitHLikeSklearn and BetaDivergence: the batch form of the same
//     updates, identical to scikit-learn 1.2.1's
//     non_negative_factorization(..., init='custom', update_H=False,
//     solver='mu'). Tests and offline tools use it as the reference.
//   - Learn: full NMF (bases and activations) of a spectrogram, as
//     scikit-learn 1.2.1's NMF(solver='mu') with init 'nndsvda' or 'random',
//     for `sepd learn`; it works through the spectrogram in blocks and never
//     copies it.
//   - LearnRecon and Project: reconstruction bases W' (Bases.Recon) for the
//     masks, fitted on training mixtures to the Separator's activations so
//     that the masked mixture matches each true source, for `sepd
//     learn-recon`.
//
// How bases come to be, when sepd learns them:
//
//	example recordings -> |STFT| V (F x T) -> Learn -> W (F x K) -> WriteNPY -> LoadBases
//
// The Separator and SolveH share one update kernel, so a Separator that is
// Reset before every frame reproduces SolveH column by column.
package separate
