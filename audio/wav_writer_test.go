package audio

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// wavTestSignal returns channels x n samples: a different sine per channel
// plus uniform noise, mostly in [-1, 1), with a few values out of range (to
// exercise PCM16 clipping and Float32's absence of it) at fixed places.
func wavTestSignal(channels, n int) [][]float64 {
	rng := rand.New(rand.NewPCG(1, uint64(channels)))
	s := make([][]float64, channels)
	for c := range s {
		s[c] = make([]float64, n)
		for i := range s[c] {
			s[c][i] = 0.5*math.Sin(2*math.Pi*float64(i)*float64(c+1)/50) + 0.49*(2*rng.Float64()-1)
		}
		if n > 3 {
			s[c][1], s[c][2], s[c][3] = 1.5, -1, -2.25
		}
	}
	return s
}

// wavPCM16Reference is the slow, obvious PCM16 conversion: clip to [-1, 1],
// scale by 32768, round half away from zero, keep 32768 at 32767.
func wavPCM16Reference(v float64) float64 {
	if v > 1 {
		v = 1
	}
	if v < -1 {
		v = -1
	}
	x := math.Round(v * 32768)
	if x > 32767 {
		x = 32767
	}
	return x / 32768
}

// wavDirNames lists the names in dir.
func wavDirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// wavTempName matches the writer's temporary files for final name out.wav.
var wavTempName = regexp.MustCompile(`^\.out\.wav\.tmp-[0-9a-f]{8}$`)

// TestWAVWriterRoundTrip writes every encoding, for 1, 2 and 6 channels at
// several rates, in Writes of uneven sizes, and reads the file back.
func TestWAVWriterRoundTrip(t *testing.T) {
	for _, enc := range []Encoding{Float32, PCM16} {
		for _, ch := range []int{1, 2, 6} {
			for _, rate := range []int{8000, 44100, 48000, 96000} {
				t.Run(fmt.Sprintf("%v/%dch/%d", enc, ch, rate), func(t *testing.T) {
					dir := t.TempDir()
					path := filepath.Join(dir, "out.wav")
					n := rate / 50 // 20 ms
					sig := wavTestSignal(ch, n)
					w, err := CreateWAV(path, Format{rate, ch}, enc)
					if err != nil {
						t.Fatal(err)
					}
					defer w.Abort()
					// Uneven pieces: empty, 1, 17 frames, then the rest.
					at := 0
					for _, size := range []int{0, 1, 17, n - 18} {
						piece := make([][]float64, ch)
						for c := range piece {
							piece[c] = sig[c][at : at+size]
						}
						if err := w.Write(piece); err != nil {
							t.Fatal(err)
						}
						at += size
					}
					if got := w.Frames(); got != int64(n) {
						t.Errorf("Frames() = %d, want %d", got, n)
					}
					if err := w.Close(); err != nil {
						t.Fatal(err)
					}
					if names := wavDirNames(t, dir); len(names) != 1 || names[0] != "out.wav" {
						t.Errorf("folder holds %q, want only out.wav", names)
					}

					r, err := Open(path)
					if err != nil {
						t.Fatal(err)
					}
					wr := r.(*WAVReader)
					if got, want := wr.extensible, ch > 2; got != want {
						t.Errorf("extensible header = %v, want %v", got, want)
					}
					got := fileReadChunks(t, r, 100)
					r.Close()
					want := make([][]float64, ch)
					for c := range want {
						want[c] = make([]float64, n)
						for i, v := range sig[c] {
							if enc == Float32 {
								want[c][i] = float64(float32(v))
							} else {
								want[c][i] = wavPCM16Reference(v)
							}
						}
					}
					fileCompare(t, got, want, true)

					// The RIFF size must be the file size - 8 (the
					// reader does not check it).
					b, err := os.ReadFile(path)
					if err != nil {
						t.Fatal(err)
					}
					if riff := binary.LittleEndian.Uint32(b[4:]); int(riff) != len(b)-8 {
						t.Errorf("RIFF size %d, file is %d bytes", riff, len(b))
					}
				})
			}
		}
	}
}

