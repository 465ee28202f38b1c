package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"codeberg.org/sbinet/npyio"
	"gonum.org/v1/gonum/mat"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/audio/jacktest"
	"github.com/sepd/sepd/separate"
)

// Helpers of the live tests (live_test.go): the JACK server, the daemon's JSON
// log records and its xrun counters. The daemon itself is started with
// startDaemon and scraped with scrape (run_test.go).

const (
	liveRate   = 48000 // the JACK server's -r (scripts/jackd)
	livePeriod = 256   // the JACK server's -p (scripts/jackd)
	// liveMix is the committed 48 kHz mixture, made by testdata/live/make.sh.
	liveMix = "../../testdata/live/mix48k.wav"
	// jackdScript starts, stops and kills named servers.
	jackdScript = "../../scripts/jackd"
)

// jackServer: see jacktest.Server.
func jackServer(t *testing.T) string { return jacktest.Server(t) }

// jackEnv makes the daemons that the test starts from now on clients of
// server (startDaemon passes the environment on). It builds sepd and the
// jacktest helper first, so that the builds do not see the test's environment
// and do not load the CPU during the live run (a build beside the first second
// of a run made ring xruns).
func jackEnv(t *testing.T, server string) {
	t.Helper()
	if _, err := sepdBinary(); err != nil {
		t.Fatal(err)
	}
	if err := jacktest.Prepare(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JACK_DEFAULT_SERVER", server)
	t.Setenv("JACK_NO_START_SERVER", "1")
}

// logRecord is one JSON record of the daemon's log.
type logRecord map[string]any

// records parses the JSON lines of a log (other lines, such as PortAudio's or
// the final "sepd: error" line, are skipped).
func records(log string) []logRecord {
	var out []logRecord
	for _, line := range strings.Split(log, "\n") {
		var r logRecord
		if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &r) == nil {
			out = append(out, r)
		}
	}
	return out
}

// record returns the first record with the message msg, or nil.
func (d *daemonRun) record(msg string) logRecord {
	for _, r := range records(d.logText()) {
		if r["msg"] == msg {
			return r
		}
	}
	return nil
}

