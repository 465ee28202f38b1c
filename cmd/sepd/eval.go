package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/eval"
)

func init() { extraCommands = append(extraCommands, newEvalCmd) }

type evalFlags struct {
	refs, ests []string
	permute    bool
	json       bool
	channel    int
	quiet      bool
}

func newEvalCmd() *cobra.Command {
	var fl evalFlags
	c := &cobra.Command{
		Use:   "eval --ref NAME=FILE ... --est NAME=FILE ... [--permute] [--json]",
		Short: "score separated files against clean references (BSS Eval SDR/SIR/SAR, SI-SDR)",
		Long: `eval scores each estimated source against the reference of the same name and
prints, per source, BSS Eval v3's SDR, SIR and SAR (as mir_eval 0.7's
separation.bss_eval_sources computes them: a 512-tap distortion filter is
forgiven) and the scale-invariant SDR, all in dB, as a table or, with --json,
as JSON (infinite scores are written as the strings "inf" and "-inf").

Every --ref needs an --est of the same name and the other way round. All files
must have the same sample rate, the same number of channels and exactly the same
length: files that differ are an error naming both, never trimmed or resampled
(sepd separate writes outputs exactly as long as its input, so its outputs and
the references of the same mixture always line up).

With --permute the estimates are matched to the references by the permutation
with the highest mean SIR, as mir_eval's compute_permutation=True; the table then
shows which estimate scored against which reference.

Several channels: BSS Eval (mir_eval's bss_eval_sources) is defined for one
channel, so each channel is scored on its own, exactly as mir_eval would score
that channel, and the table shows the mean over channels of each score in dB
(--json adds every channel's scores). No downmix: a mean of the channels would
let out-of-phase errors cancel. A channel that is silent in a reference cannot
be scored (BSS Eval divides by its energy): choose the channels with --channel.
With --permute, one matching is chosen for all channels: the one with the
highest SIR averaged over channels and sources.

Exit status 2 for bad input (unreadable, mismatched or unmatched files).`,
		Args: argsError(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			job, err := newEvalJob(fl)
			if err != nil {
				return err
			}
			bar := newProgress(c.ErrOrStderr(), fl.quiet, "eval")
			if bar != nil {
				job.progress = func(done, total int) {
					bar.ChangeMax(total)
					bar.Set(done)
				}
			}
			rep, err := job.run()
			if bar != nil {
				bar.Finish()
				fmt.Fprintln(c.ErrOrStderr())
			}
			if err != nil {
				return err
			}
			for _, w := range rep.Warnings {
				fmt.Fprintln(c.ErrOrStderr(), "sepd: warning:", w)
			}
			if fl.json {
				return rep.writeJSON(c.OutOrStdout())
			}
			rep.writeTable(c.OutOrStdout())
			return nil
		},
	}
	f := c.Flags()
	f.StringArrayVar(&fl.refs, "ref", nil, "a reference (clean) source, NAME=FILE (repeatable)")
	f.StringArrayVar(&fl.ests, "est", nil, "an estimated (separated) source, NAME=FILE (repeatable)")
	f.BoolVar(&fl.permute, "permute", false, "match estimates to references by the best permutation (highest mean SIR)")
	f.BoolVar(&fl.json, "json", false, "print JSON instead of a table")
	f.IntVar(&fl.channel, "channel", -1, "score only this channel (0-based); default: every channel, reporting the mean")
	f.BoolVarP(&fl.quiet, "quiet", "q", false, "no progress bar")
	return c
}

// evalInput is one named file of an evaluation.
type evalInput struct {
	Name, Path string
	data       [][]float64 // [channel][sample]
	format     audio.Format
}

// evalJob is an evaluation ready to run: references and estimates paired by name.
type evalJob struct {
	refs, ests []evalInput // ests[j] has refs[j]'s name
	permute    bool
	channel    int // -1: all
	progress   func(done, total int)
}

