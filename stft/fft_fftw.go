//go:build !nofftw

package stft

/*
#cgo pkg-config: fftw3
#include <fftw3.h>
*/
import "C"

import (
	"runtime"
	"sync"
	"unsafe"
)

// realFFT is the real-input FFT of one size that an Analyzer or a
// Synthesizer owns, through FFTW 3 (libfftw3, Debian's libfftw3-dev to
// build): its SIMD codelets take a 1024-point forward and inverse transform
// 8-10 times faster than gonum's pure-Go FFTPACK (BenchmarkFFT), which was
// half of an offline run's CPU time. Plans are made with FFTW_ESTIMATE, so
// the algorithm, and with it every rounding, depends only on the size and
// the machine: two transforms of the same size compute the same numbers,
// whichever goroutine runs them. The plan's arrays are FFTW's own aligned
// memory; forward and inverse copy in and out of them. With -tags nofftw
// the gonum FFT is used instead (fft_gonum.go).
type realFFT struct {
	n   int
	c   *fftwPlans
	in  []float64    // the plans' real array, C memory
	out []complex128 // the plans' half-spectrum array, C memory
}

// fftwPlans is the C side of a realFFT, freed by a cleanup when the realFFT
// is garbage: the plans are made and destroyed under plannerMu (FFTW's
// planner is not thread-safe; fftw_execute of distinct plans is).
type fftwPlans struct {
	fwd, inv C.fftw_plan
	in, out  unsafe.Pointer
}

var plannerMu sync.Mutex

func newRealFFT(n int) *realFFT {
	bins := n/2 + 1
	plannerMu.Lock()
	defer plannerMu.Unlock()
	in := C.fftw_malloc(C.size_t(8 * n))
	out := C.fftw_malloc(C.size_t(16 * bins))
	if in == nil || out == nil {
		panic("stft: fftw_malloc failed")
	}
	c := &fftwPlans{in: in, out: out}
	c.fwd = C.fftw_plan_dft_r2c_1d(C.int(n), (*C.double)(in), (*C.fftw_complex)(out), C.FFTW_ESTIMATE)
	// c2r overwrites its input; inverse copies the spectrum in every time.
	c.inv = C.fftw_plan_dft_c2r_1d(C.int(n), (*C.fftw_complex)(out), (*C.double)(in), C.FFTW_ESTIMATE|C.FFTW_DESTROY_INPUT)
	if c.fwd == nil || c.inv == nil {
		panic("stft: FFTW could not plan a transform")
	}
	f := &realFFT{
		n: n, c: c,
		in:  unsafe.Slice((*float64)(in), n),
		out: unsafe.Slice((*complex128)(out), bins),
	}
	runtime.AddCleanup(f, func(c *fftwPlans) {
		plannerMu.Lock()
		defer plannerMu.Unlock()
		C.fftw_destroy_plan(c.fwd)
		C.fftw_destroy_plan(c.inv)
		C.fftw_free(c.in)
		C.fftw_free(c.out)
	}, c)
	return f
}

// forward sets dst (n/2+1 bins) to the unnormalised DFT of x (n samples),
// as numpy.fft.rfft. It allocates nothing.
func (f *realFFT) forward(dst []complex128, x []float64) {
	copy(f.in, x[:f.n])
	C.fftw_execute(f.c.fwd)
	copy(dst, f.out)
	runtime.KeepAlive(f)
}

// inverse sets dst (n samples) to the unnormalised inverse DFT of the half
// spectrum spec (n times numpy.fft.irfft); the imaginary parts of bin 0 and
// bin n/2 are ignored. It allocates nothing.
func (f *realFFT) inverse(dst []float64, spec []complex128) {
	copy(f.out, spec[:len(f.out)])
	C.fftw_execute(f.c.inv)
	copy(dst, f.in)
	runtime.KeepAlive(f)
}
