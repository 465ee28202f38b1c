package engine

import (
	"fmt"

	"github.com/sepd/sepd/config"
	"github.com/sepd/sepd/separate"
	"github.com/sepd/sepd/stft"
)

// Plan is a validated configuration turned into what an Engine is built from.
type Plan struct {
	Config  *config.Config
	Bases   *separate.Bases
	Reports []separate.LoadReport
	Params  Params
}

// NewPlan loads the bases a configuration names and derives the engine parameters.
// A source with free_components has no file: it gets that many free bases, learned
// online by the Separator (forgetting factor separate.DefaultForget). When the
// configuration has sample_rate 0 and a learned: section, the plan's Config has the
// learned sample rate instead, so that an input at another rate is an error.
// channels is the input's channel count. Errors name the file or key to fix.
func NewPlan(cfg *config.Config, channels int) (*Plan, error) {
	if cfg.SampleRateHz == 0 && cfg.Learned != nil && cfg.Learned.SampleRateHz > 0 {
		// The bases were learned at that rate: with sample_rate 0 (take the
		// input's), it is the rate the input must have (config leaves this
		// check to the engine).
		c := *cfg
		c.SampleRateHz = cfg.Learned.SampleRateHz
		cfg = &c
	}
	win, err := stft.ParseWindow(cfg.STFT.Window)
	if err != nil {
		return nil, fmt.Errorf("%s: stft.window: %w", cfg.Path, err)
	}
	files := make([]separate.BasesFile, len(cfg.Sources))
	for i, s := range cfg.Sources {
		files[i] = separate.BasesFile{Name: s.Name, Path: s.Bases, Array: s.Array, Free: s.FreeComponents, Recon: s.Recon}
	}
	b, reports, err := separate.LoadBases(files, cfg.STFT.FFTSize)
	if err != nil {
		return nil, err
	}
	p := Params{
		FFTSize:       cfg.STFT.FFTSize,
		HopSamples:    cfg.STFT.Hop,
		Window:        win,
		LatencyWindow: cfg.STFT.Latency,
		Channels:      channels,
		Separation: separate.Params{
			Beta:       cfg.Separation.Beta,
			Iterations: cfg.Separation.Iterations,
			Tolerance:  cfg.Separation.Tolerance,
			Sparsity:   cfg.Separation.Sparsity,
			MaskPower:  cfg.Separation.MaskPower,
			Floor:      cfg.Separation.Floor,
			Forget:     separate.DefaultForget,

			UpdateExponent: cfg.Separation.UpdateExponent,
			Adapt:          cfg.Separation.Adapt,
		},
	}
	return &Plan{Config: cfg, Bases: b, Reports: reports, Params: p}, nil
}

// NewEngine builds an Engine from the plan.
func (p *Plan) NewEngine() (*Engine, error) { return New(p.Bases, p.Params) }
