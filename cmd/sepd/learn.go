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
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gonum.org/v1/gonum/mat"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/config"
	"github.com/sepd/sepd/engine"
	"github.com/sepd/sepd/internal/atomicfile"
	"github.com/sepd/sepd/separate"
	"github.com/sepd/sepd/stft"
)

func init() { extraCommands = append(extraCommands, newLearnCmd) }

// learnFlags are the flags of `sepd learn`.
type learnFlags struct {
	sources    []string // NAME=PATH, repeatable
	components []string // K, or NAME=K, repeatable
	fftSize    int
	hop        int
	window     string
	beta       float64
	iterations int
	tol        float64
	init       string
	seed       uint64
	out        string
	quiet      bool

	recon        bool
	reconSeconds float64
	reconFit
}

func newLearnCmd() *cobra.Command {
	var fl learnFlags
	c := &cobra.Command{
		Use:   "learn --source NAME=PATH ... -o DIR",
		Short: "learn the bases of each source from example recordings",
		Long: `learn computes, for each source, the magnitude spectrogram of its example recordings
(WAV or FLAC files, or folders of them, searched recursively; all channels of a file
are combined as the engine combines them, sqrt of the mean power), concatenates them,
and factorises it with NMF: beta-divergence multiplicative updates of bases and
activations, exactly as scikit-learn's NMF(solver='mu'), from NNDSVDa (deterministic)
or seeded random starting values. The bases keep the scale NMF leaves them at, as
scikit-learn's components_ do (sepd's projection separates better with it than with
bases scaled to unit L1 norm; README "Learning bases").

It writes DIR/NAME.npy per source (F x K float32, what numpy.save writes) and
DIR/sepd.yaml, a configuration with these bases and the STFT and beta they were
learned with (a learned: section), which 'sepd separate -c DIR/sepd.yaml' and
'sepd run' use as is. Its separation is sepd's default, the quality setting (beta
0.5, update exponent 1, adapt 5; README "Quality"), measured on bases learned with
beta 1; with another --beta, the projection takes that beta too.

With two or more sources it then learns reconstruction bases for the masks, as
'sepd learn-recon' does, from the first --recon-seconds of every source's examples,
and the configuration names them (a recon: key per source, DIR/NAME.recon.npy). On
sepd's evaluation set (30 s per source, the default --recon-seconds) they add 0.47 dB
on average to the bases alone on its test mixtures, every source up but one voice, by
0.12 dB (README "Quality"). They take 2
to 3 times as long as the bases (30 s per source, K 32, at 16 and 44.1 kHz);
--recon=false skips them. When the sources' examples differ in channel count, they
cannot be learned: learn says so and writes the bases alone (with --recon given, it
is an error).

All files are written under temporary names and renamed at the end: on any error
nothing is left in DIR.

--components takes K for every source, or NAME=K for one (repeatable):
  sepd learn --source voice=rec/voice/ --source noise=street.flac \
      --components 32 --components noise=16 -o model/`,
		Args: argsError(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error { return runLearn(c, &fl) },
	}
	f := c.Flags()
	f.StringArrayVar(&fl.sources, "source", nil, "a source and its examples, NAME=FILE or NAME=FOLDER (repeatable; a name given twice collects both)")
	f.StringArrayVar(&fl.components, "components", []string{"32"}, "bases per source: K for all, or NAME=K (repeatable)")
	f.IntVar(&fl.fftSize, "fft-size", 1024, "FFT size in samples")
	f.IntVar(&fl.hop, "hop", 0, "hop in samples (default fft-size/4)")
	f.StringVar(&fl.window, "window", "hann", "analysis window: hann, sqrt-hann, hamming, blackman")
	f.Float64Var(&fl.beta, "beta", 1, "beta-divergence: 0 Itakura-Saito, 1 Kullback-Leibler, 2 Euclidean")
	f.IntVar(&fl.iterations, "iterations", 200, "NMF iterations (scikit-learn's max_iter)")
	f.Float64Var(&fl.tol, "tol", 0, "stop early as scikit-learn's tol does (checked every 10 iterations); 0 runs every iteration")
	f.StringVar(&fl.init, "init", "nndsvda", "starting values: nndsvda (deterministic) or random (seeded by --seed)")
	f.Uint64Var(&fl.seed, "seed", 0, "seed of --init random")
	f.StringVarP(&fl.out, "out", "o", "", "output folder (required)")
	f.BoolVarP(&fl.quiet, "quiet", "q", false, "no progress bar")
	f.BoolVar(&fl.recon, "recon", true, "with two or more sources, also learn reconstruction bases for the masks (as learn-recon)")
	f.Float64Var(&fl.reconSeconds, "recon-seconds", 30, "seconds of every source's examples, from their start, the reconstruction bases are learned on (0: all)")
	fl.reconFit.addFlags(f)
	return c
}

// learnSource is one source to learn: its examples and its parameters.
type learnSource struct {
	name  string
	paths []string    // as given
	files []learnFile // expanded, in order
	k     int
	// filled in by the run
	samples int64
	frames  int
}

// learnFile is one example recording.
type learnFile struct {
	path    string
	format  audio.Format
	samples int64 // per channel
	frames  int   // STFT frames: ceil((samples + fft - hop) / hop), 0 for an empty file
}

// learnPlan is a checked `sepd learn` command line.
type learnPlan struct {
	sources []*learnSource
	fft     int
	hop     int
	window  stft.WindowKind
	params  separate.LearnParams
	rateHz  int
	out     string

	recon        bool    // learn reconstruction bases too
	reconAsked   bool    // --recon given: a reason not to is an error
	reconSeconds float64 // of each source's examples; 0 all
	reconFit
}

func runLearn(c *cobra.Command, fl *learnFlags) error {
	plan, err := checkLearnFlags(c, fl)
	if err != nil {
		return err
	}
	if err := plan.scan(); err != nil {
		return err
	}
	if err := plan.checkRecon(c.ErrOrStderr()); err != nil {
		return err
	}
	// The heap is one large spectrogram and the garbage of gonum's parallel
	// Gemm (a goroutine per block): collect at 10% growth instead of 100%,
	// so that the peak stays near the spectrogram's size (the float64
	// arrays hold no pointers, so a collection costs almost nothing).
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	return plan.run(c.Context(), c.OutOrStdout(), c.ErrOrStderr(), fl.quiet)
}

// checkLearnFlags turns the flags into a learnPlan, checking everything
// that needs no file.
func checkLearnFlags(c *cobra.Command, fl *learnFlags) (*learnPlan, error) {
	if fl.out == "" {
		return nil, usagef("learn: give an output folder with -o DIR")
	}
	if len(fl.sources) == 0 {
		return nil, usagef("learn: give at least one --source NAME=PATH (a file or a folder of WAV/FLAC files)")
	}
	p := &learnPlan{fft: fl.fftSize, hop: fl.hop, out: fl.out}
	if !c.Flags().Changed("hop") {
		p.hop = fl.fftSize / 4
	}
	switch {
	case p.fft < 16:
		return nil, usagef("learn: --fft-size %d: must be at least 16", p.fft)
	case p.fft > 1<<16:
		return nil, usagef("learn: --fft-size %d: must be at most %d", p.fft, 1<<16)
	case p.hop < 1 || p.hop > p.fft:
		return nil, usagef("learn: --hop %d: must be between 1 and --fft-size (%d)", p.hop, p.fft)
	}
	win, err := stft.ParseWindow(fl.window)
	if err != nil {
		return nil, usagef("learn: --window: %w", err)
	}
	p.window = win
	init, err := separate.ParseInit(fl.init)
	if err != nil {
		return nil, usagef("learn: --init: %w", err)
	}
	switch {
	case !(fl.beta >= 0 && fl.beta <= 2):
		return nil, usagef("learn: --beta %v: must be between 0 and 2", fl.beta)
	case fl.iterations < 1:
		return nil, usagef("learn: --iterations %d: must be at least 1", fl.iterations)
	case !(fl.tol >= 0) || math.IsInf(fl.tol, 1):
		return nil, usagef("learn: --tol %v: must be a finite number at least 0", fl.tol)
	}
	p.params = separate.LearnParams{Beta: fl.beta, Iterations: fl.iterations, Tolerance: fl.tol, Init: init, Seed: fl.seed}
	if err := fl.reconFit.check("learn"); err != nil {
		return nil, err
	}
	if !(fl.reconSeconds >= 0) || math.IsInf(fl.reconSeconds, 1) {
		return nil, usagef("learn: --recon-seconds %v: must be a finite number at least 0", fl.reconSeconds)
	}
	p.recon, p.reconAsked = fl.recon, fl.recon && c.Flags().Changed("recon")
	p.reconSeconds, p.reconFit = fl.reconSeconds, fl.reconFit

	byName := map[string]*learnSource{}
	for _, s := range fl.sources {
		name, path, ok := strings.Cut(s, "=")
		if !ok || name == "" || path == "" {
			return nil, usagef("learn: --source %q: want NAME=PATH (a file or a folder)", s)
		}
		src := byName[name]
		if src == nil {
			src = &learnSource{name: name}
			byName[name] = src
			p.sources = append(p.sources, src)
		}
		src.paths = append(src.paths, path)
	}
	kAll := -1
	kOne := map[string]int{}
	for _, s := range fl.components {
		name, val, per := strings.Cut(s, "=")
		if !per {
			val = name
		}
		k, err := strconv.Atoi(val)
		if err != nil || k < 1 {
			return nil, usagef("learn: --components %q: want a number of bases at least 1, or NAME=K", s)
		}
		switch {
		case !per:
			kAll = k
		case byName[name] == nil:
			return nil, usagef("learn: --components %q: no --source is called %q", s, name)
		default:
			kOne[name] = k
		}
	}
	for _, src := range p.sources {
		src.k = kAll
		if k, ok := kOne[src.name]; ok {
			src.k = k
		}
		if src.k < 1 {
			return nil, usagef("learn: source %q: no --components for it", src.name)
		}
		if init == separate.InitNNDSVDa && src.k > p.fft/2+1 {
			return nil, usagef("learn: --components %d for source %q: init nndsvda needs at most %d (fft-size/2+1 bins); use --init random or a larger --fft-size",
				src.k, src.name, p.fft/2+1)
		}
	}
	if len(p.sources) < 2 {
		if p.reconAsked {
			return nil, usagef("learn: --recon needs two or more sources: the reconstruction bases are learned from their mixtures")
		}
		p.recon = false
	}
	// The configuration checks names (they become file names) and the STFT
	// before any file is read.
	if _, err := p.config(""); err != nil {
		return nil, usageError{err}
	}
	return p, nil
}

// isAudioName reports whether a file in a folder is taken as an example.
func isAudioName(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".wav", ".wave", ".flac":
		return true
	}
	return false
}

