package audio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"strings"
)

// probeSpec is what DeviceRate hands the bridge in --probe: the device
// whose rate it wants, and the rate to prefer when the device takes it.
type probeSpec struct {
	Device string `json:"device"`
	Input  bool   `json:"input"`
	Prefer int    `json:"prefer_hz,omitempty"`
}

// probeMsg is the bridge's one-line answer to --probe.
type probeMsg struct {
	RateHz int    `json:"rate_hz,omitempty"`
	Name   string `json:"name,omitempty"`
	Kind   string `json:"kind,omitempty"`
	Error  string `json:"error,omitempty"`
}

// DeviceRate returns the rate the device that cfg's input names, or without
// an input its first output, should run at, and the device's name: preferHz
// when the device is not a JACK client and PortAudio says it opens at that
// rate (an ALSA device that takes the bases' rate needs no conversion in
// sepd), else its default rate as PortAudio reports it (on JACK the
// server's rate, -r; on PipeWire through pw-jack the graph's). ALSA's
// "default" through PipeWire's plugin reports 44100 Hz, ALSA's own default,
// whatever the graph runs at, and takes any rate: opened at its default,
// sepd converted 48 kHz to 44.1 kHz and PipeWire converted it back. It asks
// a short-lived audio bridge (`sepd audio-bridge --probe`), so that
// PortAudio never runs in this process (see Live); that takes about 50 ms. An error names the device and wraps ErrNoDevice when it does not
// exist. It allocates.
func DeviceRate(ctx context.Context, cfg LiveConfig, preferHz int) (rateHz int, name string, err error) {
	var p probeSpec
	switch {
	case cfg.Input != nil:
		p = probeSpec{Device: cfg.Input.Device, Input: true, Prefer: preferHz}
	case len(cfg.Outputs) > 0:
		p = probeSpec{Device: cfg.Outputs[0].Device, Prefer: preferHz}
	default:
		return 0, "", errors.New("audio: live: no input and no output device")
	}
	spec, err := json.Marshal(p)
	if err != nil {
		return 0, "", fmt.Errorf("audio: live: %w", err)
	}
	argv := cfg.Command
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return 0, "", fmt.Errorf("audio: live: finding this program to start the audio bridge: %w", err)
		}
		argv = []string{exe, "audio-bridge"}
	}
	cmd := exec.CommandContext(ctx, argv[0], append(argv[1:len(argv):len(argv)], "--probe", string(spec))...)
	cmd.Env = append(os.Environ(), "JACK_NO_START_SERVER=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var m probeMsg
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &m); err != nil {
		return 0, "", fmt.Errorf("audio: live: asking the audio bridge for the rate of device %q: %v%s", p.Device, errors.Join(runErr, err), stderrTail(stderr.String()))
	}
	if m.Error != "" {
		return 0, "", newBridgeError(m.Kind, m.Error)
	}
	if m.RateHz <= 0 {
		return 0, "", fmt.Errorf("audio: live: device %q reports no default sample rate", m.Name)
	}
	return m.RateHz, m.Name, nil
}

// stderrTail is the last lines of a child's stderr without PortAudio's
// "ALSA lib" noise, as a suffix for an error ("" when none).
func stderrTail(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" && !strings.HasPrefix(l, "ALSA lib ") {
			keep = append(keep, l)
		}
	}
	if len(keep) > 5 {
		keep = keep[len(keep)-5:]
	}
	if len(keep) == 0 {
		return ""
	}
	return "; its log: " + strings.Join(keep, " | ")
}

// RunBridgeProbe is `sepd audio-bridge --probe JSON`: it finds the device
// that spec (written by DeviceRate) names and writes the rate it should run
// at (see DeviceRate), or the error, as one JSON line to w. It returns an
// error only when w fails or spec is not DeviceRate's.
func RunBridgeProbe(spec string, w io.Writer) error {
	var p probeSpec
	if err := json.Unmarshal([]byte(spec), &p); err != nil {
		return fmt.Errorf("audio: bridge: bad --probe: %w", err)
	}
	var m probeMsg
	dev, err := ResolveDevice(p.Device, p.Input)
	if err != nil {
		m.Kind, m.Error = errorKind(err), err.Error()
	} else {
		m.RateHz, m.Name = int(math.Round(dev.DefaultSampleRateHz)), dev.Name
		if p.Prefer > 0 && p.Prefer != m.RateHz && dev.HostAPIType != "JACK" && opensAt(dev, p.Input, p.Prefer) {
			m.RateHz = p.Prefer
		}
	}
	return json.NewEncoder(w).Encode(m)
}
