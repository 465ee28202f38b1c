package separate

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Bases are the spectral bases of the named sources: W holds every source's
// columns side by side, source s owning columns Start[s]:Start[s+1].
//
// A Bases is built by NewBases or LoadBases, which validate it; a Separator
// copies what it needs, so a Bases may be dropped or replaced after
// NewSeparator returns.
type Bases struct {
	Names []string   // source names, in order; unique and non-empty
	W     *mat.Dense // F x K, all sources' columns side by side
	Start []int      // len(Names)+1; source s owns columns Start[s]:Start[s+1]
	// Free is, per source, the number of free columns: the last Free[s]
	// columns of source s are learned online by the Separator
	// (semi-supervised NMF), starting from the values in W; the others are
	// fixed. nil or all zero: every basis is fixed. NewBases sets it to all
	// zero; LoadBases sets it for the sources of BasesFile.Free columns.
	Free []int
	// Recon, when not nil, holds reconstruction bases W' (F x K, the same
	// columns as W): the Separator's masks use W'_s h_s instead of W_s h_s,
	// while the activations h still come from W (see Separator,
	// "Reconstruction bases"). LearnRecon learns them; LoadBases reads them
	// (BasesFile.Recon), taking W's columns for a source without a file.
	// Not with free columns.
	Recon *mat.Dense
}

// F returns the number of frequency bins, the rows of W. It does not allocate.
func (b *Bases) F() int { r, _ := b.W.Dims(); return r }

// K returns the total number of bases, the columns of W. It does not allocate.
func (b *Bases) K() int { _, c := b.W.Dims(); return c }

// NumSources returns the number of named sources. It does not allocate.
func (b *Bases) NumSources() int { return len(b.Names) }

// Source returns the name and the F x K_s view of W for source s. It does not
// copy W. It panics if s is out of range.
func (b *Bases) Source(s int) (name string, w *mat.Dense) {
	f := b.F()
	return b.Names[s], b.W.Slice(0, f, b.Start[s], b.Start[s+1]).(*mat.Dense)
}

// NewBases builds Bases from one F x K_s matrix per named source, in order.
// It copies the matrices into one new F x K matrix and validates them: at
// least one source, names unique and non-empty, every matrix with the same
// number of rows F, every value finite and non-negative, and no all-zero
// column (a zero basis can never be activated and makes the updates divide
// zero by zero). Errors name the source and the offending element.
// NewBases allocates; it panics if len(names) != len(ws).
func NewBases(names []string, ws []*mat.Dense) (*Bases, error) {
	if len(names) != len(ws) {
		panic("separate: NewBases: len(names) != len(ws)")
	}
	descs := make([]sourceDesc, len(names))
	for i, n := range names {
		descs[i] = sourceDesc{name: n, orient: FxK}
	}
	return newBases(descs, ws)
}

// sourceDesc tells validation how to name a source and its elements.
type sourceDesc struct {
	name   string
	path   string      // file it came from, "" when built in memory
	orient Orientation // orientation of the array as it was given
	what   string      // "" for bases, else e.g. "reconstruction bases"
}

// where returns "source "voice"" or "source "voice" (bases/voice.npy)";
// for reconstruction bases "source "voice" reconstruction bases (recon:
// voice.recon.npy)", naming the configuration's key.
func (d sourceDesc) where() string {
	w := fmt.Sprintf("source %q", d.name)
	if d.what != "" {
		w += " " + d.what
	}
	switch {
	case d.path == "":
		return w
	case d.what != "":
		return fmt.Sprintf("%s (recon: %s)", w, d.path)
	}
	return fmt.Sprintf("%s (%s)", w, d.path)
}

// index formats the element (f, k) of our F x K matrix in the layout the user
// gave it in, so that the message points at the element in their array.
func (d sourceDesc) index(f, k int) string {
	if d.orient == KxF {
		return fmt.Sprintf("[%d, %d] (basis %d, bin %d, in the K x F components_ layout)", k, f, k, f)
	}
	return fmt.Sprintf("[%d, %d] (bin %d, basis %d)", f, k, f, k)
}

// column formats basis k as the user sees it.
func (d sourceDesc) column(k int) string {
	if d.orient == KxF {
		return fmt.Sprintf("basis %d (row %d of the K x F components_ array)", k, k)
	}
	return fmt.Sprintf("basis %d (column %d of the F x K array)", k, k)
}

