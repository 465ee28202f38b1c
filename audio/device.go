package audio

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/gordonklaus/portaudio"
)

// Errors that the device code wraps (test with errors.Is).
var (
	// ErrSampleRate: the device cannot run at the requested rate (a JACK
	// server runs at exactly one rate, its -r).
	ErrSampleRate = errors.New("sample rate not supported")
	// ErrNoDevice: a device spec matches no device, or several.
	ErrNoDevice = errors.New("no such device")
	// ErrStalled: a stream's callback has not run for longer than its
	// StallTimeout (the audio server or the device went away). Close the
	// stream and Reopen it.
	ErrStalled = errors.New("stream stalled")
	// ErrRestartRequired: the JACK server went away under this process's
	// PortAudio. PortAudio 19.6 cannot reconnect in the same process: after the
	// server is gone, stopping or closing a stream blocks for 10 minutes inside
	// pa_jack.c and Pa_Terminate fails an assertion and aborts the process, so
	// it can never be initialized afresh to see a restarted server. Exit (or
	// re-exec) and let the new process open the devices; every Open in this
	// process fails with this error from then on.
	ErrRestartRequired = errors.New("audio server went away; PortAudio cannot reconnect in this process: restart it")
)

// The PortAudio library state is per process. pa serializes every PortAudio
// call that is not a stream callback (PortAudio is not thread-safe, and its
// JACK host API wakes the wrong waiter when two control calls overlap), and it
// counts the users (open streams and running listings): the first initializes
// PortAudio, the last terminates it, so that a Reopen after the last stream
// closed sees the devices anew.
//
// The lock is a channel so that a caller can give up on it: when the JACK
// server is gone, a stream's Abort blocks inside PortAudio for 10 minutes
// while holding it. Then pa.dead is closed, every later paLock fails at once
// with ErrRestartRequired, and Pa_Terminate is never called again.
var pa = struct {
	sem      chan struct{} // holds one token while a goroutine is in PortAudio
	dead     chan struct{} // closed once the server went away under PortAudio
	deadOnce sync.Once
	refs     int // guarded by sem
}{sem: make(chan struct{}, 1), dead: make(chan struct{})}

func paIsDead() bool {
	select {
	case <-pa.dead:
		return true
	default:
		return false
	}
}

func paMarkDead() { pa.deadOnce.Do(func() { close(pa.dead) }) }

func errRestart(what string) error {
	return fmt.Errorf("audio: %s: %w", what, ErrRestartRequired)
}

// paLock takes the PortAudio lock, or fails with ErrRestartRequired.
func paLock(what string) error {
	if paIsDead() {
		return errRestart(what)
	}
	select {
	case pa.sem <- struct{}{}:
	case <-pa.dead:
		return errRestart(what)
	}
	if paIsDead() {
		paUnlock()
		return errRestart(what)
	}
	return nil
}

func paUnlock() { <-pa.sem }

// paAcquireLocked counts one more user, initializing PortAudio for the first.
func paAcquireLocked() error {
	if pa.refs == 0 {
		quietALSA(true) // Pa_Initialize probes ALSA, which prints ~60 "ALSA lib" lines on a machine with no sound card
		err := portaudio.Initialize()
		quietALSA(false)
		if err != nil {
			return fmt.Errorf("audio: initializing PortAudio: %w", err)
		}
		raceWorkaround()
	}
	pa.refs++
	return nil
}

// paReleaseLocked counts one user less, terminating PortAudio after the last.
func paReleaseLocked() error {
	pa.refs--
	if pa.refs == 0 && !paIsDead() {
		if err := portaudio.Terminate(); err != nil {
			return fmt.Errorf("audio: terminating PortAudio: %w", err)
		}
	}
	return nil
}

// HostAPIInfo describes one PortAudio host API (ALSA, JACK, ...).
type HostAPIInfo struct {
	Index         int
	Name          string // e.g. "JACK Audio Connection Kit"
	Type          string // e.g. "JACK", "ALSA"
	Devices       int    // number of devices
	DefaultInput  int    // device index of its default input, -1 if none
	DefaultOutput int    // device index of its default output, -1 if none
}

