package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/config"
	"github.com/sepd/sepd/engine"
	"github.com/sepd/sepd/internal/atomicfile"
	"github.com/sepd/sepd/separate"
	"github.com/sepd/sepd/stft"
)

func init() { extraCommands = append(extraCommands, newLearnReconCmd) }

// reconShifts are the circular shifts of the 2nd..Nth source, as fractions
// of the common length, of the training mixtures of learn-recon: one
// mixture per shift (as the prototype's fitmix, testdata/evalset/candidates.py).
var reconShifts = []float64{0, 1.0 / 3, 2.0 / 3}

// learnReconFlags are learn-recon's own flags; the projection's are
// separate's.
type learnReconFlags struct {
	sources []string // NAME=PATH, repeatable
	reconFit
}

// reconFit is how the reconstruction bases are fitted, learn-recon's and
// learn's --recon-iterations and --recon-target.
type reconFit struct {
	iterations int
	target     string // targetPhase or targetMagnitude
}

// addFlags defines rf's flags on f.
func (rf *reconFit) addFlags(f *pflag.FlagSet) {
	f.IntVar(&rf.iterations, "recon-iterations", separate.DefaultReconIterations, "multiplicative updates of the reconstruction bases")
	f.StringVar(&rf.target, "recon-target", targetPhase, "what each source's masked mixture is fitted to: phase (its phase-sensitive magnitude, the error of the complex spectrum) or magnitude (its own magnitude)")
}

// check returns a usage error, prefixed with cmd, for a bad value.
func (rf *reconFit) check(cmd string) error {
	switch {
	case rf.iterations < 1:
		return usagef("%s: --recon-iterations %d: must be at least 1", cmd, rf.iterations)
	case rf.target != targetPhase && rf.target != targetMagnitude:
		return usagef("%s: --recon-target %q: want %s or %s", cmd, rf.target, targetPhase, targetMagnitude)
	}
	return nil
}

