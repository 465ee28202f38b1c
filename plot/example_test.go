package plot_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/sepd/sepd/plot"
)

// Example records a made-up run frame by frame, as engine.RunOptions.OnFrame
// would feed it (e.Spectrum(0), e.Masks(), e.Separator().Activations()), and
// draws its pictures.
func Example() {
	const fft, hop, rate = 512, 128, 16000
	rec, err := plot.NewRecorder(plot.Layout{
		FFTSize: fft, HopSamples: hop,
		Sources:    []string{"voice", "noise"},
		BasisStart: []int{0, 8, 12}, // voice: bases 0-7, noise: 8-11
		FullScale:  fft / 4,         // sum of a periodic Hann window / 2
	})
	if err != nil {
		panic(err)
	}
	bins := fft/2 + 1
	spec := make([]complex128, bins)
	masks := [][]float64{make([]float64, bins), make([]float64, bins)}
	act := make([]float64, 12)
	for t := range 2 * rate / hop { // 2 s
		for f := range spec {
			spec[f] = complex(fft/4*math.Exp(-float64(f)/40)*(1.5+math.Sin(float64(t)/10)), 0)
			masks[0][f] = 0.5 + 0.5*math.Sin(float64(f+t)/20)
			masks[1][f] = 1 - masks[0][f]
		}
		for k := range act {
			act[k] = 1 + math.Sin(float64(t*(k+1))/50)
		}
		rec.Add(spec, masks, act)
	}
	dir, err := os.MkdirTemp("", "plot-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	imgs, err := rec.WritePNGs(dir, plot.Options{SampleRateHz: rate, InputSamples: 2 * rate, Title: "example"})
	if err != nil {
		panic(err)
	}
	for _, im := range imgs {
		fmt.Printf("%-16s %dx%d  colour scale %6.1f to %4.1f %s\n", filepath.Base(im.Path), im.WidthPx, im.HeightPx, im.ScaleMin, im.ScaleMax, im.Unit)
	}
	// Output:
	// input.png        1400x700  colour scale  -61.6 to  8.0 dBFS
	// source-voice.png 1400x700  colour scale  -61.6 to  8.0 dBFS
	// source-noise.png 1400x700  colour scale  -61.6 to  8.0 dBFS
	// mask-voice.png   1400x700  colour scale    0.0 to  1.0 mask
	// mask-noise.png   1400x700  colour scale    0.0 to  1.0 mask
	// activations.png  1400x700  colour scale  -60.0 to  0.0 dB re max
}