// DeviceInfo describes one PortAudio device. Through JACK every client with
// audio ports is a device: "system" is the sound card (or the dummy backend),
// and the JACK rate is the only rate any JACK device runs at.
type DeviceInfo struct {
	Index               int // PortAudio's index; it can change when devices come and go
	Name                string
	HostAPI             string // host API name, e.g. "JACK Audio Connection Kit"
	HostAPIType         string // e.g. "JACK"
	InputChannels       int    // max input channels, 0 if it cannot capture
	OutputChannels      int    // max output channels, 0 if it cannot play
	DefaultSampleRateHz float64
	LowInputLatency     time.Duration // PortAudio's default low/high latencies
	LowOutputLatency    time.Duration
	HighInputLatency    time.Duration
	HighOutputLatency   time.Duration
	DefaultInput        bool // the host's default input device
	DefaultOutput       bool // the host's default output device
	// MonitorOnly: a JACK device whose capture channels are all monitor
	// ports (PipeWire's libjack lists a sink so: capturing from it records
	// what the desktop plays). "default" never captures from one.
	MonitorOnly bool
}

func (d DeviceInfo) channels(input bool) int {
	if input {
		return d.InputChannels
	}
	return d.OutputChannels
}

// DeviceList is what ListDevices returns: every host API and device.
type DeviceList struct {
	HostAPIs      []HostAPIInfo
	Devices       []DeviceInfo // Devices[i].Index == i
	DefaultInput  int          // device index, -1 if none
	DefaultOutput int          // device index, -1 if none
	// PipeWireSource and PipeWireSink name PipeWire's default source and
	// sink (the JACK devices of those nodes) when the JACK host API is
	// PipeWire's libjack; "" otherwise. "default" then means them.
	PipeWireSource, PipeWireSink string
}

// ListDevices initializes PortAudio if no stream is open (and terminates it
// again before returning), and returns all host APIs and devices. Through JACK
// the list is a snapshot taken when PortAudio was initialized: a JACK client
// that appeared later is not in it while a stream stays open. It allocates.
func ListDevices() (*DeviceList, error) {
	if err := paLock("listing devices"); err != nil {
		return nil, err
	}
	defer paUnlock()
	if err := paAcquireLocked(); err != nil {
		return nil, err
	}
	l, err := listLocked()
	if rerr := paReleaseLocked(); err == nil {
		err = rerr
	}
	return l, err
}

// opensAt reports whether PortAudio says dev opens for capture (input) or
// playback of one channel at rateHz (Pa_IsFormatSupported; nothing is
// opened). An error in PortAudio reads as no.
func opensAt(dev DeviceInfo, input bool, rateHz int) bool {
	if err := paLock("checking a device's rate"); err != nil {
		return false
	}
	defer paUnlock()
	if err := paAcquireLocked(); err != nil {
		return false
	}
	defer paReleaseLocked()
	devs, err := portaudio.Devices()
	if err != nil || dev.Index < 0 || dev.Index >= len(devs) {
		return false
	}
	dp := portaudio.StreamDeviceParameters{Device: devs[dev.Index], Channels: 1}
	p := portaudio.StreamParameters{SampleRate: float64(rateHz), FramesPerBuffer: portaudio.FramesPerBufferUnspecified}
	if input {
		dp.Latency = dev.LowInputLatency
		p.Input = dp
		return portaudio.IsFormatSupported(p, func(in []float32) {}) == nil
	}
	dp.Latency = dev.LowOutputLatency
	p.Output = dp
	return portaudio.IsFormatSupported(p, func(out []float32) {}) == nil
}

