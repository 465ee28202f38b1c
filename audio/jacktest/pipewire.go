package jacktest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sepd/sepd/audio/internal/normal"
)

// A PipeWire graph cycle in which the driver woke or finished late, or a
// follower node had not finished by the next cycle (or finished after a
// quantum), is PipeWire's xrun: the nodes late in it lose or repeat a
// quantum, as every client does at a JACK server's xrun. PipeWire 0.3.65
// says so to no client: its libjack calls no xrun callback for it (the
// helper's callbacks carry no xrun flag) and its ALSA plugin reports an xrun
// only when the application, not the graph, was late. Its profiler
// (module-profiler, which the packaged pipewire.conf loads) reports every
// cycle of every driver, with the times; WatchPipeWire records them, and a
// test places the late ones in its recording (Graph.Frames) and hands them to
// Judge as server xruns.
//
// Measured beside two busy loops on this project's 2-core virtual machines
// (2026-12-07, quantum 256): the ALSA plugin's loopback lost a quantum on
// the way in and gained one on the way out 6 to 47 times in 5 s, with no xrun
// reported to sepd, and the server logged "client too slow!" for the
// plugin's streams at those times. pw-profiler (package pipewire-bin) did
// not see them: it logs only the first driver it hears from, which was the
// Dummy-Driver of the bridge's idle JACK client, not the virtual device that
// drove the loopback; hence cmd/pw-cycles.

// Cycle is one late graph cycle.
type Cycle struct {
	// Nanos is when the driver signalled the cycle (CLOCK_MONOTONIC).
	Nanos int64
	// Driver is the driving node's name; Nodes every node of the cycle,
	// the driver first; Late those that were late.
	Driver      string
	Nodes, Late []string
}

// Graph is what WatchPipeWire saw: the late cycles, in order, and how many
// cycles it saw in all.
type Graph struct {
	Late   []Cycle
	Cycles int
}

// Frames returns the frames of r's recording at which the late cycles of the
// graph that node was in hit (r.FrameAt: within the helper's wake-up delay
// after the cycle began), for Judge's xruns; cycles outside the helper's run
// are left out. It allocates.
func (g Graph) Frames(r *Result, node string) []int {
	var f []int
	for _, c := range g.Late {
		if !slices.Contains(c.Nodes, node) {
			continue
		}
		if k, ok := r.FrameAt(c.Nanos); ok {
			f = append(f, k)
		}
	}
	return f
}

// Before counts the late cycles of the graph that node was in that came
// before r's first callback (with Config.LeadIn, during the lead-in): they
// hit no frame of the recording, but may have moved the lag it starts at.
// It does not allocate.
func (g Graph) Before(r *Result, node string) int {
	n := 0
	for _, c := range g.Late {
		if slices.Contains(c.Nodes, node) && (len(r.clockNanos) == 0 || c.Nanos < r.clockNanos[0]) {
			n++
		}
	}
	return n
}

// cyclesPkg is cmd/pw-cycles' import path; it is built with -tags pipewire.
const cyclesPkg = "github.com/sepd/sepd/audio/jacktest/cmd/pw-cycles"

var cyclesBuild struct {
	sync.Mutex
	path string
}

// cyclesBinary builds cmd/pw-cycles once per process (it needs libpipewire's
// headers, package libpipewire-0.3-dev).
func cyclesBinary() (string, error) {
	cyclesBuild.Lock()
	defer cyclesBuild.Unlock()
	if cyclesBuild.path != "" {
		return cyclesBuild.path, nil
	}
	dir, err := os.MkdirTemp("", "jacktest-pw-cycles-")
	if err != nil {
		return "", fmt.Errorf("jacktest: %w", err)
	}
	path := filepath.Join(dir, "pw-cycles")
	out, err := normal.CombinedOutput(exec.Command("go", "build", "-tags", "pipewire", "-o", path, cyclesPkg))
	if err != nil {
		return "", fmt.Errorf("jacktest: go build -tags pipewire %s (needs package libpipewire-0.3-dev): %w\n%s", cyclesPkg, err, out)
	}
	cyclesBuild.path = path
	return path, nil
}

// WatchPipeWire records the graph cycles of the PipeWire server the
// environment names (cmd/pw-cycles) from now until the returned stop is
// called, which returns the late ones. It allocates.
func WatchPipeWire() (stop func() (Graph, error), err error) {
	bin, err := cyclesBinary()
	if err != nil {
		return nil, err
	}
	var out, errb bytes.Buffer
	cmd := exec.Command(bin)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("jacktest: %s: %w", bin, err)
	}
	// It is attached once it says so (it binds the profiler first).
	for i := 0; i < 200 && !strings.Contains(errb.String(), "attached"); i++ {
		time.Sleep(5 * time.Millisecond)
	}
	return func() (Graph, error) {
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
		if !strings.Contains(errb.String(), "attached") {
			return Graph{}, fmt.Errorf("jacktest: pw-cycles never attached to PipeWire's profiler: %s", errb.String())
		}
		return lateCycles(out.String()), nil
	}, nil
}

// lateCycles reads cmd/pw-cycles' lines (see there): a cycle is late when
// its driver woke more than 1.3 quanta after its previous wake-up or
// finished more than 1.3 quanta after waking (pw-profiler's own marks,
// src/tools/pw-profiler.c, dump_point), or when a follower that was
// triggered had not finished (status 3) or finished more than a quantum
// after the driver's signal: its output for the cycle is not in the
// graph's (seen: a 256-frame glitch in the ALSA plugin's loopback beside a
// busy process, with no late driver). A line cut short is skipped.
func lateCycles(log string) Graph {
	var g Graph
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) < 10 || (len(f)-10)%6 != 0 {
			continue
		}
		var n [8]int64
		bad := false
		for i, k := range []int{2, 3, 4, 5, 6, 7, 8, 9} {
			v, err := strconv.ParseInt(f[k], 10, 64)
			bad = bad || err != nil
			n[i] = v
		}
		duration, rate, prev, signal, finish := n[1], n[2], n[3], n[4], n[6]
		if bad || duration <= 0 || rate <= 0 {
			continue
		}
		g.Cycles++
		period := float64(duration) * 1e9 / float64(rate)
		c := Cycle{Nanos: signal, Driver: f[1], Nodes: []string{f[1]}}
		if float64(signal-prev) > 1.3*period || float64(finish-signal) > 1.3*period {
			c.Late = append(c.Late, f[1])
		}
		for i := 10; i+6 <= len(f); i += 6 {
			name := f[i+1]
			c.Nodes = append(c.Nodes, name)
			fin, err1 := strconv.ParseInt(f[i+4], 10, 64)
			status, err2 := strconv.Atoi(f[i+5])
			if err1 != nil || err2 != nil || status == 0 {
				continue // not triggered in this cycle
			}
			if status != 3 || float64(fin-signal) > period {
				c.Late = append(c.Late, name)
			}
		}
		if len(c.Late) > 0 {
			g.Late = append(g.Late, c)
		}
	}
	return g
}
