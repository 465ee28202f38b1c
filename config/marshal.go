package config

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The shapes Marshal writes. Zero-valued fields are left out only where the
// zero value is also the value Parse assumes when the key is missing.
type (
	fileConfig struct {
		SampleRate int            `yaml:"sample_rate,omitempty"`
		DeviceRate int            `yaml:"device_rate,omitempty"`
		Input      fileInput      `yaml:"input"`
		STFT       fileSTFT       `yaml:"stft,flow"`
		Separation fileSeparation `yaml:"separation,flow"`
		Sources    []fileSource   `yaml:"sources"`
		Metrics    *fileMetrics   `yaml:"metrics,omitempty,flow"`
		Log        fileLog        `yaml:"log,flow"`
		Learned    *fileLearned   `yaml:"learned,omitempty,flow"`
	}
	fileInput struct {
		Device   string `yaml:"device,omitempty"`
		Channels int    `yaml:"channels,omitempty"`
		File     string `yaml:"file,omitempty"`
		Realtime bool   `yaml:"realtime,omitempty"`
	}
	fileSTFT struct {
		FFTSize int    `yaml:"fft_size"`
		Hop     int    `yaml:"hop"`
		Window  string `yaml:"window"`
		Latency int    `yaml:"latency,omitempty"`
	}
	fileSeparation struct {
		Beta       float64 `yaml:"beta"`
		Iterations int     `yaml:"iterations"`
		Tolerance  float64 `yaml:"tolerance"`
		MaskPower  float64 `yaml:"mask_power"`
		Sparsity   float64 `yaml:"sparsity"`
		Floor      float64 `yaml:"floor"`
		// UpdateExponent and Adapt are written: their zeros (scikit-learn's
		// exponent, fixed bases) are not the defaults. Adapt is left out
		// only when its 0 is the default that gave way to free components
		// (Separation.AdaptDefaulted), which the absence means.
		UpdateExponent float64  `yaml:"update_exponent"`
		Adapt          *float64 `yaml:"adapt,omitempty"`
	}
	fileSource struct {
		Name           string `yaml:"name"`
		Bases          string `yaml:"bases,omitempty"`
		Array          string `yaml:"array,omitempty"`
		FreeComponents int    `yaml:"free_components,omitempty"`
		Recon          string `yaml:"recon,omitempty"`
		Output         any    `yaml:"output,omitempty"`
	}
	fileOutput struct {
		File     string `yaml:"file,omitempty"`
		Format   string `yaml:"format,omitempty"`
		Device   string `yaml:"device,omitempty"`
		Channels []int  `yaml:"channels,omitempty,flow"`
	}
	fileMetrics struct {
		Listen string `yaml:"listen"`
	}
	fileLog struct {
		Format string `yaml:"format"`
		Level  string `yaml:"level"`
	}
	fileLearned struct {
		FFTSize    int     `yaml:"fft_size"`
		Hop        int     `yaml:"hop"`
		Window     string  `yaml:"window"`
		Beta       float64 `yaml:"beta"`
		SampleRate int     `yaml:"sample_rate"`
	}
)

// Marshal writes c as a YAML configuration file that Parse reads back into
// an equal Config (given the same path; Metrics.ListenSet comes back true
// when Listen is not the default). Every value is written, so the file
// documents itself, except those whose absence means the same thing (a zero
// sample_rate, metrics when not chosen, realtime: false). Paths inside c.Dir
// are written relative to it, so the folder can be moved as a whole.
//
// Marshal first validates c and returns Validate's error, so it never
// writes a file that Parse would reject. It allocates; it never panics.
func (c *Config) Marshal() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	rel := func(p string) string {
		if c.Dir == "" || p == "" || !filepath.IsAbs(p) {
			return p
		}
		r, err := filepath.Rel(c.Dir, p)
		if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			return p
		}
		return r
	}
	f := fileConfig{
		SampleRate: c.SampleRateHz,
		DeviceRate: c.DeviceRateHz,
		Input: fileInput{
			Device:   c.Input.Device,
			Channels: c.Input.Channels,
			File:     rel(c.Input.File),
			Realtime: c.Input.Realtime,
		},
		STFT: fileSTFT(c.STFT),
		Separation: fileSeparation{
			Beta:       c.Separation.Beta,
			Iterations: c.Separation.Iterations,
			Tolerance:  c.Separation.Tolerance,
			MaskPower:  c.Separation.MaskPower,
			Sparsity:   c.Separation.Sparsity,
			Floor:      c.Separation.Floor,

			UpdateExponent: c.Separation.UpdateExponent,
		},
		Log: fileLog(c.Log),
	}
	if a := c.Separation.Adapt; a != 0 || !c.Separation.AdaptDefaulted || !slices.ContainsFunc(c.Sources, func(s Source) bool { return s.FreeComponents > 0 }) {
		f.Separation.Adapt = &a
	}
	if c.Metrics.ListenSet || c.Metrics.Listen != defaultListen {
		f.Metrics = &fileMetrics{Listen: c.Metrics.Listen}
	}
	if l := c.Learned; l != nil {
		f.Learned = &fileLearned{FFTSize: l.FFTSize, Hop: l.Hop, Window: l.Window, Beta: l.Beta, SampleRate: l.SampleRateHz}
	}
	for _, s := range c.Sources {
		fs := fileSource{
			Name:           s.Name,
			Bases:          rel(s.Bases),
			FreeComponents: s.FreeComponents,
			Recon:          rel(s.Recon),
		}
		if s.Array != s.Name {
			fs.Array = s.Array
		}
		outs := make([]fileOutput, len(s.Outputs))
		for j, o := range s.Outputs {
			outs[j] = fileOutput{File: rel(o.File), Format: o.Format, Device: o.Device, Channels: o.Channels}
		}
		switch len(outs) {
		case 0:
		case 1:
			fs.Output = outs[0]
		default:
			fs.Output = outs
		}
		f.Sources = append(f.Sources, fs)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("config: writing YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("config: writing YAML: %w", err)
	}
	return buf.Bytes(), nil
}

// isNPZ reports whether a bases path names a .npz archive.
func isNPZ(p string) bool { return strings.EqualFold(filepath.Ext(p), ".npz") }
