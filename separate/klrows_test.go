package separate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// withKLPaths runs fn once with klRows and the float32 passes as the CPU
// runs them (assembly where there is one), once with the AVX2 kernels of
// the float32 passes where the CPU has AVX2 and FMA but runs others
// (withAVX2: an AVX-512 CPU standing in for one without), and once with
// the portable pure-Go path only.
func withKLPaths(t *testing.T, fn func(t *testing.T)) {
	if klRowsAsm != nil || asm32 {
		t.Run("asm", fn)
	}
	if withAVX2 != nil {
		restore := withAVX2()
		t.Run("avx2", fn)
		restore()
	}
	defer pureGo()()
	t.Run("purego", fn)
}

// pureGo turns the assembly of the KL passes (klRows and the float32
// passes) off, and returns the function that turns it back on.
func pureGo() (restore func()) {
	rows, single := klRowsAsm, asm32
	klRowsAsm, asm32 = nil, false
	return func() { klRowsAsm, asm32 = rows, single }
}

// withAVX2, where not nil (avx2_amd64_test.go), makes the package run as on
// a CPU with AVX2 and FMA but no AVX-512 (the float32 passes in the AVX2
// assembly, the rest without assembly) with the float32 passes taken by
// NewSeparator, and returns the function that undoes it; nil where the CPU
// or build has no AVX2 kernels, or where they are what runs anyway.
var withAVX2 func() (restore func())

// TestKLRowsAsmMatchesGo: the assembly and the pure-Go passes (klRows, and
// rowsDot and rowsAxpy2 for the general beta) compute
// the same sums in different orders (2 x 8 lanes with fused multiply-adds
// against 4 scalar partial sums), so they agree to rounding: within 1e-13
// of the largest element of num, for K that needs padding or not, F with
// and without a tail of rows, and frames with zero bins (single and whole
// groups of four, which the assembly skips).
func TestKLRowsAsmMatchesGo(t *testing.T) {
	if klRowsAsm == nil {
		t.Skip("no assembly klRows on this CPU or build")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ f, k int }{{513, 64}, {1025, 128}, {37, 7}, {4, 1}, {257, 100}, {3, 16}} {
		t.Run(fmt.Sprintf("F%d_K%d", c.f, c.k), func(t *testing.T) {
			kp := (c.k + klPad - 1) / klPad * klPad
			w := make([]float64, c.f*kp)
			for i := 0; i < c.f; i++ {
				for j := 0; j < c.k; j++ {
					w[i*kp+j] = rng.ExpFloat64()
				}
			}
			h := make([]float64, kp)
			for j := range c.k {
				h[j] = rng.ExpFloat64()
			}
			v := make([]float64, c.f)
			for i := range v {
				if rng.IntN(5) > 0 && !(i >= 8 && i < 12) {
					v[i] = 100 * rng.Float64()
				}
			}
			want := make([]float64, kp)
			klRowsGo(w, h, v, want, c.f, kp)
			got := make([]float64, kp)
			klRows(w, h, v, got, c.f, kp)
			near(t, "klRows num", got, want, c.k)

			// The general-beta passes: y = W h, then num += v W, den += y W.
			yWant, yGot := make([]float64, c.f), make([]float64, c.f)
			rowsDotGo(w, h, yWant, c.f, kp)
			rowsDot(w, h, yGot, c.f, kp)
			near(t, "rowsDot", yGot, yWant, c.f)
			nWant, dWant := make([]float64, kp), make([]float64, kp)
			nGot, dGot := make([]float64, kp), make([]float64, kp)
			rowsAxpy2Go(w, v, yWant, nWant, dWant, c.f, kp)
			rowsAxpy2(w, v, yWant, nGot, dGot, c.f, kp)
			near(t, "rowsAxpy2 num", nGot, nWant, c.k)
			near(t, "rowsAxpy2 den", dGot, dWant, c.k)
		})
	}
}

// near fails t unless got[j] is within 1e-13 of the largest want of want[j]
// for every j, and exactly 0 from j = n on (the padding).
func near(t *testing.T, what string, got, want []float64, n int) {
	t.Helper()
	scale := 0.0
	for _, x := range want {
		scale = math.Max(scale, math.Abs(x))
	}
	for j := range want {
		if e := math.Abs(got[j] - want[j]); e > 1e-13*scale || (j >= n && got[j] != 0) {
			t.Fatalf("%s: [%d] = %.17g, pure Go %.17g (difference %g of the largest)", what, j, got[j], want[j], e/scale)
		}
	}
}

