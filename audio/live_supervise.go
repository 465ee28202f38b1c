package audio

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"time"
)

// Supervision of the bridge process: watching it, bringing a new one up after
// a loss with a backoff, and shutting it down.

// Timing of the bridge's supervision.
const (
	liveReadyTimeout = 10 * time.Second       // from exec to "ready"
	liveBackoffMin   = 100 * time.Millisecond // first retry after a loss
	liveBackoffMax   = time.Second            // so a returning server is seen within about 1 s
	liveFailLogEvery = 10 * time.Second       // failed restarts are logged at most this often
	liveKillGrace    = 2 * time.Second        // SIGTERM -> SIGKILL
	liveCtlStall     = time.Second            // no control message (heartbeat every 250 ms) for this long: hung
)

// supervise watches the running child, restarts it after a loss, and shuts it
// down at Close.
func (l *Live) supervise(c *liveChild) {
	defer close(l.done)
	for {
		reason := l.watch(c)
		if reason == "" {
			l.closeErr = l.shutdown(c)
			return
		}
		lost := time.Now()
		l.goDown()
		c.stop()
		l.cfg.Log.Warn("audio devices lost; restarting the audio bridge", "reason", reason, "pid", c.cmd.Process.Pid,
			"bridge_log", c.tail.String())
		var lastLog time.Time
		attempts := 0
		for backoff := liveBackoffMin; ; backoff = min(2*backoff, liveBackoffMax) {
			select {
			case <-l.closing:
				return
			case <-time.After(backoff):
			}
			attempts++
			nc, err := l.startChild(context.Background())
			if err == nil {
				c = nc
				break
			}
			select {
			case <-l.closing:
				return
			default:
			}
			if now := time.Now(); now.Sub(lastLog) >= liveFailLogEvery {
				l.cfg.Log.Warn("audio devices still unavailable; retrying", "err", err, "attempts", attempts,
					"down_for", now.Sub(lost).Round(time.Millisecond), "retry_every", liveBackoffMax)
				lastLog = now
			}
		}
		l.goUp(c)
		l.reconnects.Add(1)
		l.cfg.Xruns.Inc(Reconnect)
		info := l.Info()
		l.cfg.Log.Info("audio devices reconnected", "down_for", time.Since(lost).Round(time.Millisecond),
			"attempts", attempts, "pid", c.cmd.Process.Pid, "latency_samples", info.LatencySamples)
	}
}

// watch returns why the child is lost, or "" at Close.
func (l *Live) watch(c *liveChild) string {
	t := time.NewTicker(min(l.stall/4, 50*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-l.closing:
			return ""
		case <-c.dead:
			select {
			case <-l.closing: // it died because of the stop (say a SIGTERM to the whole group)
				return ""
			default:
			}
			return c.deathReason()
		case now := <-t.C:
			if d := now.Sub(time.Unix(0, l.lastData.Load())); l.in != nil && d > l.stall {
				return fmt.Sprintf("no capture data for %v", d.Round(time.Millisecond))
			}
			if d := now.Sub(time.Unix(0, c.lastCtl.Load())); d > max(liveCtlStall, l.stall) {
				return fmt.Sprintf("no message from the bridge for %v", d.Round(time.Millisecond))
			}
		}
	}
}

// goUp makes c the current child: Read takes its capture, writes go to it.
func (l *Live) goUp(c *liveChild) {
	info := LiveInfo{Input: c.ready.Input, Outputs: c.ready.Outputs, JACKClientName: c.ready.Client}
	l.setLatency(&info)
	l.mu.Lock()
	l.info = info
	l.mu.Unlock()
	if l.out != nil {
		// Stale frames of the last child. The previous consumer has exited
		// (c.stop), so this goroutine may consume.
		l.out.Discard(l.out.Cap())
	}
	now := time.Now().UnixNano()
	l.lastData.Store(now)
	c.lastCtl.Store(now)
	c.tail.goLive(l.cfg.Log, c.cmd.Process.Pid)
	l.accept.Store(l.in == nil) // with capture: from its first block read, see Read
	// up before inFlush: a Read that has flushed must not see "down" and
	// pay out silence into the Read where the new capture starts.
	l.up.Store(true)
	l.inFlush.Store(l.in != nil)
	c.startRelays() // after inFlush: no block of the new child comes before it
	notify(l.stateNote)
}

