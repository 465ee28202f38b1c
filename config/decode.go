package config

import (
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// The keys each mapping accepts, in the order the documentation lists them.
var (
	topKeys        = []string{"sample_rate", "device_rate", "input", "stft", "separation", "sources", "metrics", "log", "learned"}
	inputKeys      = []string{"device", "channels", "file", "realtime", "latency"}
	stftKeys       = []string{"fft_size", "hop", "window", "latency"}
	separationKeys = []string{"beta", "iterations", "tolerance", "mask_power", "sparsity", "floor", "update_exponent", "adapt"}
	sourceKeys     = []string{"name", "bases", "array", "free_components", "recon", "output"}
	outputKeys     = []string{"file", "format", "device", "channels", "latency"}
	metricsKeys    = []string{"listen", "pprof"}
	logKeys        = []string{"format", "level"}
	learnedKeys    = []string{"fft_size", "hop", "window", "beta", "sample_rate"}
)

const (
	nullTag  = "!!null"
	intTag   = "!!int"
	floatTag = "!!float"
	boolTag  = "!!bool"
	mergeTag = "!!merge"

	// maxNodes bounds the nodes the decoder visits. Aliases can make a
	// small file expand into a huge tree; no real configuration comes near.
	maxNodes = 100_000
	// maxMergeDepth bounds nested merge keys (<<), which can be cyclic.
	maxMergeDepth = 16
)

// decoder walks the node tree of a configuration file into a Config,
// recording where each key was written and reporting unknown keys,
// duplicate keys and values of the wrong type.
type decoder struct {
	*report
	budget int // nodes left to visit
}

// config decodes the top-level mapping into c. It returns false when the
// top level is not a mapping.
func (d *decoder) config(root *yaml.Node, c *Config) bool {
	root = resolve(root)
	d.pos.keys[""] = pos{line: root.Line}
	if root.Kind != yaml.MappingNode {
		d.add("", "the file must be a mapping of settings (%s), got %s", strings.Join(topKeys, ", "), describe(root))
		return false
	}
	m := d.fields(root, "", topKeys)
	if v := m["sample_rate"]; v != nil {
		d.int(v, "sample_rate", &c.SampleRateHz)
	}
	if v := m["device_rate"]; v != nil {
		d.int(v, "device_rate", &c.DeviceRateHz)
	}
	if v := m["input"]; v != nil {
		c.Input = Input{}
		im := d.section(v, "input", inputKeys)
		if v := im["device"]; v != nil {
			d.device(v, "input.device", &c.Input.Device)
		}
		if v := im["channels"]; v != nil {
			d.int(v, "input.channels", &c.Input.Channels)
		}
		if v := im["file"]; v != nil {
			d.str(v, "input.file", &c.Input.File, false)
		}
		if v := im["realtime"]; v != nil {
			d.bool(v, "input.realtime", &c.Input.Realtime)
		}
		if v := im["latency"]; v != nil {
			d.duration(v, "input.latency", &c.Input.Latency)
		}
	}
	if v := m["stft"]; v != nil {
		sm := d.section(v, "stft", stftKeys)
		if v := sm["fft_size"]; v != nil {
			d.int(v, "stft.fft_size", &c.STFT.FFTSize)
		}
		if v := sm["hop"]; v != nil {
			d.int(v, "stft.hop", &c.STFT.Hop)
		}
		if v := sm["window"]; v != nil {
			d.str(v, "stft.window", &c.STFT.Window, false)
		}
		if v := sm["latency"]; v != nil {
			d.int(v, "stft.latency", &c.STFT.Latency)
		}
	}
	if v := m["separation"]; v != nil {
		sm := d.section(v, "separation", separationKeys)
		s := &c.Separation
		if v := sm["beta"]; v != nil {
			d.float(v, "separation.beta", &s.Beta)
		}
		if v := sm["iterations"]; v != nil {
			d.int(v, "separation.iterations", &s.Iterations)
		}
		if v := sm["tolerance"]; v != nil {
			d.float(v, "separation.tolerance", &s.Tolerance)
		}
		if v := sm["mask_power"]; v != nil {
			d.float(v, "separation.mask_power", &s.MaskPower)
		}
		if v := sm["sparsity"]; v != nil {
			d.float(v, "separation.sparsity", &s.Sparsity)
		}
		if v := sm["floor"]; v != nil {
			d.float(v, "separation.floor", &s.Floor)
		}
		if v := sm["update_exponent"]; v != nil {
			d.float(v, "separation.update_exponent", &s.UpdateExponent)
		}
		if v := sm["adapt"]; v != nil {
			d.float(v, "separation.adapt", &s.Adapt)
		}
	}
	if v := m["sources"]; v != nil {
		c.Sources = d.sources(v)
	}
	if v := m["metrics"]; v != nil {
		mm := d.section(v, "metrics", metricsKeys)
		if v := mm["listen"]; v != nil {
			c.Metrics.ListenSet = d.str(v, "metrics.listen", &c.Metrics.Listen, true)
		}
		if v := mm["pprof"]; v != nil {
			d.bool(v, "metrics.pprof", &c.Metrics.Pprof)
		}
	}
	if v := m["log"]; v != nil {
		lm := d.section(v, "log", logKeys)
		if v := lm["format"]; v != nil {
			d.str(v, "log.format", &c.Log.Format, false)
		}
		if v := lm["level"]; v != nil {
			d.str(v, "log.level", &c.Log.Level, false)
		}
	}
	if v := m["learned"]; v != nil {
		c.Learned = d.learned(v)
	}
	return true
}

func (d *decoder) sources(v *yaml.Node) []Source {
	v = resolve(v)
	if v.Kind != yaml.SequenceNode {
		d.typeError("sources", v, `must be a list of sources (lines starting with "- name:")`)
		return nil
	}
	srcs := make([]Source, 0, len(v.Content))
	for i, item := range v.Content {
		if !d.spend() {
			break
		}
		key := fmt.Sprintf("sources[%d]", i)
		d.pos.keys[key] = pos{line: item.Line}
		var s Source
		var outKeys []string
		m := d.section(item, key, sourceKeys)
		if v := m["name"]; v != nil {
			d.str(v, key+".name", &s.Name, false)
		}
		if v := m["bases"]; v != nil {
			d.str(v, key+".bases", &s.Bases, false)
		}
		if v := m["array"]; v != nil {
			d.str(v, key+".array", &s.Array, false)
		}
		if v := m["free_components"]; v != nil {
			d.int(v, key+".free_components", &s.FreeComponents)
		}
		if v := m["recon"]; v != nil {
			d.str(v, key+".recon", &s.Recon, false)
		}
		if v := m["output"]; v != nil {
			s.Outputs, outKeys = d.outputs(v, key+".output")
		}
		srcs = append(srcs, s)
		d.pos.outputs = append(d.pos.outputs, outKeys)
	}
	return srcs
}

// outputs decodes a source's output: one mapping or a list of them.
func (d *decoder) outputs(v *yaml.Node, key string) ([]Output, []string) {
	v = resolve(v)
	switch v.Kind {
	case yaml.MappingNode:
		return []Output{d.output(v, key)}, []string{key}
	case yaml.SequenceNode:
		outs := make([]Output, 0, len(v.Content))
		keys := make([]string, 0, len(v.Content))
		for j, item := range v.Content {
			if !d.spend() {
				break
			}
			k := fmt.Sprintf("%s[%d]", key, j)
			d.pos.keys[k] = pos{line: item.Line}
			outs = append(outs, d.output(item, k))
			keys = append(keys, k)
		}
		return outs, keys
	}
	d.typeError(key, v, "must be a mapping ("+strings.Join(outputKeys, ", ")+") or a list of them")
	return nil, nil
}

func (d *decoder) output(v *yaml.Node, key string) Output {
	var o Output
	m := d.section(v, key, outputKeys)
	if v := m["file"]; v != nil {
		d.str(v, key+".file", &o.File, false)
	}
	if v := m["format"]; v != nil {
		d.str(v, key+".format", &o.Format, false)
	}
	if v := m["device"]; v != nil {
		d.device(v, key+".device", &o.Device)
	}
	if v := m["channels"]; v != nil {
		o.Channels = d.channels(v, key+".channels")
	}
	if v := m["latency"]; v != nil {
		d.duration(v, key+".latency", &o.Latency)
	}
	return o
}

// duration decodes a device latency: a duration with its unit ("20ms",
// "0.5s"), from 0 to 2 s.
func (d *decoder) duration(v *yaml.Node, key string, dst *time.Duration) {
	v = resolve(v)
	if v.Kind == yaml.ScalarNode {
		x, err := time.ParseDuration(v.Value)
		if err == nil && x >= 0 && x <= 2*time.Second {
			*dst = x
			return
		}
		if err == nil {
			d.add(key, "must be from 0 to 2s, got %s", describe(v))
			d.markBad(key)
			return
		}
	}
	d.typeError(key, v, "must be a duration with its unit, e.g. 20ms")
}

// channels decodes a list of channel numbers, or a single number.
func (d *decoder) channels(v *yaml.Node, key string) []int {
	v = resolve(v)
	if v.Kind == yaml.ScalarNode && v.ShortTag() == intTag {
		var ch int
		if d.int(v, key, &ch) {
			return []int{ch}
		}
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		d.typeError(key, v, "must be a list of channel numbers")
		return nil
	}
	chs := make([]int, 0, len(v.Content))
	for j, item := range v.Content {
		if !d.spend() {
			break
		}
		k := fmt.Sprintf("%s[%d]", key, j)
		d.pos.keys[k] = pos{line: item.Line}
		var ch int
		if d.int(item, k, &ch) {
			chs = append(chs, ch)
		} else {
			d.markBad(key)
		}
	}
	return chs
}

func (d *decoder) learned(v *yaml.Node) *Learned {
	l := &Learned{}
	m := d.section(v, "learned", learnedKeys)
	if m == nil {
		return l
	}
	var missing []string
	for _, k := range learnedKeys {
		key := "learned." + k
		v := m[k]
		if v == nil {
			missing = append(missing, k)
			d.markBad(key)
			continue
		}
		switch k {
		case "fft_size":
			d.int(v, key, &l.FFTSize)
		case "hop":
			d.int(v, key, &l.Hop)
		case "window":
			d.str(v, key, &l.Window, false)
		case "beta":
			d.float(v, key, &l.Beta)
		case "sample_rate":
			d.int(v, key, &l.SampleRateHz)
		}
	}
	if len(missing) > 0 && !d.incomplete("learned") {
		d.add("learned", "missing %s (sepd learn records %s)", strings.Join(missing, ", "), strings.Join(learnedKeys, ", "))
	}
	return l
}

// section decodes a mapping that may be written without a value.
func (d *decoder) section(v *yaml.Node, key string, valid []string) map[string]*yaml.Node {
	r := resolve(v)
	if r.Kind != yaml.MappingNode {
		d.typeError(key, r, "must be a mapping ("+strings.Join(valid, ", ")+")")
		return nil
	}
	return d.fields(r, key, valid)
}

// pair is one key and value of a mapping.
type pair struct{ key, val *yaml.Node }

// fields checks the keys of mapping n (written at path) and returns the
// values of the known keys that have one. It records each key's line,
// reports unknown and duplicate keys, and applies merge keys (<<): keys
// written in the mapping win over merged ones, earlier merges over later.
func (d *decoder) fields(n *yaml.Node, path string, valid []string) map[string]*yaml.Node {
	out := make(map[string]*yaml.Node, len(valid))
	seen := make(map[string]int) // key -> line
	for _, p := range d.pairs(n, path, 0) {
		if !d.spend() {
			break
		}
		k := resolve(p.key)
		if k.Kind != yaml.ScalarNode {
			d.addLine(p.key.Line, path, "keys must be names, got %s", describe(k))
			continue
		}
		name := k.Value
		key := joinKey(path, name)
		if first, dup := seen[name]; dup {
			d.addLine(p.key.Line, key, "duplicate key (first on line %d)", first)
			continue
		}
		seen[name] = p.key.Line
		if !slices.Contains(valid, name) {
			d.addLine(p.key.Line, key, "unknown key (valid: %s)", strings.Join(valid, ", "))
			d.mark(path, func(p *pos) { p.unknown = true })
			continue
		}
		v := resolve(p.val)
		null := v.Kind == yaml.ScalarNode && v.ShortTag() == nullTag
		d.pos.keys[key] = pos{line: p.key.Line, null: null}
		if !null {
			out[name] = p.val
		}
	}
	return out
}

// pairs lists the key/value pairs of mapping n with merge keys expanded:
// first the mapping's own keys (duplicates included), then the keys of each
// merged mapping that are not already listed.
func (d *decoder) pairs(n *yaml.Node, path string, depth int) []pair {
	var own, merges []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == mergeTag {
			merges = append(merges, pair{k, v})
			continue
		}
		own = append(own, pair{k, v})
	}
	if len(merges) == 0 {
		return own
	}
	have := make(map[string]bool, len(own))
	for _, p := range own {
		if k := resolve(p.key); k.Kind == yaml.ScalarNode {
			have[k.Value] = true
		}
	}
	for _, m := range merges {
		if depth >= maxMergeDepth {
			d.addLine(m.key.Line, mergeKey(path), "merge keys nested too deep (or merging into themselves)")
			return own
		}
		var from []*yaml.Node
		switch v := resolve(m.val); v.Kind {
		case yaml.MappingNode:
			from = []*yaml.Node{v}
		case yaml.SequenceNode:
			for _, item := range v.Content {
				from = append(from, resolve(item))
			}
		default:
			from = []*yaml.Node{v}
		}
		for _, f := range from {
			if !d.spend() {
				return own
			}
			if f.Kind != yaml.MappingNode {
				d.addLine(m.key.Line, mergeKey(path), "can only merge mappings, got %s", describe(f))
				continue
			}
			for _, p := range d.pairs(f, path, depth+1) {
				k := resolve(p.key)
				if k.Kind != yaml.ScalarNode || have[k.Value] {
					continue
				}
				have[k.Value] = true
				own = append(own, pair{p.key, p.val})
			}
		}
	}
	return own
}

