package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is one parsed and checked configuration file. The zero value is not
// useful; start from Default or Parse.
type Config struct {
	// Path is the absolute path of the file the configuration came from,
	// "" for configurations built in code or parsed without a path.
	Path string
	// Dir is the folder of Path, against which relative paths in the file
	// were resolved; "" when Path is "".
	Dir string

	// SampleRateHz is the processing rate. 0 takes the input file's rate,
	// or the device's default rate for a device input.
	SampleRateHz int
	// DeviceRateHz is the rate the audio devices run at; the engine's
	// input and output are converted between it and SampleRateHz. 0 takes
	// the devices' default rate (on JACK the server's).
	DeviceRateHz int

	Input      Input
	STFT       STFT
	Separation Separation
	// Sources are the named sources, in the order of the file; there is at
	// least one.
	Sources []Source
	Metrics Metrics
	Log     Log
	// Learned records the parameters the bases were learned with (written
	// by `sepd learn`); nil when the file has no learned section.
	Learned *Learned
}

// Input says where the mixture comes from: exactly one of Device and File
// is set.
type Input struct {
	// Device is "default", a device index in decimal ("3"), or a name or a
	// unique case-insensitive substring of one, optionally after a host API
	// prefix ("jack:system", "alsa:default"; see audio.DeviceList.Resolve).
	Device string
	// Channels is the number of channels to capture from a device (>= 1,
	// default 1). For a file, 0 takes the file's channel count and any
	// other value must match the file.
	Channels int
	// File is a WAV or FLAC file.
	File string
	// Realtime paces a file input at the sample rate (for auditioning on
	// devices) instead of reading it as fast as possible. Files only.
	Realtime bool
	// Latency is the device latency sepd asks the audio host for
	// (PortAudio's suggested latency: with ALSA, the device's buffer; with
	// JACK the server's period decides); 0, the default, asks for the
	// device's default low latency. Devices only.
	Latency time.Duration
}

// STFT holds the short-time Fourier transform parameters.
type STFT struct {
	FFTSize int    // window and FFT length in samples, >= 16, default 1024
	Hop     int    // samples between frames, 1 <= Hop <= FFTSize, default FFTSize/4
	Window  string // hann (default), sqrt-hann, hamming or blackman
	// Latency is the length in samples of the synthesis window of the
	// low-delay STFT (stft.NewLowDelaySynthesizer): the stream delay becomes
	// Latency - Hop instead of FFTSize - Hop, the analysis window stays
	// FFTSize long. 0 (the default) or FFTSize: the usual symmetric STFT.
	// Otherwise 2*Hop <= Latency <= FFTSize.
	Latency int
}

// Separation holds the parameters of the per-frame NMF projection and the
// masks (see package separate).
type Separation struct {
	Beta       float64 // beta-divergence, in [0, 2]; default 0.5 (1: Kullback-Leibler, scikit-learn's default)
	Iterations int     // multiplicative updates per frame, 1..1000; default 10
	Tolerance  float64 // relative-change early stop, >= 0; 0 (default) = always run Iterations
	MaskPower  float64 // mask exponent p, in (0, 10]; default 2 (Wiener)
	Sparsity   float64 // L1 weight on the activations, >= 0; default 0
	Floor      float64 // warm-start floor relative to max(h), in [0, 1); default 0.03 (measured: see separate.Separator)
	// UpdateExponent is the exponent of the activations' update ratio, in
	// (0, 1]; default 1. 0 is scikit-learn's 1/(2-beta) below beta 1 and 1
	// above (see separate.Params.UpdateExponent); from beta 1 up the two
	// are the same.
	UpdateExponent float64
	// Adapt, when > 0, lets the bases follow the mixture, pulled back to
	// the given ones with this weight (see separate.Params.Adapt); 0 keeps
	// them fixed. Default 5, except that a file with a source of free
	// components and no separation.adapt gets 0: the two do not go
	// together, and an explicit adapt > 0 with free components is an
	// error. Default sets 5: set it to 0 before adding free components.
	Adapt float64
	// AdaptDefaulted is true when Adapt is 0 because the file had no
	// separation.adapt and a source of free components: whoever replaces
	// the sources (sepd separate --bases) can give the default back, and
	// Marshal leaves the key out so that the file reads back the same.
	AdaptDefaulted bool
}

