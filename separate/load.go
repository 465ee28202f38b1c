package separate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"codeberg.org/sbinet/npyio/npy"
	"codeberg.org/sbinet/npyio/npz"
	"gonum.org/v1/gonum/mat"
)

// Orientation is the layout a bases array was stored in.
type Orientation int

const (
	// FxK is our layout: one basis per column, F rows.
	FxK Orientation = iota
	// KxF is scikit-learn's components_ layout: one basis per row, F columns.
	KxF
)

// String returns "F x K" or "K x F (sklearn components_)".
func (o Orientation) String() string {
	switch o {
	case FxK:
		return "F x K"
	case KxF:
		return "K x F (sklearn components_)"
	}
	return fmt.Sprintf("Orientation(%d)", int(o))
}

// BasesFile names one source and the numpy file holding its bases: a .npy
// with one 2-D array, or a .npz with one array per source name. Name may be
// empty for a .npz, which then provides every array it holds, in its order,
// each named after its array.
//
// Array, if set, names the .npz array to read for this source instead of
// Name (the config's `array:` key).
//
// A source with Free > 0 has no file (Path is empty): it gets Free bases
// that the Separator learns online (semi-supervised NMF), starting from
// seeded random columns that depend only on Name and F.
//
// Recon, if set, is a .npy with the source's reconstruction bases
// (Bases.Recon): as many bases as the source has, stored F x K or K x F
// like the bases. Not with Free, nor with a .npz that holds several sources
// (empty Name).
type BasesFile struct {
	Name, Path string
	Array      string
	Free       int
	Recon      string
}

// LoadReport tells what LoadBases read for one source.
type LoadReport struct {
	Name        string      // source name
	Path        string      // file it came from
	Rows, Cols  int         // shape of the array as stored
	Orientation Orientation // how the array was read
	DType       string      // "float32" or "float64"; "" for free bases
	Free        int         // number of free bases (then Path is "", Rows = F and Cols = Free)
	Recon       string      // the file of the source's reconstruction bases, "" without
}

// String describes the load for a log line, e.g.
// `voice: voice.npy float32 32x513 read as sklearn components_ (K x F), K=32`.
// It allocates.
func (r LoadReport) String() string {
	if r.Free > 0 {
		return fmt.Sprintf("%s: %d free bases of %d bins, learned online from a seeded start", r.Name, r.Free, r.Rows)
	}
	if r.Recon != "" {
		r2 := r
		r2.Recon = ""
		return r2.String() + "; masks from the reconstruction bases " + r.Recon
	}
	src := r.Path
	if strings.EqualFold(extOf(r.Path), ".npz") {
		src = fmt.Sprintf("%s[%s]", r.Path, r.Name)
	}
	switch {
	case r.Rows == r.Cols:
		return fmt.Sprintf("%s: %s %s %dx%d read as F x K (ours), K=%d; K == F so sklearn's components_ (K x F) would fit too: transpose the file if it is one",
			r.Name, src, r.DType, r.Rows, r.Cols, r.Cols)
	case r.Orientation == KxF:
		return fmt.Sprintf("%s: %s %s %dx%d read as sklearn components_ (K x F), K=%d",
			r.Name, src, r.DType, r.Rows, r.Cols, r.Rows)
	default:
		return fmt.Sprintf("%s: %s %s %dx%d read as F x K (ours), K=%d",
			r.Name, src, r.DType, r.Rows, r.Cols, r.Cols)
	}
}

