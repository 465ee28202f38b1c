package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/config"
	"github.com/sepd/sepd/engine"
)

// The demo's bases (scikit-learn NMF on testdata/demo/train, see
// testdata/demo) and its clean sources, from which the batch tests mix inputs.
const demoDir = "demo"

func demoBases() []string {
	npz := filepath.Join(demoDir, "bases.npz")
	return []string{"--bases", "voice=" + npz, "--bases", "noise=" + npz}
}

// makeInputs writes n different mono 16 kHz mixtures of the demo's voice and
// noise, each `seconds` long, as dir/in00.wav ... (input k: the voice from
// sample 1000 k on, plus the noise at gain 0.3 + 0.1 k), and returns their paths.
func makeInputs(t testing.TB, dir string, n int, seconds float64) []string {
	t.Helper()
	voice, f, err := audio.ReadAll(filepath.Join(demoDir, "voice.wav"))
	if err != nil {
		t.Fatal(err)
	}
	noise, _, err := audio.ReadAll(filepath.Join(demoDir, "noise.wav"))
	if err != nil {
		t.Fatal(err)
	}
	length := int(seconds * float64(f.SampleRateHz))
	var paths []string
	for k := range n {
		start := (1000 * k) % (len(voice[0]) - length)
		mix := make([]float64, length)
		for i := range mix {
			mix[i] = voice[0][start+i] + (0.3+0.1*float64(k))*noise[0][i]
		}
		p := filepath.Join(dir, fmt.Sprintf("in%02d.wav", k))
		w, err := audio.CreateWAV(p, f, audio.Float32)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write([][]float64{mix}); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

func writeManifest(t testing.TB, path string, lines ...string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readSummary(t testing.TB, path string) shardSummary {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s shardSummary
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}

// tree returns every file under dir (relative path -> content), except the
// records and summaries, whose times differ from run to run; it fails on a
// visible file that is not a complete output (see checkTree).
func tree(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.Name() == recordName || strings.HasPrefix(d.Name(), "sepd-summary") {
			return nil
		}
		data, err := os.ReadFile(p)
		m[rel] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseShard(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "JOB_COMPLETION_INDEX" {
				return v
			}
			return ""
		}
	}
	good := []struct {
		spec, env string
		want      shardSpec
	}{
		{"0/1", "", shardSpec{0, 1}},
		{"3/10", "", shardSpec{3, 10}},
		{"9/10", "7", shardSpec{9, 10}}, // an explicit index wins
		{"/10", "7", shardSpec{7, 10}},
		{"/1", "0", shardSpec{0, 1}},
	}
	for _, g := range good {
		got, err := parseShard(g.spec, env(g.env))
		if err != nil || got != g.want {
			t.Errorf("parseShard(%q, JOB_COMPLETION_INDEX=%q) = %v, %v; want %v", g.spec, g.env, got, err, g.want)
		}
	}
	bad := []struct{ spec, env, want string }{
		{"3", "", "want I/N"},
		{"1/0", "", "at least 1"},
		{"1/x", "", "at least 1"},
		{"10/10", "", "from 0 to 9"},
		{"-1/10", "", "from 0 to 9"},
		{"/10", "", "JOB_COMPLETION_INDEX is not set"},
		{"/10", "10", "(JOB_COMPLETION_INDEX) must be"},
		{"/4", "two", `"two"`},
	}
	for _, b := range bad {
		_, err := parseShard(b.spec, env(b.env))
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("parseShard(%q, JOB_COMPLETION_INDEX=%q): error %v, want one containing %q", b.spec, b.env, err, b.want)
		}
	}
}

// TestShardPartition: for every list length M up to 100 and every shard count
// N up to 48, the shards' inputs are disjoint, together every input, in list
// order, and their sizes differ by at most one (each shard computed on its
// own, as separate processes do).
func TestShardPartition(t *testing.T) {
	for m := range 101 {
		all := make([]batchInput, m)
		for i := range all {
			all[i].In = strconv.Itoa(i)
		}
		for n := 1; n <= 48; n++ {
			owner := make([]int, m)
			for i := range owner {
				owner[i] = -1
			}
			lo, hi := m, 0
			for s := range n {
				mine := shardInputs(all, shardSpec{s, n})
				lo, hi = min(lo, len(mine)), max(hi, len(mine))
				prev := -1
				for _, b := range mine {
					i, _ := strconv.Atoi(b.In)
					if owner[i] != -1 {
						t.Fatalf("M=%d N=%d: input %d in shards %d and %d", m, n, i, owner[i], s)
					}
					if i <= prev {
						t.Fatalf("M=%d N=%d shard %d: out of order", m, n, s)
					}
					owner[i], prev = s, i
				}
			}
			if i := slices.Index(owner, -1); i >= 0 {
				t.Fatalf("M=%d N=%d: input %d in no shard", m, n, i)
			}
			if hi-lo > 1 {
				t.Fatalf("M=%d N=%d: shard sizes from %d to %d", m, n, lo, hi)
			}
		}
	}
}

func TestLoadManifest(t *testing.T) {
	dir := t.TempDir()
	txt := filepath.Join(dir, "list.txt")
	writeManifest(t, txt, "# archive, 2026", "a.wav\r", "", "  sub/b.flac  ", "/abs/c.wav")
	got, err := loadManifest(txt, "/out")
	if err != nil {
		t.Fatal(err)
	}
	want := []batchInput{
		{In: filepath.Join(dir, "a.wav"), Where: txt + ":2"},
		{In: filepath.Join(dir, "sub/b.flac"), Where: txt + ":4"},
		{In: "/abs/c.wav", Where: txt + ":5"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("plain manifest:\n got %v\nwant %v", got, want)
	}

	csvPath := filepath.Join(dir, "jobs.CSV")
	writeManifest(t, csvPath, "input,output", "a.wav,one", "# skipped", `"b, with comma.wav", /abs/two`, "c.wav")
	for _, root := range []string{"/out", ""} {
		got, err = loadManifest(csvPath, root)
		if err != nil {
			t.Fatal(err)
		}
		want = []batchInput{
			{In: filepath.Join(dir, "a.wav"), Out: filepath.Join(cmp.Or(root, dir), "one"), Where: csvPath + ":2"},
			{In: filepath.Join(dir, "b, with comma.wav"), Out: "/abs/two", Where: csvPath + ":4"},
			{In: filepath.Join(dir, "c.wav"), Where: csvPath + ":5"},
		}
		if !slices.Equal(got, want) {
			t.Errorf("csv manifest, -o %q:\n got %v\nwant %v", root, got, want)
		}
	}

	bad := []struct{ name, content, want string }{
		{"three.csv", "a.wav,out,extra\n", "three.csv:1: 3 fields"},
		{"empty.csv", "x.wav\n,out\n", "empty.csv:2: empty input path"},
		{"quote.csv", "a.wav\n\"b.wav\n", "quote.csv"},
	}
	for _, b := range bad {
		p := filepath.Join(dir, b.name)
		writeManifest(t, p, b.content)
		if _, err := loadManifest(p, ""); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: error %v, want one containing %q", b.name, err, b.want)
		}
	}
	if _, err := loadManifest(filepath.Join(dir, "nonexistent.txt"), ""); err == nil || !strings.Contains(err.Error(), "nonexistent.txt") {
		t.Errorf("missing manifest: %v", err)
	}
}

// TestBatchUsage: what stops a batch before it starts exits 2 and names the
// cause, and writes nothing.
func TestBatchUsage(t *testing.T) {
	dir := t.TempDir()
	ins := makeInputs(t, dir, 1, 0.5)
	list := filepath.Join(dir, "list.txt")
	writeManifest(t, list, ins[0], filepath.Join(dir, "other", "in00.wav"))
	one := filepath.Join(dir, "one.txt")
	writeManifest(t, one, ins[0])
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"both lists", []string{"--manifest", one, ins[0]}, "not both"},
		{"same stem twice", []string{"--manifest", list}, "would both write to"},
		{"bad shard", []string{"--manifest", one, "--shard", "2/2"}, "from 0 to 1"},
		{"missing manifest", []string{"--manifest", filepath.Join(dir, "nope.txt")}, "nope.txt"},
		{"shard, no inputs", []string{"--shard", "0/2"}, "give input files or --manifest"},
		{"with plot", []string{"--manifest", one, "--plot", dir}, "--plot"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			args := append(append([]string{"separate", "-q"}, demoBases()...), "-o", out)
			code, _, stderr := sepd(t, append(args, tc.args...)...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want 2, and a message containing %q:\n%s", code, tc.want, stderr)
			}
			assertNoFiles(t, out)
		})
	}
}

