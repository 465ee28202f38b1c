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
	// Followers (id, signal, awake, finish, wait, busy, status, 0): one in
	// time (finish 37 us of a 5333 us quantum, status 3), one that had not
	// finished (status 2), one that finished after the quantum; an empty
	// group between them.
	ok := "5331\t120\t0\t5333\t53\t2\t26\t37\t25\t11\t3\t0\t"
	empty := " \t \t \t \t \t \t \t \t"
	log = ok + empty + "54\t3\t30\t0\t27\t0\t2\t0\t\n" +
		ok + "55\t3\t30\t6000\t27\t5970\t3\t0\t\n" +
		ok + empty + "56\t3\t30\t40\t27\t10\t3\t0\t\n"
	if got := lateCycles(log); got != 2 {
		t.Errorf("followers: lateCycles = %d, want 2", got)
	}
}