// scan expands folders, opens every file for its format and length, and
// checks rates, lengths and the number of components.
func (p *learnPlan) scan() error {
	for _, src := range p.sources {
		for _, path := range src.paths {
			st, err := os.Stat(path)
			if err != nil {
				return usagef("learn: --source %s=%s: %w", src.name, path, err)
			}
			if !st.IsDir() {
				src.files = append(src.files, learnFile{path: path})
				continue
			}
			var found []string
			err = filepath.WalkDir(path, func(q string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if !d.IsDir() && isAudioName(d.Name()) {
					found = append(found, q)
				}
				return nil
			})
			if err != nil {
				return usagef("learn: --source %s=%s: %w", src.name, path, err)
			}
			if len(found) == 0 {
				return usagef("learn: --source %s=%s: the folder has no audio files (.wav, .flac)", src.name, path)
			}
			for _, q := range found { // WalkDir walks in lexical order
				src.files = append(src.files, learnFile{path: q})
			}
		}
		for i := range src.files {
			lf := &src.files[i]
			if err := lf.probe(p.fft, p.hop); err != nil {
				return usagef("learn: source %q: %w", src.name, err)
			}
			if p.rateHz == 0 {
				p.rateHz = lf.format.SampleRateHz
			} else if lf.format.SampleRateHz != p.rateHz {
				first := p.sources[0].files[0].path
				return usagef("learn: %s (source %q): sample rate %d Hz, but %s is %d Hz: every example must have the same rate (resample it)",
					lf.path, src.name, lf.format.SampleRateHz, first, p.rateHz)
			}
			src.samples += lf.samples
			src.frames += lf.frames
		}
		if src.samples == 0 {
			return usagef("learn: source %q has no audio: no samples in %s", src.name, strings.Join(src.paths, ", "))
		}
		if src.k > src.frames {
			return usagef("learn: --components %d for source %q: larger than its %d frames (%.2f s of audio at hop %d); give more audio or fewer components",
				src.k, src.name, src.frames, float64(src.samples)/float64(p.rateHz), p.hop)
		}
	}
	return nil
}

