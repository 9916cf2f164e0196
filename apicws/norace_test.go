//go:build !race

package apicws

const raceEnabled = false
