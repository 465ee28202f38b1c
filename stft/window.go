package stft

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/dsp/window"
)

// WindowKind names an analysis window. Its values are the strings accepted in
// the configuration file (stft.window), so a WindowKind can be printed
// directly in messages.
type WindowKind string

// The windows sepd offers. All are the periodic ("DFT-even") forms that
// scipy.signal.get_window returns by default, not the symmetric forms of
// gonum's dsp/window: the periodic window of length n is the first n values
// of the symmetric window of length n+1.
const (
	// Hann is the periodic Hann window 0.5 - 0.5cos(2 pi n/N), the default.
	Hann WindowKind = "hann"
	// SqrtHann is the square root of the periodic Hann window, sin(pi n/N).
	// Used for both analysis and synthesis at hop N/2 it gives the classic
	// "root-Hann" filter bank whose synthesis window equals the analysis one.
	SqrtHann WindowKind = "sqrt-hann"
	// Hamming is the periodic Hamming window 0.54 - 0.46cos(2 pi n/N).
	// Never zero, so it also allows hop == fftSize.
	Hamming WindowKind = "hamming"
	// Blackman is the periodic Blackman window
	// 0.42 - 0.5cos(2 pi n/N) + 0.08cos(4 pi n/N).
	Blackman WindowKind = "blackman"
)

// windowKinds lists every WindowKind in the order error messages name them.
var windowKinds = []WindowKind{Hann, SqrtHann, Hamming, Blackman}

// validWindowNames returns "hann, sqrt-hann, hamming, blackman" for messages.
func validWindowNames() string {
	names := make([]string, len(windowKinds))
	for i, k := range windowKinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// ParseWindow returns the WindowKind named by s, as written in a
// configuration file. Surrounding spaces and letter case are ignored. An
// unknown name gives an error that lists the valid names; the caller adds
// the file and key. ParseWindow does not allocate unless it fails.
func ParseWindow(s string) (WindowKind, error) {
	t := strings.TrimSpace(s)
	for _, k := range windowKinds {
		if strings.EqualFold(t, string(k)) {
			return k, nil
		}
	}
	return "", fmt.Errorf("stft: unknown window %q: valid windows are %s", s, validWindowNames())
}

// Window returns the periodic window of the given kind and length n >= 1 in
// a new slice. It returns an error for an unknown kind or n < 1. Window
// allocates; call it once when building a processing chain, never per frame.
func Window(kind WindowKind, n int) ([]float64, error) {
	if n < 1 {
		return nil, fmt.Errorf("stft: %s window length %d: must be at least 1", kind, n)
	}
	// The periodic window of length n is the symmetric window of length n+1
	// (gonum's dsp/window forms) without its last value.
	sym := make([]float64, n+1)
	for i := range sym {
		sym[i] = 1
	}
	switch kind {
	case Hann:
		window.Hann(sym)
	case SqrtHann:
		// sqrt(0.5 - 0.5cos(2 pi i/n)) = sin(pi i/n), computed directly:
		// the square root of the Hann values would lose accuracy near the
		// ends, where 1 - cos cancels.
		for i := range sym {
			sym[i] = math.Sin(math.Pi * float64(i) / float64(n))
		}
	case Hamming:
		window.Hamming(sym)
	case Blackman:
		window.Blackman(sym)
	default:
		return nil, fmt.Errorf("stft: unknown window %q: valid windows are %s", kind, validWindowNames())
	}
	return sym[:n:n], nil
}