// parseNamed parses repeated NAME=FILE flags, keeping their order; names are unique.
func parseNamed(flag string, vals []string) ([]evalInput, error) {
	var out []evalInput
	seen := map[string]string{}
	for _, v := range vals {
		name, path, ok := strings.Cut(v, "=")
		if !ok || name == "" || path == "" {
			return nil, usagef("eval: --%s %q: want NAME=FILE", flag, v)
		}
		if prev, dup := seen[name]; dup {
			return nil, usagef("eval: --%s %q given twice (%s and %s)", flag, name, prev, path)
		}
		seen[name] = path
		out = append(out, evalInput{Name: name, Path: path})
	}
	return out, nil
}

// newEvalJob checks the flags and pairs every reference with the estimate of its name.
func newEvalJob(fl evalFlags) (*evalJob, error) {
	refs, err := parseNamed("ref", fl.refs)
	if err != nil {
		return nil, err
	}
	ests, err := parseNamed("est", fl.ests)
	if err != nil {
		return nil, err
	}
	if len(refs) == 0 {
		return nil, usagef("eval: give the references (--ref NAME=FILE, once per source) and the estimates (--est NAME=FILE)")
	}
	if len(refs) > eval.MaxSources {
		return nil, usagef("eval: %d sources, at most %d", len(refs), eval.MaxSources)
	}
	if fl.permute && len(refs) > eval.MaxPermuteSources {
		return nil, usagef("eval: --permute tries every matching, which is too many for %d sources (at most %d)", len(refs), eval.MaxPermuteSources)
	}
	if fl.channel < -1 {
		return nil, usagef("eval: --channel %d: want a channel number from 0, or -1 for all", fl.channel)
	}
	byName := map[string]evalInput{}
	for _, e := range ests {
		byName[e.Name] = e
	}
	job := &evalJob{refs: refs, permute: fl.permute, channel: fl.channel}
	for _, r := range refs {
		e, ok := byName[r.Name]
		if !ok {
			return nil, usagef("eval: reference %q (%s) has no estimate: add --est %s=FILE", r.Name, r.Path, r.Name)
		}
		delete(byName, r.Name)
		job.ests = append(job.ests, e)
	}
	for _, e := range ests {
		if _, left := byName[e.Name]; left {
			return nil, usagef("eval: estimate %q (%s) has no reference: add --ref %s=FILE", e.Name, e.Path, e.Name)
		}
	}
	return job, nil
}

// Scores are one source's scores in dB.
type Scores struct {
	SDR   dB `json:"sdr"`
	SIR   dB `json:"sir"`
	SAR   dB `json:"sar"`
	SISDR dB `json:"si_sdr"`
}

// ChannelScores are one channel's scores of a source.
type ChannelScores struct {
	Channel int `json:"channel"`
	Scores
}

// SourceReport is one row of the evaluation: a reference and the estimate matched to it.
type SourceReport struct {
	Name         string          `json:"name"`
	Reference    string          `json:"reference"`
	Estimate     string          `json:"estimate"`
	EstimateName string          `json:"estimate_name"` // differs from Name when --permute matched another
	Scores                       // mean over the channels scored
	PerChannel   []ChannelScores `json:"per_channel"`
}

// EvalReport is what `sepd eval` prints.
type EvalReport struct {
	Method       string         `json:"method"`
	SampleRateHz int            `json:"sample_rate_hz"`
	Samples      int            `json:"samples"`
	Channels     int            `json:"channels"`
	Scored       []int          `json:"channels_scored"`
	Permute      bool           `json:"permute"`
	Sources      []SourceReport `json:"sources"`
	Warnings     []string       `json:"warnings,omitempty"`
}

// dB is a score that JSON writes as a number, or as "inf", "-inf" or "nan".
type dB float64

func (d dB) MarshalJSON() ([]byte, error) {
	switch f := float64(d); {
	case math.IsInf(f, 1):
		return []byte(`"inf"`), nil
	case math.IsInf(f, -1):
		return []byte(`"-inf"`), nil
	case math.IsNaN(f):
		return []byte(`"nan"`), nil
	default:
		return json.Marshal(f)
	}
}

