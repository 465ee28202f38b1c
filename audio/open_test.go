package audio

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fileFixture returns the path of a committed fixture (see
// testdata/files/make.sh for how each was made).
func fileFixture(name string) string { return filepath.Join("testdata", "files", name) }

// fileSoxReference reads NAME.f32, sox's decoding of fixture NAME as raw
// interleaved little-endian float32 (made by make.sh), deinterleaved.
func fileSoxReference(t *testing.T, fixture string, channels int) [][]float64 {
	t.Helper()
	ref := strings.TrimSuffix(fixture, filepath.Ext(fixture)) + ".f32"
	b, err := os.ReadFile(fileFixture(ref))
	if err != nil {
		t.Fatal(err)
	}
	if len(b)%(4*channels) != 0 {
		t.Fatalf("%s: %d bytes is not a whole number of %d-channel float32 frames", ref, len(b), channels)
	}
	n := len(b) / 4 / channels
	out := make([][]float64, channels)
	for c := range out {
		out[c] = make([]float64, n)
		for i := range n {
			out[c][i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*(i*channels+c):])))
		}
	}
	return out
}

// fileGoodFixtures lists every decodable fixture with what its header says.
// Durations are 0.02 s (make.sh), so frames = round(0.02 * rate) as sox
// rounds (11025 Hz: 220.5 -> 221).
var fileGoodFixtures = []struct {
	name   string
	format Format
	frames int64
	desc   string // String() of the reader
}{
	{"pcm8_1ch_8000.wav", Format{8000, 1}, 160, "WAV PCM 8-bit, 1 ch, 8000 Hz, 160 frames"},
	{"pcm16_2ch_44100.wav", Format{44100, 2}, 882, "WAV PCM 16-bit, 2 ch, 44100 Hz, 882 frames"},
	{"pcm16_3ch_11025.wav", Format{11025, 3}, 221, "WAV PCM 16-bit, 3 ch, 11025 Hz, 221 frames"},
	{"pcm24_2ch_48000.wav", Format{48000, 2}, 960, "WAV PCM 24-bit, 2 ch, 48000 Hz, 960 frames"},
	{"pcm32_1ch_16000.wav", Format{16000, 1}, 320, "WAV PCM 32-bit, 1 ch, 16000 Hz, 320 frames"},
	{"ext_pcm24_6ch_96000.wav", Format{96000, 6}, 1920, "WAV PCM 24-bit (extensible), 6 ch, 96000 Hz, 1920 frames"},
	{"ext_pcm32_1ch_16000.wav", Format{16000, 1}, 320, "WAV PCM 32-bit (extensible), 1 ch, 16000 Hz, 320 frames"},
	{"ext_pcm20in24_2ch_48000.wav", Format{48000, 2}, 960, "WAV PCM 20-bit in 24-bit (extensible), 2 ch, 48000 Hz, 960 frames"},
	{"ext_pcm12in16_3ch_11025.wav", Format{11025, 3}, 221, "WAV PCM 12-bit in 16-bit (extensible), 3 ch, 11025 Hz, 221 frames"},
	{"ext_float32_6ch_48000.wav", Format{48000, 6}, 960, "WAV float 32-bit (extensible), 6 ch, 48000 Hz, 960 frames"},
	{"float32_2ch_44100.wav", Format{44100, 2}, 882, "WAV float 32-bit, 2 ch, 44100 Hz, 882 frames"},
	{"float32_6ch_48000.wav", Format{48000, 6}, 960, "WAV float 32-bit, 6 ch, 48000 Hz, 960 frames"},
	{"float64_1ch_22050.wav", Format{22050, 1}, 441, "WAV float 64-bit, 1 ch, 22050 Hz, 441 frames"},
	{"chunks_pcm16_2ch_44100.wav", Format{44100, 2}, 882, "WAV PCM 16-bit, 2 ch, 44100 Hz, 882 frames"},
	{"flac8_1ch_8000.flac", Format{8000, 1}, 160, "FLAC 8-bit, 1 ch, 8000 Hz, 160 frames"},
	{"flac12_3ch_11025.flac", Format{11025, 3}, 221, "FLAC 12-bit, 3 ch, 11025 Hz, 221 frames"},
	{"flac16_2ch_44100.flac", Format{44100, 2}, 882, "FLAC 16-bit, 2 ch, 44100 Hz, 882 frames"},
	{"flac20_2ch_48000.flac", Format{48000, 2}, 960, "FLAC 20-bit, 2 ch, 48000 Hz, 960 frames"},
	{"flac24_6ch_96000.flac", Format{96000, 6}, 1920, "FLAC 24-bit, 6 ch, 96000 Hz, 1920 frames"},
	{"id3_flac16_2ch_44100.flac", Format{44100, 2}, 882, "FLAC 16-bit, 2 ch, 44100 Hz, 882 frames"},
}

