package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sepd/sepd/audio"
)

// bad is the folder of bad-input fixtures made by testdata/gen/make_bad.py.
const bad = "../../testdata/bad"

func sepd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// TestBadInput: every kind of bad input exits 2 with a message that names the problem
// and the file, and leaves no file in the output folder.
func TestBadInput(t *testing.T) {
	b := func(name string) string { return filepath.Join(bad, name) }
	two := []string{"--bases", "a=" + b("good.npy"), "--bases", "b=" + b("good.npy")}
	cases := []struct {
		name string
		args []string // before -o DIR
		in   string   // input file, "" = none
		want []string // fragments of the message, in any order
	}{
		{"truncated header", two, b("truncated.wav"), []string{"truncated.wav", "truncated"}},
		{"lying header", two, b("lying.wav"), []string{"lying.wav", "320000"}},
		{"unsupported encoding", two, b("alaw.wav"), []string{"alaw.wav", "A-law"}},
		{"empty file", two, b("empty.wav"), []string{"empty.wav", "empty"}},
		{"NaN in bases", []string{"--bases", "a=" + b("nan.npy"), "--bases", "b=" + b("good.npy")}, b("good.wav"), []string{"nan.npy", "NaN"}},
		{"Inf in bases", []string{"--bases", "a=" + b("inf.npy"), "--bases", "b=" + b("good.npy")}, b("good.wav"), []string{"inf.npy", "Inf"}},
		{"negative bases", []string{"--bases", "a=" + b("negative.npy"), "--bases", "b=" + b("good.npy")}, b("good.wav"), []string{"negative.npy", "negative"}},
		{"all-zero column", []string{"--bases", "a=" + b("zerocol.npy"), "--bases", "b=" + b("good.npy")}, b("good.wav"), []string{"zerocol.npy", "zero"}},
		{"shape fits neither orientation", []string{"--bases", "a=" + b("shape.npy"), "--bases", "b=" + b("good.npy")}, b("good.wav"), []string{"shape.npy", "513", "500"}},
		{"same source name twice", []string{"--bases", "a=" + b("good.npy"), "--bases", "a=" + b("good.npy")}, b("good.wav"), []string{`"a"`}},
		{"unknown config key", []string{"-c", b("unknown_key.yaml")}, b("good.wav"), []string{"unknown_key.yaml", ":3:", "hopp"}},
		{"fft_size too small", append([]string{"--fft-size", "8"}, two...), b("good.wav"), []string{"fft_size", "8"}},
		{"hop larger than fft_size", append([]string{"--hop", "2048"}, two...), b("good.wav"), []string{"hop", "2048"}},
		{"missing input", two, b("nonexistent.wav"), []string{"nonexistent.wav"}},
		{"missing bases", []string{"--bases", "a=" + b("nonexistent.npy"), "--bases", "b=" + b("good.npy")}, b("good.wav"), []string{"nonexistent.npy"}},
		{"unknown flag", append([]string{"--fft", "8"}, two...), b("good.wav"), []string{"--fft"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			args := append([]string{"separate", "-q"}, tc.args...)
			args = append(args, "-o", out)
			if tc.in != "" {
				args = append(args, tc.in)
			}
			code, _, stderr := sepd(t, args...)
			if code != 2 {
				t.Errorf("exit status %d, want 2; stderr:\n%s", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("message does not contain %q:\n%s", w, stderr)
				}
			}
			assertNoFiles(t, out)
		})
	}
}

// TestOutputIsInput: an output path equal to the input is refused and the input is
// left untouched.
func TestOutputIsInput(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(bad, "good.wav"))
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "a.wav")
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := sepd(t, "separate", "-q", "--bases", "a="+filepath.Join(bad, "good.npy"),
		"--bases", "b="+filepath.Join(bad, "good.npy"), "-o", dir, in)
	if code != 2 || !strings.Contains(stderr, "a.wav") || !strings.Contains(stderr, "input") {
		t.Errorf("exit %d, stderr %q; want 2 and a message naming a.wav as the input", code, stderr)
	}
	got, _ := os.ReadFile(in)
	if !bytes.Equal(got, data) {
		t.Error("the input file was modified")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("the folder holds %d entries, want only the input", len(ents))
	}
}

func assertNoFiles(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("output left behind: %s", p)
		}
		return nil
	})
}

func TestVersion(t *testing.T) {
	code, out, _ := sepd(t, "version")
	if code != 0 || !strings.HasPrefix(out, "sepd ") {
		t.Errorf("exit %d, output %q", code, out)
	}
}