// TestWAVWriterSoxReads has sox decode our files, to catch a header that only
// our own reader accepts. It is skipped where sox is not installed.
func TestWAVWriterSoxReads(t *testing.T) {
	sox, err := exec.LookPath("sox")
	if err != nil {
		t.Skip("sox not installed")
	}
	for _, enc := range []Encoding{Float32, PCM16} {
		for _, ch := range []int{1, 2, 6} {
			path := filepath.Join(t.TempDir(), "out.wav")
			sig := wavTestSignal(ch, 300)
			w, err := CreateWAV(path, Format{16000, ch}, enc)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(sig); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd := exec.Command(sox, "-V2", path, "-t", "raw", "-e", "floating-point", "-b", "32", "-L", "-")
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%v %d ch: sox: %v: %s", enc, ch, err, stderr.String())
			}
			for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
				// Expected warnings: out-of-range floats (1.5, -2.25 in
				// wavTestSignal) are clipped by sox's 32-bit integers; and
				// sox 14.4.2 says "wave header missing extended part of fmt
				// chunk" for every float WAVE_FORMAT_EXTENSIBLE header (also
				// for ext_float32_6ch_48000.wav, which make.sh builds from
				// sox's own output) and decodes it correctly all the same.
				if line == "" || strings.Contains(line, "clipped") || strings.Contains(line, "missing extended part of fmt chunk") {
					continue
				}
				t.Errorf("%v %d ch: sox warns: %s", enc, ch, line)
			}
			if len(out) != 4*ch*300 {
				t.Fatalf("%v %d ch: sox decoded %d bytes, want %d", enc, ch, len(out), 4*ch*300)
			}
			for i := range 300 {
				for c := range ch {
					got := float64(math.Float32frombits(binary.LittleEndian.Uint32(out[4*(i*ch+c):])))
					want := wavPCM16Reference(sig[c][i]) // sox clips floats to [-1, 1) too
					if enc == Float32 {
						want = max(-1, min(float64(float32(sig[c][i])), 1))
					}
					// 1e-6: sox's float32 output of its 32-bit integers.
					if math.Abs(got-want) > 1e-6 {
						t.Fatalf("%v %d ch: frame %d channel %d: sox reads %v, want %v", enc, ch, i, c, got, want)
					}
				}
			}
		}
	}
}

// TestWAVWriterAbort checks that an aborted or unclosed writer leaves nothing
// under the final name, and that an older file there survives an Abort.
func TestWAVWriterAbort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.wav")
	sig := wavTestSignal(2, 100)

	w, err := CreateWAV(path, Format{8000, 2}, Float32)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(sig); err != nil {
		t.Fatal(err)
	}
	// Not closed: only the hidden temporary file exists.
	names := wavDirNames(t, dir)
	if len(names) != 1 || !wavTempName.MatchString(names[0]) {
		t.Fatalf("unclosed writer: folder holds %q, want one .out.wav.tmp-XXXXXXXX", names)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if names := wavDirNames(t, dir); len(names) != 0 {
		t.Fatalf("after Abort the folder holds %q", names)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("second Abort: %v", err)
	}
	if err := w.Write(sig); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Abort = %v, want os.ErrClosed", err)
	}
	if err := w.Close(); !errors.Is(err, os.ErrClosed) || !strings.Contains(err.Error(), path) {
		t.Errorf("Close after Abort = %v, want os.ErrClosed naming the path", err)
	}

	// An existing file is left alone by Abort and replaced by Close.
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err = CreateWAV(path, Format{8000, 2}, PCM16)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(sig)
	w.Abort()
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Fatalf("Abort changed the existing file to %q", b)
	}
	w, err = CreateWAV(path, Format{8000, 2}, PCM16)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(sig)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort after Close: %v", err)
	}
	if _, f, err := ReadAll(path); err != nil || f != (Format{8000, 2}) {
		t.Fatalf("after Close and Abort: %v, %v", f, err)
	}
	if names := wavDirNames(t, dir); len(names) != 1 {
		t.Fatalf("folder holds %q, want only out.wav", names)
	}
}

// TestWAVWriterKilled kills (SIGKILL where there are signals) a process in
// the middle of writing and checks that nothing appears under the final name.
// The writing process is this test binary running TestWAVWriterKilledHelper.
func TestWAVWriterKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "out.wav")
	cmd := exec.Command(os.Args[0], "-test.run=^TestWAVWriterKilledHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SEPD_AUDIO_KILLED_WRITER="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "writing\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper said %q, %v", line, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after the kill, %s: %v; want it absent", path, err)
	}
	names := wavDirNames(t, dir)
	if len(names) != 1 || !wavTempName.MatchString(names[0]) {
		t.Fatalf("after the kill the folder holds %q, want only the temporary file", names)
	}
}

