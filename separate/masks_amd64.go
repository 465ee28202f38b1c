//go:build !purego

package separate

func init() {
	if haveAVX512 {
		powAddAsm = powAddAVX512Slices
		recipRangeAsm = recipRangeAVX512Slices
		mulPowAsm = mulPowAVX512Slices
	}
}

// powAddAVX512 is powAdd for n a multiple of 8 (masks_amd64.s).
//
//go:noescape
func powAddAVX512(dst, y *float64, n int, square bool)

// recipRangeAVX512 is recipRange for n a multiple of 8 (masks_amd64.s).
//
//go:noescape
func recipRangeAVX512(inv *float64, n int) (first int)

// mulPowAVX512 is mulPow for n a multiple of 8 (masks_amd64.s).
//
//go:noescape
func mulPowAVX512(m, y, inv *float64, n int, square bool)

func powAddAVX512Slices(dst, y []float64, square bool) {
	if len(dst)%8 != 0 || len(y) < len(dst) {
		panic("separate: powAddAVX512: bad dimensions")
	}
	powAddAVX512(&dst[0], &y[0], len(dst), square)
}

func recipRangeAVX512Slices(inv []float64) int {
	if len(inv)%8 != 0 {
		panic("separate: recipRangeAVX512: bad dimensions")
	}
	return recipRangeAVX512(&inv[0], len(inv))
}

func mulPowAVX512Slices(m, y, inv []float64, square bool) {
	if len(m)%8 != 0 || len(y) < len(m) || len(inv) < len(m) {
		panic("separate: mulPowAVX512: bad dimensions")
	}
	mulPowAVX512(&m[0], &y[0], &inv[0], len(m), square)
}