func extOf(p string) string {
	i := strings.LastIndexByte(p, '.')
	if i < 0 || strings.ContainsAny(p[i:], `/\`) {
		return ""
	}
	return p[i:]
}

// maxArrayBytes bounds what one array may claim, so that a corrupt header or a
// zip bomb is an error rather than an out-of-memory crash. 1 GiB is far above
// any useful bases matrix (F = 8193, K = 8192 in float64 is 512 MiB).
const maxArrayBytes = 1 << 30

// LoadBases reads the bases of every source and validates them for
// fft_size fftSize, whose spectra have F = fftSize/2+1 bins. Each array may
// be stored F x K (ours) or K x F (scikit-learn's components_, as saved by
// numpy.save(path, model.components_)); a square array (K == F) is read as
// F x K and the report says so. float32 and float64, C and Fortran order,
// and either byte order are accepted. Files are recognised by content, not by
// extension.
//
// The reports, one per source, say how each array was read. Errors wrap the
// cause with %w and name the file and the source: an unreadable or corrupt
// file, an array that is not 2-D or not float, a shape that fits neither
// layout (with the F that fftSize implies), NaN or Inf (with its index),
// negative values, an all-zero basis, a duplicate or empty name, a .npz
// without the requested array (listing the arrays it has), a source with both
// a file and free bases; for reconstruction bases (BasesFile.Recon) the
// same, naming them and their file, and a shape other than the bases'.
// LoadBases allocates; it does not panic on any file content.
func LoadBases(files []BasesFile, fftSize int) (*Bases, []LoadReport, error) {
	if fftSize < 2 {
		return nil, nil, fmt.Errorf("separate: fft_size %d: must be at least 2", fftSize)
	}
	F := fftSize/2 + 1
	var (
		descs   []sourceDesc
		ws      []*mat.Dense
		reports []LoadReport
	)
	var free []int
	recon := map[int]string{} // index into descs -> reconstruction bases file
	for _, bf := range files {
		if bf.Recon != "" {
			switch {
			case bf.Free != 0:
				return nil, nil, fmt.Errorf("separate: source %q: reconstruction bases (%s) and %d free bases: not both", bf.Name, bf.Recon, bf.Free)
			case bf.Name == "":
				return nil, nil, fmt.Errorf("separate: %s: reconstruction bases (%s) need a source name", bf.Path, bf.Recon)
			}
			recon[len(descs)] = bf.Recon
		}
		if bf.Free != 0 {
			switch {
			case bf.Name == "":
				return nil, nil, fmt.Errorf("separate: a source of %d free bases needs a name", bf.Free)
			case bf.Path != "":
				return nil, nil, fmt.Errorf("separate: source %q: both a bases file (%s) and %d free bases: give one", bf.Name, bf.Path, bf.Free)
			case bf.Free < 0:
				return nil, nil, fmt.Errorf("separate: source %q: %d free bases: must be at least 1", bf.Name, bf.Free)
			}
			descs = append(descs, sourceDesc{name: bf.Name, orient: FxK})
			ws = append(ws, initFreeColumns(F, bf.Free, bf.Name))
			reports = append(reports, LoadReport{Name: bf.Name, Rows: F, Cols: bf.Free, Free: bf.Free})
			free = append(free, bf.Free)
			continue
		}
		data, err := os.ReadFile(bf.Path)
		if err != nil {
			return nil, nil, fmt.Errorf("separate: source %q: %w", bf.Name, err)
		}
		var arrays []namedArray
		switch {
		case bytes.HasPrefix(data, []byte("PK")):
			arrays, err = readNPZ(data, bf)
		case bytes.HasPrefix(data, npy.Magic[:]):
			if bf.Name == "" {
				return nil, nil, fmt.Errorf("separate: %s: empty source name: a .npy holds one source, give it a name (NAME=FILE)", bf.Path)
			}
			var a array
			a, err = parseNPY(data)
			arrays = []namedArray{{name: bf.Name, array: a}}
		default:
			err = errors.New("neither a numpy .npy nor a .npz file (bad magic bytes)")
		}
		if err != nil {
			if bf.Name == "" {
				return nil, nil, fmt.Errorf("separate: %s: %w", bf.Path, err)
			}
			return nil, nil, fmt.Errorf("separate: source %q (%s): %w", bf.Name, bf.Path, err)
		}
		for _, a := range arrays {
			w, o, err := orient(a.array, F)
			if err != nil {
				return nil, nil, fmt.Errorf("separate: source %q (%s): %w for F = %d (fft_size %d: F = fft_size/2+1)",
					a.name, bf.Path, err, F, fftSize)
			}
			descs = append(descs, sourceDesc{name: a.name, path: bf.Path, orient: o})
			ws = append(ws, w)
			free = append(free, 0)
			reports = append(reports, LoadReport{
				Name: a.name, Path: bf.Path, Rows: a.rows, Cols: a.cols,
				Orientation: o, DType: a.dtype,
			})
		}
	}
	b, err := newBases(descs, ws)
	if err != nil {
		return nil, nil, err
	}
	copy(b.Free, free)
	if len(recon) > 0 {
		if err := loadRecon(b, recon, reports, fftSize); err != nil {
			return nil, nil, err
		}
	}
	return b, reports, nil
}

// loadRecon sets b.Recon: W, with the columns of every source in files
// (source index -> .npy path) replaced by that file's array, validated
// as bases are and with the source's shape.
func loadRecon(b *Bases, files map[int]string, reports []LoadReport, fftSize int) error {
	f := b.F()
	b.Recon = mat.DenseCopyOf(b.W)
	for s, path := range files {
		d := sourceDesc{name: b.Names[s], path: path, what: "reconstruction bases"}
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("separate: %s: %w", d.where(), err)
		}
		if !bytes.HasPrefix(data, npy.Magic[:]) {
			return fmt.Errorf("separate: %s: not a numpy .npy file (bad magic bytes)", d.where())
		}
		a, err := parseNPY(data)
		if err != nil {
			return fmt.Errorf("separate: %s: %w", d.where(), err)
		}
		w, o, err := orient(a, f)
		k := b.Start[s+1] - b.Start[s]
		if err == nil && w.RawMatrix().Cols != k {
			err = fmt.Errorf("shape %dx%d holds %d bases, the source has %d", a.rows, a.cols, w.RawMatrix().Cols, k)
		}
		if err != nil {
			return fmt.Errorf("separate: %s: %w for F = %d (fft_size %d) and the source's K = %d", d.where(), err, f, fftSize, k)
		}
		d.orient = o
		if err := checkValues(d, w); err != nil {
			return err
		}
		b.Recon.Slice(0, f, b.Start[s], b.Start[s+1]).(*mat.Dense).Copy(w)
		reports[s].Recon = path
	}
	return nil
}

// array is a 2-D array as stored, values in row-major (C) order.
type array struct {
	rows, cols int
	dtype      string
	data       []float64
}

type namedArray struct {
	name string
	array
}

// orient returns the F x K matrix an array holds, and how it was read.
func orient(a array, F int) (*mat.Dense, Orientation, error) {
	switch {
	case a.rows == F:
		return mat.NewDense(a.rows, a.cols, a.data), FxK, nil
	case a.cols == F:
		w := mat.NewDense(a.cols, a.rows, nil)
		w.CloneFrom(mat.NewDense(a.rows, a.cols, a.data).T())
		return w, KxF, nil
	}
	return nil, 0, fmt.Errorf("shape %dx%d fits neither F x K nor K x F (sklearn components_)",
		a.rows, a.cols)
}

// readNPZ returns the arrays a .npz provides for bf: the one named bf.Name,
// or all of them, in archive order, when bf.Name is empty.
func readNPZ(data []byte, bf BasesFile) (arrays []namedArray, err error) {
	defer func() {
		if r := recover(); r != nil {
			arrays, err = nil, fmt.Errorf("corrupt .npz (%v)", r)
		}
	}()
	rz, err := npz.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, k := range rz.Keys() {
		names = append(names, strings.TrimSuffix(k, ".npy"))
	}
	read := func(key, name string) error {
		rc, err := rz.Open(key)
		if err != nil {
			return err
		}
		defer rc.Close()
		raw, err := io.ReadAll(io.LimitReader(rc, maxArrayBytes+1<<20))
		if err != nil {
			return fmt.Errorf("array %q: %w", name, err)
		}
		a, err := parseNPY(raw)
		if err != nil {
			return fmt.Errorf("array %q: %w", name, err)
		}
		arrays = append(arrays, namedArray{name: name, array: a})
		return nil
	}
	if bf.Name == "" {
		if len(names) == 0 {
			return nil, errors.New("the .npz holds no arrays")
		}
		for i, k := range rz.Keys() {
			if err := read(k, names[i]); err != nil {
				return nil, err
			}
		}
		return arrays, nil
	}
	want := bf.Name
	if bf.Array != "" {
		want = bf.Array
	}
	for i, k := range rz.Keys() {
		if names[i] == want {
			return arrays, read(k, bf.Name)
		}
	}
	return nil, fmt.Errorf("no array %q (the file has: %s)", want, strings.Join(names, ", "))
}

// parseNPY decodes one .npy image held in memory. It checks the header
// against the data before decoding, and turns a panic of the parser on a
// corrupt header into an error. It reads into typed slices rather than
// npyio's *mat.Dense support, because that path only accepts float64
// ("npy: types don't match" for a float32 file, npyio v0.14.0), and does
// the Fortran-order transposition itself.
func parseNPY(data []byte) (a array, err error) {
	defer func() {
		if r := recover(); r != nil {
			a, err = array{}, fmt.Errorf("corrupt .npy (%v)", r)
		}
	}()
	if err := checkNPYHeader(data); err != nil {
		return array{}, err
	}
	br := bytes.NewReader(data)
	rr, err := npy.NewReader(br)
	if err != nil {
		return array{}, fmt.Errorf("corrupt .npy header: %w", err)
	}
	d := rr.Header.Descr
	if len(d.Shape) != 2 {
		return array{}, fmt.Errorf("array of shape %v: bases must be 2-D (F x K or K x F)", d.Shape)
	}
	a.rows, a.cols = d.Shape[0], d.Shape[1]
	if a.rows < 1 || a.cols < 1 {
		return array{}, fmt.Errorf("empty array of shape %dx%d", a.rows, a.cols)
	}
	dt := strings.Trim(d.Type, `'" `) // the header's descr, e.g. '<f8'
	typ := strings.TrimLeft(dt, "<>|=")
	var esize int
	switch typ {
	case "f4":
		a.dtype, esize = "float32", 4
	case "f8":
		a.dtype, esize = "float64", 8
	default:
		return array{}, fmt.Errorf("dtype %s not supported: save the bases as float32 or float64", dt)
	}
	if a.rows > maxArrayBytes/esize/a.cols {
		return array{}, fmt.Errorf("array of shape %dx%d is larger than %d bytes", a.rows, a.cols, maxArrayBytes)
	}
	n := a.rows * a.cols
	if need, have := n*esize, br.Len(); have < need {
		return array{}, fmt.Errorf("truncated: shape %dx%d of %s needs %d bytes of data, the file has %d",
			a.rows, a.cols, dt, need, have)
	}
	vals := make([]float64, n)
	if esize == 4 {
		v32 := make([]float32, n)
		if err := rr.Read(&v32); err != nil {
			return array{}, fmt.Errorf("reading %s data: %w", dt, err)
		}
		for i, x := range v32 {
			vals[i] = float64(x)
		}
	} else if err := rr.Read(&vals); err != nil {
		return array{}, fmt.Errorf("reading %s data: %w", dt, err)
	}
	if d.Fortran {
		// Column-major on disk: element (i, j) is at j*rows+i.
		a.data = make([]float64, n)
		for j := 0; j < a.cols; j++ {
			for i := 0; i < a.rows; i++ {
				a.data[i*a.cols+j] = vals[j*a.rows+i]
			}
		}
	} else {
		a.data = vals
	}
	return a, nil
}

// checkNPYHeader checks the framing of a .npy header (magic, version, length,
// terminating newline) that npyio's parser takes for granted.
func checkNPYHeader(data []byte) error {
	if len(data) < 10 || !bytes.HasPrefix(data, npy.Magic[:]) {
		return errors.New("corrupt .npy: shorter than its magic and version")
	}
	var n, start int
	switch data[6] {
	case 1:
		n, start = int(data[8])|int(data[9])<<8, 10
	case 2, 3:
		if len(data) < 12 {
			return errors.New("corrupt .npy: truncated header length")
		}
		n, start = int(data[8])|int(data[9])<<8|int(data[10])<<16|int(data[11])<<24, 12
	default:
		return fmt.Errorf("corrupt .npy: unknown format version %d.%d", data[6], data[7])
	}
	if n <= 0 || n > len(data)-start {
		return fmt.Errorf("corrupt .npy: header of %d bytes, the file has %d after the preamble", n, len(data)-start)
	}
	if data[start+n-1] != '\n' {
		return errors.New("corrupt .npy: the header does not end with a newline")
	}
	return nil
}