// goDown starts a gap: Read pays out silence from where the capture stopped,
// writes are dropped.
func (l *Live) goDown() {
	l.lag.Store(-1)
	l.timed.Store(-1)
	l.downAt.Store(l.lastData.Load())
	l.downGen.Add(1)
	l.up.Store(false)
	notify(l.stateNote)
}

// shutdown is Close's work on the running child.
func (l *Live) shutdown(c *liveChild) error {
	l.up.Store(false)
	bound := l.frames(l.ringFrames()) + time.Second
	deadline := time.NewTimer(bound)
	defer deadline.Stop()
	if c.writerDone != nil {
		select { // the writer sends what is staged, then returns
		case <-c.writerDone:
		case <-deadline.C:
		case <-c.exited:
		}
	}
	c.stdin.Close() // EOF: the child drains its playback and exits
	var err error
	select {
	case <-c.exited:
	case <-deadline.C:
		c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(liveKillGrace):
			err = fmt.Errorf("audio: live: the audio bridge (pid %d) ignored SIGTERM for %v; killed", c.cmd.Process.Pid, liveKillGrace)
		}
	}
	c.stop()
	if err == nil && c.waitErr != nil {
		err = fmt.Errorf("audio: live: the audio bridge (pid %d) %v%s", c.cmd.Process.Pid, c.waitErr, c.tail.suffix())
	}
	return err
}

// ringFrames is the playback in flight at most: the daemon's ring and a
// device ring, which is at most as large (StartLive sizes the daemon's ring
// from the largest device ring, both rounded to a power of two).
func (l *Live) ringFrames() int {
	if l.out == nil {
		return 0
	}
	return 2 * l.out.Cap()
}

// setLatency computes info.LatencySamples from its streams.
func (l *Live) setLatency(info *LiveInfo) {
	info.LatencySamples = 0
	if info.Input != nil {
		info.LatencySamples = l.durFrames(info.Input.DeviceLatency)
	}
	out := 0
	for _, o := range info.Outputs {
		dev := l.durFrames(o.DeviceLatency)
		out = max(out, dev+marginFrames(o.PrefillFrames, l.block))
	}
	info.LatencySamples += out
}

// followPeriod takes the host period the bridge reports: when the server's
// period changed (JACK's buffer size, a PipeWire quantum), the streams'
// Period, the outputs' prefill (whole periods, see StreamConfig.FollowHost)
// and LatencySamples follow, and the change is logged. It allocates only
// when the period changes.
func (l *Live) followPeriod(p int) {
	l.mu.Lock()
	info := l.info
	was := 0
	if info.Input != nil {
		was = info.Input.Period
	} else if len(info.Outputs) > 0 {
		was = info.Outputs[0].Period
	}
	if was == p || !l.follow {
		l.mu.Unlock()
		return
	}
	if info.Input != nil {
		in := *info.Input
		in.Period = p
		info.Input = &in
	}
	info.Outputs = slices.Clone(info.Outputs)
	for i := range info.Outputs {
		info.Outputs[i].Period = p
		info.Outputs[i].PrefillFrames = min(followPrefill(l.prefill[i], p, l.block), info.Outputs[i].RingFrames)
	}
	l.setLatency(&info)
	l.info = info
	l.mu.Unlock()
	l.cfg.Log.Info("the audio server's period changed", "from_frames", was, "to_frames", p,
		"latency_samples", info.LatencySamples, "latency_ms", float64(info.LatencySamples)*1e3/float64(l.rate))
}