// spend charges one visited node against the budget; once it is spent, it
// reports the problem once and returns false.
func (d *decoder) spend() bool {
	d.budget--
	if d.budget == -1 {
		d.addLine(0, "", "file is too complex: its aliases expand to more than %d values", maxNodes)
	}
	return d.budget >= 0
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// mark changes the recorded position of key, creating it if need be.
func (d *decoder) mark(key string, f func(*pos)) {
	p, ok := d.pos.keys[key]
	if !ok {
		p.line = d.line(key)
	}
	f(&p)
	d.pos.keys[key] = p
}

func (d *decoder) markBad(key string) { d.mark(key, func(p *pos) { p.bad = true }) }

// typeError reports that key's value v has the wrong type.
func (d *decoder) typeError(key string, v *yaml.Node, want string) {
	d.add(key, "%s, got %s", want, describe(v))
	d.markBad(key)
}

func (d *decoder) int(v *yaml.Node, key string, dst *int) bool {
	v = resolve(v)
	if v.Kind == yaml.ScalarNode {
		switch v.ShortTag() {
		case intTag:
			var x int
			if err := v.Decode(&x); err == nil {
				*dst = x
				return true
			}
			d.add(key, "must be an integer, got %s (out of range)", describe(v))
			d.markBad(key)
			return false
		case floatTag:
			var f float64
			if err := v.Decode(&f); err == nil && f == math.Trunc(f) && math.Abs(f) >= 1<<53 {
				d.add(key, "must be an integer, got %s (out of range)", describe(v))
				d.markBad(key)
				return false
			}
		}
	}
	d.typeError(key, v, "must be an integer")
	return false
}

func (d *decoder) float(v *yaml.Node, key string, dst *float64) {
	v = resolve(v)
	if v.Kind == yaml.ScalarNode && (v.ShortTag() == intTag || v.ShortTag() == floatTag) {
		var x float64
		if err := v.Decode(&x); err == nil {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				d.add(key, "must be a finite number, got %s", describe(v))
				d.markBad(key)
				return
			}
			*dst = x
			return
		}
	}
	d.typeError(key, v, "must be a number")
}