// framesFor is the number of STFT frames that contain at least one of n
// samples, with the engine's framing (history starts as zeros):
// ceil((n + fft - hop) / hop), 0 for n = 0.
func framesFor(n int64, fft, hop int) int {
	if n == 0 {
		return 0
	}
	return int((n + int64(fft-hop) + int64(hop) - 1) / int64(hop))
}

// probe opens the file for its format and its length (counted by reading
// it when the header does not say).
func (lf *learnFile) probe(fft, hop int) error {
	r, err := audio.Open(lf.path)
	if err != nil {
		return err
	}
	defer r.Close()
	lf.format = r.Format()
	lf.samples = r.Frames()
	if lf.samples < 0 {
		buf := make([][]float64, lf.format.Channels)
		for c := range buf {
			buf[c] = make([]float64, 4096)
		}
		lf.samples = 0
		for {
			n, err := r.Read(buf)
			lf.samples += int64(n)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
		}
	}
	lf.frames = framesFor(lf.samples, fft, hop)
	return nil
}

// spectrogram streams the magnitude STFT of every file of src into one
// F x T matrix, frame after frame: the only F x T matrix learn holds.
func (p *learnPlan) spectrogram(ctx context.Context, src *learnSource) (*mat.Dense, error) {
	F := p.fft/2 + 1
	V := mat.NewDense(F, src.frames, nil)
	raw := V.RawMatrix()
	col := 0
	for _, lf := range src.files {
		if lf.frames == 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := p.fileFrames(lf, raw.Data, raw.Stride, col); err != nil {
			return nil, err
		}
		col += lf.frames
	}
	return V, nil
}

