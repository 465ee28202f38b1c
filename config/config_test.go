package config

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// withSources returns Default() with the given sources and changes applied.
func withSources(change func(c *Config), sources ...Source) *Config {
	c := Default()
	c.Sources = sources
	if change != nil {
		change(c)
	}
	return c
}

func TestLoadGood(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("testdata", "good"))
	if err != nil {
		t.Fatal(err)
	}
	at := func(p string) string { return filepath.Join(dir, p) }
	tests := []struct {
		file string
		want *Config
	}{
		{"minimal.yaml", withSources(nil,
			Source{Name: "voice", Bases: at("bases/voice.npy")},
			Source{Name: "noise", Bases: at("bases/noise.npy")},
		)},
		{"full.yaml", &Config{
			SampleRateHz: 48000,
			DeviceRateHz: 44100,
			Input:        Input{Device: "USB Audio", Channels: 2},
			STFT:         STFT{FFTSize: 2048, Hop: 512, Window: "sqrt-hann"},
			Separation:   Separation{Beta: 0.5, Iterations: 20, Tolerance: 1e-4, MaskPower: 1, Sparsity: 0.1, Floor: 0.01, UpdateExponent: 1, AdaptDefaulted: true}, // adapt 0: "room" has free components
			Sources: []Source{
				{Name: "voice", Bases: at("bases/voice.npy"), Outputs: []Output{
					{Device: "default", Channels: []int{0, 1}},
					{File: at("out/voice.wav"), Format: "pcm16"},
				}},
				{Name: "noise", Bases: "/opt/sepd/noise.npz", Array: "hum", Outputs: []Output{
					{Device: "3", Channels: []int{0}},
				}},
				{Name: "room", FreeComponents: 4, Outputs: []Output{
					{File: at("out/room.wav"), Format: "float32"},
				}},
			},
			Metrics: Metrics{Listen: "", ListenSet: true},
			Log:     Log{Format: "json", Level: "debug"},
			Learned: &Learned{FFTSize: 2048, Hop: 512, Window: "sqrt-hann", Beta: 0.5, SampleRateHz: 48000},
		}},
		{"replay.yaml", withSources(func(c *Config) {
			c.Input = Input{File: filepath.Join(filepath.Dir(dir), "mix.flac"), Realtime: true}
			c.Learned = &Learned{FFTSize: 1024, Hop: 256, Window: "hann", Beta: 1, SampleRateHz: 44100}
		},
			Source{Name: "voice", Bases: at("bases.npz"), Array: "voice", Outputs: []Output{{Device: "default", Channels: []int{0, 1}}}},
			Source{Name: "music", Bases: at("bases.npz"), Array: "music"},
		)},
		{"anchors.yaml", withSources(func(c *Config) {
			c.STFT = STFT{FFTSize: 512, Hop: 128, Window: "hann"}
			c.Learned = &Learned{FFTSize: 512, Hop: 128, Window: "hann", Beta: 1, SampleRateHz: 16000}
		},
			Source{Name: "voice", Bases: at("voice.npy"), Outputs: []Output{{File: at("out/voice.wav"), Format: "pcm16"}}},
			Source{Name: "noise", Bases: at("noise.npy"), Outputs: []Output{{File: at("out/noise.wav"), Format: "pcm16"}}},
		)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := Load(filepath.Join("testdata", "good", tt.file))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.want.Path, tt.want.Dir = at(tt.file), dir
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Load(%s)\ngot  %s\nwant %s", tt.file, dump(got), dump(tt.want))
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate of a loaded config: %v", err)
			}
		})
	}
}

// dump prints a Config with its pointers followed.
func dump(c *Config) string {
	s := fmt.Sprintf("%+v", *c)
	if c.Learned != nil {
		s += fmt.Sprintf(" Learned=%+v", *c.Learned)
	}
	return s
}

