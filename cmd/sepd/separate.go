package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/config"
	"github.com/sepd/sepd/engine"
)

type separateFlags struct {
	config    string
	out       string
	bases     []string
	fftSize   int
	hop       int
	latency   int
	window    string
	beta      float64
	iters     int
	maskPower float64
	sparsity  float64
	tolerance float64
	floor     float64
	updateExp float64
	adapt     float64
	format    string
	quiet     bool
	plot      string // separate only: also draw the plots into this folder
	jobs      int    // inputs separated at once
}

func newSeparateCmd() *cobra.Command {
	var fl separateFlags
	var batch batchOptions
	c := &cobra.Command{
		Use:   "separate [-c sepd.yaml | --bases NAME=FILE ...] -o DIR (INPUT... | --manifest FILE) [--shard I/N]",
		Short: "separate audio files offline, as fast as possible",
		Long: `separate runs the streaming engine over each input file as fast as the CPU allows
and writes one WAV per source, exactly as long as the input and sample-aligned with it.
With one input, outputs go to DIR/NAME.wav; with several, to DIR/INPUT-STEM/NAME.wav.
Flags given explicitly override the configuration file.

With --manifest, --shard or --summary it is a resumable batch run (README "Scaling out"):
every input goes to DIR/INPUT-STEM/ (or the folder a .csv manifest gives), inputs
whose outputs are up to date are skipped, a failing input is recorded and the others
go on, and a JSON summary is written. Exit status 0 every input done or skipped,
1 some inputs failed, 2 bad usage or setup, 3 interrupted (run again to resume).`,
		Args: argsError(cobra.ArbitraryArgs),
		RunE: func(c *cobra.Command, args []string) error {
			cfg, err := separateConfig(c, &fl)
			if err != nil {
				return err
			}
			if batch.manifest != "" || batch.shard != "" || batch.summary != "" {
				if fl.plot != "" || c.Flags().Changed("save-free") {
					return usagef("separate: --plot and --save-free do not go with --manifest, --shard or --summary")
				}
				batch.out, batch.format, batch.quiet, batch.jobs, batch.getenv = fl.out, fl.format, fl.quiet, fl.jobs, os.Getenv
				return separateBatch(c, cfg, args, batch)
			}
			if len(args) == 0 {
				return usagef("separate: give at least one input file (or --manifest FILE)")
			}
			if fl.out == "" {
				return usagef("separate: give an output folder with -o DIR")
			}
			return separateFiles(c, cfg, args, fl.out, fl.format, fl.quiet, fl.plot, fl.jobs)
		},
	}
	addSeparateFlags(c.Flags(), &fl)
	c.Flags().StringVar(&fl.plot, "plot", "", "also draw PNG plots (spectrograms, masks, activations) into DIR")
	c.Flags().String("save-free", "", "save the free bases learned online as DIR/NAME.npy at the end (DIR/INPUT-STEM/ with several inputs)")
	c.Flags().StringVar(&batch.manifest, "manifest", "", "read the inputs from FILE: one path a line, or .csv rows INPUT[,OUTPUT-DIR]; a resumable batch run")
	c.Flags().StringVar(&batch.shard, "shard", "", "process shard I of N (I/N, from 0) of the inputs; /N takes I from JOB_COMPLETION_INDEX")
	c.Flags().StringVar(&batch.summary, "summary", "", "batch runs: write the JSON summary to FILE (- stdout; default DIR/sepd-summary[-I-of-N].json)")
	return c
}

// addSeparateFlags defines the flags of separate that `sepd plot` shares.
func addSeparateFlags(f *pflag.FlagSet, fl *separateFlags) {
	f.StringVarP(&fl.config, "config", "c", "", "YAML configuration file")
	f.StringVarP(&fl.out, "out", "o", "", "output folder (required)")
	f.StringArrayVar(&fl.bases, "bases", nil, "a source and its bases, NAME=FILE.npy or NAME=FILE.npz (repeatable)")
	f.IntVar(&fl.fftSize, "fft-size", 1024, "FFT size in samples")
	f.IntVar(&fl.hop, "hop", 0, "hop in samples (default fft-size/4)")
	f.IntVar(&fl.latency, "latency", 0, "low-delay STFT: synthesis window in samples, 2*hop..fft-size (default fft-size: the usual STFT)")
	f.StringVar(&fl.window, "window", "hann", "analysis window: hann, sqrt-hann, hamming, blackman")
	def := config.Default().Separation // the quality setting (README "Quality"); --beta 1 --adapt 0: scikit-learn's algorithm
	f.Float64Var(&fl.beta, "beta", def.Beta, "beta-divergence: 0 Itakura-Saito, 1 Kullback-Leibler (with --adapt 0: scikit-learn's algorithm), 2 Euclidean")
	f.IntVar(&fl.iters, "iterations", 10, "multiplicative updates per frame")
	f.Float64Var(&fl.maskPower, "mask-power", 2, "mask power p (1 ratio mask, 2 Wiener)")
	f.Float64Var(&fl.sparsity, "sparsity", 0, "L1 sparsity weight on the activations")
	f.Float64Var(&fl.tolerance, "tolerance", 0, "stop a frame's updates early when max |dh| <= tolerance * max h (0: always run --iterations)")
	f.Float64Var(&fl.floor, "floor", def.Floor, "warm-start floor on the activations, relative to their largest")
	f.Float64Var(&fl.updateExp, "update-exponent", def.UpdateExponent, "exponent of the activations' update ratio, in (0, 1]; 0: scikit-learn's (1/(2-beta) below beta 1)")
	f.Float64Var(&fl.adapt, "adapt", def.Adapt, "let the bases follow the mixture, pulled back to the given ones with this weight (0: fixed bases; the default is 0 with free components)")
	f.StringVar(&fl.format, "format", "float32", "output encoding: float32 or pcm16")
	f.BoolVarP(&fl.quiet, "quiet", "q", false, "no progress bar")
	f.IntVarP(&fl.jobs, "jobs", "j", runtime.NumCPU(), "inputs separated at once, one per core (one engine each); fewer inputs than N: each one's channels and stages run in parallel")
}