func (d *decoder) bool(v *yaml.Node, key string, dst *bool) {
	v = resolve(v)
	if v.Kind == yaml.ScalarNode && v.ShortTag() == boolTag {
		var b bool
		if err := v.Decode(&b); err == nil {
			*dst = b
			return
		}
	}
	d.typeError(key, v, "must be true or false")
}

// str decodes any scalar as the text written. Empty strings are errors
// unless emptyOK. It returns whether dst was set.
func (d *decoder) str(v *yaml.Node, key string, dst *string, emptyOK bool) bool {
	v = resolve(v)
	if v.Kind != yaml.ScalarNode {
		d.typeError(key, v, "must be a string")
		return false
	}
	if v.Value == "" && !emptyOK {
		d.add(key, "must not be empty")
		d.markBad(key)
		return false
	}
	if i := strings.IndexFunc(v.Value, unicode.IsControl); i >= 0 {
		d.add(key, "must not contain control characters, got %s", describe(v))
		d.markBad(key)
		return false
	}
	*dst = v.Value
	return true
}

// device decodes a device: a name, or an index written as an integer
// (stored in decimal).
func (d *decoder) device(v *yaml.Node, key string, dst *string) {
	r := resolve(v)
	if r.Kind == yaml.ScalarNode && r.ShortTag() == intTag {
		var i int
		if d.int(r, key, &i) {
			*dst = strconv.Itoa(i)
		}
		return
	}
	d.str(v, key, dst, false)
}

