// The tphakala half of the resampler survey in audio/resample.go ("Why not
// a library"): github.com/tphakala/go-audio-resampler v1.4.0 streams, and
// this prints, per preset, the samples it returns per 256-sample hop
// (768 at 48 kHz), whether irregular blocks change its output, and the
// delay of the round trip 48 -> 16 -> 48 kHz (an impulse's peak, with the
// samples it withholds at the start counted). Run from this folder:
//
//	go run .
package main

import (
	"fmt"
	"math"
	"math/rand"

	resampling "github.com/tphakala/go-audio-resampler"
)

type into interface {
	ProcessInto(in, out []float64) (int, error)
}

func newR(in, out float64, q resampling.QualityPreset) into {
	r, err := resampling.New(&resampling.Config{InputRate: in, OutputRate: out, Channels: 1, Quality: resampling.QualitySpec{Preset: q}})
	if err != nil {
		panic(err)
	}
	return r.(into)
}

// stream resamples x in blocks of the sizes next returns, padding the
// samples withheld at the start so that output i is at time i.
func stream(in, out float64, q resampling.QualityPreset, x []float64, next func() int) (y []float64, counts []int) {
	r := newR(in, out, q)
	buf := make([]float64, 1<<16)
	for i := 0; i < len(x); {
		n := min(next(), len(x)-i)
		k, err := r.ProcessInto(x[i:i+n], buf)
		if err != nil {
			panic(err)
		}
		counts = append(counts, k)
		y = append(y, buf[:k]...)
		i += n
	}
	short := int(math.Round(float64(len(x))*out/in)) - len(y)
	return append(make([]float64, short), y...), counts
}

func main() {
	rng := rand.New(rand.NewSource(1))
	noise := make([]float64, 48000)
	for i := range noise {
		noise[i] = rng.Float64()*2 - 1
	}
	for _, q := range []resampling.QualityPreset{resampling.QualityLow, resampling.QualityMedium, resampling.QualityHigh} {
		_, counts := stream(48000, 16000, q, noise, func() int { return 768 })
		a, _ := stream(48000, 16000, q, noise, func() int { return 768 })
		b, _ := stream(48000, 16000, q, noise, func() int { return 1 + rng.Intn(1000) })
		diff := 0.0
		for i := range min(len(a), len(b)) {
			diff = math.Max(diff, math.Abs(a[i]-b[i]))
		}
		imp := make([]float64, 48000)
		imp[12000] = 1
		down, _ := stream(48000, 16000, q, imp, func() int { return 768 })
		back, _ := stream(16000, 48000, q, down, func() int { return 256 })
		peak := 0
		for i := range back {
			if math.Abs(back[i]) > math.Abs(back[peak]) {
				peak = i
			}
		}
		fmt.Printf("preset %d: samples per hop 48 -> 16 kHz %v; irregular blocks change the output by %g; round trip 48 -> 16 -> 48 kHz delays %d samples (%.1f ms)\n",
			q, counts[:6], diff, peak-12000, float64(peak-12000)/48)
	}
}
