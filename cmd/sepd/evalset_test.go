package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// evalset is the evaluation set of issue 11, made by testdata/evalset/make.sh.
const evalset = "../../testdata/evalset"

// evalManifest is the part of testdata/evalset/manifest.json (make.py) the test reads.
type evalManifest struct {
	Scenarios []struct {
		Name    string `json:"name"`
		Rate    int    `json:"rate"`
		FFTSize int    `json:"fft_size"`
		Hop     int    `json:"hop"`
		Sources []struct {
			Name string `json:"name"`
		} `json:"sources"`
	} `json:"scenarios"`
	SHA256 map[string]string `json:"sha256"`
}

// evalBaseline is testdata/evalset/baseline.json (baseline.py: scikit-learn's
// converged batch separation and the oracle, scored by mir_eval 0.7).
type evalBaseline struct {
	Scenarios map[string]map[string]map[string]json.RawMessage `json:"scenarios"` // scenario, split, method
}

// TestEvalSet runs `sepd separate` on every test mixture of the evaluation
// set, scores it with `sepd eval`, and compares it per source with
// scikit-learn's converged batch solve with the same bases and masks
// (baseline.json), for these configurations:
//   - the defaults, the quality setting (beta 0.5, update exponent 1, bases
//     that follow the mixture with weight 5; chosen on the validation split,
//     README "Quality"): every source at least at scikit-learn's (measured:
//     +0.18 dB at the least) and the mean at least 0.7 dB above (measured
//     +0.86 dB);
//   - scikit-learn's algorithm, streamed (--beta 1 --adapt 0, the default
//     before; 10 iterations, mask power 2): no source more than 0.5 dB below
//     scikit-learn (measured: -0.29 dB at the least, piano in piano_drums16)
//     and the mean over the 8 sources not below it (measured +0.16 dB);
//   - --beta 0.5 --update-exponent 1 --adapt 0: no source more than 0.5 dB
//     below (measured -0.14 dB) and the mean at least 0.3 dB above (measured
//     +0.49 dB);
//   - the defaults with reconstruction bases;
//
// and no source above the oracle mask (the ceiling of masking). The figures
// are in README's Quality section and testdata/evalset/README.md.
//
// It first checks that the committed files are the ones make.py wrote (their
// SHA-256 in manifest.json), so that the baseline belongs to them.
func TestEvalSet(t *testing.T) {
	var man evalManifest
	readJSON(t, filepath.Join(evalset, "manifest.json"), &man)
	var base evalBaseline
	readJSON(t, filepath.Join(evalset, "baseline.json"), &base)
	for rel, want := range man.SHA256 {
		if !strings.HasPrefix(rel, "testdata/evalset/") {
			continue // the uncommitted fit and val material
		}
		data, err := os.ReadFile(filepath.Join("../..", rel))
		if err != nil {
			t.Fatal(err)
		}
		if got := sha256.Sum256(data); hex.EncodeToString(got[:]) != want {
			t.Fatalf("%s: SHA-256 differs from manifest.json: run testdata/evalset/make.sh", rel)
		}
	}
	if len(man.Scenarios) != 4 {
		t.Fatalf("manifest.json has %d scenarios, want 4", len(man.Scenarios))
	}
	for _, tc := range []struct {
		name           string
		flags          []string
		minMean, minDB float64 // bounds on sepd - sklearn: the mean, and every source
	}{
		// The defaults: beta 0.5, update exponent 1 and bases that follow
		// the mixture (separate.Params.Adapt) with weight 5, the measured
		// quality setting: +0.86 dB mean, +0.18 the smallest (README,
		// Quality; these bounds were the beta0.5-exp1-adapt5 case's before
		// it became the default).
		{"default", nil, 0.7, 0},
		// scikit-learn's algorithm (the default before): measured +0.16 dB
		// mean, -0.29 the smallest.
		{"sklearn-beta1-adapt0", []string{"--beta", "1", "--adapt", "0"}, 0, -0.5},
		{"beta0.5-exp1-adapt0", []string{"--beta", "0.5", "--update-exponent", "1", "--adapt", "0"}, 0.3, -0.5},
		// The same with reconstruction bases (<scenario>/recon/, learned by
		// `score.py --recon --keep-recon` from the fit material, with
		// sepd's defaults, phase-sensitive targets and 300 updates at
		// step 1): measured +1.33 dB mean, +0.46 the smallest (README,
		// Quality; with step 1/2, committed before, +1.30 and +0.44; with
		// magnitude targets before that, +1.28 and +0.38).
		{"beta0.5-exp1-adapt5-recon", []string{"recon"}, 1.2, 0.3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sum float64
			n := 0
			for _, sc := range man.Scenarios {
				for _, s := range evalScenario(t, sc.Name, sc.FFTSize, sc.Hop, sc.Sources, tc.flags) {
					ref := base.Scenarios[sc.Name]["test"]
					var sk, orc map[string]struct {
						SDR float64 `json:"sdr"`
					}
					if json.Unmarshal(ref["sklearn"], &sk) != nil || json.Unmarshal(ref["oracle"], &orc) != nil {
						t.Fatalf("%s: baseline.json has no test figures", sc.Name)
					}
					got, want, ceil := float64(s.SDR), sk[s.Name].SDR, orc[s.Name].SDR
					if want == 0 || ceil == 0 {
						t.Fatalf("%s: baseline.json has no figures for %s", sc.Name, s.Name)
					}
					t.Logf("%-15s %-6s sepd %6.2f dB, sklearn %6.2f dB (%+.2f), oracle %6.2f dB", sc.Name, s.Name, got, want, got-want, ceil)
					if got < want+tc.minDB {
						t.Errorf("%s %s: SDR %.2f dB, want at least scikit-learn's %.2f dB %+.1f", sc.Name, s.Name, got, want, tc.minDB)
					}
					if got > ceil {
						t.Errorf("%s %s: SDR %.2f dB above the oracle's %.2f dB: the evaluation is broken", sc.Name, s.Name, got, ceil)
					}
					sum += got - want
					n++
				}
			}
			if n != 8 {
				t.Fatalf("%d sources scored, want 8", n)
			}
			t.Logf("mean sepd - sklearn: %+.2f dB", sum/float64(n))
			if sum/float64(n) < tc.minMean {
				t.Errorf("mean SDR %+.2f dB against scikit-learn's, want at least %+.1f", sum/float64(n), tc.minMean)
			}
		})
	}
}

