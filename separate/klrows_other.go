//go:build !amd64 || purego

package separate

// peakFLOPs is 0 where there is no assembly to measure the peak with.
func peakFLOPs(n int) float64 { return 0 }