// separateConfig builds the configuration from -c and the flags; explicit flags win.
func separateConfig(c *cobra.Command, fl *separateFlags) (*config.Config, error) {
	var cfg *config.Config
	if fl.config != "" {
		var err error
		if cfg, err = config.Load(fl.config); err != nil {
			return nil, usageError{err}
		}
	} else {
		cfg = config.Default()
		cfg.Path = "(command line)"
		if len(fl.bases) == 0 {
			return nil, usagef("separate: give a configuration (-c sepd.yaml) or the bases (--bases NAME=FILE, once per source)")
		}
	}
	f := c.Flags()
	if len(fl.bases) > 0 {
		var srcs []config.Source
		for _, b := range fl.bases {
			name, path, ok := strings.Cut(b, "=")
			if !ok || name == "" || path == "" {
				return nil, usagef("separate: --bases %q: want NAME=FILE", b)
			}
			src := config.Source{Name: name, Bases: path}
			if strings.EqualFold(filepath.Ext(path), ".npz") {
				src.Array = name // the array of the source's name, as engine.NewPlan loads it
			}
			srcs = append(srcs, src)
		}
		cfg.ReplaceSources(srcs)
	}
	if f.Changed("fft-size") || fl.config == "" {
		cfg.STFT.FFTSize = fl.fftSize
		if !f.Changed("hop") {
			cfg.STFT.Hop = fl.fftSize / 4
		}
	}
	if f.Changed("hop") {
		cfg.STFT.Hop = fl.hop
	}
	if f.Changed("latency") {
		cfg.STFT.Latency = fl.latency
	}
	if f.Changed("window") || fl.config == "" {
		cfg.STFT.Window = fl.window
	}
	if f.Changed("beta") || fl.config == "" {
		cfg.Separation.Beta = fl.beta
	}
	if f.Changed("iterations") || fl.config == "" {
		cfg.Separation.Iterations = fl.iters
	}
	if f.Changed("mask-power") || fl.config == "" {
		cfg.Separation.MaskPower = fl.maskPower
	}
	if f.Changed("sparsity") || fl.config == "" {
		cfg.Separation.Sparsity = fl.sparsity
	}
	if f.Changed("tolerance") || fl.config == "" {
		cfg.Separation.Tolerance = fl.tolerance
	}
	if f.Changed("floor") || fl.config == "" {
		cfg.Separation.Floor = fl.floor
	}
	if f.Changed("update-exponent") || fl.config == "" {
		cfg.Separation.UpdateExponent = fl.updateExp
	}
	// Without -c the configuration is config.Default, whose adapt is
	// already the flag's default; with -c the file's (5, or 0 when a
	// source has free components) stays. Only an explicit --adapt
	// overrides it, so --adapt 0 turns adaptation off and --adapt 5 with
	// free components is an error.
	if f.Changed("adapt") {
		cfg.Separation.Adapt = fl.adapt
	}
	if err := cfg.Validate(); err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}

