// Package jacktest drives a live-audio program under test through a JACK
// server, sample-exactly: it plays a signal into the program's JACK input
// ports and records its output ports, from the same callbacks, so the lag
// between the two is exact. It is a test helper; it does not import sepd's
// audio package, so that it checks that code from the outside.
//
// How: PortAudio's JACK host API makes each process ONE JACK client (named
// "PortAudio", the next process "PortAudio-01", ...; every stream of the
// process adds ports to it), and it builds its device list once, at
// Pa_Initialize. So a second PortAudio client in the process under test
// cannot exist, and the program's own ports never appear as a device in its
// own list. Run therefore starts a helper process (cmd/jacktest-helper, built
// once per test binary with `go build`, or the binary named by
// SEPD_JACKTEST_HELPER_BIN), which initializes PortAudio after the program
// under test has opened its streams, opens one duplex callback stream on the
// device named Config.Target, and so is connected automatically: its outputs
// to the target's first input ports, the target's first output ports to its
// inputs. In its callback it writes the signal and records the input, frame by
// frame.
//
// Measured with jackd -d dummy -r 48000 -p 256 (see audio's live tests): a
// Capture feeding a Playback directly in hop-sized blocks, FramesPerBuffer
// 256, is bit-exact with a constant lag; see TestLoopbackJACK in package audio
// for the figure and the command.
//
// The JACK server is the one in JACK_DEFAULT_SERVER of the environment (set
// Config.Server to choose another); JACK_NO_START_SERVER=1 is set for the
// helper.
package jacktest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sepd/sepd/audio/internal/normal"
)

// Config says what to play and what to record.
type Config struct {
	// Target is the JACK client (PortAudio device name) of the program under
	// test; "" means "PortAudio". Its ports must exist when Run is called.
	Target string
	// RecordFrom is the JACK client whose output ports are recorded; ""
	// means Target. Another one serves a program that is not a JACK client
	// of its own: through PipeWire, play into a virtual microphone
	// (Target) that the program captures, and record the virtual speakers'
	// monitor it plays to.
	RecordFrom string
	// Signal[c] is played into the target's input port c, from the helper's
	// first callback on; silence follows it.
	Signal [][]float32
	// RecordChannels output ports of the target are recorded, from the
	// helper's first callback on, for RecordFrames frames.
	RecordChannels int
	RecordFrames   int
	// SampleRateHz must be the server's rate; 0 means 48000.
	SampleRateHz int
	// FramesPerBuffer of the helper's stream; 0 means 256.
	FramesPerBuffer int
	// Server is the JACK server name; "" means JACK_DEFAULT_SERVER.
	Server string
	// Timeout bounds the helper's run; 0 means the signal's or the
	// recording's duration, whichever is longer, + 30 s.
	Timeout time.Duration
	// LeadIn is how long the helper plays silence and records nothing
	// before the signal's first frame (and the recording's): time for its
	// ports' connections to come up. Through PipeWire's libjack the
	// helper's node runs before the server (its main thread, not real-time)
	// has made the links live, and beside busy loops the signal's first
	// quantum went nowhere (seen: a glitch of 256 to 1792 frames at the very
	// start of the ALSA plugin's loopback, quanta 256 to 2048, with no xrun
	// anywhere). 0: none (jackd connects before the stream starts).
	LeadIn time.Duration
}

// Result is what the helper recorded.
type Result struct {
	// Recording[c][i] is the target's output port c at the helper's frame i;
	// Signal[c][i] was played at the same frame i.
	Recording [][]float32
	// XrunCallbacks counts helper callbacks with PortAudio's overflow or
	// underflow flag set (through JACK: server xruns).
	XrunCallbacks int
	// XrunFrames holds the frame (of Recording and Signal) at which each of
	// those callbacks began, in order: where the server's xruns hit, to
	// within the delay of PortAudio's report (see Expect.Slack).
	XrunFrames []int
	// Log is the helper's stderr without PortAudio's "ALSA lib" noise.
	Log string
	// clockFrames[i] is the frame at which the helper's callback i began,
	// at clockNanos[i] (CLOCK_MONOTONIC, the clock of PipeWire's profiler):
	// see FrameAt.
	clockFrames []int
	clockNanos  []int64
}

// FrameAt returns the frame (of Recording and Signal) that the helper's
// callbacks were at at time t (nanoseconds of CLOCK_MONOTONIC, the clock of
// PipeWire's profiler, see WatchPipeWire): the frame of the last callback that
// began at or before t, and false when t is outside the callbacks. A
// callback begins after its cycle's start by the time the graph took to wake
// the helper, so the frame is as late as that wake-up was (on a starved
// machine a few periods; see Expect.Slack). It does not allocate.
func (r *Result) FrameAt(t int64) (int, bool) {
	n := len(r.clockNanos)
	if n == 0 || t < r.clockNanos[0] || t > r.clockNanos[n-1] {
		return 0, false
	}
	i := sort.Search(n, func(i int) bool { return r.clockNanos[i] > t }) - 1
	return r.clockFrames[i], true
}

