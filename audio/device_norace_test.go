//go:build !race

package audio_test

// raceEnabled: see device_race_test.go.
const raceEnabled = false