func listLocked() (*DeviceList, error) {
	hosts, err := portaudio.HostApis()
	if err != nil {
		return nil, fmt.Errorf("audio: listing host APIs: %w", err)
	}
	devs, err := portaudio.Devices()
	if err != nil {
		return nil, fmt.Errorf("audio: listing devices: %w", err)
	}
	idx := func(d *portaudio.DeviceInfo) int {
		if d == nil {
			return -1
		}
		return d.Index
	}
	l := &DeviceList{DefaultInput: -1, DefaultOutput: -1}
	if d, err := portaudio.DefaultInputDevice(); err == nil {
		l.DefaultInput = d.Index
	}
	if d, err := portaudio.DefaultOutputDevice(); err == nil {
		l.DefaultOutput = d.Index
	}
	for i, h := range hosts {
		l.HostAPIs = append(l.HostAPIs, HostAPIInfo{
			Index: i, Name: h.Name, Type: hostAPIType(h.Type), Devices: len(h.Devices),
			DefaultInput: idx(h.DefaultInputDevice), DefaultOutput: idx(h.DefaultOutputDevice),
		})
	}
	for _, d := range devs {
		info := DeviceInfo{
			Index: d.Index, Name: d.Name,
			InputChannels: d.MaxInputChannels, OutputChannels: d.MaxOutputChannels,
			DefaultSampleRateHz: d.DefaultSampleRate,
			LowInputLatency:     d.DefaultLowInputLatency, LowOutputLatency: d.DefaultLowOutputLatency,
			HighInputLatency: d.DefaultHighInputLatency, HighOutputLatency: d.DefaultHighOutputLatency,
			DefaultInput: d.Index == l.DefaultInput, DefaultOutput: d.Index == l.DefaultOutput,
		}
		if d.HostApi != nil {
			info.HostAPI, info.HostAPIType = d.HostApi.Name, hostAPIType(d.HostApi.Type)
		}
		l.Devices = append(l.Devices, info)
	}
	// Only PipeWire's libjack has monitor ports and a default source of its
	// own; on jackd this costs nothing (a JACK client opened per listing
	// slowed TestResolveDeviceJACK from 0.7 to 5 s on a loaded machine).
	for _, h := range l.HostAPIs {
		if h.Type != "JACK" || !onPipeWireJACK() {
			continue
		}
		l.PipeWireSource, l.PipeWireSink, _ = pipewireDefaults()
		if mon, ok := jackMonitorOnly(); ok {
			for i := range l.Devices {
				l.Devices[i].MonitorOnly = l.Devices[i].HostAPIType == "JACK" && mon[l.Devices[i].Name]
			}
		}
	}
	return l, nil
}

func hostAPIType(t portaudio.HostApiType) (s string) {
	defer func() {
		if recover() != nil { // portaudio's String indexes a table of the types it knew
			s = fmt.Sprintf("type %d", int(t))
		}
	}()
	return t.String()
}

