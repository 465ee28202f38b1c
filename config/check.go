package config

import (
	"fmt"
	"math"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Limits beyond the schema's own ranges, to turn typos into errors instead
// of gigabyte allocations.
const (
	maxSampleRateHz   = 1_000_000
	maxFFTSize        = 1 << 16
	maxIterations     = 1000
	maxMaskPower      = 10
	maxChannels       = 256
	maxFreeComponents = 1000
)

var (
	windows    = []string{"hann", "sqrt-hann", "hamming", "blackman"}
	formats    = []string{"float32", "pcm16"}
	logFormats = []string{"text", "json"}
	logLevels  = []string{"debug", "info", "warn", "error"}
	nameRE     = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
)

// Validate checks a configuration built or changed in code, with the same
// rules Parse applies to a file (see the package documentation). Unlike
// Parse it fills in nothing: every field must hold a valid value, e.g.
// Output.Format "float32" for a file and a non-empty Output.Channels for a
// device. Relative paths are compared as they would be opened: against Dir
// when it is set, else against the current directory. It returns nil or
// Errors whose Line is 0 and whose File is c.Path. It allocates; it never
// panics.
func (c *Config) Validate() error {
	r := &report{file: c.Path}
	check(c, r)
	return r.err()
}

// check runs every check that needs no file access. It is shared by Parse
// (with positions) and Validate (without).
func check(c *Config, r *report) {
	k := checker{report: r, c: c}
	k.top()
	k.input()
	k.stft()
	k.separation()
	k.sources()
	k.files()
	k.metricsAndLog()
	k.learned()
}

type checker struct {
	*report
	c *Config
}

// dflt says " (the default)" when key was not written in the file.
func (k *checker) dflt(key string) string {
	if k.set(key) {
		return ""
	}
	return " (the default)"
}

func (k *checker) top() {
	if sr := k.c.SampleRateHz; sr < 0 || sr > maxSampleRateHz {
		k.add("sample_rate", "must be between 0 (the input's own rate) and %d, got %d", maxSampleRateHz, sr)
	}
	if dr := k.c.DeviceRateHz; dr < 0 || dr > maxSampleRateHz {
		k.add("device_rate", "must be between 0 (the devices' default rate) and %d, got %d", maxSampleRateHz, dr)
	}
}

func (k *checker) input() {
	in := k.c.Input
	switch {
	case in.Device != "" && in.File != "":
		k.add("input", "has both device and file; give exactly one")
		return
	case in.Device == "" && in.File == "":
		if !k.bad("input", "input.device", "input.file") && !k.incomplete("input") {
			k.add("input", "needs a device (e.g. device: default) or a file")
		}
		return
	}
	if in.Device != "" {
		if i, err := strconv.Atoi(in.Device); err == nil && i < 0 {
			k.add("input.device", "a device index must be at least 0, got %d", i)
		}
		if in.Channels < 1 || in.Channels > maxChannels {
			k.add("input.channels", "must be between 1 and %d, got %d", maxChannels, in.Channels)
		}
		if in.Realtime && in.File == "" {
			k.add("input.realtime", "is only for file input (a device is always real time)")
		}
	}
	if in.File != "" && in.Latency != 0 {
		k.add("input.latency", "is only for device input")
	}
	if in.File != "" && (in.Channels < 0 || in.Channels > maxChannels) {
		k.add("input.channels", "must be between 0 (the file's channels) and %d, got %d", maxChannels, in.Channels)
	}
}

func (k *checker) stft() {
	s := k.c.STFT
	fftOK := true
	switch {
	case s.FFTSize < 16:
		k.add("stft.fft_size", "must be at least 16, got %d", s.FFTSize)
		fftOK = false
	case s.FFTSize > maxFFTSize:
		k.add("stft.fft_size", "must be at most %d, got %d", maxFFTSize, s.FFTSize)
		fftOK = false
	}
	hopOK := true
	switch {
	case s.Hop < 1:
		k.add("stft.hop", "must be at least 1, got %d", s.Hop)
		hopOK = false
	case fftOK && s.Hop > s.FFTSize && !k.bad("stft.fft_size", "stft.hop"):
		k.add("stft.hop", "must be at most stft.fft_size (%d), got %d", s.FFTSize, s.Hop)
		hopOK = false
	}
	// latency: the low-delay STFT's synthesis window (0: fft_size, the
	// symmetric STFT). It must overlap itself at least twice per hop
	// (2*hop) and fit in the frame.
	switch l := s.Latency; {
	case l == 0 || l == s.FFTSize:
	case l < 0:
		k.add("stft.latency", "must be at least 1 (or left out for the usual STFT), got %d", l)
	case !fftOK || !hopOK || k.bad("stft.fft_size", "stft.hop", "stft.latency"):
	case l > s.FFTSize:
		k.add("stft.latency", "must be at most stft.fft_size = %d%s, got %d", s.FFTSize, k.dflt("stft.fft_size"), l)
	case l < 2*s.Hop:
		k.add("stft.latency", "must be at least 2*stft.hop = %d with stft.hop %d%s, got %d; lower stft.hop (e.g. %d) or raise stft.latency",
			2*s.Hop, s.Hop, k.dflt("stft.hop"), l, max(1, l/2))
	}
	if !slices.Contains(windows, s.Window) {
		k.add("stft.window", "must be one of %s; got %q", strings.Join(windows, ", "), s.Window)
	}
}

func (k *checker) separation() {
	s := k.c.Separation
	if !(s.Beta >= 0 && s.Beta <= 2) {
		k.add("separation.beta", "must be between 0 and 2, got %s", num(s.Beta))
	}
	if s.Iterations < 1 || s.Iterations > maxIterations {
		k.add("separation.iterations", "must be between 1 and %d, got %d", maxIterations, s.Iterations)
	}
	if !(s.Tolerance >= 0 && !math.IsInf(s.Tolerance, 0)) {
		k.add("separation.tolerance", "must be a finite number at least 0, got %s", num(s.Tolerance))
	}
	if !(s.MaskPower > 0 && s.MaskPower <= maxMaskPower) {
		k.add("separation.mask_power", "must be greater than 0 and at most %d, got %s", maxMaskPower, num(s.MaskPower))
	}
	if !(s.Sparsity >= 0 && !math.IsInf(s.Sparsity, 0)) {
		k.add("separation.sparsity", "must be a finite number at least 0, got %s", num(s.Sparsity))
	}
	if !(s.Floor >= 0 && s.Floor < 1) {
		k.add("separation.floor", "must be at least 0 and less than 1, got %s", num(s.Floor))
	}
	if !(s.UpdateExponent >= 0 && s.UpdateExponent <= 1) {
		k.add("separation.update_exponent", "must be greater than 0 and at most 1 (0: scikit-learn's exponent), got %s", num(s.UpdateExponent))
	}
	if !(s.Adapt >= 0 && !math.IsInf(s.Adapt, 0)) {
		k.add("separation.adapt", "must be a finite number at least 0 (0: fixed bases), got %s", num(s.Adapt))
	} else if s.Adapt > 0 {
		for _, src := range k.c.Sources {
			if src.FreeComponents > 0 {
				k.add("separation.adapt", "the bases follow the mixture or some are free, not both: source %q has free_components (adapt: 0 keeps the bases fixed; it is the default with free components)", src.Name)
				break
			}
		}
	}
}

func (k *checker) sources() {
	if len(k.c.Sources) == 0 {
		if !k.bad("sources") && !k.incomplete("") {
			k.add("sources", "at least one source is required (- name: ..., bases: ...)")
		}
		return
	}
	names := map[string]int{}   // lower-case name -> source index
	used := map[string]string{} // device + "\x00" + channel -> key path that uses it
	for i, s := range k.c.Sources {
		key := fmt.Sprintf("sources[%d]", i)
		if k.bad(key) {
			continue
		}
		k.sourceName(i, s, names)
		k.sourceBases(key, s)
		for j, o := range s.Outputs {
			k.output(i, j, o, used)
		}
	}
}

func (k *checker) sourceName(i int, s Source, names map[string]int) {
	key := fmt.Sprintf("sources[%d].name", i)
	switch {
	case s.Name == "":
		if !k.bad(key) && !k.incomplete(parentKey(key)) {
			k.add(key, "required (it names the source's files and metrics)")
		}
		return
	case !nameRE.MatchString(s.Name):
		k.add(key, "%q may only use letters, digits, '_', '.' and '-' (it becomes a file name)", s.Name)
	case s.Name == "." || s.Name == "..":
		k.add(key, "%q is not a usable file name", s.Name)
	}
	lower := strings.ToLower(s.Name)
	if first, dup := names[lower]; dup {
		other := fmt.Sprintf("sources[%d].name", first)
		if k.c.Sources[first].Name == s.Name {
			k.add(key, "duplicate source name %q (also %s)", s.Name, k.at(other))
		} else {
			k.add(key, "source name %q differs from %q (%s) only in case; names become file names", s.Name, k.c.Sources[first].Name, k.at(other))
		}
		return
	}
	names[lower] = i
}

func (k *checker) sourceBases(key string, s Source) {
	basesKey, freeKey, arrayKey := key+".bases", key+".free_components", key+".array"
	if s.FreeComponents < 0 || s.FreeComponents > maxFreeComponents {
		k.add(freeKey, "must be between 0 and %d, got %d", maxFreeComponents, s.FreeComponents)
	}
	switch {
	case s.Bases != "" && s.FreeComponents > 0:
		k.add(freeKey, "a source has either bases or free_components, not both")
	case s.Bases == "" && s.FreeComponents == 0 && !k.bad(basesKey, freeKey) && !k.incomplete(key):
		k.add(key, "needs bases (a .npy or .npz file) or free_components > 0")
	}
	if s.Bases != "" {
		switch ext := strings.ToLower(filepath.Ext(s.Bases)); ext {
		case ".npy":
			if s.Array != "" {
				k.add(arrayKey, "is only for .npz bases; %s is a .npy file", filepath.Base(s.Bases))
			}
		case ".npz":
			if s.Array == "" {
				k.add(arrayKey, "must name the array inside %s", filepath.Base(s.Bases))
			}
		default:
			k.add(basesKey, "must be a .npy or .npz file, got %q", filepath.Base(s.Bases))
		}
	} else if s.Array != "" {
		k.add(arrayKey, "is only for .npz bases, and the source has none")
	}
	if s.Recon != "" {
		reconKey := key + ".recon"
		switch {
		case s.FreeComponents > 0:
			k.add(reconKey, "reconstruction bases are not for a source with free_components")
		case !strings.EqualFold(filepath.Ext(s.Recon), ".npy"):
			k.add(reconKey, "must be a .npy file, got %q", filepath.Base(s.Recon))
		}
	}
}

func (k *checker) output(i, j int, o Output, used map[string]string) {
	key := k.outputKey(i, j)
	switch {
	case o.File != "" && o.Device != "":
		k.add(key, "has both file and device; give one (use a list of outputs for both)")
		return
	case o.File == "" && o.Device == "":
		if !k.bad(key, key+".file", key+".device") && !k.incomplete(key) {
			k.add(key, "needs a file or a device")
		}
		return
	}
	if o.File != "" {
		if len(o.Channels) > 0 || (k.pos != nil && k.set(key+".channels")) {
			k.add(key+".channels", "is only for device outputs (a file gets all of the source's channels)")
		}
		if !slices.Contains(formats, o.Format) {
			k.add(key+".format", "must be one of %s; got %q", strings.Join(formats, ", "), o.Format)
		}
		if o.Latency != 0 {
			k.add(key+".latency", "is only for device outputs")
		}
		return
	}
	if o.Format != "" {
		k.add(key+".format", "is only for file outputs")
	}
	if i, err := strconv.Atoi(o.Device); err == nil && i < 0 {
		k.add(key+".device", "a device index must be at least 0, got %d", i)
	}
	chKey := key + ".channels"
	if len(o.Channels) == 0 {
		if !k.bad(chKey) {
			k.add(chKey, "must list at least one device channel")
		}
		return
	}
	explicit := k.set(chKey)
	for n, ch := range o.Channels {
		itemKey := fmt.Sprintf("%s[%d]", chKey, n)
		if !explicit {
			itemKey = key + ".device"
		}
		if ch < 0 || ch >= maxChannels {
			k.add(itemKey, "channel must be between 0 and %d, got %d", maxChannels-1, ch)
			continue
		}
		slot := strings.ToLower(o.Device) + "\x00" + strconv.Itoa(ch)
		other, dup := used[slot]
		switch {
		case !dup:
			used[slot] = itemKey
		case parentKey(other) == chKey:
			k.add(itemKey, "channel %d is listed twice", ch)
		case explicit:
			k.add(itemKey, "channel %d of device %q is already used by %s", ch, o.Device, k.where(other))
		default:
			k.add(itemKey, "without channels this output takes channel %d of device %q, already used by %s; give each output its own channels", ch, o.Device, k.where(other))
		}
	}
}

// files checks that no output overwrites the input, a bases file, the
// configuration itself or another output.
func (k *checker) files() {
	owner := map[string]string{} // cleaned absolute path -> what it is
	if p := k.c.Path; p != "" {
		owner[absPath("", p)] = "the configuration file"
	}
	if f := k.c.Input.File; f != "" {
		owner[absPath(k.c.Dir, f)] = "the input file (" + k.at("input.file") + ")"
	}
	for i, s := range k.c.Sources {
		if s.Bases != "" {
			key := fmt.Sprintf("sources[%d].bases", i)
			p := absPath(k.c.Dir, s.Bases)
			if _, dup := owner[p]; !dup {
				owner[p] = fmt.Sprintf("the bases of sources[%d] (%s)", i, k.at(key))
			}
		}
		if s.Recon != "" {
			key := fmt.Sprintf("sources[%d].recon", i)
			p := absPath(k.c.Dir, s.Recon)
			if _, dup := owner[p]; !dup {
				owner[p] = fmt.Sprintf("the reconstruction bases of sources[%d] (%s)", i, k.at(key))
			}
		}
	}
	for i, s := range k.c.Sources {
		for j, o := range s.Outputs {
			if o.File == "" || o.Device != "" {
				continue
			}
			key := k.outputKey(i, j) + ".file"
			p := absPath(k.c.Dir, o.File)
			if what, dup := owner[p]; dup {
				k.add(key, "would overwrite %s", what)
				continue
			}
			owner[p] = "the output " + k.where(key)
		}
	}
}

// absPath returns p cleaned and made absolute against dir, or against the
// current directory when dir is "" (if that can be known).
func absPath(dir, p string) string {
	if !filepath.IsAbs(p) {
		if dir != "" {
			return filepath.Join(dir, p)
		}
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
	}
	return filepath.Clean(p)
}

func (k *checker) metricsAndLog() {
	if l := k.c.Metrics.Listen; l != "" {
		host, port, err := net.SplitHostPort(l)
		n, perr := strconv.Atoi(port)
		if err != nil || perr != nil || n < 1 || n > 65535 || strings.ContainsAny(host, " /") {
			k.add("metrics.listen", "must be host:port with a port from 1 to 65535 (e.g. %q), or \"\" to disable; got %q", defaultListen, l)
		}
	}
	if !slices.Contains(logFormats, k.c.Log.Format) {
		k.add("log.format", "must be one of %s; got %q", strings.Join(logFormats, ", "), k.c.Log.Format)
	}
	if !slices.Contains(logLevels, k.c.Log.Level) {
		k.add("log.level", "must be one of %s; got %q", strings.Join(logLevels, ", "), k.c.Log.Level)
	}
}

// learned checks that the recorded learning parameters agree with the ones
// in use.
func (k *checker) learned() {
	l := k.c.Learned
	if l == nil || k.bad("learned") {
		return
	}
	c := k.c
	mismatch := func(key, name, learned, other, value string) {
		if k.bad("learned."+key, other) {
			return
		}
		k.add("learned."+key, "bases were learned with %s %s but %s is %s%s", name, learned, other, value, k.dflt(other))
	}
	if l.FFTSize != c.STFT.FFTSize {
		mismatch("fft_size", "fft_size", strconv.Itoa(l.FFTSize), "stft.fft_size", strconv.Itoa(c.STFT.FFTSize))
	}
	// The low-delay STFT runs at a hop of its own on bases learned at the
	// usual one: the hop sets how many frames learning saw, not what a
	// basis is.
	if l.Hop != c.STFT.Hop && (c.STFT.Latency == 0 || c.STFT.Latency == c.STFT.FFTSize) {
		mismatch("hop", "hop", strconv.Itoa(l.Hop), "stft.hop", strconv.Itoa(c.STFT.Hop))
	}
	if l.Window != c.STFT.Window {
		mismatch("window", "window", l.Window, "stft.window", c.STFT.Window)
	}
	// The projection's beta is not compared: it need not be the one the
	// bases were learned with (beta 0.5 on bases learned with 1 separates
	// better, README "Quality").
	switch {
	case l.SampleRateHz <= 0:
		if !k.bad("learned.sample_rate") {
			k.add("learned.sample_rate", "must be a rate in Hz, got %d", l.SampleRateHz)
		}
	case c.SampleRateHz != 0 && l.SampleRateHz != c.SampleRateHz:
		mismatch("sample_rate", "sample_rate", strconv.Itoa(l.SampleRateHz), "sample_rate", strconv.Itoa(c.SampleRateHz))
	}
}

// num formats a float the shortest way that reads back exactly.
func num(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