func newBases(descs []sourceDesc, ws []*mat.Dense) (*Bases, error) {
	if len(descs) == 0 {
		return nil, fmt.Errorf("separate: no sources: at least one source with bases is needed")
	}
	seen := make(map[string]int, len(descs))
	f0, k := -1, 0
	for i, d := range descs {
		if d.name == "" {
			if d.path != "" {
				return nil, fmt.Errorf("separate: %s: empty source name: give the file a name (NAME=FILE)", d.path)
			}
			return nil, fmt.Errorf("separate: source %d: empty source name", i)
		}
		if j, dup := seen[d.name]; dup {
			return nil, fmt.Errorf("separate: %s: duplicate source name %q (also used by source %d%s)",
				d.where(), d.name, j, pathSuffix(descs[j].path))
		}
		seen[d.name] = i
		if ws[i] == nil {
			return nil, fmt.Errorf("separate: %s: no bases (nil matrix)", d.where())
		}
		r, c := ws[i].Dims()
		if f0 < 0 {
			f0 = r
		} else if r != f0 {
			return nil, fmt.Errorf("separate: %s: %d frequency bins, but source %q has %d: every source needs the same F",
				d.where(), r, descs[0].name, f0)
		}
		if err := checkValues(d, ws[i]); err != nil {
			return nil, err
		}
		k += c
	}
	w := mat.NewDense(f0, k, nil)
	b := &Bases{
		Names: make([]string, len(descs)),
		W:     w,
		Start: make([]int, len(descs)+1),
		Free:  make([]int, len(descs)),
	}
	col := 0
	for i, d := range descs {
		b.Names[i] = d.name
		b.Start[i] = col
		_, c := ws[i].Dims()
		w.Slice(0, f0, col, col+c).(*mat.Dense).Copy(ws[i])
		col += c
	}
	b.Start[len(descs)] = col
	return b, nil
}

func pathSuffix(p string) string {
	if p == "" {
		return ""
	}
	return ", " + p
}

// checkValues reports the first NaN, Inf or negative element of w, or its
// first all-zero column.
func checkValues(d sourceDesc, w *mat.Dense) error {
	r, c := w.Dims()
	for f := 0; f < r; f++ {
		for k := 0; k < c; k++ {
			x := w.At(f, k)
			switch {
			case math.IsNaN(x):
				return fmt.Errorf("separate: %s: element %s is NaN", d.where(), d.index(f, k))
			case math.IsInf(x, 0):
				return fmt.Errorf("separate: %s: element %s is %v", d.where(), d.index(f, k), x)
			case x < 0:
				return fmt.Errorf("separate: %s: element %s is negative (%g): bases must be non-negative",
					d.where(), d.index(f, k), x)
			}
		}
	}
	for k := 0; k < c; k++ {
		zero := true
		for f := 0; f < r && zero; f++ {
			zero = w.At(f, k) == 0
		}
		if zero {
			return fmt.Errorf("separate: %s: %s is all zero: remove it", d.where(), d.column(k))
		}
	}
	return nil
}

// validate checks the invariants of a Bases that NewBases establishes, for a
// Bases that was assembled by hand.
func (b *Bases) validate() error {
	if b == nil || b.W == nil {
		return fmt.Errorf("separate: no bases")
	}
	f, k := b.W.Dims()
	n := len(b.Names)
	if n == 0 {
		return fmt.Errorf("separate: no sources")
	}
	if len(b.Start) != n+1 || b.Start[0] != 0 || b.Start[n] != k {
		return fmt.Errorf("separate: Bases.Start = %v does not split %d columns among %d sources", b.Start, k, n)
	}
	for s := 0; s < n; s++ {
		if b.Start[s+1] <= b.Start[s] {
			return fmt.Errorf("separate: source %q has no columns (Start = %v)", b.Names[s], b.Start)
		}
	}
	if b.Free != nil && len(b.Free) != n {
		return fmt.Errorf("separate: len(Bases.Free) = %d, want %d (one per source)", len(b.Free), n)
	}
	for s, fr := range b.Free {
		if fr < 0 || fr > b.Start[s+1]-b.Start[s] {
			return fmt.Errorf("separate: source %q: %d free bases, but the source has %d columns", b.Names[s], fr, b.Start[s+1]-b.Start[s])
		}
	}
	descs := make([]sourceDesc, n)
	ws := make([]*mat.Dense, n)
	for s := range n {
		descs[s] = sourceDesc{name: b.Names[s], orient: FxK}
		ws[s] = b.W.Slice(0, f, b.Start[s], b.Start[s+1]).(*mat.Dense)
	}
	if _, err := newBases(descs, ws); err != nil {
		return err
	}
	return b.validateRecon()
}

// validateRecon checks Bases.Recon: the shape of W, finite, non-negative,
// no all-zero column, and no free columns beside it.
func (b *Bases) validateRecon() error {
	if b.Recon == nil {
		return nil
	}
	f, k := b.W.Dims()
	if r, c := b.Recon.Dims(); r != f || c != k {
		return fmt.Errorf("separate: reconstruction bases of %dx%d, the bases are %dx%d: they need the same shape", r, c, f, k)
	}
	for s, fr := range b.Free {
		if fr > 0 {
			return fmt.Errorf("separate: source %q has free bases and the sources have reconstruction bases: not both", b.Names[s])
		}
	}
	for s := range b.Names {
		d := sourceDesc{name: b.Names[s], orient: FxK, what: "reconstruction bases"}
		if err := checkValues(d, b.Recon.Slice(0, f, b.Start[s], b.Start[s+1]).(*mat.Dense)); err != nil {
			return err
		}
	}
	return nil
}
