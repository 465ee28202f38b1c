package jacktest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// WatchPipeWire records PipeWire's profiler (pw-profiler, package
// pipewire-bin; the server must load its profiler module, as the packaged
// pipewire.conf does) from now until the returned stop is called, which
// returns the graph's late cycles: those whose driver woke more than 1.3
// periods after the previous wakeup, or finished more than 1.3 periods after
// waking (pw-profiler then writes 1.4 periods in both of its first two
// columns; src/tools/pw-profiler.c, dump_point). A late cycle is PipeWire's
// xrun: every client in it may lose or repeat a period, as at a JACK server's
// xrun, but PipeWire's libjack (0.3.65) tells its clients nothing (the
// helper's callbacks carry no xrun flag), so a judge can only count them
// (add them to Expect.Counted). The profiler's log goes to a temporary
// folder, removed by stop. It allocates.
func WatchPipeWire() (stop func() (late int, err error), err error) {
	dir, err := os.MkdirTemp("", "jacktest-profiler-")
	if err != nil {
		return nil, fmt.Errorf("jacktest: %w", err)
	}
	cmd := exec.Command("pw-profiler", "-o", "profile.log")
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("jacktest: pw-profiler (package pipewire-bin): %w", err)
	}
	time.Sleep(100 * time.Millisecond) // it binds the profiler
	return func() (int, error) {
		defer os.RemoveAll(dir)
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		b, err := os.ReadFile(filepath.Join(dir, "profile.log"))
		if err != nil {
			return 0, fmt.Errorf("jacktest: pw-profiler's log: %w", err)
		}
		return lateCycles(string(b)), nil
	}, nil
}

// lateCycles counts the lines of a pw-profiler log (one per graph cycle)
// in which the driver or a follower was late. The driver's four columns
// come first: its period and its processing time (microseconds; 1.4 times
// the quantum when either exceeded 1.3 times it, see WatchPipeWire), the
// delay, the quantum's duration. Then eight for each follower node (empty
// for none): id, signal, awake and finish times after the driver's signal,
// wait, busy, and the node's activation status (3: finished;
// src/tools/pw-profiler.c, dump_point). A follower that had not finished by
// the end of the cycle, or finished after a quantum, is late too: its
// output for the cycle is not in the graph's (seen: a 256-frame glitch in
// the ALSA plugin's loopback beside a busy process, with no late driver).
func lateCycles(log string) int {
	late := 0
	for _, line := range strings.Split(log, "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 4 {
			continue
		}
		var d1, d2, period float64
		if _, err := fmt.Sscan(f[0], &d1); err != nil {
			continue
		}
		fmt.Sscan(f[1], &d2)
		fmt.Sscan(f[3], &period)
		if period <= 0 {
			continue
		}
		if d1 > 1.3*period || d2 > 1.3*period || lateFollower(f[4:], period) {
			late++
		}
	}
	return late
}

// lateFollower reports whether one of the followers' column groups says a
// node had not finished, or finished more than period after the driver's
// signal.
func lateFollower(f []string, period float64) bool {
	for i := 0; i+7 <= len(f); i += 8 {
		var id, finish float64
		var status int
		if _, err := fmt.Sscan(f[i], &id); err != nil {
			continue // no follower in this group
		}
		fmt.Sscan(f[i+3], &finish)
		if _, err := fmt.Sscan(f[i+6], &status); err != nil {
			continue
		}
		if status != 3 || finish > period {
			return true
		}
	}
	return false
}
