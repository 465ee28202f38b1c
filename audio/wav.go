package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// WAV format tags (the wFormatTag field of the "fmt " chunk) that sepd knows by
// name. Only wavTagPCM, wavTagFloat and wavTagExtensible are decoded.
const (
	wavTagPCM        = 0x0001
	wavTagFloat      = 0x0003
	wavTagExtensible = 0xFFFE
)

// wavTagNames names the format tags most often met, for error messages.
var wavTagNames = map[uint16]string{
	0x0001: "PCM",
	0x0002: "Microsoft ADPCM",
	0x0003: "IEEE float",
	0x0006: "A-law",
	0x0007: "mu-law",
	0x0011: "IMA ADPCM",
	0x0031: "GSM 6.10",
	0x0050: "MPEG",
	0x0055: "MPEG layer 3",
	0x00FF: "AAC",
	0xFFFE: "WAVE_FORMAT_EXTENSIBLE",
}

// wavGUIDTail is bytes 2..15 of every KSDATAFORMAT_SUBTYPE_* GUID that wraps an
// old format tag (mmreg.h: {0000XXXX-0000-0010-8000-00AA00389B71}); bytes 0..1
// hold the tag, little endian.
var wavGUIDTail = [14]byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}

// wavBufBytes is the size of the byte buffer a WAVReader decodes from (rounded
// down to whole frames, and at least one frame).
const wavBufBytes = 32 << 10

// wavSampleKind is how one sample is stored.
type wavSampleKind uint8

const (
	wavU8 wavSampleKind = iota + 1
	wavS16
	wavS24
	wavS32
	wavF32
	wavF64
)

// WAVReader decodes a RIFF/WAVE file as a stream of deinterleaved float64
// samples. It implements Reader; see Reader for the contract.
//
// It decodes PCM in 8 (unsigned), 16, 24 and 32 bits, IEEE float in 32 and 64
// bits, and WAVE_FORMAT_EXTENSIBLE with a PCM or IEEE float subformat (a valid
// bit depth below the container is read at the container's width, which is
// exact because valid bits are left-justified). It skips every other chunk
// (LIST, fact, cue, ..., with their pad byte). It is strict: a header that
// contradicts itself or the file's length is an error, not a guess.
//
// The RIFF chunk's own size field is not checked: many writers get it wrong,
// and the data chunk's size, checked against the file's length, is what
// matters. Bytes after the last whole frame of the data chunk are ignored. A
// file whose writer never patched its sizes (a data size of 0 or 0xFFFFFFFF,
// as streaming writers leave on a pipe) is refused as "no samples" or
// "truncated file", not read to its end.
type WAVReader struct {
	name   string
	r      io.ReadSeeker
	format Format

	kind       wavSampleKind
	bytesPer   int    // container bytes per sample
	blockAlign int    // bytes per frame
	tag        uint16 // wFormatTag, or the subformat's tag for EXTENSIBLE
	extensible bool
	validBits  int

	frames    int64 // total frames
	remaining int64 // frames not yet read
	buf       []byte
	err       error // sticky decode error
	closed    bool
}

// wavChunk is a chunk header seen while walking the file.
type wavChunk struct {
	id     [4]byte
	offset int64 // of the chunk header
	size   int64 // body bytes, without the pad byte
}

// NewWAVReader parses the RIFF/WAVE header at the start of r and returns a
// reader positioned at the first sample. name is used only in error messages
// (give the path). r is read from its current offset, which must be the start
// of the file; its length is found by seeking to the end. Close closes r if r
// is an io.Closer.
//
// It allocates the reader and a 32 KiB buffer; Read then allocates nothing.
// The error wraps one of ErrNotAudioFile, ErrTruncatedFile, ErrMalformedFile,
// ErrUnsupportedEncoding, ErrNoSamples, or an I/O error.
func NewWAVReader(r io.ReadSeeker, name string) (*WAVReader, error) {
	w := &WAVReader{name: name, r: r}
	if err := w.parseHeader(); err != nil {
		return nil, err
	}
	n := wavBufBytes / w.blockAlign * w.blockAlign
	if n == 0 {
		n = w.blockAlign
	}
	w.buf = make([]byte, n)
	return w, nil
}

