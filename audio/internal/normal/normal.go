// Package normal starts child processes with the normal (SCHED_OTHER)
// scheduling policy, whatever the thread that starts them runs at.
//
// A process that runs PortAudio on JACK has real-time threads: libjack's
// process thread runs SCHED_FIFO (jackd -R), and the PortAudio callbacks
// enter Go on it. When the Go runtime creates a thread while running there
// (to wake a goroutine the callback made ready), the new thread inherits
// SCHED_FIFO, and so does every goroutine later scheduled on it, and every
// process it starts: os/exec clones the calling thread. Measured here: a
// `go build` started by the audio tests after they had opened JACK streams
// ran at SCHED_FIFO 5 for 20 minutes on a 2-core machine, starving the
// JACK clients of the same priority until their servers' clients hung
// unkillable. So every process sepd or its tests start from a process that
// may have opened PortAudio goes through Start, which starts it from a
// thread of its own reset to SCHED_OTHER.
//
// It is its own package because the audio package and its test helper
// (audio/jacktest, which imports nothing of sepd's audio code) both need it.
package normal

import (
	"bytes"
	"os/exec"
	"runtime"
)

// Start starts cmd (as cmd.Start does) from an OS thread whose scheduling
// policy is SCHED_OTHER, so that the child does not inherit a real-time
// policy. Where the policy cannot be set, cmd is started anyway.
func Start(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	go func() {
		// The thread is never unlocked: it ends with this goroutine, and
		// no other goroutine ever runs on a thread this changed.
		runtime.LockOSThread()
		setNormal()
		errc <- cmd.Start()
	}()
	return <-errc
}

// Run is cmd.Run through Start.
func Run(cmd *exec.Cmd) error {
	if err := Start(cmd); err != nil {
		return err
	}
	return cmd.Wait()
}

// Output is cmd.Output through Start.
func Output(cmd *exec.Cmd) ([]byte, error) {
	var out bytes.Buffer
	cmd.Stdout = &out
	err := Run(cmd)
	return out.Bytes(), err
}

// CombinedOutput is cmd.CombinedOutput through Start.
func CombinedOutput(cmd *exec.Cmd) ([]byte, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := Run(cmd)
	return out.Bytes(), err
}
