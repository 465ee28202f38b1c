//go:build !purego

package separate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// cpuAVX2FMA: the CPU can run avx2_amd64.s, whether or not it has AVX-512.
var cpuAVX2FMA = cpu.X86.HasAVX && cpu.X86.HasAVX2 && cpu.X86.HasFMA

func init() {
	if cpuAVX2FMA && !haveAVX2FMA {
		// An AVX-512 CPU: the AVX2 kernels are tested as a CPU without
		// AVX-512 would run them.
		withAVX2 = installAVX2
	}
}

// installAVX2 makes the package run as on a CPU with AVX2 and FMA and no
// AVX-512: the float32 passes, rowsDot, the update and the masks' loops in
// avx2_amd64.s, the float32 passes taken by NewSeparator; klRows and
// rowsAxpy2 without assembly. It returns the
// function that undoes it.
func installAVX2() (restore func()) {
	p, d, l, tl, rd, ra, ac := klPanels32Asm, panelDots32Asm, addLanes32Asm, klTail32Asm, rowsDot32Asm, rowsAxpy2x32Asm, addClear32Asm
	b05, ad := b05Panels32Asm, adaptPanelsAsm
	b05Panels32Asm, adaptPanelsAsm = b05Panels32AVX2Slices, adaptPanelsAVX2Slices
	rows, a32, force, rd64, ra64, mu := klRowsAsm, asm32, forceSingle, rowsDotAsm, rowsAxpy2Asm, mulUpdateAsm
	rowsDotAsm, rowsAxpy2Asm, mulUpdateAsm = rowsDotAVX2Slices, nil, mulUpdateAVX2Slices
	pa, rr, mp := powAddAsm, recipRangeAsm, mulPowAsm
	powAddAsm, recipRangeAsm, mulPowAsm = powAddAVX2Slices, recipRangeAVX2Slices, mulPowAVX2Slices
	klPanels32Asm, panelDots32Asm, addLanes32Asm, klTail32Asm = klPanels32AVX2Slices, panelDots32AVX2Slices, addLanes32AVX2Slices, klTail32Go
	rowsDot32Asm, rowsAxpy2x32Asm, addClear32Asm = rowsDot32AVX2Slices, rowsAxpy2x32AVX2Slices, addClear32AVX2Slices
	klRowsAsm, asm32, forceSingle = nil, true, true
	return func() {
		b05Panels32Asm, adaptPanelsAsm = b05, ad
		klPanels32Asm, panelDots32Asm, addLanes32Asm, klTail32Asm, rowsDot32Asm, rowsAxpy2x32Asm, addClear32Asm = p, d, l, tl, rd, ra, ac
		klRowsAsm, asm32, forceSingle, rowsDotAsm, rowsAxpy2Asm, mulUpdateAsm = rows, a32, force, rd64, ra64, mu
		powAddAsm, recipRangeAsm, mulPowAsm = pa, rr, mp
	}
}

// closeRel fails t unless got[i] is within rel of want[i], relative, for
// every i (both exactly 0 where want is), and logs the largest difference.
func closeRel(t *testing.T, what string, got, want []float64, rel float64) {
	t.Helper()
	worst := 0.0
	for i := range want {
		e := math.Abs(got[i] - want[i])
		if want[i] == 0 && got[i] != 0 || e > rel*math.Abs(want[i]) || math.IsNaN(got[i]) {
			t.Fatalf("%s: [%d] = %.9g, Go %.9g (bound %g relative)", what, i, got[i], want[i], rel)
		}
		if want[i] != 0 {
			worst = math.Max(worst, e/math.Abs(want[i]))
		}
	}
	t.Logf("%s: largest relative difference %.3g (bound %.3g)", what, worst, rel)
}

func f32s(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, a := range x {
		y[i] = float64(a)
	}
	return y
}

func expSlice32(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.ExpFloat64())
	}
	return x
}

