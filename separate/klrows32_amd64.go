//go:build !purego

package separate

//go:noescape
func klRows32A(w *float32, h *float64, v *float64, num *float64, rows, kp int)

//go:noescape
func klRows32B(w *float32, h *float32, v *float64, num *float64, rows, kp int)

//go:noescape
func klRows32C(w *float32, h *float32, v *float64, num *float32, rows, kp int)
