package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/sepd/sepd/config"
)

// logAll logs one record at each level and returns what came out.
func logAll(t *testing.T, format, level string) string {
	t.Helper()
	var b bytes.Buffer
	l, err := newLogger(&b, format, level)
	if err != nil {
		t.Fatal(err)
	}
	l.Debug("d", "k", 1)
	l.Info("i", "k", 2)
	l.Warn("w", "k", 3)
	l.Error("e", "k", 4)
	return b.String()
}

// TestNewLogger: each format writes its own shape, and each level drops the
// records below it.
func TestNewLogger(t *testing.T) {
	for _, tc := range []struct {
		level string
		want  []string // messages that pass
	}{
		{"debug", []string{"d", "i", "w", "e"}},
		{"info", []string{"i", "w", "e"}},
		{"warn", []string{"w", "e"}},
		{"error", []string{"e"}},
	} {
		for _, format := range []string{"text", "json"} {
			t.Run(format+"/"+tc.level, func(t *testing.T) {
				out := logAll(t, format, tc.level)
				lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
				if len(lines) != len(tc.want) {
					t.Fatalf("%d records, want %d:\n%s", len(lines), len(tc.want), out)
				}
				for i, line := range lines {
					var msg string
					if format == "json" {
						var rec map[string]any
						if err := json.Unmarshal([]byte(line), &rec); err != nil {
							t.Fatalf("line %q is not JSON: %v", line, err)
						}
						msg, _ = rec["msg"].(string)
						if _, ok := rec["time"]; !ok || rec["level"] == nil || rec["k"] == nil {
							t.Errorf("JSON record %q lacks time, level or k", line)
						}
					} else {
						if !strings.HasPrefix(line, "time=") || !strings.Contains(line, " level=") || !strings.Contains(line, " k=") {
							t.Errorf("text record %q is not key=value", line)
						}
						_, rest, _ := strings.Cut(line, " msg=")
						msg, _, _ = strings.Cut(rest, " ")
					}
					if msg != tc.want[i] {
						t.Errorf("record %d: msg %q, want %q", i, msg, tc.want[i])
					}
				}
			})
		}
	}
}

func TestNewLoggerBad(t *testing.T) {
	for _, tc := range []struct {
		format, level string
		want          string
	}{
		{"xml", "info", `log format "xml": want text or json`},
		{"JSON", "info", `log format "JSON"`}, // exact, as in the file
		{"", "info", `log format ""`},
		{"text", "verbose", `log level "verbose": want debug, info, warn or error`},
		{"text", "INFO", `log level "INFO"`},
		{"json", "", `log level ""`},
	} {
		l, err := newLogger(&bytes.Buffer{}, tc.format, tc.level)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("newLogger(%q, %q) = %v, %v; want an error with %q", tc.format, tc.level, l, err, tc.want)
		}
	}
}

// TestLogFlagsOverride: a flag given on the command line wins over the file,
// one left out does not, and a bad flag is a usage error (exit 2) naming it.
func TestLogFlagsOverride(t *testing.T) {
	fromFile := config.Log{Format: "json", Level: "warn"}
	for _, tc := range []struct {
		name      string
		args      []string
		cfg       config.Log
		json      bool   // the output is JSON
		debug     bool   // debug records pass
		info      bool   // info records pass
		wantError string // "" for none
	}{
		{"file only", nil, fromFile, true, false, false, ""},
		{"level flag", []string{"--log-level", "debug"}, fromFile, true, true, true, ""},
		{"format flag", []string{"--log-format=text"}, fromFile, false, false, false, ""},
		{"both flags", []string{"--log-format=text", "--log-level=info"}, fromFile, false, false, true, ""},
		{"defaults", nil, config.Default().Log, false, false, true, ""},
		{"bad level flag", []string{"--log-level", "loud"}, fromFile, false, false, false, `--log-level: log level "loud"`},
		{"bad format flag", []string{"--log-format", "yaml"}, fromFile, false, false, false, `--log-format: log format "yaml"`},
		{"bad level in an unchecked config", nil, config.Log{Format: "text", Level: "trace"}, false, false, false, `log.level: log level "trace"`},
		{"flag repairs the file", []string{"--log-level", "info"}, config.Log{Format: "text", Level: "trace"}, false, false, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fl logFlags
			c := &cobra.Command{Use: "run"}
			addLogFlags(c.Flags(), &fl)
			if err := c.ParseFlags(tc.args); err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			l, err := fl.logger(&b, c.Flags(), tc.cfg)
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("err = %v, want one with %q", err, tc.wantError)
				}
				if exitCode(err) != 2 {
					t.Errorf("exit code %d for %v, want 2", exitCode(err), err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			l.Debug("d")
			l.Info("i")
			l.Warn("w")
			out := b.String()
			if got := strings.HasPrefix(out, "{"); got != tc.json {
				t.Errorf("JSON = %v, want %v:\n%s", got, tc.json, out)
			}
			for _, c := range []struct {
				msg  string
				want bool
			}{{"d", tc.debug}, {"i", tc.info}, {"w", true}} {
				got := strings.Contains(out, `msg=`+c.msg+"\n") || strings.Contains(out, `"msg":"`+c.msg+`"`)
				if got != c.want {
					t.Errorf("record %q logged = %v, want %v:\n%s", c.msg, got, c.want, out)
				}
			}
		})
	}
}
