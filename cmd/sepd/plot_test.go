package main

import (
	"context"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/engine"
	"github.com/sepd/sepd/plot"
	"github.com/sepd/sepd/stft"
)

// demoPNGs are the pictures drawn for the demo's two sources.
var demoPNGs = []string{"activations.png", "input.png", "mask-noise.png", "mask-voice.png", "source-noise.png", "source-voice.png"}

// minLumaStdDev is the least standard deviation of luminance (0 to 255) a
// drawn heat map must show: a blank or single-colour area has 0, and viridis
// runs from luminance 34 to 222, so a picture that uses a fair part of its
// scale is far above 10.
const minLumaStdDev = 10

// checkPNGs decodes every picture: 1400x700 (plot's default size) and not
// blank in its data area.
func checkPNGs(t *testing.T, imgs []plot.Image) {
	t.Helper()
	for _, im := range imgs {
		f, err := os.Open(im.Path)
		if err != nil {
			t.Fatal(err)
		}
		pic, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", im.Path, err)
		}
		if b := pic.Bounds(); b.Dx() != 1400 || b.Dy() != 700 {
			t.Errorf("%s: %dx%d pixels, want 1400x700", im.Path, b.Dx(), b.Dy())
		}
		if sd := plot.LumaStdDev(pic, im.DataRect); sd < minLumaStdDev {
			t.Errorf("%s: luminance standard deviation %.1f in the data area %v, want >= %d", im.Path, sd, im.DataRect, minLumaStdDev)
		}
	}
}

