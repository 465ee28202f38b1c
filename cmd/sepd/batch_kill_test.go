package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// batchBinary starts the real sepd binary on a batch with these extra
// arguments and returns it running, once it has printed its first line (by
// then its signal handlers are installed).
func batchBinary(t *testing.T, list, out string, extra ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	bin, err := sepdBinary()
	if err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{"separate", "-q"}, demoBases()...), "-o", out, "--manifest", list, "--jobs", "2")
	cmd := exec.Command(bin, append(args, extra...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout := &firstLine{seen: make(chan struct{})}
	cmd.Stdout = stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stdout.seen:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("sepd printed nothing in a minute\n%s", stderr.String())
	}
	return cmd, &stderr
}

// firstLine is a writer that closes seen at the first newline written to it.
type firstLine struct {
	mu   sync.Mutex
	done bool
	seen chan struct{}
}

func (f *firstLine) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.done && bytes.IndexByte(p, '\n') >= 0 {
		f.done = true
		close(f.seen)
	}
	return len(p), nil
}

// exitStatus waits for cmd and returns its exit status, or -signal when a
// signal ended it.
func exitStatus(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -int(ws.Signal())
		}
		return ee.ExitCode()
	}
	t.Fatal(err)
	return 0
}

// checkVisible: after a kill, every file under out that a user sees (no
// leading dot) is whole: an output has exactly the bytes of the uninterrupted
// run's, and a record or summary is valid JSON.
func checkVisible(t *testing.T, out string, want map[string][]byte) {
	t.Helper()
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Error(err)
			return nil
		}
		if filepath.Ext(p) == ".json" {
			if !json.Valid(data) {
				t.Errorf("%s: not whole JSON after a kill", rel)
			}
			return nil
		}
		if w, ok := want[rel]; !ok || !bytes.Equal(data, w) {
			t.Errorf("%s: visible after a kill but not the finished output (%d bytes, want %d)", rel, len(data), len(w))
		}
		return nil
	})
}

// hasHidden reports whether a hidden (temporary) file is under out.
func hasHidden(out string) bool {
	found := false
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		found = found || err == nil && strings.HasPrefix(d.Name(), ".")
		return nil
	})
	return found
}

// noHidden: nothing hidden (a temporary file) is left under out.
func noHidden(t *testing.T, out string) {
	t.Helper()
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".") {
			t.Errorf("left behind: %s", p)
		}
		return err
	})
}

// TestBatchKilled: the real binary is killed with SIGKILL at random moments
// and started again, several times over; no visible file is ever partial, and
// the run that finishes leaves byte for byte the files of an uninterrupted run
// and no temporary file. SIGTERM instead stops it with exit status 3 (or 0 if
// it had finished) and a summary that says what is left.
func TestBatchKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	ins := makeInputs(t, dir, 8, 2)
	list := filepath.Join(dir, "list.txt")
	writeManifest(t, list, ins...)

	if _, err := sepdBinary(); err != nil {
		t.Fatal(err)
	}
	ref := filepath.Join(dir, "ref")
	t0 := time.Now()
	cmd, stderr := batchBinary(t, list, ref)
	if code := exitStatus(t, cmd); code != 0 {
		t.Fatalf("uninterrupted run: exit %d\n%s", code, stderr)
	}
	whole := time.Since(t0)
	want := tree(t, ref)
	if len(want) != 16 {
		t.Fatalf("%d files, want 8 inputs x 2 sources", len(want))
	}

	seed := uint64(time.Now().UnixNano())
	t.Logf("uninterrupted run %v; seed %d", whole, seed)
	rng := rand.New(rand.NewPCG(seed, 14))
	total, midWrite := 0, 0
	for trial := range 3 {
		sig := syscall.SIGKILL
		if trial == 2 {
			sig = syscall.SIGTERM
		}
		out := filepath.Join(dir, fmt.Sprint("run", trial))
		// Start, stop at a random moment within half an
		// uninterrupted run's time, start again, until a run finishes on
		// its own.
		interrupted, finished := 0, false
		for !finished && interrupted < 12 {
			cmd, stderr := batchBinary(t, list, out)
			delay := time.Duration(rng.Int64N(int64(whole) / 2))
			timer := time.AfterFunc(delay, func() { cmd.Process.Signal(sig) })
			code := exitStatus(t, cmd)
			timer.Stop()
			switch {
			case code == 0:
				finished = true
			case sig == syscall.SIGKILL && code == -int(syscall.SIGKILL),
				sig == syscall.SIGTERM && code == exitInterrupted:
				interrupted++
			default:
				t.Fatalf("trial %d: %v after %v: exit %d\n%s", trial, sig, delay, code, stderr)
			}
			checkVisible(t, out, want)
			if code != 0 && hasHidden(out) {
				midWrite++
			}
			if sig == syscall.SIGTERM && code == exitInterrupted {
				s := readSummary(t, filepath.Join(out, "sepd-summary.json"))
				if s.Interrupted == 0 || s.Done+s.Skipped+s.Interrupted != 8 {
					t.Errorf("summary after SIGTERM: %+v", s)
				}
			}
		}
		if !finished {
			cmd, stderr := batchBinary(t, list, out)
			if code := exitStatus(t, cmd); code != 0 {
				t.Fatalf("trial %d: the last run: exit %d\n%s", trial, code, stderr)
			}
		}
		t.Logf("trial %d: stopped %d times by %v before a run finished", trial, interrupted, sig)
		total += interrupted
		if got := tree(t, out); !treesEqual(got, want) {
			t.Errorf("trial %d: after the kills the files differ from an uninterrupted run's", trial)
		}
		noHidden(t, out)
	}
	t.Logf("%d stops, %d of them while an output was being written", total, midWrite)
	if midWrite == 0 {
		t.Error("no run was stopped while writing an output: the test showed nothing")
	}
}

// TestBatchParallelShards: two shards run at once as two processes, as GNU
// parallel or a Slurm array on one host runs them, into one folder: together
// they leave the files of one unsharded run.
func TestBatchParallelShards(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	ins := makeInputs(t, dir, 5, 1)
	list := filepath.Join(dir, "list.txt")
	writeManifest(t, list, ins...)
	ref := filepath.Join(dir, "ref")
	cmd, stderr := batchBinary(t, list, ref)
	if code := exitStatus(t, cmd); code != 0 {
		t.Fatalf("unsharded run: exit %d\n%s", code, stderr)
	}
	out := filepath.Join(dir, "out")
	a, ea := batchBinary(t, list, out, "--shard", "0/2", "--jobs", "1")
	b, eb := batchBinary(t, list, out, "--shard", "1/2", "--jobs", "1")
	if ca, cb := exitStatus(t, a), exitStatus(t, b); ca != 0 || cb != 0 {
		t.Fatalf("exit %d and %d\n%s\n%s", ca, cb, ea, eb)
	}
	if !treesEqual(tree(t, out), tree(t, ref)) {
		t.Error("two shards in parallel left other files than one run")
	}
	s0 := readSummary(t, filepath.Join(out, "sepd-summary-0-of-2.json"))
	s1 := readSummary(t, filepath.Join(out, "sepd-summary-1-of-2.json"))
	if s0.Done != 3 || s1.Done != 2 {
		t.Errorf("shards did %d and %d inputs, want 3 and 2 (inputs 0, 2, 4 and 1, 3)", s0.Done, s1.Done)
	}
	noHidden(t, out)
}
