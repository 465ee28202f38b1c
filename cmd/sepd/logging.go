package main

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/pflag"

	"github.com/sepd/sepd/config"
)

// Logging: one *slog.Logger, built here from log.format and log.level (the
// flags --log-format and --log-level win when given) and passed down to
// whatever logs. Nothing uses slog's default logger, and the real-time loop
// never logs: it counts, and the metrics show the counts.

// logLevels are the values config accepts for log.level (config/check.go).
var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
}

// newLogger returns a logger writing to w in format "text" (logfmt-like
// key=value lines) or "json" (one object a line), dropping records below level
// ("debug", "info", "warn" or "error"). Values are matched exactly, as in the
// configuration file. The error names the bad value and the accepted ones.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	lv, ok := logLevels[level]
	if !ok {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}

// logFlags are the values of --log-format and --log-level.
type logFlags struct{ format, level string }

// addLogFlags defines --log-format and --log-level on f. Their defaults are
// empty so that only flags given on the command line override the file.
func addLogFlags(f *pflag.FlagSet, fl *logFlags) {
	f.StringVar(&fl.format, "log-format", "", "log format, text or json (overrides log.format; default text)")
	f.StringVar(&fl.level, "log-level", "", "least level logged: debug, info, warn or error (overrides log.level; default info)")
}

// logger returns the logger for a command whose flags are f: cfg's log.format
// and log.level, each replaced by its flag when that was given. A bad value is
// a usage error (exit 2) naming the flag, or the key when it came from the
// file (config.Load has already refused those, but a Config built in code has
// not been checked).
func (fl *logFlags) logger(w io.Writer, f *pflag.FlagSet, cfg config.Log) (*slog.Logger, error) {
	format, formatFrom := cfg.Format, "log.format"
	if f.Changed("log-format") {
		format, formatFrom = fl.format, "--log-format"
	}
	level, levelFrom := cfg.Level, "log.level"
	if f.Changed("log-level") {
		level, levelFrom = fl.level, "--log-level"
	}
	if _, ok := logLevels[level]; !ok {
		_, err := newLogger(w, "text", level)
		return nil, usagef("%s: %w", levelFrom, err)
	}
	l, err := newLogger(w, format, level)
	if err != nil {
		return nil, usagef("%s: %w", formatFrom, err)
	}
	return l, nil
}