// TestBatchResume: a bad input is recorded with its reason and the others are
// done (exit 1); a second run skips what is done and leaves it untouched; an
// input whose file changed, an output removed, or another configuration is
// separated again, with the same bytes as a first run would give.
func TestBatchResume(t *testing.T) {
	dir := t.TempDir()
	ins := makeInputs(t, dir, 3, 1)
	list := filepath.Join(dir, "list.txt")
	missing := filepath.Join(dir, "missing.wav")
	writeManifest(t, list, ins[0], filepath.Join(bad, "truncated.wav"), ins[1], missing, ins[2])
	out := filepath.Join(dir, "out")
	base := append(append([]string{"separate", "-q"}, demoBases()...), "-o", out, "--manifest", list, "--jobs", "2")
	summary := filepath.Join(out, "sepd-summary.json")

	code, stdout, stderr := sepd(t, base...)
	if code != exitInputsFailed {
		t.Fatalf("exit %d, want %d (some inputs failed):\n%s\n%s", code, exitInputsFailed, stdout, stderr)
	}
	if !strings.Contains(stderr, "2 of 5 inputs failed") || !strings.Contains(stderr, summary) {
		t.Errorf("message does not say how many failed and where the reasons are:\n%s", stderr)
	}
	s := readSummary(t, summary)
	if s.Inputs != 5 || s.TotalInputs != 5 || s.Done != 3 || s.Skipped != 0 || s.Failed != 2 || s.Interrupted != 0 {
		t.Errorf("summary counts: %+v", s)
	}
	// The inputs are 1 s at 16 kHz (makeInputs).
	if s.AudioSeconds != 3 || s.WallSeconds <= 0 || s.CPUSeconds <= 0 || s.Shard != "0/1" {
		t.Errorf("summary: audio %g s (want 3), wall %g s, CPU %g s, shard %q", s.AudioSeconds, s.WallSeconds, s.CPUSeconds, s.Shard)
	}
	if len(s.Failures) != 2 || !strings.Contains(s.Failures[0].Reason, "truncated.wav") || !strings.Contains(s.Failures[1].Reason, "missing.wav") {
		t.Errorf("failures do not name the files: %+v", s.Failures)
	}
	first := tree(t, out)
	if len(first) != 6 {
		t.Errorf("%d output files, want 3 inputs x 2 sources: %v", len(first), slices.Sorted(maps.Keys(first)))
	}
	stamp := func(p string) time.Time {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return st.ModTime()
	}
	voice0 := filepath.Join(out, "in00", "voice.wav")
	before := stamp(voice0)

	// Again: everything done is skipped, untouched.
	code, _, stderr = sepd(t, base...)
	s = readSummary(t, summary)
	if code != exitInputsFailed || s.Done != 0 || s.Skipped != 3 || s.Failed != 2 || s.SkippedAudioSeconds != 3 {
		t.Errorf("second run: exit %d, summary %+v\n%s", code, s, stderr)
	}
	if !stamp(voice0).Equal(before) {
		t.Error("a skipped input's output was written again")
	}

	// The input changes (its time), an output goes, the bad inputs are fixed.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(ins[1], later, later); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(out, "in02", "noise.wav")); err != nil {
		t.Fatal(err)
	}
	writeManifest(t, list, ins[0], ins[1], ins[2])
	code, _, stderr = sepd(t, base...)
	s = readSummary(t, summary)
	if code != 0 || s.Done != 2 || s.Skipped != 1 || s.Failed != 0 {
		t.Errorf("third run: exit %d, summary %+v\n%s", code, s, stderr)
	}
	if got := tree(t, out); !treesEqual(got, first) {
		t.Error("the outputs separated again differ from the first run's")
	}

	// Another configuration: everything again.
	code, _, stderr = sepd(t, append(base, "--iterations", "3")...)
	s = readSummary(t, summary)
	if code != 0 || s.Done != 3 || s.Skipped != 0 {
		t.Errorf("new configuration: exit %d, summary %+v\n%s", code, s, stderr)
	}
	if got := tree(t, out); treesEqual(got, first) {
		t.Error("3 iterations instead of 10 gave the same bytes: the test shows nothing")
	}
}

