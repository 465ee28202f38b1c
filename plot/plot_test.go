package plot

import (
	"fmt"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// layout2 is a small two-source layout: fft 64 gives 33 bins.
func layout2() Layout {
	return Layout{FFTSize: 64, HopSamples: 16, Sources: []string{"voice", "noise"}, BasisStart: []int{0, 3, 5}}
}

// frame returns a frame whose every bin has power p (re full scale 1), mask
// m for source 0 and 1-m for source 1, and activations a, a+1, ...
func frame(bins, k int, p, m, a float64) ([]complex128, [][]float64, []float64) {
	spec := make([]complex128, bins)
	masks := [][]float64{make([]float64, bins), make([]float64, bins)}
	for f := range spec {
		spec[f] = complex(math.Sqrt(p), 0)
		masks[0][f], masks[1][f] = m, 1-m
	}
	act := make([]float64, k)
	for i := range act {
		act[i] = a + float64(i)
	}
	return spec, masks, act
}

func TestNewRecorderErrors(t *testing.T) {
	cases := map[string]func(*Layout){
		"fft size":             func(l *Layout) { l.FFTSize = 1 },
		"hop":                  func(l *Layout) { l.HopSamples = 0 },
		"no sources":           func(l *Layout) { l.Sources, l.BasisStart = nil, []int{0} },
		"starts length":        func(l *Layout) { l.BasisStart = []int{0, 3} },
		"starts not from zero": func(l *Layout) { l.BasisStart = []int{1, 3, 5} },
		"empty source":         func(l *Layout) { l.BasisStart = []int{0, 3, 3} },
		"negative full scale":  func(l *Layout) { l.FullScale = -1 },
		"odd max columns":      func(l *Layout) { l.MaxColumns = 7 },
		"negative max rows":    func(l *Layout) { l.MaxRows = -1 },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			l := layout2()
			mutate(&l)
			if _, err := NewRecorder(l); err == nil || !strings.HasPrefix(err.Error(), "plot: ") {
				t.Errorf("err = %v, want a plot: error", err)
			}
		})
	}
}

// TestRecorderColumns: frames centred before the first sample are left out,
// and when the run outgrows MaxColumns neighbouring columns are averaged, so
// that every column holds the mean of its frames; an open column shows the
// mean of the frames it has.
func TestRecorderColumns(t *testing.T) {
	for _, tc := range []struct {
		maxCols, frames int
		wantPerCol      int
	}{
		{8, 5, 1}, {8, 8, 2}, {8, 21, 4}, {4, 9, 4},
	} {
		t.Run(fmt.Sprintf("max%d_frames%d", tc.maxCols, tc.frames), func(t *testing.T) {
			l := layout2()
			l.MaxColumns = tc.maxCols
			r, err := NewRecorder(l)
			if err != nil {
				t.Fatal(err)
			}
			// fft 64, hop 16: frame t is centred at (t+1)*16-32, so frame 0
			// (centred at -16) is left out and frame 1 is centred at 0.
			if r.skip != 1 {
				t.Fatalf("skip = %d, want 1", r.skip)
			}
			var pw []float64
			for j := -1; j < tc.frames; j++ {
				p := float64(j + 2) // recorded frame j has power j+2
				pw = append(pw, p)
				r.Add(frame(r.bins, r.k, p, 0.25, p))
			}
			pw = pw[1:]
			if r.Frames() != tc.frames {
				t.Fatalf("Frames() = %d, want %d", r.Frames(), tc.frames)
			}
			sn := r.snapshot()
			if sn.perCol != tc.wantPerCol {
				t.Errorf("frames per column = %d, want %d", sn.perCol, tc.wantPerCol)
			}
			if want := (tc.frames + sn.perCol - 1) / sn.perCol; sn.cols != want {
				t.Fatalf("%d columns, want %d", sn.cols, want)
			}
			for c := range sn.cols {
				group := pw[c*sn.perCol : min((c+1)*sn.perCol, len(pw))]
				var mean float64
				for _, v := range group {
					mean += v
				}
				mean /= float64(len(group))
				// The recorder stores float32 (relative rounding 6e-8 per
				// value, a few per column); 1e-5 relative leaves room.
				for row := range sn.rows {
					if got := float64(sn.input[c*sn.rows+row]); math.Abs(got-mean) > 1e-5*mean {
						t.Fatalf("column %d row %d: power %g, want %g (frames %v)", c, row, got, mean, group)
					}
					// Source 0's power is m^2 p with m = 0.25.
					if got := float64(sn.src[0][c*sn.rows+row]); math.Abs(got-mean/16) > 1e-5*mean {
						t.Fatalf("column %d: source power %g, want %g", c, got, mean/16)
					}
					if got := sn.mask[1][c*sn.rows+row]; got != 0.75 {
						t.Fatalf("column %d: mask %g, want 0.75", c, got)
					}
				}
				if got := float64(sn.act[c*sn.k+2]); math.Abs(got-(mean+2)) > 1e-5*mean {
					t.Fatalf("column %d: activation 2 = %g, want %g", c, got, mean+2)
				}
			}
		})
	}
}

