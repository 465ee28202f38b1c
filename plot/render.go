package plot

import (
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/sepd/sepd/internal/atomicfile"
)

// Kind is the kind of a picture.
type Kind string

// The pictures WritePNGs draws.
const (
	InputSpectrogram  Kind = "input"       // channel 0 of the input, dBFS
	SourceSpectrogram Kind = "source"      // |M_s X| on channel 0, dBFS, on the input's scale
	Mask              Kind = "mask"        // M_s, 0 to 1
	Activations       Kind = "activations" // h over time, dB re the largest, grouped by source
)

// Options tune WritePNGs. SampleRateHz is required.
type Options struct {
	SampleRateHz int
	// InputSamples is the input's length: frames centred after it (the
	// drain of the pipeline) are left out and the time axis ends there.
	// 0 keeps every frame.
	InputSamples int64
	// Title starts every picture's title, e.g. the input file's name.
	Title string
	// WidthPx and HeightPx are the size of every PNG (0: 1400 x 700), DPI
	// the resolution that sizes the text (0: 100, where 12-point text is 17
	// pixels high).
	WidthPx, HeightPx, DPI int
	// RangeDB is the spectrograms' colour range below the input's loudest
	// cell (0: 80 dB); ActivationRangeDB the activations' below the largest
	// (0: 60 dB).
	RangeDB, ActivationRangeDB float64
}

// Image describes one picture WritePNGs wrote.
type Image struct {
	Kind   Kind
	Source string // the source's name; "" for the input and the activations
	Path   string
	// WidthPx and HeightPx are the PNG's size; DataRect is the heat map's
	// rectangle in it, in pixels (y down, as image.Image).
	WidthPx, HeightPx int
	DataRect          image.Rectangle
	// Unit is the colour scale's: "dBFS", "dB re max" or "mask".
	Unit string
	// ScaleMin and ScaleMax are the colour scale's ends, in Unit: values
	// below ScaleMin get its colour. DataMin and DataMax are the range of the
	// values drawn (-Inf in dB where a cell is exactly zero).
	ScaleMin, ScaleMax float64
	DataMin, DataMax   float64
}

// WritePNGs draws every picture of the recorded run into dir (created if
// needed): input.png, source-NAME.png and mask-NAME.png for every source, and
// activations.png. Each file is written under a temporary name and renamed
// when complete. It returns what it drew, with the colour scales it used.
// It allocates; the Recorder is unchanged and may keep recording.
func (r *Recorder) WritePNGs(dir string, opt Options) ([]Image, error) {
	imgs, err := r.Render(opt)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("plot: %w", err)
	}
	var out []Image
	for _, ri := range imgs {
		name := string(ri.Kind)
		if ri.Source != "" {
			name += "-" + fileSafe(ri.Source)
		}
		ri.Path = filepath.Join(dir, name+".png")
		if err := writePNG(ri.Path, ri.Picture); err != nil {
			return nil, err
		}
		out = append(out, ri.Image)
	}
	return out, nil
}

// Rendered is a picture in memory and its description (Path empty).
type Rendered struct {
	Image
	Picture image.Image
}