func treesEqual(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}

// TestBatchShardsCoverAll: run as N shards for several N, every input is done
// by exactly one shard (from the summaries), and the outputs are byte for byte
// those of one unsharded run.
func TestBatchShardsCoverAll(t *testing.T) {
	dir := t.TempDir()
	ins := makeInputs(t, dir, 7, 0.25)
	list := filepath.Join(dir, "list.txt")
	writeManifest(t, list, ins...)
	run := func(out string, extra ...string) {
		t.Helper()
		args := append(append([]string{"separate", "-q"}, demoBases()...), "-o", out, "--manifest", list, "--jobs", "1")
		if code, stdout, stderr := sepd(t, append(args, extra...)...); code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", extra, code, stdout, stderr)
		}
	}
	whole := filepath.Join(dir, "whole")
	run(whole)
	want := tree(t, whole)
	if len(want) != 14 {
		t.Fatalf("%d files from the whole run, want 7 inputs x 2 sources", len(want))
	}
	for _, n := range []int{2, 3, 9} {
		out := filepath.Join(dir, fmt.Sprint("n", n))
		done := map[string]int{}
		for i := range n {
			run(out, "--shard", fmt.Sprintf("%d/%d", i, n))
			s := readSummary(t, filepath.Join(out, fmt.Sprintf("sepd-summary-%d-of-%d.json", i, n)))
			for _, r := range s.Results {
				if r.Status != statusDone {
					t.Errorf("N=%d shard %d: %s %s", n, i, r.Input, r.Status)
				}
				done[r.Input]++
			}
		}
		for _, in := range ins {
			if done[in] != 1 {
				t.Errorf("N=%d: %s done by %d shards", n, in, done[in])
			}
		}
		if !treesEqual(tree(t, out), want) {
			t.Errorf("N=%d: the outputs differ from the unsharded run's", n)
		}
	}
}

