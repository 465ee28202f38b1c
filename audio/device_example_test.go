package audio_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/sepd/sepd/audio"
)

func ExampleDeviceList_Resolve() {
	// What ListDevices returns on a machine with a JACK server and one more
	// JACK client with output ports only.
	l := &audio.DeviceList{
		DefaultInput: 0, DefaultOutput: 0,
		Devices: []audio.DeviceInfo{
			{Index: 0, Name: "system", HostAPIType: "JACK", InputChannels: 2, OutputChannels: 2},
			{Index: 1, Name: "sysmon", HostAPIType: "JACK", InputChannels: 2},
		},
	}
	for _, spec := range []string{"default", "1", "SysMon", "sys"} {
		d, err := l.Resolve(spec, true)
		fmt.Printf("%q: %q %v\n", spec, d.Name, err)
	}
	d, err := l.Resolve("sys", false) // sysmon cannot play
	fmt.Printf("%q for output: %q %v\n", "sys", d.Name, err)
	// Output:
	// "default": "system" <nil>
	// "1": "sysmon" <nil>
	// "SysMon": "sysmon" <nil>
	// "sys": "" audio: input device "sys" is ambiguous: 0 "system" (JACK, 2 ch), 1 "sysmon" (JACK, 2 ch); use the index or the exact name: no such device
	// "sys" for output: "system" <nil>
}

// Example_liveLoop is the shape of a live run: one capture, one playback
// device carrying two sources on channels 0 and 1, a reader loop that reopens
// stalled streams with a backoff, and an xrun reporter off the audio path.
func Example_liveLoop() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var xruns audio.Xruns
	go audio.NewXrunReporter(&xruns, log, time.Second).Run(ctx)

	in := audio.StreamConfig{Device: "default", Channels: 1, SampleRateHz: 48000, FramesPerBuffer: 256, Xruns: &xruns}
	out := in
	out.Channels = 2
	capt, err := audio.OpenCapture(in)
	if err != nil {
		log.Error("capture", "err", err)
		return
	}
	defer capt.Close()
	play, err := audio.OpenPlayback(out)
	if err != nil {
		log.Error("playback", "err", err)
		return
	}
	defer play.Close()
	voice, _ := play.Writer(0) // one writer per source
	noise, _ := play.Writer(1)
	ci, pi := capt.Info(), play.Info()
	log.Info("latency", "input", ci.DeviceLatency, "output", pi.DeviceLatency,
		"prefill_ms", float64(pi.PrefillFrames)*1e3/48000)

	const hop = 256
	block := [][]float64{make([]float64, hop)}
	v, n := [][]float64{make([]float64, hop)}, [][]float64{make([]float64, hop)}
	capt.Flush()
	for {
		_, err := capt.ReadContext(ctx, block)
		if errors.Is(err, audio.ErrStalled) {
			for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
				err = errors.Join(capt.Reopen(), play.Reopen())
				if err == nil || errors.Is(err, audio.ErrRestartRequired) || ctx.Err() != nil {
					break
				}
				log.Warn("reopen", "err", err, "retry_in", backoff)
				time.Sleep(backoff)
			}
			if err != nil {
				log.Error("audio devices lost", "err", err) // ErrRestartRequired: exit and let the supervisor restart
				return
			}
			capt.Flush()
			continue
		}
		if err != nil {
			return // io.EOF after Close, or ctx done
		}
		// ... separate block[0] into v[0] (voice) and n[0] (noise) ...
		voice.Write(v)
		noise.Write(n)
	}
}
