package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/config"
	"github.com/sepd/sepd/engine"
)

// Batch exit statuses (README "Exit status"). 2, bad usage or setup, is
// usageError's.
const (
	exitInputsFailed = 1 // the shard ran; some inputs failed (listed in the summary)
	exitInterrupted  = 3 // SIGINT/SIGTERM stopped the shard before every input was tried
)

// batchExit is the error a batch run ends with when not every input is done:
// exitCode returns its code.
type batchExit struct {
	code int
	msg  string
}

func (e batchExit) Error() string { return e.msg }

// batchOptions are the flags of a batch run (separate --manifest/--shard).
type batchOptions struct {
	manifest string
	shard    string
	summary  string // summary file; "-" stdout; "" the default beside the outputs
	out      string
	format   string
	quiet    bool
	jobs     int
	getenv   func(string) string
}

// inputResult is what a batch run did with one input (one entry of the summary).
type inputResult struct {
	Input        string  `json:"input"`
	Output       string  `json:"output"`
	Status       string  `json:"status"` // done, skipped, failed or interrupted
	Reason       string  `json:"reason,omitempty"`
	AudioSeconds float64 `json:"audio_seconds"`
	WallSeconds  float64 `json:"wall_seconds"`
}

// Statuses of an input in the summary.
const (
	statusDone        = "done"
	statusSkipped     = "skipped"
	statusFailed      = "failed"
	statusInterrupted = "interrupted"
)

// shardSummary is the JSON summary of one shard.
type shardSummary struct {
	Shard        string  `json:"shard"` // "I/N"
	ShardIndex   int     `json:"shard_index"`
	ShardCount   int     `json:"shard_count"`
	TotalInputs  int     `json:"total_inputs"` // in the whole list, every shard's
	Inputs       int     `json:"inputs"`       // this shard's
	Done         int     `json:"done"`
	Skipped      int     `json:"skipped"`
	Failed       int     `json:"failed"`
	Interrupted  int     `json:"interrupted"` // stopped by a signal, or never started
	Version      string  `json:"sepd_version"`
	ConfigHash   string  `json:"config_hash"`
	Jobs         int     `json:"jobs"`
	Started      string  `json:"started"`
	Finished     string  `json:"finished"`
	AudioSeconds float64 `json:"audio_seconds"` // separated by this run
	// SkippedAudioSeconds is the audio of the skipped inputs, from their records.
	SkippedAudioSeconds float64        `json:"skipped_audio_seconds"`
	WallSeconds         float64        `json:"wall_seconds"`
	CPUSeconds          float64        `json:"cpu_seconds"` // user + system, the whole process
	Failures            []inputFailure `json:"failures"`
	Results             []inputResult  `json:"results"` // this shard's inputs, in list order
}

// inputFailure is a failed input and why.
type inputFailure struct {
	Input  string `json:"input"`
	Reason string `json:"reason"`
}

