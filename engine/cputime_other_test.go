//go:build !linux

package engine

import "time"

// threadCPU is -1 where the thread's CPU time is not read: no cpu-us/frame.
func threadCPU() time.Duration { return -1 }
