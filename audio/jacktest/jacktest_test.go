package jacktest_test

import (
	"fmt"
	"testing"

	"github.com/sepd/sepd/audio/jacktest"
)

func TestNoise(t *testing.T) {
	a := jacktest.Noise(10000, 2, 7)
	b := jacktest.Noise(10000, 2, 7)
	c := jacktest.Noise(10000, 1, 8)
	same := 0
	for i := range a[0] {
		v := a[0][i]
		if v == 0 || v < -0.5 || v >= 0.5 {
			t.Fatalf("sample %d = %v, want non-zero in [-0.5, 0.5)", i, v)
		}
		if float32(float64(v)) != v || v*(1<<24) != float32(int32(v*(1<<24))) {
			t.Fatalf("sample %d = %v is not a multiple of 2^-24", i, v)
		}
		if a[0][i] != b[0][i] || a[1][i] != b[1][i] {
			t.Fatal("same seed, different signal")
		}
		if a[0][i] == a[1][i] || a[0][i] == c[0][i] {
			same++
		}
	}
	if same > 10 { // chance agreements of two 24-bit uniform sequences: ~0.001 expected
		t.Errorf("%d equal samples across channels or seeds", same)
	}
}

func TestAlign(t *testing.T) {
	sig := []float32{0.5, -0.25, 0.125}
	for _, tc := range []struct {
		rec                       []float32
		lag, compared, mismatches int
		ok                        bool
	}{
		{[]float32{0, 0, 0.5, -0.25, 0.125, 0}, 2, 3, 0, true},
		{[]float32{0.5, -0.25, 0.125}, 0, 3, 0, true},
		{[]float32{0, 0.5, -0.25}, 1, 2, 0, true},       // cut short
		{[]float32{0, 0.5, 0.25, 0.125}, 1, 3, 1, true}, // one differs
		{[]float32{0, 0, 0}, 0, 0, 0, false},
	} {
		lag, compared, mismatches, ok := jacktest.Align(tc.rec, sig)
		if lag != tc.lag || compared != tc.compared || mismatches != tc.mismatches || ok != tc.ok {
			t.Errorf("Align(%v) = %d, %d, %d, %v; want %d, %d, %d, %v", tc.rec, lag, compared, mismatches, ok,
				tc.lag, tc.compared, tc.mismatches, tc.ok)
		}
	}
}

func TestFilterALSANoise(t *testing.T) {
	in := "ALSA lib confmisc.c:855:(parse_card) cannot find card '0'\n\njacktest helper: started\nALSA lib pcm.c:2664:(snd_pcm_open_noupdate) Unknown PCM sysdefault\n"
	if got, want := jacktest.FilterALSANoise(in), "jacktest helper: started\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func ExampleAlign() {
	sig := []float32{0.5, -0.25}
	rec := []float32{0, 0, 0, 0.5, -0.25, 0}
	lag, compared, mismatches, ok := jacktest.Align(rec, sig)
	fmt.Println(lag, compared, mismatches, ok)
	// Output: 3 2 0 true
}