// ReplaceSources sets c.Sources to srcs and applies again the default that
// depends on them: an adapt that gave way to free components
// (Separation.AdaptDefaulted) is the default again when none of srcs has
// any. Outputs and arrays are as given (Parse's filling-in is not redone).
func (c *Config) ReplaceSources(srcs []Source) {
	c.Sources = srcs
	if c.Separation.AdaptDefaulted && !slices.ContainsFunc(srcs, func(s Source) bool { return s.FreeComponents > 0 }) {
		c.Separation.Adapt, c.Separation.AdaptDefaulted = defaultAdapt, false
	}
}

// fillDefaults fills in the defaults that depend on other values.
func (d *decoder) fillDefaults(c *Config) {
	if !d.set("input.channels") && c.Input.File == "" {
		c.Input.Channels = 1
	}
	if !d.set("stft.hop") {
		c.STFT.Hop = max(1, c.STFT.FFTSize/4)
	}
	if !d.set("separation.adapt") && slices.ContainsFunc(c.Sources, func(s Source) bool { return s.FreeComponents > 0 }) {
		// Bases that follow the mixture do not go with free ones: the
		// default gives way (an explicit adapt > 0 stays an error).
		c.Separation.Adapt = 0
		c.Separation.AdaptDefaulted = true
	}
	n := max(1, c.Input.Channels)
	for i := range c.Sources {
		s := &c.Sources[i]
		if s.Array == "" && isNPZ(s.Bases) {
			s.Array = s.Name
		}
		for j := range s.Outputs {
			o := &s.Outputs[j]
			if o.File != "" && o.Format == "" {
				o.Format = defaultFormat
			}
			if o.Device != "" && o.Channels == nil && !d.set(d.outputKey(i, j)+".channels") {
				o.Channels = make([]int, min(n, maxChannels))
				for ch := range o.Channels {
					o.Channels[ch] = ch
				}
			}
		}
	}
}

