package main

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/spf13/cobra"
)

// reference is the part of testdata/demo/reference.json (written by
// testdata/gen/reference.py: the same pipeline in numpy/scikit-learn, scored with
// mir_eval 0.7) that the demo test compares with.
type reference struct {
	Results map[string]map[string]struct {
		SDR float64 `json:"sdr"`
	} `json:"results"`
}

// TestDemoQuality runs `sepd demo` and checks, per source:
//   - the SDR improvement over the mixture is at least 6 dB (the floor);
//   - sepd's SDR is within 0.1 dB of the numpy prototype of the same streaming
//     algorithm (reference.py "streaming": same windows, floor 1e-3, 10 KL iterations);
//     0.1 dB allows for float32 output files and BSS Eval solver rounding (measured
//     difference: under 0.01 dB);
//   - and it is not above the oracle Wiener mask's SDR (the ceiling for masking).
func TestDemoQuality(t *testing.T) {
	data, err := os.ReadFile("../../testdata/demo/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	c := &cobra.Command{}
	c.SetContext(t.Context())
	scores, _, _, err := demo(c, t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(scores) != 2 {
		t.Fatalf("%d sources scored, want 2 (voice, noise)", len(scores))
	}
	for _, s := range scores {
		for _, kind := range []string{"batch", "streaming", "oracle"} {
			if _, ok := ref.Results[kind][s.Source]; !ok {
				t.Fatalf("reference.json has no %s result for %s", kind, s.Source)
			}
		}
		t.Logf("%s: mixture %.2f dB, sepd %.2f dB (%+.2f), sklearn batch %.2f dB, numpy streaming %.2f dB, oracle %.2f dB",
			s.Source, s.MixSDR, s.OutSDR, s.ImprovementSDRdB,
			ref.Results["batch"][s.Source].SDR, ref.Results["streaming"][s.Source].SDR, ref.Results["oracle"][s.Source].SDR)
		if s.ImprovementSDRdB < 6 {
			t.Errorf("%s: SDR improvement %.2f dB, want >= 6 dB", s.Source, s.ImprovementSDRdB)
		}
		if d := math.Abs(s.OutSDR - ref.Results["streaming"][s.Source].SDR); d > 0.1 {
			t.Errorf("%s: SDR %.2f dB differs from the numpy prototype's %.2f dB by %.2f dB", s.Source, s.OutSDR, ref.Results["streaming"][s.Source].SDR, d)
		}
		if s.OutSDR > ref.Results["oracle"][s.Source].SDR {
			t.Errorf("%s: SDR %.2f dB above the oracle mask's %.2f dB: the evaluation is broken", s.Source, s.OutSDR, ref.Results["oracle"][s.Source].SDR)
		}
	}
}