// Source is one named source: its bases and where its signal goes.
type Source struct {
	// Name is unique (ignoring case) and made of [A-Za-z0-9_.-]; it
	// becomes a file name.
	Name string
	// Bases is a .npy or .npz file; "" for a source made only of free
	// components.
	Bases string
	// Array is the array's name inside a .npz file (default: Name); ""
	// for a .npy file.
	Array string
	// FreeComponents is the number of bases learned online (semi-supervised
	// NMF). A source has either Bases or FreeComponents > 0.
	FreeComponents int
	// Recon is a .npy file of reconstruction bases W' for the source's
	// masks (see separate.Bases.Recon), as many as Bases holds, written by
	// `sepd learn-recon`; "" (default): the masks use the bases. Not with
	// free components.
	Recon string
	// Outputs lists where the source goes; empty drops it.
	Outputs []Output
}

// Output is one destination of a source: exactly one of File and Device is
// set.
type Output struct {
	// File is a WAV file to write.
	File string
	// Format is the WAV sample format, "float32" or "pcm16"; "" for a
	// device output. Parse fills in "float32" for files.
	Format string
	// Device is an output device, written like Input.Device.
	Device string
	// Latency is the device latency asked for (see Input.Latency); outputs
	// on one device use the largest. Devices only.
	Latency time.Duration
	// Channels are the device channels (counted from 0) the source's
	// signal goes to; no channel of a device is used twice. Parse fills in
	// 0..Input.Channels-1 (just 0 when Input.Channels is 0); nil for a file
	// output.
	Channels []int
}

// Metrics configures the Prometheus and /healthz listener.
type Metrics struct {
	// Listen is the host:port to listen on; "" disables the listener.
	// Default 127.0.0.1:9464.
	Listen string
	// ListenSet is true when metrics.listen was written in the file, so
	// that a command-line flag can tell a default from a choice.
	ListenSet bool
	// Pprof serves Go's runtime profiles on the listener under
	// /debug/pprof/ (metrics.pprof). Default false.
	Pprof bool
}

// Log configures the slog logger.
type Log struct {
	Format string // text (default) or json
	Level  string // debug, info (default), warn or error
}

// Learned records the parameters the bases were learned with. When present,
// they must agree with STFT, Separation.Beta and (when set) SampleRateHz.
type Learned struct {
	FFTSize      int
	Hop          int
	Window       string
	Beta         float64
	SampleRateHz int
}

// Default values, also used by Default.
const (
	defaultDevice     = "default"
	defaultFFTSize    = 1024
	defaultWindow     = "hann"
	defaultIterations = 10
	defaultMaskPower  = 2
	defaultFloor      = 0.03
	defaultListen     = "127.0.0.1:9464"
	defaultLogFormat  = "text"
	defaultLogLevel   = "info"
	defaultFormat     = "float32"

	// The separation defaults are the quality setting measured on the
	// evaluation set (README, "Quality"): beta 0.5, update exponent 1 and
	// bases that follow the mixture with weight 5; +0.70 dB over beta 1
	// with scikit-learn's update and fixed bases (scikit-learn's
	// algorithm, which `separation: {beta: 1, adapt: 0}` selects, and
	// separate.DefaultParams).
	defaultBeta           = 0.5
	defaultUpdateExponent = 1
	defaultAdapt          = 5

	// maxFileBytes bounds what Parse reads: a real configuration is a few
	// kilobytes.
	maxFileBytes = 1 << 20
)

