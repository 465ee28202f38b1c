package stft_test

import (
	"math"
	"strings"
	"testing"

	"github.com/sepd/sepd/stft"
)

// TestWindowMatchesScipy checks every window against
// scipy.signal.get_window (periodic), as stored in testdata/rfft_golden.json.
func TestWindowMatchesScipy(t *testing.T) {
	// 1e-15: the values are at most 1 and come from different cos
	// implementations (Go's math.Cos and numpy's), which differ by an ulp or two.
	const tol = 1e-15
	for _, gw := range readGolden(t).Windows {
		got, err := stft.Window(stft.WindowKind(gw.Kind), gw.N)
		if err != nil {
			t.Fatalf("Window(%s, %d): %v", gw.Kind, gw.N, err)
		}
		if len(got) != len(gw.Values) {
			t.Fatalf("Window(%s, %d): len %d, want %d", gw.Kind, gw.N, len(got), len(gw.Values))
		}
		for i, want := range gw.Values {
			if math.Abs(got[i]-want) > tol {
				t.Errorf("Window(%s, %d)[%d] = %.17g, scipy says %.17g", gw.Kind, gw.N, i, got[i], want)
			}
		}
	}
}

// TestWindowFormulas checks the periodic windows against their closed forms
// at the sizes sepd uses, independently of gonum's dsp/window.
func TestWindowFormulas(t *testing.T) {
	formulas := map[stft.WindowKind]func(x float64) float64{ // x = 2 pi n / N
		stft.Hann:     func(x float64) float64 { return 0.5 - 0.5*math.Cos(x) },
		stft.SqrtHann: func(x float64) float64 { return math.Sin(x / 2) },
		stft.Hamming:  func(x float64) float64 { return 0.54 - 0.46*math.Cos(x) },
		stft.Blackman: func(x float64) float64 { return 0.42 - 0.5*math.Cos(x) + 0.08*math.Cos(2*x) },
	}
	// 1e-14: gonum computes the argument as (2 pi/n)*i, the formulas here as
	// 2 pi i/n; near 2 pi they differ by an ulp (8.9e-16), times at most
	// 0.5+2*0.08 for the cosine terms' derivatives. Observed: below 1e-15.
	const tol = 1e-14
	for kind, f := range formulas {
		for _, n := range []int{16, 17, 1000, 1024, 2048} {
			w, err := stft.Window(kind, n)
			if err != nil {
				t.Fatalf("Window(%s, %d): %v", kind, n, err)
			}
			for i, v := range w {
				if want := f(2 * math.Pi * float64(i) / float64(n)); math.Abs(v-want) > tol {
					t.Fatalf("Window(%s, %d)[%d] = %.17g, want %.17g", kind, n, i, v, want)
				}
			}
			// Periodic: w[i] == w[n-i], up to the same argument rounding.
			for i := 1; i < n; i++ {
				if math.Abs(w[i]-w[n-i]) > tol {
					t.Fatalf("Window(%s, %d) is not periodic-symmetric: w[%d]=%g, w[%d]=%g", kind, n, i, w[i], n-i, w[n-i])
				}
			}
		}
	}
}

func TestWindowErrors(t *testing.T) {
	tests := []struct {
		kind stft.WindowKind
		n    int
		want string
	}{
		{"hanning", 16, `stft: unknown window "hanning": valid windows are hann, sqrt-hann, hamming, blackman`},
		{"", 16, `stft: unknown window ""`},
		{stft.Hann, 0, "stft: hann window length 0: must be at least 1"},
		{stft.Hamming, -3, "stft: hamming window length -3"},
	}
	for _, tt := range tests {
		w, err := stft.Window(tt.kind, tt.n)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Window(%q, %d) = %v, %v; want error containing %q", tt.kind, tt.n, w, err, tt.want)
		}
	}
}

func TestParseWindow(t *testing.T) {
	tests := []struct {
		in      string
		want    stft.WindowKind
		wantErr string
	}{
		{"hann", stft.Hann, ""},
		{"sqrt-hann", stft.SqrtHann, ""},
		{"hamming", stft.Hamming, ""},
		{"blackman", stft.Blackman, ""},
		{" Hann ", stft.Hann, ""},
		{"SQRT-HANN", stft.SqrtHann, ""},
		{"hanning", "", `stft: unknown window "hanning": valid windows are hann, sqrt-hann, hamming, blackman`},
		{"sqrt_hann", "", `stft: unknown window "sqrt_hann": valid windows are hann, sqrt-hann, hamming, blackman`},
		{"", "", `stft: unknown window "": valid windows are hann, sqrt-hann, hamming, blackman`},
	}
	for _, tt := range tests {
		got, err := stft.ParseWindow(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParseWindow(%q) = %q, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseWindow(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
