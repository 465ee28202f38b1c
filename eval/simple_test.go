package eval

import (
	"math"
	"math/rand/v2"
	"testing"
)

// testSignal returns n samples of a deterministic harmonic signal with a
// slow envelope (any fixed non-white signal would do).
func testSignal(n int, f0 float64) []float64 {
	x := make([]float64, n)
	for t := range x {
		ph := 2 * math.Pi * f0 * float64(t) / 8000
		x[t] = (0.6 + 0.4*math.Sin(2*math.Pi*float64(t)/3000)) *
			(math.Sin(ph) + 0.5*math.Sin(2*ph+1) + 0.25*math.Sin(3*ph+2))
	}
	return x
}

func TestSISDRAndSDRHandMade(t *testing.T) {
	ref := testSignal(4000, 220)
	scaled := make([]float64, len(ref))
	flipped := make([]float64, len(ref))
	for i, v := range ref {
		scaled[i] = 0.37 * v
		flipped[i] = -v
	}
	zero := make([]float64, len(ref))
	cases := []struct {
		name       string
		ref, est   []float64
		sisdr, sdr float64 // want; math.Inf(1) here means "above 100 dB"
		tol        float64
	}{
		// ref [1,0], est [1,1]: alpha = 1, target [1,0], error [0,-1]: 0 dB;
		// plain SDR 1/1: 0 dB.
		{"unit", []float64{1, 0}, []float64{1, 1}, 0, 0, 1e-12},
		// ref [1,2], est [4,3]: alpha = 10/5 = 2, target [2,4] (energy 20),
		// error [-2,1] (energy 5): 10 log10(4) = 6.0206 dB; plain SDR
		// 5 / ((1-4)^2 + (2-3)^2) = 5/10: -3.0103 dB.
		{"hand", []float64{1, 2}, []float64{4, 3}, 10 * math.Log10(4), 10 * math.Log10(0.5), 1e-12},
		// A scaled copy: SI-SDR ignores the gain (rounding leaves > 100 dB or
		// +Inf); the plain SDR sees an error of 0.63 ref: 20 log10(1/0.63).
		{"scaled copy", ref, scaled, math.Inf(1), -20 * math.Log10(0.63), 1e-9},
		// A sign-flipped copy: alpha = -1, nothing left; the plain SDR sees
		// an error of 2 ref: -20 log10(2) = -6.0206 dB.
		{"sign flip", ref, flipped, math.Inf(1), -20 * math.Log10(2), 1e-9},
		// Nothing estimated: SI-SDR -Inf (alpha = 0); the plain SDR's error is
		// the reference itself: 0 dB.
		{"zero estimate", ref, zero, math.Inf(-1), 0, 1e-12},
		// A perfect estimate: no error at all.
		{"identical", ref, ref, math.Inf(1), math.Inf(1), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := SISDR(c.ref, c.est)
			switch {
			case math.IsInf(c.sisdr, 1):
				if !(got > 100) {
					t.Errorf("SISDR = %v dB, want > 100 dB", got)
				}
			case math.IsInf(c.sisdr, -1):
				if !math.IsInf(got, -1) {
					t.Errorf("SISDR = %v dB, want -Inf", got)
				}
			case !(math.Abs(got-c.sisdr) <= c.tol):
				t.Errorf("SISDR = %.12f dB, want %.12f", got, c.sisdr)
			}
			got = SDR(c.ref, c.est)
			if math.IsInf(c.sdr, 1) {
				if !math.IsInf(got, 1) {
					t.Errorf("SDR = %v dB, want +Inf", got)
				}
			} else if !(math.Abs(got-c.sdr) <= c.tol) {
				t.Errorf("SDR = %.12f dB, want %.12f", got, c.sdr)
			}
		})
	}
}

// TestSISDRWhiteNoise adds white noise scaled to exactly a given SNR. The
// plain SDR is then that SNR to rounding. SI-SDR differs by the chance
// correlation rho = <n,r>/(|n||r|) of noise and reference, about N(0, 1/N)
// for N samples of independent white noise: with g = |n|/|r| =
// 10^(-SNR/20), the projection gives
//
//	SISDR - SNR = 20 log10(1 + rho g) - 10 log10(1 - rho^2)
//	            ~ (20/ln 10) g rho  (std 8.69 g / sqrt(N) dB)  + 4.34 rho^2,
//
// so 5 standard deviations plus 4.34*25/N bounds it: 0.20 dB at 0 dB SNR
// and N = 48000, 0.0085 dB at 30 dB.
func TestSISDRWhiteNoise(t *testing.T) {
	const n = 48000
	ref := testSignal(n, 190)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, snr := range []float64{0, 10, 20, 30} {
		noise := make([]float64, n)
		var en, er float64
		for i := range noise {
			noise[i] = rng.NormFloat64()
			en += noise[i] * noise[i]
			er += ref[i] * ref[i]
		}
		g := math.Pow(10, -snr/20)
		k := g * math.Sqrt(er/en)
		est := make([]float64, n)
		for i := range est {
			est[i] = ref[i] + k*noise[i]
		}
		tol := 5*20/math.Ln10*g/math.Sqrt(n) + 10/math.Ln10*25/n
		got := SISDR(ref, est)
		if !(math.Abs(got-snr) <= tol) {
			t.Errorf("SNR %g dB: SISDR = %.4f dB, want within %.4f dB", snr, got, tol)
		}
		t.Logf("SNR %g dB: SISDR - SNR = %+.4f dB (tolerance %.4f)", snr, got-snr, tol)
		if got := SDR(ref, est); !(math.Abs(got-snr) <= 1e-9) {
			t.Errorf("SNR %g dB: SDR = %.12f dB", snr, got)
		}
	}
}

func TestSISDRUndefined(t *testing.T) {
	if got := SISDR([]float64{0, 0, 0}, []float64{1, 2, 3}); !math.IsNaN(got) {
		t.Errorf("SISDR of a silent reference = %v, want NaN", got)
	}
	if got := SDR([]float64{0, 0}, []float64{1, 0}); !math.IsInf(got, -1) {
		t.Errorf("SDR of a silent reference = %v, want -Inf", got)
	}
}

func TestSISDRLengthPanics(t *testing.T) {
	for name, f := range map[string]func([]float64, []float64) float64{"SISDR": SISDR, "SDR": SDR} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("no panic for different lengths")
				}
				if s, _ := r.(string); s != "eval: "+name+": ref and est lengths differ" {
					t.Errorf("panic %q", r)
				}
			}()
			f([]float64{1, 2}, []float64{1})
		})
	}
}