// TestOpenMatchesSox decodes every good fixture through Open with several
// read sizes and compares with sox's decoding. The tolerance 1e-6 covers
// sox's float32 output (24-bit mantissa: 32-bit PCM loses its low bits, and a
// 64-bit float file goes through sox's 32-bit integers); up to 24 bits the
// reference is exact and so must we be.
func TestOpenMatchesSox(t *testing.T) {
	for _, tc := range fileGoodFixtures {
		t.Run(tc.name, func(t *testing.T) {
			want := fileSoxReference(t, tc.name, tc.format.Channels)
			if got := int64(len(want[0])); got != tc.frames {
				t.Fatalf("reference has %d frames, table says %d", got, tc.frames)
			}
			exact := !strings.Contains(tc.name, "32") && !strings.Contains(tc.name, "64")
			// 1: frame by frame; 7: not a divisor of any block size;
			// 4096: more than the file, a single call.
			for _, chunk := range []int{1, 7, 4096} {
				r, err := Open(fileFixture(tc.name))
				if err != nil {
					t.Fatal(err)
				}
				if got := r.Format(); got != tc.format {
					t.Errorf("Format() = %+v, want %+v", got, tc.format)
				}
				if got := r.Frames(); got != tc.frames {
					t.Errorf("Frames() = %d, want %d", got, tc.frames)
				}
				if got := r.(interface{ String() string }).String(); got != tc.desc {
					t.Errorf("String() = %q, want %q", got, tc.desc)
				}
				got := fileReadChunks(t, r, chunk)
				if err := r.Close(); err != nil {
					t.Fatal(err)
				}
				fileCompare(t, got, want, exact)
			}
		})
	}
}

// fileReadChunks reads r to io.EOF chunk frames at a time, checking the
// Reader contract on the way: full reads until the last, then 0, io.EOF twice.
func fileReadChunks(t *testing.T, r Reader, chunk int) [][]float64 {
	t.Helper()
	ch := r.Format().Channels
	out := make([][]float64, ch)
	dst := make([][]float64, ch)
	for c := range dst {
		dst[c] = make([]float64, chunk)
	}
	short := false
	for {
		n, err := r.Read(dst)
		if errors.Is(err, io.EOF) {
			if n != 0 {
				t.Fatalf("Read returned %d frames with io.EOF", n)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 || n > chunk {
			t.Fatalf("Read returned n = %d for %d requested, without error", n, chunk)
		}
		if short {
			t.Fatalf("Read returned frames after a short read")
		}
		short = n < chunk
		for c := range out {
			out[c] = append(out[c], dst[c][:n]...)
		}
	}
	if n, err := r.Read(dst); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("Read after io.EOF = %d, %v; want 0, io.EOF", n, err)
	}
	if n, err := r.Read(make([][]float64, ch)); n != 0 || (err != nil && !errors.Is(err, io.EOF)) {
		t.Fatalf("Read of 0 frames = %d, %v", n, err)
	}
	if f := r.Frames(); f >= 0 && int64(len(out[0])) != f {
		t.Fatalf("read %d frames, Frames() = %d", len(out[0]), f)
	}
	return out
}

// fileCompare checks got against want, exactly or to 1e-6.
func fileCompare(t *testing.T, got, want [][]float64, exact bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d channels, want %d", len(got), len(want))
	}
	tol := 1e-6
	if exact {
		tol = 0
	}
	for c := range want {
		if len(got[c]) != len(want[c]) {
			t.Fatalf("channel %d: %d frames, want %d", c, len(got[c]), len(want[c]))
		}
		for i := range want[c] {
			if d := math.Abs(got[c][i] - want[c][i]); d > tol {
				t.Fatalf("channel %d frame %d: %v, sox says %v (diff %g > %g)", c, i, got[c][i], want[c][i], d, tol)
			}
		}
	}
}

