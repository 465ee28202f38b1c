package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/bad/*.golden from the current messages")

// TestBadConfigs loads every testdata/bad/NAME.yaml and compares the error
// with testdata/bad/NAME.golden, byte for byte. Run with -update to refresh
// the goldens on purpose, then review the diff.
func TestBadConfigs(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "bad", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 12 {
		t.Fatalf("found %d bad fixtures, want at least 12", len(files))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			c, err := Load(file)
			if err == nil {
				t.Fatalf("Load(%s) accepted the file: %+v", file, c)
			}
			if c != nil {
				t.Errorf("Load(%s) returned a config with its error", file)
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("Load(%s) error %T is not config.Errors: %v", file, err, err)
			}
			for _, e := range es {
				if e.File != file {
					t.Errorf("error names file %q, want %q", e.File, file)
				}
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("Load(%s) errors differ from %s\ngot:\n%s\nwant:\n%s", file, golden, got, want)
			}
		})
	}
}
