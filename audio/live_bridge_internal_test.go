package audio

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
)

// TestXrunsMsg: the bridge's hand-written "xruns" line is what
// encoding/json makes of the same bridgeMsg, and sending it allocates
// nothing (it is sent every 250 ms for as long as the bridge runs).
func TestXrunsMsg(t *testing.T) {
	counts := XrunCounts{1, 0, 1 << 40, 3, 0, 7}
	for _, tc := range []struct {
		lag    int64
		hasLag bool
	}{
		{0, false}, {1024, true}, {-3, true}, {0, true},
	} {
		m := bridgeMsg{Type: "xruns", Xruns: &counts}
		if tc.hasLag {
			m.Lag = &tc.lag
		}
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, '\n')
		var got bytes.Buffer
		c := &ctlWriter{w: &got}
		if err := c.sendXruns(counts, tc.lag, tc.hasLag); err != nil {
			t.Fatal(err)
		}
		if got.String() != string(want) {
			t.Errorf("lag %d (%v): sent %q, encoding/json makes %q", tc.lag, tc.hasLag, got.String(), want)
		}
		var back bridgeMsg
		if err := json.Unmarshal(got.Bytes(), &back); err != nil || back.Type != "xruns" || *back.Xruns != counts {
			t.Errorf("the line %q reads back as %+v, %v", got.String(), back, err)
		}
	}
	c := &ctlWriter{w: io.Discard, buf: make([]byte, 0, 256)}
	if n := testing.AllocsPerRun(100, func() { c.sendXruns(counts, 512, true) }); n != 0 {
		t.Errorf("sendXruns: %v allocations per line, want 0", n)
	}
}