// TestRecorderRows: with more bins than MaxRows, each row is the mean power
// of its bins, the last row holding fewer.
func TestRecorderRows(t *testing.T) {
	l := layout2()
	l.MaxRows = 10 // 33 bins: 4 per row, 9 rows, the last with 1 bin
	l.FullScale = 2
	r, err := NewRecorder(l)
	if err != nil {
		t.Fatal(err)
	}
	if r.rows != 9 || r.perRow != 4 {
		t.Fatalf("%d rows of %d bins, want 9 of 4", r.rows, r.perRow)
	}
	spec, masks, act := frame(r.bins, r.k, 0, 0.5, 1)
	for f := range spec {
		spec[f] = complex(float64(f), 0) // power f^2, re full scale 2: f^2/4
	}
	r.Add(spec, masks, act) // skipped
	r.Add(spec, masks, act)
	sn := r.snapshot()
	for row := range sn.rows {
		var want float64
		n := 0
		for f := row * 4; f < min(row*4+4, 33); f++ {
			want += float64(f*f) / 4
			n++
		}
		want /= float64(n)
		if got := float64(sn.input[row]); math.Abs(got-want) > 1e-5*max(want, 1) {
			t.Errorf("row %d: %g, want %g", row, got, want)
		}
	}
}

// TestAddAllocatesNothing: the per-frame hook allocates nothing, merging
// columns included.
func TestAddAllocatesNothing(t *testing.T) {
	l := layout2()
	l.MaxColumns = 4
	r, err := NewRecorder(l)
	if err != nil {
		t.Fatal(err)
	}
	spec, masks, act := frame(r.bins, r.k, 1, 0.5, 1)
	if a := testing.AllocsPerRun(100, func() { r.Add(spec, masks, act) }); a != 0 {
		t.Errorf("Add allocates %v times per frame", a)
	}
}

func TestAddPanicsOnShape(t *testing.T) {
	r, err := NewRecorder(layout2())
	if err != nil {
		t.Fatal(err)
	}
	spec, masks, act := frame(r.bins, r.k, 1, 0.5, 1)
	for name, f := range map[string]func(){
		"spectrum":    func() { r.Add(spec[1:], masks, act) },
		"masks":       func() { r.Add(spec, masks[:1], act) },
		"mask length": func() { r.Add(spec, [][]float64{masks[0], masks[1][1:]}, act) },
		"activations": func() { r.Add(spec, masks, act[1:]) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if p := recover(); p == nil || !strings.HasPrefix(fmt.Sprint(p), "plot: ") {
					t.Errorf("panic %v, want a plot: panic", p)
				}
			}()
			f()
		})
	}
}

