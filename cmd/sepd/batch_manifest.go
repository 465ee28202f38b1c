package main

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// batchInput is one input of a batch run: the file and the folder its sources
// go to (DIR/NAME.wav).
type batchInput struct {
	In    string // input file
	Out   string // output folder; "" until resolveBatchDirs fills it
	Where string // where it was given, for messages: "manifest.txt:12" or "argument 3"
}

// loadManifest reads a manifest: one input path per line, or, for a file whose
// name ends in .csv, CSV rows "input[,output folder]" (a first row "input,..."
// is a header). Blank lines and lines starting with # are skipped. Relative
// input paths are relative to the manifest's folder; relative output folders
// are relative to outRoot, or to the manifest's folder when outRoot is "".
// Errors name the file and line.
func loadManifest(path, outRoot string) ([]batchInput, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("separate: --manifest: %w", err)
	}
	defer f.Close()
	base := filepath.Dir(path)
	rel := func(root, p string) string {
		if filepath.IsAbs(p) {
			return filepath.Clean(p)
		}
		return filepath.Join(root, p)
	}
	outBase := cmp.Or(outRoot, base)
	var ins []batchInput
	if strings.EqualFold(filepath.Ext(path), ".csv") {
		r := csv.NewReader(f)
		r.Comment = '#'
		r.FieldsPerRecord = -1
		r.TrimLeadingSpace = true
		for row := 0; ; row++ {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("separate: manifest %s: %w", path, err)
			}
			line, _ := r.FieldPos(0)
			where := path + ":" + strconv.Itoa(line)
			if row == 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "input") {
				continue
			}
			if len(rec) > 2 {
				return nil, fmt.Errorf("separate: manifest %s: %d fields, want input or input,output folder", where, len(rec))
			}
			in := strings.TrimSpace(rec[0])
			if in == "" {
				return nil, fmt.Errorf("separate: manifest %s: empty input path", where)
			}
			b := batchInput{In: rel(base, in), Where: where}
			if len(rec) == 2 {
				if o := strings.TrimSpace(rec[1]); o != "" {
					b.Out = rel(outBase, o)
				}
			}
			ins = append(ins, b)
		}
		return ins, nil
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		ins = append(ins, batchInput{In: rel(base, s), Where: path + ":" + strconv.Itoa(line)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("separate: manifest %s: %w", path, err)
	}
	return ins, nil
}

// shardSpec is one shard of a batch: Index in [0, Count).
type shardSpec struct{ Index, Count int }

func (s shardSpec) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// parseShard reads --shard I/N. With I left out ("/N"), I comes from the
// environment variable JOB_COMPLETION_INDEX, which a Kubernetes Indexed Job
// sets in every pod (getenv is os.Getenv outside tests).
func parseShard(spec string, getenv func(string) string) (shardSpec, error) {
	is, ns, ok := strings.Cut(spec, "/")
	if !ok {
		return shardSpec{}, fmt.Errorf("--shard %q: want I/N (shard I of N, from 0), or /N to take I from JOB_COMPLETION_INDEX", spec)
	}
	n, err := strconv.Atoi(ns)
	if err != nil || n < 1 {
		return shardSpec{}, fmt.Errorf("--shard %q: N must be a whole number of shards, at least 1", spec)
	}
	from := ""
	if is == "" {
		is = getenv("JOB_COMPLETION_INDEX")
		if is == "" {
			return shardSpec{}, fmt.Errorf("--shard %q: no index before the slash and JOB_COMPLETION_INDEX is not set", spec)
		}
		from = " (JOB_COMPLETION_INDEX)"
	}
	i, err := strconv.Atoi(is)
	if err != nil || i < 0 || i >= n {
		return shardSpec{}, fmt.Errorf("--shard %q: index %q%s must be a whole number from 0 to %d", spec, is, from, n-1)
	}
	return shardSpec{Index: i, Count: n}, nil
}

// shardOf is the shard that processes the input at position i of the whole
// list (manifest order, from 0) when there are n shards: i mod n. It depends
// on nothing else, so every process that reads the same list agrees, and the
// shards' sizes differ by at most one input.
func shardOf(i, n int) int { return i % n }

// shardInputs returns the inputs of all that shard sh processes, in order.
func shardInputs(all []batchInput, sh shardSpec) []batchInput {
	var mine []batchInput
	for i, b := range all {
		if shardOf(i, sh.Count) == sh.Index {
			mine = append(mine, b)
		}
	}
	return mine
}

// resolveBatchDirs gives every input without an output folder out/STEM (STEM:
// the input's name without its extension) and refuses two inputs that would
// write to the same folder, naming both. It looks at the whole list, before
// sharding, so that every shard agrees on the folders and on the error.
func resolveBatchDirs(ins []batchInput, out string) error {
	seen := map[string]batchInput{}
	for i := range ins {
		b := &ins[i]
		if b.Out == "" {
			if out == "" {
				return fmt.Errorf("separate: %s: %s has no output folder: give -o DIR (or an output column in a .csv manifest)", b.Where, b.In)
			}
			b.Out = filepath.Join(out, strings.TrimSuffix(filepath.Base(b.In), filepath.Ext(b.In)))
		}
		b.Out = filepath.Clean(b.Out)
		if prev, dup := seen[b.Out]; dup {
			return fmt.Errorf("separate: %s (%s) and %s (%s) would both write to %s; give each its own output folder (a .csv manifest has an output column)",
				prev.In, prev.Where, b.In, b.Where, b.Out)
		}
		seen[b.Out] = *b
	}
	return nil
}
