package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
)

// ErrFolderSync marks an error of Commit after the rename: the file is
// complete under its name, only the folder's fsync failed.
var ErrFolderSync = errors.New("the folder could not be synced")

// File is a file being written under a temporary name beside its final
// path. Write to it as to the *os.File it embeds (Write, WriteAt, Seek...),
// then Commit it, or Abort it to leave the path as it was.
type File struct {
	*os.File
	path, tmp string
	state     state
}

type state int

const (
	writing  state = iota
	finished       // synced and closed, not renamed yet
	committed
	aborted
)

// Create creates a new, empty file named ".BASE.tmp-XXXXXXXX" in the folder
// of path, where BASE is path's last element, open for writing. Its mode is
// 0666 before the umask, as os.Create gives (os.CreateTemp's 0600 would stay
// with the renamed file). The error is os.OpenFile's, which names the
// temporary file (and so the folder).
func Create(path string) (*File, error) {
	dir, base := filepath.Split(path)
	for range 100 {
		tmp := filepath.Join(dir, fmt.Sprintf(".%s.tmp-%08x", base, rand.Uint32()))
		f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &File{File: f, path: path, tmp: tmp}, nil
	}
	return nil, fmt.Errorf("create a temporary file beside %s: 100 names taken", path)
}

// Path is the final path; TempName the temporary file's.
func (f *File) Path() string     { return f.path }
func (f *File) TempName() string { return f.tmp }

// Finish fsyncs and closes the temporary file, which stays under its
// temporary name until Commit: for writing several files and renaming them
// only once all are written. It is idempotent; on an error the file is
// closed and is left for Abort to remove.
func (f *File) Finish() error {
	if f.state != writing {
		return nil
	}
	f.state = finished
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Commit finishes the file and renames it over the final path, then fsyncs
// the folder. On an error before the rename the temporary file is left for
// Abort to remove; after the rename the error wraps ErrFolderSync. A folder
// that cannot be fsynced (EINVAL: some file systems do not support it) is
// not an error.
func (f *File) Commit() error {
	switch f.state {
	case committed:
		return nil
	case aborted:
		return fmt.Errorf("commit %s after abort: %w", f.path, os.ErrClosed)
	}
	if err := f.Finish(); err != nil {
		return err
	}
	if err := os.Rename(f.tmp, f.path); err != nil {
		return err
	}
	f.state = committed
	d, err := os.Open(filepath.Dir(f.path))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrFolderSync, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("%w: %w", ErrFolderSync, err)
	}
	return nil
}

// Abort closes and removes the temporary file, leaving the final path as it
// was. It is idempotent and does nothing after Commit; its error is only
// that of the removal (a temporary file already gone is none).
func (f *File) Abort() error {
	if f.state == committed || f.state == aborted {
		return nil
	}
	if f.state == writing {
		f.Close()
	}
	f.state = aborted
	if err := os.Remove(f.tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Write writes path through a temporary file with write, and commits it; on
// any error the path is left as it was (but for ErrFolderSync: see Commit)
// and the temporary file is removed.
func Write(path string, write func(io.Writer) error) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Abort()
		return err
	}
	if err := f.Commit(); err != nil {
		f.Abort()
		return err
	}
	return nil
}
