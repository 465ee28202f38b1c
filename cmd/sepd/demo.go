package main

import (
	"embed"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/config"
	"github.com/sepd/sepd/engine"
	"github.com/sepd/sepd/eval"
	"github.com/sepd/sepd/internal/atomicfile"
)

// demoFS holds the demo: a mixture, its clean sources and bases learned by
// scikit-learn on separate training material (testdata/gen/make_demo.sh makes them).
//
//go:embed demo/mix.wav demo/voice.wav demo/noise.wav demo/bases.npz
var demoFS embed.FS

// demoSources are the demo's sources, in the order of the bases in bases.npz.
var demoSources = []string{"voice", "noise"}

func newDemoCmd() *cobra.Command {
	var out string
	var quiet bool
	c := &cobra.Command{
		Use:   "demo",
		Short: "separate the embedded demo recording and report the quality",
		Long: `demo separates an embedded 16 kHz mixture of speech and a noise bed with bases
learned by scikit-learn, writes the input, the clean sources and sepd's output into
the output folder, and prints per source the SDR (BSS Eval v3) of the mixture and of
sepd's output against the clean source.`,
		Args: argsError(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error { return runDemo(c, out, quiet) },
	}
	c.Flags().StringVarP(&out, "out", "o", "sepd-demo", "output folder")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	return c
}

// demoConfig is the configuration the demo runs: the README's quick start,
// with the default separation (the quality setting: beta 0.5, update
// exponent 1, adapt 5).
func demoConfig(basesPath string) *config.Config {
	cfg := config.Default()
	cfg.Path = "(demo)"
	cfg.SampleRateHz = 16000
	cfg.STFT.FFTSize, cfg.STFT.Hop, cfg.STFT.Window = 1024, 256, "hann"
	cfg.Separation.Iterations = 10
	cfg.Separation.MaskPower = 2
	for _, s := range demoSources {
		cfg.Sources = append(cfg.Sources, config.Source{Name: s, Bases: basesPath})
	}
	return cfg
}

// DemoScore is one row of the demo's table.
type DemoScore struct {
	Source              string
	MixSDR, OutSDR      float64
	OutSIR, OutSAR      float64
	ImprovementSDRdB    float64
	OutputPath, RefPath string
}

func runDemo(c *cobra.Command, out string, quiet bool) error {
	stdout := c.OutOrStdout()
	scores, secs, el, err := demo(c, out, quiet)
	if err != nil {
		return err
	}
	sp := demoConfig("").Separation
	fmt.Fprintf(stdout, "separated %.1f s of audio in %.2f s (%.0fx real time): fft 1024, hop 256, beta %v, update exponent %v, adapt %v, %d warm-started iterations per frame, Wiener masks\n\n",
		secs, el, secs/el, sp.Beta, sp.UpdateExponent, sp.Adapt, sp.Iterations)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "source\tmixture SDR (dB)\tsepd SDR (dB)\timprovement (dB)\tsepd SIR (dB)\tsepd SAR (dB)\toutput\t")
	for _, s := range scores {
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%+.2f\t%.2f\t%.2f\t%s\t\n", s.Source, s.MixSDR, s.OutSDR, s.ImprovementSDRdB, s.OutSIR, s.OutSAR, s.OutputPath)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\nlisten: %s (input), %s/clean/*.wav (truth), %s/*.wav (sepd)\n", filepath.Join(out, "mix.wav"), out, out)
	fmt.Fprintf(stdout, "look:   %s/plots/*.png (spectrograms, masks, activations)\n", out)
	return nil
}

// demo does the work of `sepd demo` and returns the scores.
func demo(c *cobra.Command, out string, quiet bool) ([]DemoScore, float64, float64, error) {
	if err := os.MkdirAll(filepath.Join(out, "clean"), 0o755); err != nil {
		return nil, 0, 0, fmt.Errorf("demo: %w", err)
	}
	tmp, err := os.MkdirTemp("", "sepd-demo-")
	if err != nil {
		return nil, 0, 0, fmt.Errorf("demo: %w", err)
	}
	defer os.RemoveAll(tmp)
	basesPath := filepath.Join(tmp, "bases.npz")
	if err := copyEmbedded("demo/bases.npz", basesPath); err != nil {
		return nil, 0, 0, err
	}
	mixPath := filepath.Join(out, "mix.wav")
	if err := copyEmbedded("demo/mix.wav", mixPath); err != nil {
		return nil, 0, 0, err
	}
	refPaths := map[string]string{}
	for _, s := range demoSources {
		refPaths[s] = filepath.Join(out, "clean", s+".wav")
		if err := copyEmbedded("demo/"+s+".wav", refPaths[s]); err != nil {
			return nil, 0, 0, err
		}
	}
	plan, err := engine.NewPlan(demoConfig(basesPath), 1)
	if err != nil {
		return nil, 0, 0, err
	}
	job := engine.FileJob{Input: mixPath, Encoding: audio.Float32}
	for _, s := range plan.Bases.Names {
		job.Outputs = append(job.Outputs, []string{filepath.Join(out, s+".wav")})
	}
	bar := newProgress(c.ErrOrStderr(), quiet, "demo")
	if bar != nil {
		job.Progress = func(done, total int64) { bar.ChangeMax64(total); bar.Set64(done) }
	}
	// The plots are recorded from the same frames (one pass over the mixture).
	plots, err := startPlots(plan, filepath.Join(out, "plots"), &job)
	if err != nil {
		return nil, 0, 0, err
	}
	t0 := time.Now()
	res, err := engine.SeparateFile(c.Context(), plan, job)
	el := time.Since(t0).Seconds()
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(c.ErrOrStderr())
	}
	if err != nil {
		return nil, 0, 0, err
	}
	if err := plots.write(res); err != nil {
		return nil, 0, 0, err
	}
	mix, _, err := audio.ReadAll(mixPath)
	if err != nil {
		return nil, 0, 0, err
	}
	var refs, ests, mixes [][]float64
	for s, name := range plan.Bases.Names {
		r, _, err := audio.ReadAll(refPaths[name])
		if err != nil {
			return nil, 0, 0, err
		}
		e, _, err := audio.ReadAll(job.Outputs[s][0])
		if err != nil {
			return nil, 0, 0, err
		}
		refs, ests, mixes = append(refs, r[0]), append(ests, e[0]), append(mixes, mix[0])
	}
	outRes, err := eval.BSSEvalSources(refs, ests, false)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("demo: %w", err)
	}
	mixRes, err := eval.BSSEvalSources(refs, mixes, false)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("demo: %w", err)
	}
	var scores []DemoScore
	for s, name := range plan.Bases.Names {
		scores = append(scores, DemoScore{
			Source: name, MixSDR: mixRes.SDR[s], OutSDR: outRes.SDR[s],
			OutSIR: outRes.SIR[s], OutSAR: outRes.SAR[s],
			ImprovementSDRdB: outRes.SDR[s] - mixRes.SDR[s],
			OutputPath:       job.Outputs[s][0], RefPath: refPaths[name],
		})
	}
	return scores, float64(res.Samples) / float64(res.Format.SampleRateHz), el, nil
}

// copyEmbedded writes an embedded file to dst through a temporary name.
func copyEmbedded(name, dst string) error {
	src, err := demoFS.Open(name)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer src.Close()
	if err := atomicfile.Write(dst, func(w io.Writer) error { _, err := io.Copy(w, src); return err }); err != nil {
		return fmt.Errorf("demo: writing %s: %w", dst, err)
	}
	return nil
}
