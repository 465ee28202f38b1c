package audio

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzWAV feeds arbitrary bytes to the WAV parser and decoder. Seeds: every
// committed WAV fixture, good and bad (testdata/files, see make.sh). It checks
// that nothing panics; that every error names the file; that an accepted file
// decodes exactly Frames() frames; and that the samples are finite, and within
// [-1, 1) for integer encodings.
func FuzzWAV(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join("testdata", "files", "*.wav"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seed fixtures: %v", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz.wav"
		r, err := NewWAVReader(bytes.NewReader(data), name)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "audio: "+name+": ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		defer r.Close()
		fm := r.Format()
		if fm.Channels < 1 || fm.SampleRateHz < 1 || r.Frames() < 1 {
			t.Fatalf("accepted %+v with %d frames", fm, r.Frames())
		}
		dst := make([][]float64, fm.Channels)
		for c := range dst {
			dst[c] = make([]float64, 7) // 7: not a divisor of the buffer size
		}
		var total int64
		for {
			n, err := r.Read(dst)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				if !r.isFloat() || !errors.Is(err, ErrMalformedFile) || !strings.HasPrefix(err.Error(), "audio: "+name+": ") {
					t.Fatalf("Read: %v", err)
				}
				return // a NaN or an infinity in a float file
			}
			for c := range dst {
				for _, v := range dst[c][:n] {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("sample %v", v)
					}
					if !r.isFloat() && (v < -1 || v >= 1) {
						t.Fatalf("integer sample %v outside [-1, 1)", v)
					}
				}
			}
			total += int64(n)
		}
		if total != r.Frames() {
			t.Fatalf("decoded %d frames, Frames() = %d", total, r.Frames())
		}
	})
}