// TestAVX2PanelsMatchGo: klPanels32AVX2 then addLanes32AVX2 against
// klPanels32Go then addLanes32Go on one block, for 1 to 9 panels and 33
// (the four-panel groups and every remainder) and kq of 4 (one step of the
// unrolled loops) to 132, with whole panels of v zero (skipped alone, or
// within a group), single zero bins, and h zero (W h = 0: epsilon). They
// sum in the same order and differ where Go rounds a product before adding
// it and the assembly's fused multiply-add does not, and in the lanes of
// acc added in float32 (two levels) against float64: W h within
// (kq/4 + 2) u of each other (u = 2^-24, every term positive), r within
// that + 2u, each acc lane, a sum of at most n terms, within that + n u,
// num within that + 2u: (kq/4 + n + 8) u.
func TestAVX2PanelsMatchGo(t *testing.T) {
	if !cpuAVX2FMA {
		t.Skip("no AVX2 and FMA")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 33} {
		for _, kq := range []int{4, 8, 12, 60, 64, 68, 128, 132} {
			for variant := range 3 {
				w := expSlice32(rng, n*kq*klPanelRows)
				h := expSlice32(rng, kq)
				v := make([]float32, n*klPanelRows)
				for i := range v {
					if rng.IntN(5) > 0 {
						v[i] = float32(100 * rng.Float64())
					}
				}
				switch variant {
				case 1: // panel 1 all zero (in a group of four, or alone), and the last
					clear(v[min(1, n-1)*klPanelRows : min(2, n)*klPanelRows])
					clear(v[(n-1)*klPanelRows:])
				case 2: // W h = 0: r = v / epsilon
					clear(h)
				}
				accGo := make([]float32, kq*klPanelRows)
				accAsm := make([]float32, kq*klPanelRows)
				klPanels32Go(w, h, v, accGo, n, kq)
				klPanels32AVX2Slices(w, h, v, accAsm, n, kq)
				what := fmt.Sprintf("panels %d kq %d variant %d", n, kq, variant)
				closeRel(t, what+" acc", f32s(accAsm), f32s(accGo), float64(kq/4+n+6)*0x1p-24)
				numGo, numAsm := make([]float64, kq), make([]float64, kq)
				for k := range kq {
					numGo[k], numAsm[k] = float64(k), float64(k)
				}
				addLanes32Go(numGo, accGo, kq)
				addLanes32AVX2Slices(numAsm, accAsm, kq)
				closeRel(t, what+" num", numAsm, numGo, float64(kq/4+n+8)*0x1p-24)
				for i, x := range accAsm {
					if x != 0 {
						t.Fatalf("%s: acc[%d] = %v after addLanes32AVX2, want 0", what, i, x)
					}
				}
			}
		}
	}
}

// TestAVX2DotsMatchGo: panelDots32AVX2 against panelDots32Go for 1 to 9
// panels and column ranges [lo, hi) from one column to all: one float32 sum
// per bin in the same order, within 2 (hi - lo) u of each other.
func TestAVX2DotsMatchGo(t *testing.T) {
	if !cpuAVX2FMA {
		t.Skip("no AVX2 and FMA")
	}
	rng := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 9} {
		for _, kq := range []int{4, 8, 64, 132} {
			w := expSlice32(rng, n*kq*klPanelRows)
			h := expSlice32(rng, kq)
			for _, r := range [][2]int{{0, kq}, {0, 1}, {kq - 1, kq}, {1, kq / 2}, {kq / 2, kq}} {
				lo, hi := r[0], r[1]
				if lo >= hi {
					continue
				}
				yGo, yAsm := make([]float64, n*klPanelRows), make([]float64, n*klPanelRows)
				panelDots32Go(w, h, yGo, n, kq, lo, hi)
				panelDots32AVX2Slices(w, h, yAsm, n, kq, lo, hi)
				closeRel(t, fmt.Sprintf("panels %d kq %d columns %d:%d", n, kq, lo, hi), yAsm, yGo, float64(2*(hi-lo))*0x1p-24)
			}
		}
	}
}

