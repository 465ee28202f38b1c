package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sepd/sepd/engine"
	"github.com/sepd/sepd/plot"
	"github.com/sepd/sepd/stft"
)

func init() { extraCommands = append(extraCommands, newPlotCmd) }

func newPlotCmd() *cobra.Command {
	var fl separateFlags
	c := &cobra.Command{
		Use:   "plot [-c sepd.yaml | --bases NAME=FILE ...] -o DIR INPUT...",
		Short: "draw spectrograms, masks and activations of a separation as PNG images",
		Long: `plot runs the same separation as 'sepd separate' (same configuration and flags)
but writes no audio: it draws, into DIR (DIR/INPUT-STEM with several inputs),

  input.png              the input's spectrogram (channel 0), dBFS
  source-NAME.png        each source's spectrogram: its mask applied to channel 0,
                         on the input's colour scale so that sources compare
  mask-NAME.png          each source's mask, 0 to 1 (the masks sum to 1 in every bin)
  activations.png        every basis's activation over time, dB below the largest,
                         grouped by source

Time is in seconds, frequency in Hz up to half the sample rate; spectrogram colours
span 80 dB below the input's loudest cell. 'sepd separate --plot DIR' draws the
same pictures beside the audio.`,
		Args: argsError(cobra.MinimumNArgs(1)),
		RunE: func(c *cobra.Command, args []string) error {
			cfg, err := separateConfig(c, &fl)
			if err != nil {
				return err
			}
			if fl.out == "" {
				return usagef("plot: give the folder for the images with -o DIR")
			}
			return separateFiles(c, cfg, args, "", fl.format, fl.quiet, fl.out, fl.jobs)
		},
	}
	addSeparateFlags(c.Flags(), &fl)
	c.Flags().Lookup("out").Usage = "folder for the images (required)"
	c.Flags().MarkHidden("format") // no audio is written
	return c
}

// newPlotRecorder returns a Recorder laid out for the plan's STFT and bases,
// with 0 dBFS at the analysis window's full-scale sine.
func newPlotRecorder(plan *engine.Plan) (*plot.Recorder, error) {
	win, err := stft.Window(plan.Params.Window, plan.Params.FFTSize)
	if err != nil {
		return nil, fmt.Errorf("plot: %w", err)
	}
	var sum float64
	for _, w := range win {
		sum += w
	}
	return plot.NewRecorder(plot.Layout{
		FFTSize:    plan.Params.FFTSize,
		HopSamples: plan.Params.HopSamples,
		Sources:    plan.Bases.Names,
		BasisStart: plan.Bases.Start,
		FullScale:  sum / 2,
	})
}

// plotSession records one file's run for the plots. A nil *plotSession (no
// plot folder) does nothing, so callers need no conditions.
type plotSession struct {
	rec   *plot.Recorder
	dir   string
	input string
	imgs  []plot.Image
}

// startPlots hooks a Recorder into job (keeping any OnFrame it had) when dir
// is not empty, and returns nil otherwise: then the run has no hook at all.
func startPlots(plan *engine.Plan, dir string, job *engine.FileJob) (*plotSession, error) {
	if dir == "" {
		return nil, nil
	}
	rec, err := newPlotRecorder(plan)
	if err != nil {
		return nil, err
	}
	prev := job.OnFrame
	job.OnFrame = func(e *engine.Engine) {
		rec.Add(e.Spectrum(0), e.Masks(), e.Separator().Activations())
		if prev != nil {
			prev(e)
		}
	}
	return &plotSession{rec: rec, dir: dir, input: job.Input}, nil
}

// write draws the recorded run into the session's folder.
func (ps *plotSession) write(res engine.FileResult) error {
	if ps == nil {
		return nil
	}
	imgs, err := ps.rec.WritePNGs(ps.dir, plot.Options{
		SampleRateHz: res.RateHz, // the engine's frames: at the bases' rate
		InputSamples: res.Samples * int64(res.RateHz) / int64(res.Format.SampleRateHz),
		Title:        filepath.Base(ps.input),
	})
	ps.imgs = imgs
	return err
}
