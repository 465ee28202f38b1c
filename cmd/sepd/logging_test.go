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
			l, _, err := fl.logger(&b, c.Flags(), tc.cfg)
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

// TestLogControlApply: a reload's log section changes the format and the level
// of the running logger and of the loggers derived from it (With), announces the
// change in the settings it leaves, and leaves alone what a flag fixed.
func TestLogControlApply(t *testing.T) {
	var fl logFlags
	c := &cobra.Command{Use: "run"}
	addLogFlags(c.Flags(), &fl)
	if err := c.ParseFlags([]string{"--log-format", "json"}); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	l, ctl, err := fl.logger(&b, c.Flags(), config.Log{Format: "text", Level: "warn"})
	if err != nil {
		t.Fatal(err)
	}
	derived := l.With("component", "bridge")
	derived.Info("before") // dropped: warn

	var announced []string
	announce := func(s string) { announced = append(announced, s) }
	if got := ctl.Apply(config.Log{Format: "json", Level: "warn"}, announce); got != "" || announced != nil {
		t.Errorf("no change: Apply = %q, announced %q", got, announced)
	}
	// The file asks for text and debug; --log-format json stays.
	got := ctl.Apply(config.Log{Format: "text", Level: "debug"}, func(s string) {
		announce(s)
		l.Warn("announce", "change", s) // still at the old settings
	})
	if want := "log.level warn -> debug"; got != want || len(announced) != 1 || announced[0] != want {
		t.Errorf("Apply = %q, announced %q; want %q once", got, announced, want)
	}
	derived.Debug("after")
	out := b.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2 (the announcement and the debug record):\n%s", len(lines), out)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil || rec["msg"] != "after" || rec["component"] != "bridge" || rec["level"] != "DEBUG" {
		t.Errorf("the derived logger's debug record after Apply: %s (%v)", lines[1], err)
	}

	// Without flags the format follows the file too.
	b.Reset()
	var fl2 logFlags
	c2 := &cobra.Command{Use: "run"}
	addLogFlags(c2.Flags(), &fl2)
	l2, ctl2, err := fl2.logger(&b, c2.Flags(), config.Log{Format: "json", Level: "info"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ctl2.Apply(config.Log{Format: "text", Level: "info"}, func(string) {}); got != "log.format json -> text" {
		t.Errorf("Apply = %q, want the format change", got)
	}
	l2.With("k", 1).Info("text now")
	if s := b.String(); !strings.HasPrefix(s, "time=") || !strings.Contains(s, `msg="text now" k=1`) {
		t.Errorf("after the format change: %q", s)
	}
}
