package config

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParse checks that Parse never panics, that whatever it accepts
// passes Validate, and that Marshal writes it back into an equal Config.
// The corpus is every file under testdata/good and testdata/bad.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*", "*.yaml"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed corpus in testdata/*/*.yaml (%v)", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, false)
		f.Add(data, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, withPath bool) {
		path := ""
		if withPath {
			path = "/etc/sepd/sepd.yaml"
		}
		c, err := Parse(data, path)
		if err != nil {
			if c != nil {
				t.Fatalf("Parse returned a config with its error %v", err)
			}
			es, ok := err.(Errors)
			if !ok || len(es) == 0 || len(es) > maxErrors+1 {
				t.Fatalf("Parse error %T with %d entries: %v", err, len(es), err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that Validate rejects: %v\n%s", err, data)
		}
		out, err := c.Marshal()
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		back, err := Parse(out, path)
		if err != nil {
			t.Fatalf("Parse(Marshal()): %v\ninput:\n%s\nmarshaled:\n%s", err, data, out)
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("round trip differs\ngot  %s\nwant %s\nmarshaled:\n%s", dump(back), dump(c), out)
		}
	})
}
