package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/hotline-dev/hotline/adapters/reply"
)

// Rate limits. discordgo, with ShouldRetryOnRateLimit off, turns a 429 into
// *RateLimitError carrying the body's retry_after, and it still honours
// the X-RateLimit-* headers itself: a route's Reset-After delays that
// route's next request, a global one delays all (it sleeps before sending).
// mapErr makes the 429 a reply.RateLimited so the stream waits and retries
// the same text; nothing is dropped and retries end with the context.

// mapErr converts discordgo's rate-limit errors into reply.RateLimited.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var rle *discordgo.RateLimitError
	// Not err.Error(): discordgo's message carries the URL, and interaction
	// webhook URLs contain the interaction token.
	if errors.As(err, &rle) && rle.RateLimit != nil && rle.TooManyRequests != nil {
		return fmt.Errorf("discord: %w", &reply.RateLimited{RetryAfter: rle.RetryAfter})
	}
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == http.StatusTooManyRequests {
		return fmt.Errorf("discord: %w", &reply.RateLimited{RetryAfter: headerRetryAfter(re.Response.Header)})
	}
	return err
}

func headerRetryAfter(h http.Header) time.Duration {
	secs, err := strconv.ParseFloat(h.Get("Retry-After"), 64)
	if err != nil || secs < 0 {
		return 0
	}
	return time.Duration(secs * float64(time.Second))
}

// rateLimitBody makes every 429 body parseable: discordgo returns a bare
// JSON error (and forgets the status) when a 429 body is not JSON, e.g. from
// a proxy. The header's Retry-After then becomes the body's retry_after.
type rateLimitBody struct{ base http.RoundTripper }

func (t rateLimitBody) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests {
		return resp, err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	var probe struct {
		RetryAfter *float64 `json:"retry_after"`
	}
	if json.Unmarshal(body, &probe) != nil || probe.RetryAfter == nil {
		secs := headerRetryAfter(resp.Header).Seconds()
		body, _ = json.Marshal(map[string]any{"message": "rate limited", "retry_after": secs})
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

const maxRateRetries = 6

// retryRateLimited runs f again after each reply.RateLimited (waiting
// RetryAfter, at least 1 s doubling when the server gave none), up to
// maxRateRetries times or until ctx ends.
func retryRateLimited(ctx context.Context, f func() error) error {
	backoff := time.Second
	for attempt := 0; ; attempt++ {
		err := f()
		var rl *reply.RateLimited
		if err == nil || !errors.As(err, &rl) || attempt >= maxRateRetries {
			return err
		}
		wait := rl.RetryAfter
		if wait <= 0 {
			wait, backoff = backoff, backoff*2
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
}

// noMentions keeps agent output from pinging @everyone, roles or users.
func noMentions() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
}

// send posts a message, retrying rate limits within ctx.
func (a *Adapter) send(ctx context.Context, channel string, m *discordgo.MessageSend) (*discordgo.Message, error) {
	if m.AllowedMentions == nil {
		m.AllowedMentions = noMentions()
	}
	var out *discordgo.Message
	err := retryRateLimited(ctx, func() error {
		var err error
		out, err = a.sess.ChannelMessageSendComplex(channel, m, discordgo.WithContext(ctx))
		return mapErr(err)
	})
	return out, err
}

// edit changes a message, retrying rate limits within ctx.
func (a *Adapter) edit(ctx context.Context, e *discordgo.MessageEdit) error {
	if e.AllowedMentions == nil {
		e.AllowedMentions = noMentions()
	}
	return retryRateLimited(ctx, func() error {
		_, err := a.sess.ChannelMessageEditComplex(e, discordgo.WithContext(ctx))
		return mapErr(err)
	})
}

// poster is reply.Poster over one channel. It does not retry: the stream
// owns retries and coalescing.
type poster struct {
	a       *Adapter
	channel string
}

func (p poster) Post(ctx context.Context, text string) (string, error) {
	m, err := p.a.sess.ChannelMessageSendComplex(p.channel, &discordgo.MessageSend{
		Content: text, AllowedMentions: noMentions(),
	}, discordgo.WithContext(ctx))
	if err != nil {
		return "", mapErr(err)
	}
	if m == nil || m.ID == "" {
		return "", errors.New("discord: message create returned no id")
	}
	return m.ID, nil
}

func (p poster) Edit(ctx context.Context, id, text string) error {
	_, err := p.a.sess.ChannelMessageEditComplex(&discordgo.MessageEdit{
		ID: id, Channel: p.channel, Content: &text, AllowedMentions: noMentions(),
	}, discordgo.WithContext(ctx))
	return mapErr(err)
}
