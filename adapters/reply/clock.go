package reply

import (
	"context"
	"time"
)

// clock lets tests drive the stream's timers without sleeping.
type clock interface {
	Now() time.Time
	After(d time.Duration) (c <-chan time.Time, stop func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) After(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// sleepUntil waits until the clock reaches at, or ctx ends.
func sleepUntil(ctx context.Context, clk clock, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d := at.Sub(clk.Now())
	if d <= 0 {
		return nil
	}
	c, stop := clk.After(d)
	defer stop()
	select {
	case <-c:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