func newLearnReconCmd() *cobra.Command {
	var fl separateFlags
	var rf learnReconFlags
	c := &cobra.Command{
		Use:   "learn-recon [-c sepd.yaml | --bases NAME=FILE ...] --source NAME=PATH ... -o DIR",
		Short: "learn reconstruction bases for the masks from example recordings of every source",
		Long: `learn-recon learns reconstruction bases W' (README "Quality"): the masks then use
W'_s h_s instead of W_s h_s, while the activations h still come from the bases W.
It needs example recordings of every source of the configuration (WAV or FLAC
files, or folders of them, searched recursively and concatenated; all sources with
the same channel count and sample rate); those the bases were learned from will do
(on sepd's evaluation set they did).

It trims the sources' examples to a common length, scales every source to the
first one's RMS (0 dB), and mixes them three times, the 2nd..Nth sources circularly
shifted by 0, 1/3 and 2/3 of the length; it runs sepd's streaming projection over
those mixtures with the configuration's settings (bases, STFT, beta, update
exponent, iterations, floor, adapt...: the same Separator as 'sepd separate'), and
fits W' (starting from W) by multiplicative updates so that the masked mixture
matches each source in squared error (separate.LearnRecon). --recon-target phase,
the default, measures that error on the complex spectra, which the output's error
is made of: the fit target is each source's phase-sensitive magnitude |S| cos(angle
S - angle X) (Erdogan et al. 2015); --recon-target magnitude fits each source's own
magnitude |S| instead, as sepd did before (README "Quality" has both figures).
W' is learned for these settings: learn it again after changing them.

It writes DIR/NAME.recon.npy per source (F x K float32, as the bases) and
DIR/sepd.yaml: the configuration with every flag given here applied and a recon: key
per source (paths under DIR relative to it), which 'sepd separate -c DIR/sepd.yaml'
and 'sepd run' use as is. DIR may hold the configuration read with -c: it is
updated. Files are written under temporary names and renamed at the end.

  sepd learn -o model/ --source voice=fit/voice/ --source noise=fit/noise.wav
  sepd learn-recon -c model/sepd.yaml \
      --source voice=fit/voice/ --source noise=fit/noise.wav -o model/`,
		Args: argsError(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error { return runLearnRecon(c, &fl, &rf) },
	}
	addSeparateFlags(c.Flags(), &fl)
	f := c.Flags()
	f.Lookup("out").Usage = "output folder for the reconstruction bases and sepd.yaml (required)"
	f.MarkHidden("format") // no audio is written
	f.MarkHidden("jobs")
	f.StringArrayVar(&rf.sources, "source", nil, "a source and its examples, NAME=FILE or NAME=FOLDER (repeatable; every source of the configuration needs one)")
	rf.addFlags(f)
	return c
}

func runLearnRecon(c *cobra.Command, fl *separateFlags, rf *learnReconFlags) error {
	if fl.out == "" {
		return usagef("learn-recon: give an output folder with -o DIR")
	}
	if err := rf.check("learn-recon"); err != nil {
		return err
	}
	cfg, err := separateConfig(c, fl)
	if err != nil {
		return err
	}
	paths := map[string][]string{}
	for _, s := range rf.sources {
		name, path, ok := strings.Cut(s, "=")
		if !ok || name == "" || path == "" {
			return usagef("learn-recon: --source %q: want NAME=PATH (a file or a folder)", s)
		}
		if !slices.ContainsFunc(cfg.Sources, func(src config.Source) bool { return src.Name == name }) {
			return usagef("learn-recon: --source %s: the configuration has no source %q", s, name)
		}
		paths[name] = append(paths[name], path)
	}
	for _, src := range cfg.Sources {
		switch {
		case src.FreeComponents > 0:
			return usagef("learn-recon: source %q has free_components: reconstruction bases are for fixed bases only", src.Name)
		case len(paths[src.Name]) == 0:
			return usagef("learn-recon: source %q: give its examples with --source %s=PATH", src.Name, src.Name)
		}
	}
	// The bases as given, without any reconstruction bases the
	// configuration names: W' is learned from W.
	plan, err := engine.NewPlan(cfg, 1)
	if err != nil {
		return usageError{fmt.Errorf("learn-recon: %w", err)}
	}
	b := *plan.Bases
	b.Recon = nil
	ctx := c.Context()
	stdout, stderr := c.OutOrStdout(), c.ErrOrStderr()
	sigs := make([][][]float64, len(cfg.Sources)) // source, channel, sample
	rate := 0
	for i, src := range cfg.Sources {
		x, r, err := readExamples("learn-recon", src.Name, paths[src.Name], 0)
		if err != nil {
			return err
		}
		switch {
		case rate == 0:
			rate = r
		case r != rate:
			return usagef("learn-recon: source %q: its examples are at %d Hz, source %q's at %d Hz", src.Name, r, cfg.Sources[0].Name, rate)
		}
		if len(x) != len(sigs[0]) && i > 0 {
			return usagef("learn-recon: source %q: %d channels, source %q has %d", src.Name, len(x), cfg.Sources[0].Name, len(sigs[0]))
		}
		sigs[i] = x
	}
	if want := plan.Config.SampleRateHz; want != 0 && want != rate {
		return usagef("learn-recon: the examples are at %d Hz, the configuration's sample_rate is %d", rate, want)
	}
	wr, before, after, err := fitRecon(ctx, "learn-recon", cfg, &b, plan.Params.Separation, sigs, rate, rf.reconFit, fl.quiet, stdout, stderr)
	if err != nil {
		return err
	}
	return writeRecon(ctx, stdout, cfg, &b, wr, fl.out, rf.reconFit, before, after)
}

// fitRecon learns the reconstruction bases of b (whose own Recon is nil)
// for the separation sp from the sources' examples sigs (source, channel,
// sample, at rate Hz; the same channel count for all): the training
// mixtures of reconMixtures, the streaming projection over them, and rf's
// multiplicative updates toward rf's targets (reconSpectra,
// separate.LearnRecon), with a progress bar unless quiet and a summary on
// stdout. cmd prefixes its messages.
func fitRecon(ctx context.Context, cmd string, cfg *config.Config, b *separate.Bases, sp separate.Params, sigs [][][]float64, rate int, rf reconFit, quiet bool, stdout, stderr io.Writer) (wr *mat.Dense, before, after float64, err error) {
	win, err := stft.ParseWindow(cfg.STFT.Window)
	if err != nil {
		return nil, 0, 0, usageError{fmt.Errorf("%s: %w", cmd, err)}
	}
	t0 := time.Now()
	mix, srcs, err := reconMixtures(cmd, cfg, sigs)
	if err != nil {
		return nil, 0, 0, err
	}
	V, S := reconSpectra(mix, srcs, cfg.STFT.FFTSize, cfg.STFT.Hop, win, rf.target == targetPhase)
	d := separate.ReconData{V: V, S: S}
	if d.H, err = separate.Project(ctx, b, sp, V); err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", cmd, err)
	}
	_, frames := V.Dims()
	seconds := float64(len(mix[0])) / float64(rate)
	fmt.Fprintf(stdout, "recon: %d mixtures of %.2f s (%d frames), projected in %.2f s\n", len(reconShifts), seconds/float64(len(reconShifts)), frames, time.Since(t0).Seconds())

	params := separate.ReconParams{Iterations: rf.iterations, MaskPower: sp.MaskPower}
	bar := newProgress(stderr, quiet, "recon")
	if bar != nil {
		bar.ChangeMax(params.Iterations)
		params.Progress = func(it int, obj float64) {
			bar.Describe(fmt.Sprintf("recon: objective %.6g", obj))
			bar.Set(it)
		}
	}
	t1 := time.Now()
	wr, before, after, err = separate.LearnRecon(ctx, b, d, params)
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", cmd, err)
	}
	fmt.Fprintf(stdout, "recon: objective %.6g -> %.6g (%+.1f %%) after %d iterations in %.2f s\n",
		before, after, 100*(after-before)/before, params.Iterations, time.Since(t1).Seconds())
	return wr, before, after, nil
}