// helperEnv names the file with the helper's job.
const helperEnv = "SEPD_JACKTEST_HELPER"

// job is what Run hands to the helper process.
type job struct {
	Target          string
	RecordFrom      string
	SignalFile      string // float32 little endian, interleaved, SignalChannels per frame
	SignalChannels  int
	SignalFrames    int
	RecordChannels  int
	RecordFrames    int
	RecordFile      string // written by the helper, same encoding
	SampleRateHz    int
	FramesPerBuffer int
	ResultFile      string // JSON of helperResult
	LeadInFrames    int    // see Config.LeadIn
}

type helperResult struct {
	XrunCallbacks int
	XrunFrames    []int
	ClockFrames   []int
	ClockNanos    []int64
	Err           string
}

// Run plays cfg.Signal into the target and records its outputs, in a helper
// process, and returns the recording. It allocates.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Target == "" {
		cfg.Target = "PortAudio"
	}
	if cfg.SampleRateHz == 0 {
		cfg.SampleRateHz = 48000
	}
	if cfg.FramesPerBuffer == 0 {
		cfg.FramesPerBuffer = 256
	}
	if len(cfg.Signal) == 0 && cfg.RecordChannels == 0 {
		return nil, errors.New("jacktest: nothing to play and nothing to record")
	}
	frames := 0
	for c, s := range cfg.Signal {
		if c > 0 && len(s) != frames {
			return nil, errors.New("jacktest: signal channels of different lengths")
		}
		frames = len(s)
	}
	if cfg.Timeout == 0 {
		// A guard against a hung helper, not a bound on a slow one: on a
		// 2-core machine shared with builds and other real-time clients a
		// helper has taken more than 10 s to start.
		cfg.Timeout = time.Duration(max(cfg.RecordFrames, frames))*time.Second/time.Duration(cfg.SampleRateHz) + 30*time.Second
	}
	dir, err := os.MkdirTemp("", "jacktest-")
	if err != nil {
		return nil, fmt.Errorf("jacktest: %w", err)
	}
	defer os.RemoveAll(dir)
	j := job{
		Target: cfg.Target, RecordFrom: cfg.RecordFrom, SignalFile: filepath.Join(dir, "signal.f32"),
		SignalChannels: len(cfg.Signal), SignalFrames: frames,
		RecordChannels: cfg.RecordChannels, RecordFrames: cfg.RecordFrames,
		RecordFile: filepath.Join(dir, "record.f32"), SampleRateHz: cfg.SampleRateHz,
		FramesPerBuffer: cfg.FramesPerBuffer, ResultFile: filepath.Join(dir, "result.json"),
		LeadInFrames: int(cfg.LeadIn.Seconds() * float64(cfg.SampleRateHz)),
	}
	if err := writeF32(j.SignalFile, interleave(cfg.Signal, frames)); err != nil {
		return nil, err
	}
	jobFile := filepath.Join(dir, "job.json")
	b, _ := json.Marshal(j)
	if err := os.WriteFile(jobFile, b, 0o600); err != nil {
		return nil, fmt.Errorf("jacktest: %w", err)
	}
	exe, err := helperBinary()
	if err != nil {
		return nil, err
	}
	log, ctxErr, runErr := runHelper(ctx, exe, jobFile, cfg)
	if runErr != nil && ctxErr == context.DeadlineExceeded && ctx.Err() == nil && log == "" {
		// The helper was killed at the deadline before it wrote its first
		// step: it never opened PortAudio, so nothing was played or
		// recorded, and there is nothing of the program under test to
		// judge. Seen once in CI (TestLiveReconnectJACK, just after its
		// server came back; the next loopbacks passed): start it again,
		// once, and say so.
		fmt.Fprintf(os.Stderr, "jacktest: the helper wrote nothing in %v and was killed; starting it again\n", cfg.Timeout)
		log, ctxErr, runErr = runHelper(ctx, exe, jobFile, cfg)
		log = "(a first helper wrote nothing and was killed at the deadline)\n" + log
	}
	res := &Result{Log: log}
	var hr helperResult
	if b, err := os.ReadFile(j.ResultFile); err == nil {
		json.Unmarshal(b, &hr)
	}
	res.XrunCallbacks, res.XrunFrames = hr.XrunCallbacks, hr.XrunFrames
	res.clockFrames, res.clockNanos = hr.ClockFrames, hr.ClockNanos
	if hr.Err != "" {
		return res, fmt.Errorf("jacktest: helper: %s", hr.Err)
	}
	if runErr != nil {
		return res, fmt.Errorf("jacktest: helper: %w (ctx: %v); its log:\n%s", runErr, ctxErr, res.Log)
	}
	rec, err := readF32(j.RecordFile)
	if err != nil {
		return res, err
	}
	res.Recording = deinterleave(rec, cfg.RecordChannels)
	return res, nil
}

