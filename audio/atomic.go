package audio

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
)

// createTempBeside creates a new, empty file named ".<base>.tmp-XXXXXXXX" in
// the folder of path, where base is path's last element, and returns it open
// for writing with its name. Unlike os.CreateTemp the mode is 0666 before the
// umask, as os.Create gives, so that the renamed file has ordinary permissions.
// Being in the same folder keeps the final rename on one file system (atomic)
// and the leftovers of a killed process next to the file they were meant to
// become, hidden by the leading dot.
func createTempBeside(path string) (*os.File, string, error) {
	dir, base := filepath.Split(path)
	for range 100 {
		name := filepath.Join(dir, fmt.Sprintf(".%s.tmp-%08x", base, rand.Uint32()))
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		return f, name, nil
	}
	return nil, "", fmt.Errorf("create a temporary file beside %s: 100 names taken", path)
}

// commitTemp makes the complete temporary file f (named tmp) the file path:
// fsync f, close it, rename it over path, fsync the folder so that the rename
// itself survives a crash. f is closed whatever happens; on an error before the
// rename, tmp is left for the caller to remove. The returned error says which
// step failed. A folder that cannot be fsynced (EINVAL: some file systems do
// not support it) is not an error.
func commitTemp(f *os.File, tmp, path string) (renamed bool, err error) {
	if err := f.Sync(); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Close(); err != nil {
		return false, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return false, err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return true, err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return true, err
	}
	return true, nil
}
