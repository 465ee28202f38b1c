//go:build !linux

package normal

// setNormal: only Linux's threads are changed (JACK's real-time threads are
// the reason; see the package doc).
func setNormal() error { return nil }
