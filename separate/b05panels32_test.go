package separate

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// b05PanelsRun runs b05Panels32 as the kernel does: h and v rounded to
// float32; it returns num and den, and fails t if the pass left its
// accumulators dirty.
func b05PanelsRun(t testing.TB, pn *panels32, h, v []float64) (num, den []float64) {
	t.Helper()
	h32 := make([]float32, pn.kt)
	for j := range pn.k {
		h32[j] = float32(h[j])
	}
	v32 := make([]float32, pn.f)
	for i, x := range v {
		v32[i] = float32(x)
	}
	accN, accD := make([]float32, pn.kq*klPanelRows), make([]float32, pn.kq*klPanelRows)
	num, den = make([]float64, pn.kt), make([]float64, pn.kt)
	b05Panels32(pn, h32, v32, accN, accD, num, den)
	for i := range accN {
		if accN[i] != 0 || accD[i] != 0 {
			t.Fatalf("acc[%d] = %v, %v after the pass, want 0", i, accN[i], accD[i])
		}
	}
	return num, den
}

// b05Want is the float64 pass of the kernel for beta 0.5 (rowsDotGo,
// betaTerms, rowsAxpy2Go) on the padded W.
func b05Want(w, h, v []float64, f, kp int) (num, den []float64) {
	y, a := make([]float64, f), make([]float64, f)
	rowsDotGo(w, h, y, f, kp)
	betaTerms(a, y, y, v, 0.5)
	num, den = make([]float64, kp), make([]float64, kp)
	rowsAxpy2Go(w, a, y, num, den, f, kp)
	return num, den
}

// b05Bound is the relative bound that b05panels32.go derives for num and
// den: (3/2 c + min(P, klPanelBlock) + 14) 2^-24 with P = ceil(F/16)
// panels and c = 2 ceil(K/4) (two partial sums of W h, the AVX-512
// octets) up to klOctMaxK, ceil(K/4) above.
func b05Bound(f, k int) float64 {
	p := (f + klPanelRows - 1) / klPanelRows
	kq := (k + 3) &^ 3
	c := kq / 4
	if kq <= klOctMaxK {
		c = kq / 2
	}
	return (1.5*float64(c) + float64(min(p, klPanelBlock)) + 14) * 0x1p-24
}

// TestB05Panels32Bound: the beta-0.5 panel pass, in assembly (AVX-512,
// AVX2) and in pure Go, against the float64 pass on the same W: every
// element of num and den within b05Bound relative. On random inputs
// (panelShapes: zero bins and a zero panel of v, which the pass must not
// skip for den) and on the bases and frames of BenchmarkProcess.
func TestB05Panels32Bound(t *testing.T) {
	withKLPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(15, 16))
		for _, c := range panelShapes {
			w, h, v, kp := panelCase(rng, c.f, c.k)
			wantN, wantD := b05Want(w, h, v, c.f, kp)
			gotN, gotD := b05PanelsRun(t, newPanels32(w, c.f, c.k, kp), h, v)
			within(t, fmt.Sprintf("F%d K%d num", c.f, c.k), gotN[:c.k], wantN[:c.k], c.k, b05Bound(c.f, c.k))
			within(t, fmt.Sprintf("F%d K%d den", c.f, c.k), gotD[:c.k], wantD[:c.k], c.k, b05Bound(c.f, c.k))
		}
		for _, c := range []struct{ fftSize, k int }{{1024, 64}, {2048, 128}} {
			bases, frames := benchSetup(c.fftSize, c.k)
			kn := newKernel(denseCopy(bases.W), 0.5, 0, false)
			f := bases.F()
			pn := newPanels32(kn.wPad, f, c.k, kn.kp)
			h := make([]float64, kn.kp)
			for j := range c.k {
				h[j] = rng.ExpFloat64()
			}
			for i, v := range frames[:4] {
				wantN, wantD := b05Want(kn.wPad, h, v, f, kn.kp)
				gotN, gotD := b05PanelsRun(t, pn, h, v)
				within(t, fmt.Sprintf("fft %d K %d frame %d num", c.fftSize, c.k, i), gotN[:c.k], wantN[:c.k], c.k, b05Bound(f, c.k))
				within(t, fmt.Sprintf("fft %d K %d frame %d den", c.fftSize, c.k, i), gotD[:c.k], wantD[:c.k], c.k, b05Bound(f, c.k))
			}
		}
	})
}

