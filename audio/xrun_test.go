package audio_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sepd/sepd/audio"
)

func TestXrunKindString(t *testing.T) {
	for _, tc := range []struct {
		k    audio.XrunKind
		want string
	}{
		{audio.InputOverflow, "input_overflow"},
		{audio.OutputUnderflow, "output_underflow"},
		{audio.RingOverrun, "ring_overrun"},
		{audio.RingUnderrun, "ring_underrun"},
		{audio.DeadlineMissed, "deadline_missed"},
		{audio.Reconnect, "reconnect"},
		{audio.XrunKind(audio.NumXrunKinds), "XrunKind(6)"},
	} {
		if got := tc.k.String(); got != tc.want {
			t.Errorf("%d: %q, want %q", int(tc.k), got, tc.want)
		}
	}
}

func TestXrunsConcurrent(t *testing.T) {
	var x audio.Xruns
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				x.Inc(audio.RingOverrun)
				x.Add(audio.Reconnect, 2)
				_ = x.Snapshot()
			}
		}()
	}
	wg.Wait()
	c := x.Snapshot()
	if c[audio.RingOverrun] != 4000 || c[audio.Reconnect] != 8000 || c.Total() != 12000 {
		t.Errorf("counts %v, want ring_overrun=4000 reconnect=8000", c)
	}
	if got, want := c.String(), "ring_overrun=4000 reconnect=8000"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := (audio.XrunCounts{}).String(); got != "none" {
		t.Errorf("zero String() = %q, want none", got)
	}
}

func TestXrunsNoAllocs(t *testing.T) {
	var x audio.Xruns
	allocs := testing.AllocsPerRun(100, func() {
		x.Inc(audio.InputOverflow)
		x.Add(audio.RingUnderrun, 3)
		_ = x.Load(audio.InputOverflow)
		_ = x.Snapshot().Total()
	})
	if allocs != 0 {
		t.Errorf("Inc/Add/Load/Snapshot allocate %v times per run, want 0", allocs)
	}
}

func TestXrunReporterPoll(t *testing.T) {
	var x audio.Xruns
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	x.Inc(audio.RingOverrun) // before the reporter: baseline, never logged
	r := audio.NewXrunReporter(&x, log, time.Second)
	t0 := time.Unix(1000, 0)
	for i, step := range []struct {
		add     audio.XrunKind // -1: nothing
		at      time.Duration
		logged  bool
		message string
	}{
		{-1, 0, false, ""},
		{audio.RingUnderrun, 100 * time.Millisecond, true, "ring_underrun=1 total=\"ring_overrun=1 ring_underrun=1\""},
		{audio.RingUnderrun, 500 * time.Millisecond, false, ""}, // within the interval: held back
		{-1, 1100 * time.Millisecond, true, "ring_underrun=1 total=\"ring_overrun=1 ring_underrun=2\""},
		{-1, 5 * time.Second, false, ""}, // no change, no record
		{audio.InputOverflow, 6 * time.Second, true, "input_overflow=1 total="},
	} {
		buf.Reset()
		if step.add >= 0 {
			x.Inc(step.add)
		}
		if got := r.Poll(t0.Add(step.at)); got != step.logged {
			t.Fatalf("step %d: Poll = %v, want %v", i, got, step.logged)
		}
		if step.logged && !strings.Contains(buf.String(), "level=WARN msg=\"audio xruns\" "+step.message) {
			t.Errorf("step %d: logged %q, want it to contain %q", i, buf.String(), step.message)
		}
		if !step.logged && buf.Len() > 0 {
			t.Errorf("step %d: logged %q, want nothing", i, buf.String())
		}
	}
}

func TestXrunReporterRunFlushes(t *testing.T) {
	var x audio.Xruns
	var buf bytes.Buffer
	r := audio.NewXrunReporter(&x, slog.New(slog.NewTextHandler(&buf, nil)), time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	x.Inc(audio.DeadlineMissed)
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
	if !strings.Contains(buf.String(), "deadline_missed=1") {
		t.Errorf("Run did not flush the pending count at exit: %q", buf.String())
	}
}

func ExampleXrunCounts() {
	var x audio.Xruns
	before := x.Snapshot()
	x.Inc(audio.RingUnderrun)
	x.Add(audio.InputOverflow, 2)
	fmt.Println(x.Snapshot().Sub(before))
	// Output: input_overflow=2 ring_underrun=1
}

// TestXrunReporterHint: the hint comes once, after HintAfter records in a row
// with device xruns; a record without them, or a gap of more than two
// intervals, starts the count again, and ring xruns do not count.
func TestXrunReporterHint(t *testing.T) {
	var x audio.Xruns
	var buf bytes.Buffer
	r := audio.NewXrunReporter(&x, slog.New(slog.NewTextHandler(&buf, nil)), time.Second)
	r.Hint, r.HintAfter = "raise the latency", 3
	t0 := time.Unix(1000, 0)
	for i, step := range []struct {
		add  audio.XrunKind
		at   time.Duration
		hint bool
	}{
		{audio.OutputUnderflow, 1 * time.Second, false},
		{audio.InputOverflow, 2 * time.Second, false},
		{audio.RingOverrun, 3 * time.Second, false}, // not the device's: the run starts again
		{audio.OutputUnderflow, 4 * time.Second, false},
		{audio.OutputUnderflow, 5 * time.Second, false},
		{audio.OutputUnderflow, 8 * time.Second, false}, // after a gap: starts again
		{audio.OutputUnderflow, 9 * time.Second, false},
		{audio.OutputUnderflow, 10 * time.Second, true},
		{audio.OutputUnderflow, 11 * time.Second, false}, // once
	} {
		buf.Reset()
		x.Inc(step.add)
		if !r.Poll(t0.Add(step.at)) {
			t.Fatalf("step %d: nothing logged", i)
		}
		if got := strings.Contains(buf.String(), "raise the latency"); got != step.hint {
			t.Errorf("step %d: hint logged %v, want %v: %s", i, got, step.hint, buf.String())
		}
	}
}