func (d *dB) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"inf"`:
		*d = dB(math.Inf(1))
	case `"-inf"`:
		*d = dB(math.Inf(-1))
	case `"nan"`:
		*d = dB(math.NaN())
	default:
		var f float64
		if err := json.Unmarshal(b, &f); err != nil {
			return err
		}
		*d = dB(f)
	}
	return nil
}

// load reads every file and checks that they line up: same rate, channels and length.
func (job *evalJob) load(step func()) error {
	all := job.files()
	for _, in := range all {
		x, f, err := audio.ReadAll(in.Path)
		if err != nil {
			return usageError{fmt.Errorf("eval: %s %q: %w", in.kind(job), in.Name, err)}
		}
		in.data, in.format = x, f
		step()
	}
	first := all[0]
	for _, in := range all[1:] {
		a, b := first, in
		switch {
		case a.format.SampleRateHz != b.format.SampleRateHz:
			return usagef("eval: %s is %d Hz but %s is %d Hz: BSS Eval compares samples one to one, so resample one of them",
				a.Path, a.format.SampleRateHz, b.Path, b.format.SampleRateHz)
		case a.format.Channels != b.format.Channels:
			return usagef("eval: %s has %s but %s has %d: give files with the same channels",
				a.Path, plural(a.format.Channels, "channel"), b.Path, b.format.Channels)
		case len(a.data[0]) != len(b.data[0]):
			rate := float64(a.format.SampleRateHz)
			return usagef("eval: %s has %d samples (%.3f s) but %s has %d (%.3f s) at %d Hz: files must be exactly as long and aligned; they are not trimmed",
				a.Path, len(a.data[0]), float64(len(a.data[0]))/rate, b.Path, len(b.data[0]), float64(len(b.data[0]))/rate, a.format.SampleRateHz)
		}
	}
	if job.channel >= first.format.Channels {
		return usagef("eval: --channel %d, but the files have %s (numbered from 0)", job.channel, plural(first.format.Channels, "channel"))
	}
	for _, c := range job.channels() {
		for _, in := range all {
			if silent(in.data[c]) {
				return usagef("eval: channel %d of %s (%s %q) is all zeros, which BSS Eval cannot score: leave that channel out with --channel",
					c, in.Path, in.kind(job), in.Name)
			}
		}
	}
	return nil
}

// files returns pointers to every input, references first.
func (job *evalJob) files() []*evalInput {
	var all []*evalInput
	for i := range job.refs {
		all = append(all, &job.refs[i])
	}
	for i := range job.ests {
		all = append(all, &job.ests[i])
	}
	return all
}

func (in *evalInput) kind(job *evalJob) string {
	for i := range job.refs {
		if &job.refs[i] == in {
			return "reference"
		}
	}
	return "estimate"
}

// channels returns the channels to score.
func (job *evalJob) channels() []int {
	if job.channel >= 0 {
		return []int{job.channel}
	}
	cs := make([]int, job.refs[0].format.Channels)
	for c := range cs {
		cs[c] = c
	}
	return cs
}

// plural returns e.g. "1 channel" or "2 channels".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func silent(x []float64) bool {
	for _, v := range x {
		if v != 0 {
			return false
		}
	}
	return true
}

// run loads the files and scores every channel. Work is counted in steps for
// the progress bar: one per file read, one per channel's references prepared
// (the Gram matrix) and one per set of estimates scored.
func (job *evalJob) run() (*EvalReport, error) {
	n := len(job.refs)
	total := 2*n + 2 // files, then (a first guess) one channel
	done := 0
	step := func() {
		done++
		if job.progress != nil {
			job.progress(done, max(total, done))
		}
	}
	if err := job.load(step); err != nil {
		return nil, err
	}
	chans := job.channels()
	total = 2*n + 2*len(chans)
	if job.progress != nil {
		job.progress(done, total)
	}
	rep := &EvalReport{
		Method:       "BSS Eval v3 as mir_eval 0.7 separation.bss_eval_sources (512-tap filter); SI-SDR",
		SampleRateHz: job.refs[0].format.SampleRateHz,
		Samples:      len(job.refs[0].data[0]),
		Channels:     job.refs[0].format.Channels,
		Scored:       chans,
		Permute:      job.permute,
	}

	// One channel at a time: an Evaluator of 60 s at 44.1 kHz holds hundreds
	// of megabytes.
	res := make([]eval.Result, len(chans))
	for i, c := range chans {
		ev, err := eval.NewEvaluator(job.column(job.refs, c))
		if err != nil {
			return nil, job.evalError(c, err)
		}
		step()
		if res[i], err = ev.Evaluate(job.column(job.ests, c), job.permute); err != nil {
			return nil, job.evalError(c, err)
		}
		step()
	}
	perm := res[0].Perm
	if job.permute && !samePerms(res) {
		// The channels prefer different matchings: score every pair on every
		// channel and take the matching best on average (SIR over channels
		// and sources), as mir_eval's criterion does for one channel.
		var desc []string
		for i, c := range chans {
			desc = append(desc, fmt.Sprintf("channel %d: %s", c, job.describePerm(res[i].Perm)))
		}
		var err error
		perm, res, err = job.jointPermutation(chans)
		if err != nil {
			return nil, err
		}
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the channels' best matchings differ (%s); scored all channels with %s, the best on average",
			strings.Join(desc, "; "), job.describePerm(perm)))
	}

	for j, ref := range job.refs {
		est := job.ests[perm[j]]
		sr := SourceReport{Name: ref.Name, Reference: ref.Path, Estimate: est.Path, EstimateName: est.Name}
		var sum [4]float64
		for i, c := range chans {
			cs := ChannelScores{Channel: c, Scores: Scores{
				SDR: dB(res[i].SDR[j]), SIR: dB(res[i].SIR[j]), SAR: dB(res[i].SAR[j]),
				SISDR: dB(eval.SISDR(ref.data[c], est.data[c])),
			}}
			sr.PerChannel = append(sr.PerChannel, cs)
			for k, v := range []dB{cs.SDR, cs.SIR, cs.SAR, cs.SISDR} {
				sum[k] += float64(v)
			}
		}
		inv := 1 / float64(len(chans))
		sr.Scores = Scores{SDR: dB(sum[0] * inv), SIR: dB(sum[1] * inv), SAR: dB(sum[2] * inv), SISDR: dB(sum[3] * inv)}
		rep.Sources = append(rep.Sources, sr)
	}
	return rep, nil
}

// column returns channel c of every input.
func (job *evalJob) column(ins []evalInput, c int) [][]float64 {
	x := make([][]float64, len(ins))
	for i, in := range ins {
		x[i] = in.data[c]
	}
	return x
}

// evalError names the files behind eval's "reference j" / "estimate j".
func (job *evalJob) evalError(c int, err error) error {
	var names []string
	for j := range job.refs {
		names = append(names, fmt.Sprintf("%d = %s (%s, %s)", j, job.refs[j].Name, job.refs[j].Path, job.ests[j].Path))
	}
	err = fmt.Errorf("eval: channel %d (sources %s): %w", c, strings.Join(names, ", "), err)
	if errors.Is(err, eval.ErrShape) || errors.Is(err, eval.ErrSilent) || errors.Is(err, eval.ErrNotFinite) {
		return usageError{err}
	}
	return err
}

func samePerms(res []eval.Result) bool {
	for _, r := range res[1:] {
		for j, k := range r.Perm {
			if res[0].Perm[j] != k {
				return false
			}
		}
	}
	return true
}

func (job *evalJob) describePerm(perm []int) string {
	var s []string
	for j, k := range perm {
		s = append(s, job.refs[j].Name+"<-"+job.ests[k].Name)
	}
	return strings.Join(s, " ")
}

// jointPermutation scores every estimate against every reference on every
// channel (n fixed evaluations per channel: the cyclic shifts, which together
// cover every pair; the references' Evaluator is made again, which the rare
// case of channels that disagree can afford) and returns the permutation with the highest SIR averaged
// over channels and sources (the first in lexicographic order on ties) and each
// channel's scores under it.
func (job *evalJob) jointPermutation(chans []int) ([]int, []eval.Result, error) {
	n := len(job.refs)
	type pair struct{ sdr, sir, sar float64 }
	// scores[i][j][k]: channel chans[i], reference j, estimate k.
	scores := make([][][]pair, len(chans))
	for i, c := range chans {
		scores[i] = make([][]pair, n)
		for j := range scores[i] {
			scores[i][j] = make([]pair, n)
		}
		ev, err := eval.NewEvaluator(job.column(job.refs, c))
		if err != nil {
			return nil, nil, job.evalError(c, err)
		}
		col := job.column(job.ests, c)
		shifted := make([][]float64, n)
		for s := range n {
			for j := range n {
				shifted[j] = col[(j+s)%n]
			}
			r, err := ev.Evaluate(shifted, false)
			if err != nil {
				return nil, nil, job.evalError(c, err)
			}
			for j := range n {
				scores[i][j][(j+s)%n] = pair{r.SDR[j], r.SIR[j], r.SAR[j]}
			}
		}
	}
	var best []int
	bestSIR := math.Inf(-1)
	permutations(n, func(p []int) {
		var sum float64
		for i := range chans {
			for j, k := range p {
				sum += scores[i][j][k].sir
			}
		}
		if best == nil || sum > bestSIR {
			best, bestSIR = append([]int(nil), p...), sum
		}
	})
	res := make([]eval.Result, len(chans))
	for i := range chans {
		r := eval.Result{Perm: best, SDR: make([]float64, n), SIR: make([]float64, n), SAR: make([]float64, n)}
		for j, k := range best {
			s := scores[i][j][k]
			r.SDR[j], r.SIR[j], r.SAR[j] = s.sdr, s.sir, s.sar
		}
		res[i] = r
	}
	return best, res, nil
}

// permutations calls f with every permutation of 0..n-1 in lexicographic order
// (as Python's itertools.permutations); f must not keep p.
func permutations(n int, f func(p []int)) {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for {
		f(p)
		// Next permutation in lexicographic order.
		i := n - 2
		for i >= 0 && p[i] >= p[i+1] {
			i--
		}
		if i < 0 {
			return
		}
		j := n - 1
		for p[j] <= p[i] {
			j--
		}
		p[i], p[j] = p[j], p[i]
		for a, b := i+1, n-1; a < b; a, b = a+1, b-1 {
			p[a], p[b] = p[b], p[a]
		}
	}
}

func (rep *EvalReport) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func (rep *EvalReport) writeTable(w io.Writer) {
	secs := float64(rep.Samples) / float64(rep.SampleRateHz)
	what := fmt.Sprintf("channel %d of %d", rep.Scored[0], rep.Channels)
	switch {
	case rep.Channels == 1:
		what = "1 channel"
	case len(rep.Scored) > 1:
		what = fmt.Sprintf("mean of %d channels (--json for each)", len(rep.Scored))
	}
	fmt.Fprintf(w, "BSS Eval v3 (as mir_eval 0.7 bss_eval_sources) and SI-SDR: %d sources, %.2f s at %d Hz, %s\n\n",
		len(rep.Sources), secs, rep.SampleRateHz, what)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "source\tSDR (dB)\tSIR (dB)\tSAR (dB)\tSI-SDR (dB)\t")
	for _, s := range rep.Sources {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", s.Name, fmtDB(s.SDR), fmtDB(s.SIR), fmtDB(s.SAR), fmtDB(s.SISDR))
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, s := range rep.Sources {
		match := ""
		if s.EstimateName != s.Name {
			match = fmt.Sprintf("  (estimate %q, matched by --permute)", s.EstimateName)
		}
		fmt.Fprintf(w, "%s: %s against %s%s\n", s.Name, filepath.Clean(s.Estimate), filepath.Clean(s.Reference), match)
	}
}

func fmtDB(d dB) string {
	f := float64(d)
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return fmt.Sprintf("%.2f", f)
}
