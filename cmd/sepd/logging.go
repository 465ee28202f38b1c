package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"

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

// parseLevel reads a log level as the configuration file writes it.
func parseLevel(level string) (slog.Level, error) {
	lv, ok := logLevels[level]
	if !ok {
		return 0, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	return lv, nil
}

// newLogger returns a logger writing to w in format "text" (logfmt-like
// key=value lines) or "json" (one object a line), dropping records below level
// ("debug", "info", "warn" or "error"). Values are matched exactly, as in the
// configuration file. The error names the bad value and the accepted ones.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	l, _, err := newLogControl(w, format, level)
	return l, err
}

// logControl changes the format and level of a running logger (a reload):
// every logger derived from it (With, WithGroup) follows.
type logControl struct {
	w      io.Writer
	level  slog.LevelVar
	base   atomic.Pointer[slog.Handler]
	format string
	// Set when the flag was given: a reload then leaves it as it is.
	fixedFormat, fixedLevel bool
}

func newLogControl(w io.Writer, format, level string) (*slog.Logger, *logControl, error) {
	c := &logControl{w: w}
	if err := c.set(format, level); err != nil {
		return nil, nil, err
	}
	return slog.New(switchHandler{c: c}), c, nil
}

// set checks and applies a format and a level.
func (c *logControl) set(format, level string) error {
	lv, err := parseLevel(level)
	if err != nil {
		return err
	}
	opts := &slog.HandlerOptions{Level: &c.level}
	var h slog.Handler
	switch format {
	case "text":
		h = slog.NewTextHandler(c.w, opts)
	case "json":
		h = slog.NewJSONHandler(c.w, opts)
	default:
		return fmt.Errorf("log format %q: want text or json", format)
	}
	c.level.Set(lv)
	if format != c.format {
		c.base.Store(&h)
		c.format = format
	}
	return nil
}

// Apply takes a reloaded file's log section, but for what a flag fixed. When
// something changes it first calls announce with what, e.g. "log.level info ->
// debug" (so that the record is written with the settings it leaves), then
// applies it. It returns what changed, "" for nothing.
func (c *logControl) Apply(cfg config.Log, announce func(change string)) string {
	format, level := c.format, c.level.Level()
	if !c.fixedFormat {
		format = cfg.Format
	}
	newLevel := level
	if !c.fixedLevel {
		if lv, ok := logLevels[cfg.Level]; ok {
			newLevel = lv
		}
	}
	var changes []string
	if format != c.format {
		changes = append(changes, fmt.Sprintf("log.format %s -> %s", c.format, format))
	}
	if newLevel != level {
		changes = append(changes, fmt.Sprintf("log.level %s -> %s", strings.ToLower(level.String()), strings.ToLower(newLevel.String())))
	}
	if len(changes) == 0 {
		return ""
	}
	change := strings.Join(changes, ", ")
	announce(change)
	if err := c.set(format, strings.ToLower(newLevel.String())); err != nil {
		return "" // config.Load has checked both values
	}
	return change
}

// switchHandler is a slog.Handler over logControl's current handler, with the
// attributes and groups of With and WithGroup replayed on it for each record
// (logging is off the real-time path; this allocates).
type switchHandler struct {
	c   *logControl
	ops []func(slog.Handler) slog.Handler
}

func (h switchHandler) current() slog.Handler {
	b := *h.c.base.Load()
	for _, op := range h.ops {
		b = op(b)
	}
	return b
}

func (h switchHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.c.level.Level()
}

func (h switchHandler) Handle(ctx context.Context, r slog.Record) error {
	return h.current().Handle(ctx, r)
}

func (h switchHandler) with(op func(slog.Handler) slog.Handler) switchHandler {
	return switchHandler{c: h.c, ops: append(slices.Clip(h.ops), op)}
}

func (h switchHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return h.with(func(b slog.Handler) slog.Handler { return b.WithAttrs(attrs) })
}

func (h switchHandler) WithGroup(name string) slog.Handler {
	return h.with(func(b slog.Handler) slog.Handler { return b.WithGroup(name) })
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
// not been checked). The logControl lets a reload change what the flags left
// to the file.
func (fl *logFlags) logger(w io.Writer, f *pflag.FlagSet, cfg config.Log) (*slog.Logger, *logControl, error) {
	format, formatFrom := cfg.Format, "log.format"
	if f.Changed("log-format") {
		format, formatFrom = fl.format, "--log-format"
	}
	level, levelFrom := cfg.Level, "log.level"
	if f.Changed("log-level") {
		level, levelFrom = fl.level, "--log-level"
	}
	if _, err := parseLevel(level); err != nil {
		return nil, nil, usagef("%s: %w", levelFrom, err)
	}
	l, c, err := newLogControl(w, format, level)
	if err != nil {
		return nil, nil, usagef("%s: %w", formatFrom, err)
	}
	c.fixedFormat, c.fixedLevel = f.Changed("log-format"), f.Changed("log-level")
	return l, c, nil
}