// Default returns a new Config holding every default: the default input
// device (mono, at its default rate), a 1024-point Hann STFT with hop 256,
// the quality setting's separation (beta 0.5, update exponent 1, bases that
// follow the mixture with weight 5: README "Quality"; set Beta 1 and Adapt
// 0 for scikit-learn's algorithm) with 10 iterations and Wiener masks,
// metrics on
// 127.0.0.1:9464, text logs at info. It has no sources, so it does not
// validate until at least one is added; for a file input, replace Input
// as a whole (Input{File: ...}), since an Input with both a device and a
// file does not validate either; nor does a source with free components
// until Separation.Adapt is set to 0 (Parse does that itself when the file
// does not give adapt). It allocates a new Config each time.
func Default() *Config {
	return &Config{
		Input: Input{Device: defaultDevice, Channels: 1},
		STFT:  STFT{FFTSize: defaultFFTSize, Hop: defaultFFTSize / 4, Window: defaultWindow},
		Separation: Separation{
			Beta:           defaultBeta,
			Iterations:     defaultIterations,
			MaskPower:      defaultMaskPower,
			Floor:          defaultFloor,
			UpdateExponent: defaultUpdateExponent,
			Adapt:          defaultAdapt,
		},
		Metrics: Metrics{Listen: defaultListen},
		Log:     Log{Format: defaultLogFormat, Level: defaultLogLevel},
	}
}

// Load reads the configuration file at path and parses it with Parse. A
// file that cannot be read gives an error wrapping the *fs.PathError (so
// errors.Is(err, fs.ErrNotExist) works); a file that does not parse or check
// gives Errors. Relative paths in the file are resolved against the file's
// folder. It allocates; it never panics.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path)
}

// Parse parses and checks the YAML configuration in data. path is the file
// the data came from: it names the file in errors, and relative paths in the
// file are resolved against its folder (see the package documentation for
// path ""). Parse reads no file; it only asks the operating system for the
// current directory when path is relative.
//
// On any problem, Parse returns a nil *Config and an Errors value listing
// them all (sorted by line, at most 20). On success the returned Config has
// every default filled in and passes Validate. It allocates; it never
// panics, whatever data holds.
func Parse(data []byte, path string) (*Config, error) {
	r := &report{file: path, pos: newPositions()}
	if len(data) > maxFileBytes {
		r.addLine(0, "", "file is too large (%d bytes; a configuration is at most %d)", len(data), maxFileBytes)
		return nil, r.err()
	}
	root, ok := parseYAML(data, r)
	if !ok {
		return nil, r.err()
	}
	c := Default()
	if path != "" {
		abs, err := filepath.Abs(path)
		if err != nil {
			abs = filepath.Clean(path)
		}
		c.Path, c.Dir = abs, filepath.Dir(abs)
	}
	d := &decoder{report: r, budget: maxNodes}
	if !d.config(root, c) {
		// The top level is not a mapping: nothing else can be checked.
		return nil, r.err()
	}
	d.fillDefaults(c)
	resolvePaths(c)
	check(c, r)
	if err := r.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// parseYAML decodes data into a node tree, reporting syntax errors, an
// empty file and a second document. It returns the top-level node.
func parseYAML(data []byte, r *report) (*yaml.Node, bool) {
	if line, msg := checkText(data); msg != "" {
		r.addLine(line, "", "%s", msg)
		return nil, false
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := dec.Decode(&doc)
	if errors.Is(err, io.EOF) {
		r.addLine(1, "", "file is empty (it needs at least a sources list)")
		return nil, false
	}
	if err != nil {
		line, msg := syntaxError(err, data)
		r.addLine(line, "", "%s", msg)
		return nil, false
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		line, msg := syntaxError(err, data)
		r.addLine(line, "", "%s", msg)
		return nil, false
	default:
		r.addLine(next.Line, "", "only one YAML document is allowed, found a second one")
		return nil, false
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.ShortTag() == nullTag {
		r.addLine(1, "", "file is empty (it needs at least a sources list)")
		return nil, false
	}
	return root, true
}