// recordsOf returns every record with the message msg, in order.
func (d *daemonRun) recordsOf(msg string) []logRecord {
	var out []logRecord
	for _, r := range records(d.logText()) {
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// waitRecords waits until the log has n records with the message msg, and
// returns them: a record the daemon wrote before answering a request may
// reach the test's reader of its stderr after the answer.
func (d *daemonRun) waitRecords(t *testing.T, msg string, n int, timeout time.Duration) []logRecord {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r := d.recordsOf(msg)
		if len(r) >= n {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d %q records in the log after %v, want %d:\n%s", len(r), msg, timeout, n, d.logText())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitRecord waits for the first record with the message msg.
func (d *daemonRun) waitRecord(t *testing.T, msg string, timeout time.Duration) logRecord {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if r := d.record(msg); r != nil {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q record in the log after %v:\n%s", msg, timeout, d.logText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r logRecord) int(t *testing.T, key string) int {
	t.Helper()
	v, ok := r[key].(float64)
	if !ok {
		t.Fatalf("log record %v has no number %q", r, key)
	}
	return int(v)
}

func (r logRecord) str(t *testing.T, key string) string {
	t.Helper()
	v, ok := r[key].(string)
	if !ok {
		t.Fatalf("log record %v has no string %q", r, key)
	}
	return v
}

func (r logRecord) time(t *testing.T) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, r.str(t, "time"))
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// startLive writes the configuration text to dir/sepd.yaml, starts `sepd
// run` on it and waits until it runs. It returns the daemon, its "running" record and the JACK client name
// of its audio bridge (where a jacktest client connects).
func startLive(t *testing.T, dir, text string) (*daemonRun, logRecord, string) {
	t.Helper()
	cfg := dir + "/sepd.yaml"
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfg)
	running := d.waitRecord(t, "running", 20*time.Second)
	client := d.record("audio bridge started").str(t, "jack_client")
	return d, running, client
}

// xrunKinds are the glitch kinds in sepd_xruns_total (reconnects are
// sepd_reconnects_total).
var xrunKinds = []audio.XrunKind{audio.InputOverflow, audio.OutputUnderflow, audio.RingOverrun, audio.RingUnderrun, audio.DeadlineMissed}

// xruns reads the xrun counters from a scrape.
func xruns(t *testing.T, m map[string]float64) audio.XrunCounts {
	t.Helper()
	var c audio.XrunCounts
	for _, k := range xrunKinds {
		v, ok := m[fmt.Sprintf("sepd_xruns_total{kind=%s}", k)]
		if !ok {
			t.Fatalf("/metrics has no sepd_xruns_total{kind=%q}", k)
		}
		c[k] = uint64(v)
	}
	return c
}

// countedXruns applies the rule of the audio package's live tests: under
// -race (other packages' race-instrumented tests load the machine) a server
// xrun, which PortAudio reports as InputOverflow and OutputUnderflow, is
// tolerated as long as no block was lost on sepd's side (no ring overrun or
// underrun). Without -race every kind counts.
func countedXruns(c audio.XrunCounts) audio.XrunCounts {
	if raceEnabled && c[audio.RingOverrun]+c[audio.RingUnderrun] == 0 {
		c[audio.InputOverflow], c[audio.OutputUnderflow] = 0, 0
	}
	c[audio.Reconnect] = 0
	return c
}

// writeFloatWAV writes a mono float32 WAV (exact for PCM16 values).
func writeFloatWAV(t *testing.T, path string, x []float64) {
	t.Helper()
	writeWAV(t, path, liveRate, audio.Float32, x)
}

// liveBases returns the bases of the voice and noise sources for fft_size
// fft, as the config's bases: values (relative to dir). For 1024 they are the
// demo's (cmd/sepd/demo/bases.npz, F = 513, copied into dir). For larger
// sizes every basis is stretched along frequency by linear interpolation to
// F = fft/2+1 and saved as dir/NAME.npy (F x K): the live tests need valid
// bases of the right F, not good ones (the demo's were learned at 16 kHz; at
// 48 kHz no size of theirs fits the spectra anyway).
func liveBases(t *testing.T, dir string, fft int) (voice, noise string) {
	t.Helper()
	copyFile(t, "demo/bases.npz", filepath.Join(dir, "bases.npz"))
	if fft == 1024 {
		return "bases.npz", "bases.npz"
	}
	b, _, err := separate.LoadBases([]separate.BasesFile{{Path: filepath.Join(dir, "bases.npz")}}, 1024)
	if err != nil {
		t.Fatal(err)
	}
	f0, f1 := b.F(), fft/2+1
	for s, name := range b.Names {
		k := b.Start[s+1] - b.Start[s]
		w := mat.NewDense(f1, k, nil)
		for f := range f1 {
			x := float64(f) * float64(f0-1) / float64(f1-1) // position among the old bins
			lo := min(int(x), f0-2)
			a := x - float64(lo)
			for j := range k {
				c := b.Start[s] + j
				w.Set(f, j, (1-a)*b.W.At(lo, c)+a*b.W.At(lo+1, c))
			}
		}
		out, err := os.Create(filepath.Join(dir, name+".npy"))
		if err != nil {
			t.Fatal(err)
		}
		if err := npyio.Write(out, w); err != nil {
			t.Fatal(err)
		}
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return "voice.npy", "noise.npy"
}

// serverXrunsOnly reports whether an xrun summary of the log ("kind=n ...")
// names only server xruns (input_overflow, output_underflow).
func serverXrunsOnly(summary string) bool {
	for _, f := range strings.Fields(summary) {
		k, _, _ := strings.Cut(f, "=")
		if k != audio.InputOverflow.String() && k != audio.OutputUnderflow.String() {
			return false
		}
	}
	return true
}

// cpuPressure reads the kernel's CPU pressure (PSI): the total time, since
// boot, during which at least one runnable task waited for a CPU. The live
// tests log its share of a run: xruns on a machine that is short of CPU are
// not sepd's alone (see TestLiveSteadyJACK). ok is false without PSI.
func cpuPressure() (d time.Duration, ok bool) {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return 0, false
	}
	for _, f := range strings.Fields(string(b)) {
		if v, found := strings.CutPrefix(f, "total="); found {
			var us int64
			if _, err := fmt.Sscan(v, &us); err == nil {
				return time.Duration(us) * time.Microsecond, true
			}
		}
		if f == "full" {
			break
		}
	}
	return 0, false
}

// pressureSince describes the CPU pressure since p0 (from cpuPressure) over
// the wall-clock interval since t0.
func pressureSince(p0 time.Duration, t0 time.Time) string {
	share, ok := pressureShare(p0, t0)
	if !ok {
		return "CPU pressure unknown (no /proc/pressure/cpu)"
	}
	return fmt.Sprintf("some task waited for a CPU %.0f%% of the time (PSI cpu some)", 100*share)
}

// pressureShare is the share of the time since t0 (when PSI's cpu some total
// was p0) during which some task waited for a CPU; false without PSI.
func pressureShare(p0 time.Duration, t0 time.Time) (float64, bool) {
	p1, ok := cpuPressure()
	if !ok {
		return 0, false
	}
	return (p1 - p0).Seconds() / time.Since(t0).Seconds(), true
}

// liveFiles reads the voice.wav and noise.wav a live run wrote in dir: mono, at
// liveRate, of the same length.
func liveFiles(t *testing.T, dir string) (voice, noise []float64) {
	t.Helper()
	var y [2][]float64
	for c, s := range []string{"voice", "noise"} {
		x, f, err := audio.ReadAll(filepath.Join(dir, s+".wav"))
		if err != nil {
			t.Fatalf("%s.wav after the run: %v", s, err)
		}
		if f.SampleRateHz != liveRate || f.Channels != 1 {
			t.Fatalf("%s.wav: %d Hz, %d channels", s, f.SampleRateHz, f.Channels)
		}
		y[c] = x[0]
	}
	if len(y[0]) != len(y[1]) {
		t.Fatalf("voice.wav has %d samples, noise.wav %d", len(y[0]), len(y[1]))
	}
	return y[0], y[1]
}

// findBurst finds the burst sig in sum from sample from on, where sum is
// silent (below 1e-3) before the burst: the start is the first sample above
// 1e-3 less sig's own lead-in below 1e-3. It returns the start (-1 when the
// burst is not there or is cut off), the largest |sum - sig| over the burst
// and the largest |sum| from from to the start.
func findBurst(sum []float64, sig []float32, from int) (at int, worst, before float64) {
	lead := 0
	for math.Abs(float64(sig[lead])) <= 1e-3 {
		lead++
	}
	at = -1
	for i := from; i < len(sum); i++ {
		if math.Abs(sum[i]) > 1e-3 {
			at = i - lead
			break
		}
	}
	if at < from || at+len(sig) > len(sum) {
		return -1, 0, 0
	}
	for i, v := range sig {
		worst = max(worst, math.Abs(sum[at+i]-float64(v)))
	}
	for i := from; i < at; i++ {
		before = max(before, math.Abs(sum[i]))
	}
	return at, worst, before
}

// xrunDrift is how far the JACK server's clock may fall behind the wall
// clock at each of its xruns: the dummy backend does not make up the cycles
// it missed, so what sepd captured (and wrote to its files) is short of the
// wall clock by about the server's stall. Measured under scripts/xrun-storm
// (12 ms stalls): 407 to 549 frames per server xrun over four tests; 4
// periods (21 ms) cover stalls of up to that.
const xrunDrift = 4 * livePeriod

// checkFileClock checks that files of n samples hold the wall-clock length
// of a run, want samples, to within slack, less xrunDrift per server xrun
// that sepd saw (audio.XrunCounts.Server): short by that, never long. A
// server starved of CPU also falls behind the wall clock without an xrun
// (beside two busy loops: 4287 and 8974 samples short over 10 s with one and
// two xruns, at CPU pressures of 21 % and more), so when other tasks waited
// for a CPU steadyBusy of the run or more (PSI since p0 at t0, the run's
// start) a short file is logged, not failed: the machine cannot show the
// claim then.
func checkFileClock(t *testing.T, n int, want float64, slack int, server uint64, p0 time.Duration, t0 time.Time) {
	t.Helper()
	diff := float64(n) - want
	drift := float64(xrunDrift) * float64(server)
	t.Logf("the files hold %d samples (%.3f s); wall clock from \"running\" to SIGINT: %.0f samples; files - wall clock = %+.0f samples (%+.1f periods); %d server xruns allow %.0f short; %s",
		n, float64(n)/liveRate, want, diff, diff/livePeriod, server, drift, pressureSince(p0, t0))
	short := diff < -float64(slack)-drift
	if share, ok := pressureShare(p0, t0); short && ok && share >= steadyBusy {
		t.Logf("the files are %.0f samples short of the wall clock, more than %d + %.0f for %d server xruns, on a machine too busy to hold the server's clock (other tasks waited for a CPU %.0f%% of the run): not counted",
			-diff, slack, drift, server, 100*share)
		return
	}
	if diff > float64(slack) || short {
		t.Errorf("the files hold %d samples, the run lasted %.0f samples of wall clock: %+.0f apart, want within %d (%d periods), or up to %.0f more short after %d server xruns",
			n, want, diff, slack, slack/livePeriod, drift, server)
	}
}

// steadyStart reports whether the first segment of v (a recording made by
// res while sepd counted total since it started) is at the steady delay: no
// glitch before it, no xrun of sepd's own making since sepd started (their
// positions are not known), no server xrun that only sepd saw (one before
// this recording, too), and none that the client saw before the segment
// ended. Otherwise an xrun may have moved the delay before the signal came
// (seen: ring overruns at the start, and the first segment at the logged
// latency + 2240), in this recording or in an earlier one: a moved delay
// can stay moved by a period (the bridge keeps it within a period of its
// margin, see audio's relayPlayback).
func steadyStart(v jacktest.Verdict, res *jacktest.Result, total audio.XrunCounts) bool {
	return v.CleanStart() && total.Own() == 0 && total.Server() <= uint64(len(res.XrunFrames)) &&
		(len(res.XrunFrames) == 0 || res.XrunFrames[0] >= v.Segments[0].End)
}

// burstTol is the largest difference allowed between the sum of the sources
// and the input: both float32 (ports, files), so they agree to float32
// rounding of the sum (about 6e-8 near full scale); 1e-5 leaves room.
const burstTol = 1e-5

// burstExcuse is the longest glitch in a burst: a block dropped or padded
// where a server xrun hit, and the refill of the two rings it crosses (the
// bridge's and Live's, 4096 frames each by default: StreamConfig's
// RingFrames), so 2 x 4096 (see jacktest.Expect). The
// sum of the sources is sepd's input as it arrived whatever its state (the
// masks sum to one), so nothing needs to recover.
const burstExcuse = 8192

// judgeBurst checks that sum (the sum of the sources, recorded or read from
// the files) holds the burst sig that starts at sample at (findBurst), to
// burstTol, broken only where an xrun explains it (jacktest.Judge). xruns
// are the frames of sum at which the playing client saw server xruns;
// counted the xruns sepd counted beyond them (Result.Counted). end is the
// sample of sum after the burst's last one (an xrun may have moved it from
// at + len(sig)).
func judgeBurst(sum []float64, sig []float32, at int, xruns []int, counted int) (v jacktest.Verdict, end int) {
	from := max(0, at-burstExcuse)
	rec := make([]float32, min(len(sum), at+len(sig)+burstExcuse)-from)
	for i := range rec {
		rec[i] = float32(sum[from+i])
	}
	var xs []int
	for _, q := range xruns {
		xs = append(xs, q-from)
	}
	v = jacktest.Judge([][]float32{rec}, xs, jacktest.Expect{
		Want: [][][]float32{{sig}}, Tol: burstTol, MaxLag: len(rec), Slack: 4 * livePeriod,
		Excuse: burstExcuse, Counted: counted,
	})
	end = at + len(sig)
	if n := len(v.Segments); n > 0 {
		end = from + v.Segments[n-1].End
	}
	return v, end
}

// shifted returns xs + d.
func shifted(xs []int, d int) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = x + d
	}
	return out
}

// parseXruns reads an XrunCounts summary as the log writes it ("none" or
// "kind=n kind=n ...").
func parseXruns(t *testing.T, summary string) audio.XrunCounts {
	t.Helper()
	var c audio.XrunCounts
	if summary == "none" {
		return c
	}
	for _, f := range strings.Fields(summary) {
		name, n, _ := strings.Cut(f, "=")
		found := false
		for k := range c {
			if audio.XrunKind(k).String() == name {
				v, err := strconv.ParseUint(n, 10, 64)
				if err != nil {
					t.Fatalf("xrun summary %q: %v", summary, err)
				}
				c[k], found = v, true
			}
		}
		if !found {
			t.Fatalf("xrun summary %q: no kind %q", summary, name)
		}
	}
	return c
}