// TestOpenBadFiles opens one committed fixture per error (made by make.sh)
// and checks the full message and the sentinel it wraps. Files whose header
// is fine but whose samples are not (NaN) fail in Read, via ReadAll.
func TestOpenBadFiles(t *testing.T) {
	p := fileFixture
	for _, tc := range []struct {
		name string
		kind error
		msg  string
	}{
		{"bad_empty.wav", ErrNotAudioFile,
			`audio: ` + p("bad_empty.wav") + `: not a WAV or FLAC file: the file is empty (0 bytes), expected "RIFF"+"WAVE" (WAV) or "fLaC" (FLAC)`},
		{"bad_not_audio.wav", ErrNotAudioFile,
			`audio: ` + p("bad_not_audio.wav") + `: not a WAV or FLAC file: it starts with "this" (74 68 69 73), expected "RIFF"+"WAVE" (WAV) or "fLaC" (FLAC)`},
		{"bad_ogg.ogg", ErrNotAudioFile,
			`audio: ` + p("bad_ogg.ogg") + `: not a WAV or FLAC file: it starts with "OggS" (4f 67 67 53): an Ogg file, expected "RIFF"+"WAVE" (WAV) or "fLaC" (FLAC)`},
		{"bad_riff_not_wave.wav", ErrNotAudioFile,
			`audio: ` + p("bad_riff_not_wave.wav") + `: not a WAV or FLAC file: RIFF form type is "AVI ", expected "WAVE"`},
		{"bad_short_riff.wav", ErrTruncatedFile,
			`audio: ` + p("bad_short_riff.wav") + `: truncated file: the file is 8 bytes long, a RIFF/WAVE header needs 12`},
		{"bad_truncated_header.wav", ErrTruncatedFile,
			`audio: ` + p("bad_truncated_header.wav") + `: truncated file: the "fmt " chunk at offset 12 claims 16 bytes but only 10 bytes follow its header (the file is 30 bytes long)`},
		{"bad_truncated_chunk_header.wav", ErrTruncatedFile,
			`audio: ` + p("bad_truncated_chunk_header.wav") + `: truncated file: the file ends inside a chunk header at offset 36 (4 of 8 bytes)`},
		{"bad_lying_data_size.wav", ErrTruncatedFile,
			`audio: ` + p("bad_lying_data_size.wav") + `: truncated file: the "data" chunk at offset 36 claims 88200 bytes but only 1000 bytes follow its header (the file is 1044 bytes long)`},
		{"bad_alaw.wav", ErrUnsupportedEncoding,
			`audio: ` + p("bad_alaw.wav") + `: unsupported encoding: format tag 0x0006 (A-law) with 8 bits per sample (sepd reads PCM in 8, 16, 24 or 32 bits, IEEE float in 32 or 64 bits, and WAVE_FORMAT_EXTENSIBLE with either; PCM depths that are not whole bytes must use WAVE_FORMAT_EXTENSIBLE)`},
		{"bad_pcm12.wav", ErrUnsupportedEncoding,
			`audio: ` + p("bad_pcm12.wav") + `: unsupported encoding: format tag 0x0001 (PCM) with 12 bits per sample (sepd reads PCM in 8, 16, 24 or 32 bits, IEEE float in 32 or 64 bits, and WAVE_FORMAT_EXTENSIBLE with either; PCM depths that are not whole bytes must use WAVE_FORMAT_EXTENSIBLE)`},
		{"bad_float16.wav", ErrUnsupportedEncoding,
			`audio: ` + p("bad_float16.wav") + `: unsupported encoding: format tag 0x0003 (IEEE float) with 16 bits per sample (sepd reads PCM in 8, 16, 24 or 32 bits, IEEE float in 32 or 64 bits, and WAVE_FORMAT_EXTENSIBLE with either; PCM depths that are not whole bytes must use WAVE_FORMAT_EXTENSIBLE)`},
		{"bad_ext_adpcm.wav", ErrUnsupportedEncoding,
			`audio: ` + p("bad_ext_adpcm.wav") + `: unsupported encoding: WAVE_FORMAT_EXTENSIBLE subformat 0x0002 (Microsoft ADPCM) with 16 bits per sample (sepd reads PCM in 8, 16, 24 or 32 bits, IEEE float in 32 or 64 bits, and WAVE_FORMAT_EXTENSIBLE with either; PCM depths that are not whole bytes must use WAVE_FORMAT_EXTENSIBLE)`},
		{"bad_ext_unknown_guid.wav", ErrUnsupportedEncoding,
			`audio: ` + p("bad_ext_unknown_guid.wav") + `: unsupported encoding: WAVE_FORMAT_EXTENSIBLE with subformat {03020100-0504-0706-0809-0A0B0C0D0E0F} (sepd reads the PCM and IEEE float subformats)`},
		{"bad_zero_channels.wav", ErrMalformedFile,
			`audio: ` + p("bad_zero_channels.wav") + `: malformed file: the "fmt " chunk says 0 channels`},
		{"bad_zero_rate.wav", ErrMalformedFile,
			`audio: ` + p("bad_zero_rate.wav") + `: malformed file: the "fmt " chunk says a sample rate of 0 Hz`},
		{"bad_block_align.wav", ErrMalformedFile,
			`audio: ` + p("bad_block_align.wav") + `: malformed file: block align is 3 bytes, expected 4 (2 channels x 2 bytes)`},
		{"bad_no_fmt.wav", ErrMalformedFile,
			`audio: ` + p("bad_no_fmt.wav") + `: malformed file: no "fmt " chunk (chunks found: "LIST", "data")`},
		{"bad_no_data.wav", ErrMalformedFile,
			`audio: ` + p("bad_no_data.wav") + `: malformed file: no "data" chunk (chunks found: "fmt ", "LIST")`},
		{"bad_no_samples.wav", ErrNoSamples,
			`audio: ` + p("bad_no_samples.wav") + `: no samples: the "data" chunk at offset 36 is empty`},
		{"bad_less_than_a_frame.wav", ErrNoSamples,
			`audio: ` + p("bad_less_than_a_frame.wav") + `: no samples: the "data" chunk at offset 36 holds 3 bytes, less than one 4-byte frame`},
		{"bad_nan_float32.wav", ErrMalformedFile,
			`audio: ` + p("bad_nan_float32.wav") + `: malformed file: sample 3 of channel 1 is NaN (float files must hold finite samples)`},
		{"bad_truncated_frames.flac", ErrTruncatedFile,
			`audio: ` + p("bad_truncated_frames.flac") + `: truncated file: the file ends inside the FLAC frame at sample 0 (unexpected EOF)`},
		{"bad_truncated_metadata.flac", ErrTruncatedFile,
			`audio: ` + p("bad_truncated_metadata.flac") + `: truncated file: the file ends inside the FLAC header (EOF)`},
		{"does_not_exist.wav", os.ErrNotExist,
			`audio: open ` + p("does_not_exist.wav") + `: no such file or directory`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ReadAll(fileFixture(tc.name))
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tc.msg {
				t.Errorf("error:\n got %s\nwant %s", err, tc.msg)
			}
			if !errors.Is(err, tc.kind) {
				t.Errorf("error does not wrap %v", tc.kind)
			}
		})
	}
}