// Render draws every picture of the recorded run in memory, in WritePNGs'
// order. It allocates; it returns an error when nothing was recorded or the
// options are invalid.
func (r *Recorder) Render(opt Options) ([]Rendered, error) {
	if opt.SampleRateHz <= 0 {
		return nil, fmt.Errorf("plot: sample rate %d Hz: want > 0", opt.SampleRateHz)
	}
	if opt.WidthPx == 0 && opt.HeightPx == 0 {
		opt.WidthPx, opt.HeightPx = 1400, 700
	}
	if opt.DPI == 0 {
		opt.DPI = 100
	}
	if opt.WidthPx < 300 || opt.HeightPx < 200 || opt.DPI < 10 {
		return nil, fmt.Errorf("plot: %dx%d pixels at %d dpi: want at least 300x200 and 10 dpi", opt.WidthPx, opt.HeightPx, opt.DPI)
	}
	if opt.RangeDB == 0 {
		opt.RangeDB = 80
	}
	if opt.ActivationRangeDB == 0 {
		opt.ActivationRangeDB = 60
	}
	if opt.RangeDB < 0 || opt.ActivationRangeDB < 0 {
		return nil, errors.New("plot: negative dB range")
	}
	sn := r.snapshot()
	g := r.grid(sn, opt)
	if g.cols == 0 {
		return nil, errors.New("plot: no frames recorded")
	}
	title := func(s string) string {
		if opt.Title == "" {
			return s
		}
		return opt.Title + ": " + s
	}

	var out []Rendered
	// The input sets the spectrograms' scale: its loudest cell down RangeDB.
	inMin, inMax := g.powerRangeDB(sn.input)
	hi := inMax
	if math.IsInf(hi, -1) {
		hi = 0 // silence: any scale shows it as the lowest colour
	}
	lo := max(inMin, hi-opt.RangeDB)
	if hi-lo < 1e-9 {
		lo = hi - 1
	}
	spec := func(kind Kind, source string, data []float32, what string) error {
		dmin, dmax := g.powerRangeDB(data)
		ri := Rendered{Image: Image{Kind: kind, Source: source, Unit: "dBFS", ScaleMin: lo, ScaleMax: hi, DataMin: dmin, DataMax: dmax}}
		err := g.draw(&ri, opt, heat{
			title: title(what), yLabel: "frequency (Hz)",
			yMin: 0, yMax: float64(opt.SampleRateHz) / 2,
			data: data, perCol: g.rows, rowsOf: g.rowsOf, transform: powerDB,
		})
		out = append(out, ri)
		return err
	}
	if err := spec(InputSpectrogram, "", sn.input, "input spectrogram (channel 0)"); err != nil {
		return nil, err
	}
	for s, name := range r.lay.Sources {
		if err := spec(SourceSpectrogram, name, sn.src[s], fmt.Sprintf("source %q spectrogram (its mask on channel 0)", name)); err != nil {
			return nil, err
		}
	}
	for s, name := range r.lay.Sources {
		data := sn.mask[s]
		dmin, dmax := g.valueRange(data, g.rows)
		ri := Rendered{Image: Image{Kind: Mask, Source: name, Unit: "mask", ScaleMin: 0, ScaleMax: 1, DataMin: dmin, DataMax: dmax}}
		err := g.draw(&ri, opt, heat{
			title: title(fmt.Sprintf("mask of source %q (1: the bin goes to %s)", name, name)), yLabel: "frequency (Hz)",
			yMin: 0, yMax: float64(opt.SampleRateHz) / 2,
			data: data, perCol: g.rows, rowsOf: g.rowsOf, transform: func(v float64) float64 { return v },
		})
		if err != nil {
			return nil, err
		}
		out = append(out, ri)
	}

	// Activations: dB re the largest shown.
	dmin, dmax := g.valueRange(sn.act, sn.k)
	ref := dmax
	if !(ref > 0) {
		ref = 1
	}
	ri := Rendered{Image: Image{Kind: Activations, Unit: "dB re max", ScaleMax: 0, DataMin: ampDB(dmin / ref), DataMax: ampDB(dmax / ref)}}
	ri.ScaleMin = max(ri.DataMin, -opt.ActivationRangeDB)
	if ri.ScaleMax-ri.ScaleMin < 1e-9 {
		ri.ScaleMin = ri.ScaleMax - 1
	}
	k := float64(sn.k)
	err := g.draw(&ri, opt, heat{
		title:  title(fmt.Sprintf("activations of the %d bases", sn.k)),
		yLabel: "basis, grouped by source",
		yMin:   -0.5, yMax: k - 0.5,
		yTicks: basisTicks(r.lay),
		lines:  r.lay.BasisStart[1 : len(r.lay.BasisStart)-1],
		data:   sn.act, perCol: sn.k,
		rowsOf: func(y0, y1 float64) [2]int {
			b0 := min(max(int(math.Floor(y0+0.5)), 0), sn.k-1)
			b1 := min(max(int(math.Ceil(y1-0.5)), b0+1), sn.k)
			return [2]int{b0, b1}
		},
		transform: func(v float64) float64 { return ampDB(v / ref) },
	})
	if err != nil {
		return nil, err
	}
	out = append(out, ri)
	return out, nil
}

// grid maps time to columns and frequency to rows.
type grid struct {
	r          *Recorder
	cols, rows int
	perCol     int
	lastFrames int
	rate       float64
	durSec     float64
}