// readExamples reads every example of a source, files and folders (WAV or
// FLAC, searched recursively, in name order), concatenated per channel, up
// to limit samples per channel (0: all; no more is read). It returns the
// samples and their rate.
func readExamples(cmd, name string, paths []string, limit int64) ([][]float64, int, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, 0, usagef("%s: --source %s=%s: %w", cmd, name, p, err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		var in []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && isAudioName(d.Name()) {
				in = append(in, path)
			}
			return err
		})
		if err != nil {
			return nil, 0, usagef("%s: --source %s=%s: %w", cmd, name, p, err)
		}
		if len(in) == 0 {
			return nil, 0, usagef("%s: --source %s=%s: no WAV or FLAC file in the folder", cmd, name, p)
		}
		slices.Sort(in)
		files = append(files, in...)
	}
	var out [][]float64
	rate := 0
	for _, path := range files {
		if limit > 0 && out != nil && int64(len(out[0])) >= limit {
			break
		}
		r, err := audio.Open(path)
		if err != nil {
			return nil, 0, usageError{fmt.Errorf("%s: %w", cmd, err)}
		}
		f := r.Format()
		switch {
		case out == nil:
			out, rate = make([][]float64, f.Channels), f.SampleRateHz
		case f.Channels != len(out) || f.SampleRateHz != rate:
			r.Close()
			return nil, 0, usagef("%s: %s: %d channels at %d Hz, the other examples of source %q have %d at %d Hz", cmd,
				path, f.Channels, f.SampleRateHz, name, len(out), rate)
		}
		buf := make([][]float64, f.Channels)
		for c := range buf {
			buf[c] = make([]float64, 1<<14)
		}
		for limit <= 0 || int64(len(out[0])) < limit {
			n, err := r.Read(buf)
			for c := range out {
				out[c] = append(out[c], buf[c][:n]...)
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.Close()
				return nil, 0, usageError{fmt.Errorf("%s: %w", cmd, err)}
			}
		}
		r.Close()
	}
	if limit > 0 {
		for c := range out {
			out[c] = out[c][:min(int64(len(out[c])), limit)]
		}
	}
	for c := range out {
		for i, x := range out[c] {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, 0, usagef("%s: source %q: sample %d of channel %d of its examples is %v", cmd, name, i, c, x)
			}
		}
	}
	if len(out) == 0 || len(out[0]) == 0 {
		return nil, 0, usagef("%s: source %q: its examples hold no audio", cmd, name)
	}
	return out, rate, nil
}

// reconMixtures makes the training material of learn-recon from the
// sources' examples sigs (source, channel, sample): every source trimmed to
// the shortest's length L and scaled to the first one's RMS; then, per
// shift of reconShifts, the sources with the 2nd..Nth circularly shifted
// (numpy.roll) by int(shift L) samples, concatenated. It returns the
// mixture and each source (channel, sample), all 3 L long.
func reconMixtures(cmd string, cfg *config.Config, sigs [][][]float64) (mix [][]float64, srcs [][][]float64, err error) {
	L := commonLength(sigs)
	rms := make([]float64, len(sigs))
	for s, x := range sigs {
		sum := 0.0
		for _, ch := range x {
			for _, v := range ch[:L] {
				sum += v * v
			}
		}
		rms[s] = math.Sqrt(sum / float64(L*len(x)))
		if rms[s] == 0 {
			return nil, nil, usagef("%s: source %q: its first %d samples (the common length) are silent", cmd, cfg.Sources[s].Name, L)
		}
	}
	ch := len(sigs[0])
	n := L * len(reconShifts)
	mix = make([][]float64, ch)
	for c := range mix {
		mix[c] = make([]float64, n)
	}
	srcs = make([][][]float64, len(sigs))
	for s, x := range sigs {
		g := rms[0] / rms[s]
		srcs[s] = make([][]float64, ch)
		for c := range ch {
			out := make([]float64, n)
			for m, sh := range reconShifts {
				shift := 0
				if s > 0 {
					shift = int(sh * float64(L))
				}
				for i := range L {
					out[m*L+i] = g * x[c][((i-shift)%L+L)%L]
				}
			}
			srcs[s][c] = out
			for i, v := range out {
				mix[c][i] += v
			}
		}
	}
	return mix, srcs, nil
}

