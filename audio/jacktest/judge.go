package jacktest

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// A JACK server that misses a cycle (an xrun: the dummy backend on a busy or
// an idle virtual machine does, several times a minute) drops or repeats a
// period of every client's audio, and a program under test that is fed late
// because of it may drop or pad a block of its own. A recording that spans
// such an xrun is therefore not the signal at one constant lag, whatever the
// program does. Throwing such recordings away and trying again fails on a
// machine that xruns in every attempt (measured: 3-11 per 6 s attempt on
// fresh idle 2-core virtual machines), so Judge keeps them: it walks the
// recording segment by segment and excuses a break between two segments only
// where the JACK server reported an xrun (Result.XrunFrames) or the program
// counted one of its own (Expect.Counted). Every other sample must match, so
// a sample that the program loses or corrupts on its own, silently, still
// fails the test.

// Expect says what a recording must hold, for Judge.
type Expect struct {
	// Want[k][c] is candidate k of what recorded channel c must hold, indexed
	// by the frame of the signal. Between two glitches the recording holds
	// one candidate at one constant lag: Recording[c][lag+i] == Want[k][c][i]
	// to within Tol. Several candidates serve a program whose output depends
	// on where the signal falls in its blocks (one candidate per phase); all
	// must have the same channels and lengths.
	Want [][][]float32
	// Tol is the largest difference allowed per sample; 0 means bit-exact.
	Tol float64
	// MaxLag is the largest lag searched for the first segment, and the
	// largest change of lag at a glitch.
	MaxLag int
	// Slack widens the window of recording frames in which a server xrun
	// excuses the start of a glitch: from the xrun's frame less Slack to the
	// xrun's frame plus the lag plus Slack (plus Recover) (an xrun shows at once in what
	// the program plays, and one lag later when it hit what it captured).
	// PortAudio reports an xrun at the client's next callback after the
	// server's notification, so a few periods are the usual slack.
	Slack int
	// Excuse is the longest glitch, in recording frames from the first frame
	// that differs to the first frame that matches again. It bounds what an
	// xrun may spoil: the dropped or padded block, the ring's refill, and
	// for a stateful program the frames until its state has recovered.
	Excuse int
	// Recover widens that window after the xrun's reach (its frame plus the
	// lag plus Slack) by this many frames: a stateful program (an STFT, a
	// warm-started solver) may still play frames that differ, on and off,
	// while its state recovers, and the glitches that start there are the
	// same xrun's. 0 for a program that only moves samples.
	Recover int
	// Counted is how many xruns with no server xrun near them the program's
	// own counters explain: the ring over- and underruns and missed
	// deadlines it counted while the signal flowed (their positions are not
	// known to the client, their number is). As a server xrun's reach does,
	// one counted xrun covers the glitches that start within Slack + Recover
	// frames of the first of them: a stateful program plays a few stretches
	// that differ while it recovers from one xrun (seen at hop 64 on a
	// starved machine: two to four within 1206 frames).
	Counted int
	// Run is how many consecutive frames must match to start a segment;
	// 0 means 32. Frames whose channel sum is below Floor in magnitude do
	// not start one (silence matches at any lag).
	Run int
	// Floor: see Run; 0 means 1e-3.
	Floor float64
}

// Segment is a stretch of the recording that matches: recording frames
// [Start, End) hold Want[Candidate] at Lag.
type Segment struct {
	Start, End, Lag, Candidate int
}

// Glitch is a break between two segments: recording frames [At, At+Frames)
// match nothing (Frames is -1 when nothing matched again). Xrun is the
// recording frame of the server xrun that excuses it, -1 if none does.
type Glitch struct {
	At, Frames, Xrun int
}

// Verdict is Judge's finding.
type Verdict struct {
	Segments []Segment
	Glitches []Glitch
	// Matched counts the frames of Want that the recording holds (within
	// Tol); Excused the recording frames inside glitches.
	Matched, Excused int
	// Problems says what is wrong; empty when the recording passes.
	Problems []string
}

// OK reports whether the recording passed.
func (v Verdict) OK() bool { return len(v.Problems) == 0 }

// Lag is the first segment's lag, -1 without segments.
func (v Verdict) Lag() int {
	if len(v.Segments) == 0 {
		return -1
	}
	return v.Segments[0].Lag
}

// CleanStart reports whether the first segment starts the recording of the
// signal: no glitch comes before it. Then its lag is the steady one (unless
// an xrun before the signal moved it, which the client cannot see).
func (v Verdict) CleanStart() bool {
	return len(v.Segments) > 0 && (len(v.Glitches) == 0 || v.Glitches[0].At >= v.Segments[0].End)
}

