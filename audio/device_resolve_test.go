package audio_test

import (
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sepd/sepd/audio"

	"github.com/sepd/sepd/audio/internal/normal"
)

// fakeDevices looks like what PortAudio lists on a desktop with JACK running
// and one more JACK client ("sysmon", outputs only, i.e. a capture device).
func fakeDevices() *audio.DeviceList {
	return &audio.DeviceList{
		DefaultInput: 2, DefaultOutput: 2,
		Devices: []audio.DeviceInfo{
			{Index: 0, Name: "HDA Intel PCH: ALC257 Analog (hw:0,0)", HostAPIType: "ALSA", InputChannels: 2, OutputChannels: 2},
			{Index: 1, Name: "default", HostAPIType: "ALSA", InputChannels: 32, OutputChannels: 32},
			{Index: 2, Name: "system", HostAPIType: "JACK", InputChannels: 2, OutputChannels: 2, DefaultInput: true, DefaultOutput: true},
			{Index: 3, Name: "sysmon", HostAPIType: "JACK", InputChannels: 2},
			{Index: 4, Name: "system", HostAPIType: "OSS", OutputChannels: 2},
		},
	}
}

func TestResolve(t *testing.T) {
	l := fakeDevices()
	for _, tc := range []struct {
		spec    string
		input   bool
		want    int    // device index, or -1 for an error
		errText string // part of the error
	}{
		{"default", true, 2, ""},
		{"DEFAULT", false, 2, ""},
		{"", true, 2, ""},
		{"0", true, 0, ""},
		{"3", true, 3, ""},
		{"3", false, -1, `output device index 3: no such output device; output devices: 0 "HDA`},
		{"9", true, -1, "input device index 9"},
		{"system", true, 2, ""}, // exact, and the OSS one cannot capture
		{"system", false, -1, "is ambiguous: 2 \"system\" (JACK, 2 ch), 4 \"system\" (OSS, 2 ch); use the index"},
		{"sysmon", true, 3, ""},
		{"sys", true, -1, `input device "sys" is ambiguous: 2 "system" (JACK, 2 ch), 3 "sysmon" (JACK, 2 ch); use the index or the exact name`},
		{"ALC257", false, 0, ""}, // unique substring
		{"alc257", true, 0, ""},  // case-insensitive
		{"hw:0,0", true, 0, ""},
		{"monitor", false, -1, `no output device matches "monitor"; output devices: 0 "HDA Intel PCH: ALC257 Analog (hw:0,0)" (ALSA, 2 ch), 1 "default" (ALSA, 32 ch), 2 "system" (JACK, 2 ch), 4 "system" (OSS, 2 ch)`},
	} {
		d, err := l.Resolve(tc.spec, tc.input)
		if tc.want >= 0 {
			if err != nil || d.Index != tc.want {
				t.Errorf("Resolve(%q, input=%v) = %d, %v; want %d", tc.spec, tc.input, d.Index, err, tc.want)
			}
			continue
		}
		if err == nil || !errors.Is(err, audio.ErrNoDevice) || !strings.Contains(err.Error(), tc.errText) {
			t.Errorf("Resolve(%q, input=%v) error %v; want ErrNoDevice containing %q", tc.spec, tc.input, err, tc.errText)
		}
	}
}

func TestResolveNoDefault(t *testing.T) {
	l := &audio.DeviceList{DefaultInput: -1, DefaultOutput: -1}
	if _, err := l.Resolve("default", true); !errors.Is(err, audio.ErrNoDevice) || !strings.Contains(err.Error(), "no default input device; input devices: none") {
		t.Errorf("error %v", err)
	}
}

// desktopDevices looks like what PortAudio lists on a PipeWire desktop with
// sepd run under pw-jack (see scripts/pipewire): PortAudio's own default is
// ALSA's "default" (the PipeWire plugin); the JACK host API's is the first
// JACK client with channels that way, here a sink whose capture channels are
// its monitor.
func desktopDevices() *audio.DeviceList {
	return &audio.DeviceList{
		DefaultInput: 1, DefaultOutput: 1,
		HostAPIs: []audio.HostAPIInfo{
			{Index: 0, Name: "ALSA", Type: "ALSA", Devices: 2, DefaultInput: 1, DefaultOutput: 1},
			{Index: 1, Name: "OSS", Type: "OSS", DefaultInput: -1, DefaultOutput: -1},
			{Index: 2, Name: "JACK Audio Connection Kit", Type: "JACK", Devices: 3, DefaultInput: 2, DefaultOutput: 2},
		},
		Devices: []audio.DeviceInfo{
			{Index: 0, Name: "pipewire", HostAPI: "ALSA", HostAPIType: "ALSA", InputChannels: 64, OutputChannels: 64},
			{Index: 1, Name: "default", HostAPI: "ALSA", HostAPIType: "ALSA", InputChannels: 64, OutputChannels: 64, DefaultInput: true, DefaultOutput: true},
			{Index: 2, Name: "sepd virtual speakers", HostAPI: "JACK Audio Connection Kit", HostAPIType: "JACK", InputChannels: 2, OutputChannels: 2, MonitorOnly: true},
			{Index: 3, Name: "sepd virtual mic", HostAPI: "JACK Audio Connection Kit", HostAPIType: "JACK", InputChannels: 1, OutputChannels: 1},
			{Index: 4, Name: "voice", HostAPI: "JACK Audio Connection Kit", HostAPIType: "JACK", InputChannels: 1},
		},
	}
}

