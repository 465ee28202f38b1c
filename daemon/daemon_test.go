package daemon_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/config"
	"github.com/sepd/sepd/daemon"
)

// The demo's fixture: 8 s of speech over noise at 16 kHz and its bases
// (cmd/sepd/demo, made by testdata/demo's script).
const (
	demoMix   = "../cmd/sepd/demo/mix.wav"
	demoBases = "../cmd/sepd/demo/bases.npz"
)

// setup writes a configuration with the given input line and two sources
// writing voice.wav and noise.wav into a temporary folder, and loads it.
func setup(t *testing.T, input string) (*config.Config, string) {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(demoBases)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bases.npz"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	text := "input: " + input + `
stft: {fft_size: 1024, hop: 256}
sources:
  - {name: voice, bases: bases.npz, output: {file: voice.wav}}
  - {name: noise, bases: bases.npz, output: {file: noise.wav}}
`
	path := filepath.Join(dir, "sepd.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, dir
}

// demoMixPath returns the demo mixture's absolute path (the configuration
// lives in a temporary folder).
func demoMixPath(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(demoMix)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// records is a slog handler that keeps the messages of the records.
type records struct {
	mu   sync.Mutex
	msgs []string
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.msgs = append(r.msgs, rec.Message)
	r.mu.Unlock()
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

func (r *records) count(msg string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.msgs {
		if m == msg {
			n++
		}
	}
	return n
}

// TestRunFile runs the daemon in-process on the demo mixture, as fast as the
// CPU allows: it ends by itself at the end of the input, and the two files
// have the input's exact length and sum to it (the masks sum to one) to
// 1e-5, float32 rounding of the two files with room (as cmd/sepd's
// checkOutputs).
func TestRunFile(t *testing.T) {
	mixPath := demoMixPath(t)
	cfg, dir := setup(t, "{file: "+mixPath+"}")
	var rec records
	if err := daemon.Run(context.Background(), daemon.Options{Config: cfg, Log: slog.New(&rec), Version: "test"}); err != nil {
		t.Fatal(err)
	}
	mix, _, err := audio.ReadAll(mixPath)
	if err != nil {
		t.Fatal(err)
	}
	var ys [2][]float64
	for i, s := range []string{"voice", "noise"} {
		y, _, err := audio.ReadAll(filepath.Join(dir, s+".wav"))
		if err != nil {
			t.Fatal(err)
		}
		if len(y[0]) != len(mix[0]) {
			t.Fatalf("%s.wav: %d samples, the input %d", s, len(y[0]), len(mix[0]))
		}
		ys[i] = y[0]
	}
	worst := 0.0
	for i, v := range mix[0] {
		worst = max(worst, math.Abs(ys[0][i]+ys[1][i]-v))
	}
	if worst > 1e-5 {
		t.Errorf("voice + noise - input: up to %.3g, want within 1e-5", worst)
	}
	if rec.count("running") != 1 || rec.count("stopped") != 1 {
		t.Errorf(`want one "running" and one "stopped" record; got %q`, rec.msgs)
	}
}

// TestRunReload replays the demo mixture in real time, asks for a reload
// through Options.Reload (what the command does on SIGHUP) after a changed
// file is written, and stops the run through its context: one "reloaded"
// record, a clean stop (nil), and both files complete and of equal length.
func TestRunReload(t *testing.T) {
	cfg, dir := setup(t, "{file: "+demoMixPath(t)+", realtime: true}")
	var rec records
	reload := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Options{Config: cfg, Log: slog.New(&rec), Version: "test", Reload: reload})
	}()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for start := time.Now(); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Since(start) > 20*time.Second {
				t.Fatalf("no %s after 20 s; records %q", what, rec.msgs)
			}
		}
	}
	waitFor(`"running"`, func() bool { return rec.count("running") == 1 })
	b, err := os.ReadFile(cfg.Path)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(b), "stft: {fft_size: 1024, hop: 256}", "stft: {fft_size: 1024, hop: 256}\nseparation: {iterations: 5}", 1)
	if err := os.WriteFile(cfg.Path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	reload <- struct{}{}
	waitFor(`"reloaded"`, func() bool { return rec.count("reloaded") == 1 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after the context was cancelled: %v", err)
	}
	v, _, err := audio.ReadAll(filepath.Join(dir, "voice.wav"))
	if err != nil {
		t.Fatal(err)
	}
	n, _, err := audio.ReadAll(filepath.Join(dir, "noise.wav"))
	if err != nil {
		t.Fatal(err)
	}
	if len(v[0]) == 0 || len(v[0]) != len(n[0]) {
		t.Errorf("voice.wav %d samples, noise.wav %d: want the same, not 0", len(v[0]), len(n[0]))
	}
}

// TestRunSetupError: a configuration whose input file is missing is a
// *SetupError that names the file (the command exits 2).
func TestRunSetupError(t *testing.T) {
	cfg, dir := setup(t, "{file: missing.wav}")
	err := daemon.Run(context.Background(), daemon.Options{Config: cfg})
	var se *daemon.SetupError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "missing.wav") {
		t.Fatalf("Run: %v; want a *SetupError naming missing.wav (in %s)", err, dir)
	}
}