// separateFiles separates every input with cfg, one output folder per input when
// there are several. With out == "" it writes no audio; with plotDir != "" it
// draws the plots into plotDir (per input likewise). Up to jobs inputs run at
// once, one engine (one stream) per worker, under one progress bar for the
// whole job; the reports come in input order once all are done. The first
// error stops the inputs not yet finished, and is returned.
func separateFiles(c *cobra.Command, cfg *config.Config, inputs []string, out, format string, quiet bool, plotDir string, jobs int) error {
	enc, err := audio.ParseEncoding(format)
	if err != nil {
		return usagef("--format: %w", err)
	}
	if jobs < 1 {
		return usagef("--jobs %d: must be at least 1", jobs)
	}
	plan, err := engine.NewPlan(cfg, 1)
	if err != nil {
		return usageError{err}
	}
	stderr := c.ErrOrStderr()
	for _, r := range plan.Reports {
		fmt.Fprintln(stderr, "bases:", r)
	}
	seen := map[string]string{}
	runs := make([]*fileRun, len(inputs))
	for i, in := range inputs {
		dir, pdir := out, plotDir
		if len(inputs) > 1 {
			stem := strings.TrimSuffix(filepath.Base(in), filepath.Ext(in))
			if prev, dup := seen[stem]; dup {
				return usagef("separate: inputs %s and %s would both write to %s", prev, in, filepath.Join(cmp.Or(out, plotDir), stem))
			}
			seen[stem] = in
			dir, pdir = filepath.Join(out, stem), filepath.Join(plotDir, stem)
		}
		// With cores to spare, each input's frames are pipelined over them
		// (engine.RunParallel: per channel analysis and synthesis, and the
		// projection); the outputs are the same.
		r := &fileRun{in: in, job: engine.FileJob{Input: in, Encoding: enc, Parallel: len(inputs) < jobs}}
		for _, s := range plan.Bases.Names {
			var outs []string
			if out != "" {
				outs = []string{filepath.Join(dir, s+".wav")}
			}
			r.job.Outputs = append(r.job.Outputs, outs)
		}
		if out != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("separate: %w", err)
			}
		} else {
			dir = pdir
		}
		if plotDir == "" {
			pdir = ""
		}
		if r.plots, err = startPlots(plan, pdir, &r.job); err != nil {
			return err
		}
		if r.saver, err = startFreeSave(c, plan, len(inputs) > 1, in, &r.job); err != nil {
			return err
		}
		if pdir != "" && out != "" {
			dir += ", plots in " + pdir
		}
		r.dest = dir
		runs[i] = r
	}

	what := filepath.Base(inputs[0])
	if len(inputs) > 1 {
		what = fmt.Sprintf("%d files", len(inputs))
	}
	bar := newProgress(stderr, quiet, what)
	if bar != nil {
		var mu sync.Mutex
		done, total := make([]int64, len(runs)), make([]int64, len(runs))
		for i, r := range runs {
			r.job.Progress = func(d, t int64) {
				mu.Lock()
				defer mu.Unlock()
				done[i], total[i] = d, t
				var sd, st int64
				for j := range runs {
					sd += done[j]
					if st >= 0 && total[j] > 0 {
						st += total[j]
					} else {
						st = -1 // not every total is known yet
					}
				}
				if st > 0 {
					bar.ChangeMax64(st)
				}
				bar.Set64(sd)
			}
		}
	}

	t0 := time.Now()
	ctx, cancel := context.WithCancel(c.Context())
	defer cancel()
	next := make(chan *fileRun)
	var wg sync.WaitGroup
	for range min(jobs, len(runs)) {
		wg.Go(func() {
			for r := range next {
				t := time.Now()
				r.res, r.err = engine.SeparateFile(ctx, plan, r.job)
				r.elapsed = time.Since(t).Seconds()
				if r.err != nil {
					cancel()
				}
			}
		})
	}
	for _, r := range runs {
		next <- r
	}
	close(next)
	wg.Wait()
	el := time.Since(t0).Seconds()
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(stderr)
	}
	// The error to report: the first in input order that is not another
	// input's cancellation.
	var first error
	for _, r := range runs {
		if r.err != nil && (first == nil || errors.Is(first, context.Canceled) && !errors.Is(r.err, context.Canceled)) {
			first = r.err
		}
	}
	if first != nil {
		return first
	}
	var secs float64
	for _, r := range runs {
		if err := r.plots.write(r.res); err != nil {
			return err
		}
		if err := r.saver.write(c.OutOrStdout()); err != nil {
			return err
		}
		s := float64(r.res.Samples) / float64(r.res.Format.SampleRateHz)
		secs += s
		conv := ""
		if r.res.RateHz != r.res.Format.SampleRateHz {
			conv = fmt.Sprintf(" (separated at %d Hz, the bases' sample_rate, and converted back)", r.res.RateHz)
		}
		fmt.Fprintf(c.OutOrStdout(), "%s: %.2f s, %d ch, %d Hz%s, %d frames in %.2f s (%.0fx real time) -> %s\n",
			r.in, s, r.res.Format.Channels, r.res.Format.SampleRateHz, conv, r.res.Frames, r.elapsed, s/r.elapsed, r.dest)
	}
	if len(runs) > 1 {
		fmt.Fprintf(c.OutOrStdout(), "%d files: %.2f s of audio in %.2f s (%.0fx real time), %d at a time\n",
			len(runs), secs, el, secs/el, min(jobs, len(runs)))
	}
	return nil
}

// fileRun is one input of separateFiles: its job, what it draws and saves
// after, and what it did.
type fileRun struct {
	in, dest string // input, and where its outputs go (for the report)
	job      engine.FileJob
	plots    *plotSession
	saver    *freeSave
	res      engine.FileResult
	err      error
	elapsed  float64 // seconds
}

// newProgress returns a progress bar on a terminal, nil otherwise or when quiet.
func newProgress(w io.Writer, quiet bool, what string) *progressbar.ProgressBar {
	if quiet {
		return nil
	}
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionFullWidth(),
	)
}
