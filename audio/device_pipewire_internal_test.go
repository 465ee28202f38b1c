package audio

import (
	"os"
	"testing"
)

// TestParsePWDump reads what pw-dump (PipeWire 0.3.65) printed for the
// instance scripts/pipewire starts (audio/testdata/pw-dump.json, written by
// audio/testdata/pw-dump.sh):
// WirePlumber's defaults are the nodes sepd-mic and sepd-out, whose JACK
// clients are their descriptions.
func TestParsePWDump(t *testing.T) {
	b, err := os.ReadFile("testdata/pw-dump.json")
	if err != nil {
		t.Fatal(err)
	}
	src, sink, ok := parsePWDump(b)
	if !ok || src != "sepd virtual mic" || sink != "sepd virtual speakers" {
		t.Errorf("parsePWDump = %q, %q, %v; want \"sepd virtual mic\", \"sepd virtual speakers\", true", src, sink, ok)
	}
	for _, bad := range []string{"", "{", "[]", `[{"type":"PipeWire:Interface:Metadata","props":{"metadata.name":"settings"}}]`} {
		if s, k, ok := parsePWDump([]byte(bad)); ok {
			t.Errorf("parsePWDump(%q) = %q, %q, true", bad, s, k)
		}
	}
}