// blockRecorder records 4 s at 8 kHz (fft 256, hop 64) of a -60 dBFS floor
// with a 0 dBFS block from 1 to 2 s between 1000 and 2000 Hz, which the voice
// mask (0.9 there, 0.1 elsewhere) takes, and activations that rise over time.
func blockRecorder(t testing.TB) (*Recorder, Options) {
	t.Helper()
	const rate, fft, hop, seconds = 8000, 256, 64, 4
	r, err := NewRecorder(Layout{FFTSize: fft, HopSamples: hop, Sources: []string{"voice", "noise"}, BasisStart: []int{0, 6, 10}})
	if err != nil {
		t.Fatal(err)
	}
	bins := fft/2 + 1
	df := float64(rate) / fft
	spec := make([]complex128, bins)
	masks := [][]float64{make([]float64, bins), make([]float64, bins)}
	act := make([]float64, 10)
	frames := seconds*rate/hop + fft/hop // the drain included
	for j := range frames {
		centre := float64((j+1)*hop-fft/2) / rate
		for f := range spec {
			hz := float64(f) * df
			a, m := 1e-3, 0.1 // -60 dBFS
			if centre >= 1 && centre < 2 && hz >= 1000 && hz < 2000 {
				a, m = 1, 0.9
			}
			spec[f] = complex(a, 0)
			masks[0][f], masks[1][f] = m, 1-m
		}
		for k := range act {
			act[k] = (1 + float64(k)) * (1 + float64(j))
		}
		r.Add(spec, masks, act)
	}
	return r, Options{SampleRateHz: rate, InputSamples: seconds * rate, Title: "block"}
}

// at returns the pixel of pic at time sec and y value v, by the image's data
// rectangle and axis ranges.
func at(ri Rendered, sec, durSec, v, yMin, yMax float64) [3]uint8 {
	r := ri.DataRect
	x := r.Min.X + int(sec/durSec*float64(r.Dx()))
	y := r.Max.Y - 1 - int((v-yMin)/(yMax-yMin)*float64(r.Dy()))
	r8, g8, b8, _ := ri.Picture.At(x, y).RGBA()
	return [3]uint8{uint8(r8 >> 8), uint8(g8 >> 8), uint8(b8 >> 8)}
}

// rgb is the colour drawn for x in [0, 1] of a colour scale.
func rgb(x float64) [3]uint8 {
	r8, g8, b8, _ := pictPalette[heatIndex(x)].RGBA()
	return [3]uint8{uint8(r8 >> 8), uint8(g8 >> 8), uint8(b8 >> 8)}
}

// TestRender checks the pictures of a known recording: sizes, the colour
// scales against the data's range, and colours at known times and
// frequencies (so the axes are where the data is).
func TestRender(t *testing.T) {
	r, opt := blockRecorder(t)
	imgs, err := r.Render(opt)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, ri := range imgs {
		kinds = append(kinds, string(ri.Kind)+":"+ri.Source)
		b := ri.Picture.Bounds()
		if b.Dx() != 1400 || b.Dy() != 700 || ri.WidthPx != 1400 || ri.HeightPx != 700 {
			t.Errorf("%s %s: %v, want 1400x700 (the default)", ri.Kind, ri.Source, b)
		}
		if !ri.DataRect.In(b) || ri.DataRect.Dx() < 1000 || ri.DataRect.Dy() < 500 {
			t.Errorf("%s %s: data area %v in %v: want most of the picture", ri.Kind, ri.Source, ri.DataRect, b)
		}
	}
	want := []string{"input:", "source:voice", "source:noise", "mask:voice", "mask:noise", "activations:"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("pictures %v, want %v", kinds, want)
	}
	in, voice, mask, act := imgs[0], imgs[1], imgs[3], imgs[5]

	// The input spans -60 to 0 dBFS, less than 80 dB: the scale is the data's.
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"input data max", in.DataMax, 0}, {"input data min", in.DataMin, -60},
		{"input scale max", in.ScaleMax, 0}, {"input scale min", in.ScaleMin, -60},
		// Voice: 0.9^2 of the block (-0.92 dB), 0.1^2 of the floor (-80 dB); the
		// input's scale.
		{"voice data max", voice.DataMax, 20 * math.Log10(0.9)}, {"voice data min", voice.DataMin, -80},
		{"voice scale max", voice.ScaleMax, 0}, {"voice scale min", voice.ScaleMin, -60},
		{"mask data max", mask.DataMax, 0.9}, {"mask data min", mask.DataMin, 0.1},
		{"mask scale", mask.ScaleMax - mask.ScaleMin, 1},
		// Activations: the last column's last basis is the largest; the first
		// column's first is 1/(10*frames) of it. frames = 4*8000/64+4 = 504,
		// of which the first (centred before 0) is left out and the last 2
		// (centred after 4 s) cropped: columns are frames 1..501.
		{"activations data max", act.DataMax, 0}, {"activations data min", act.DataMin, 20 * math.Log10(2.0/(10*502))},
		{"activations scale min", act.ScaleMin, -60},
	} {
		// 1e-4 dB: the levels come from float32 powers (relative 6e-8,
		// 3e-7 dB); the bound only has to be far below a real mistake.
		if math.Abs(c.got-c.want) > 1e-4 {
			t.Errorf("%s = %.5f, want %.5f", c.name, c.got, c.want)
		}
	}
	// Colours: the block's centre is the top of the scale, far from it the bottom.
	for _, c := range []struct {
		name     string
		ri       Rendered
		sec, v   float64
		yMin     float64
		yMax     float64
		wantFrac float64
	}{
		{"input block", in, 1.5, 1500, 0, 4000, 1},
		{"input floor", in, 3, 3000, 0, 4000, 0},
		{"input floor before the block", in, 0.5, 1500, 0, 4000, 0},
		{"mask block", mask, 1.5, 1500, 0, 4000, 0.9},
		{"mask floor", mask, 3, 500, 0, 4000, 0.1},
		{"activation largest", act, 3.99, 9, -0.5, 9.5, 1},
	} {
		if got, want := at(c.ri, c.sec, 4, c.v, c.yMin, c.yMax), rgb(c.wantFrac); got != want {
			t.Errorf("%s: colour %v at %.2f s, %g; want %v (%.2f of the scale)", c.name, got, c.sec, c.v, want, c.wantFrac)
		}
	}
}

