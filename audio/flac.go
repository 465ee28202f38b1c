package audio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mewkiz/flac"
	"github.com/mewkiz/flac/frame"
)

// FLACReader decodes a FLAC stream, one FLAC frame at a time, with
// github.com/mewkiz/flac. It implements Reader; see Reader for the contract.
// Samples of b bits are scaled by 1/2^(b-1), as for WAV PCM.
//
// Every bit depth mewkiz/flac v1.0.14 decodes is read (4 to 24 bits; it
// rejects the 32-bit frames that flac 1.4 writes). Frames is the STREAMINFO
// sample count, or -1 when that is 0 (unknown). Unlike WAVReader, a FLACReader
// allocates once per FLAC frame (a few thousand samples) inside mewkiz/flac:
// fine for files, not for a live path.
type FLACReader struct {
	name   string
	closer io.Closer
	s      *flac.Stream
	format Format
	bits   int // STREAMINFO bits per sample
	frames int64

	cur    *frame.Frame
	pos    int   // next sample of cur
	done   int64 // frames handed out, including cur[:pos]
	err    error // sticky: a decode error or io.EOF
	closed bool
}

// NewFLACReader parses the FLAC signature and metadata at the start of r and
// returns a reader positioned at the first sample. name is used only in error
// messages (give the path). Close closes r if r is an io.Closer.
//
// It allocates the reader and mewkiz/flac's buffers. The error wraps one of
// ErrNotAudioFile, ErrTruncatedFile, ErrMalformedFile, ErrNoSamples, or an I/O
// error.
func NewFLACReader(r io.Reader, name string) (*FLACReader, error) {
	f := &FLACReader{name: name}
	if c, ok := r.(io.Closer); ok {
		f.closer = c
	}
	br := bufio.NewReader(r)
	head, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, f.ioError("read header", err)
	}
	if string(head) != "fLaC" && (len(head) < 3 || string(head[:3]) != "ID3") {
		return nil, f.errorf(ErrNotAudioFile, "%s, expected \"fLaC\"", describeMagic(head, int64(len(head))))
	}
	s, err := flac.New(br)
	if err != nil {
		return nil, f.decodeError("the FLAC header", err)
	}
	f.s = s
	info := s.Info
	if info.SampleRate == 0 {
		return nil, f.errorf(ErrMalformedFile, "STREAMINFO says a sample rate of 0 Hz")
	}
	if info.NChannels == 0 {
		return nil, f.errorf(ErrMalformedFile, "STREAMINFO says 0 channels")
	}
	if info.BitsPerSample < 4 || info.BitsPerSample > 32 {
		return nil, f.errorf(ErrMalformedFile, "STREAMINFO says %d bits per sample, FLAC allows 4 to 32", info.BitsPerSample)
	}
	f.format = Format{SampleRateHz: int(info.SampleRate), Channels: int(info.NChannels)}
	f.bits = int(info.BitsPerSample)
	f.frames = -1
	if info.NSamples > 0 {
		f.frames = int64(info.NSamples)
	}
	return f, nil
}

func (f *FLACReader) errorf(kind error, format string, a ...any) error {
	return fmt.Errorf("audio: %s: %w: %s", f.name, kind, fmt.Sprintf(format, a...))
}

func (f *FLACReader) ioError(op string, err error) error {
	return fmt.Errorf("audio: %s: %s: %w", f.name, op, err)
}

// decodeError classifies an error from mewkiz/flac met while reading where.
func (f *FLACReader) decodeError(where string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "unexpected EOF") {
		return fmt.Errorf("audio: %s: %w: the file ends inside %s (%w)", f.name, ErrTruncatedFile, where, err)
	}
	return fmt.Errorf("audio: %s: %w: %s: %w", f.name, ErrMalformedFile, where, err)
}

// Format returns the sample rate and channel count from STREAMINFO.
func (f *FLACReader) Format() Format { return f.format }

// Frames returns the STREAMINFO total, or -1 if the stream does not say.
func (f *FLACReader) Frames() int64 { return f.frames }