// WriteTable writes the list for `sepd devices`: one table per host API
// (JACK first when a JACK server answered, since "default" then means JACK's
// default device), each with the device spec that names its default
// ("jack:default"), then one device per line with its index (what a config
// may name), channels, default rate and latencies. "*" marks the devices that
// "default" opens; the last lines say which they are and why. It allocates.
func (l *DeviceList) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	hosts := append([]HostAPIInfo(nil), l.HostAPIs...)
	slices.SortStableFunc(hosts, func(a, b HostAPIInfo) int {
		return cmpBool(b.Type == "JACK", a.Type == "JACK")
	})
	defIn, defOut := l.defaultIndex(true, ""), l.defaultIndex(false, "")
	listed := make([]bool, len(l.Devices))
	group := func(title string, match func(DeviceInfo) bool) {
		fmt.Fprintln(tw, title)
		fmt.Fprintln(tw, "  INDEX\tNAME\tIN\tOUT\tRATE Hz\tLATENCY IN low/high ms\tLATENCY OUT low/high ms")
		n := 0
		for i, d := range l.Devices {
			if listed[i] || !match(d) {
				continue
			}
			listed[i] = true
			n++
			in, out := strconv.Itoa(d.InputChannels), strconv.Itoa(d.OutputChannels)
			if i == defIn {
				in += "*"
			}
			if d.MonitorOnly {
				in += " (monitor)"
			}
			if i == defOut {
				out += "*"
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%g\t%s\t%s\n", d.Index, d.Name, in, out,
				d.DefaultSampleRateHz, latencyPair(d.LowInputLatency, d.HighInputLatency, d.InputChannels),
				latencyPair(d.LowOutputLatency, d.HighOutputLatency, d.OutputChannels))
		}
		if n == 0 {
			fmt.Fprintln(tw, "  (no devices)")
		}
		fmt.Fprintln(tw)
	}
	for _, h := range hosts {
		group(fmt.Sprintf("%s (%s): %d devices; %q is input %s, output %s", h.Name, h.Type, h.Devices,
			strings.ToLower(h.Type)+":default", l.deviceName(l.defaultIndex(true, h.Type)), l.deviceName(l.defaultIndex(false, h.Type))),
			func(d DeviceInfo) bool { return d.HostAPI == h.Name && d.HostAPIType == h.Type })
	}
	if slices.Contains(listed, false) {
		group("other devices", func(DeviceInfo) bool { return true })
	}
	fmt.Fprintf(tw, "* \"default\": input %s, output %s: %s.\n", l.deviceName(defIn), l.deviceName(defOut), l.defaultReason())
	fmt.Fprintln(tw, "Name a device in the config by index, exact name, a unique part of its name, or \"default\";")
	fmt.Fprintln(tw, "prefix the host API to look only there: \"jack:default\", \"alsa:default\", \"jack:system\", \"alsa:pipewire\".")
	return tw.Flush()
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// deviceName is `2 "system" (JACK)` for device index i, "none" for -1.
func (l *DeviceList) deviceName(i int) string {
	if i < 0 || i >= len(l.Devices) {
		return "none"
	}
	d := l.Devices[i]
	return fmt.Sprintf("%d %q (%s)", d.Index, d.Name, d.HostAPIType)
}

// defaultReason says why "default" means what defaultIndex returns.
func (l *DeviceList) defaultReason() string {
	in, out := l.jackDefault(true), l.jackDefault(false)
	switch {
	case in >= 0 || out >= 0:
		s := "a JACK server answered (jackd, or PipeWire through pw-jack), so JACK's default devices"
		if l.PipeWireSource != "" || l.PipeWireSink != "" {
			s = "PipeWire's JACK (pw-jack), so PipeWire's default source and sink as JACK devices"
		}
		if in < 0 && l.hasHostAPI("JACK") {
			s += "; no JACK device captures but sinks' monitors, so the input is PortAudio's default"
		}
		return s + `; "alsa:default" is ALSA's`
	}
	return "PortAudio's default device (no JACK server answered when PortAudio started)"
}

func latencyPair(lo, hi time.Duration, channels int) string {
	if channels == 0 {
		return "-"
	}
	ms := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds()*1e3, 'f', 2, 64) }
	return ms(lo) + " / " + ms(hi)
}

// ResolveDevice lists the devices (see ListDevices) and resolves spec in the
// list, like DeviceList.Resolve.
func ResolveDevice(spec string, wantInput bool) (DeviceInfo, error) {
	l, err := ListDevices()
	if err != nil {
		return DeviceInfo{}, err
	}
	return l.Resolve(spec, wantInput)
}