// runHelper runs the helper program exe on jobFile within cfg.Timeout and
// returns its output (without ALSA's noise), the error of its context
// (context.DeadlineExceeded when it was killed at the deadline) and how it
// ended.
func runHelper(ctx context.Context, exe, jobFile string, cfg Config) (log string, ctxErr, err error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), helperEnv+"="+jobFile, "JACK_NO_START_SERVER=1")
	if cfg.Server != "" {
		cmd.Env = append(cmd.Env, "JACK_DEFAULT_SERVER="+cfg.Server)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	err = normal.Run(cmd)
	return FilterALSANoise(stderr.String()), ctx.Err(), err
}

// helperPkg is the helper program's import path.
const helperPkg = "github.com/sepd/sepd/audio/jacktest/cmd/jacktest-helper"

var helperBuild struct {
	sync.Mutex
	path string
}

// Prepare builds the helper process now (Run does it at its first call), so
// that a test can keep the build's CPU load away from the live run it is about
// to start: a `go build` on a 2-core machine starves a real-time program of
// CPU for a second or two.
func Prepare() error {
	_, err := helperBinary()
	return err
}

// helperBinary returns SEPD_JACKTEST_HELPER_BIN, or builds the helper once per
// process into a temporary folder (go build; the build cache makes it quick).
func helperBinary() (string, error) {
	if p := os.Getenv("SEPD_JACKTEST_HELPER_BIN"); p != "" {
		return p, nil
	}
	helperBuild.Lock()
	defer helperBuild.Unlock()
	if helperBuild.path != "" {
		return helperBuild.path, nil
	}
	dir, err := os.MkdirTemp("", "jacktest-helper-")
	if err != nil {
		return "", fmt.Errorf("jacktest: %w", err)
	}
	path := filepath.Join(dir, "jacktest-helper")
	out, err := normal.CombinedOutput(exec.Command("go", "build", "-o", path, helperPkg))
	if err != nil {
		return "", fmt.Errorf("jacktest: go build %s: %w\n%s", helperPkg, err, out)
	}
	helperBuild.path = path
	return path, nil
}

// FilterALSANoise removes the "ALSA lib ..." lines that libasound prints to
// stderr when PortAudio probes ALSA devices on a machine without them (about
// 60 per initialization), and the blank lines.
func FilterALSANoise(s string) string {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "ALSA lib ") || strings.TrimSpace(l) == "" {
			continue
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// Noise returns a deterministic test signal of n frames and channels
// channels: uniform in [-0.5, 0.5), never zero, every value a multiple of 2^-24
// so that it is exact in float32 (and in float64 and back). Different seeds
// and channels give different sequences. It allocates.
func Noise(n, channels int, seed uint64) [][]float32 {
	out := make([][]float32, channels)
	for c := range out {
		x := seed*0x9E3779B97F4A7C15 + uint64(c+1)*0xD1B54A32D192ED03
		s := make([]float32, n)
		for i := range s {
			x = x*6364136223846793005 + 1442695040888963407 // Knuth's MMIX LCG
			v := int32(x>>40) - 1<<23                       // 24 bits, in [-2^23, 2^23)
			if v == 0 {
				v = 1
			}
			s[i] = float32(v) / (1 << 24)
		}
		out[c] = s
	}
	return out
}

// Align finds sig in rec: the lag L such that rec[L+i] == sig[i] exactly. It
// takes the first non-zero sample of rec as the start of sig (so sig[0] must
// not be 0 and rec must be silent before it), then counts the samples of sig
// that differ, and how many of sig's samples rec holds. ok is false when rec
// is silent throughout.
func Align(rec, sig []float32) (lag, compared, mismatches int, ok bool) {
	lag = -1
	for i, v := range rec {
		if v != 0 {
			lag = i
			break
		}
	}
	if lag < 0 {
		return 0, 0, 0, false
	}
	for i, s := range sig {
		if lag+i >= len(rec) {
			break
		}
		compared++
		if rec[lag+i] != s {
			mismatches++
		}
	}
	return lag, compared, mismatches, true
}

func interleave(s [][]float32, frames int) []float32 {
	out := make([]float32, 0, frames*len(s))
	for i := range frames {
		for _, c := range s {
			out = append(out, c[i])
		}
	}
	return out
}

func deinterleave(x []float32, channels int) [][]float32 {
	if channels == 0 {
		return nil
	}
	n := len(x) / channels
	out := make([][]float32, channels)
	for c := range out {
		out[c] = make([]float32, n)
		for i := range n {
			out[c][i] = x[i*channels+c]
		}
	}
	return out
}

func writeF32(path string, x []float32) error {
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("jacktest: %w", err)
	}
	return nil
}

func readF32(path string) ([]float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("jacktest: reading the recording: %w", err)
	}
	x := make([]float32, len(b)/4)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return x, nil
}