// TestPlotDemo draws the demo fixture (demo/mix.wav, voice and noise bases
// from demo/bases.npz, the demo's configuration) and checks the pictures and
// their colour scales against the data's dB range computed here, from the
// file, with the STFT alone.
func TestPlotDemo(t *testing.T) {
	const mixPath = "demo/mix.wav"
	cfg := demoConfig("demo/bases.npz")
	plan, err := engine.NewPlan(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	imgs, err := plotFile(context.Background(), plan, mixPath, dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, im := range imgs {
		names = append(names, filepath.Base(im.Path))
	}
	slices.Sort(names)
	if !slices.Equal(names, demoPNGs) {
		t.Fatalf("pictures %v, want %v", names, demoPNGs)
	}
	checkPNGs(t, imgs)

	// The input's dB range, frame by frame, over the frames the plots show:
	// those centred within the file.
	x, f, err := audio.ReadAll(mixPath)
	if err != nil {
		t.Fatal(err)
	}
	fft, hop := cfg.STFT.FFTSize, cfg.STFT.Hop
	an, err := stft.NewAnalyzer(fft, hop, stft.Hann)
	if err != nil {
		t.Fatal(err)
	}
	win, _ := stft.Window(stft.Hann, fft)
	var fullScale float64
	for _, w := range win {
		fullScale += w / 2
	}
	n := len(x[0])
	sig := append(slices.Clone(x[0]), make([]float64, stft.DelaySamples(fft, hop)+hop)...)
	lo, hi := math.Inf(1), math.Inf(-1)
	for t0 := 0; t0+hop <= n+stft.DelaySamples(fft, hop); t0 += hop {
		spec := an.Analyze(nil, sig[t0:t0+hop])
		frame := t0 / hop
		if c := (frame+1)*hop - fft/2; c < 0 || c > n {
			continue
		}
		for _, z := range spec {
			db := 10 * math.Log10((real(z)*real(z)+imag(z)*imag(z))/(fullScale*fullScale))
			lo, hi = min(lo, db), max(hi, db)
		}
	}
	t.Logf("%s: %d Hz, input spectrum %.2f to %.2f dBFS", mixPath, f.SampleRateHz, lo, hi)

	// The recorder stores float32: 1e-3 dB is 30 times its rounding.
	const tolDB = 1e-3
	near := func(a, b float64) bool { return math.Abs(a-b) <= tolDB }
	for _, im := range imgs {
		switch im.Kind {
		case plot.InputSpectrogram:
			if !near(im.DataMin, lo) || !near(im.DataMax, hi) {
				t.Errorf("input: data %.4f to %.4f dBFS, the file's %.4f to %.4f", im.DataMin, im.DataMax, lo, hi)
			}
			if !near(im.ScaleMax, hi) || !near(im.ScaleMin, max(lo, hi-80)) {
				t.Errorf("input: colour scale %.4f to %.4f dBFS, want the data's maximum %.4f down 80 dB or to its minimum %.4f", im.ScaleMin, im.ScaleMax, hi, lo)
			}
		case plot.SourceSpectrogram:
			// On the input's scale, which covers the source's loudest cell.
			if !near(im.ScaleMax, hi) || !near(im.ScaleMin, max(lo, hi-80)) || im.DataMax > im.ScaleMax+tolDB {
				t.Errorf("%s: colour scale %.4f to %.4f dBFS for data up to %.4f; want the input's %.4f to %.4f", im.Source, im.ScaleMin, im.ScaleMax, im.DataMax, max(lo, hi-80), hi)
			}
		case plot.Mask:
			// Data "that uses" the scale: a range of at least half of it
			// (measured on the demo: 6e-7 to 1 for voice, 7e-10 to 1 for
			// noise; a mask stuck near 0.5, as with equal bases, spans ~0).
			if im.ScaleMin != 0 || im.ScaleMax != 1 || im.DataMin < 0 || im.DataMax > 1 || im.DataMax-im.DataMin < 0.5 {
				t.Errorf("mask %s: scale %g to %g, data %g to %g; want 0 to 1 covering data that uses it", im.Source, im.ScaleMin, im.ScaleMax, im.DataMin, im.DataMax)
			}
		case plot.Activations:
			if im.DataMax != 0 || im.ScaleMax != 0 || im.ScaleMin != max(im.DataMin, -60) {
				t.Errorf("activations: scale %g to %g dB re max, data %g to %g", im.ScaleMin, im.ScaleMax, im.DataMin, im.DataMax)
			}
		}
	}
}

// listPNGs returns the sorted names of the files in dir.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// TestPlotCommand: `sepd plot` draws every input into its own folder and
// writes no audio.
func TestPlotCommand(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := sepd(t, "plot", "-q", "--bases", "voice=demo/bases.npz", "--bases", "noise=demo/bases.npz",
		"-o", dir, "demo/mix.wav", "demo/noise.wav")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := listFiles(t, dir); !slices.Equal(got, []string{"mix", "noise"}) {
		t.Fatalf("%s holds %v, want a folder per input", dir, got)
	}
	for _, sub := range []string{"mix", "noise"} {
		if got := listFiles(t, filepath.Join(dir, sub)); !slices.Equal(got, demoPNGs) {
			t.Errorf("%s holds %v, want %v", sub, got, demoPNGs)
		}
	}
	if !strings.Contains(stdout, filepath.Join(dir, "mix")) {
		t.Errorf("output does not say where the pictures are:\n%s", stdout)
	}
}

// TestSeparatePlot: `sepd separate --plot DIR` writes the audio as before and
// the pictures into DIR.
func TestSeparatePlot(t *testing.T) {
	out, pdir := t.TempDir(), filepath.Join(t.TempDir(), "plots")
	code, stdout, stderr := sepd(t, "separate", "-q", "--bases", "voice=demo/bases.npz", "--bases", "noise=demo/bases.npz",
		"-o", out, "--plot", pdir, "demo/mix.wav")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := listFiles(t, out); !slices.Equal(got, []string{"noise.wav", "voice.wav"}) {
		t.Errorf("%s holds %v", out, got)
	}
	if got := listFiles(t, pdir); !slices.Equal(got, demoPNGs) {
		t.Errorf("%s holds %v, want %v", pdir, got, demoPNGs)
	}
	if !strings.Contains(stdout, "plots in "+pdir) {
		t.Errorf("output does not say where the pictures are:\n%s", stdout)
	}
}

// TestDemoPlots: `sepd demo` leaves its pictures in OUT/plots.
func TestDemoPlots(t *testing.T) {
	out := t.TempDir()
	code, _, stderr := sepd(t, "demo", "-q", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := listFiles(t, filepath.Join(out, "plots")); !slices.Equal(got, demoPNGs) {
		t.Errorf("plots holds %v, want %v", got, demoPNGs)
	}
}

// TestPlotBadInput: bad usage exits 2 and draws nothing.
func TestPlotBadInput(t *testing.T) {
	bases := []string{"--bases", "voice=demo/bases.npz", "--bases", "noise=demo/bases.npz"}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"plot without -o", append([]string{"plot", "-q"}, append(bases, "demo/mix.wav")...), "-o DIR"},
		{"separate without -o", append([]string{"separate", "-q", "--plot", "PLOTDIR"}, append(bases, "demo/mix.wav")...), "-o DIR"},
		{"missing input", append([]string{"plot", "-q", "-o", "PLOTDIR"}, append(bases, "demo/nonexistent.wav")...), "nonexistent.wav"},
		{"no bases", []string{"plot", "-q", "-o", "PLOTDIR", "demo/mix.wav"}, "--bases"},
		{"array not in npz", []string{"plot", "-q", "-o", "PLOTDIR", "--bases", "drums=demo/bases.npz", "--bases", "noise=demo/bases.npz", "demo/mix.wav"}, "drums"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pdir := filepath.Join(t.TempDir(), "plots")
			for i, a := range tc.args {
				if a == "PLOTDIR" {
					tc.args[i] = pdir
				}
			}
			code, _, stderr := sepd(t, tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and a message with %q", code, stderr, tc.want)
			}
			if _, err := os.Stat(pdir); err == nil {
				t.Errorf("%s was created", pdir)
			}
		})
	}
}

// plotFile runs the separation of input with plan, writing no audio, and
// draws its plots into dir (what `sepd separate --plots` records, without
// the audio).
func plotFile(ctx context.Context, plan *engine.Plan, input, dir string) ([]plot.Image, error) {
	job := engine.FileJob{Input: input, Outputs: make([][]string, plan.Bases.NumSources())}
	ps, err := startPlots(plan, dir, &job)
	if err != nil {
		return nil, err
	}
	res, err := engine.SeparateFile(ctx, plan, job)
	if err != nil {
		return nil, err
	}
	if err := ps.write(res); err != nil {
		return nil, err
	}
	return ps.imgs, nil
}