func TestParseDefaults(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		got  func(c *Config) any
		want any
	}{
		{"hop is a quarter of fft_size", "stft: {fft_size: 2048}", func(c *Config) any { return c.STFT.Hop }, 512},
		{"hop at least 1", "stft: {fft_size: 16}", func(c *Config) any { return c.STFT.Hop }, 4},
		{"no input section: default device, mono", "", func(c *Config) any { return c.Input }, Input{Device: "default", Channels: 1}},
		{"device without channels: mono", "input: {device: Mic}", func(c *Config) any { return c.Input }, Input{Device: "Mic", Channels: 1}},
		{"file without channels: the file's", "input: {file: a.wav}", func(c *Config) any { return c.Input.Channels }, 0},
		{"device index as integer", "input: {device: 0x2}", func(c *Config) any { return c.Input.Device }, "2"},
		{"device name that looks like a number", "input: {device: \"12\"}", func(c *Config) any { return c.Input.Device }, "12"},
		{"null values are defaults", "stft: {fft_size: ~, hop: }\nseparation:\n", func(c *Config) any { return c.STFT }, STFT{FFTSize: 1024, Hop: 256, Window: "hann"}},
		{"latency unset: the symmetric STFT", "stft: {fft_size: 1024, hop: 64}", func(c *Config) any { return c.STFT }, STFT{FFTSize: 1024, Hop: 64, Window: "hann"}},
		{"low-delay STFT", "stft: {fft_size: 1024, hop: 64, latency: 128}", func(c *Config) any { return c.STFT }, STFT{FFTSize: 1024, Hop: 64, Window: "hann", Latency: 128}},
		{"latency equal to fft_size", "stft: {fft_size: 512, latency: 512}", func(c *Config) any { return c.STFT }, STFT{FFTSize: 512, Hop: 128, Window: "hann", Latency: 512}},
		{"listen unset", "", func(c *Config) any { return c.Metrics }, Metrics{Listen: "127.0.0.1:9464"}},
		{"listen set to the default", "metrics: {listen: 127.0.0.1:9464}", func(c *Config) any { return c.Metrics }, Metrics{Listen: "127.0.0.1:9464", ListenSet: true}},
		{"listen disabled", "metrics: {listen: ''}", func(c *Config) any { return c.Metrics }, Metrics{ListenSet: true}},
		{"profiling on", "metrics: {pprof: true}", func(c *Config) any { return c.Metrics }, Metrics{Listen: "127.0.0.1:9464", Pprof: true}},
		{"integers are numbers", "separation: {beta: 0, mask_power: 1}", func(c *Config) any { return c.Separation }, Separation{Beta: 0, Iterations: 10, MaskPower: 1, Floor: 0.03, UpdateExponent: 1, Adapt: 5}},
		{"separation defaults: the quality setting", "", func(c *Config) any { return c.Separation }, Separation{Beta: 0.5, Iterations: 10, MaskPower: 2, Floor: 0.03, UpdateExponent: 1, Adapt: 5}},
		{"explicit zeros: scikit-learn's exponent, fixed bases", "separation: {update_exponent: 0, adapt: 0}", func(c *Config) any { return c.Separation }, Separation{Beta: 0.5, Iterations: 10, MaskPower: 2, Floor: 0.03}},
		{"scikit-learn's algorithm", "separation: {beta: 1, adapt: 0}", func(c *Config) any { return c.Separation }, Separation{Beta: 1, Iterations: 10, MaskPower: 2, Floor: 0.03, UpdateExponent: 1}},
		{"null adapt and update_exponent are the defaults", "separation: {adapt: ~, update_exponent: }", func(c *Config) any { return c.Separation }, Separation{Beta: 0.5, Iterations: 10, MaskPower: 2, Floor: 0.03, UpdateExponent: 1, Adapt: 5}},
		{"file output format", "", func(c *Config) any { return c.Sources[0].Outputs }, []Output{{File: "out/v.wav", Format: "float32"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.yaml + "\nsources: [{name: v, bases: v.npy, output: {file: out/v.wav}}]\n"
			if strings.Contains(tt.yaml, "output") {
				data = tt.yaml
			}
			c, err := Parse([]byte(data), "")
			if err != nil {
				t.Fatalf("Parse(%q): %v", data, err)
			}
			if got := tt.got(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDeviceOutputChannelsDefault(t *testing.T) {
	tests := []struct {
		input string
		want  []int
	}{
		{"{device: default}", []int{0}},
		{"{device: default, channels: 3}", []int{0, 1, 2}},
		{"{file: in.wav}", []int{0}},
		{"{file: in.wav, channels: 2}", []int{0, 1}},
	}
	for _, tt := range tests {
		data := "input: " + tt.input + "\nsources: [{name: v, bases: v.npy, output: {device: default}}]\n"
		c, err := Parse([]byte(data), "")
		if err != nil {
			t.Fatalf("Parse(%q): %v", data, err)
		}
		if got := c.Sources[0].Outputs[0].Channels; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("input %s: output channels %v, want %v", tt.input, got, tt.want)
		}
	}
}

func TestParsePaths(t *testing.T) {
	data := []byte("input: {file: in/../mix.wav}\nsources: [{name: v, bases: /abs/v.npy, output: {file: ./out/v.wav}}]\n")
	tests := []struct {
		path                   string
		wantDir                string
		wantIn, wantB, wantOut string
	}{
		// No path: relative paths stay relative, cleaned.
		{"", "", "mix.wav", "/abs/v.npy", "out/v.wav"},
		{"/etc/sepd/sepd.yaml", "/etc/sepd", "/etc/sepd/mix.wav", "/abs/v.npy", "/etc/sepd/out/v.wav"},
		{"/etc/sepd/../x/sepd.yaml", "/etc/x", "/etc/x/mix.wav", "/abs/v.npy", "/etc/x/out/v.wav"},
	}
	for _, tt := range tests {
		c, err := Parse(data, tt.path)
		if err != nil {
			t.Fatalf("Parse(path %q): %v", tt.path, err)
		}
		got := []string{c.Dir, c.Input.File, c.Sources[0].Bases, c.Sources[0].Outputs[0].File}
		want := []string{tt.wantDir, tt.wantIn, tt.wantB, tt.wantOut}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Parse(path %q): Dir, input, bases, output = %q, want %q", tt.path, got, want)
		}
	}
	// A relative path is made absolute against the current directory.
	c, err := Parse(data, "sepd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := filepath.Abs("sepd.yaml"); c.Path != want {
		t.Errorf("Path = %q, want %q", c.Path, want)
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := Load(filepath.Join("testdata", "no-such-file.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of a missing file: %v, want fs.ErrNotExist", err)
	}
	if want := "config: open testdata/no-such-file.yaml: no such file or directory"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	_, err = Load("testdata")
	if err == nil || !strings.Contains(err.Error(), "testdata") {
		t.Errorf("Load of a directory: %v, want an error naming it", err)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "sepd.yaml", Line: 7, Key: "stft.fft_size", Msg: "must be at least 16, got 8"}, "config: sepd.yaml:7: stft.fft_size: must be at least 16, got 8"},
		{Error{File: "sepd.yaml", Line: 2, Msg: "YAML syntax error: x"}, "config: sepd.yaml:2: YAML syntax error: x"},
		{Error{Line: 7, Key: "stft.hop", Msg: "m"}, "config: line 7: stft.hop: m"},
		{Error{Key: "stft.hop", Msg: "m"}, "config: stft.hop: m"},
		{Error{File: "/abs/sepd.yaml", Key: "stft.hop", Msg: "m"}, "config: /abs/sepd.yaml: stft.hop: m"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestErrorsAreReadable(t *testing.T) {
	_, err := Parse([]byte("stft: {fft_size: 8, hop: 0}\nsources: [{name: v, bases: v.npy}]\n"), "sepd.yaml")
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %T, want Errors", err)
	}
	want := Errors{
		{File: "sepd.yaml", Line: 1, Key: "stft.fft_size", Msg: "must be at least 16, got 8"},
		{File: "sepd.yaml", Line: 1, Key: "stft.hop", Msg: "must be at least 1, got 0"},
	}
	if !reflect.DeepEqual(es, want) {
		t.Errorf("got %v, want %v", es, want)
	}
	var first *Error
	if !errors.As(err, &first) || first != es[0] {
		t.Errorf("errors.As(*Error) = %v, want the first error", first)
	}
}

func TestTooManyErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString("sources:\n")
	// 30 sources with a bad name each: 30 errors, 20 shown (maxErrors).
	for i := range 30 {
		fmt.Fprintf(&b, "  - {name: 'bad name %d', bases: v%d.npy}\n", i, i)
	}
	_, err := Parse([]byte(b.String()), "sepd.yaml")
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %T, want Errors", err)
	}
	if len(es) != maxErrors+1 {
		t.Fatalf("%d errors, want %d + 1", len(es), maxErrors)
	}
	if got, want := es[maxErrors].Error(), "config: sepd.yaml: too many errors (10 more not shown)"; got != want {
		t.Errorf("last error %q, want %q", got, want)
	}
}

func TestAliasBombs(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // a substring of the error
	}{
		{
			// Every output of every source is an alias: 10 x 10 x 10 channels.
			"lists of aliases",
			`sources:
  - &s {name: v, bases: v.npy, output: [&o {device: d, channels: &c [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]}, *o, *o, *o, *o, *o, *o, *o, *o, *o]}
  - *s
  - *s
  - *s
`,
			"too many errors",
		},
		{
			// Merge keys nest 10 ways per level: 10^8 merged mappings.
			"merge bomb",
			`learned: &m0 {fft_size: 1024}
separation: &m1 {<<: [*m0, *m0, *m0, *m0, *m0, *m0, *m0, *m0, *m0, *m0]}
log: &m2 {<<: [*m1, *m1, *m1, *m1, *m1, *m1, *m1, *m1, *m1, *m1]}
metrics: &m3 {<<: [*m2, *m2, *m2, *m2, *m2, *m2, *m2, *m2, *m2, *m2]}
input: &m4 {<<: [*m3, *m3, *m3, *m3, *m3, *m3, *m3, *m3, *m3, *m3]}
stft: &m5 {<<: [*m4, *m4, *m4, *m4, *m4, *m4, *m4, *m4, *m4, *m4]}
sources: [{name: v, bases: v.npy, output: &m6 {<<: [*m5, *m5, *m5, *m5, *m5, *m5, *m5, *m5, *m5, *m5]}}]
`,
			"too complex",
		},
		{
			"merge cycle",
			"stft: &x {<<: *x}\nsources: [{name: v, bases: v.npy}]\n",
			"merge keys nested too deep",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse: %v, want an error with %q", err, tt.want)
			}
			if es := err.(Errors); len(es) > maxErrors+1 {
				t.Errorf("%d errors, want at most %d + 1", len(es), maxErrors)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	valid := func() *Config {
		return withSources(nil,
			Source{Name: "voice", Bases: "voice.npy", Outputs: []Output{{Device: "default", Channels: []int{0}}}},
			Source{Name: "noise", Bases: "noise.npy", Outputs: []Output{{File: "out/noise.wav", Format: "pcm16"}}},
		)
	}
	if err := valid().Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	tests := []struct {
		name   string
		change func(c *Config)
		want   string
	}{
		{"default has no sources", func(c *Config) { c.Sources = nil }, "config: sources: at least one source is required (- name: ..., bases: ...)"},
		{"neither input", func(c *Config) { c.Input = Input{} }, "config: input: needs a device (e.g. device: default) or a file"},
		{"fft_size", func(c *Config) { c.STFT.FFTSize = 8 }, "config: stft.fft_size: must be at least 16, got 8"},
		{"NaN beta", func(c *Config) { c.Separation.Beta = nan() }, "config: separation.beta: must be between 0 and 2, got NaN"},
		{"file format empty", func(c *Config) { c.Sources[1].Outputs[0].Format = "" }, `config: sources[1].output[0].format: must be one of float32, pcm16; got ""`},
		{"device channels empty", func(c *Config) { c.Sources[0].Outputs[0].Channels = nil }, "config: sources[0].output[0].channels: must list at least one device channel"},
		{"same channel twice", func(c *Config) {
			c.Sources[1].Outputs = append(c.Sources[1].Outputs, Output{Device: "DEFAULT", Channels: []int{1, 0}})
		}, `config: sources[1].output[1].channels[1]: channel 0 of device "DEFAULT" is already used by sources[0].output[0].channels[0]`},
		{"output over bases", func(c *Config) { c.Sources[1].Outputs[0].File = "./voice.npy" }, "config: sources[1].output[0].file: would overwrite the bases of sources[0] (sources[0].bases)"},
		{"learned", func(c *Config) {
			// beta is not compared (the projection's is free): only the rest.
			c.Learned = &Learned{FFTSize: 2048, Hop: 256, Window: "hann", Beta: 2, SampleRateHz: 8000}
		}, "config: learned.fft_size: bases were learned with fft_size 2048 but stft.fft_size is 1024"},
		{"learned sample rate", func(c *Config) {
			c.SampleRateHz = 16000
			c.Learned = &Learned{FFTSize: 1024, Hop: 256, Window: "hann", Beta: 1, SampleRateHz: 8000}
		}, "config: learned.sample_rate: bases were learned with sample_rate 8000 but sample_rate is 16000"},
		{"latency below 2*hop", func(c *Config) { c.STFT.Latency = 300 }, "config: stft.latency: must be at least 2*stft.hop = 512 with stft.hop 256, got 300; lower stft.hop (e.g. 150) or raise stft.latency"},
		{"learned hop with the symmetric STFT", func(c *Config) {
			c.STFT.Hop = 64
			c.Learned = &Learned{FFTSize: 1024, Hop: 256, Window: "hann", Beta: 1, SampleRateHz: 8000}
		}, "config: learned.hop: bases were learned with hop 256 but stft.hop is 64"},
		{"device rate", func(c *Config) { c.DeviceRateHz = -48000 }, "config: device_rate: must be between 0 (the devices' default rate) and 1000000, got -48000"},
		{"path named", func(c *Config) { c.Path = "/etc/sepd.yaml"; c.Log.Level = "loud" }, `config: /etc/sepd.yaml: log.level: must be one of debug, info, warn, error; got "loud"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.change(c)
			err := c.Validate()
			if err == nil || err.Error() != tt.want {
				t.Errorf("Validate() = %v\nwant %s", err, tt.want)
			}
		})
	}
}

func nan() float64 { var zero float64; return zero / zero }

func TestMarshalRoundTrip(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "good", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/good/*.yaml (%v)", err)
	}
	for _, file := range files {
		c, err := Load(file)
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.Marshal()
		if err != nil {
			t.Fatalf("%s: Marshal: %v", file, err)
		}
		back, err := Parse(out, file)
		if err != nil {
			t.Fatalf("%s: Parse(Marshal()): %v\n%s", file, err, out)
		}
		if !reflect.DeepEqual(back, c) {
			t.Errorf("%s: round trip differs\ngot  %s\nwant %s\nYAML:\n%s", file, dump(back), dump(c), out)
		}
	}
}

func TestMarshalInvalid(t *testing.T) {
	if _, err := Default().Marshal(); err == nil {
		t.Error("Marshal of a config without sources succeeded")
	}
}

func TestMarshalOutput(t *testing.T) {
	c := withSources(func(c *Config) {
		c.Path, c.Dir = "/srv/sepd/sepd.yaml", "/srv/sepd"
		c.Input = Input{File: "/srv/sepd/mix.wav"}
		c.SampleRateHz = 16000
		c.Learned = &Learned{FFTSize: 1024, Hop: 256, Window: "hann", Beta: 1, SampleRateHz: 16000}
	},
		Source{Name: "voice", Bases: "/srv/sepd/bases.npz", Array: "voice", Outputs: []Output{{File: "/srv/sepd/out/voice.wav", Format: "float32"}}},
		Source{Name: "1", Bases: "/elsewhere/noise.npy"},
	)
	out, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `sample_rate: 16000
input:
  file: mix.wav
stft: {fft_size: 1024, hop: 256, window: hann}
separation: {beta: 0.5, iterations: 10, tolerance: 0, mask_power: 2, sparsity: 0, floor: 0.03, update_exponent: 1, adapt: 5}
sources:
  - name: voice
    bases: bases.npz
    output:
      file: out/voice.wav
      format: float32
  - name: "1"
    bases: /elsewhere/noise.npy
log: {format: text, level: info}
learned: {fft_size: 1024, hop: 256, window: hann, beta: 1, sample_rate: 16000}
`
	if string(out) != want {
		t.Errorf("Marshal:\n%s\nwant:\n%s", out, want)
	}
}

// TestUpdateExponent: separation.update_exponent reads into
// Separation.UpdateExponent (absent: 1), is written back by Marshal always,
// and reads back the same, an explicit 0 (scikit-learn's exponent) too.
func TestUpdateExponent(t *testing.T) {
	c, err := Parse([]byte("separation: {beta: 0.5, update_exponent: 1}\nsources: [{name: v, bases: v.npy}]\n"), "sepd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Separation.UpdateExponent != 1 {
		t.Fatalf("UpdateExponent = %v, want 1", c.Separation.UpdateExponent)
	}
	out, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "update_exponent: 1") {
		t.Errorf("Marshal lost update_exponent:\n%s", out)
	}
	back, err := Parse(out, "sepd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if back.Separation.UpdateExponent != 1 {
		t.Errorf("read back: UpdateExponent = %v, want 1", back.Separation.UpdateExponent)
	}
	for _, tc := range []struct {
		yaml string
		want float64
	}{
		{"separation: {beta: 0.5}", 1},
		{"separation: {beta: 0.5, update_exponent: 0}", 0},
		{"separation: {beta: 0.5, update_exponent: 0.5}", 0.5},
	} {
		c, err := Parse([]byte(tc.yaml+"\nsources: [{name: v, bases: v.npy}]\n"), "sepd.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if c.Separation.UpdateExponent != tc.want {
			t.Errorf("%s: UpdateExponent = %v, want %v", tc.yaml, c.Separation.UpdateExponent, tc.want)
		}
		out, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if w := fmt.Sprintf("update_exponent: %v", tc.want); !strings.Contains(string(out), w) {
			t.Errorf("%s: Marshal does not write %q:\n%s", tc.yaml, w, out)
		}
		back, err := Parse(out, "sepd.yaml")
		if err != nil || !reflect.DeepEqual(back, c) {
			t.Errorf("%s: read back %v, %v; want %v", tc.yaml, back, err, c)
		}
	}
}

// TestAdapt: separation.adapt reads into Separation.Adapt (absent: 5, or 0
// when a source has free components; an explicit 0 stays 0), is written back
// by Marshal always and reads back the same, and is refused negative,
// infinite or > 0 with free bases, naming the key and line.
func TestAdapt(t *testing.T) {
	c, err := Parse([]byte("separation: {beta: 0.5, adapt: 5}\nsources: [{name: v, bases: v.npy}]\n"), "sepd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Separation.Adapt != 5 {
		t.Fatalf("Adapt = %v, want 5", c.Separation.Adapt)
	}
	out, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if back, err := Parse(out, "sepd.yaml"); err != nil || back.Separation.Adapt != 5 {
		t.Errorf("read back: %v, %v; want Adapt 5\n%s", back, err, out)
	}
	// A default that gave way to free components is marked, and Marshal
	// leaves it out (its absence means it); any adapt written is written.
	for _, tc := range []struct {
		yaml      string
		want      float64
		defaulted bool
	}{
		{"sources: [{name: v, bases: v.npy}]", 5, false},
		{"separation: {adapt: 0}\nsources: [{name: v, bases: v.npy}]", 0, false},
		{"separation: {adapt: ~}\nsources: [{name: v, bases: v.npy}]", 5, false},
		{"separation: {adapt: 2.5}\nsources: [{name: v, bases: v.npy}]", 2.5, false},
		{"sources: [{name: v, bases: v.npy}, {name: n, free_components: 4}]", 0, true},
		{"separation: {adapt: 0}\nsources: [{name: v, bases: v.npy}, {name: n, free_components: 4}]", 0, false},
	} {
		c, err := Parse([]byte(tc.yaml+"\n"), "sepd.yaml")
		if err != nil {
			t.Fatalf("%s: %v", tc.yaml, err)
		}
		if c.Separation.Adapt != tc.want || c.Separation.AdaptDefaulted != tc.defaulted {
			t.Errorf("%s: Adapt = %v, AdaptDefaulted %v; want %v, %v", tc.yaml, c.Separation.Adapt, c.Separation.AdaptDefaulted, tc.want, tc.defaulted)
		}
		out, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		w := fmt.Sprintf("adapt: %v", tc.want)
		if written := strings.Contains(string(out), "adapt:"); written == tc.defaulted || written && !strings.Contains(string(out), w) {
			t.Errorf("%s: Marshal writes adapt: %v, want %v (%q):\n%s", tc.yaml, written, !tc.defaulted, w, out)
		}
		back, err := Parse(out, "sepd.yaml")
		if err != nil || !reflect.DeepEqual(back, c) {
			t.Errorf("%s: read back %v, %v; want %v", tc.yaml, back, err, c)
		}
	}
	// Fixed sources in place of the free one give the default back, unless
	// the file wrote adapt.
	for _, tc := range []struct {
		yaml string
		want float64
	}{
		{"sources: [{name: v, bases: v.npy}, {name: n, free_components: 4}]", 5},
		{"separation: {adapt: 0}\nsources: [{name: v, bases: v.npy}, {name: n, free_components: 4}]", 0},
	} {
		c, err := Parse([]byte(tc.yaml+"\n"), "sepd.yaml")
		if err != nil {
			t.Fatal(err)
		}
		c.ReplaceSources([]Source{{Name: "v", Bases: "v.npy"}, {Name: "n", Bases: "n.npy"}})
		if c.Separation.Adapt != tc.want || c.Separation.AdaptDefaulted {
			t.Errorf("%s, then ReplaceSources with fixed ones: Adapt %v (defaulted %v), want %v", tc.yaml, c.Separation.Adapt, c.Separation.AdaptDefaulted, tc.want)
		}
	}
	// Built in code: Default's adapt 5 with free components is refused
	// until Adapt is set to 0.
	c = withSources(nil, Source{Name: "v", Bases: "v.npy"}, Source{Name: "n", FreeComponents: 4})
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "separation.adapt: the bases follow the mixture or some are free") {
		t.Errorf("Validate of Default with free components: %v, want the adapt error", err)
	}
	c.Separation.Adapt = 0
	if err := c.Validate(); err != nil {
		t.Errorf("Validate with Adapt 0: %v", err)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"separation: {adapt: -1}\nsources: [{name: v, bases: v.npy}]", "sepd.yaml:1: separation.adapt: must be a finite number at least 0 (0: fixed bases), got -1"},
		{"separation: {adapt: .inf}\nsources: [{name: v, bases: v.npy}]", "sepd.yaml:1: separation.adapt: must be a finite number, got .inf"},
		{"separation: {adapt: 5}\nsources: [{name: v, bases: v.npy}, {name: n, free_components: 4}]", "sepd.yaml:1: separation.adapt: the bases follow the mixture or some are free, not both: source \"n\" has free_components"},
	} {
		_, err := Parse([]byte(tc.yaml), "sepd.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

// TestDeviceLatency: input.latency and an output's latency are durations with
// a unit, from 0 to 2 s, for devices only.
func TestDeviceLatency(t *testing.T) {
	c, err := Parse([]byte("input: {device: system, latency: 20ms}\nsources: [{name: v, bases: v.npy, output: {device: system, latency: 0.5s}}]\n"), "sepd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Input.Latency != 20*time.Millisecond || c.Sources[0].Outputs[0].Latency != 500*time.Millisecond {
		t.Errorf("latencies %v and %v, want 20ms and 500ms", c.Input.Latency, c.Sources[0].Outputs[0].Latency)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"input: {device: system, latency: 20}", "sepd.yaml:1: input.latency: must be a duration with its unit, e.g. 20ms"},
		{"input: {device: system, latency: 3s}", "sepd.yaml:1: input.latency: must be from 0 to 2s, got \"3s\""},
		{"input: {device: system, latency: -1ms}", "sepd.yaml:1: input.latency: must be from 0 to 2s"},
		{"input: {file: a.wav, latency: 20ms}", "input.latency: is only for device input"},
		{"sources: [{name: v, bases: v.npy, output: {file: v.wav, latency: 20ms}}]", "sources[0].output.latency: is only for device outputs"},
	} {
		data := tc.yaml + "\n"
		if !strings.Contains(tc.yaml, "sources") {
			data += "sources: [{name: v, bases: v.npy, output: {device: system}}]\n"
		}
		_, err := Parse([]byte(data), "sepd.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one with %q", tc.yaml, err, tc.want)
		}
	}
}

// TestLearnedBetaFree: a configuration written by sepd learn (bases learned
// with beta 1) may project with another beta, as README "Quality"
// recommends (beta 0.5).
func TestLearnedBetaFree(t *testing.T) {
	c, err := Parse([]byte("sample_rate: 16000\nseparation: {beta: 0.5, update_exponent: 1, adapt: 5}\nsources: [{name: v, bases: v.npy}]\n"+
		"learned: {fft_size: 1024, hop: 256, window: hann, beta: 1, sample_rate: 16000}\n"), "sepd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Separation.Beta != 0.5 || c.Learned.Beta != 1 {
		t.Errorf("separation.beta %v, learned.beta %v; want 0.5 and 1", c.Separation.Beta, c.Learned.Beta)
	}
}

// TestRecon: sources[i].recon names a .npy of reconstruction bases,
// resolved against the file's folder and written back relative to it;
// the errors name the key and line.
func TestRecon(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sepd.yaml")
	c, err := Parse([]byte("sources:\n  - {name: v, bases: v.npy, recon: m/v.recon.npy}\n  - {name: n, bases: n.npy}\n"), path)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "m", "v.recon.npy"); c.Sources[0].Recon != want || c.Sources[1].Recon != "" {
		t.Fatalf("Recon = %q, %q; want %q, \"\"", c.Sources[0].Recon, c.Sources[1].Recon, want)
	}
	out, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "recon: m/v.recon.npy") || strings.Count(string(out), "recon:") != 1 {
		t.Errorf("Marshal:\n%s\nwant recon: m/v.recon.npy once", out)
	}
	if back, err := Parse(out, path); err != nil || back.Sources[0].Recon != c.Sources[0].Recon {
		t.Errorf("read back: %v, %v\n%s", back, err, out)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"sources: [{name: v, free_components: 4, recon: v.recon.npy}]", "sepd.yaml:1: sources[0].recon: reconstruction bases are not for a source with free_components"},
		{"sources: [{name: v, bases: v.npy, recon: v.recon.npz}]", "sepd.yaml:1: sources[0].recon: must be a .npy file, got \"v.recon.npz\""},
		{"sources: [{name: v, bases: v.npy, recon: 3}]", "sources[0].recon"},
		{"sources: [{name: v, bases: v.npy, recon: r.npy, output: {file: r.npy}}]", "sources[0].output.file: would overwrite the reconstruction bases of sources[0]"},
	} {
		_, err := Parse([]byte(tc.yaml), "sepd.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