// TestBatchSummaryStdout: --summary - makes a batch of the inputs given as
// arguments and prints the summary, and only it, on stdout (the per-input
// lines go to stderr); the outputs go to DIR/STEM/ even for one input.
func TestBatchSummaryStdout(t *testing.T) {
	dir := t.TempDir()
	ins := makeInputs(t, dir, 1, 0.5)
	out := filepath.Join(dir, "out")
	args := append(append([]string{"separate", "-q"}, demoBases()...), "-o", out, "--summary", "-", ins[0])
	code, stdout, stderr := sepd(t, args...)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var s shardSummary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("stdout is not the JSON summary: %v\n%s", err, stdout)
	}
	if s.Done != 1 || s.AudioSeconds != 0.5 || !strings.Contains(stderr, "done "+ins[0]) {
		t.Errorf("summary %+v; stderr:\n%s", s, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "in00", "voice.wav")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(out, "sepd-summary.json")); err == nil {
		t.Error("with --summary - a summary file was written too")
	}
}

// TestConfigHash: the hash follows what decides the output bytes (a
// parameter, the encoding, the bases' values) and not where the bases file is.
func TestConfigHash(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(demoDir, "bases.npz"))
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(dir, "copy.npz")
	if err := os.WriteFile(copyPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	hash := func(npz string, iters int, enc audio.Encoding) string {
		t.Helper()
		cfg := config.Default()
		cfg.Sources = []config.Source{{Name: "voice", Bases: npz, Array: "voice"}, {Name: "noise", Bases: npz, Array: "noise"}}
		cfg.Separation.Iterations = iters
		plan, err := engine.NewPlan(cfg, 1)
		if err != nil {
			t.Fatal(err)
		}
		return configHash(plan, enc)
	}
	demo := filepath.Join(demoDir, "bases.npz")
	base := hash(demo, 10, audio.Float32)
	if h := hash(copyPath, 10, audio.Float32); h != base {
		t.Error("the same bases from another path changed the hash")
	}
	if h := hash(demo, 11, audio.Float32); h == base {
		t.Error("another iteration count kept the hash")
	}
	if h := hash(demo, 10, audio.PCM16); h == base {
		t.Error("another output encoding kept the hash")
	}
	// One value of the loaded bases changed by a relative 1e-12.
	cfg := config.Default()
	cfg.Sources = []config.Source{{Name: "voice", Bases: demo, Array: "voice"}, {Name: "noise", Bases: demo, Array: "noise"}}
	plan, err := engine.NewPlan(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	plan.Bases.W.Set(3, 5, plan.Bases.W.At(3, 5)*(1+1e-12))
	if configHash(plan, audio.Float32) == base {
		t.Error("a basis value changed by a factor 1+1e-12 kept the hash")
	}
}

// TestBatchNewVersion: a record made by another sepd version does not count:
// every input is separated again.
func TestBatchNewVersion(t *testing.T) {
	dir := t.TempDir()
	ins := makeInputs(t, dir, 2, 0.25)
	out := filepath.Join(dir, "out")
	args := append(append([]string{"separate", "-q"}, demoBases()...), "-o", out, "--summary", filepath.Join(dir, "s.json"))
	args = append(args, ins...)
	if code, _, stderr := sepd(t, args...); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	defer func(v string) { version = v }(version)
	version = "v-next"
	if code, _, stderr := sepd(t, args...); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if s := readSummary(t, filepath.Join(dir, "s.json")); s.Done != 2 || s.Skipped != 0 || s.Version != "v-next" {
		t.Errorf("after a version change: %+v", s)
	}
}
