package normal

import "golang.org/x/sys/unix"

// setNormal sets the calling thread's policy to SCHED_OTHER (nice 0).
func setNormal() error {
	return unix.SchedSetAttr(0, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_NORMAL}, 0)
}
