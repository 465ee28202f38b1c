package audio

import (
	"math"
	"time"
)

// Where a stream's DeviceLatency comes from (StreamInfo.LatencySource).
const (
	// LatencyReported: PortAudio's stream latency, taken as it is.
	LatencyReported = "reported"
	// LatencyEstimated: PortAudio's figure came back wrapped around 2^32
	// frames; DeviceLatency is sepd's estimate from the server's buffer size
	// (see checkDeviceLatency).
	LatencyEstimated = "estimated"
	// LatencyUnknown: PortAudio's figure is nonsense and nothing better is
	// known; DeviceLatency is 0, so every total that includes it is a lower
	// bound.
	LatencyUnknown = "unknown"
)

// maxDeviceLatency: a device latency PortAudio reports above this is not
// believed. The largest real ones are Bluetooth headsets' (200-300 ms) and
// PipeWire's largest quantum (8192 frames at 44.1 kHz, 186 ms).
const maxDeviceLatency = 10 * time.Second

// checkDeviceLatency judges the stream latency PortAudio reported for a
// stream at rateHz and returns the latency to use and where it comes from
// (one of the Latency* constants).
//
// PortAudio 19.6's JACK host API computes a stream's latency as
//
//	jack_port_get_latency(port) - jack_get_buffer_size(client) + the buffer processor's frames
//
// in 32-bit unsigned arithmetic (jack_nframes_t; src/hostapi/jack/pa_jack.c
// lines 1301-1307 at tag pa_stable_v190600_20161030, "One buffer is not
// counted as latency"; PortAudio's master dropped the subtraction in commit
// 3ee53a7, 2024, in no release yet). jackd's ports report at least one
// period, but PipeWire's libjack reports 0, so through pw-jack the difference
// wraps to 2^32 - buffer frames: 89478 s at a 1024 quantum and 48 kHz
// (sepd's half-duplex streams have no buffer-processor frames). A figure in
// [2^31, 2^32) frames is that wrap: its distance to 2^32 is the server's buffer
// less the port latency, i.e. the buffer, since a port latency of 0 is what
// makes it wrap. The estimate is then what jackd's own ports give for that
// period (capture: one period of port latency less the period PortAudio
// subtracts, 0; playback: two periods less one, one period), which adds up
// to the one period port to port that jack_iodelay measures through
// PipeWire's JACK (README, "On a desktop with PipeWire").
// Any other figure above maxDeviceLatency, or a negative one, is unknown.
// It does not allocate.
func checkDeviceLatency(reported time.Duration, rateHz int, input bool) (time.Duration, string) {
	if reported >= 0 && reported <= maxDeviceLatency {
		return reported, LatencyReported
	}
	if reported < 0 || rateHz <= 0 {
		return 0, LatencyUnknown
	}
	frames := math.Round(reported.Seconds() * float64(rateHz))
	const wrap = 1 << 32
	if frames < wrap/2 || frames >= wrap {
		return 0, LatencyUnknown
	}
	buffer := wrap - frames
	if time.Duration(buffer*float64(time.Second)/float64(rateHz)) > maxDeviceLatency {
		return 0, LatencyUnknown
	}
	if input {
		return 0, LatencyEstimated
	}
	return time.Duration(buffer * float64(time.Second) / float64(rateHz)), LatencyEstimated
}

// LatencySource is the least trustworthy of the streams' LatencySource:
// LatencyUnknown if any is unknown, else LatencyEstimated if any is
// estimated, else LatencyReported ("" without streams). It does not allocate.
func (i LiveInfo) LatencySource() string {
	rank := func(s string) int {
		switch s {
		case LatencyReported:
			return 1
		case LatencyEstimated:
			return 2
		case LatencyUnknown:
			return 3
		}
		return 0
	}
	worst := ""
	see := func(s string) {
		if rank(s) > rank(worst) {
			worst = s
		}
	}
	if i.Input != nil {
		see(i.Input.LatencySource)
	}
	for _, o := range i.Outputs {
		see(o.LatencySource)
	}
	return worst
}