// TestReadAllMatchesRead checks the convenience against streaming reads, for
// a WAV (known length) and a FLAC file.
func TestReadAllMatchesRead(t *testing.T) {
	for _, name := range []string{"pcm24_2ch_48000.wav", "flac24_6ch_96000.flac"} {
		got, f, err := ReadAll(fileFixture(name))
		if err != nil {
			t.Fatal(err)
		}
		r, err := Open(fileFixture(name))
		if err != nil {
			t.Fatal(err)
		}
		if f != r.Format() {
			t.Errorf("%s: ReadAll format %+v, Open %+v", name, f, r.Format())
		}
		want := fileReadChunks(t, r, 100)
		r.Close()
		fileCompare(t, got, want, true)
	}
}

// TestFileReaderClose checks Close is idempotent and Read after it fails.
func TestFileReaderClose(t *testing.T) {
	for _, name := range []string{"pcm16_2ch_44100.wav", "flac16_2ch_44100.flac"} {
		r, err := Open(fileFixture(name))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Errorf("%s: second Close: %v", name, err)
		}
		dst := [][]float64{make([]float64, 4), make([]float64, 4)}
		if _, err := r.Read(dst); !errors.Is(err, os.ErrClosed) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: Read after Close: %v, want os.ErrClosed naming the file", name, err)
		}
	}
}

// TestFileReadPanicsOnBadDst checks the programmer-misuse panics.
func TestFileReadPanicsOnBadDst(t *testing.T) {
	r, err := Open(fileFixture("pcm16_2ch_44100.wav"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, dst := range [][][]float64{
		{make([]float64, 4)},                     // 1 slice for 2 channels
		{make([]float64, 4), make([]float64, 3)}, // ragged
	} {
		func() {
			defer func() {
				if p := recover(); p == nil || !strings.HasPrefix(p.(string), "audio: ") {
					t.Errorf("panic = %v, want an \"audio: \" message", p)
				}
			}()
			r.Read(dst)
		}()
	}
}

// TestWAVReaderAllocs checks Read allocates nothing in steady state, for
// every WAV sample kind.
func TestWAVReaderAllocs(t *testing.T) {
	for _, name := range []string{"pcm8_1ch_8000.wav", "pcm16_2ch_44100.wav", "pcm24_2ch_48000.wav",
		"pcm32_1ch_16000.wav", "float32_2ch_44100.wav", "float64_1ch_22050.wav"} {
		r, err := Open(fileFixture(name))
		if err != nil {
			t.Fatal(err)
		}
		dst := make([][]float64, r.Format().Channels)
		for c := range dst {
			dst[c] = make([]float64, 1) // 100 runs + 1 warm-up < 160 frames in the smallest
		}
		allocs := testing.AllocsPerRun(100, func() {
			if n, err := r.Read(dst); n != 1 || err != nil {
				t.Fatalf("%s: Read = %d, %v", name, n, err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: Read allocates %v times per call", name, allocs)
		}
		r.Close()
	}
}