// Resolve finds the device that spec names among the devices that can capture
// (wantInput) or play. A spec may start with a host API type and a colon
// ("jack:", "alsa:", "oss:", any case) to look only among that host API's
// devices; the rest is "default" (any case) or "", a decimal device index,
// an exact name, or else a case-insensitive substring of exactly one name.
// "jack:default" is the JACK host API's default device (the first JACK client
// PortAudio lists with channels that way: "system" on jackd); plain "default"
// is that too when a JACK server answered when PortAudio started (jackd, or
// PipeWire through pw-jack: running sepd under a JACK server says that JACK is
// wanted), and otherwise PortAudio's default device (ALSA's "default").
// Several devices with that exact name, several substring matches or none,
// or a host API that is not there, is an error wrapping ErrNoDevice that lists
// the candidates with their indexes. It allocates only for errors.
func (l *DeviceList) Resolve(spec string, wantInput bool) (DeviceInfo, error) {
	dir := "output"
	if wantInput {
		dir = "input"
	}
	host, name := splitHostAPI(spec)
	if host != "" && !l.hasHostAPI(host) {
		why := ""
		if host == "JACK" {
			why = "; PortAudio lists JACK only when a JACK server (jackd, or PipeWire through pw-jack) answers as sepd starts"
		}
		return DeviceInfo{}, fmt.Errorf("audio: %s device %q: no %s host API here (%s%s); %s devices: %s: %w",
			dir, spec, host, l.hostAPIsText(), why, dir, l.candidates(wantInput, nil), ErrNoDevice)
	}
	usable := func(i int) bool {
		return i >= 0 && i < len(l.Devices) && l.Devices[i].channels(wantInput) > 0 &&
			(host == "" || strings.EqualFold(l.Devices[i].HostAPIType, host))
	}
	if name == "" || strings.EqualFold(name, "default") {
		def := l.defaultIndex(wantInput, host)
		if !usable(def) {
			what := "default " + dir + " device"
			if host != "" {
				what = fmt.Sprintf("default %s device in host API %s", dir, host)
			}
			return DeviceInfo{}, fmt.Errorf("audio: no %s; %s devices: %s: %w", what, dir, l.candidates(wantInput, nil), ErrNoDevice)
		}
		return l.Devices[def], nil
	}
	if i, err := strconv.Atoi(name); err == nil {
		if !usable(i) {
			return DeviceInfo{}, fmt.Errorf("audio: %s device index %d: no such %s device; %s devices: %s: %w", dir, i, dir, dir, l.candidates(wantInput, nil), ErrNoDevice)
		}
		return l.Devices[i], nil
	}
	var exact, sub []int
	lname := strings.ToLower(name)
	for i, d := range l.Devices {
		if !usable(i) {
			continue
		}
		if d.Name == name {
			exact = append(exact, i)
		}
		if strings.Contains(strings.ToLower(d.Name), lname) {
			sub = append(sub, i)
		}
	}
	switch {
	case len(exact) == 1:
		return l.Devices[exact[0]], nil
	case len(exact) > 1:
		return DeviceInfo{}, fmt.Errorf("audio: %s device %q is ambiguous: %s; use the index: %w", dir, spec, l.candidates(wantInput, exact), ErrNoDevice)
	case len(sub) == 1:
		return l.Devices[sub[0]], nil
	case len(sub) > 1:
		return DeviceInfo{}, fmt.Errorf("audio: %s device %q is ambiguous: %s; use the index or the exact name: %w", dir, spec, l.candidates(wantInput, sub), ErrNoDevice)
	}
	return DeviceInfo{}, fmt.Errorf("audio: no %s device matches %q; %s devices: %s: %w", dir, spec, dir, l.candidates(wantInput, nil), ErrNoDevice)
}

// hostAPIPrefixes are the host API types a device spec may start with
// ("jack:system"): the Linux ones PortAudio 19.6 can have.
var hostAPIPrefixes = []string{"JACK", "ALSA", "OSS"}

// splitHostAPI splits "jack:system" into "JACK" and "system". A spec whose
// part before the first colon is not a host API type ("hw:0,0", "HDA Intel
// PCH: ALC257 Analog (hw:0,0)") is a name, returned whole with host "".
func splitHostAPI(spec string) (host, name string) {
	pre, rest, ok := strings.Cut(spec, ":")
	if ok {
		for _, h := range hostAPIPrefixes {
			if strings.EqualFold(pre, h) {
				return h, strings.TrimSpace(rest)
			}
		}
	}
	return "", spec
}