// errorf returns "audio: NAME: KIND: detail" wrapping kind.
func (w *WAVReader) errorf(kind error, format string, a ...any) error {
	return fmt.Errorf("audio: %s: %w: %s", w.name, kind, fmt.Sprintf(format, a...))
}

// ioError wraps an I/O error from the underlying reader.
func (w *WAVReader) ioError(op string, err error) error {
	return fmt.Errorf("audio: %s: %s: %w", w.name, op, err)
}

func (w *WAVReader) parseHeader() error {
	start, err := w.r.Seek(0, io.SeekCurrent)
	if err != nil {
		return w.ioError("seek", err)
	}
	end, err := w.r.Seek(0, io.SeekEnd)
	if err != nil {
		return w.ioError("seek", err)
	}
	size := end - start
	if _, err := w.r.Seek(start, io.SeekStart); err != nil {
		return w.ioError("seek", err)
	}
	if size == 0 {
		return w.errorf(ErrNotAudioFile, "the file is empty (0 bytes)")
	}

	var hdr [12]byte
	n, err := io.ReadFull(w.r, hdr[:min(int64(len(hdr)), size)])
	if err != nil {
		return w.ioError("read header", err)
	}
	if n < 4 || string(hdr[:4]) != "RIFF" {
		return w.errorf(ErrNotAudioFile, "%s, expected \"RIFF\" then \"WAVE\"", describeMagic(hdr[:n], size))
	}
	if n < 12 {
		return w.errorf(ErrTruncatedFile, "the file is %d bytes long, a RIFF/WAVE header needs 12", size)
	}
	if string(hdr[8:12]) != "WAVE" {
		return w.errorf(ErrNotAudioFile, "RIFF form type is %q, expected \"WAVE\"", hdr[8:12])
	}

	var (
		fmtChunk, dataChunk *wavChunk
		seen                []string
		body                []byte
		off                 = int64(12)
	)
	for (fmtChunk == nil || dataChunk == nil) && off < size {
		if size-off < 8 {
			return w.errorf(ErrTruncatedFile, "the file ends inside a chunk header at offset %d (%d of 8 bytes)", off, size-off)
		}
		if _, err := w.r.Seek(start+off, io.SeekStart); err != nil {
			return w.ioError("seek", err)
		}
		var ch [8]byte
		if _, err := io.ReadFull(w.r, ch[:]); err != nil {
			return w.ioError("read header", err)
		}
		c := &wavChunk{offset: off, size: int64(binary.LittleEndian.Uint32(ch[4:]))}
		copy(c.id[:], ch[:4])
		if len(seen) < 8 {
			seen = append(seen, fmt.Sprintf("%q", c.id[:]))
		} else if len(seen) == 8 {
			seen = append(seen, "...")
		}
		if have := size - off - 8; c.size > have {
			return w.errorf(ErrTruncatedFile, "the %q chunk at offset %d claims %d bytes but only %d bytes follow its header (the file is %d bytes long)", c.id[:], off, c.size, have, size)
		}
		switch string(c.id[:]) {
		case "data":
			if dataChunk == nil { // a second data chunk is not audio
				dataChunk = c
			}
		case "fmt ":
			if fmtChunk != nil {
				return w.errorf(ErrMalformedFile, "a second \"fmt \" chunk at offset %d (the first is at offset %d)", off, fmtChunk.offset)
			}
			if c.size < 16 {
				return w.errorf(ErrMalformedFile, "the \"fmt \" chunk at offset %d is %d bytes long, at least 16 are needed", off, c.size)
			}
			// The fields are in the first 40 bytes: do not trust the
			// size with an allocation.
			body = make([]byte, min(c.size, 40))
			if _, err := io.ReadFull(w.r, body); err != nil {
				return w.ioError("read header", err)
			}
			fmtChunk = c
		}
		// Skip the body and the pad byte after an odd-sized body (many
		// writers omit the last one, hence the clamp).
		off = min(off+8+c.size+c.size&1, size)
	}
	found := "no chunks follow the RIFF header"
	if len(seen) > 0 {
		found = "chunks found: " + strings.Join(seen, ", ")
	}
	if fmtChunk == nil {
		return w.errorf(ErrMalformedFile, "no \"fmt \" chunk (%s)", found)
	}
	if dataChunk == nil {
		return w.errorf(ErrMalformedFile, "no \"data\" chunk (%s)", found)
	}
	if err := w.parseFmt(body, fmtChunk); err != nil {
		return err
	}
	w.frames = dataChunk.size / int64(w.blockAlign)
	w.remaining = w.frames
	if w.frames == 0 {
		if dataChunk.size == 0 {
			return w.errorf(ErrNoSamples, "the \"data\" chunk at offset %d is empty", dataChunk.offset)
		}
		return w.errorf(ErrNoSamples, "the \"data\" chunk at offset %d holds %d bytes, less than one %d-byte frame", dataChunk.offset, dataChunk.size, w.blockAlign)
	}
	if _, err := w.r.Seek(start+dataChunk.offset+8, io.SeekStart); err != nil {
		return w.ioError("seek", err)
	}
	return nil
}

