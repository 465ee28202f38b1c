package stft_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// golden is testdata/rfft_golden.json, written by testdata/rfft_golden.py
// from numpy.fft.rfft and scipy.signal.get_window. The tests never run
// Python; refresh the file by running the script on purpose.
type golden struct {
	Windows []struct {
		Kind   string    `json:"kind"`
		N      int       `json:"n"`
		Values []float64 `json:"values"`
	} `json:"windows"`
	Streams []struct {
		FFTSize int            `json:"fft_size"`
		Hop     int            `json:"hop"`
		Window  string         `json:"window"`
		Input   []float64      `json:"input"`
		Frames  [][][2]float64 `json:"frames"`
	} `json:"streams"`
}

func readGolden(t *testing.T) *golden {
	t.Helper()
	path := filepath.Join("testdata", "rfft_golden.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden values (regenerate with /usr/bin/python3 testdata/rfft_golden.py > %s): %v", path, err)
	}
	var g golden
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(g.Windows) == 0 || len(g.Streams) == 0 {
		t.Fatalf("%s: no windows or streams", path)
	}
	return &g
}