// fileFrames writes the lf.frames magnitude frames of one file into
// columns col... of the F x T matrix data (row stride stride). Several
// channels give sqrt(mean_c |X_c|^2), as the engine's magnitude.
func (p *learnPlan) fileFrames(lf learnFile, data []float64, stride, col int) error {
	r, err := audio.Open(lf.path)
	if err != nil {
		return usageError{fmt.Errorf("learn: %w", err)}
	}
	defer r.Close()
	ch := lf.format.Channels
	ans := make([]*stft.Analyzer, ch)
	blocks := make([][]float64, ch)
	view := make([][]float64, ch)
	specs := make([][]complex128, ch)
	F := p.fft/2 + 1
	for c := range ans {
		if ans[c], err = stft.NewAnalyzer(p.fft, p.hop, p.window); err != nil {
			return fmt.Errorf("learn: %w", err)
		}
		blocks[c] = make([]float64, p.hop)
		specs[c] = make([]complex128, F)
	}
	var read int64
	eof := false
	inv := 1 / float64(ch)
	for t := 0; t < lf.frames; t++ {
		n := 0
		for n < p.hop && !eof {
			for c := range view {
				view[c] = blocks[c][n:]
			}
			k, err := r.Read(view)
			n += k
			if errors.Is(err, io.EOF) {
				eof = true
			} else if err != nil {
				return usageError{fmt.Errorf("learn: %w", err)}
			}
		}
		for c := range blocks {
			clear(blocks[c][n:])
			for i, x := range blocks[c][:n] {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					return usagef("learn: %s: sample %d of channel %d is %v", lf.path, read+int64(i), c, x)
				}
			}
		}
		read += int64(n)
		for c, a := range ans {
			a.Analyze(specs[c], blocks[c])
		}
		for f := 0; f < F; f++ {
			pw := 0.0
			for c := range specs {
				z := specs[c][f]
				pw += real(z)*real(z) + imag(z)*imag(z)
			}
			data[f*stride+col+t] = math.Sqrt(pw * inv)
		}
	}
	if read != lf.samples {
		return usagef("learn: %s: read %d samples, the file said %d", lf.path, read, lf.samples)
	}
	return nil
}

