//go:build race

package apicws

// raceEnabled: the race detector changes escape analysis, so allocation counts
// are only asserted without it.
const raceEnabled = true