func (r *Recorder) grid(sn snapshot, opt Options) grid {
	g := grid{r: r, cols: sn.cols, rows: sn.rows, perCol: sn.perCol, lastFrames: sn.lastFrames, rate: float64(opt.SampleRateHz)}
	if opt.InputSamples > 0 {
		// Leave out the columns whose first frame is centred after the input.
		for g.cols > 0 && g.centreSamples(float64((g.cols-1)*g.perCol)) > float64(opt.InputSamples) {
			g.cols--
			g.lastFrames = g.perCol
		}
		g.durSec = float64(opt.InputSamples) / g.rate
	} else if g.cols > 0 {
		last := float64((g.cols-1)*g.perCol + g.lastFrames - 1)
		g.durSec = (g.centreSamples(last) + float64(r.lay.HopSamples)/2) / g.rate
	}
	return g
}

// centreSamples is the centre, in input samples, of recorded frame j.
func (g grid) centreSamples(j float64) float64 {
	t := j + float64(g.r.skip)
	return (t+1)*float64(g.r.lay.HopSamples) - float64(g.r.lay.FFTSize)/2
}

// colsOf returns the columns [c0, c1) shown over the seconds [t0, t1).
func (g grid) colsOf(t0, t1 float64) (int, int) {
	frame := func(sec float64) int {
		j := (sec*g.rate+float64(g.r.lay.FFTSize)/2)/float64(g.r.lay.HopSamples) - 1 - float64(g.r.skip)
		return int(math.Floor(j + 0.5))
	}
	f0, f1 := frame(t0), frame(t1)
	c0 := min(max(f0/g.perCol, 0), g.cols-1)
	if f0 < 0 {
		c0 = 0
	}
	c1 := min(max((f1-1)/g.perCol+1, c0+1), g.cols)
	return c0, c1
}

// rowsOf returns the rows [r0, r1) shown over the frequencies [f0, f1) Hz.
func (g grid) rowsOf(f0, f1 float64) [2]int {
	df := g.rate / float64(g.r.lay.FFTSize)
	b0 := int(math.Floor(f0/df + 0.5))
	b1 := int(math.Ceil(f1/df - 0.5))
	r0 := min(max(b0/g.r.perRow, 0), g.rows-1)
	r1 := min(max((b1-1)/g.r.perRow+1, r0+1), g.rows)
	return [2]int{r0, r1}
}

// mean returns the mean of data (column-major, n per column) over the
// columns [c0, c1) and the rows rs.
func (g grid) mean(data []float32, n int, c0, c1 int, rs [2]int) float64 {
	var sum float64
	for c := c0; c < c1; c++ {
		for _, v := range data[c*n+rs[0] : c*n+rs[1]] {
			sum += float64(v)
		}
	}
	return sum / float64((c1-c0)*(rs[1]-rs[0]))
}

// valueRange returns the smallest and largest value of the columns shown of
// data (column-major, n per column).
func (g grid) valueRange(data []float32, n int) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range data[:g.cols*n] {
		lo, hi = min(lo, float64(v)), max(hi, float64(v))
	}
	return lo, hi
}

// powerRangeDB is valueRange of spectrogram power, in dB.
func (g grid) powerRangeDB(data []float32) (lo, hi float64) {
	lo, hi = g.valueRange(data, g.rows)
	return powerDB(lo), powerDB(hi)
}

func powerDB(p float64) float64 { return 10 * math.Log10(p) }
func ampDB(a float64) float64   { return 20 * math.Log10(a) }

// basisTicks labels each source's group of bases at its middle and marks the
// group boundaries with minor ticks.
func basisTicks(lay Layout) gplot.Ticker {
	return gplot.TickerFunc(func(_, _ float64) []gplot.Tick {
		var ts []gplot.Tick
		for s, name := range lay.Sources {
			a, b := lay.BasisStart[s], lay.BasisStart[s+1]
			ts = append(ts,
				gplot.Tick{Value: float64(a+b-1) / 2, Label: fmt.Sprintf("%s\n%d-%d", name, a, b-1)},
				gplot.Tick{Value: float64(a) - 0.5})
		}
		return append(ts, gplot.Tick{Value: float64(lay.BasisStart[len(lay.Sources)]) - 0.5})
	})
}