// parseFmt reads the fields of a "fmt " chunk body (at most its first 40 bytes).
func (w *WAVReader) parseFmt(b []byte, c *wavChunk) error {
	le := binary.LittleEndian
	tag := le.Uint16(b[0:])
	channels := int(le.Uint16(b[2:]))
	rate := int64(le.Uint32(b[4:]))
	blockAlign := int(le.Uint16(b[12:]))
	bits := int(le.Uint16(b[14:]))

	w.tag = tag
	w.validBits = bits
	if tag == wavTagExtensible {
		w.extensible = true
		if c.size < 40 {
			return w.errorf(ErrMalformedFile, "the \"fmt \" chunk at offset %d is %d bytes long, WAVE_FORMAT_EXTENSIBLE needs 40", c.offset, c.size)
		}
		if cb := le.Uint16(b[16:]); cb < 22 {
			return w.errorf(ErrMalformedFile, "WAVE_FORMAT_EXTENSIBLE with an extension of %d bytes, 22 are needed", cb)
		}
		valid := int(le.Uint16(b[18:]))
		if [14]byte(b[26:40]) != wavGUIDTail {
			return w.errorf(ErrUnsupportedEncoding, "WAVE_FORMAT_EXTENSIBLE with subformat %s (sepd reads the PCM and IEEE float subformats)", guidString(b[24:40]))
		}
		w.tag = le.Uint16(b[24:])
		if valid > bits {
			return w.errorf(ErrMalformedFile, "WAVE_FORMAT_EXTENSIBLE with %d valid bits in a %d-bit container", valid, bits)
		}
		if valid != 0 {
			w.validBits = valid
		}
	}

	switch {
	case w.tag == wavTagPCM && bits == 8:
		w.kind = wavU8
	case w.tag == wavTagPCM && bits == 16:
		w.kind = wavS16
	case w.tag == wavTagPCM && bits == 24:
		w.kind = wavS24
	case w.tag == wavTagPCM && bits == 32:
		w.kind = wavS32
	case w.tag == wavTagFloat && bits == 32 && w.validBits == 32:
		w.kind = wavF32
	case w.tag == wavTagFloat && bits == 64 && w.validBits == 64:
		w.kind = wavF64
	default:
		return w.errorf(ErrUnsupportedEncoding, "%s with %s (sepd reads PCM in 8, 16, 24 or 32 bits, IEEE float in 32 or 64 bits, and WAVE_FORMAT_EXTENSIBLE with either; PCM depths that are not whole bytes must use WAVE_FORMAT_EXTENSIBLE)", w.tagString(), w.bitsString(bits))
	}

	if channels == 0 {
		return w.errorf(ErrMalformedFile, "the \"fmt \" chunk says 0 channels")
	}
	if rate == 0 {
		return w.errorf(ErrMalformedFile, "the \"fmt \" chunk says a sample rate of 0 Hz")
	}
	if rate > math.MaxInt32 {
		return w.errorf(ErrMalformedFile, "the \"fmt \" chunk says a sample rate of %d Hz", rate)
	}
	w.bytesPer = bits / 8
	if want := channels * w.bytesPer; blockAlign != want {
		return w.errorf(ErrMalformedFile, "block align is %d bytes, expected %d (%d channels x %d bytes)", blockAlign, want, channels, w.bytesPer)
	}
	w.blockAlign = blockAlign
	w.format = Format{SampleRateHz: int(rate), Channels: channels}
	return nil
}

