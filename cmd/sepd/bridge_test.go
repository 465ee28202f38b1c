package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestBridgeHidden: `sepd audio-bridge` is for sepd run only: not in the help,
// and run by hand without its spec it says so and exits 2 (before it touches
// file descriptor 3).
func TestBridgeHidden(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"help"}, &out, &errb); code != 0 {
		t.Fatalf("sepd help: exit %d: %s", code, errb.String())
	}
	if strings.Contains(out.String(), "audio-bridge") {
		t.Errorf("sepd help lists audio-bridge:\n%s", out.String())
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"audio-bridge"}, "--spec is required; sepd run starts this command itself"},
		{[]string{"audio-bridge", "extra"}, "unknown command"},
	} {
		out.Reset()
		errb.Reset()
		if code := run(tc.args, &out, &errb); code != 2 {
			t.Errorf("sepd %v: exit %d, want 2; stderr: %s", tc.args, code, errb.String())
		}
		if !strings.Contains(errb.String(), tc.want) {
			t.Errorf("sepd %v: stderr %q, want %q in it", tc.args, errb.String(), tc.want)
		}
		if out.Len() != 0 {
			t.Errorf("sepd %v wrote to stdout (the capture pipe): %q", tc.args, out.String())
		}
	}
}
