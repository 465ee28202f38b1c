//go:build !amd64 || purego

package separate

// peakFLOPs is 0 where there is no assembly to measure the peak with.
func peakFLOPs(n int) float64 { return 0 }

// singleFast: the float32 passes have no assembly here (see klrows_amd64.go).
const singleFast = false
