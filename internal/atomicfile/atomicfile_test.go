package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

var tempName = regexp.MustCompile(`^\.out\.txt\.tmp-[0-9a-f]{8}$`)

// names lists dir's entries.
func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range es {
		n = append(n, e.Name())
	}
	return n
}

// TestCommit: while written, the file exists only under its hidden
// temporary name, with os.Create's mode; after Commit only under its path,
// whole, over what was there.
func TestCommit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, "new, longer"); err != nil {
		t.Fatal(err)
	}
	n := names(t, dir)
	if len(n) != 2 || !tempName.MatchString(n[0]) || n[1] != "out.txt" { // ReadDir sorts
		t.Fatalf("while writing: folder holds %q, want out.txt and .out.txt.tmp-XXXXXXXX", n)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Fatalf("while writing, the path holds %q", b)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := names(t, dir); len(n) != 1 || n[0] != "out.txt" {
		t.Errorf("after Commit: folder holds %q, want only out.txt", n)
	}
	if b, _ := os.ReadFile(path); string(b) != "new, longer" {
		t.Errorf("after Commit, the path holds %q", b)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v (%v), want 0644 (0666 less the umask 022)", fi.Mode().Perm(), err)
	}
	if err := f.Commit(); err != nil {
		t.Errorf("a second Commit: %v", err)
	}
	if err := f.Abort(); err != nil {
		t.Errorf("Abort after Commit: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new, longer" {
		t.Errorf("Abort after Commit changed the path: %q", b)
	}
}

// TestAbort: an aborted file leaves the path as it was and no temporary
// file, from either state; Commit after Abort fails.
func TestAbort(t *testing.T) {
	for _, finish := range []bool{false, true} {
		dir := t.TempDir()
		path := filepath.Join(dir, "out.txt")
		if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := Create(path)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(f, "half")
		if finish {
			if err := f.Finish(); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Abort(); err != nil {
			t.Fatal(err)
		}
		if err := f.Abort(); err != nil {
			t.Errorf("a second Abort: %v", err)
		}
		if n := names(t, dir); len(n) != 1 || n[0] != "out.txt" {
			t.Errorf("finish %v: after Abort the folder holds %q", finish, n)
		}
		if b, _ := os.ReadFile(path); string(b) != "old" {
			t.Errorf("finish %v: after Abort the path holds %q", finish, b)
		}
		if err := f.Commit(); !errors.Is(err, os.ErrClosed) {
			t.Errorf("Commit after Abort: %v, want os.ErrClosed", err)
		}
	}
}

// TestFinishThenCommit: files finished one by one are renamed only at
// Commit (how several files are made to appear together).
func TestFinishThenCommit(t *testing.T) {
	dir := t.TempDir()
	var fs []*File
	for _, n := range []string{"a", "b"} {
		f, err := Create(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(f, n)
		if err := f.Finish(); err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	for _, n := range names(t, dir) {
		if !strings.HasPrefix(n, ".") {
			t.Fatalf("before Commit, %s is visible", n)
		}
	}
	for _, f := range fs {
		if err := f.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if n := names(t, dir); len(n) != 2 || n[0] != "a" || n[1] != "b" {
		t.Errorf("after Commit: %q", n)
	}
}

// TestWrite: a write that fails leaves nothing; one that succeeds leaves
// the file; a missing folder is an error that names it.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	boom := errors.New("boom")
	if err := Write(path, func(w io.Writer) error { io.WriteString(w, "half"); return boom }); !errors.Is(err, boom) {
		t.Errorf("a failing write: %v, want boom", err)
	}
	if n := names(t, dir); len(n) != 0 {
		t.Errorf("after a failing write the folder holds %q", n)
	}
	if err := Write(path, func(w io.Writer) error { _, err := io.WriteString(w, "whole"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "whole" {
		t.Errorf("the path holds %q", b)
	}
	missing := filepath.Join(dir, "missing", "out.txt")
	err := Write(missing, func(w io.Writer) error { return nil })
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), filepath.Join(dir, "missing")+"/.out.txt.tmp-") {
		t.Errorf("a missing folder: %v, want ErrNotExist naming the folder", err)
	}
}