// separateBatch is `sepd separate --manifest FILE | --shard I/N`: it separates
// this shard's inputs (every input of the list whose position i has
// shardOf(i, N) == I), each into its own folder, skips those whose outputs and
// record are up to date, records and goes past an input that fails, and writes
// the shard's summary. It returns nil when every input is done or skipped, a
// batchExit otherwise, and a usageError when nothing could start.
func separateBatch(c *cobra.Command, cfg *config.Config, args []string, o batchOptions) error {
	t0, cpu0 := time.Now(), cpuSeconds()
	enc, err := audio.ParseEncoding(o.format)
	if err != nil {
		return usagef("--format: %w", err)
	}
	if o.jobs < 1 {
		return usagef("--jobs %d: must be at least 1", o.jobs)
	}
	sh := shardSpec{Index: 0, Count: 1}
	if o.shard != "" {
		if sh, err = parseShard(o.shard, o.getenv); err != nil {
			return usageError{fmt.Errorf("separate: %w", err)}
		}
	}
	var all []batchInput
	switch {
	case o.manifest != "" && len(args) > 0:
		return usagef("separate: give the inputs either as arguments or in --manifest, not both")
	case o.manifest != "":
		if all, err = loadManifest(o.manifest, o.out); err != nil {
			return usageError{err}
		}
	default:
		if len(args) == 0 {
			return usagef("separate: give input files or --manifest FILE")
		}
		for i, a := range args {
			all = append(all, batchInput{In: a, Where: fmt.Sprintf("argument %d", i+1)})
		}
	}
	if err := resolveBatchDirs(all, o.out); err != nil {
		return usageError{err}
	}
	mine := shardInputs(all, sh)
	summaryPath := o.summary
	if summaryPath == "" && o.out != "" {
		name := "sepd-summary.json"
		if o.shard != "" {
			name = fmt.Sprintf("sepd-summary-%d-of-%d.json", sh.Index, sh.Count)
		}
		summaryPath = filepath.Join(o.out, name)
	}
	plan, err := engine.NewPlan(cfg, 1)
	if err != nil {
		return usageError{err}
	}
	if summaryPath != "" && summaryPath != "-" {
		// A shard killed while writing its summary left the temporary file.
		if err := removeTemps(filepath.Dir(summaryPath), filepath.Base(summaryPath)); err != nil {
			return fmt.Errorf("separate: summary: %w", err)
		}
	}
	stderr := c.ErrOrStderr()
	for _, r := range plan.Reports {
		fmt.Fprintln(stderr, "bases:", r)
	}
	report := c.OutOrStdout()
	if summaryPath == "-" {
		report = stderr
	}
	hash, version := configHash(plan, enc), buildVersion()
	fmt.Fprintf(report, "shard %s: %d of %d inputs; config %s; sepd %s\n", sh, len(mine), len(all), hash[:19], version)

	results := make([]inputResult, len(mine))
	bar := newProgress(stderr, o.quiet, fmt.Sprintf("shard %s", sh))
	if bar != nil {
		bar.ChangeMax64(int64(len(mine)))
	}
	ctx := c.Context()
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex // report and bar
	for range min(o.jobs, max(len(mine), 1)) {
		wg.Go(func() {
			for i := range next {
				r := separateOne(ctx, plan, enc, mine[i], hash, version)
				results[i] = r
				mu.Lock()
				printResult(report, r)
				if bar != nil {
					bar.Add(1)
				}
				mu.Unlock()
			}
		})
	}
	for i := range mine {
		if ctx.Err() != nil {
			results[i] = inputResult{Input: mine[i].In, Output: mine[i].Out, Status: statusInterrupted, Reason: "not started: " + context.Cause(ctx).Error()}
			continue
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(stderr)
	}

	s := shardSummary{
		Shard: sh.String(), ShardIndex: sh.Index, ShardCount: sh.Count,
		TotalInputs: len(all), Inputs: len(mine), Version: version, ConfigHash: hash, Jobs: o.jobs,
		Started: t0.UTC().Format(time.RFC3339Nano), Finished: time.Now().UTC().Format(time.RFC3339Nano),
		WallSeconds: time.Since(t0).Seconds(), CPUSeconds: cpuSeconds() - cpu0,
		Failures: []inputFailure{}, Results: results,
	}
	for _, r := range results {
		switch r.Status {
		case statusDone:
			s.Done++
			s.AudioSeconds += r.AudioSeconds
		case statusSkipped:
			s.Skipped++
			s.SkippedAudioSeconds += r.AudioSeconds
		case statusFailed:
			s.Failed++
			s.Failures = append(s.Failures, inputFailure{r.Input, r.Reason})
		default:
			s.Interrupted++
		}
	}
	fmt.Fprintf(report, "shard %s: %d done, %d skipped, %d failed, %d interrupted; %.1f s of audio in %.1f s (%.1f s CPU)\n",
		sh, s.Done, s.Skipped, s.Failed, s.Interrupted, s.AudioSeconds, s.WallSeconds, s.CPUSeconds)
	if err := writeSummary(summaryPath, c.OutOrStdout(), &s); err != nil {
		return fmt.Errorf("separate: summary: %w", err)
	}
	switch {
	case s.Interrupted > 0:
		return batchExit{exitInterrupted, fmt.Sprintf("separate: shard %s interrupted: %d of %d inputs not finished (run it again to resume)", sh, s.Interrupted, s.Inputs)}
	case s.Failed > 0:
		names := make([]string, 0, 3)
		for _, f := range s.Failures[:min(3, len(s.Failures))] {
			names = append(names, f.Input)
		}
		more := ""
		if len(s.Failures) > 3 {
			more = ", ..."
		}
		return batchExit{exitInputsFailed, fmt.Sprintf("separate: shard %s: %d of %d inputs failed (%s%s)%s", sh, s.Failed, s.Inputs, strings.Join(names, ", "), more, summaryNote(summaryPath))}
	}
	return nil
}

func summaryNote(path string) string {
	if path == "" || path == "-" {
		return ""
	}
	return "; reasons in " + path
}

// separateOne separates one input of a batch unless its record says its
// outputs are up to date. It never returns an error: a failure is a result.
func separateOne(ctx context.Context, plan *engine.Plan, enc audio.Encoding, b batchInput, hash, version string) inputResult {
	t := time.Now()
	r := inputResult{Input: b.In, Output: b.Out}
	if ctx.Err() != nil {
		r.Status, r.Reason = statusInterrupted, "not started: "+context.Cause(ctx).Error()
		return r
	}
	fail := func(err error) inputResult {
		r.WallSeconds = time.Since(t).Seconds()
		r.Status, r.Reason = statusFailed, err.Error()
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			r.Status, r.Reason = statusInterrupted, context.Cause(ctx).Error()
		}
		return r
	}
	st, err := os.Stat(b.In)
	if err != nil {
		return fail(engine.InputError(err))
	}
	if !st.Mode().IsRegular() {
		return fail(fmt.Errorf("%s: not a regular file", b.In))
	}
	outputs := make([]string, plan.Bases.NumSources())
	job := engine.FileJob{Input: b.In, Encoding: enc}
	for s, name := range plan.Bases.Names {
		outputs[s] = filepath.Join(b.Out, name+".wav")
		job.Outputs = append(job.Outputs, []string{outputs[s]})
	}
	if rec, _ := upToDate(b.Out, b.In, st, hash, version, outputs); rec != nil {
		r.Status, r.AudioSeconds = statusSkipped, rec.AudioSeconds
		r.WallSeconds = time.Since(t).Seconds()
		return r
	}
	if err := os.MkdirAll(b.Out, 0o755); err != nil {
		return fail(err)
	}
	if err := removeStale(b.Out, outputs); err != nil {
		return fail(err)
	}
	res, err := engine.SeparateFile(ctx, plan, job)
	if err != nil {
		return fail(err)
	}
	rec := runRecord{
		Input: b.In, InputSize: st.Size(), InputMtimeNs: st.ModTime().UnixNano(),
		ConfigHash: hash, Version: version,
		AudioSeconds: float64(res.Samples) / float64(res.Format.SampleRateHz),
		SampleRateHz: res.Format.SampleRateHz, Channels: res.Format.Channels,
	}
	for _, o := range outputs {
		ost, err := os.Stat(o)
		if err != nil {
			return fail(err)
		}
		rec.Outputs = append(rec.Outputs, outputRecord{File: filepath.Base(o), Size: ost.Size(), MtimeNs: ost.ModTime().UnixNano()})
	}
	rec.FinishedUnixNs = time.Now().UnixNano()
	if err := writeRecord(b.Out, &rec); err != nil {
		return fail(err)
	}
	r.Status, r.AudioSeconds = statusDone, rec.AudioSeconds
	r.WallSeconds = time.Since(t).Seconds()
	return r
}

func printResult(w io.Writer, r inputResult) {
	switch r.Status {
	case statusDone:
		fmt.Fprintf(w, "done %s: %.2f s of audio in %.2f s (%.0fx real time) -> %s\n", r.Input, r.AudioSeconds, r.WallSeconds, r.AudioSeconds/max(r.WallSeconds, 1e-9), r.Output)
	case statusSkipped:
		fmt.Fprintf(w, "skipped %s: up to date in %s\n", r.Input, r.Output)
	case statusFailed:
		fmt.Fprintf(w, "FAILED %s: %s\n", r.Input, r.Reason)
	default:
		fmt.Fprintf(w, "interrupted %s: %s\n", r.Input, r.Reason)
	}
}

// writeSummary writes s as JSON to path (atomically), to stdout for "-", or
// nowhere for "".
func writeSummary(path string, stdout io.Writer, s *shardSummary) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	switch path {
	case "":
		return nil
	case "-":
		_, err := stdout.Write(data)
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return writeAtomic(path, data)
}