// TestB05Panels32AsmMatchesGo: the assembly and the pure-Go passes sum in
// the same order and differ where Go rounds a product before adding it;
// each is within b05Bound of the float64 pass, so within twice that of each
// other.
func TestB05Panels32AsmMatchesGo(t *testing.T) {
	if b05Panels32Asm == nil || !asm32 {
		t.Skip("no assembly beta-0.5 panel pass on this CPU or build")
	}
	testB05AsmMatchesGo(t)
	if withAVX2 != nil {
		restore := withAVX2()
		defer restore()
		t.Run("avx2", testB05AsmMatchesGo)
	}
}

func testB05AsmMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, c := range panelShapes {
		w, h, v, kp := panelCase(rng, c.f, c.k)
		pn := newPanels32(w, c.f, c.k, kp)
		gotN, gotD := b05PanelsRun(t, pn, h, v)
		restore := pureGo()
		wantN, wantD := b05PanelsRun(t, pn, h, v)
		restore()
		within(t, fmt.Sprintf("F%d K%d num asm against pure Go", c.f, c.k), gotN[:c.k], wantN[:c.k], c.k, 2*b05Bound(c.f, c.k))
		within(t, fmt.Sprintf("F%d K%d den asm against pure Go", c.f, c.k), gotD[:c.k], wantD[:c.k], c.k, 2*b05Bound(c.f, c.k))
	}
}

// BenchmarkB05Panels is one beta-0.5 pass alone (b05Panels32, as the
// kernel runs it), on the bases and frames of BenchmarkProcess, with the
// thread's CPU time: asm (AVX-512 with octets where kq <= klOctMaxK, or
// AVX2), quad (AVX-512 four panels at a time only), purego.
//
//	go test -run '^$' -bench B05Panels ./separate/
func BenchmarkB05Panels(b *testing.B) {
	for _, c := range []struct{ fftSize, k int }{{1024, 64}, {2048, 128}} {
		for _, path := range []string{"asm", "quad", "purego"} {
			b.Run(fmt.Sprintf("fft%d_K%d_%s", c.fftSize, c.k, path), func(b *testing.B) {
				switch {
				case path == "purego":
					defer pureGo()()
				case !asm32 || b05Panels32Asm == nil:
					b.Skip("no assembly on this CPU or build")
				case path == "quad":
					if klRowsAsm == nil { // no AVX-512
						b.Skip("no AVX-512")
					}
					defer func(m int) { b05OctMaxK = m }(b05OctMaxK)
					b05OctMaxK = 0
				}
				bases, frames := benchSetup(c.fftSize, c.k)
				w := denseCopy(bases.W)
				kn := newKernel(w, 0.5, 0, false)
				f := bases.F()
				kn.useSingle(newPanels32(w.Data, f, c.k, w.Stride))
				h := make([]float64, c.k)
				for j := range h {
					h[j] = 0.5
				}
				kn.toSingle(h)
				v32 := make([][]float32, len(frames))
				for i, v := range frames {
					kn.prepare(v)
					v32[i] = append([]float32(nil), kn.v32...)
				}
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				i := 0
				cpu0 := threadCPU()
				for b.Loop() {
					b05Panels32(kn.pan, kn.h32, v32[i%len(v32)], kn.acc, kn.accD, kn.numPad, kn.denPad)
					i++
				}
				if cpu0 >= 0 {
					b.ReportMetric((threadCPU()-cpu0).Seconds()/float64(b.N)*1e6, "cpu-us/op")
				}
			})
		}
	}
}