// heat is one heat map to draw.
type heat struct {
	title, yLabel string
	yMin, yMax    float64
	yTicks        gplot.Ticker // nil: default
	lines         []int        // horizontal separators at y = v - 0.5
	// data holds the values, column-major, perCol per column; rowsOf maps
	// [y0, y1) on the y axis to the rows [r0, r1) shown there; a pixel shows
	// transform of the mean of its columns and rows.
	data      []float32
	perCol    int
	rowsOf    func(y0, y1 float64) [2]int
	transform func(float64) float64
}

// colourBarPx is the colour bar's width, barAreaPx the whole right-hand area
// (bar, its ticks, labels and unit).
const (
	colourBarPx = 22
	barAreaPx   = 120
)

// draw renders h into ri.Picture and fills in its sizes.
func (g grid) draw(ri *Rendered, opt Options, h heat) error {
	dpi := float64(opt.DPI)
	px := func(n float64) vg.Length { return vg.Length(n / dpi * float64(vg.Inch)) }
	W, H := opt.WidthPx, opt.HeightPx
	cnv := vgimg.NewWith(vgimg.UseWH(px(float64(W)), px(float64(H))), vgimg.UseDPI(opt.DPI))
	dc := draw.New(cnv)
	pad := px(12)
	dc = draw.Crop(dc, pad, -pad, pad, -pad)

	p := gplot.New()
	p.BackgroundColor = nil // the canvas starts white
	p.Title.Text = h.title
	p.Title.TextStyle.Font = sans(15)
	p.Title.Padding = px(10)
	p.X.Label.Text = "time (s)"
	p.Y.Label.Text = h.yLabel
	for _, ax := range []*gplot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font = sans(12)
		ax.Tick.Label.Font = sans(11)
	}
	p.X.Min, p.X.Max = 0, g.durSec
	p.Y.Min, p.Y.Max = h.yMin, h.yMax
	p.X.Tick.Marker = niceTicks{12}
	p.Y.Tick.Marker = niceTicks{9}
	if h.yTicks != nil {
		p.Y.Tick.Marker = h.yTicks
	}
	main := draw.Crop(dc, 0, -px(barAreaPx), 0, 0)
	da := p.DataCanvas(main)

	// The heat map, one value per pixel of the data area.
	x0, x1 := da.Min.X.Dots(dpi), da.Max.X.Dots(dpi)
	y0, y1 := da.Min.Y.Dots(dpi), da.Max.Y.Dots(dpi)
	// Drawn pixel for pixel onto the canvas after the axes: gonum/plot's
	// plotter.Image would resample it (bilinear) for nothing.
	Hd := float64(H)
	rect := image.Rect(int(math.Round(x0)), int(math.Round(Hd-y1)), int(math.Round(x1)), int(math.Round(Hd-y0)))
	iw, ih := rect.Dx(), rect.Dy()
	if iw < 10 || ih < 10 {
		return fmt.Errorf("plot: %dx%d pixels leave no room for the data (%dx%d)", W, H, iw, ih)
	}
	idx := make([]uint8, iw*ih) // palette indices, row by row
	span := ri.ScaleMax - ri.ScaleMin
	colour := func(v float64) uint8 { return heatIndex((h.transform(v) - ri.ScaleMin) / span) }
	cols := make([][2]int, iw)
	for x := range cols {
		t0 := g.durSec * float64(x) / float64(iw)
		t1 := g.durSec * float64(x+1) / float64(iw)
		cols[x][0], cols[x][1] = g.colsOf(t0, t1)
	}
	// A pixel over a single cell takes the cell's colour, computed once.
	cell := make([]int16, g.cols*h.perCol)
	for i := range cell {
		cell[i] = -1
	}
	for y := range ih {
		// Image row 0 is the top.
		v0 := h.yMax - (h.yMax-h.yMin)*float64(y+1)/float64(ih)
		v1 := h.yMax - (h.yMax-h.yMin)*float64(y)/float64(ih)
		row := idx[y*iw : (y+1)*iw]
		line := false
		for _, b := range h.lines {
			if at := float64(b) - 0.5; v0 <= at && at < v1 {
				line = true
			}
		}
		if line {
			for x := range row {
				row[x] = whiteIndex
			}
			continue
		}
		rs := h.rowsOf(v0, v1)
		for x, c := range cols {
			if c[1]-c[0] == 1 && rs[1]-rs[0] == 1 {
				i := c[0]*h.perCol + rs[0]
				if cell[i] < 0 {
					cell[i] = int16(colour(float64(h.data[i])))
				}
				row[x] = uint8(cell[i])
				continue
			}
			row[x] = colour(g.mean(h.data, h.perCol, c[0], c[1], rs))
		}
	}
	p.Draw(main)

	// The colour bar, its data area level with the heat map's.
	bp := gplot.New()
	bp.BackgroundColor = nil
	bp.HideX()
	bp.Y.Label.Text = ri.Unit
	bp.Y.Label.TextStyle.Font = sans(12)
	bp.Y.Tick.Label.Font = sans(11)
	bp.Y.Tick.Marker = niceTicks{9}
	bp.Y.Min, bp.Y.Max = ri.ScaleMin, ri.ScaleMax
	bp.X.Min, bp.X.Max = 0, 1
	bar := draw.Crop(dc, dc.Max.X-dc.Min.X-px(barAreaPx)+px(16), 0, 0, 0)
	bd := bp.DataCanvas(bar)
	bar.Min.Y += da.Min.Y - bd.Min.Y
	bar.Max.Y += da.Max.Y - bd.Max.Y
	bar.Max.X -= (bd.Max.X - bd.Min.X) - px(colourBarPx)
	bp.Draw(bar)
	bd = bp.DataCanvas(bar)
	brect := image.Rect(int(math.Round(bd.Min.X.Dots(dpi))), int(math.Round(Hd-bd.Max.Y.Dots(dpi))),
		int(math.Round(bd.Max.X.Dots(dpi))), int(math.Round(Hd-bd.Min.Y.Dots(dpi))))

	// The axes and text are black on white: greys. The picture is paletted
	// (greys and viridis), a quarter of the bytes of RGBA to encode.
	pic := toPaletted(cnv.Image().(*image.RGBA), rect)
	for y := range ih {
		copy(pic.Pix[pic.PixOffset(rect.Min.X, rect.Min.Y+y):], idx[y*iw:(y+1)*iw])
	}
	for y := brect.Min.Y; y < brect.Max.Y; y++ {
		c := heatIndex(float64(brect.Max.Y-1-y) / float64(max(brect.Dy()-1, 1)))
		for x := brect.Min.X; x < brect.Max.X; x++ {
			pic.SetColorIndex(x, y, c)
		}
	}
	ri.Picture = pic
	ri.WidthPx, ri.HeightPx = pic.Bounds().Dx(), pic.Bounds().Dy()
	ri.DataRect = rect
	return nil
}

