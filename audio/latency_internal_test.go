package audio

import (
	"testing"
	"time"
)

// paDuration is how github.com/gordonklaus/portaudio turns PortAudio's
// PaTime (seconds, a double) into a time.Duration.
func paDuration(seconds float64) time.Duration { return time.Duration(seconds * float64(time.Second)) }

// TestCheckDeviceLatency feeds the figures PortAudio 19.6 computes through
// PipeWire's libjack: (port latency 0 - buffer) mod 2^32 frames, divided by
// the rate (pa_jack.c, see checkDeviceLatency); 2^32 - 1024 frames at 48 kHz is
// the 89478.464 s that sepd logged before (issue 16).
func TestCheckDeviceLatency(t *testing.T) {
	const wrap = 1 << 32
	wrapped := func(buffer, rate int) time.Duration { return paDuration(float64(wrap-buffer) / float64(rate)) }
	frames := func(n, rate int) time.Duration { return paDuration(float64(n) / float64(rate)) }
	for _, tc := range []struct {
		name     string
		reported time.Duration
		rate     int
		input    bool
		want     time.Duration
		source   string
	}{
		// jackd -p 256 (what PortAudio reports there: capture 0, playback one period).
		{"jackd capture", 0, 48000, true, 0, LatencyReported},
		{"jackd playback", frames(256, 48000), 48000, false, frames(256, 48000), LatencyReported},
		{"ALSA 8.68 ms", 8680 * time.Microsecond, 44100, false, 8680 * time.Microsecond, LatencyReported},
		{"10 s is still believed", 10 * time.Second, 48000, false, 10 * time.Second, LatencyReported},
		// pw-jack: wrapped; capture 0, playback one quantum.
		{"pw-jack 1024 capture", wrapped(1024, 48000), 48000, true, 0, LatencyEstimated},
		{"pw-jack 1024 playback", wrapped(1024, 48000), 48000, false, frames(1024, 48000), LatencyEstimated},
		{"pw-jack 256 playback", wrapped(256, 48000), 48000, false, frames(256, 48000), LatencyEstimated},
		{"pw-jack 64 playback 44.1k", wrapped(64, 44100), 44100, false, frames(64, 44100), LatencyEstimated},
		{"pw-jack 8192 playback", wrapped(8192, 48000), 48000, false, frames(8192, 48000), LatencyEstimated},
		// Nonsense that is not that wrap.
		{"negative", -time.Millisecond, 48000, false, 0, LatencyUnknown},
		{"an hour", time.Hour, 48000, false, 0, LatencyUnknown},
		{"2^32 frames exactly", frames(wrap, 48000), 48000, false, 0, LatencyUnknown},
		{"a wrap of more than 10 s", wrapped(48000*11, 48000), 48000, false, 0, LatencyUnknown},
		{"no rate", time.Hour, 0, false, 0, LatencyUnknown},
	} {
		got, src := checkDeviceLatency(tc.reported, tc.rate, tc.input)
		// The estimate goes through float seconds: within a nanosecond.
		if d := got - tc.want; d < -1 || d > 1 || src != tc.source {
			t.Errorf("%s: checkDeviceLatency(%v, %d, input=%v) = %v, %s; want %v, %s", tc.name, tc.reported, tc.rate, tc.input, got, src, tc.want, tc.source)
		}
	}
}

func TestLiveInfoLatencySource(t *testing.T) {
	rep, est, unk := &StreamInfo{LatencySource: LatencyReported}, StreamInfo{LatencySource: LatencyEstimated}, StreamInfo{LatencySource: LatencyUnknown}
	for _, tc := range []struct {
		info LiveInfo
		want string
	}{
		{LiveInfo{}, ""},
		{LiveInfo{Input: rep}, LatencyReported},
		{LiveInfo{Input: rep, Outputs: []StreamInfo{est}}, LatencyEstimated},
		{LiveInfo{Input: rep, Outputs: []StreamInfo{unk, est}}, LatencyUnknown},
		{LiveInfo{Outputs: []StreamInfo{*rep}}, LatencyReported},
	} {
		if got := tc.info.LatencySource(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.info, got, tc.want)
		}
	}
	if a := testing.AllocsPerRun(100, func() { LiveInfo{Input: rep}.LatencySource() }); a != 0 {
		t.Errorf("LatencySource allocates %v times", a)
	}
}
