module tphakalasurvey

go 1.26

require github.com/tphakala/go-audio-resampler v1.4.0

require (
	github.com/tphakala/simd v1.1.0 // indirect
	golang.org/x/sys v0.45.0 // indirect
)