// sans is Liberation Sans (embedded in gonum/plot) at size points.
func sans(points float64) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Size: vg.Points(points)}
}

// niceTicks is a plot.Ticker with labelled ticks at multiples of 1, 2 or 5
// times a power of ten, about n of them, and four unlabelled ones between.
type niceTicks struct{ n int }

// Ticks implements plot.Ticker.
func (nt niceTicks) Ticks(lo, hi float64) []gplot.Tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return nil
	}
	raw := (hi - lo) / float64(nt.n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	decimals := max(0, -int(math.Floor(math.Log10(step)+1e-9)))
	minor := step / 5
	if math.Round(step/mag) == 2 {
		minor = step / 4
	}
	var ts []gplot.Tick
	for i := math.Ceil(lo / minor); i*minor <= hi+minor*1e-9; i++ {
		v := i * minor
		t := gplot.Tick{Value: v}
		if q := v / step; math.Abs(q-math.Round(q)) < 1e-6 {
			t.Label = strconv.FormatFloat(math.Round(q)*step, 'f', decimals, 64)
			if t.Label == "-0" {
				t.Label = "0"
			}
		}
		ts = append(ts, t)
	}
	return ts
}

// writePNG encodes img to path through a temporary file in the same folder.
func writePNG(path string, img image.Image) error {
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := atomicfile.Write(path, func(w io.Writer) error { return enc.Encode(w, img) }); err != nil {
		return fmt.Errorf("plot: writing %s: %w", path, err)
	}
	return nil
}

// fileSafe keeps letters, digits, '-', '_' and '.' of a source name for a
// file name and replaces anything else with '_'.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}