// String summarises the verdict in one line. It allocates.
func (v Verdict) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d segment(s), %d frames matched", len(v.Segments), v.Matched)
	if len(v.Segments) > 0 {
		fmt.Fprintf(&b, ", lags")
		for _, s := range v.Segments {
			fmt.Fprintf(&b, " %d", s.Lag)
		}
	}
	if len(v.Glitches) > 0 {
		fmt.Fprintf(&b, "; %d glitch(es) (%d frames):", len(v.Glitches), v.Excused)
		for _, g := range v.Glitches {
			fmt.Fprintf(&b, " at %d for %d", g.At, g.Frames)
			if g.Xrun >= 0 {
				fmt.Fprintf(&b, " (server xrun at %d)", g.Xrun)
			} else {
				b.WriteString(" (no server xrun near)")
			}
		}
	}
	if len(v.Problems) > 0 {
		fmt.Fprintf(&b, "; PROBLEMS: %s", strings.Join(v.Problems, "; "))
	}
	return b.String()
}

// Judge checks a recording against what it must hold, excusing the glitches
// that xruns explain (see Expect). xruns are the recording frames at which
// the server reported an xrun (Result.XrunFrames). It allocates.
func Judge(rec [][]float32, xruns []int, e Expect) Verdict {
	var v Verdict
	if len(e.Want) == 0 || len(rec) == 0 || len(e.Want[0]) != len(rec) {
		v.Problems = append(v.Problems, fmt.Sprintf("jacktest: %d recorded channels, %d candidates", len(rec), len(e.Want)))
		return v
	}
	if e.Run <= 0 {
		e.Run = 32
	}
	if e.Floor <= 0 {
		e.Floor = 1e-3
	}
	j := newJudge(rec, e)
	n := len(e.Want[0][0])
	k, lag, r, ok := j.sync(0, len(j.rsum), 0, 0, e.MaxLag)
	if !ok {
		v.Problems = append(v.Problems, fmt.Sprintf("the recording never holds the expected output at a lag up to %d", e.MaxLag))
		return v
	}
	// The first frame of the candidate found that can start a segment (the
	// candidates may begin with different silences).
	first := 0
	for first < n && math.Abs(j.wsum[k][first]) < e.Floor {
		first++
	}
	i := r - lag
	if i > first {
		// The signal's start is missing: a glitch before the first segment.
		v.Glitches = append(v.Glitches, Glitch{At: lag + first, Frames: i - first, Xrun: excuse(xruns, lag+first, lag, e.Slack, e.Recover)})
		v.Excused += i - first
	}
	for {
		start := i
		for i < n && lag+i < len(j.rsum) && j.match(k, lag, i) {
			i++
		}
		v.Segments = append(v.Segments, Segment{Start: lag + start, End: lag + i, Lag: lag, Candidate: k})
		v.Matched += i - start
		if i >= n || lag+i >= len(j.rsum) {
			break
		}
		at := lag + i
		g := Glitch{At: at, Frames: -1, Xrun: excuse(xruns, at, lag, e.Slack, e.Recover)}
		span := e.Excuse // the longest this glitch may be
		if g.Xrun >= 0 {
			span = stormSpan(xruns, at, lag, e)
		}
		k2, lag2, r2, ok := j.sync(at, at+span+1, i, lag-e.MaxLag, lag+e.MaxLag)
		if !ok && (g.Xrun >= 0 && n-i <= span || e.Counted > 0 && n-i <= e.Excuse) {
			// An xrun near the end: what it spoiled runs to the end of the
			// signal, and nothing is left to match again. A server xrun
			// excuses it, or one the program counted (a bare glitch, which
			// the check below holds to Counted as every other).
			g.Frames = min(n-i, len(j.rsum)-at)
			v.Glitches = append(v.Glitches, g)
			v.Excused += g.Frames
			break
		}
		if !ok {
			if j.silentFrom(i) {
				// Nothing left to compare: the expected output is silent from
				// here on, and the recording is not (a different tail).
				v.Problems = append(v.Problems, fmt.Sprintf("the recording is not silent where the expected output is, from frame %d", at))
			} else {
				v.Problems = append(v.Problems, fmt.Sprintf("the recording differs from frame %d on and matches again nowhere in the %d frames after it", at, span))
			}
			v.Glitches = append(v.Glitches, g)
			break
		}
		g.Frames = r2 - at
		v.Glitches = append(v.Glitches, g)
		v.Excused += g.Frames
		k, lag, i = k2, lag2, r2-lag2
	}
	var bare []string
	events, from := 0, 0 // the bare glitches' xruns; the first glitch of the last
	for _, g := range v.Glitches {
		if g.Xrun < 0 {
			bare = append(bare, fmt.Sprint(g.At))
			if events == 0 || g.At > from+e.Slack+e.Recover {
				events, from = events+1, g.At
			}
		}
	}
	if events > e.Counted {
		v.Problems = append(v.Problems, fmt.Sprintf("%d glitch(es) with no server xrun near (at recording frames %s), %d xrun(s) apart, and %d xrun(s) counted by the program: samples lost or corrupted",
			len(bare), strings.Join(bare, ", "), events, e.Counted))
	}
	return v
}