// commonLength returns the length reconMixtures trims the sources'
// examples sigs (source, channel, sample) to: the shortest's.
func commonLength(sigs [][][]float64) int {
	L := len(sigs[0][0])
	for _, x := range sigs {
		L = min(L, len(x[0]))
	}
	return L
}

// Targets of the reconstruction bases (--recon-target): what each
// source's masked mixture is fitted to.
const (
	// targetPhase: the phase-sensitive target |S_s| cos(angle S_s - angle
	// X) = Re(S_s X*) / |X| (per channel, then averaged as the engine's
	// power), for which the squared error of the masked magnitude equals,
	// but for a constant, that of the masked complex STFT: the error the
	// inverse STFT turns into the output's (Erdogan, Hershey, Watanabe &
	// Le Roux 2015).
	targetPhase = "phase"
	// targetMagnitude: the source's own magnitude |S_s|.
	targetMagnitude = "magnitude"
)

// reconSpectra returns the F x T magnitude spectrogram V of mix (channel,
// sample) as the engine analyses its input, and for each source of srcs
// (source, channel, sample; the mixture's parts) its target: with phase
// the phase-sensitive one, mean_c Re(S_sc X_c*) / V (0 where V is 0), else
// its magnitude. Frames are those of the streaming stft.Analyzer, one per
// hop from zero history until every sample has been in a frame; for
// several channels a magnitude is sqrt of the mean power. The complex
// squared error of masks M_s (one per bin and frame, applied to every
// channel) is then, with C channels,
//
//	sum_s sum_c |S_sc - M_s X_c|^2 = C sum_s (target_s - M_s V)^2 + const
//
// for the phase target (TestReconSpectra).
func reconSpectra(mix [][]float64, srcs [][][]float64, fft, hop int, win stft.WindowKind, phase bool) (V *mat.Dense, S []*mat.Dense) {
	F := fft/2 + 1
	T := framesFor(int64(len(mix[0])), fft, hop)
	V = mat.NewDense(F, T, nil)
	v := V.RawMatrix()
	S = make([]*mat.Dense, len(srcs))
	sr := make([]blas64.General, len(srcs))
	for s := range S {
		S[s] = mat.NewDense(F, T, nil)
		sr[s] = S[s].RawMatrix()
	}
	block := make([]float64, hop)
	xs := make([]complex128, F)
	ss := make([]complex128, F)
	analyze := func(an *stft.Analyzer, dst []complex128, ch []float64, t int) {
		clear(block)
		if lo := t * hop; lo < len(ch) {
			copy(block, ch[lo:min(lo+hop, len(ch))])
		}
		an.Analyze(dst, block)
	}
	newAnalyzer := func() *stft.Analyzer {
		an, err := stft.NewAnalyzer(fft, hop, win)
		if err != nil {
			panic(err) // the configuration was validated
		}
		return an
	}
	for c := range mix {
		ax := newAnalyzer()
		as := make([]*stft.Analyzer, len(srcs))
		for s := range as {
			as[s] = newAnalyzer()
		}
		for t := range T {
			analyze(ax, xs, mix[c], t)
			for f, z := range xs {
				v.Data[f*v.Stride+t] += real(z)*real(z) + imag(z)*imag(z)
			}
			for s, an := range as {
				analyze(an, ss, srcs[s][c], t)
				d := sr[s].Data
				for f, z := range ss {
					if phase {
						x := xs[f]
						d[f*sr[s].Stride+t] += real(z)*real(x) + imag(z)*imag(x)
					} else {
						d[f*sr[s].Stride+t] += real(z)*real(z) + imag(z)*imag(z)
					}
				}
			}
		}
	}
	inv := 1 / float64(len(mix))
	for i := range v.Data {
		v.Data[i] = math.Sqrt(v.Data[i] * inv)
	}
	for _, r := range sr {
		for i, x := range r.Data {
			switch {
			case !phase:
				r.Data[i] = math.Sqrt(x * inv)
			case v.Data[i] > 0:
				r.Data[i] = x * inv / v.Data[i]
			default:
				r.Data[i] = 0
			}
		}
	}
	return V, S
}

