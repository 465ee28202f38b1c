// Package audio owns sepd's samples at both ends of the pipeline: audio
// devices (PortAudio) and audio files. This file describes the file half.
//
//	input:  WAV / FLAC file --Open--> Reader --Read--> [][]float64 --> engine
//	output: engine --> [][]float64 --WAVWriter.Write--> .<name>.tmp-XXXXXXXX --Close--> name.wav
//
// Samples cross the package boundary deinterleaved, one []float64 per channel,
// in buffers the caller owns. Integer encodings are scaled to [-1, 1) by
// dividing by 2^(bits-1) (PCM16 by 32768, 24-bit by 8388608, ...); float
// encodings pass through unchanged.
//
// # Reading
//
// Open sniffs a file's first bytes, never its name, and returns a WAVReader
// ("RIFF"...."WAVE") or a FLACReader ("fLaC"). NewWAVReader and NewFLACReader
// parse from any reader (so the parsers are fuzzable without files). ReadAll
// decodes a whole file for tests, evaluation and learning.
//
// The WAV reader is our own rather than github.com/go-audio/wav (v1.1.0),
// because that decoder
//   - decodes 32-bit IEEE float files as if they held integers (decoder.go,
//     sampleFloat64DecodeFunc: "TODO: fix the float64 conversion");
//   - ignores WAVE_FORMAT_EXTENSIBLE's subformat GUID, so it cannot tell an
//     extensible float file from an extensible PCM one, nor refuse others;
//   - allocates scratch buffers on every PCMBuffer call (decoder.go: tmpBuf,
//     sampleBuf), and the live path must not allocate;
//   - reports problems with messages that name neither the file nor the field
//     at fault.
//
// Ours decodes PCM 8/16/24/32-bit, IEEE float 32/64-bit and
// WAVE_FORMAT_EXTENSIBLE with a PCM or float subformat, any channel count and
// rate; it skips unknown chunks; its Read allocates nothing; and it refuses,
// with an error that names the file and says exactly what is wrong, every file
// it cannot decode faithfully: not RIFF/WAVE, truncated header, missing "fmt "
// or "data" chunk, unsupported encoding (with its format tag and bits), a data
// size larger than the file (with both numbers), zero channels, zero sample
// rate, inconsistent block align, an empty file, no samples, a non-finite
// float sample. The errors wrap ErrNotAudioFile, ErrTruncatedFile,
// ErrMalformedFile, ErrUnsupportedEncoding or ErrNoSamples for errors.Is.
//
// FLAC is decoded with github.com/mewkiz/flac, one FLAC frame at a time.
//
// # Writing
//
// CreateWAV writes Float32 (the default) or PCM16 WAV files atomically: to a
// hidden temporary file in the destination folder, renamed over the final
// name by Close after the header is patched and the data fsynced. A crash or
// kill never leaves a partial file under the final name; Abort removes the
// temporary file.
//
// # Rates
//
// Resampler converts a stream between two rates (a device's and the bases',
// a file's and the bases') with a polyphase windowed-sinc filter that
// equals scipy.signal.upfirdn with scipy.signal.firwin's Kaiser design,
// block by block whatever the blocks (resample.go says why our own).
package audio