// stormSpan returns how long a glitch that a server xrun excuses and that
// starts at recording frame at (the lag then being lag) may last: Excuse,
// and while further server xruns come before the program has recovered from
// the last (a storm: seen at -p 64 on a starved virtual machine, an xrun
// every 400 frames for seconds), up to Excuse after the last one's reach
// (its frame plus the lag, Slack and Recover, as in excuse; an xrun before
// the glitch may still reach past it, through what it did to the capture,
// which plays a lag later). Only server
// xruns, whose frames the client knows, prolong a glitch: a sample the
// program loses on its own far from them still fails.
func stormSpan(xruns []int, at, lag int, e Expect) int {
	end := at + e.Excuse
	for moved := true; moved; {
		moved = false
		for _, x := range xruns {
			if x-e.Slack <= end {
				if r := x + lag + e.Slack + e.Recover + e.Excuse; r > end {
					end, moved = r, true
				}
			}
		}
	}
	return end - at
}

// excuse returns the server xrun (a recording frame) that excuses a glitch
// starting at recording frame at when the lag was lag, or -1.
func excuse(xruns []int, at, lag, slack, recover int) int {
	for _, x := range xruns {
		if at >= x-slack && at <= x+lag+slack+recover {
			return x
		}
	}
	return -1
}

type judge struct {
	rec  [][]float32
	e    Expect
	tol  float64
	rsum []float64   // the recording's channel sums
	wsum [][]float64 // per candidate, Want's channel sums
	idx  [][]int     // per candidate, frames of Want sorted by wsum
}

func newJudge(rec [][]float32, e Expect) *judge {
	j := &judge{rec: rec, e: e, tol: e.Tol * float64(len(rec))}
	j.rsum = make([]float64, len(rec[0]))
	for _, ch := range rec {
		for r, x := range ch {
			j.rsum[r] += float64(x)
		}
	}
	for _, w := range e.Want {
		s := make([]float64, len(w[0]))
		for _, ch := range w {
			for i, x := range ch {
				s[i] += float64(x)
			}
		}
		idx := make([]int, len(s))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool { return s[idx[a]] < s[idx[b]] })
		j.wsum = append(j.wsum, s)
		j.idx = append(j.idx, idx)
	}
	return j
}

// match reports whether recording frame lag+i holds frame i of candidate k.
func (j *judge) match(k, lag, i int) bool {
	for c, ch := range j.rec {
		if math.Abs(float64(ch[lag+i])-float64(j.e.Want[k][c][i])) > j.e.Tol {
			return false
		}
	}
	return true
}

// sync finds the first recording frame r in [from, to) at which a run of
// frames matches some candidate k at a lag in [lagLo, lagHi], from a frame
// of Want at or after iFrom. Only frames above Floor anchor a run.
func (j *judge) sync(from, to, iFrom, lagLo, lagHi int) (k, lag, r int, ok bool) {
	to = min(to, len(j.rsum))
	for r = max(from, 0); r < to; r++ {
		x := j.rsum[r]
		if math.Abs(x) < j.e.Floor {
			continue
		}
		for k = range j.wsum {
			s, idx := j.wsum[k], j.idx[k]
			lo := sort.Search(len(idx), func(a int) bool { return s[idx[a]] >= x-j.tol })
			for a := lo; a < len(idx) && s[idx[a]] <= x+j.tol; a++ {
				i := idx[a]
				lag = r - i
				if i < iFrom || lag < lagLo || lag > lagHi || !j.run(k, lag, i) {
					continue
				}
				return k, lag, r, true
			}
		}
	}
	return 0, 0, 0, false
}

// run reports whether Run frames from frame i of candidate k match at lag.
func (j *judge) run(k, lag, i int) bool {
	if i+j.e.Run > len(j.wsum[k]) || lag+i+j.e.Run > len(j.rsum) {
		return false
	}
	for m := range j.e.Run {
		if !j.match(k, lag, i+m) {
			return false
		}
	}
	return true
}

// silentFrom reports whether every candidate is below Floor from frame i on.
func (j *judge) silentFrom(i int) bool {
	for _, s := range j.wsum {
		for _, x := range s[min(i, len(s)):] {
			if math.Abs(x) >= j.e.Floor {
				return false
			}
		}
	}
	return true
}

// Counted returns Expect.Counted for a program that counted own xruns of its
// own making (ring over- and underruns, missed deadlines) and server xruns
// (the overflow and underflow flags of its own JACK client's callbacks:
// through PortAudio both flags for each server xrun, so count the larger)
// while the signal flowed. The server xruns that the helper saw too are
// excused by their position; only the others (JACK tells a late client
// alone) are added.
func (r *Result) Counted(own, server uint64) int {
	return int(own) + max(0, int(server)-len(r.XrunFrames))
}
