package fakeslack

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The fake answers the real slack-go client as Slack would: posts, edits,
// reactions, injected faults, and the call log.
func TestWebAPIWithRealClient(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	api := slack.New("xoxb-t", slack.OptionAPIURL(s.APIURL()))
	ctx := context.Background()
	auth, err := api.AuthTestContext(ctx)
	if err != nil || auth.UserID != BotUserID || auth.TeamID != TeamID {
		t.Fatalf("auth.test: %+v %v", auth, err)
	}
	_, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false), slack.MsgOptionTS("1.1"))
	if err != nil {
		t.Fatal(err)
	}
	s.FailNth("chat.update", 1, Fault{Status: 429, RetryAfter: "2"})
	s.FailNth("chat.update", 2, Fault{SlackError: "ratelimited"})
	_, _, _, err = api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("a", false))
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); !ok || rl.RetryAfter != 2*time.Second {
		t.Fatalf("429: %v", err)
	}
	_, _, _, err = api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("b", false))
	if se, ok := errors.AsType[slack.SlackErrorResponse](err); !ok || se.Err != "ratelimited" {
		t.Fatalf("ok:false: %v", err)
	}
	if _, _, _, err = api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("final", false)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err = api.UpdateMessageContext(ctx, "C1", "9.9", slack.MsgOptionText("x", false)); err == nil {
		t.Fatal("update of a missing message succeeded")
	}
	if err := api.AddReactionContext(ctx, "eyes", slack.NewRefToMessage("C1", ts)); err != nil {
		t.Fatal(err)
	}
	if err := api.AddReactionContext(ctx, "eyes", slack.NewRefToMessage("C1", ts)); err == nil {
		t.Fatal("double reaction accepted")
	}
	msgs := s.Messages("C1")
	if len(msgs) != 1 || msgs[0].Text != "final" || msgs[0].ThreadTS != "1.1" || msgs[0].Edits != 1 {
		t.Fatalf("messages %+v", msgs)
	}
	if r := s.Reactions("C1", ts); len(r) != 1 || r[0] != "eyes" {
		t.Fatalf("reactions %v", r)
	}
	if n := s.Count("chat.update"); n != 4 {
		t.Fatalf("chat.update count %d", n)
	}
	if calls, ok := s.WaitFor(func(c []Call) bool { return len(c) == 8 }, time.Second); !ok || !calls[2].Fault {
		t.Fatalf("call log %d entries", len(calls))
	}
	if _, err := s.Inject(Envelope{Type: "events_api"}); !errors.Is(err, ErrNoSocket) {
		t.Fatalf("inject without socket: %v", err)
	}
}