// evalScenario separates one test mixture of the evaluation set with sepd's
// defaults plus flags and returns `sepd eval`'s scores. flags {"recon"}
// separates with the scenario's recon/sepd.yaml instead.
func evalScenario(t *testing.T, name string, fft, hop int, sources []struct {
	Name string `json:"name"`
}, flags []string) []SourceReport {
	t.Helper()
	dir := filepath.Join(evalset, name)
	out := t.TempDir()
	args := []string{"separate", "-q", "-j", "1", "--fft-size", strconv.Itoa(fft), "--hop", strconv.Itoa(hop), "-o", out}
	recon := len(flags) == 1 && flags[0] == "recon"
	if recon {
		// The configuration learn-recon wrote: the bases, the reconstruction
		// bases and the separation settings they were learned for.
		args, flags = []string{"separate", "-q", "-j", "1", "-c", filepath.Join(dir, "recon", "sepd.yaml"), "-o", out}, nil
	}
	ev := []string{"eval", "--json"}
	for _, s := range sources {
		if !recon {
			args = append(args, "--bases", s.Name+"="+filepath.Join(dir, "bases", s.Name+".npy"))
		}
		ev = append(ev, "--ref", s.Name+"="+filepath.Join(dir, "test", s.Name+".wav"), "--est", s.Name+"="+filepath.Join(out, s.Name+".wav"))
	}
	args = append(append(args, flags...), filepath.Join(dir, "test", "mix.wav"))
	if code, _, stderr := sepd(t, args...); code != 0 {
		t.Fatalf("%s: separate: exit %d: %s", name, code, stderr)
	}
	code, stdout, stderr := sepd(t, ev...)
	if code != 0 {
		t.Fatalf("%s: eval: exit %d: %s", name, code, stderr)
	}
	var rep EvalReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	return rep.Sources
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestSeparateSolverFlags: --tolerance, --floor and --update-exponent reach the configuration,
// override a file's values only when given, and a bad value is a usage error
// naming the key.
func TestSeparateSolverFlags(t *testing.T) {
	dir := t.TempDir()
	bases := filepath.Join(evalset, "talkers16", "bases", "man.npy")
	yaml := filepath.Join(dir, "sepd.yaml")
	if err := os.WriteFile(yaml, []byte("separation: {tolerance: 0.02, floor: 0.05, update_exponent: 0.75}\nsources: [{name: man, bases: "+bases+"}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args           []string
		tol, floor, ue float64
	}{
		{[]string{"--bases", "man=" + bases}, 0, 0.03, 1},
		{[]string{"--bases", "man=" + bases, "--tolerance", "0.01", "--floor", "0.1", "--update-exponent", "0.5"}, 0.01, 0.1, 0.5},
		{[]string{"--bases", "man=" + bases, "--update-exponent", "0"}, 0, 0.03, 0},
		{[]string{"-c", yaml}, 0.02, 0.05, 0.75},
		{[]string{"-c", yaml, "--tolerance", "0.001"}, 0.001, 0.05, 0.75},
	} {
		c := newSeparateCmd()
		var fl separateFlags
		c.ResetFlags()
		addSeparateFlags(c.Flags(), &fl)
		if err := c.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		cfg, err := separateConfig(c, &fl)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if sp := cfg.Separation; sp.Tolerance != tc.tol || sp.Floor != tc.floor || sp.UpdateExponent != tc.ue {
			t.Errorf("%v: tolerance %v floor %v update exponent %v, want %v, %v, %v", tc.args, sp.Tolerance, sp.Floor, sp.UpdateExponent, tc.tol, tc.floor, tc.ue)
		}
	}
	code, _, stderr := sepd(t, "separate", "--bases", "man="+bases, "--floor", "1", "-o", dir, filepath.Join(evalset, "talkers16", "test", "mix.wav"))
	if code != 2 || !strings.Contains(stderr, "floor") {
		t.Errorf("--floor 1: exit %d, %q; want 2 and a message naming floor", code, stderr)
	}
}

// TestSeparateAdaptFlag: --adapt defaults to the configuration's (5 without
// -c; a file's adapt, 5 when absent and 0 when a source has free
// components), an explicit --adapt 0 turns adaptation off, and an explicit
// --adapt > 0 with free components is a usage error naming the key. With
// --bases instead of a file's free source, a file without adapt gets 5.
func TestSeparateAdaptFlag(t *testing.T) {
	dir := t.TempDir()
	bases := filepath.Join(evalset, "talkers16", "bases", "man.npy")
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plain := write("plain.yaml", "sources: [{name: man, bases: "+bases+"}]\n")
	fixed := write("fixed.yaml", "separation: {adapt: 0}\nsources: [{name: man, bases: "+bases+"}]\n")
	free := write("free.yaml", "sources: [{name: man, bases: "+bases+"}, {name: rest, free_components: 4}]\n")
	for _, tc := range []struct {
		args  []string
		adapt float64
		bad   bool
	}{
		{[]string{"--bases", "man=" + bases}, 5, false},
		{[]string{"--bases", "man=" + bases, "--adapt", "0"}, 0, false},
		{[]string{"--bases", "man=" + bases, "--adapt", "2"}, 2, false},
		{[]string{"-c", plain}, 5, false},
		{[]string{"-c", fixed}, 0, false},
		{[]string{"-c", fixed, "--adapt", "3"}, 3, false},
		{[]string{"-c", plain, "--adapt", "0"}, 0, false},
		{[]string{"-c", free}, 0, false},
		{[]string{"-c", free, "--adapt", "0"}, 0, false},
		{[]string{"-c", free, "--adapt", "5"}, 0, true},
		// --bases replaces the free source by fixed ones: the file's adapt
		// was the default that gave way to it, and the default comes back;
		// one the file wrote stays.
		{[]string{"-c", free, "--bases", "man=" + bases, "--bases", "woman=" + bases}, 5, false},
		{[]string{"-c", free, "--bases", "man=" + bases, "--adapt", "0"}, 0, false},
		{[]string{"-c", fixed, "--bases", "man=" + bases}, 0, false},
	} {
		c := newSeparateCmd()
		var fl separateFlags
		c.ResetFlags()
		addSeparateFlags(c.Flags(), &fl)
		if err := c.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		cfg, err := separateConfig(c, &fl)
		if tc.bad {
			if err == nil || !strings.Contains(err.Error(), "separation.adapt") {
				t.Errorf("%v: %v, want an error naming separation.adapt", tc.args, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if cfg.Separation.Adapt != tc.adapt {
			t.Errorf("%v: adapt %v, want %v", tc.args, cfg.Separation.Adapt, tc.adapt)
		}
	}
}
