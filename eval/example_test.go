package eval_test

import (
	"errors"
	"fmt"
	"math"

	"github.com/sepd/sepd/eval"
)

// tone returns n samples of a two-harmonic tone at f cycles per sample,
// plus a little deterministic "noise" so that the references are not pure
// sinusoids (whose delayed copies are nearly linearly dependent).
func tone(n int, f float64) []float64 {
	x := make([]float64, n)
	seed := uint32(f * 1e6)
	for t := range x {
		seed = seed*1664525 + 1013904223 // a linear congruential generator
		noise := float64(seed)/(1<<32) - 0.5
		x[t] = math.Sin(2*math.Pi*f*float64(t)) + 0.4*math.Sin(4*math.Pi*f*float64(t)) + 0.05*noise
	}
	return x
}

func ExampleBSSEvalSources() {
	const n = 4000
	voice, piano := tone(n, 0.011), tone(n, 0.037)
	// Estimates that leak a tenth (-20 dB) of the other source, handed over
	// in the wrong order.
	ests := make([][]float64, 2)
	for t := range n {
		ests[0] = append(ests[0], piano[t]+0.1*voice[t])
		ests[1] = append(ests[1], voice[t]+0.1*piano[t])
	}
	res, err := eval.BSSEvalSources([][]float64{voice, piano}, ests, true)
	if err != nil {
		fmt.Println(err)
		return
	}
	for j, name := range []string{"voice", "piano"} {
		fmt.Printf("%s: estimate %d, SDR %.1f dB, SIR %.1f dB\n", name, res.Perm[j], res.SDR[j], res.SIR[j])
	}
	// Output:
	// voice: estimate 1, SDR 20.2 dB, SIR 20.2 dB
	// piano: estimate 0, SDR 20.3 dB, SIR 20.3 dB
}

func ExampleBSSEvalSources_silent() {
	ref := tone(1000, 0.02)
	_, err := eval.BSSEvalSources([][]float64{ref, make([]float64, 1000)}, [][]float64{ref, ref}, false)
	fmt.Println(err)
	fmt.Println(errors.Is(err, eval.ErrSilent))
	// Output:
	// eval: reference 1 is all zeros: BSS Eval needs every source to be non-silent (not all zeros)
	// true
}

// An Evaluator prepares the references once for several sets of estimates:
// here a separation and the unprocessed mixture, whose difference is the
// separation's improvement.
func ExampleEvaluator() {
	const n = 4000
	voice, piano := tone(n, 0.011), tone(n, 0.037)
	ev, err := eval.NewEvaluator([][]float64{voice, piano})
	if err != nil {
		fmt.Println(err)
		return
	}
	mix := make([]float64, n)
	sep := [][]float64{make([]float64, n), make([]float64, n)}
	for t := range n {
		mix[t] = voice[t] + piano[t]
		sep[0][t] = voice[t] + 0.05*piano[t]
		sep[1][t] = piano[t] + 0.05*voice[t]
	}
	before, _ := ev.Evaluate([][]float64{mix, mix}, false)
	after, _ := ev.Evaluate(sep, false)
	fmt.Printf("voice SDR: mixture %.1f dB, separated %.1f dB\n", before.SDR[0], after.SDR[0])
	// Output:
	// voice SDR: mixture 0.4 dB, separated 26.2 dB
}

// SI-SDR forgives the gain (+Inf: half the reference is the reference, up to
// scale); the plain SDR counts it as distortion.
func ExampleSISDR() {
	ref := tone(1000, 0.02)
	half := make([]float64, len(ref))
	for i, v := range ref {
		half[i] = 0.5 * v
	}
	fmt.Printf("SI-SDR %.0f dB, SDR %.2f dB\n", eval.SISDR(ref, half), eval.SDR(ref, half))
	// Output:
	// SI-SDR +Inf dB, SDR 6.02 dB
}
