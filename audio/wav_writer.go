package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/sepd/sepd/internal/atomicfile"
)

// WAVWriter writes a WAV file atomically: samples go to a hidden temporary file
// in the destination folder, and only Close, after patching the header and
// fsyncing, renames it to the final path. A process killed at any point leaves
// at most a ".<name>.tmp-XXXXXXXX" file behind, never a partial file under the
// final name; an existing file there stays untouched until the rename.
//
// Headers: 1 or 2 channels get a plain "fmt " chunk (format tag 1 for PCM16,
// 3 for Float32); more channels get WAVE_FORMAT_EXTENSIBLE with a channel mask
// of 0 (no speaker positions), as Microsoft requires for more than two. Float32
// files carry the "fact" chunk that non-PCM formats need.
//
// A WAVWriter is not safe for concurrent use. Call Close to keep the file, or
// Abort to drop it; `defer w.Abort()` right after CreateWAV is safe, as Abort
// after Close does nothing.
type WAVWriter struct {
	path   string
	f      *atomicfile.File
	format Format
	enc    Encoding
	block  int // bytes per frame

	// Header offsets of the fields patched by Close (factAt < 0: no fact chunk).
	riffSizeAt, factAt, dataSizeAt, headerLen int64
	dataBytes                                 int64
	maxDataBytes                              int64

	buf   []byte // reused encoding buffer
	err   error  // sticky: an I/O error or the size limit
	state wavWriterState
}

type wavWriterState uint8

const (
	wavWriting wavWriterState = iota
	wavClosed
	wavAborted
)

// CreateWAV starts writing a WAV file at path with format f in encoding enc.
// It creates the temporary file ".<name>.tmp-XXXXXXXX" in path's folder and
// writes a header with placeholder sizes. It allocates the writer and its
// header; Write allocates its buffer once.
//
// Errors (all naming path): f.Channels outside 1..65535 (16383 for Float32,
// whose frames must fit the 16-bit block align), f.SampleRateHz outside
// 1..2^32-1, an unknown enc, or the temporary file not being creatable or
// writable.
func CreateWAV(path string, f Format, enc Encoding) (*WAVWriter, error) {
	var bytesPer int
	switch enc {
	case Float32:
		bytesPer = 4
	case PCM16:
		bytesPer = 2
	default:
		return nil, fmt.Errorf("audio: %s: unknown encoding %v", path, enc)
	}
	if f.Channels < 1 || f.Channels*bytesPer > math.MaxUint16 {
		return nil, fmt.Errorf("audio: %s: cannot write %d channels in %v WAV (1 to %d)", path, f.Channels, enc, math.MaxUint16/bytesPer)
	}
	if f.SampleRateHz < 1 || int64(f.SampleRateHz) > math.MaxUint32 {
		return nil, fmt.Errorf("audio: %s: cannot write a WAV at %d Hz", path, f.SampleRateHz)
	}
	w := &WAVWriter{path: path, format: f, enc: enc, block: f.Channels * bytesPer}
	hdr := w.header()
	w.headerLen = int64(len(hdr))
	// The RIFF size field (file size - 8) must fit 32 bits.
	w.maxDataBytes = (math.MaxUint32 - (w.headerLen - 8)) / int64(w.block) * int64(w.block)

	file, err := atomicfile.Create(path)
	if err != nil {
		return nil, fmt.Errorf("audio: %s: %w", path, err)
	}
	w.f = file
	if _, err := file.Write(hdr); err != nil {
		w.discard()
		return nil, fmt.Errorf("audio: %s: %w", path, err)
	}
	return w, nil
}

// header builds the header with zero sizes and records where the sizes go.
func (w *WAVWriter) header() []byte {
	le := binary.LittleEndian
	bits := w.block / w.format.Channels * 8
	tag := uint16(wavTagPCM)
	if w.enc == Float32 {
		tag = wavTagFloat
	}
	extensible := w.format.Channels > 2

	h := make([]byte, 0, 80)
	h = append(h, "RIFF"...)
	w.riffSizeAt = int64(len(h))
	h = le.AppendUint32(h, 0)
	h = append(h, "WAVE"...)

	h = append(h, "fmt "...)
	switch {
	case extensible:
		h = le.AppendUint32(h, 40)
		h = le.AppendUint16(h, wavTagExtensible)
	case w.enc == Float32:
		h = le.AppendUint32(h, 18)
		h = le.AppendUint16(h, tag)
	default:
		h = le.AppendUint32(h, 16)
		h = le.AppendUint16(h, tag)
	}
	h = le.AppendUint16(h, uint16(w.format.Channels))
	h = le.AppendUint32(h, uint32(w.format.SampleRateHz))
	h = le.AppendUint32(h, uint32(uint64(w.format.SampleRateHz)*uint64(w.block))) // byte rate; wraps for absurd rates, never read back
	h = le.AppendUint16(h, uint16(w.block))
	h = le.AppendUint16(h, uint16(bits))
	switch {
	case extensible:
		h = le.AppendUint16(h, 22)           // cbSize
		h = le.AppendUint16(h, uint16(bits)) // valid bits
		h = le.AppendUint32(h, 0)            // channel mask: no positions
		h = le.AppendUint16(h, tag)          // subformat GUID
		h = append(h, wavGUIDTail[:]...)
	case w.enc == Float32:
		h = le.AppendUint16(h, 0) // cbSize
	}

	w.factAt = -1
	if w.enc == Float32 {
		h = append(h, "fact"...)
		h = le.AppendUint32(h, 4)
		w.factAt = int64(len(h))
		h = le.AppendUint32(h, 0)
	}
	h = append(h, "data"...)
	w.dataSizeAt = int64(len(h))
	h = le.AppendUint32(h, 0)
	return h
}