// writeReconTemp writes the reconstruction bases wr of b, DIR/NAME.recon.npy
// per source of srcs (b's sources, in its order), under temporary names, and
// sets each source's Recon to its file's final path. It returns the files
// written, also those before an error (to commit or abort); cmd prefixes
// its messages.
func writeReconTemp(cmd, dir string, srcs []config.Source, b *separate.Bases, wr *mat.Dense) ([]*atomicfile.File, error) {
	var files []*atomicfile.File
	f := b.F()
	for i := range srcs {
		w := wr.Slice(0, f, b.Start[i], b.Start[i+1])
		file, err := writeTemp(cmd, dir, srcs[i].Name+".recon.npy", func(out io.Writer) error { return separate.WriteNPY(out, w) })
		if err != nil {
			return files, err
		}
		files = append(files, file)
		srcs[i].Recon = file.Path()
	}
	return files, nil
}

// writeRecon writes DIR/NAME.recon.npy per source and DIR/sepd.yaml, cfg
// with their recon keys, under temporary names, renamed when all are
// written (the configuration last).
func writeRecon(ctx context.Context, stdout io.Writer, cfg *config.Config, b *separate.Bases, wr *mat.Dense, out string, rf reconFit, before, after float64) (err error) {
	dir, err := filepath.Abs(out)
	if err != nil {
		return fmt.Errorf("learn-recon: %w", err)
	}
	created, err := mkdirAllCreated(dir)
	if err != nil {
		return fmt.Errorf("learn-recon: %w", err)
	}
	var files []*atomicfile.File
	defer func() {
		if err == nil {
			return
		}
		for _, f := range files {
			f.Abort()
		}
		for i := len(created) - 1; i >= 0; i-- {
			os.Remove(created[i])
		}
	}()
	nc := *cfg
	nc.Path, nc.Dir = filepath.Join(dir, "sepd.yaml"), dir
	nc.Sources = slices.Clone(cfg.Sources)
	for i := range nc.Sources {
		s := &nc.Sources[i]
		if s.Bases, err = filepath.Abs(s.Bases); err != nil {
			return fmt.Errorf("learn-recon: %w", err)
		}
		for j := range s.Outputs {
			if o := &s.Outputs[j]; o.File != "" {
				if o.File, err = filepath.Abs(o.File); err != nil {
					return fmt.Errorf("learn-recon: %w", err)
				}
			}
		}
	}
	if files, err = writeReconTemp("learn-recon", dir, nc.Sources, b, wr); err != nil {
		return err
	}
	if nc.Input.File != "" {
		if nc.Input.File, err = filepath.Abs(nc.Input.File); err != nil {
			return fmt.Errorf("learn-recon: %w", err)
		}
	}
	yml, err := nc.Marshal()
	if err != nil {
		return fmt.Errorf("learn-recon: %w", err)
	}
	var head bytes.Buffer
	fmt.Fprintf(&head, "# Written by sepd learn-recon: reconstruction bases for these separation settings,\n"+
		"# %d iterations, %s target, objective %.6g -> %.6g.\n", rf.iterations, rf.target, before, after)
	head.Write(yml)
	yamlFile, err := writeTemp("learn-recon", dir, "sepd.yaml", func(w io.Writer) error { _, err := w.Write(head.Bytes()); return err })
	if err != nil {
		return err
	}
	files = append(files, yamlFile)
	if err := ctx.Err(); err != nil {
		return err
	}
	finals := make([]string, len(files))
	for i, f := range files {
		finals[i] = f.Path()
	}
	for i, f := range files {
		if err := f.Commit(); err != nil && !errors.Is(err, atomicfile.ErrFolderSync) {
			for _, done := range finals[:i] {
				os.Remove(done)
			}
			return fmt.Errorf("learn-recon: %w", err)
		}
	}
	fmt.Fprintf(stdout, "wrote %s: separate with 'sepd separate -c %s -o OUT INPUT'\n",
		strings.Join(relAll(finals), ", "), filepath.Join(out, "sepd.yaml"))
	return nil
}
