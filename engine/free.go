package engine

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sepd/sepd/internal/atomicfile"
	"github.com/sepd/sepd/separate"
)

// FreeSources returns the names of the sources of b that have free bases
// (semi-supervised: learned online). It allocates.
func FreeSources(b *separate.Bases) []string {
	var names []string
	for i, n := range b.Names {
		if b.Free != nil && b.Free[i] > 0 {
			names = append(names, n)
		}
	}
	return names
}

// SaveFree saves the free bases that e learned for the sources names as
// dir/NAME.npy (F x R float32, unit L1 columns), creating dir, through
// temporary names: none is renamed into place unless all were written, and a
// failure leaves no file behind. For each saved source it writes a line to
// report (nil: none) saying how to use the file as fixed bases. It allocates.
func SaveFree(dir string, e *Engine, names []string, report io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("engine: saving free bases: %w", err)
	}
	var files []*atomicfile.File
	abort := func() {
		for _, f := range files {
			f.Abort()
		}
	}
	for _, n := range names {
		final := filepath.Join(dir, n+".npy")
		f, err := atomicfile.Create(final)
		if err != nil {
			abort()
			return fmt.Errorf("engine: saving free bases: %w", err)
		}
		files = append(files, f)
		err = separate.WriteNPY(f, e.Separator().FreeBases(n))
		if err == nil {
			err = f.Finish()
		}
		if err != nil {
			abort()
			return fmt.Errorf("engine: writing %s: %w", final, err)
		}
	}
	for i, f := range files {
		// A folder that could not be synced after the rename leaves the
		// file whole under its name: not a failure to save.
		if err := f.Commit(); err != nil && !errors.Is(err, atomicfile.ErrFolderSync) {
			abort() // the ones not renamed yet
			return fmt.Errorf("engine: saving free bases: %w", err)
		}
		if report != nil {
			r, k := e.Separator().FreeBases(names[i]).Dims()
			fmt.Fprintf(report, "free bases of %s (%dx%d) -> %s: use them as fixed bases with {name: %s, bases: %s}\n",
				names[i], r, k, f.Path(), names[i], f.Path())
		}
	}
	return nil
}
