package jacktest

import "testing"

// TestLateCycles reads lines as pw-profiler 0.3.65 writes them (the driver's
// four columns, then eight per follower, tab-separated): a cycle on time
// (5333 us at quantum 256), one that woke 1.4 periods late, one whose
// processing took as long (the values dump_point writes for both), and a
// partial line.
func TestLateCycles(t *testing.T) {
	log := "5331.000\t120.000\t0.000\t5333.333\t53\t2\t26\t37\t25\t11\t3\t0\t \n" +
		"7466.667\t7466.667\t0.000\t5333.333\t \n" +
		"5340.000\t7466.667\t0.000\t5333.333\t \n" +
		"5333.000\t100.000\n"
	if got := lateCycles(log); got != 2 {
		t.Errorf("lateCycles = %d, want 2", got)
	}
}