// String describes the stream, e.g. "FLAC 16-bit, 2 ch, 44100 Hz, 4410 frames".
// It allocates.
func (f *FLACReader) String() string {
	return fmt.Sprintf("FLAC %d-bit, %s, %d frames", f.bits, f.format, f.frames)
}

// Read decodes up to len(dst[0]) frames into dst; see Reader for the contract.
// It panics if len(dst) != Format().Channels or the dst[c] differ in length. It
// allocates when it decodes a new FLAC frame (inside mewkiz/flac).
func (f *FLACReader) Read(dst [][]float64) (int, error) {
	want := checkBlock(dst, f.format.Channels, "FLACReader.Read", "dst")
	if f.closed {
		return 0, fmt.Errorf("audio: %s: Read after Close: %w", f.name, os.ErrClosed)
	}
	if f.err != nil {
		return 0, f.err
	}
	n := 0
	for n < want {
		if f.cur == nil || f.pos == int(f.cur.BlockSize) {
			fr, err := f.s.ParseNext()
			if errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				if f.frames >= 0 && f.done < f.frames {
					f.err = f.errorf(ErrTruncatedFile, "the stream ends after %d of the %d frames STREAMINFO declares", f.done, f.frames)
					return 0, f.err
				}
				f.cur = nil
				break
			}
			if err != nil {
				f.err = f.decodeError(fmt.Sprintf("the FLAC frame at sample %d", f.done), err)
				return 0, f.err
			}
			if err := f.checkFrame(fr); err != nil {
				f.err = err
				return 0, err
			}
			f.cur, f.pos = fr, 0
		}
		k := min(want-n, int(f.cur.BlockSize)-f.pos)
		bits := int(f.cur.BitsPerSample)
		if bits == 0 {
			bits = f.bits
		}
		scale := 1 / float64(int64(1)<<(bits-1))
		for c, d := range dst {
			src := f.cur.Subframes[c].Samples[f.pos : f.pos+k]
			d = d[n : n+k]
			for i, v := range src {
				d[i] = float64(v) * scale
			}
		}
		f.pos += k
		f.done += int64(k)
		n += k
	}
	if n == 0 && want > 0 {
		f.err = io.EOF
		return 0, io.EOF
	}
	return n, nil
}

// checkFrame rejects a frame that disagrees with STREAMINFO.
func (f *FLACReader) checkFrame(fr *frame.Frame) error {
	at := f.done
	if got := len(fr.Subframes); got != f.format.Channels {
		return f.errorf(ErrMalformedFile, "the FLAC frame at sample %d has %d channels, STREAMINFO says %d", at, got, f.format.Channels)
	}
	if fr.SampleRate != 0 && int(fr.SampleRate) != f.format.SampleRateHz {
		return f.errorf(ErrMalformedFile, "the FLAC frame at sample %d has a sample rate of %d Hz, STREAMINFO says %d Hz", at, fr.SampleRate, f.format.SampleRateHz)
	}
	if b := int(fr.BitsPerSample); b != 0 && b != f.bits {
		return f.errorf(ErrMalformedFile, "the FLAC frame at sample %d has %d bits per sample, STREAMINFO says %d", at, b, f.bits)
	}
	for c, sf := range fr.Subframes {
		if len(sf.Samples) != int(fr.BlockSize) {
			return f.errorf(ErrMalformedFile, "the FLAC frame at sample %d has %d samples in channel %d, its header says %d", at, len(sf.Samples), c, fr.BlockSize)
		}
	}
	if f.frames >= 0 && at+int64(fr.BlockSize) > f.frames {
		return f.errorf(ErrMalformedFile, "the stream holds more than the %d frames STREAMINFO declares", f.frames)
	}
	return nil
}

// Close closes the underlying reader if it is an io.Closer. Read after Close
// returns an error. Close is idempotent: later calls return nil.
func (f *FLACReader) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	f.cur = nil
	if f.closer != nil {
		if err := f.closer.Close(); err != nil {
			return f.ioError("close", err)
		}
	}
	return nil
}