// TestAVX2RowsMatchGo: the general beta's float32 passes (klrows32.go) in
// avx2_amd64.s against their Go loops, for rows a multiple of 4 and kp a
// multiple of klPad. rowsDot32: the same products in other float32 partial
// sums (kp/16 terms per lane against kp/4), both within (kp/4 + 3) u of the
// exact sum, so within twice that of each other. rowsAxpy2x32: the same
// sums in the same order, with fused multiply-adds: within 2 (rows + 1) u.
// addClear32: exact (the conversion is exact, the float64 addition the same).
// rowsDot in float64 (beta 2's Gram pass): as rowsDot32, with 2^-53.
func TestAVX2RowsMatchGo(t *testing.T) {
	if !cpuAVX2FMA {
		t.Skip("no AVX2 and FMA")
	}
	rng := rand.New(rand.NewPCG(15, 16))
	for _, rows := range []int{4, 8, 12, 64, 68} {
		for _, kp := range []int{16, 32, 64, 128, 144} {
			what := fmt.Sprintf("rows %d kp %d", rows, kp)
			w := expSlice32(rng, rows*kp)
			h := expSlice32(rng, kp)
			yGo, yAsm := make([]float64, rows), make([]float64, rows)
			for f := range rows {
				yGo[f] = dot32(w[f*kp:f*kp+kp], h)
			}
			rowsDot32AVX2Slices(w, h, yAsm, rows, kp)
			closeRel(t, what+" rowsDot32", yAsm, yGo, float64(2*(kp/4+3))*0x1p-24)

			w64, h64 := f32s(w), f32s(h)
			y64Go, y64Asm := make([]float64, rows), make([]float64, rows)
			rowsDotGo(w64, h64, y64Go, rows, kp)
			rowsDotAVX2Slices(w64, h64, y64Asm, rows, kp)
			closeRel(t, what+" rowsDot (float64)", y64Asm, y64Go, float64(2*(kp/4+3))*0x1p-53)

			a, d := make([]float64, rows), make([]float64, rows)
			for f := range rows {
				a[f], d[f] = rng.ExpFloat64(), rng.ExpFloat64()
			}
			nGo, dGo := expSlice32(rng, kp), expSlice32(rng, kp)
			nAsm, dAsm := append([]float32(nil), nGo...), append([]float32(nil), dGo...)
			rowsAxpy2x32Go(w, a, d, nGo, dGo, rows, kp)
			rowsAxpy2x32AVX2Slices(w, a, d, nAsm, dAsm, rows, kp)
			closeRel(t, what+" rowsAxpy2x32 num", f32s(nAsm), f32s(nGo), float64(2*(rows+1))*0x1p-24)
			closeRel(t, what+" rowsAxpy2x32 den", f32s(dAsm), f32s(dGo), float64(2*(rows+1))*0x1p-24)

			yGo2, yAsm2 := f32s(h), f32s(h)
			xGo, xAsm := append([]float32(nil), w[:kp]...), append([]float32(nil), w[:kp]...)
			for j, x := range xGo {
				yGo2[j] += float64(x)
			}
			clear(xGo)
			addClear32AVX2Slices(yAsm2, xAsm)
			for j := range yGo2 {
				if yGo2[j] != yAsm2[j] || xAsm[j] != 0 {
					t.Fatalf("%s addClear32: [%d] = %v (x %v), want %v (x 0)", what, j, yAsm2[j], xAsm[j], yGo2[j])
				}
			}
		}
	}
}

// TestAVX2SeparatorAllocs: a Separator running the AVX2 kernels allocates
// nothing per frame, for beta 1 and the general beta.
func TestAVX2SeparatorAllocs(t *testing.T) {
	restore := installAVX2()
	defer restore()
	if !cpuAVX2FMA {
		t.Skip("no AVX2 and FMA")
	}
	for _, beta := range []float64{1, 0.5, 2} {
		bases, frames := benchSetup(1024, 64)
		p := DefaultParams()
		p.Beta = beta
		s, err := NewSeparator(bases, p)
		if err != nil {
			t.Fatal(err)
		}
		if beta != 2 && !s.kn.single {
			t.Fatalf("beta %v: the Separator does not take the float32 passes", beta)
		}
		masks := newMasks(bases.NumSources(), bases.F())
		i := 0
		if a := testing.AllocsPerRun(50, func() { s.Process(masks, frames[i%len(frames)]); i++ }); a != 0 {
			t.Errorf("beta %v: %v allocations per frame, want 0", beta, a)
		}
		if beta == 2 {
			continue
		}
		// The quality setting's adapted bases, in the panels.
		p.UpdateExponent, p.Adapt = 1, 5
		if s, err = NewSeparator(bases, p); err != nil {
			t.Fatal(err)
		}
		if s.ad.pp == nil {
			t.Fatalf("beta %v, adapt: the adapted bases are not in the panels", beta)
		}
		if a := testing.AllocsPerRun(50, func() { s.Process(masks, frames[i%len(frames)]); i++ }); a != 0 {
			t.Errorf("beta %v, adapt: %v allocations per frame, want 0", beta, a)
		}
	}
}
