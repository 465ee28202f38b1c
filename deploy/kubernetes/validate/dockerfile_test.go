package validate

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// dockerfile is deploy/Dockerfile parsed by BuildKit's own parser (the one
// `docker build` runs), with the warnings of its linter.
type dockerfile struct {
	stages   []instructions.Stage
	args     map[string]string // global ARG defaults
	warnings []string
}

func parseDockerfile(t *testing.T) *dockerfile {
	t.Helper()
	f, err := os.Open("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("deploy/Dockerfile: %v", err)
	}
	d := &dockerfile{args: map[string]string{}}
	for _, w := range res.Warnings {
		d.warnings = append(d.warnings, w.Short)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, desc, url, msg string, loc []parser.Range) {
		d.warnings = append(d.warnings, fmt.Sprintf("%s: %s (%v)", rule, msg, loc))
	}})
	stages, meta, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("deploy/Dockerfile: %v", err)
	}
	d.stages = stages
	for _, a := range meta {
		for _, kv := range a.Args {
			if kv.Value != nil {
				d.args[kv.Key] = *kv.Value
			}
		}
	}
	return d
}

// base is a stage's base image with the global ARGs substituted.
func (d *dockerfile) base(s instructions.Stage) string {
	return regexp.MustCompile(`\$\{(\w+)\}`).ReplaceAllStringFunc(s.BaseName, func(v string) string {
		return d.args[v[2:len(v)-1]]
	})
}

// runs is every RUN line of a stage, joined.
func runs(s instructions.Stage) string {
	var b strings.Builder
	for _, c := range s.Commands {
		if r, ok := c.(*instructions.RunCommand); ok {
			b.WriteString(strings.Join(r.CmdLine, " "))
			b.WriteString("\n")
		}
	}
	return b.String()
}

// dockerfileUID is the numeric uid the final stage runs as.
func dockerfileUID(t *testing.T) int64 {
	t.Helper()
	d := parseDockerfile(t)
	final := d.stages[len(d.stages)-1]
	user := ""
	for _, c := range final.Commands {
		if u, ok := c.(*instructions.UserCommand); ok {
			user = u.User
		}
	}
	uid, err := strconv.ParseInt(strings.SplitN(user, ":", 2)[0], 10, 64)
	if err != nil || uid == 0 {
		t.Fatalf("deploy/Dockerfile: the final stage's USER %q is not a numeric non-root uid (Kubernetes' runAsNonRoot needs a number)", user)
	}
	return uid
}

// TestDockerfile: deploy/Dockerfile parses without a lint warning, builds in
// one stage with the system packages scripts/dev installs to build, and runs
// in another, a Debian slim image with only PortAudio's runtime library,
// holding the binary, as a non-root user.
func TestDockerfile(t *testing.T) {
	d := parseDockerfile(t)
	for _, w := range d.warnings {
		t.Errorf("deploy/Dockerfile: %s", w)
	}
	if len(d.stages) != 2 {
		t.Fatalf("deploy/Dockerfile: %d stages, want 2 (build, run)", len(d.stages))
	}
	build, final := d.stages[0], d.stages[1]
	if !strings.HasPrefix(d.base(build), "golang:") {
		t.Errorf("build stage from %q, want golang:", d.base(build))
	}
	suite := strings.TrimPrefix(d.base(build), "golang:")
	suite = suite[strings.LastIndex(suite, "-")+1:]
	if want := "debian:" + suite + "-slim"; d.base(final) != want {
		t.Errorf("final stage from %q, want %q (the build's Debian release, so that libportaudio2 is the one linked)", d.base(final), want)
	}
	// The build needs what scripts/dev installs to build (gcc is in the golang image).
	script, err := os.ReadFile("../../../scripts/dev")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^BUILD_PKGS=\(([^)]*)\)`).FindSubmatch(script)
	if m == nil {
		t.Fatal("scripts/dev: no BUILD_PKGS line")
	}
	for _, p := range strings.Fields(string(m[1])) {
		if p != "gcc" && !strings.Contains(runs(build), " "+p) {
			t.Errorf("the build stage does not install %s (scripts/dev's BUILD_PKGS)", p)
		}
	}
	if r := runs(build); !strings.Contains(r, "go build") || !strings.Contains(r, "./cmd/sepd") || !strings.Contains(r, "-X main.version=") {
		t.Errorf("the build stage does not build ./cmd/sepd with its version:\n%s", r)
	}
	if r := runs(final); !strings.Contains(r, " libportaudio2") || strings.Contains(r, "-dev") || strings.Contains(r, "golang") {
		t.Errorf("the final stage must install libportaudio2 and no build tools:\n%s", r)
	}
	var copied, entry bool
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.CopyCommand:
			copied = copied || c.From == build.Name && slices.Contains(c.SourcePaths, "/out/sepd")
		case *instructions.EntrypointCommand:
			entry = !c.PrependShell && slices.Equal(c.CmdLine, []string{"/usr/local/bin/sepd"}) // exec form: sepd is process 1 and gets the signals
		}
	}
	if !copied || !entry {
		t.Errorf("the final stage must copy /out/sepd from %q and run it as its ENTRYPOINT (copied %v, entrypoint %v)", build.Name, copied, entry)
	}
	dockerfileUID(t)
}
