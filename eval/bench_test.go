package eval

import (
	"fmt"
	"testing"
)

// BenchmarkBSSEvalSources scores 2 sources x 10 s at 44.1 kHz (and 60 s:
// the size the README compares with mir_eval; testdata/time_mireval.py
// times mir_eval on the same sizes). Reported: seconds of compute per
// second of audio (s/audio-s) and its inverse, x-realtime. Run with a small
// -benchtime, e.g. -benchtime=2x: one 60 s iteration takes seconds.
func BenchmarkBSSEvalSources(b *testing.B) {
	const rateHz = 44100
	for _, seconds := range []int{10, 60} {
		n := seconds * rateHz
		refs, ests := synthCase(5, 2, n, -15, -25)
		for _, permute := range []bool{false, true} {
			b.Run(fmt.Sprintf("2x%ds/permute=%v", seconds, permute), func(b *testing.B) {
				for b.Loop() {
					if _, err := BSSEvalSources(refs, ests, permute); err != nil {
						b.Fatal(err)
					}
				}
				perAudio := b.Elapsed().Seconds() / float64(b.N) / float64(seconds)
				b.ReportMetric(perAudio, "s/audio-s")
				b.ReportMetric(1/perAudio, "x-realtime")
			})
		}
	}
}
