//go:build !purego

package separate

import (
	"fmt"
	"math"
	"runtime"
	"testing"
)

func to32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

func runVariant(variant byte, w32 []float32, h []float64, h32 []float32, v, num []float64, num32 []float32, rows, kp int) {
	n := rows &^ 3
	switch variant {
	case 'A':
		klRows32A(&w32[0], &h[0], &v[0], &num[0], n, kp)
	case 'B':
		klRows32B(&w32[0], &h32[0], &v[0], &num[0], n, kp)
	case 'C':
		const block = 64
		for lo := 0; lo < n; lo += block {
			m := min(block, n-lo)
			clear(num32)
			klRows32C(&w32[lo*kp], &h32[0], &v[lo], &num32[0], m, kp)
			for j, x := range num32 {
				num[j] += float64(x)
			}
		}
	}
}

func TestKLRows32Variants(t *testing.T) {
	if klRowsAsm == nil {
		t.Skip("no avx512")
	}
	for _, c := range []struct{ fftSize, k int }{{1024, 64}, {2048, 128}} {
		bases, frames := benchSetup(c.fftSize, c.k)
		kn := newKernel(denseCopy(bases.W), 1, 0, false)
		f := bases.F()
		f4 := f &^ 3
		w32 := to32(kn.wPad)
		wr := make([]float64, len(w32)) // W rounded to float32
		for i, x := range w32 {
			wr[i] = float64(x)
		}
		h := make([]float64, kn.kp)
		for j := range c.k {
			h[j] = 0.1 + float64(j%7)
		}
		h32 := to32(h)
		for fi, v := range frames[:4] {
			want := make([]float64, kn.kp)
			klRowsGo(kn.wPad, h, v, want, f4, kn.kp)
			wantR := make([]float64, kn.kp)
			klRowsGo(wr, h, v, wantR, f4, kn.kp)
			for _, variant := range []byte{'A', 'B', 'C'} {
				got := make([]float64, kn.kp)
				num32 := make([]float32, kn.kp)
				runVariant(variant, w32, h, h32, v, got, num32, f, kn.kp)
				e, eR := 0.0, 0.0
				for j := range c.k {
					e = math.Max(e, math.Abs(got[j]-want[j])/want[j])
					eR = math.Max(eR, math.Abs(got[j]-wantR[j])/wantR[j])
				}
				if fi == 0 || true {
					t.Logf("fft%d K%d frame %d %c: max rel err vs float64 W %.3g (%.1f u32), vs rounded W in float64 %.3g", c.fftSize, c.k, fi, variant, e, e/0x1p-24, eR)
				}
			}
		}
	}
}

func BenchmarkKLRows32(b *testing.B) {
	for _, c := range []struct{ fftSize, k int }{{1024, 64}, {2048, 128}} {
		for _, variant := range []byte{'A', 'B', 'C'} {
			b.Run(fmt.Sprintf("fft%d_K%d_%c", c.fftSize, c.k, variant), func(b *testing.B) {
				bases, frames := benchSetup(c.fftSize, c.k)
				kn := newKernel(denseCopy(bases.W), 1, 0, false)
				w32 := to32(kn.wPad)
				h := make([]float64, kn.kp)
				for j := range c.k {
					h[j] = 0.5
				}
				h32 := to32(h)
				num32 := make([]float32, kn.kp)
				f := bases.F() &^ 3
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				i := 0
				cpu0 := threadCPU()
				for b.Loop() {
					runVariant(variant, w32, h, h32, frames[i%len(frames)], kn.numPad, num32, f, kn.kp)
					i++
				}
				t := (threadCPU() - cpu0).Seconds() / float64(b.N)
				b.ReportMetric(t*1e6, "cpu-us/op")
				b.ReportMetric(4*float64(f*c.k)/t/1e9, "GFLOP/s")
			})
		}
	}
}
