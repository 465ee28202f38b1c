//go:build !race

package audio

// raceWorkaround is needed only in -race builds (see device_race.go).
func raceWorkaround() {}
