package jacktest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/sepd/sepd/audio/internal/normal"
)

// Server returns the JACK server named by SEPD_JACK, or skips the test when
// SEPD_JACK is unset; it fails the test when SEPD_JACK names a server that does
// not answer. CI (scripts/dev test) starts one with scripts/jackd and sets
// SEPD_JACK, so there every live test runs. Every package's live tests use it,
// so they all follow the same rule.
func Server(t testing.TB) string {
	t.Helper()
	name := os.Getenv("SEPD_JACK")
	if name == "" {
		t.Skip("SEPD_JACK is not set: run `scripts/jackd start NAME` and set SEPD_JACK=NAME to run the live JACK tests")
	}
	serverUp.Do(func() {
		cmd := exec.Command("jack_lsp")
		cmd.Env = append(os.Environ(), "JACK_DEFAULT_SERVER="+name, "JACK_NO_START_SERVER=1")
		if out, err := normal.CombinedOutput(cmd); err != nil {
			serverErr = fmt.Errorf("SEPD_JACK=%s, but no JACK server of that name answers (jack_lsp: %v: %s); start one with scripts/jackd start %s",
				name, err, strings.TrimSpace(string(out)), name)
		}
	})
	if serverErr != nil {
		t.Fatal(serverErr)
	}
	return name
}

var (
	serverUp  sync.Once
	serverErr error
)

// OwnServer starts a JACK server of the test's own, NAME, with script
// (scripts/jackd, given relative to the test's package), stops it when the
// test ends, and returns a function that runs `script CMD NAME` (start, stop,
// kill), failing the test on error: for tests that kill and restart a server
// without disturbing the others on the shared one.
func OwnServer(t testing.TB, script, name string) func(cmd string) {
	t.Helper()
	jackd := func(cmd string) {
		t.Helper()
		if out, err := normal.CombinedOutput(exec.Command(script, cmd, name)); err != nil {
			t.Fatalf("%s %s %s: %v\n%s", script, cmd, name, err, out)
		}
	}
	jackd("start")
	t.Cleanup(func() { normal.Run(exec.Command(script, "stop", name)) })
	return jackd
}
