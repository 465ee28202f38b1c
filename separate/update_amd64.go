//go:build !purego

package separate

func init() {
	if haveAVX512 {
		mulUpdateAsm = mulUpdateAVX512Slices
		mulUpdateCbrtAsm = mulUpdateCbrtAVX512Slices
	}
}

// mulUpdateCbrtAVX512 is powUpdateGo for gamma 2/3 and n a multiple of 8
// (update_amd64.s).
//
//go:noescape
func mulUpdateCbrtAVX512(h, num, den *float64, n int, tiny float64) (maxDelta, maxH float64)

func mulUpdateCbrtAVX512Slices(h, num, den []float64, tiny float64) (maxDelta, maxH float64) {
	n := len(h)
	if n == 0 || n&7 != 0 || len(num) < n || len(den) < n {
		panic("separate: mulUpdateCbrtAVX512: bad dimensions")
	}
	return mulUpdateCbrtAVX512(&h[0], &num[0], &den[0], n, tiny)
}

// mulUpdateAVX512 is mulUpdateGo for n a multiple of 8 (update_amd64.s).
//
//go:noescape
func mulUpdateAVX512(h, num, den *float64, n int, tiny float64) (maxDelta, maxH float64)

func mulUpdateAVX512Slices(h, num, den []float64, tiny float64) (maxDelta, maxH float64) {
	n := len(h)
	if n == 0 || n&7 != 0 || len(num) < n || len(den) < n {
		panic("separate: mulUpdateAVX512: bad dimensions")
	}
	return mulUpdateAVX512(&h[0], &num[0], &den[0], n, tiny)
}
