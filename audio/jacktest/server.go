package jacktest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
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
		if out, err := cmd.CombinedOutput(); err != nil {
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