// config returns the configuration that learn writes into dir: the
// learned bases, the STFT and rate, the default separation (with the
// learning beta when it is not 1), and the learned section. With
// dir "" it only checks the names and parameters.
func (p *learnPlan) config(dir string) (*config.Config, error) {
	cfg := config.Default()
	if dir != "" {
		cfg.Path, cfg.Dir = filepath.Join(dir, "sepd.yaml"), dir
	}
	cfg.SampleRateHz = p.rateHz
	cfg.STFT = config.STFT{FFTSize: p.fft, Hop: p.hop, Window: string(p.window)}
	// The separation is the product's default, the quality setting (beta
	// 0.5, update exponent 1, adapt 5: README "Quality"), which was
	// measured on KL bases (learned with beta 1, the default here); bases
	// learned with another beta are projected with that beta (the update
	// exponent and adapt stay the defaults).
	if p.params.Beta != 1 {
		cfg.Separation.Beta = p.params.Beta
	}
	for _, s := range p.sources {
		cfg.Sources = append(cfg.Sources, config.Source{Name: s.name, Bases: filepath.Join(dir, s.name+".npy")})
	}
	rate := p.rateHz
	if rate == 0 {
		rate = 1 // unknown before the files are read; any valid rate for the check
	}
	cfg.Learned = &config.Learned{FFTSize: p.fft, Hop: p.hop, Window: string(p.window), Beta: p.params.Beta, SampleRateHz: rate}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// learnResult is what learning one source gave, for the summary.
type learnResult struct {
	src     *learnSource
	res     separate.LearnResult
	elapsed time.Duration
	file    *atomicfile.File // the written .npy, under its temporary name
}

// run learns every source and writes the model.
func (p *learnPlan) run(ctx context.Context, stdout, stderr io.Writer, quiet bool) (err error) {
	dir, err := filepath.Abs(p.out)
	if err != nil {
		return fmt.Errorf("learn: %w", err)
	}
	created, err := mkdirAllCreated(dir)
	if err != nil {
		return fmt.Errorf("learn: %w", err)
	}
	var files []*atomicfile.File // in the order of finals below
	defer func() {
		if err == nil {
			return
		}
		for _, f := range files {
			f.Abort() // nothing for those renamed already
		}
		for i := len(created) - 1; i >= 0; i-- {
			os.Remove(created[i]) // only if empty: never anything we did not make
		}
	}()
	var results []learnResult
	for _, src := range p.sources {
		r, err := p.learnOne(ctx, src, dir, stderr, quiet)
		if r.file != nil {
			files = append(files, r.file)
		}
		if err != nil {
			return err
		}
		results = append(results, r)
		fmt.Fprintf(stdout, "%s: %s, %.2f s, %d frames, K=%d, %d iterations, divergence %.6g (from %.6g) in %.2f s\n",
			src.name, plural(len(src.files), "file"), float64(src.samples)/float64(p.rateHz), src.frames,
			src.k, r.res.Iterations, r.res.Divergence, r.res.InitialDivergence, r.elapsed.Seconds())
		if r.res.Dead > 0 {
			fmt.Fprintf(stderr, "learn: source %q: %d of %d bases were never used and are flat; fewer --components would do\n", src.name, r.res.Dead, src.k)
		}
	}
	cfg, err := p.config(dir)
	if err != nil {
		return fmt.Errorf("learn: %w", err)
	}
	var reconHead string
	if p.recon {
		rf, head, err := p.learnRecon(ctx, cfg, results, dir, stdout, stderr, quiet)
		files = append(files, rf...)
		if err != nil {
			return err
		}
		reconHead = head
	}
	yml, err := cfg.Marshal()
	if err != nil {
		return fmt.Errorf("learn: %w", err)
	}
	var head bytes.Buffer
	fmt.Fprintf(&head, "# Written by sepd learn: init %s", p.params.Init)
	if p.params.Init == separate.InitRandom {
		fmt.Fprintf(&head, " (seed %d)", p.params.Seed)
	}
	fmt.Fprintf(&head, ", beta %v, %d iterations", p.params.Beta, p.params.Iterations)
	if p.params.Tolerance > 0 {
		fmt.Fprintf(&head, ", tol %v", p.params.Tolerance)
	}
	head.WriteString(", bases at NMF's scale (as scikit-learn's components_).\n")
	for _, r := range results {
		fmt.Fprintf(&head, "#   %s: K=%d from %d frames of %s, final divergence %.6g after %d iterations\n",
			r.src.name, r.src.k, r.src.frames, plural(len(r.src.files), "file"), r.res.Divergence, r.res.Iterations)
	}
	head.WriteString(reconHead)
	head.Write(yml)
	yamlFile, err := writeTemp("learn", dir, "sepd.yaml", func(w io.Writer) error { _, err := w.Write(head.Bytes()); return err })
	if yamlFile != nil {
		files = append(files, yamlFile)
	}
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Everything is written: rename, the configuration last.
	finals := make([]string, len(files))
	for i, f := range files {
		finals[i] = f.Path()
	}
	for i, f := range files {
		// A folder that could not be synced after the rename leaves the
		// file whole under its name: not a failure.
		if err := f.Commit(); err != nil && !errors.Is(err, atomicfile.ErrFolderSync) {
			for _, done := range finals[:i] {
				os.Remove(done)
			}
			return fmt.Errorf("learn: %w", err)
		}
	}
	fmt.Fprintf(stdout, "wrote %s: separate with 'sepd separate -c %s -o OUT INPUT'\n",
		strings.Join(relAll(finals), ", "), filepath.Join(p.out, "sepd.yaml"))
	return nil
}

// checkRecon turns off the reconstruction bases, saying why on stderr, when
// the examples (scanned) differ in channel count: they are learned from
// mixtures of the sources' examples. With --recon given, that is an error.
func (p *learnPlan) checkRecon(stderr io.Writer) error {
	if !p.recon {
		return nil
	}
	first := p.sources[0].files[0]
	for _, src := range p.sources {
		for _, lf := range src.files {
			if ch := lf.format.Channels; ch != first.format.Channels {
				why := fmt.Sprintf("%s has %d channels, %s %d: reconstruction bases are learned from mixtures of the sources' examples, which need one channel count",
					lf.path, ch, first.path, first.format.Channels)
				if p.reconAsked {
					return usagef("learn: --recon: %s", why)
				}
				fmt.Fprintf(stderr, "learn: no reconstruction bases: %s (the bases alone are written)\n", why)
				p.recon = false
				return nil
			}
		}
	}
	return nil
}

// learnRecon learns reconstruction bases for the model in dir (the bases
// of results, still under their temporary names) as learn-recon does, from
// the first reconSeconds of every source's examples, writes them under
// temporary names in dir and sets cfg's recon keys. It returns the files
// (to commit or abort) and a comment for the configuration's head.
func (p *learnPlan) learnRecon(ctx context.Context, cfg *config.Config, results []learnResult, dir string, stdout, stderr io.Writer, quiet bool) (files []*atomicfile.File, head string, err error) {
	// The bases as separate would load them from the files written.
	tc := *cfg
	tc.Sources = slices.Clone(cfg.Sources)
	for i := range tc.Sources {
		tc.Sources[i].Bases = results[i].file.TempName()
	}
	plan, err := engine.NewPlan(&tc, 1)
	if err != nil {
		return nil, "", fmt.Errorf("learn: %w", err)
	}
	limit := int64(math.Round(p.reconSeconds * float64(p.rateHz)))
	sigs := make([][][]float64, len(p.sources))
	for i, src := range p.sources {
		if sigs[i], _, err = readExamples("learn", src.name, src.paths, limit); err != nil {
			return nil, "", err
		}
	}
	wr, before, after, err := fitRecon(ctx, "learn", &tc, plan.Bases, plan.Params.Separation, sigs, p.rateHz, p.reconFit, quiet, stdout, stderr)
	if err != nil {
		return nil, "", err
	}
	if files, err = writeReconTemp("learn", dir, cfg.Sources, plan.Bases, wr); err != nil {
		return files, "", err
	}
	head = fmt.Sprintf("# Reconstruction bases (recon:) as learn-recon learns them, for this separation, from\n"+
		"#   %.2f s of every source's examples: %d iterations, %s target, objective %.6g -> %.6g.\n",
		float64(commonLength(sigs))/float64(p.rateHz), p.reconFit.iterations, p.reconFit.target, before, after)
	return files, head, nil
}

// relAll returns the paths relative to the current directory where that
// is shorter.
func relAll(paths []string) []string {
	wd, _ := os.Getwd()
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = p
		if r, err := filepath.Rel(wd, p); err == nil && len(r) < len(p) {
			out[i] = r
		}
	}
	return out
}