// Format returns the format given to CreateWAV.
func (w *WAVWriter) Format() Format { return w.format }

// Path returns the final path given to CreateWAV.
func (w *WAVWriter) Path() string { return w.path }

// Write appends the frames src[c][:n] (one slice per channel, all of length n)
// to the file. It panics if len(src) != Format().Channels or the src[c] differ
// in length. It allocates its byte buffer on the first call and when a call is
// longer than every earlier one, and nothing otherwise.
//
// A NaN or infinite sample is an error (naming the path, frame and channel)
// and nothing of src is written; the writer stays usable. An I/O error (e.g.
// ENOSPC on a full disk, errors.Is(err, syscall.ENOSPC)) names the path and is
// final: later Writes return it and Close fails and removes the temporary
// file. So does data beyond the 4 GiB a RIFF size field can count.
func (w *WAVWriter) Write(src [][]float64) error {
	if w.state != wavWriting {
		return fmt.Errorf("audio: %s: Write after Close or Abort: %w", w.path, os.ErrClosed)
	}
	n := checkBlock(src, w.format.Channels, "WAVWriter.Write", "src")
	if w.err != nil {
		return w.err
	}
	if n == 0 {
		return nil
	}
	need := int64(n) * int64(w.block)
	if w.dataBytes+need > w.maxDataBytes {
		w.err = fmt.Errorf("audio: %s: the WAV data would pass the 4 GiB a RIFF header can count, after %d frames", w.path, w.dataBytes/int64(w.block))
		return w.err
	}
	if int64(cap(w.buf)) < need {
		w.buf = make([]byte, need)
	}
	b := w.buf[:need]
	if err := w.encode(b, src); err != nil {
		return err
	}
	if _, err := w.f.Write(b); err != nil {
		w.err = fmt.Errorf("audio: %s: %w", w.path, err)
		return w.err
	}
	w.dataBytes += need
	return nil
}

// encode interleaves src into b.
func (w *WAVWriter) encode(b []byte, src [][]float64) error {
	le := binary.LittleEndian
	chans := len(src)
	for c, s := range src {
		switch w.enc {
		case Float32:
			for i, v := range s {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return w.nonFinite(v, i, c)
				}
				le.PutUint32(b[4*(i*chans+c):], math.Float32bits(float32(v)))
			}
		case PCM16:
			for i, v := range s {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return w.nonFinite(v, i, c)
				}
				le.PutUint16(b[2*(i*chans+c):], uint16(pcm16(v)))
			}
		}
	}
	return nil
}

// pcm16 converts v to a 16-bit sample: clipped to [-1, 1], times 32768,
// rounded half away from zero, clamped to [-32768, 32767] (so 1 -> 32767).
func pcm16(v float64) int16 {
	x := math.Round(max(-1, min(1, v)) * (1 << 15))
	return int16(max(math.MinInt16, min(math.MaxInt16, x)))
}

// nonFinite reports src[c][i] = v.
func (w *WAVWriter) nonFinite(v float64, i, c int) error {
	return fmt.Errorf("audio: %s: channel %d is %v at frame %d (index %d of this Write); nothing of this Write was written", w.path, c, v, w.dataBytes/int64(w.block)+int64(i), i)
}

// Frames returns the number of frames written so far.
func (w *WAVWriter) Frames() int64 { return w.dataBytes / int64(w.block) }

// Close completes the file: it patches the RIFF, fact and data sizes, fsyncs
// the temporary file, closes it, renames it to the final path and fsyncs the
// folder. On any error, including an earlier Write's, Close removes the
// temporary file, leaves the final path as it was and returns an error naming
// the path. Close after Close returns nil; Close after Abort returns an error.
// It allocates only on errors.
func (w *WAVWriter) Close() error {
	switch w.state {
	case wavClosed:
		return nil
	case wavAborted:
		return fmt.Errorf("audio: %s: Close after Abort: %w", w.path, os.ErrClosed)
	}
	if w.err != nil {
		w.discard()
		return w.err
	}
	if err := w.patch(); err != nil {
		w.discard()
		return fmt.Errorf("audio: %s: %w", w.path, err)
	}
	if err := w.f.Commit(); err != nil {
		if errors.Is(err, atomicfile.ErrFolderSync) {
			// The file is complete under its name.
			w.state = wavClosed
			return fmt.Errorf("audio: %s: written, but %w", w.path, err)
		}
		w.discard()
		return fmt.Errorf("audio: %s: %w", w.path, err)
	}
	w.state = wavClosed
	return nil
}

// patch writes the final sizes into the header.
func (w *WAVWriter) patch() error {
	var b [4]byte
	put := func(at, v int64) error {
		binary.LittleEndian.PutUint32(b[:], uint32(v))
		_, err := w.f.WriteAt(b[:], at)
		return err
	}
	if err := put(w.riffSizeAt, w.headerLen-8+w.dataBytes); err != nil {
		return err
	}
	if w.factAt >= 0 {
		if err := put(w.factAt, w.dataBytes/int64(w.block)); err != nil {
			return err
		}
	}
	return put(w.dataSizeAt, w.dataBytes)
}

// Abort drops the file: it closes and removes the temporary file and leaves
// the final path as it was. It is idempotent, and does nothing after Close. It
// returns an error naming the path only if the temporary file could not be
// removed.
func (w *WAVWriter) Abort() error {
	if w.state != wavWriting {
		return nil
	}
	return w.discard()
}

// discard closes and removes the temporary file and marks the writer aborted.
func (w *WAVWriter) discard() error {
	w.state = wavAborted
	if err := w.f.Abort(); err != nil {
		return fmt.Errorf("audio: %s: remove the temporary file: %w", w.path, err)
	}
	return nil
}
