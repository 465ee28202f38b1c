package jacktest_test

import (
	"strings"
	"testing"

	"github.com/sepd/sepd/audio/jacktest"
)

// place returns a recording of n frames holding sig at lag (silence before and
// after), the way a loopback through a program plays it back.
func place(n, lag int, sig []float32) []float32 {
	rec := make([]float32, n)
	copy(rec[lag:], sig)
	return rec
}

// TestJudge checks Judge on recordings made by hand: what a clean loopback, a
// server xrun and the program's own faults do to the samples.
func TestJudge(t *testing.T) {
	const (
		n   = 48000 // a second of signal at 48 kHz
		lag = 1024  // a loopback's lag (TestLiveLoopbackJACK measures 1024)
		per = 256   // a JACK period
	)
	sig := jacktest.Noise(n, 1, 3)[0]
	total := n + 2*lag + 4*per
	exp := jacktest.Expect{Want: [][][]float32{{sig}}, MaxLag: 4096, Slack: 4 * per, Excuse: 8 * per}

	// drop returns the loopback with the signal frames [i, i+k) missing
	// from recording frame lag+i on (the program lost them): k < 0 pads -k
	// frames of silence instead.
	drop := func(i, k int) []float32 {
		rec := place(total, lag, sig[:i])
		if k >= 0 {
			copy(rec[lag+i:], sig[i+k:])
		} else {
			copy(rec[lag+i-k:], sig[i:])
		}
		return rec
	}
	// drop2 loses a period at signal frames i and j > i.
	drop2 := func(i, j int) []float32 {
		rec := place(total, lag, sig[:i])
		copy(rec[lag+i:], sig[i+per:j])
		copy(rec[lag+j-per:], sig[j+per:])
		return rec
	}
	// storm spoils recording frames [lag+i, lag+j) (other noise, what a
	// program recovering from one xrun after another plays) and returns the
	// recording with server xruns every per*4 frames from lag+i up to
	// before lag+j-upto.
	other := jacktest.Noise(n, 1, 4)[0]
	storm := func(i, j, upto int) ([]float32, []int) {
		rec := place(total, lag, sig)
		copy(rec[lag+i:lag+j], other[i:j])
		var xr []int
		for x := lag + i; x < lag+j-upto; x += 4 * per {
			xr = append(xr, x)
		}
		return rec, xr
	}
	stormy, stormXruns := storm(20000, 30000, 0)
	cutShort, cutXruns := storm(20000, 30000, 6000)
	stormEnd, stormEndXruns := storm(40000, n, 0)
	corrupt := func(i int) []float32 {
		rec := place(total, lag, sig)
		rec[lag+i] += 1.0 / (1 << 24) // one step of the noise's 24-bit grid
		return rec
	}
	for _, tc := range []struct {
		name     string
		rec      []float32
		xruns    []int
		counted  int
		ok       bool
		segments int
		problem  string // a part of the problem, when !ok
	}{
		{"clean", place(total, lag, sig), nil, 0, true, 1, ""},
		{"clean, an xrun that spoilt nothing", place(total, lag, sig), []int{5000}, 0, true, 1, ""},
		{"a period lost at a server xrun", drop(20000, per), []int{lag + 20000 - per}, 0, true, 2, ""},
		{"a period padded at a server xrun", drop(20000, -per), []int{lag + 20000 + 2*per}, 0, true, 2, ""},
		{"an input period lost, the xrun a lag earlier", drop(20000, per), []int{20000}, 0, true, 2, ""},
		{"a period lost, no server xrun", drop(20000, per), nil, 0, false, 2, "no server xrun near"},
		{"a period lost, counted by the program", drop(20000, per), nil, 1, true, 2, ""},
		{"a period lost, the server xrun far from it", drop(20000, per), []int{5000}, 0, false, 2, "no server xrun near"},
		// One counted xrun covers the glitches within Slack (+ Recover) of the first.
		{"two periods lost close together, one counted", drop2(20000, 20000+3*per), nil, 1, true, 3, ""},
		{"two periods lost far apart, one counted", drop2(20000, 30000), nil, 1, false, 3, "2 xrun(s) apart"},
		{"two periods lost far apart, two counted", drop2(20000, 30000), nil, 2, true, 3, ""},
		{"one sample lost", drop(30000, 1), []int{10000}, 0, false, 2, "samples lost or corrupted"},
		{"one sample corrupted", corrupt(30000), []int{10000}, 0, false, 2, "samples lost or corrupted"},
		{"a gap longer than an xrun excuses", drop(20000, -20*per), []int{lag + 20000}, 0, false, 1, "matches again nowhere"},
		// A storm: each xrun comes before the program has recovered from
		// the last, and the glitch lasts until the last one's reach is past.
		{"a storm of server xruns, 10000 frames spoilt", stormy, stormXruns, 0, true, 2, ""},
		{"a storm that ends 6000 frames before the spoilt stretch does", cutShort, cutXruns, 0, false, 1, "matches again nowhere"},
		{"a storm to the end of the signal", stormEnd, stormEndXruns, 0, true, 1, ""},
		{"silence", make([]float32, total), nil, 0, false, 0, "never holds"},
		{"an xrun that cut the end", place(total, lag, sig[:n-100]), []int{lag + n - 200}, 0, true, 1, ""},
		{"the program's own xrun cut the end, counted", place(total, lag, sig[:n-100]), nil, 1, true, 1, ""},
		{"the end cut, nothing counted", place(total, lag, sig[:n-100]), nil, 0, false, 1, "matches again nowhere"},
		{"the end cut and a period lost, one counted", func() []float32 {
			r := drop(20000, per)
			clear(r[lag+n-100-per:])
			return r
		}(), nil, 1, false, 2, "samples lost or corrupted"},
	} {
		e := exp
		e.Counted = tc.counted
		v := jacktest.Judge([][]float32{tc.rec}, tc.xruns, e)
		t.Logf("%s: %v", tc.name, v)
		if v.OK() != tc.ok || len(v.Segments) != tc.segments || !tc.ok && !strings.Contains(strings.Join(v.Problems, "; "), tc.problem) {
			t.Errorf("%s: OK %v with %d segments and problems %q; want OK %v, %d segments, a problem with %q", tc.name, v.OK(), len(v.Segments), v.Problems, tc.ok, tc.segments, tc.problem)
		}
		if tc.segments > 0 && v.Lag() != lag {
			t.Errorf("%s: first lag %d, want %d", tc.name, v.Lag(), lag)
		}
	}
}

