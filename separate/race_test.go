//go:build race

package separate

// raceEnabled is true under the race detector, which makes the long
// numerical tests several times slower: the extras skip themselves.
const raceEnabled = true