// tagString describes the format tag, e.g. "format tag 0x0006 (A-law)" or
// "WAVE_FORMAT_EXTENSIBLE subformat 0x0003 (IEEE float)".
func (w *WAVReader) tagString() string {
	s := fmt.Sprintf("format tag 0x%04X", w.tag)
	if w.extensible {
		s = fmt.Sprintf("WAVE_FORMAT_EXTENSIBLE subformat 0x%04X", w.tag)
	}
	if name, ok := wavTagNames[w.tag]; ok {
		s += " (" + name + ")"
	}
	return s
}

// bitsString describes the sample size, e.g. "12 bits per sample" or "20 valid
// bits in a 24-bit container".
func (w *WAVReader) bitsString(bits int) string {
	if w.validBits != bits {
		return fmt.Sprintf("%d valid bits in a %d-bit container", w.validBits, bits)
	}
	return fmt.Sprintf("%d bits per sample", bits)
}

// guidString formats a little-endian Microsoft GUID.
func guidString(b []byte) string {
	le := binary.LittleEndian
	return fmt.Sprintf("{%08X-%04X-%04X-%X-%X}", le.Uint32(b[0:]), le.Uint16(b[4:]), le.Uint16(b[6:]), b[8:10], b[10:16])
}

// String describes the stream, e.g. "WAV PCM 24-bit, 2 ch, 48000 Hz, 48000 frames".
// It allocates.
func (w *WAVReader) String() string {
	var enc string
	switch w.kind {
	case wavF32, wavF64:
		enc = fmt.Sprintf("float %d-bit", w.bytesPer*8)
	default:
		enc = fmt.Sprintf("PCM %d-bit", w.validBits)
		if w.validBits != w.bytesPer*8 {
			enc += fmt.Sprintf(" in %d-bit", w.bytesPer*8)
		}
	}
	ext := ""
	if w.extensible {
		ext = " (extensible)"
	}
	return fmt.Sprintf("WAV %s%s, %s, %d frames", enc, ext, w.format, w.frames)
}

// Format returns the sample rate and channel count from the header.
func (w *WAVReader) Format() Format { return w.format }

// Frames returns the number of whole frames in the data chunk.
func (w *WAVReader) Frames() int64 { return w.frames }

// isFloat reports whether samples are stored as IEEE floats (and so are not
// bounded to [-1, 1)).
func (w *WAVReader) isFloat() bool { return w.kind == wavF32 || w.kind == wavF64 }

// Read decodes up to len(dst[0]) frames into dst; see Reader for the contract.
// It panics if len(dst) != Format().Channels or the dst[c] differ in length.
// It does not allocate. A float sample that is NaN or infinite is an error
// wrapping ErrMalformedFile.
func (w *WAVReader) Read(dst [][]float64) (int, error) {
	want := checkBlock(dst, w.format.Channels, "WAVReader.Read", "dst")
	if w.closed {
		return 0, fmt.Errorf("audio: %s: Read after Close: %w", w.name, os.ErrClosed)
	}
	if w.err != nil {
		return 0, w.err
	}
	if want == 0 {
		return 0, nil
	}
	if w.remaining == 0 {
		return 0, io.EOF
	}
	n := 0
	perBuf := len(w.buf) / w.blockAlign
	for n < want && w.remaining > 0 {
		k := int(min(int64(want-n), w.remaining, int64(perBuf)))
		b := w.buf[:k*w.blockAlign]
		if _, err := io.ReadFull(w.r, b); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				w.err = w.errorf(ErrTruncatedFile, "the data ends at frame %d of %d (did the file shrink while being read?)", w.frames-w.remaining, w.frames)
			} else {
				w.err = w.ioError("read", err)
			}
			return 0, w.err
		}
		if err := w.decode(dst, n, k, b); err != nil {
			w.err = err
			return 0, err
		}
		n += k
		w.remaining -= int64(k)
	}
	return n, nil
}

