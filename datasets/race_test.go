//go:build race

package datasets_test

// raceEnabled is true under the race detector, which slows training several
// times; time limits are not checked then.
const raceEnabled = true
