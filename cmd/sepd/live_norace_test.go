//go:build !race

package main

// raceEnabled: the test binary runs under -race (see countedXruns).
const raceEnabled = false
