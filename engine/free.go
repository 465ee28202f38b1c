package engine

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

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
	var temps, finals []string
	removeTemps := func() {
		for _, t := range temps {
			os.Remove(t)
		}
	}
	for _, n := range names {
		final := filepath.Join(dir, n+".npy")
		f, err := os.CreateTemp(dir, "."+n+".npy.tmp-*")
		if err != nil {
			removeTemps()
			return fmt.Errorf("engine: saving free bases: %w", err)
		}
		temps = append(temps, f.Name())
		err = separate.WriteNPY(f, e.Separator().FreeBases(n))
		if err == nil {
			err = f.Sync()
		}
		if err == nil {
			err = f.Chmod(0o644)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			removeTemps()
			return fmt.Errorf("engine: writing %s: %w", final, err)
		}
		finals = append(finals, final)
	}
	for i, t := range temps {
		if err := os.Rename(t, finals[i]); err != nil {
			for _, rest := range temps[i:] {
				os.Remove(rest)
			}
			return fmt.Errorf("engine: saving free bases: %w", err)
		}
		if report != nil {
			r, k := e.Separator().FreeBases(names[i]).Dims()
			fmt.Fprintf(report, "free bases of %s (%dx%d) -> %s: use them as fixed bases with {name: %s, bases: %s}\n",
				names[i], r, k, finals[i], names[i], finals[i])
		}
	}
	return nil
}
