package audio

import (
	"errors"
	"fmt"
	"io"
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

// WriteTable writes the list for `sepd devices`: the host APIs, then one
// device per line with its index (what a config may name), host API type,
// channels, default rate and latencies; "*" marks the default input/output.
// It allocates.
func (l *DeviceList) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST API\tTYPE\tDEVICES\tDEFAULT IN\tDEFAULT OUT")
	for _, h := range l.HostAPIs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", h.Name, h.Type, h.Devices, devIndex(h.DefaultInput), devIndex(h.DefaultOutput))
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "INDEX\tNAME\tAPI\tIN\tOUT\tRATE Hz\tLATENCY IN low/high ms\tLATENCY OUT low/high ms")
	for _, d := range l.Devices {
		in, out := strconv.Itoa(d.InputChannels), strconv.Itoa(d.OutputChannels)
		if d.DefaultInput {
			in += "*"
		}
		if d.DefaultOutput {
			out += "*"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%g\t%s\t%s\n", d.Index, d.Name, d.HostAPIType, in, out,
			d.DefaultSampleRateHz, latencyPair(d.LowInputLatency, d.HighInputLatency, d.InputChannels),
			latencyPair(d.LowOutputLatency, d.HighOutputLatency, d.OutputChannels))
	}
	fmt.Fprintln(tw, "\n* default device. Name a device in the config by index, exact name, a unique part of its name, or \"default\".")
	return tw.Flush()
}

func devIndex(i int) string {
	if i < 0 {
		return "-"
	}
	return strconv.Itoa(i)
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
// (wantInput) or play: "default" (any case) or "" is the host's default
// device; a decimal number is a device index; otherwise an exact name, or else
// a case-insensitive substring of exactly one name. Several devices with that
// exact name, several substring matches or none is an error wrapping
// ErrNoDevice that lists the candidates with their indexes. It allocates only
// for errors.
func (l *DeviceList) Resolve(spec string, wantInput bool) (DeviceInfo, error) {
	dir := "output"
	def := l.DefaultOutput
	if wantInput {
		dir, def = "input", l.DefaultInput
	}
	usable := func(i int) bool {
		return i >= 0 && i < len(l.Devices) && l.Devices[i].channels(wantInput) > 0
	}
	if spec == "" || strings.EqualFold(spec, "default") {
		if !usable(def) {
			return DeviceInfo{}, fmt.Errorf("audio: no default %s device; %s devices: %s: %w", dir, dir, l.candidates(wantInput, nil), ErrNoDevice)
		}
		return l.Devices[def], nil
	}
	if i, err := strconv.Atoi(spec); err == nil {
		if !usable(i) {
			return DeviceInfo{}, fmt.Errorf("audio: %s device index %d: no such %s device; %s devices: %s: %w", dir, i, dir, dir, l.candidates(wantInput, nil), ErrNoDevice)
		}
		return l.Devices[i], nil
	}
	var exact, sub []int
	lspec := strings.ToLower(spec)
	for i, d := range l.Devices {
		if !usable(i) {
			continue
		}
		if d.Name == spec {
			exact = append(exact, i)
		}
		if strings.Contains(strings.ToLower(d.Name), lspec) {
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