func (l *DeviceList) hasHostAPI(typ string) bool {
	for _, h := range l.HostAPIs {
		if strings.EqualFold(h.Type, typ) {
			return true
		}
	}
	for _, d := range l.Devices { // lists made by hand may lack HostAPIs
		if strings.EqualFold(d.HostAPIType, typ) {
			return true
		}
	}
	return false
}

func (l *DeviceList) hostAPIsText() string {
	if len(l.HostAPIs) == 0 {
		return "no host APIs"
	}
	names := make([]string, len(l.HostAPIs))
	for i, h := range l.HostAPIs {
		names[i] = h.Type
	}
	return "host APIs: " + strings.Join(names, ", ")
}

// defaultIndex is the device "default" means in host API host ("": any, see
// Resolve), -1 if none.
func (l *DeviceList) defaultIndex(input bool, host string) int {
	if host == "" {
		if i := l.jackDefault(input); i >= 0 {
			return i
		}
		if input {
			return l.DefaultInput
		}
		return l.DefaultOutput
	}
	if host == "JACK" {
		return l.jackDefault(input)
	}
	for _, h := range l.HostAPIs {
		if strings.EqualFold(h.Type, host) {
			if input {
				return h.DefaultInput
			}
			return h.DefaultOutput
		}
	}
	// A list made by hand without HostAPIs: the overall default if it is there.
	i := l.DefaultOutput
	if input {
		i = l.DefaultInput
	}
	if i >= 0 && i < len(l.Devices) && strings.EqualFold(l.Devices[i].HostAPIType, host) {
		return i
	}
	return -1
}

// jackDefault is the JACK host API's default device in that direction, -1
// without a JACK host API or without such a device. On PipeWire's libjack it
// is the device of PipeWire's default source or sink (PipeWireSource,
// PipeWireSink), as the desktop's sound settings show them. Otherwise, and
// when that device is not listed: for playback the host API's default (the
// first JACK client with inputs: "system" on jackd); for capture that too
// unless it is MonitorOnly (PortAudio's JACK default is the first client with
// outputs, which through PipeWire is often a sink's monitor), then the first
// JACK device that captures and is not, else none (and "default" falls back to
// PortAudio's default: through PipeWire's ALSA plugin, PipeWire's default
// source).
func (l *DeviceList) jackDefault(input bool) int {
	for _, h := range l.HostAPIs {
		if h.Type != "JACK" {
			continue
		}
		ok := func(i int) bool {
			return i >= 0 && i < len(l.Devices) && l.Devices[i].HostAPIType == "JACK" &&
				l.Devices[i].channels(input) > 0 && !(input && l.Devices[i].MonitorOnly)
		}
		pw := l.PipeWireSink
		if input {
			pw = l.PipeWireSource
		}
		if pw != "" {
			for j, d := range l.Devices {
				if d.Name == pw && d.HostAPIType == "JACK" && d.channels(input) > 0 {
					return j
				}
			}
		}
		i := h.DefaultOutput
		if input {
			i = h.DefaultInput
		}
		if ok(i) {
			return i
		}
		if input {
			for j := range l.Devices {
				if ok(j) {
					return j
				}
			}
		}
	}
	return -1
}

// candidates lists the devices idx (nil: every device usable in that
// direction) as `3 "system" (JACK, 2 ch)`.
func (l *DeviceList) candidates(input bool, idx []int) string {
	if idx == nil {
		for i, d := range l.Devices {
			if d.channels(input) > 0 {
				idx = append(idx, i)
			}
		}
	}
	if len(idx) == 0 {
		return "none"
	}
	parts := make([]string, len(idx))
	for j, i := range idx {
		d := l.Devices[i]
		parts[j] = fmt.Sprintf("%d %q (%s, %d ch)", d.Index, d.Name, d.HostAPIType, d.channels(input))
	}
	return strings.Join(parts, ", ")
}