// learnOne learns one source and writes its bases to a temporary file in dir.
func (p *learnPlan) learnOne(ctx context.Context, src *learnSource, dir string, stderr io.Writer, quiet bool) (learnResult, error) {
	r := learnResult{src: src}
	t0 := time.Now()
	V, err := p.spectrogram(ctx, src)
	if err != nil {
		return r, err
	}
	params := p.params
	params.Components = src.k
	bar := newProgress(stderr, quiet, src.name)
	if bar != nil {
		bar.ChangeMax(params.Iterations)
		params.Progress = func(it int, d float64) {
			bar.Describe(fmt.Sprintf("%s: divergence %.6g", src.name, d))
			bar.Set(it)
		}
	}
	r.res, err = separate.Learn(ctx, V, params)
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(stderr)
	}
	if err != nil {
		if ctx.Err() != nil {
			return r, err
		}
		return r, usageError{fmt.Errorf("learn: source %q: %w", src.name, err)}
	}
	r.elapsed = time.Since(t0)
	r.file, err = writeTemp("learn", dir, src.name+".npy", func(w io.Writer) error { return separate.WriteNPY(w, r.res.W) })
	// The spectrogram and the activations are not kept: give their memory
	// back before the next source allocates its own, so that the peak is
	// one source's, not two.
	V, r.res.H = nil, nil
	debug.FreeOSMemory()
	return r, err
}

