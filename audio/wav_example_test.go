package audio_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/sepd/sepd/audio"
)

// Write a short stereo file atomically, then read it back with ReadAll.
func ExampleCreateWAV() {
	dir, err := os.MkdirTemp("", "sepd-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "out.wav")

	w, err := audio.CreateWAV(path, audio.Format{SampleRateHz: 16000, Channels: 2}, audio.PCM16)
	if err != nil {
		log.Fatal(err)
	}
	defer w.Abort() // drops the temporary file on any early return; a no-op after Close
	left := []float64{0, 0.5, -0.5, 1.5}
	right := []float64{0.25, -0.25, -1, -1.5}
	if err := w.Write([][]float64{left, right}); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	samples, f, err := audio.ReadAll(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(f)
	fmt.Println(samples[0]) // 1.5 clipped to the largest PCM16 code, 32767/32768
	fmt.Println(samples[1])
	// Output:
	// 2 ch, 16000 Hz
	// [0 0.5 -0.5 0.999969482421875]
	// [0.25 -0.25 -1 -1]
}

// Stream a file in blocks into buffers the caller owns.
func ExampleOpen() {
	r, err := audio.Open("testdata/files/pcm16_2ch_44100.wav")
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	fmt.Println(r.Format(), r.Frames(), "frames")

	block := [][]float64{make([]float64, 256), make([]float64, 256)}
	var frames int
	for {
		n, err := r.Read(block)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		frames += n // block[c][:n] holds the samples of channel c
	}
	fmt.Println(frames, "frames read")
	// Output:
	// 2 ch, 44100 Hz 882 frames
	// 882 frames read
}

// The errors name the file and say what is wrong; errors.Is tells the kind.
func ExampleOpen_errors() {
	_, err := audio.Open("testdata/files/bad_lying_data_size.wav")
	fmt.Println(err)
	fmt.Println(errors.Is(err, audio.ErrTruncatedFile))
	// Output:
	// audio: testdata/files/bad_lying_data_size.wav: truncated file: the "data" chunk at offset 36 claims 88200 bytes but only 1000 bytes follow its header (the file is 1044 bytes long)
	// true
}
