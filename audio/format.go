package audio

import (
	"errors"
	"fmt"
)

// Format is the shape of a stream of samples: how many per second and how many
// channels. A Format is a plain value; it never allocates.
type Format struct {
	SampleRateHz int // frames per second, > 0 for a valid stream
	Channels     int // samples per frame, > 0 for a valid stream
}

// String returns e.g. "2 ch, 44100 Hz".
func (f Format) String() string {
	return fmt.Sprintf("%d ch, %d Hz", f.Channels, f.SampleRateHz)
}

// Reader is a source of deinterleaved samples: a decoded file (Open) or, in
// other parts of this package, a live input.
//
// The contract, case by case:
//
//   - Format is fixed for the life of the Reader.
//   - Frames returns the total number of frames the stream holds when the
//     header says so, else -1. It does not change as frames are read.
//   - Read(dst) needs len(dst) == Format().Channels and every dst[c] of the same
//     length L; it panics otherwise. It writes frames into dst[c][:n] for every
//     channel c and returns n. File readers return n == L except for the last
//     frames of the stream, where 0 < n < L is possible; after the last frame
//     Read returns 0, io.EOF, and keeps doing so. L == 0 returns 0, nil.
//     Samples are scaled to [-1, 1) for integer encodings (a b-bit sample s is
//     s / 2^(b-1)); float encodings are passed through (finite, not clipped).
//   - A decode error is returned with n == 0, names the file and is final.
//   - Close releases the file; Read after Close returns an error.
type Reader interface {
	Format() Format
	Frames() int64
	Read(dst [][]float64) (int, error)
	Close() error
}

// Encoding is the sample encoding of a WAV file that WAVWriter writes.
type Encoding int

const (
	// Float32 writes 32-bit IEEE float samples, unclipped: the default, lossless
	// for any value the engine produces.
	Float32 Encoding = iota
	// PCM16 writes 16-bit signed integers: samples are clipped to [-1, 1],
	// multiplied by 32768, rounded half away from zero and clamped to
	// [-32768, 32767].
	PCM16
)

// String returns "float32" or "pcm16", the names ParseEncoding accepts.
func (e Encoding) String() string {
	switch e {
	case Float32:
		return "float32"
	case PCM16:
		return "pcm16"
	}
	return fmt.Sprintf("Encoding(%d)", int(e))
}

// ParseEncoding returns the Encoding named s ("float32" or "pcm16"). The error
// lists the accepted names. It does not allocate on success.
func ParseEncoding(s string) (Encoding, error) {
	switch s {
	case "float32":
		return Float32, nil
	case "pcm16":
		return PCM16, nil
	}
	return 0, fmt.Errorf("audio: encoding %q: want float32 or pcm16", s)
}

// Errors that a file reader wraps, so that callers can tell the kind of problem
// with errors.Is. The full message always names the file and the detail, e.g.
// "audio: mix.wav: unsupported encoding: format tag 0x0006 (A-law), 8 bits ...".
var (
	// ErrNotAudioFile: the content is neither RIFF/WAVE nor FLAC (or is empty).
	ErrNotAudioFile = errors.New("not a WAV or FLAC file")
	// ErrTruncatedFile: the file ends before its header says it should.
	ErrTruncatedFile = errors.New("truncated file")
	// ErrMalformedFile: a header field is missing or contradicts another, or a
	// float sample is not finite.
	ErrMalformedFile = errors.New("malformed file")
	// ErrUnsupportedEncoding: a well-formed file in an encoding sepd does not
	// decode (A-law, ADPCM, 12-bit PCM, ...).
	ErrUnsupportedEncoding = errors.New("unsupported encoding")
	// ErrNoSamples: a well-formed file that holds no complete frame.
	ErrNoSamples = errors.New("no samples")
)

// checkBlock panics unless blk has one slice per channel, all of one length,
// and returns that length. who ("WAVWriter.Write") and arg ("src") name the
// method and its argument in the panic message, which is formatted only when
// it panics, so the check does not allocate.
func checkBlock(blk [][]float64, channels int, who, arg string) int {
	if len(blk) != channels {
		panic(fmt.Sprintf("audio: %s: len(%s) = %d, want %d (one slice per channel)", who, arg, len(blk), channels))
	}
	if len(blk) == 0 {
		return 0
	}
	n := len(blk[0])
	for c := 1; c < len(blk); c++ {
		if len(blk[c]) != n {
			panic(fmt.Sprintf("audio: %s: len(%s[%d]) = %d differs from len(%s[0]) = %d (channels of different lengths)", who, arg, c, len(blk[c]), arg, n))
		}
	}
	return n
}
