package config

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is one problem in a configuration, with where to fix it.
type Error struct {
	// File is the path as given to Load or Parse; "" when there is none
	// (Parse(data, "")) or for a configuration built in code and checked
	// with Validate.
	File string
	// Line is the 1-based line in File; 0 when unknown (Validate).
	Line int
	// Key is the key path, e.g. "stft.fft_size" or
	// "sources[1].output.file"; "" for a problem with the whole file (a
	// syntax error, an empty file).
	Key string
	// Msg says what is wrong, with the offending value.
	Msg string
}

// Error formats e as "config: FILE:LINE: KEY: message", leaving out the
// parts that are unknown. It allocates.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	switch {
	case e.File != "" && e.Line > 0:
		b.WriteString(e.File + ":" + strconv.Itoa(e.Line) + ": ")
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		b.WriteString("line " + strconv.Itoa(e.Line) + ": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one configuration, sorted by line. Parse,
// Load and Validate return it (never empty) as their error; use errors.As to
// get it, or errors.As with an **Error to get the first one.
type Errors []*Error

// Error joins the errors' messages, one a line. It allocates.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the errors one by one, for errors.Is and errors.As. It
// allocates.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

const (
	// maxErrors is how many errors a report shows; the rest are counted.
	maxErrors = 20
	// maxCollected bounds the errors collected before sorting, so that a
	// hostile file cannot make Parse build millions of them.
	maxCollected = 1000
)

// pos is where a key was written.
type pos struct {
	line int
	null bool // written without a value (or null): treated as absent
	bad  bool // had a type error: checks that would cascade from it are skipped
	// unknown marks a mapping with unknown (likely misspelt) keys: checks
	// for its missing keys are skipped.
	unknown bool
}

// positions maps key paths to where they were written in the file.
type positions struct {
	keys map[string]pos
	// outputs[i][j] is the key path of source i's output j: "sources[i].output"
	// when the file has a single mapping, "sources[i].output[j]" for a list.
	outputs [][]string
}

func newPositions() *positions { return &positions{keys: map[string]pos{}} }

// report collects the errors of one configuration. pos is nil for a
// configuration built in code (Validate): every key then counts as set and
// no line is known.
type report struct {
	file    string
	pos     *positions
	errs    Errors
	dropped int
}

// line returns the line of key, or of its nearest written parent, or 0.
func (r *report) line(key string) int {
	if r.pos == nil {
		return 0
	}
	for {
		if p, ok := r.pos.keys[key]; ok {
			return p.line
		}
		if key == "" {
			return 0
		}
		key = parentKey(key)
	}
}

// set reports whether key was written in the file with a value.
func (r *report) set(key string) bool {
	if r.pos == nil {
		return true
	}
	p, ok := r.pos.keys[key]
	return ok && !p.null
}

// bad reports whether any of keys had a type error.
func (r *report) bad(keys ...string) bool {
	if r.pos == nil {
		return false
	}
	for _, k := range keys {
		if r.pos.keys[k].bad {
			return true
		}
	}
	return false
}

// incomplete reports whether the mapping at key had unknown keys, so that
// a key reported missing is probably just misspelt.
func (r *report) incomplete(key string) bool {
	return r.pos != nil && r.pos.keys[key].unknown
}

// where names another key in a message: "key (line N)".
func (r *report) where(key string) string {
	if l := r.line(key); l > 0 {
		return fmt.Sprintf("%s (line %d)", key, l)
	}
	return key
}

// at names another key inside parentheses: "key, line N".
func (r *report) at(key string) string {
	if l := r.line(key); l > 0 {
		return fmt.Sprintf("%s, line %d", key, l)
	}
	return key
}

// outputKey returns the key path of source i's output j.
func (r *report) outputKey(i, j int) string {
	if r.pos != nil && i < len(r.pos.outputs) && j < len(r.pos.outputs[i]) {
		return r.pos.outputs[i][j]
	}
	return fmt.Sprintf("sources[%d].output[%d]", i, j)
}

// add reports a problem with key, at the line where key was written.
func (r *report) add(key, format string, args ...any) {
	r.addLine(r.line(key), key, format, args...)
}

// addLine reports a problem at an explicit line.
func (r *report) addLine(line int, key, format string, args ...any) {
	if len(r.errs) >= maxCollected {
		r.dropped++
		return
	}
	r.errs = append(r.errs, &Error{File: r.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// err returns the collected errors sorted by line and capped, or nil.
func (r *report) err() error {
	if len(r.errs) == 0 {
		return nil
	}
	es := slices.Clone(r.errs)
	slices.SortStableFunc(es, func(a, b *Error) int { return a.Line - b.Line })
	if n := len(es) + r.dropped - maxErrors; n > 0 {
		es = append(es[:maxErrors:maxErrors], &Error{File: r.file, Msg: fmt.Sprintf("too many errors (%d more not shown)", n)})
	}
	return es
}

// parentKey strips the last element of a key path: "a.b[2]" -> "a.b",
// "a.b" -> "a", "a" -> "".
func parentKey(key string) string {
	if strings.HasSuffix(key, "]") {
		if i := strings.LastIndexByte(key, '['); i >= 0 {
			return key[:i]
		}
	}
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		return key[:i]
	}
	return ""
}

// checkText finds the first byte sequence YAML cannot read: invalid UTF-8 or
// a control character. yaml's own messages for these carry no line.
func checkText(data []byte) (line int, msg string) {
	line = 1
	for i := 0; i < len(data); {
		c, size := utf8.DecodeRune(data[i:])
		switch {
		case c == utf8.RuneError && size <= 1:
			return line, "file is not valid UTF-8 text"
		case c == '\n':
			line++
		case !printable(c) && !(i == 0 && c == '\uFEFF'):
			return line, fmt.Sprintf("character %U is not allowed in YAML", c)
		}
		i += size
	}
	return 0, ""
}

// printable is YAML 1.2's c-printable set.
func printable(c rune) bool {
	return c == '\t' || c == '\n' || c == '\r' ||
		(c >= 0x20 && c <= 0x7E) || c == 0x85 ||
		(c >= 0xA0 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) ||
		(c >= 0x10000 && c <= 0x10FFFF)
}

var (
	yamlLineRE   = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	yamlAnchorRE = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)
)

// parserProblems are the messages of yaml's parser (as opposed to its
// scanner). yaml prints the parser's lines counted from 0 and the scanner's
// counted from 1.
var parserProblems = []string{
	"did not find expected <stream-start>",
	"did not find expected <document start>",
	"found undefined tag handle",
	"did not find expected node content",
	"did not find expected '-' indicator",
	"did not find expected key",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found duplicate %TAG directive",
}

// syntaxError turns one of yaml's parse errors into a line and a message.
// yaml leaves the line out when it is the first one.
func syntaxError(err error, data []byte) (int, string) {
	s := err.Error()
	if m := yamlAnchorRE.FindStringSubmatch(s); m != nil {
		return anchorLine(data, m[1]), fmt.Sprintf("alias *%s refers to no anchor &%s defined before it", m[1], m[1])
	}
	line, msg := 1, strings.TrimPrefix(s, "yaml: ")
	if m := yamlLineRE.FindStringSubmatch(s); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if slices.Contains(parserProblems, msg) {
			line++
		}
	}
	if strings.Contains(msg, "tab character") {
		line = tabLine(data, line)
	}
	return line, "YAML syntax error: " + msg
}

// anchorLine returns the line of the first alias *name in data, or 0.
func anchorLine(data []byte, name string) int {
	re, err := regexp.Compile(`\*` + regexp.QuoteMeta(name) + `(?:[\s,\]}]|$)`)
	if err != nil {
		return 0
	}
	loc := re.FindIndex(data)
	if loc == nil {
		return 0
	}
	return 1 + strings.Count(string(data[:loc[0]]), "\n")
}

// tabLine returns the first line from line on whose indentation holds a
// tab; yaml reports such errors at the line before.
func tabLine(data []byte, line int) int {
	for i, l := range strings.Split(string(data), "\n") {
		if i+1 < line {
			continue
		}
		indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if strings.Contains(indent, "\t") {
			return i + 1
		}
	}
	return line
}
