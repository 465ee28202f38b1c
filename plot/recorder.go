package plot

import (
	"errors"
	"fmt"
)

// Layout describes the frames a Recorder receives.
type Layout struct {
	// FFTSize and HopSamples are the STFT's: they place frames in time and
	// bins in frequency. Bins = FFTSize/2 + 1.
	FFTSize, HopSamples int
	// Sources are the source names, in the order of the masks.
	Sources []string
	// BasisStart has len(Sources)+1 entries: source s owns activations
	// BasisStart[s] to BasisStart[s+1]-1 (separate.Bases.Start).
	BasisStart []int
	// FullScale is the spectrum magnitude of a full-scale sine, which the
	// plots call 0 dBFS: sum(window)/2 for an unnormalised FFT. 0 means 1.
	FullScale float64
	// MaxColumns bounds the time columns kept (even, at least 2; 0 means
	// DefaultMaxColumns). MaxRows bounds the frequency rows (0 means
	// DefaultMaxRows).
	MaxColumns, MaxRows int
}

// DefaultMaxColumns and DefaultMaxRows bound a Recorder's memory: about
// 4*(1+2S)*MaxColumns*MaxRows bytes for S sources (21 MB for two sources),
// and no more than a PNG of ordinary size can show.
const (
	DefaultMaxColumns = 1024
	DefaultMaxRows    = 1024
)

// Recorder collects a run's spectra, masks and activations frame by frame for
// the plots. Create it with NewRecorder, feed it with Add after every frame,
// then draw with WritePNGs. It is not safe for concurrent use.
type Recorder struct {
	lay                Layout
	bins, rows, perRow int // bins, rows kept, bins per row
	sources, k         int
	skip               int // leading frames whose centre is before the first sample
	seen               int // frames passed to Add, skipped ones included
	perCol             int // frames per stored column
	cols               int // complete columns stored
	acc                int // frames accumulated in the open column
	maxCols            int

	// Stored columns, float32, column-major: [col*rows + row], [col*k + basis].
	input []float32
	src   [][]float32 // [source]
	mask  [][]float32 // [source]
	act   []float32

	// The open column's sums.
	sumInput []float64
	sumSrc   [][]float64
	sumMask  [][]float64
	sumAct   []float64
}

// NewRecorder validates the layout and allocates all of the Recorder's memory
// (see DefaultMaxColumns); Add allocates nothing.
func NewRecorder(lay Layout) (*Recorder, error) {
	if lay.FFTSize < 2 || lay.HopSamples < 1 {
		return nil, fmt.Errorf("plot: fft size %d and hop %d: want fft size >= 2 and hop >= 1", lay.FFTSize, lay.HopSamples)
	}
	if len(lay.Sources) == 0 || len(lay.BasisStart) != len(lay.Sources)+1 || lay.BasisStart[0] != 0 {
		return nil, fmt.Errorf("plot: %d sources need %d basis starts from 0, got %v", len(lay.Sources), len(lay.Sources)+1, lay.BasisStart)
	}
	for s := range lay.Sources {
		if lay.BasisStart[s+1] <= lay.BasisStart[s] {
			return nil, fmt.Errorf("plot: source %q has no bases (basis starts %v)", lay.Sources[s], lay.BasisStart)
		}
	}
	if lay.FullScale < 0 {
		return nil, errors.New("plot: negative full scale")
	}
	if lay.FullScale == 0 {
		lay.FullScale = 1
	}
	if lay.MaxColumns == 0 {
		lay.MaxColumns = DefaultMaxColumns
	}
	if lay.MaxRows == 0 {
		lay.MaxRows = DefaultMaxRows
	}
	if lay.MaxColumns < 2 || lay.MaxColumns%2 != 0 || lay.MaxRows < 1 {
		return nil, fmt.Errorf("plot: max columns %d (want even, >= 2) and max rows %d (want >= 1)", lay.MaxColumns, lay.MaxRows)
	}
	r := &Recorder{
		lay:     lay,
		bins:    lay.FFTSize/2 + 1,
		sources: len(lay.Sources),
		k:       lay.BasisStart[len(lay.Sources)],
		perCol:  1,
		maxCols: lay.MaxColumns,
	}
	r.perRow = (r.bins + lay.MaxRows - 1) / lay.MaxRows
	r.rows = (r.bins + r.perRow - 1) / r.perRow
	// Frame t holds samples up to (t+1)*hop-1; its window's centre is at
	// (t+1)*hop - fft/2. Frames centred before sample 0 mostly hold the
	// zeros the analysis starts from.
	half := lay.FFTSize / 2
	r.skip = max(0, (half+lay.HopSamples-1)/lay.HopSamples-1)
	r.input = make([]float32, r.maxCols*r.rows)
	r.act = make([]float32, r.maxCols*r.k)
	r.sumInput = make([]float64, r.rows)
	r.sumAct = make([]float64, r.k)
	for range r.sources {
		r.src = append(r.src, make([]float32, r.maxCols*r.rows))
		r.mask = append(r.mask, make([]float32, r.maxCols*r.rows))
		r.sumSrc = append(r.sumSrc, make([]float64, r.rows))
		r.sumMask = append(r.sumMask, make([]float64, r.rows))
	}
	return r, nil
}

// Layout returns the layout the Recorder was made with (defaults filled in).
func (r *Recorder) Layout() Layout { return r.lay }

// Frames returns the number of frames recorded (those passed to Add after the
// leading ones centred before the first sample, which are left out).
func (r *Recorder) Frames() int { return max(0, r.seen-r.skip) }

