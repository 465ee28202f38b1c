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

func TestWriteTable(t *testing.T) {
	l := fakeDevices()
	l.HostAPIs = []audio.HostAPIInfo{{Name: "JACK Audio Connection Kit", Type: "JACK", Devices: 2, DefaultInput: 2, DefaultOutput: 2}}
	var b strings.Builder
	if err := l.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"JACK Audio Connection Kit  JACK", "2      system", "2*", "3      sysmon"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
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