// TestWAVWriterKilledHelper is the process TestWAVWriterKilled kills: it
// writes forever once it has said so.
func TestWAVWriterKilledHelper(t *testing.T) {
	path := os.Getenv("SEPD_AUDIO_KILLED_WRITER")
	if path == "" {
		t.Skip("run by TestWAVWriterKilled")
	}
	w, err := CreateWAV(path, Format{48000, 2}, Float32)
	if err != nil {
		t.Fatal(err)
	}
	sig := wavTestSignal(2, 480)
	for i := 0; ; i++ {
		if err := w.Write(sig); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			fmt.Println("writing")
		}
		if w.Frames() > 48000*60 {
			// Keep the disk use bounded if nobody kills us.
			w.Abort()
			t.Fatal("not killed within a minute of audio")
		}
	}
}

// wavFullDisk swaps w's temporary file descriptor for /dev/full, where every
// write fails with ENOSPC, as on a full disk. The temporary file's name stays
// in place for Close/Abort to remove. It skips where /dev/full is missing.
func wavFullDisk(t *testing.T, w *WAVWriter) {
	t.Helper()
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	w.f.File.Close()
	w.f.File = full
}

// TestWAVWriterFullDisk checks that ENOSPC, in Write or in Close, gives an
// error naming the final path, and that nothing is left behind.
func TestWAVWriterFullDisk(t *testing.T) {
	for _, when := range []string{"Write", "Close"} {
		t.Run(when, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.wav")
			w, err := CreateWAV(path, Format{8000, 1}, PCM16)
			if err != nil {
				t.Fatal(err)
			}
			sig := wavTestSignal(1, 100)
			if when == "Close" {
				if err := w.Write(sig); err != nil {
					t.Fatal(err)
				}
			}
			wavFullDisk(t, w)
			if when == "Write" {
				err := w.Write(sig)
				if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), path) {
					t.Fatalf("Write on a full disk = %v, want ENOSPC naming %s", err, path)
				}
				if err2 := w.Write(sig); err2 != err {
					t.Errorf("second Write = %v, want the first error again", err2)
				}
			}
			err = w.Close()
			if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Close = %v, want ENOSPC naming %s", err, path)
			}
			t.Logf("%s error: %v", when, err)
			if names := wavDirNames(t, dir); len(names) != 0 {
				t.Fatalf("after a failed Close the folder holds %q", names)
			}
			if err := w.Abort(); err != nil {
				t.Errorf("Abort after a failed Close: %v", err)
			}
		})
	}
}

// TestWAVWriterSizeLimit checks the 4 GiB RIFF limit, lowered so that the
// test need not write 4 GiB.
func TestWAVWriterSizeLimit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.wav")
	w, err := CreateWAV(path, Format{8000, 1}, PCM16)
	if err != nil {
		t.Fatal(err)
	}
	w.maxDataBytes = 100 // 50 frames
	sig := wavTestSignal(1, 40)
	if err := w.Write(sig); err != nil {
		t.Fatal(err)
	}
	err = w.Write(sig)
	want := "audio: " + path + ": the WAV data would pass the 4 GiB a RIFF header can count, after 40 frames"
	if err == nil || err.Error() != want {
		t.Fatalf("Write past the limit = %v, want %s", err, want)
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close after the limit succeeded")
	}
	if names := wavDirNames(t, dir); len(names) != 0 {
		t.Fatalf("folder holds %q", names)
	}
}

