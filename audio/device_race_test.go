//go:build race

package audio_test

// raceEnabled: the race detector slows the callbacks down several times, and
// this process's JACK client then misses a period now and then (JACK tells
// only the late client, which PortAudio reports as both InputOverflow and
// OutputUnderflow), so the live tests tolerate those two kinds under -race.
const raceEnabled = true