// TestSeparateSeveralInputs: with several inputs, each gets its own folder named
// after the input, every output has the input's channel count and length.
func TestSeparateSeveralInputs(t *testing.T) {
	out := t.TempDir()
	dir := t.TempDir()
	mono := filepath.Join(bad, "good.wav")
	stereo := filepath.Join(dir, "stereo.wav")
	writeStereo(t, stereo, 16000, 12345)
	code, stdout, stderr := sepd(t, "separate", "-q", "--bases", "voice="+filepath.Join(bad, "good.npy"),
		"--bases", "noise="+filepath.Join(bad, "good.npy"), "--format", "pcm16", "-o", out, mono, stereo)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	for _, c := range []struct {
		stem  string
		ch, n int
	}{{"good", 1, 16000}, {"stereo", 2, 12345}} {
		for _, s := range []string{"voice", "noise"} {
			x, f, err := audio.ReadAll(filepath.Join(out, c.stem, s+".wav"))
			if err != nil {
				t.Fatal(err)
			}
			if f.Channels != c.ch || len(x[0]) != c.n || f.SampleRateHz != 16000 {
				t.Errorf("%s/%s.wav: %d ch x %d at %d Hz, want %d x %d at 16000", c.stem, s, f.Channels, len(x[0]), f.SampleRateHz, c.ch, c.n)
			}
		}
	}
}

func writeStereo(t *testing.T, path string, rate, n int) {
	t.Helper()
	x := [][]float64{make([]float64, n), make([]float64, n)}
	for i := range x[0] {
		x[0][i] = 0.3 * math.Sin(float64(i)*0.01)
		x[1][i] = 0.2 * math.Sin(float64(i)*0.037)
	}
	writeWAV(t, path, rate, audio.PCM16, x...)
}

// writeWAV writes a WAV file of the channels x (nothing when they are empty)
// at rate in encoding enc, failing t on any error.
func writeWAV(t *testing.T, path string, rate int, enc audio.Encoding, x ...[]float64) {
	t.Helper()
	w, err := audio.CreateWAV(path, audio.Format{SampleRateHz: rate, Channels: len(x)}, enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(x[0]) > 0 {
		if err := w.Write(x); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSeparateJobs: several inputs separated three at a time give the same
// bytes as one at a time (each worker has its own engine, so nothing is
// shared but the bases), the reports come in input order, and a last line
// sums up the whole job; an input that fails is the error reported.
func TestSeparateJobs(t *testing.T) {
	dir := t.TempDir()
	var inputs []string
	for i, n := range []int{16000, 12345, 7000} {
		p := filepath.Join(dir, fmt.Sprintf("in%d.wav", i))
		writeStereo(t, p, 16000, n+i)
		inputs = append(inputs, p)
	}
	outs := map[string]string{}
	for _, jobs := range []string{"1", "3"} {
		out := t.TempDir()
		args := append([]string{"separate", "-q", "--jobs", jobs, "--bases", "voice=" + filepath.Join(bad, "good.npy"),
			"--bases", "noise=" + filepath.Join(bad, "good.npy"), "-o", out}, inputs...)
		code, stdout, stderr := sepd(t, args...)
		if code != 0 {
			t.Fatalf("--jobs %s: exit %d\n%s%s", jobs, code, stdout, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		if len(lines) != 4 || !strings.HasPrefix(lines[3], "3 files: ") {
			t.Fatalf("--jobs %s: stdout\n%s", jobs, stdout)
		}
		for i, in := range inputs {
			if !strings.HasPrefix(lines[i], in+": ") {
				t.Errorf("--jobs %s: line %d is %q, want the report of %s", jobs, i+1, lines[i], in)
			}
			for _, s := range []string{"voice", "noise"} {
				rel := filepath.Join(fmt.Sprintf("in%d", i), s+".wav")
				b, err := os.ReadFile(filepath.Join(out, rel))
				if err != nil {
					t.Fatal(err)
				}
				if prev, ok := outs[rel]; ok && prev != string(b) {
					t.Errorf("%s differs between --jobs 1 and --jobs 3", rel)
				}
				outs[rel] = string(b)
			}
		}
	}
	// One input that fails: its error is the one reported, not the
	// cancellation of the others.
	missing := filepath.Join(dir, "missing.wav")
	code, _, stderr := sepd(t, append([]string{"separate", "-q", "--jobs", "2", "--bases", "voice=" + filepath.Join(bad, "good.npy"),
		"--bases", "noise=" + filepath.Join(bad, "good.npy"), "-o", t.TempDir()}, inputs[0], missing, inputs[1])...)
	if code != 2 || !strings.Contains(stderr, "missing.wav") || strings.Contains(stderr, "context canceled") {
		t.Errorf("a missing input: exit %d, stderr %q; want 2 and its name", code, stderr)
	}
	if code, _, _ := sepd(t, "separate", "-q", "--jobs", "0", "--bases", "voice="+filepath.Join(bad, "good.npy"), "-o", t.TempDir(), inputs[0]); code != 2 {
		t.Errorf("--jobs 0: exit %d, want 2 (usage)", code)
	}
}