// TestWritePNGs: the files, their names, sizes and permissions, and that they
// are not blank: the luminance in the data area varies (a standard deviation
// over 10 of 255; a blank or single-colour area has 0).
func TestWritePNGs(t *testing.T) {
	r, opt := blockRecorder(t)
	opt.WidthPx, opt.HeightPx = 900, 500
	dir := filepath.Join(t.TempDir(), "plots")
	imgs, err := r.WritePNGs(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ri := range imgs {
		names = append(names, filepath.Base(ri.Path))
		f, err := os.Open(ri.Path)
		if err != nil {
			t.Fatal(err)
		}
		pic, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", ri.Path, err)
		}
		if b := pic.Bounds(); b.Dx() != 900 || b.Dy() != 500 {
			t.Errorf("%s: %v, want 900x500", ri.Path, b)
		}
		if sd := LumaStdDev(pic, ri.DataRect); sd < 10 {
			t.Errorf("%s: luminance standard deviation %.1f in the data area, want > 10", ri.Path, sd)
		}
		if st, _ := os.Stat(ri.Path); st.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644", ri.Path, st.Mode())
		}
	}
	want := []string{"input.png", "source-voice.png", "source-noise.png", "mask-voice.png", "mask-noise.png", "activations.png"}
	if !slices.Equal(names, want) {
		t.Errorf("files %v, want %v", names, want)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != len(want) {
		t.Errorf("%d entries in the folder, want %d (no temporary files left)", len(ents), len(want))
	}
}

// TestRenderSilence: a silent run draws (the lowest colour everywhere), with
// a finite scale.
func TestRenderSilence(t *testing.T) {
	r, err := NewRecorder(layout2())
	if err != nil {
		t.Fatal(err)
	}
	spec, masks, act := frame(r.bins, r.k, 0, 0.5, 0)
	clear(act)
	for range 50 {
		r.Add(spec, masks, act)
	}
	imgs, err := r.Render(Options{SampleRateHz: 8000})
	if err != nil {
		t.Fatal(err)
	}
	for _, ri := range imgs {
		if math.IsInf(ri.ScaleMin, 0) || math.IsInf(ri.ScaleMax, 0) || !(ri.ScaleMax > ri.ScaleMin) {
			t.Errorf("%s %s: scale %g to %g", ri.Kind, ri.Source, ri.ScaleMin, ri.ScaleMax)
		}
	}
	if imgs[0].DataMax != math.Inf(-1) {
		t.Errorf("input data max %g dB, want -Inf", imgs[0].DataMax)
	}
}