// writeTemp writes a file for dir/name under a temporary name in dir,
// synced and closed, for the caller to commit; on error it removes it and
// returns nil. cmd (learn or learn-recon) prefixes its messages.
func writeTemp(cmd, dir, name string, write func(io.Writer) error) (*atomicfile.File, error) {
	path := filepath.Join(dir, name)
	f, err := atomicfile.Create(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	err = write(f)
	if err == nil {
		err = f.Finish()
	}
	if err != nil {
		f.Abort()
		return nil, fmt.Errorf("%s: writing %s: %w", cmd, path, err)
	}
	return f, nil
}

// mkdirAllCreated creates dir and its missing parents, and returns the
// folders it created, outermost first, so that a failed run can remove them.
func mkdirAllCreated(dir string) ([]string, error) {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	slices.Reverse(missing)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return missing, nil
}

// freeSave saves the free bases a `sepd separate` run learned (--save-free).
type freeSave struct {
	dir   string
	names []string // the sources with free bases
	eng   *engine.Engine
}

// startFreeSave hooks job so that the run's engine is kept for saving its
// free bases, when c has a --save-free folder; it returns nil otherwise
// (then the run has no hook for it). With several inputs, each input's
// bases go to DIR/INPUT-STEM/, as the outputs do.
func startFreeSave(c *cobra.Command, plan *engine.Plan, several bool, input string, job *engine.FileJob) (*freeSave, error) {
	f := c.Flags().Lookup("save-free")
	if f == nil || f.Value.String() == "" {
		return nil, nil
	}
	s := &freeSave{dir: f.Value.String(), names: engine.FreeSources(plan.Bases)}
	if len(s.names) == 0 {
		return nil, usagef("separate: --save-free %s: no source has free_components, so there are no free bases to save", s.dir)
	}
	if several {
		s.dir = filepath.Join(s.dir, strings.TrimSuffix(filepath.Base(input), filepath.Ext(input)))
	}
	prev := job.OnFrame
	job.OnFrame = func(e *engine.Engine) {
		s.eng = e
		if prev != nil {
			prev(e)
		}
	}
	return s, nil
}

// write saves every free source's bases (engine.SaveFree). A nil freeSave
// writes nothing.
func (s *freeSave) write(stdout io.Writer) error {
	if s == nil {
		return nil
	}
	if s.eng == nil {
		return fmt.Errorf("separate: --save-free: the run processed no frame")
	}
	if err := engine.SaveFree(s.dir, s.eng, s.names, stdout); err != nil {
		return fmt.Errorf("separate: --save-free: %w", err)
	}
	return nil
}
