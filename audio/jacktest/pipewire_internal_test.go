package jacktest

import (
	"fmt"
	"slices"
	"testing"
)

// TestLateCycles reads lines as cmd/pw-cycles writes them, at quantum 256
// (5333333 ns at 48 kHz): the driver's ten columns, then six per follower.
// The cycles: on time; the driver woke 1.4 quanta after its previous wake-up;
// it finished 1.4 quanta after waking; a follower had not finished (status 2,
// awake); one finished after the quantum; one was not triggered (status 0,
// not late); a line cut short.
func TestLateCycles(t *testing.T) {
	const q = 5333333
	line := func(at, prev, finish int64, followers ...string) string {
		s := fmt.Sprintf("34\tsepd-mic\t%d\t256\t48000\t%d\t%d\t%d\t%d\t3", at, prev, at, at+20000, finish)
		for _, f := range followers {
			s += "\t" + f
		}
		return s + "\n"
	}
	capt := func(finish int64, status int) string {
		return fmt.Sprintf("59\tALSA Capture\t1\t2\t%d\t%d", finish, status)
	}
	base := int64(1000 * q)
	log := line(base, base-q, base+40000, capt(base+30000, 3)) +
		line(base+q, base+q-q*14/10, base+q+40000, capt(base+q+30000, 3)) +
		line(base+2*q, base+q, base+2*q+q*14/10, capt(base+2*q+30000, 3)) +
		line(base+3*q, base+2*q, base+3*q+40000, capt(base+2*q+30000, 2)) +
		line(base+4*q, base+3*q, base+4*q+40000, capt(base+4*q+q+1000, 3)) +
		line(base+5*q, base+4*q, base+5*q+40000, capt(0, 0)) +
		"34\tsepd-mic\t5\t256\n"
	g := lateCycles(log)
	if g.Cycles != 6 {
		t.Errorf("%d cycles, want 6", g.Cycles)
	}
	var at []int64
	var late [][]string
	for _, c := range g.Late {
		at = append(at, (c.Nanos-base)/q)
		late = append(late, c.Late)
		if c.Driver != "sepd-mic" || !slices.Equal(c.Nodes, []string{"sepd-mic", "ALSA Capture"}) {
			t.Errorf("cycle %d: driver %q, nodes %q", (c.Nanos-base)/q, c.Driver, c.Nodes)
		}
	}
	want := [][]string{{"sepd-mic"}, {"sepd-mic"}, {"ALSA Capture"}, {"ALSA Capture"}}
	if !slices.Equal(at, []int64{1, 2, 3, 4}) || fmt.Sprint(late) != fmt.Sprint(want) {
		t.Errorf("late cycles %v with late nodes %q; want [1 2 3 4], %q", at, late, want)
	}
}

// TestGraphFrames places late cycles in a recording by the helper's
// callback times: a cycle between two callbacks is at the earlier one's
// frame; cycles outside the callbacks, or of a graph without the node, are
// left out (Before counts the one before the first callback).
func TestGraphFrames(t *testing.T) {
	r := &Result{clockFrames: []int{0, 256, 512, 768}, clockNanos: []int64{100, 200, 300, 400}}
	g := Graph{Late: []Cycle{
		{Nanos: 50, Nodes: []string{"d", "jacktest"}},
		{Nanos: 250, Nodes: []string{"d", "jacktest"}},
		{Nanos: 300, Nodes: []string{"Dummy-Driver", "sepd-pw-test"}},
		{Nanos: 399, Nodes: []string{"jacktest"}},
		{Nanos: 401, Nodes: []string{"jacktest"}},
	}}
	if got := g.Frames(r, "jacktest"); !slices.Equal(got, []int{256, 512}) {
		t.Errorf("Frames = %v, want [256 512]", got)
	}
	if n := g.Before(r, "jacktest"); n != 1 {
		t.Errorf("Before = %d, want 1", n)
	}
}
