package main

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/sepd/sepd/config"
	"github.com/sepd/sepd/engine"
	"github.com/sepd/sepd/separate"
	"github.com/sepd/sepd/stft"
)

var reconSummaryRE = regexp.MustCompile(`recon: objective (\S+) -> (\S+) `)

// TestLearnRecon: learn-recon on the demo's training recordings with the
// shipped bases writes one .recon.npy per source and a configuration that
// names them; the objective falls; the configuration separates the demo
// mixture with the reconstruction bases (and keeps the flags given here);
// and a run writes the same bytes twice.
func TestLearnRecon(t *testing.T) {
	run := func() string {
		out := filepath.Join(t.TempDir(), "model")
		code, stdout, stderr := sepd(t, "learn-recon", "-q", "--bases", "voice=demo/bases.npz", "--bases", "noise=demo/bases.npz",
			"--beta", "0.5", "--update-exponent", "1", "--adapt", "5",
			"--source", "voice="+filepath.Join(trainData, "voice.wav"), "--source", "noise="+filepath.Join(trainData, "noise.wav"),
			"--recon-iterations", "20", "-o", out)
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
		}
		m := reconSummaryRE.FindStringSubmatch(stdout)
		if m == nil {
			t.Fatalf("no objective in\n%s", stdout)
		}
		before, _ := strconv.ParseFloat(m[1], 64)
		after, _ := strconv.ParseFloat(m[2], 64)
		t.Logf("objective %v -> %v", before, after)
		if !(after < before) {
			t.Errorf("objective %v -> %v: want a fall", before, after)
		}
		return out
	}
	m1, m2 := run(), run()
	sameFiles(t, m1, m2, "between two runs", "voice.recon.npy", "noise.recon.npy", "sepd.yaml")
	if ents, _ := os.ReadDir(m1); len(ents) != 3 {
		t.Errorf("the folder holds %d entries, want 3 (no temporary files)", len(ents))
	}
	cfg, err := config.Load(filepath.Join(m1, "sepd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Separation; s.Beta != 0.5 || s.UpdateExponent != 1 || s.Adapt != 5 {
		t.Errorf("separation %+v: want the flags' beta 0.5, update exponent 1, adapt 5", s)
	}
	raw, _ := os.ReadFile(filepath.Join(m1, "sepd.yaml"))
	if !strings.Contains(string(raw), "recon: voice.recon.npy") {
		t.Errorf("sepd.yaml does not name voice.recon.npy relative to its folder:\n%s", raw)
	}
	plan, err := engine.NewPlan(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Bases.Recon == nil || plan.Reports[0].Recon == "" {
		t.Fatal("the plan has no reconstruction bases")
	}
	if f, k := plan.Bases.Recon.Dims(); f != plan.Bases.F() || k != plan.Bases.K() {
		t.Errorf("Recon %dx%d, bases %dx%d", f, k, plan.Bases.F(), plan.Bases.K())
	}
	out := t.TempDir()
	code, stdout, stderr := sepd(t, "separate", "-q", "-c", filepath.Join(m1, "sepd.yaml"), "-o", out, "demo/mix.wav")
	if code != 0 {
		t.Fatalf("separate: exit %d\n%s%s", code, stdout, stderr)
	}
	names := []string{"voice", "noise"}
	_, withRecon := scoreDemo(t, names, func(s int) string { return filepath.Join(out, names[s]+".wav") })
	cfg.Sources[0].Recon, cfg.Sources[1].Recon = "", ""
	_, without := demoSDR(t, cfg, 0)
	for _, n := range names {
		t.Logf("%s: SDR %.2f dB with reconstruction bases, %.2f dB without", n, withRecon[n], without[n])
	}
}

// TestLearnReconBadUsage: learn-recon's usage errors exit 2 and name the
// source or flag.
func TestLearnReconBadUsage(t *testing.T) {
	voice := "voice=" + filepath.Join(trainData, "voice.wav")
	noise := "noise=" + filepath.Join(trainData, "noise.wav")
	bases := []string{"--bases", "voice=demo/bases.npz", "--bases", "noise=demo/bases.npz"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append(bases, "--source", voice), `learn-recon: source "noise": give its examples with --source noise=PATH`},
		{append(bases, "--source", voice, "--source", noise, "--source", "drums=x.wav"), `the configuration has no source "drums"`},
		{append(bases, "--source", voice, "--source", "noise"), `--source "noise": want NAME=PATH`},
		{append(bases, "--source", voice, "--source", "noise=/nonexistent.wav"), "noise=/nonexistent.wav"},
		{append(bases, "--source", voice, "--source", noise, "--recon-iterations", "0"), "--recon-iterations 0: must be at least 1"},
		{append(bases, "--source", voice, "--source", noise, "--recon-target", "complex"), `--recon-target "complex": want phase or magnitude`},
		{[]string{"--source", voice}, "give a configuration"},
	} {
		args := append([]string{"learn-recon", "-q", "-o", t.TempDir()}, tc.args...)
		code, _, stderr := sepd(t, args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	// A source of free bases has nothing to reconstruct with.
	dir := t.TempDir()
	yml := filepath.Join(dir, "sepd.yaml")
	abs, _ := filepath.Abs("demo/bases.npz")
	if err := os.WriteFile(yml, []byte("sources:\n  - {name: voice, bases: "+abs+"}\n  - {name: noise, free_components: 4}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := sepd(t, "learn-recon", "-q", "-c", yml, "--source", voice, "--source", noise, "-o", dir)
	if code != 2 || !strings.Contains(stderr, `source "noise" has free_components`) {
		t.Errorf("free bases: exit %d, %q", code, stderr)
	}
}

// TestSeparateBadRecon: reconstruction bases of the wrong shape stop
// `sepd separate` with exit status 2 and a message naming the source, the
// recon key and the file.
func TestSeparateBadRecon(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "voice.recon.npy")
	f, err := os.Create(bad)
	if err != nil {
		t.Fatal(err)
	}
	if err := separate.WriteNPY(f, mat.NewDense(513, 3, nil)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	abs, _ := filepath.Abs("demo/bases.npz")
	yml := filepath.Join(dir, "sepd.yaml")
	if err := os.WriteFile(yml, []byte("sources:\n  - {name: voice, bases: "+abs+", recon: voice.recon.npy}\n  - {name: noise, bases: "+abs+"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := sepd(t, "separate", "-q", "-c", yml, "-o", t.TempDir(), "demo/mix.wav")
	want := `source "voice" reconstruction bases (recon: ` + bad + `): shape 513x3 holds 3 bases`
	if code != 2 || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, %q; want 2 and %q", code, stderr, want)
	}
}

// TestReconSpectra: the training spectra of learn-recon, on two stereo
// sources of seeded noise (unequal in the two channels) and their sum.
// For any masks M_s (seeded, in [0, 1], every bin and frame), the complex
// squared error sum_s sum_c |S_sc - M_s X_c|^2 must equal C sum_s
// (target_s - M_s V)^2 plus a constant that does not depend on M (C = 2
// channels; the algebra is in reconSpectra's comment): the error of two
// mask sets, less C times their target errors, must agree to rounding
// (1e-9 relative of sums of about 1e4 terms of order 1). The two sources'
// phase targets sum to V (S_1 + S_2 = X); the magnitude targets are
// sqrt(mean_c |S_sc|^2), as the engine combines channels.
func TestReconSpectra(t *testing.T) {
	const fft, hop, n = 64, 16, 2000
	rng := rand.New(rand.NewPCG(3, 4))
	srcs := make([][][]float64, 2)
	mix := [][]float64{make([]float64, n), make([]float64, n)}
	for s := range srcs {
		for c := range 2 {
			x := make([]float64, n)
			for i := range x {
				x[i] = (1 + float64(s+2*c)) * rng.NormFloat64()
				mix[c][i] += x[i]
			}
			srcs[s] = append(srcs[s], x)
		}
	}
	V, target := reconSpectra(mix, srcs, fft, hop, stft.Hann, true)
	_, mag := reconSpectra(mix, srcs, fft, hop, stft.Hann, false)
	F, T := V.Dims()
	// Complex spectra, frame by frame as the engine analyses (reconSpectra's doc).
	spectra := func(x []float64) [][]complex128 {
		an, err := stft.NewAnalyzer(fft, hop, stft.Hann)
		if err != nil {
			t.Fatal(err)
		}
		out := make([][]complex128, T)
		block := make([]float64, hop)
		for j := range T {
			clear(block)
			if lo := j * hop; lo < len(x) {
				copy(block, x[lo:min(lo+hop, len(x))])
			}
			out[j] = an.Analyze(make([]complex128, F), block)
		}
		return out
	}
	X := [][][]complex128{spectra(mix[0]), spectra(mix[1])}
	S := [][][][]complex128{{spectra(srcs[0][0]), spectra(srcs[0][1])}, {spectra(srcs[1][0]), spectra(srcs[1][1])}}
	diff := func() float64 {
		complexErr, targetErr := 0.0, 0.0
		for j := range T {
			for f := range F {
				for s := range 2 {
					m := rng.Float64()
					for c := range 2 {
						e := S[s][c][j][f] - complex(m, 0)*X[c][j][f]
						complexErr += real(e)*real(e) + imag(e)*imag(e)
					}
					e := target[s].At(f, j) - m*V.At(f, j)
					targetErr += 2 * e * e
				}
			}
		}
		return complexErr - targetErr
	}
	d1, d2 := diff(), diff()
	if math.Abs(d1-d2) > 1e-9*math.Abs(d1) {
		t.Errorf("complex error - C x target error: %v with one set of masks, %v with another", d1, d2)
	}
	for j := range T {
		for f := range F {
			if got, want := target[0].At(f, j)+target[1].At(f, j), V.At(f, j); math.Abs(got-want) > 1e-12*(1+want) {
				t.Fatalf("bin %d frame %d: the phase targets sum to %v, V = %v", f, j, got, want)
			}
			for s := range 2 {
				p := 0.0
				for c := range 2 {
					z := S[s][c][j][f]
					p += real(z)*real(z) + imag(z)*imag(z)
				}
				if got, want := mag[s].At(f, j), math.Sqrt(p/2); math.Abs(got-want) > 1e-12*(1+want) {
					t.Fatalf("source %d bin %d frame %d: magnitude target %v, want %v", s, f, j, got, want)
				}
			}
		}
	}
}
