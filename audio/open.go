package audio

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// Open opens the audio file at path for reading and returns a WAVReader or a
// FLACReader, chosen by the file's first bytes ("RIFF"...."WAVE", or "fLaC"
// possibly after an ID3v2 tag), never by its extension. Close the Reader when
// done.
//
// Every error names path. Content that is neither WAV nor FLAC is an error
// wrapping ErrNotAudioFile that says what the file starts with. Open allocates
// the reader and its buffers.
func Open(path string) (Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audio: %w", err)
	}
	r, err := openFile(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// openFile sniffs f and builds the reader that owns it.
func openFile(f *os.File, path string) (Reader, error) {
	var head [12]byte
	n, err := f.ReadAt(head[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("audio: %s: read: %w", path, err)
	}
	h := head[:n]
	switch {
	case n >= 4 && string(h[:4]) == "RIFF":
		// NewWAVReader reports a RIFF file of another form type, or a short
		// one, with the detail.
		return NewWAVReader(f, path)
	case n >= 4 && string(h[:4]) == "fLaC":
		return NewFLACReader(f, path)
	case n >= 10 && string(h[:3]) == "ID3":
		// An ID3v2 tag (10-byte header, then a 28-bit "syncsafe" size)
		// before a FLAC stream, as some taggers write; mewkiz/flac skips it.
		size := int64(h[6]&0x7F)<<21 | int64(h[7]&0x7F)<<14 | int64(h[8]&0x7F)<<7 | int64(h[9]&0x7F)
		var magic [4]byte
		if m, _ := f.ReadAt(magic[:], 10+size); m == 4 && string(magic[:]) == "fLaC" {
			return NewFLACReader(f, path)
		}
	}
	var size int64 = int64(n)
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	return nil, fmt.Errorf("audio: %s: %w: %s, expected \"RIFF\"+\"WAVE\" (WAV) or \"fLaC\" (FLAC)", path, ErrNotAudioFile, describeMagic(h, size))
}

// ReadAll decodes the whole audio file at path (WAV or FLAC, as Open) into one
// slice per channel. It is a convenience for tests, evaluation and learning,
// not for the streaming path: it allocates the whole signal. Errors are Open's
// and Read's.
func ReadAll(path string) ([][]float64, Format, error) {
	r, err := Open(path)
	if err != nil {
		return nil, Format{}, err
	}
	defer r.Close()
	fm := r.Format()
	total := r.Frames()
	hint := int64(1 << 16)
	if total >= 0 {
		hint = total
		if _, ok := r.(*WAVReader); !ok {
			// Only a WAV header's length is checked against the file's.
			hint = min(hint, 1<<22)
		}
	}
	out := make([][]float64, fm.Channels)
	for c := range out {
		out[c] = make([]float64, 0, hint)
	}
	dst := make([][]float64, fm.Channels)
	for {
		if total >= 0 && int64(len(out[0])) == total {
			// The readers never deliver more than a declared length.
			return out, fm, nil
		}
		room := fileRoom(out)
		if room == 0 {
			for c := range out {
				out[c] = slices.Grow(out[c], max(len(out[c]), 1<<16))
			}
			room = fileRoom(out)
		}
		for c := range out {
			dst[c] = out[c][len(out[c]) : len(out[c])+room]
		}
		n, err := r.Read(dst)
		for c := range out {
			out[c] = out[c][:len(out[c])+n]
		}
		if errors.Is(err, io.EOF) {
			return out, fm, nil
		}
		if err != nil {
			return nil, Format{}, err
		}
	}
}

// fileRoom returns the spare capacity common to all of out.
func fileRoom(out [][]float64) int {
	room := cap(out[0]) - len(out[0])
	for _, o := range out[1:] {
		room = min(room, cap(o)-len(o))
	}
	return room
}