// BenchmarkKLRows is one fused beta-1 pass alone, on the bases of
// BenchmarkProcess, with the thread's CPU time: klRows (W in float64, rows
// padded: asm, purego) and klPanels32 (W in float32 panels, as the Separator
// runs it: asm32, purego32). GFLOP/s counts 4 F K flops (W h and W^T r),
// GB/s the bytes of W read once.
//
//	go test -run '^$' -bench KLRows ./separate/
func BenchmarkKLRows(b *testing.B) {
	for _, c := range []struct{ fftSize, k int }{{1024, 64}, {2048, 128}} {
		for _, path := range []string{"asm", "purego", "asm32", "purego32"} {
			b.Run(fmt.Sprintf("fft%d_K%d_%s", c.fftSize, c.k, path), func(b *testing.B) {
				single := strings.HasSuffix(path, "32")
				if strings.HasPrefix(path, "purego") {
					defer pureGo()()
				} else if (!single && klRowsAsm == nil) || (single && !asm32) {
					b.Skip("no assembly klRows on this CPU or build")
				}
				bases, frames := benchSetup(c.fftSize, c.k)
				w := denseCopy(bases.W)
				kn := newKernel(w, 1, 0, false)
				f := bases.F()
				kn.useSingle(newPanels32(w.Data, f, c.k, w.Stride))
				h := make([]float64, kn.kp)
				for j := range c.k {
					h[j] = 0.5
				}
				kn.toSingle(h)
				v32 := make([][]float32, len(frames)) // as prepare makes them, once per frame
				for i, v := range frames {
					kn.prepare(v)
					v32[i] = append([]float32(nil), kn.v32...)
				}
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				i := 0
				cpu0 := threadCPU()
				for b.Loop() {
					if single {
						klPanels32(kn.pan, kn.h32, v32[i%len(v32)], kn.acc, kn.numPad)
					} else {
						klRows(kn.wPad, h, frames[i%len(frames)], kn.numPad, f, kn.kp)
					}
					i++
				}
				t := b.Elapsed().Seconds() / float64(b.N)
				if cpu0 >= 0 {
					t = (threadCPU() - cpu0).Seconds() / float64(b.N)
					b.ReportMetric(t*1e6, "cpu-us/op")
				}
				b.ReportMetric(4*float64(f*c.k)/t/1e9, "GFLOP/s")
				bytes := 8
				if single {
					bytes = 4
				}
				b.ReportMetric(float64(bytes*f*kn.kp)/t/1e9, "GB/s")
			})
		}
	}
}

// BenchmarkPeakFLOPS is the core's float64 peak as fused multiply-adds on
// registers in the widest vectors klRows uses (AVX-512), the ceiling against
// which BenchmarkKLRows' GFLOP/s are a share.
func BenchmarkPeakFLOPS(b *testing.B) {
	if peakFLOPs(1) == 0 {
		b.Skip("no assembly on this CPU or build")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const n = 100000
	cpu0 := threadCPU()
	flops := 0.0
	for b.Loop() {
		flops += peakFLOPs(n)
	}
	t := b.Elapsed().Seconds()
	if cpu0 >= 0 {
		t = (threadCPU() - cpu0).Seconds()
	}
	b.ReportMetric(flops/t/1e9, "GFLOP/s")
}

// TestKLRows32Bound: the general beta's float32 passes (klrows32.go), in
// assembly and in pure Go, against the float64 pure-Go passes on the same
// W: every element of num and den within (K/4 + klBlock + 4) 2^-24 relative (the bound that
// klrows32.go derives; every term is positive, so it holds element by
// element), and y = W h within (K/4 + 3) 2^-24 (rounding of W and h, the
// float32 sums, the float64 reduction), for the shapes of
// TestKLRowsAsmMatchesGo and F long enough for several blocks.
func TestKLRows32Bound(t *testing.T) {
	withKLPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, c := range []struct{ f, k int }{{513, 64}, {1025, 128}, {37, 7}, {4, 1}, {257, 100}, {3, 16}} {
			kp := (c.k + klPad - 1) / klPad * klPad
			w := make([]float64, c.f*kp)
			for i := 0; i < c.f; i++ {
				for j := 0; j < c.k; j++ {
					w[i*kp+j] = rng.ExpFloat64()
				}
			}
			h := make([]float64, kp)
			for j := range c.k {
				h[j] = rng.ExpFloat64()
			}
			v := make([]float64, c.f)
			for i := range v {
				if rng.IntN(5) > 0 && !(i >= 8 && i < 12) {
					v[i] = 100 * rng.Float64()
				}
			}
			w32, h32 := make([]float32, len(w)), make([]float32, kp)
			for i, x := range w {
				w32[i] = float32(x)
			}
			for j, x := range h {
				h32[j] = float32(x)
			}
			n32, d32 := make([]float32, kp), make([]float32, kp)
			u := 0x1p-24
			sums := (float64(c.k)/4 + klBlock + 4) * u

			yWant, yGot := make([]float64, c.f), make([]float64, c.f)
			rowsDotGo(w, h, yWant, c.f, kp)
			rowsDot32(w32, h32, yGot, c.f, kp)
			within(t, fmt.Sprintf("F%d K%d rowsDot32", c.f, c.k), yGot, yWant, c.f, (float64(c.k)/4+3)*u)

			nWant, dWant := make([]float64, kp), make([]float64, kp)
			nGot, dGot := make([]float64, kp), make([]float64, kp)
			rowsAxpy2Go(w, v, yWant, nWant, dWant, c.f, kp)
			rowsAxpy2x32(w32, v, yWant, n32, d32, nGot, dGot, c.f, kp)
			within(t, fmt.Sprintf("F%d K%d rowsAxpy2x32 num", c.f, c.k), nGot, nWant, c.k, sums)
			within(t, fmt.Sprintf("F%d K%d rowsAxpy2x32 den", c.f, c.k), dGot, dWant, c.k, sums)
		}
	})
}

// within fails t unless every got[j] is within rel of want[j], relative,
// and exactly 0 from j = n on (the padding); it logs the largest difference.
func within(t *testing.T, what string, got, want []float64, n int, rel float64) {
	t.Helper()
	worst := 0.0
	for j := range want {
		e := math.Abs(got[j] - want[j])
		if e > rel*math.Abs(want[j]) || (j >= n && got[j] != 0) {
			t.Fatalf("%s: [%d] = %.17g, float64 %.17g (relative difference %g, bound %g)", what, j, got[j], want[j], e/math.Abs(want[j]), rel)
		}
		if want[j] != 0 {
			worst = math.Max(worst, e/math.Abs(want[j]))
		}
	}
	t.Logf("%s: largest relative difference %.3g = %.2f * 2^-24 (bound %.3g)", what, worst, worst/0x1p-24, rel)
}
