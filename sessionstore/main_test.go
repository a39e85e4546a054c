package sessionstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	quiet, _ := logtest.NewNullLogger()
	SetRedisLogger(quiet)
	goleak.VerifyTestMain(m)
}

// guard is the hang guard for test contexts; nothing asserts on time.
const guard = 30 * time.Second

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	t.Cleanup(cancel)
	return ctx
}

func nullLog() (*logrus.Logger, *logtest.Hook) {
	l, h := logtest.NewNullLogger()
	l.SetLevel(logrus.DebugLevel)
	return l, h
}

// baseTime is a whole-millisecond time an hour ago, so records are well
// inside the default retention and sort the same on both backends.
func baseTime() time.Time { return time.Now().Add(-time.Hour).Truncate(time.Millisecond) }

func mkRecord(key string, last time.Time, st State) Record {
	return Record{
		Key:        key,
		SessionID:  "sess-" + key,
		Agent:      "claude",
		WorkDir:    "/work/" + key,
		Created:    last.Add(-time.Minute),
		LastActive: last,
		Turns:      3,
		State:      st,
		Owner:      "inst-1",
		Reply:      ReplyTarget{Channel: "C1", Thread: "T1", Message: "M1"},
	}
}

// sameRecord compares field by field because stored times lose their
// monotonic reading and location.
func sameRecord(got, want Record) error {
	if !got.Created.Equal(want.Created) || !got.LastActive.Equal(want.LastActive) {
		return fmt.Errorf("times differ: got %v/%v, want %v/%v", got.Created, got.LastActive, want.Created, want.LastActive)
	}
	got.Created, got.LastActive = want.Created, want.LastActive
	if got != want {
		return fmt.Errorf("got %+v, want %+v", got, want)
	}
	return nil
}

func mustSame(t testing.TB, got, want Record) {
	t.Helper()
	if err := sameRecord(got, want); err != nil {
		t.Fatal(err)
	}
}

func keysOf(recs []Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Key
	}
	return out
}