func TestResolveHostAPI(t *testing.T) {
	l := desktopDevices()
	// pw-jack with PipeWire's defaults known (pw-dump): they win over the
	// first JACK device that captures.
	pw := desktopDevices()
	pw.Devices[4].OutputChannels = 1 // "voice", a sepd microphone (a null sink), listed after the mic
	pw.Devices[3], pw.Devices[4] = pw.Devices[4], pw.Devices[3]
	pw.Devices[3].Index, pw.Devices[4].Index = 3, 4
	pw.PipeWireSource, pw.PipeWireSink = "sepd virtual mic", "sepd virtual speakers"
	monitorsOnly := desktopDevices()
	monitorsOnly.Devices = monitorsOnly.Devices[:3]
	noJACK := desktopDevices()
	noJACK.HostAPIs = noJACK.HostAPIs[:2]
	noJACK.Devices = noJACK.Devices[:2]
	for _, tc := range []struct {
		l       *audio.DeviceList
		spec    string
		input   bool
		want    int    // device index, or -1 for an error
		errText string // part of the error
	}{
		{l, "default", true, 3, ""}, // a JACK server answered: JACK's default, but not a monitor
		{l, "default", false, 2, ""},
		{l, "", true, 3, ""},
		{l, "jack:default", true, 3, ""},
		{l, "jack:sepd virtual speakers", true, 2, ""}, // a monitor, named: what the desktop plays
		{l, "JACK:", false, 2, ""},
		{l, "alsa:default", true, 1, ""}, // ALSA's own, by prefix
		{l, "ALSA:DEFAULT", false, 1, ""},
		{l, "alsa:pipewire", false, 0, ""},
		{l, "jack:virtual mic", true, 3, ""},
		{l, "jack: sepd virtual mic", true, 3, ""},
		{l, "jack:3", false, 3, ""},
		{l, "jack:0", false, -1, "output device index 0: no such output device"},
		{l, "alsa:virtual mic", true, -1, `no input device matches "alsa:virtual mic"`},
		{l, "jack:voice", true, 4, ""},
		{l, "jack:voice", false, -1, `no output device matches "jack:voice"`},
		{l, "jack:sepd", true, -1, `input device "jack:sepd" is ambiguous: 2 "sepd virtual speakers" (JACK, 2 ch), 3 "sepd virtual mic" (JACK, 1 ch); use the index or the exact name`},
		{l, "oss:default", false, -1, "no default output device in host API OSS"},
		{noJACK, "default", true, 1, ""},       // no JACK server: PortAudio's default
		{monitorsOnly, "default", true, 1, ""}, // JACK captures only monitors: PortAudio's default
		{monitorsOnly, "default", false, 2, ""},
		{monitorsOnly, "jack:default", true, -1, "no default input device in host API JACK"},
		{noJACK, "jack:default", true, -1, `input device "jack:default": no JACK host API here (host APIs: ALSA, OSS; PortAudio lists JACK only when a JACK server (jackd, or PipeWire through pw-jack) answers as sepd starts)`},
		{noJACK, "jack:system", false, -1, "no JACK host API here"},
		{noJACK, "hw:0,0", true, -1, `no input device matches "hw:0,0"`}, // not a host API prefix
	} {
		d, err := tc.l.Resolve(tc.spec, tc.input)
		if tc.want >= 0 {
			if err != nil || d.Index != tc.want {
				t.Errorf("Resolve(%q, input=%v) = %d, %v; want %d", tc.spec, tc.input, d.Index, err, tc.want)
			}
			continue
		}
		if err == nil || !errors.Is(err, audio.ErrNoDevice) || !strings.Contains(err.Error(), tc.errText) {
			t.Errorf("Resolve(%q, input=%v) = %d, error %v; want ErrNoDevice containing %q", tc.spec, tc.input, d.Index, err, tc.errText)
		}
	}
}