// TestJudgeCandidates checks a recording that holds one candidate before a
// glitch and another after it (a stateful program whose output depends on
// the phase of its blocks), within a tolerance, over two channels.
func TestJudgeCandidates(t *testing.T) {
	const n, lag, tol = 20000, 700, 1e-4
	a := jacktest.Noise(n, 2, 5)
	b := jacktest.Noise(n, 2, 6)
	rec := [][]float32{make([]float32, n+2000), make([]float32, n+2000)}
	for c := range rec {
		copy(rec[c][lag:], a[c][:8000])
		copy(rec[c][lag+8000+256:], b[c][8000:]) // 256 frames of silence, then b
		for i := range rec[c] {
			rec[c][i] += tol / 2 // within the tolerance
		}
	}
	e := jacktest.Expect{Want: [][][]float32{a, b}, Tol: tol, MaxLag: 4096, Slack: 1024, Excuse: 2048}
	v := jacktest.Judge(rec, []int{lag + 8000}, e)
	t.Log(v)
	if !v.OK() || len(v.Segments) != 2 || v.Segments[0].Candidate != 0 || v.Segments[1].Candidate != 1 ||
		v.Segments[1].Lag != lag+256 || v.Matched != n {
		t.Errorf("got %v; want candidate 0 at lag %d, then candidate 1 at lag %d, all %d frames matched", v, lag, lag+256, n)
	}
	// A candidate that begins with a silence the other lacks (a later phase)
	// is found from its own first sound: no glitch at the start.
	late := [][]float32{append(make([]float32, 512), b[0]...), append(make([]float32, 512), b[1]...)}
	late[0], late[1] = late[0][:n], late[1][:n]
	rec2 := [][]float32{make([]float32, n+2000), make([]float32, n+2000)}
	for c := range rec2 {
		copy(rec2[c][lag:], late[c])
	}
	if v := jacktest.Judge(rec2, nil, jacktest.Expect{Want: [][][]float32{a, late}, Tol: tol, MaxLag: 4096, Slack: 1024, Excuse: 2048}); !v.OK() || len(v.Glitches) != 0 || v.Segments[0].Candidate != 1 || !v.CleanStart() {
		t.Errorf("the later phase: %v; want candidate 1 from its start, no glitch", v)
	}
	e.Tol = tol / 4
	if v := jacktest.Judge(rec, []int{lag + 8000}, e); v.OK() {
		t.Errorf("an offset of %g passed a tolerance of %g: %v", tol/2, e.Tol, v)
	}
}