func TestRenderErrors(t *testing.T) {
	r, err := NewRecorder(layout2())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Render(Options{SampleRateHz: 8000}); err == nil || !strings.Contains(err.Error(), "no frames") {
		t.Errorf("nothing recorded: err = %v", err)
	}
	spec, masks, act := frame(r.bins, r.k, 1, 0.5, 1)
	for range 10 {
		r.Add(spec, masks, act)
	}
	for name, opt := range map[string]Options{
		"no rate":   {},
		"too small": {SampleRateHz: 8000, WidthPx: 100, HeightPx: 100},
		"range":     {SampleRateHz: 8000, RangeDB: -1},
	} {
		if _, err := r.Render(opt); err == nil || !strings.HasPrefix(err.Error(), "plot: ") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestNiceTicks(t *testing.T) {
	labels := func(lo, hi float64, n int) []string {
		var s []string
		for _, tk := range (niceTicks{n}).Ticks(lo, hi) {
			if tk.Label != "" {
				s = append(s, tk.Label)
			}
		}
		return s
	}
	for _, tc := range []struct {
		lo, hi float64
		n      int
		want   string
	}{
		{0, 8, 12, "0 1 2 3 4 5 6 7 8"},
		{0, 60, 12, "0 5 10 15 20 25 30 35 40 45 50 55 60"},
		{0, 8000, 9, "0 1000 2000 3000 4000 5000 6000 7000 8000"},
		{0, 22050, 9, "0 5000 10000 15000 20000"},
		{-95.3, -15.3, 9, "-90 -80 -70 -60 -50 -40 -30 -20"},
		{0, 1, 9, "0.0 0.2 0.4 0.6 0.8 1.0"},
		{0, 0.5, 12, "0.00 0.05 0.10 0.15 0.20 0.25 0.30 0.35 0.40 0.45 0.50"},
		{-60, 0, 9, "-60 -50 -40 -30 -20 -10 0"},
	} {
		if got := strings.Join(labels(tc.lo, tc.hi, tc.n), " "); got != tc.want {
			t.Errorf("[%g, %g] ~%d ticks: %q, want %q", tc.lo, tc.hi, tc.n, got, tc.want)
		}
	}
}

// TestViridis: the ends are matplotlib's first and last entries, and the
// ramp gets lighter all the way (viridis is monotonic in lightness).
func TestViridis(t *testing.T) {
	if c := viridis(0); c != (color.RGBA{68, 1, 84, 255}) {
		t.Errorf("viridis(0) = %v", c)
	}
	if c := viridis(1); c != (color.RGBA{253, 231, 37, 255}) {
		t.Errorf("viridis(1) = %v", c)
	}
	prev := -1.0
	for i := range 101 {
		c := viridis(float64(i) / 100)
		l := luma(c.R, c.G, c.B)
		// 0.5: the palette is 8-bit, and rounding each channel by up to
		// 0.5 moves luma (weights summing to 1) by up to 0.5.
		if l < prev-0.5 {
			t.Errorf("lightness drops at %d%%: %.1f after %.1f", i, l, prev)
		}
		prev = l
	}
}

func BenchmarkWritePNGs(b *testing.B) {
	r, opt := blockRecorder(b)
	dir := b.TempDir()
	for b.Loop() {
		if _, err := r.WritePNGs(dir, opt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAdd(b *testing.B) {
	r, err := NewRecorder(Layout{FFTSize: 1024, HopSamples: 256, Sources: []string{"a", "b"}, BasisStart: []int{0, 32, 64}})
	if err != nil {
		b.Fatal(err)
	}
	spec, masks, act := frame(513, 64, 1, 0.5, 1)
	for b.Loop() {
		r.Add(spec, masks, act)
	}
	perFrame := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(perFrame*1e6, "us/frame")
	b.ReportMetric(256/16000.0/perFrame, "x-realtime@16k")
}
