package config_test

import (
	"fmt"

	"github.com/sepd/sepd/config"
)

func ExampleParse() {
	data := []byte(`
input: {file: mix.wav}
stft: {fft_size: 2048}
sources:
  - name: voice
    bases: bases/voice.npy
    output: {file: out/voice.wav}
  - name: noise
    bases: bases/noise.npy
`)
	c, err := config.Parse(data, "/srv/sepd/sepd.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("input:", c.Input.File)
	fmt.Println("stft:", c.STFT.FFTSize, c.STFT.Hop, c.STFT.Window)
	for _, s := range c.Sources {
		fmt.Println("source:", s.Name, s.Bases, s.Outputs)
	}
	// Output:
	// input: /srv/sepd/mix.wav
	// stft: 2048 512 hann
	// source: voice /srv/sepd/bases/voice.npy [{/srv/sepd/out/voice.wav float32  0s []}]
	// source: noise /srv/sepd/bases/noise.npy []
}

func ExampleParse_errors() {
	data := []byte(`
input: {devise: default}
stft: {fft_size: 8, window: hanning}
sources:
  - {name: voice, bases: voice.npy, free_components: 4}
`)
	_, err := config.Parse(data, "sepd.yaml")
	fmt.Println(err)
	// Output:
	// config: sepd.yaml:2: input.devise: unknown key (valid: device, channels, file, realtime, latency)
	// config: sepd.yaml:3: stft.fft_size: must be at least 16, got 8
	// config: sepd.yaml:3: stft.window: must be one of hann, sqrt-hann, hamming, blackman; got "hanning"
	// config: sepd.yaml:5: sources[0].free_components: a source has either bases or free_components, not both
}

func ExampleConfig_Marshal() {
	// What `sepd learn` does: build a configuration in code, check it,
	// write it.
	c := config.Default()
	c.STFT.FFTSize, c.STFT.Hop = 2048, 512
	c.Sources = []config.Source{
		{Name: "voice", Bases: "bases.npz", Array: "voice"},
		{Name: "noise", Bases: "bases.npz", Array: "noise"},
	}
	c.Learned = &config.Learned{FFTSize: 2048, Hop: 512, Window: "hann", Beta: 1, SampleRateHz: 16000}
	out, err := c.Marshal()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(out))
	// Output:
	// input:
	//   device: default
	//   channels: 1
	// stft: {fft_size: 2048, hop: 512, window: hann}
	// separation: {beta: 0.5, iterations: 10, tolerance: 0, mask_power: 2, sparsity: 0, floor: 0.03, update_exponent: 1, adapt: 5}
	// sources:
	//   - name: voice
	//     bases: bases.npz
	//   - name: noise
	//     bases: bases.npz
	// log: {format: text, level: info}
	// learned: {fft_size: 2048, hop: 512, window: hann, beta: 1, sample_rate: 16000}
}