// Add records one frame: spec is channel 0's spectrum (len FFTSize/2+1),
// masks[s] source s's mask over the same bins, act the activations of every
// basis (len BasisStart[len(Sources)]). It reads them and keeps nothing, so
// the engine's own buffers can be passed. Add allocates nothing; it panics if
// a length is wrong.
func (r *Recorder) Add(spec []complex128, masks [][]float64, act []float64) {
	if len(spec) != r.bins || len(masks) != r.sources || len(act) != r.k {
		panic(fmt.Sprintf("plot: Add got %d bins, %d masks, %d activations; want %d, %d, %d",
			len(spec), len(masks), len(act), r.bins, r.sources, r.k))
	}
	for _, m := range masks {
		if len(m) != r.bins {
			panic(fmt.Sprintf("plot: Add got a mask of %d bins, want %d", len(m), r.bins))
		}
	}
	r.seen++
	if r.seen <= r.skip {
		return
	}
	inv := 1 / (r.lay.FullScale * r.lay.FullScale)
	for row := range r.rows {
		lo, hi := row*r.perRow, min((row+1)*r.perRow, r.bins)
		var sp float64
		for _, z := range spec[lo:hi] {
			sp += real(z)*real(z) + imag(z)*imag(z)
		}
		r.sumInput[row] += sp * inv
	}
	for s, m := range masks {
		ss, sm := r.sumSrc[s], r.sumMask[s]
		for row := range r.rows {
			lo, hi := row*r.perRow, min((row+1)*r.perRow, r.bins)
			var sp, mm float64
			for f, z := range spec[lo:hi] {
				g := m[lo+f]
				sp += g * g * (real(z)*real(z) + imag(z)*imag(z))
				mm += g
			}
			ss[row] += sp * inv
			sm[row] += mm
		}
	}
	for i, h := range act {
		r.sumAct[i] += h
	}
	r.acc++
	if r.acc == r.perCol {
		r.flush()
	}
}

// flush stores the open column and, when the store is full, halves the time
// resolution by averaging neighbouring columns.
func (r *Recorder) flush() {
	c := r.cols
	r.storeColumn(c, r.acc)
	r.acc = 0
	r.cols++
	if r.cols < r.maxCols {
		return
	}
	half := r.cols / 2
	merge := func(x []float32, n int) {
		for i := range half {
			for j := range n {
				x[i*n+j] = (x[2*i*n+j] + x[(2*i+1)*n+j]) / 2
			}
		}
	}
	merge(r.input, r.rows)
	for s := range r.sources {
		merge(r.src[s], r.rows)
		merge(r.mask[s], r.rows)
	}
	merge(r.act, r.k)
	r.cols = half
	r.perCol *= 2
}

// storeColumn writes the open column's means over n frames into column c and
// clears the sums.
func (r *Recorder) storeColumn(c, n int) {
	inv := 1 / float64(n)
	for row := range r.rows {
		w := inv / float64(r.binsIn(row))
		r.input[c*r.rows+row] = float32(r.sumInput[row] * w)
		for s := range r.sources {
			r.src[s][c*r.rows+row] = float32(r.sumSrc[s][row] * w)
			r.mask[s][c*r.rows+row] = float32(r.sumMask[s][row] * w)
		}
	}
	for i := range r.k {
		r.act[c*r.k+i] = float32(r.sumAct[i] * inv)
	}
	clear(r.sumInput)
	clear(r.sumAct)
	for s := range r.sources {
		clear(r.sumSrc[s])
		clear(r.sumMask[s])
	}
}

// binsIn returns the number of bins pooled into row.
func (r *Recorder) binsIn(row int) int { return min(r.perRow, r.bins-row*r.perRow) }

// snapshot is the recorded data, the open column included, for drawing.
type snapshot struct {
	cols, rows, k int
	perCol        int       // frames per column (the last may hold fewer)
	lastFrames    int       // frames in the last column
	input         []float32 // [col*rows+row], power re full scale
	src, mask     [][]float32
	act           []float32 // [col*k+basis]
}

// snapshot copies the stored columns and closes a copy of the open one. It
// allocates; the Recorder is unchanged.
func (r *Recorder) snapshot() snapshot {
	cp := *r
	cp.input = append([]float32(nil), r.input...)
	cp.act = append([]float32(nil), r.act...)
	cp.sumInput = append([]float64(nil), r.sumInput...)
	cp.sumAct = append([]float64(nil), r.sumAct...)
	cp.src, cp.mask, cp.sumSrc, cp.sumMask = nil, nil, nil, nil
	for s := range r.sources {
		cp.src = append(cp.src, append([]float32(nil), r.src[s]...))
		cp.mask = append(cp.mask, append([]float32(nil), r.mask[s]...))
		cp.sumSrc = append(cp.sumSrc, append([]float64(nil), r.sumSrc[s]...))
		cp.sumMask = append(cp.sumMask, append([]float64(nil), r.sumMask[s]...))
	}
	last := cp.perCol
	if cp.acc > 0 {
		// The store always has room for the open column: flush halves it
		// as soon as it is full.
		last = cp.acc
		cp.storeColumn(cp.cols, cp.acc)
		cp.cols++
	}
	n := cp.cols
	return snapshot{
		cols: n, rows: cp.rows, k: cp.k, perCol: cp.perCol, lastFrames: last,
		input: cp.input[:n*cp.rows], src: trim(cp.src, n*cp.rows), mask: trim(cp.mask, n*cp.rows),
		act: cp.act[:n*cp.k],
	}
}

func trim(x [][]float32, n int) [][]float32 {
	for i := range x {
		x[i] = x[i][:n]
	}
	return x
}
