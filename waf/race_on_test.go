//go:build race

package waf

// sync.Pool drops items at random under the race detector, so allocation
// counts of the pooled path are only meaningful without it.
const raceEnabled = true
