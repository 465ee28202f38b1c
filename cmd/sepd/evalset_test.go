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

// TestEvalSet runs `sepd separate` with its default separation parameters
// (beta 1, 10 iterations, mask power 2) on every test mixture of the
// evaluation set, scores it with `sepd eval`, and compares it per source with
// scikit-learn's converged batch solve with the same bases and masks
// (baseline.json):
//   - no source more than 0.5 dB below scikit-learn (measured: -0.29 dB at the
//     least, piano in piano_drums16; README's Quality table);
//   - the mean over the 8 sources not below scikit-learn's (measured: +0.16 dB);
//   - no source above the oracle mask (the ceiling of masking).
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
	if len(man.Scenarios) < 4 {
		t.Fatalf("manifest.json has %d scenarios, want 4", len(man.Scenarios))
	}
	var sum float64
	n := 0
	for _, sc := range man.Scenarios {
		dir := filepath.Join(evalset, sc.Name)
		out := t.TempDir()
		args := []string{"separate", "-q", "-j", "1", "--fft-size", strconv.Itoa(sc.FFTSize), "--hop", strconv.Itoa(sc.Hop), "-o", out}
		ev := []string{"eval", "--json"}
		for _, s := range sc.Sources {
			args = append(args, "--bases", s.Name+"="+filepath.Join(dir, "bases", s.Name+".npy"))
			ev = append(ev, "--ref", s.Name+"="+filepath.Join(dir, "test", s.Name+".wav"), "--est", s.Name+"="+filepath.Join(out, s.Name+".wav"))
		}
		if code, _, stderr := sepd(t, append(args, filepath.Join(dir, "test", "mix.wav"))...); code != 0 {
			t.Fatalf("%s: separate: exit %d: %s", sc.Name, code, stderr)
		}
		code, stdout, stderr := sepd(t, ev...)
		if code != 0 {
			t.Fatalf("%s: eval: exit %d: %s", sc.Name, code, stderr)
		}
		var rep EvalReport
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatal(err)
		}
		ref := base.Scenarios[sc.Name]["test"]
		var sk, orc map[string]struct {
			SDR float64 `json:"sdr"`
		}
		if err := json.Unmarshal(ref["sklearn"], &sk); err != nil {
			t.Fatalf("%s: baseline.json: %v", sc.Name, err)
		}
		if err := json.Unmarshal(ref["oracle"], &orc); err != nil {
			t.Fatalf("%s: baseline.json: %v", sc.Name, err)
		}
		for _, s := range rep.Sources {
			got, want, ceil := float64(s.SDR), sk[s.Name].SDR, orc[s.Name].SDR
			if want == 0 || ceil == 0 {
				t.Fatalf("%s: baseline.json has no figures for %s", sc.Name, s.Name)
			}
			t.Logf("%-15s %-6s sepd %6.2f dB, sklearn %6.2f dB (%+.2f), oracle %6.2f dB", sc.Name, s.Name, got, want, got-want, ceil)
			if got < want-0.5 {
				t.Errorf("%s %s: SDR %.2f dB, more than 0.5 dB below scikit-learn's %.2f dB", sc.Name, s.Name, got, want)
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
	if sum < 0 {
		t.Errorf("mean SDR %.2f dB below scikit-learn's", sum/float64(n))
	}
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

// TestSeparateSolverFlags: --tolerance and --floor reach the configuration,
// override a file's values only when given, and a bad value is a usage error
// naming the key.
func TestSeparateSolverFlags(t *testing.T) {
	dir := t.TempDir()
	bases := filepath.Join(evalset, "talkers16", "bases", "man.npy")
	yaml := filepath.Join(dir, "sepd.yaml")
	if err := os.WriteFile(yaml, []byte("separation: {tolerance: 0.02, floor: 0.05}\nsources: [{name: man, bases: "+bases+"}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args       []string
		tol, floor float64
	}{
		{[]string{"--bases", "man=" + bases}, 0, 0.03},
		{[]string{"--bases", "man=" + bases, "--tolerance", "0.01", "--floor", "0.1"}, 0.01, 0.1},
		{[]string{"-c", yaml}, 0.02, 0.05},
		{[]string{"-c", yaml, "--tolerance", "0.001"}, 0.001, 0.05},
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
		if cfg.Separation.Tolerance != tc.tol || cfg.Separation.Floor != tc.floor {
			t.Errorf("%v: tolerance %v floor %v, want %v and %v", tc.args, cfg.Separation.Tolerance, cfg.Separation.Floor, tc.tol, tc.floor)
		}
	}
	code, _, stderr := sepd(t, "separate", "--bases", "man="+bases, "--floor", "1", "-o", dir, filepath.Join(evalset, "talkers16", "test", "mix.wav"))
	if code != 2 || !strings.Contains(stderr, "floor") {
		t.Errorf("--floor 1: exit %d, %q; want 2 and a message naming floor", code, stderr)
	}
}
