//go:build !linux

package audio

// quietALSA does nothing where there is no ALSA.
func quietALSA(bool) {}
