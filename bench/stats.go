// Package bench holds the project's benchmarks, the load generator and the
// fault drills. Figures are recorded in RESULTS.md with the command that
// produced them.
package bench

import (
	"slices"
	"testing"
	"time"
)

// Samples collects latencies for percentile reporting: benchmarks report
// p50/p99 from the whole distribution, never a mean.
type Samples struct{ d []time.Duration }

// Add records one latency.
func (s *Samples) Add(d time.Duration) { s.d = append(s.d, d) }

// Len is the number of samples.
func (s *Samples) Len() int { return len(s.d) }

// Quantile returns the q-quantile (0..1) by nearest rank.
func (s *Samples) Quantile(q float64) time.Duration {
	if len(s.d) == 0 {
		return 0
	}
	slices.Sort(s.d)
	i := int(q*float64(len(s.d))+0.5) - 1
	i = min(max(i, 0), len(s.d)-1)
	return s.d[i]
}

// Report adds p50/p99 (and p99.9 with enough samples) in microseconds to b.
func (s *Samples) Report(b *testing.B, prefix string) {
	b.ReportMetric(us(s.Quantile(0.50)), prefix+"p50-µs")
	b.ReportMetric(us(s.Quantile(0.99)), prefix+"p99-µs")
	if len(s.d) >= 1000 {
		b.ReportMetric(us(s.Quantile(0.999)), prefix+"p99.9-µs")
	}
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
