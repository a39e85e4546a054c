package core

import (
	"context"
	"time"

	"github.com/hotline-dev/hotline/sessionstore"
)

// Lister finds the sessions a store holds as warm, oldest first.
type Lister interface {
	Idle(ctx context.Context, before time.Time, limit int) ([]sessionstore.Record, error)
}

// Notifier posts in a thread outside any turn; adapters implement it.
type Notifier interface {
	Notify(ctx context.Context, key, messageID, text string) error
}

// RecoverInterrupted tells every thread whose turn an earlier, crashed
// bridge left running to send its message again, and clears those marks.
// A thread that cannot be told keeps its mark for the next start. It
// returns how many threads were told.
func (r *Router) RecoverInterrupted(ctx context.Context, l Lister, n Notifier) (int, error) {
	recs, err := l.Idle(ctx, time.Now().Add(time.Minute), sessionstore.MaxIdleLimit)
	if err != nil {
		return 0, err
	}
	told := 0
	for _, rec := range recs {
		if rec.InFlight == "" || rec.Owner == r.cfg.Instance {
			continue
		}
		log := r.log.WithField("session_key", rec.Key)
		if err := n.Notify(ctx, rec.Key, rec.InFlight, errShutdown.Error()); err != nil {
			log.WithError(err).Warn("could not tell a thread its message was interrupted")
			continue
		}
		log.Info("told the thread that a crash interrupted its message")
		told++
		rec.InFlight = ""
		rec.State = sessionstore.StateIdle // its agent died with the old bridge
		r.rec.putSync(rec)
	}
	return told, nil
}
