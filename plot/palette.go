package plot

import (
	"image"
	"image/color"
	"math"
)

// viridisAnchors are matplotlib's viridis at indices 0, 16, ..., 240 and 255
// of its 256 entries, rounded to 8 bits: the _viridis_data table of
// mpl-colormaps by Nathaniel J. Smith and Stefan van der Walt (CC0). Linear
// interpolation between them stays within 2 of 255 of the full table.
var viridisAnchors = [...][3]uint8{
	{68, 1, 84}, {72, 24, 106}, {71, 45, 123}, {66, 64, 134},
	{59, 82, 139}, {51, 99, 141}, {44, 114, 142}, {38, 130, 142},
	{33, 145, 140}, {31, 160, 136}, {40, 174, 128}, {63, 188, 115},
	{94, 201, 98}, {132, 212, 75}, {173, 220, 48}, {216, 226, 25},
	{253, 231, 37},
}

// viridisPos returns anchor i's position in [0, 1].
func viridisPos(i int) float64 {
	if i == len(viridisAnchors)-1 {
		return 1
	}
	return float64(16*i) / 255
}

// viridisLUT is viridis at 1024 evenly spaced points.
var viridisLUT = func() (lut [1024]color.RGBA) {
	for i := range lut {
		lut[i] = viridisAt(float64(i) / float64(len(lut)-1))
	}
	return lut
}()

// viridis returns the colour of x in [0, 1] (clamped; NaN is mid grey) from
// viridisLUT. It allocates nothing.
func viridis(x float64) color.RGBA {
	if math.IsNaN(x) {
		return color.RGBA{128, 128, 128, 255}
	}
	x = min(max(x, 0), 1)
	return viridisLUT[int(x*float64(len(viridisLUT)-1)+0.5)]
}

// viridisAt interpolates the anchors at x in [0, 1].
func viridisAt(x float64) color.RGBA {
	i := min(int(x*255/16), len(viridisAnchors)-2)
	a, b := viridisPos(i), viridisPos(i+1)
	t := (x - a) / (b - a)
	lo, hi := viridisAnchors[i], viridisAnchors[i+1]
	mix := func(p, q uint8) uint8 { return uint8(math.Round(float64(p) + t*(float64(q)-float64(p)))) }
	return color.RGBA{mix(lo[0], hi[0]), mix(lo[1], hi[1]), mix(lo[2], hi[2]), 255}
}

// luma is the Rec. 601 luminance of an 8-bit colour, 0 to 255.
func luma(r, g, b uint8) float64 { return 0.299*float64(r) + 0.587*float64(g) + 0.114*float64(b) }

// LumaStdDev returns the standard deviation of the luminance (0 to 255) of
// img's pixels inside rect: 0 for a blank or single-colour area. Tests use it
// to tell a drawn heat map from an empty one. It allocates nothing.
func LumaStdDev(img image.Image, rect image.Rectangle) float64 {
	rect = rect.Intersect(img.Bounds())
	var sum, sum2, n float64
	for y := rect.Min.Y; y < rect.Max.Y; y++ {
		for x := rect.Min.X; x < rect.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			l := luma(uint8(r>>8), uint8(g>>8), uint8(b>>8))
			sum += l
			sum2 += l * l
			n++
		}
	}
	if n == 0 {
		return 0
	}
	m := sum / n
	return math.Sqrt(max(sum2/n-m*m, 0))
}

// The pictures' palette: heatLevels steps of viridis for the data, then grey
// levels from black to white for the axes and text (drawn black on white and
// anti-aliased, so every pixel of theirs is a grey).
const (
	heatLevels = 192
	greyLevels = 256 - heatLevels
	whiteIndex = 255
)

var pictPalette = func() color.Palette {
	p := make(color.Palette, 0, 256)
	for i := range heatLevels {
		p = append(p, viridis(float64(i)/(heatLevels-1)))
	}
	for i := range greyLevels {
		v := uint8((i*255 + (greyLevels-1)/2) / (greyLevels - 1))
		p = append(p, color.RGBA{v, v, v, 255})
	}
	return p
}()

// heatIndex returns the palette index of x in [0, 1] of the colour scale
// (clamped; NaN is the middle).
func heatIndex(x float64) uint8 {
	if math.IsNaN(x) {
		x = 0.5
	}
	return uint8(math.Round(min(max(x, 0), 1) * (heatLevels - 1)))
}

// toPaletted converts a picture of greys to pictPalette by luminance,
// leaving the pixels inside skip (to be drawn over) at index 0.
func toPaletted(src *image.RGBA, skip image.Rectangle) *image.Paletted {
	b := src.Bounds()
	dst := image.NewPaletted(b, pictPalette)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		in := src.Pix[src.PixOffset(b.Min.X, y):]
		out := dst.Pix[dst.PixOffset(b.Min.X, y):]
		for x := 0; x < b.Dx(); x++ {
			if y >= skip.Min.Y && y < skip.Max.Y && x+b.Min.X == skip.Min.X {
				x = skip.Max.X - b.Min.X - 1
				continue
			}
			p := in[4*x : 4*x+3]
			out[x] = uint8(heatLevels + int(luma(p[0], p[1], p[2])*(greyLevels-1)/255+0.5))
		}
	}
	return dst
}