// TestWAVWriterNonFinite checks that a NaN is refused without harming the
// file.
func TestWAVWriterNonFinite(t *testing.T) {
	for _, enc := range []Encoding{Float32, PCM16} {
		path := filepath.Join(t.TempDir(), "out.wav")
		w, err := CreateWAV(path, Format{8000, 2}, enc)
		if err != nil {
			t.Fatal(err)
		}
		good := [][]float64{{0.25, 0.5}, {-0.25, -0.5}}
		if err := w.Write(good); err != nil {
			t.Fatal(err)
		}
		bad := [][]float64{{0.1, 0.1, 0.1}, {0.1, 0.1, math.Inf(-1)}}
		err = w.Write(bad)
		want := "audio: " + path + ": channel 1 is -Inf at frame 4 (index 2 of this Write); nothing of this Write was written"
		if err == nil || err.Error() != want {
			t.Fatalf("%v: Write(-Inf) = %v, want %s", enc, err, want)
		}
		if err := w.Write(good); err != nil {
			t.Fatalf("%v: Write after a refused one: %v", enc, err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		got, _, err := ReadAll(path)
		if err != nil {
			t.Fatal(err)
		}
		fileCompare(t, got, [][]float64{{0.25, 0.5, 0.25, 0.5}, {-0.25, -0.5, -0.25, -0.5}}, true)
	}
}

// TestCreateWAVErrors checks the argument errors name the path.
func TestCreateWAVErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.wav")
	for _, tc := range []struct {
		f    Format
		enc  Encoding
		path string
		want string
	}{
		{Format{8000, 0}, Float32, p, "audio: " + p + ": cannot write 0 channels in float32 WAV (1 to 16383)"},
		{Format{8000, 16384}, Float32, p, "audio: " + p + ": cannot write 16384 channels in float32 WAV (1 to 16383)"},
		{Format{8000, 32768}, PCM16, p, "audio: " + p + ": cannot write 32768 channels in pcm16 WAV (1 to 32767)"},
		{Format{0, 1}, PCM16, p, "audio: " + p + ": cannot write a WAV at 0 Hz"},
		{Format{8000, 1}, Encoding(7), p, "audio: " + p + ": unknown encoding Encoding(7)"},
		{Format{8000, 1}, PCM16, filepath.Join(dir, "missing", "out.wav"), "audio: " + filepath.Join(dir, "missing", "out.wav") + ": open " + filepath.Join(dir, "missing") + "/.out.wav.tmp-"},
	} {
		w, err := CreateWAV(tc.path, tc.f, tc.enc)
		if err == nil {
			w.Abort()
			t.Errorf("CreateWAV(%+v, %v) succeeded", tc.f, tc.enc)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("CreateWAV(%+v, %v):\n got %v\nwant %s", tc.f, tc.enc, err, tc.want)
		}
	}
	if names := wavDirNames(t, dir); len(names) != 0 {
		t.Errorf("folder holds %q", names)
	}
}

// TestWAVWriterPanics checks the programmer-misuse panics.
func TestWAVWriterPanics(t *testing.T) {
	w, err := CreateWAV(filepath.Join(t.TempDir(), "out.wav"), Format{8000, 2}, Float32)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for _, src := range [][][]float64{
		{make([]float64, 4)},
		{make([]float64, 4), make([]float64, 5)},
	} {
		func() {
			defer func() {
				if p := recover(); p == nil || !strings.HasPrefix(p.(string), "audio: ") {
					t.Errorf("panic = %v, want an \"audio: \" message", p)
				}
			}()
			w.Write(src)
		}()
	}
}

// TestWAVWriterAllocs checks Write allocates nothing after the first call.
func TestWAVWriterAllocs(t *testing.T) {
	for _, enc := range []Encoding{Float32, PCM16} {
		w, err := CreateWAV(filepath.Join(t.TempDir(), "out.wav"), Format{48000, 2}, enc)
		if err != nil {
			t.Fatal(err)
		}
		sig := wavTestSignal(2, 256)
		allocs := testing.AllocsPerRun(100, func() {
			if err := w.Write(sig); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: Write allocates %v times per call", enc, allocs)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPCM16 checks the conversion at its edges; the expected codes follow
// from round(v * 32768) with 32768 kept at 32767.
func TestPCM16(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want int16
	}{
		{0, 0},
		{1, 32767},
		{-1, -32768},
		{2, 32767},
		{-2, -32768},
		{0.5, 16384},
		{0.5 / 32768, 1},         // half a code rounds away from zero
		{-0.5 / 32768, -1},       // likewise
		{0.49 / 32768, 0},        // less than half a code
		{32766.5 / 32768, 32767}, // rounds to 32767
		{math.Nextafter(1, 0), 32767},
	} {
		if got := pcm16(tc.v); got != tc.want {
			t.Errorf("pcm16(%v) = %d, want %d", tc.v, got, tc.want)
		}
	}
}

// TestParseEncoding checks the names round-trip through String.
func TestParseEncoding(t *testing.T) {
	for _, e := range []Encoding{Float32, PCM16} {
		if got, err := ParseEncoding(e.String()); err != nil || got != e {
			t.Errorf("ParseEncoding(%q) = %v, %v", e.String(), got, err)
		}
	}
	if _, err := ParseEncoding("pcm24"); err == nil || err.Error() != `audio: encoding "pcm24": want float32 or pcm16` {
		t.Errorf("ParseEncoding(pcm24) = %v", err)
	}
}