// resolvePaths makes the file's relative paths absolute against c.Dir, or
// only cleans them when c.Dir is "".
func resolvePaths(c *Config) {
	abs := func(p *string) {
		if *p == "" {
			return
		}
		if c.Dir != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(c.Dir, *p)
		} else {
			*p = filepath.Clean(*p)
		}
	}
	abs(&c.Input.File)
	for i := range c.Sources {
		abs(&c.Sources[i].Bases)
		abs(&c.Sources[i].Recon)
		for j := range c.Sources[i].Outputs {
			abs(&c.Sources[i].Outputs[j].File)
		}
	}
}

var simpleKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]*$`)

// joinKey appends a key to a key path, quoting keys that are not plain
// names.
func joinKey(path, name string) string {
	if !simpleKeyRE.MatchString(name) || name == "" {
		name = strconv.Quote(name)
	}
	if path == "" {
		return name
	}
	return path + "." + name
}

// mergeKey names a merge key (<<) in a key path.
func mergeKey(path string) string {
	if path == "" {
		return "<<"
	}
	return path + ".<<"
}

// describe names a value for "got ..." in messages: strings quoted,
// numbers and booleans as written, "a mapping", "a list".
func describe(n *yaml.Node) string {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		v := n.Value
		if utf8Len := len([]rune(v)); utf8Len > 40 {
			v = string([]rune(v)[:37]) + "..."
		}
		switch n.ShortTag() {
		case nullTag:
			return "null"
		case intTag, floatTag, boolTag:
			return v
		default:
			return strconv.Quote(v)
		}
	}
	return "nothing"
}