// decode converts k frames from b into dst[c][at:at+k].
func (w *WAVReader) decode(dst [][]float64, at, k int, b []byte) error {
	le := binary.LittleEndian
	chans := len(dst)
	switch w.kind {
	case wavU8:
		for c, d := range dst {
			d = d[at : at+k]
			for i := range d {
				d[i] = float64(int(b[i*chans+c])-128) / (1 << 7)
			}
		}
	case wavS16:
		for c, d := range dst {
			d = d[at : at+k]
			for i := range d {
				d[i] = float64(int16(le.Uint16(b[2*(i*chans+c):]))) / (1 << 15)
			}
		}
	case wavS24:
		for c, d := range dst {
			d = d[at : at+k]
			for i := range d {
				p := b[3*(i*chans+c):]
				v := int32(uint32(p[0])<<8|uint32(p[1])<<16|uint32(p[2])<<24) >> 8
				d[i] = float64(v) / (1 << 23)
			}
		}
	case wavS32:
		for c, d := range dst {
			d = d[at : at+k]
			for i := range d {
				d[i] = float64(int32(le.Uint32(b[4*(i*chans+c):]))) / (1 << 31)
			}
		}
	case wavF32:
		for c, d := range dst {
			d = d[at : at+k]
			for i := range d {
				v := float64(math.Float32frombits(le.Uint32(b[4*(i*chans+c):])))
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return w.nonFinite(v, i, c)
				}
				d[i] = v
			}
		}
	case wavF64:
		for c, d := range dst {
			d = d[at : at+k]
			for i := range d {
				v := math.Float64frombits(le.Uint64(b[8*(i*chans+c):]))
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return w.nonFinite(v, i, c)
				}
				d[i] = v
			}
		}
	default:
		panic("audio: WAVReader used without a parsed header")
	}
	return nil
}

// nonFinite reports sample i (of the block being decoded) of channel c.
func (w *WAVReader) nonFinite(v float64, i, c int) error {
	// remaining is decremented after each block: i counts within this one.
	frame := w.frames - w.remaining + int64(i)
	return w.errorf(ErrMalformedFile, "sample %d of channel %d is %v (float files must hold finite samples)", frame, c, v)
}

// Close closes the underlying reader if it is an io.Closer. Read after Close
// returns an error. Close is idempotent: later calls return nil.
func (w *WAVReader) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if c, ok := w.r.(io.Closer); ok {
		if err := c.Close(); err != nil {
			return w.ioError("close", err)
		}
	}
	return nil
}

// describeMagic says what the first bytes of a file look like, for the
// "not a WAV or FLAC file" errors: e.g. `it starts with "OggS" (an Ogg file)`.
func describeMagic(head []byte, size int64) string {
	if size == 0 || len(head) == 0 {
		return "the file is empty (0 bytes)"
	}
	h := head[:min(len(head), 4)]
	s := fmt.Sprintf("it starts with %q (% x)", h, h)
	if len(head) < 4 {
		s = fmt.Sprintf("it is only %d bytes long (%q)", len(head), head)
	}
	kind := ""
	switch {
	case len(head) >= 4 && string(head[:4]) == "RF64":
		kind = "an RF64 file (WAV over 4 GiB), which sepd does not read"
	case len(head) >= 4 && string(head[:4]) == "RIFX":
		kind = "a big-endian RIFX file, which sepd does not read"
	case len(head) >= 4 && string(head[:4]) == "OggS":
		kind = "an Ogg file"
	case len(head) >= 4 && string(head[:4]) == "FORM":
		kind = "an IFF file such as AIFF"
	case len(head) >= 3 && string(head[:3]) == "ID3":
		kind = "an ID3 tag, as in MP3 files"
	case len(head) >= 2 && head[0] == 0xFF && head[1]&0xE0 == 0xE0:
		kind = "an MPEG audio frame sync, as in MP3 files"
	}
	if kind != "" {
		s += ": " + kind
	}
	return s
}