func TestWriteTable(t *testing.T) {
	var b strings.Builder
	if err := desktopDevices().WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	t.Logf("\n%s", out)
	for _, want := range []string{
		`JACK Audio Connection Kit (JACK): 3 devices; "jack:default" is input 3 "sepd virtual mic" (JACK), output 2 "sepd virtual speakers" (JACK)`,
		`ALSA (ALSA): 2 devices; "alsa:default" is input 1 "default" (ALSA), output 1 "default" (ALSA)`,
		"  2      sepd virtual speakers  2 (monitor)  2*",
		"  3      sepd virtual mic       1*",
		"  1      default   64  64", // ALSA's default, not sepd's: no star
		"  (no devices)",            // OSS
		`* "default": input 3 "sepd virtual mic" (JACK), output 2 "sepd virtual speakers" (JACK): a JACK server answered`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	// JACK's table comes first: "default" means JACK here.
	if strings.Index(out, "JACK Audio") > strings.Index(out, "ALSA (ALSA)") {
		t.Error("the JACK host API is not listed first")
	}
	b.Reset()
	l := desktopDevices()
	l.HostAPIs, l.Devices = l.HostAPIs[:2], l.Devices[:2]
	l.WriteTable(&b)
	if want := `* "default": input 1 "default" (ALSA), output 1 "default" (ALSA): PortAudio's default device (no JACK server answered`; !strings.Contains(b.String(), want) {
		t.Errorf("table without JACK lacks %q:\n%s", want, b.String())
	}
}

// TestResolveDeviceJACK resolves against the live server, with one more JACK
// client, "sysmon" (jack_simple_client: two output ports, so a 2-channel
// capture device to PortAudio and no playback device).
func TestResolveDeviceJACK(t *testing.T) {
	jackServer(t)
	cmd := exec.Command("jack_simple_client", "sysmon")
	if err := normal.Start(cmd); err != nil {
		t.Fatalf("jack_simple_client (package jackd2): %v", err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var l *audio.DeviceList
	for deadline := time.Now().Add(5 * time.Second); ; {
		var err error
		if l, err = audio.ListDevices(); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Resolve("sysmon", true); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("sysmon did not appear as a JACK device within 5 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	jack := -1
	for _, h := range l.HostAPIs {
		if h.Type == "JACK" {
			jack = h.Index
		}
	}
	if jack < 0 {
		t.Fatalf("no JACK host API in %+v", l.HostAPIs)
	}
	sys, err := l.Resolve("system", false)
	if err != nil || sys.HostAPIType != "JACK" || sys.InputChannels != 2 || sys.OutputChannels != 2 || sys.DefaultSampleRateHz != 48000 {
		t.Fatalf("system: %+v, %v", sys, err)
	}
	for _, tc := range []struct {
		spec    string
		input   bool
		want    string // device name, or "" for an error
		errText string
	}{
		{"system", true, "system", ""},
		{"default", false, "system", ""},
		{strconv.Itoa(sys.Index), true, "system", ""},
		{"SysMon", true, "sysmon", ""},
		{"sys", false, "system", ""}, // sysmon cannot play
		{"sys", true, "", `input device "sys" is ambiguous`},
		{"sysmon", false, "", `no output device matches "sysmon"`},
		{"nonesuch", true, "", `no input device matches "nonesuch"; input devices:`},
		// Host API prefixes: JACK's own default, and names only among its devices.
		{"jack:default", true, "system", ""},
		{"JACK:system", false, "system", ""},
		{"jack:SysMon", true, "sysmon", ""},
		{"alsa:system", false, "", `no output device matches "alsa:system"`},
		{"oss:default", false, "", "OSS"},
	} {
		d, err := audio.ResolveDevice(tc.spec, tc.input)
		if tc.want != "" {
			if err != nil || d.Name != tc.want {
				t.Errorf("ResolveDevice(%q, %v) = %q, %v; want %q", tc.spec, tc.input, d.Name, err, tc.want)
			}
			continue
		}
		if !errors.Is(err, audio.ErrNoDevice) || !strings.Contains(err.Error(), tc.errText) {
			t.Errorf("ResolveDevice(%q, %v): %v; want an error containing %q", tc.spec, tc.input, err, tc.errText)
		} else {
			t.Logf("%s", err)
		}
	}
}

func TestUnsupportedSampleRateJACK(t *testing.T) {
	jackServer(t)
	for _, input := range []bool{true, false} {
		cfg := audio.StreamConfig{Device: "system", Channels: 1, SampleRateHz: 44100}
		var err error
		if input {
			var c *audio.Capture
			if c, err = audio.OpenCapture(cfg); err == nil {
				c.Close()
			}
		} else {
			var p *audio.Playback
			if p, err = audio.OpenPlayback(cfg); err == nil {
				p.Close()
			}
		}
		if !errors.Is(err, audio.ErrSampleRate) {
			t.Fatalf("input=%v: %v, want ErrSampleRate", input, err)
		}
		for _, want := range []string{`device "system"`, "44100 Hz", "48000 Hz", "Invalid sample rate"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("input=%v: %q lacks %q", input, err, want)
			}
		}
		t.Log(err)
	}
}
