//go:build linux

package normal

import (
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// childPolicy starts `cat /proc/self/stat` with start from a thread running
// SCHED_FIFO and returns the child's policy (field 41 of its stat).
func childPolicy(t *testing.T, start func(*exec.Cmd) ([]byte, error)) string {
	t.Helper()
	type res struct {
		out []byte
		err error
	}
	done := make(chan res, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the FIFO thread ends with the goroutine
		if err := unix.SchedSetAttr(0, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: 5}, 0); err != nil {
			done <- res{nil, err}
			return
		}
		out, err := start(exec.Command("cat", "/proc/self/stat"))
		done <- res{out, err}
	}()
	r := <-done
	if r.err != nil {
		t.Skipf("cannot run a thread at SCHED_FIFO here: %v", r.err)
	}
	// The command name, field 2, is in parentheses and has no space here.
	f := strings.Fields(string(r.out))
	if len(f) < 41 {
		t.Fatalf("short /proc/self/stat: %q", r.out)
	}
	return f[40]
}

// TestStartResetsPolicy: a child started from a SCHED_FIFO thread inherits
// SCHED_FIFO (policy 1) through os/exec, and gets SCHED_OTHER (0) through
// this package.
func TestStartResetsPolicy(t *testing.T) {
	if got := childPolicy(t, (*exec.Cmd).Output); got != "1" {
		t.Fatalf("through os/exec the child's policy is %s, want 1 (SCHED_FIFO, inherited): the test would prove nothing", got)
	}
	if got := childPolicy(t, Output); got != "0" {
		t.Errorf("through normal.Output the child's policy is %s, want 0 (SCHED_OTHER)", got)
	}
}
