package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hotline-dev/hotline/core"
)

const (
	maxFileBytes = 5 << 20 // the model API's limit for one image
	maxFiles     = 10      // attachments per message
	fileTimeout  = 30 * time.Second
	// maxDownloads bounds concurrent downloads across threads, and so the
	// memory their buffers take (each up to maxFileBytes).
	maxDownloads = 4
	// closingTimeout bounds the shutdown notice: Run waits for it.
	closingTimeout = 5 * time.Second
)

// errLoginPage is Slack's answer to a download without a working token or
// the files:read scope: a sign-in page with status 200.
var errLoginPage = errors.New("Slack answered with a sign-in page (does the app have the files:read scope?)")

// errTooLarge marks a file over maxFileBytes.
var errTooLarge = errors.New("too large")

// attach fetches a message's files and returns the ones to forward, and
// whether the message should still be submitted. Every file not attached
// is named, with the reason, in one short note in the thread, posted
// before the turn starts so it reads before the reply.
func (a *Adapter) attach(ctx context.Context, ev event, text, thread string, log logrus.FieldLogger) ([]core.Attachment, bool) {
	var atts []core.Attachment
	var problems []string
	for i, f := range ev.Files {
		if i >= maxFiles {
			problems = append(problems, fmt.Sprintf("%s (only %d files per message are attached)", f.Name, maxFiles))
			continue
		}
		att, err := a.fetch(ctx, f)
		if ctx.Err() != nil {
			// Shutting down: say so instead of blaming the file.
			log.WithField("file_id", f.ID).Warn("slack: shutdown interrupted a file download; the message was not submitted")
			a.noticeCtx(ev.Channel, thread, core.ErrClosed.Error(), closingTimeout)
			return nil, false
		}
		if err != nil {
			log.WithFields(logrus.Fields{"file_id": f.ID, "file_name": f.Name, "size": f.Size}).WithError(err).
				Warn("slack: file not attached")
			problems = append(problems, f.Name+" ("+reason(err)+")")
			continue
		}
		atts = append(atts, att)
	}
	if ev.MoreFiles > 0 {
		problems = append(problems, fmt.Sprintf("%d more files (only %d files per message are attached)", ev.MoreFiles, maxFiles))
	}
	if len(problems) > 0 {
		note := "I couldn't attach " + strings.Join(problems, "; ") + "."
		if text != "" || len(atts) > 0 {
			note += " The rest of your message went to the agent."
		}
		a.noticeCtx(ev.Channel, thread, note, apiTimeout)
	}
	// With no words and no file left there is nothing to send; the note said why.
	return atts, text != "" || len(atts) > 0
}

// noticeCtx posts text in the thread within d, under workCtx.
func (a *Adapter) noticeCtx(channel, thread, text string, d time.Duration) {
	ctx, cancel := context.WithTimeout(a.workCtx, d)
	defer cancel()
	a.postText(ctx, channel, thread, text)
}

// reason is the user-facing explanation for a failed file.
func reason(err error) string {
	switch {
	case errors.Is(err, errTooLarge):
		return fmt.Sprintf("over the %d MB limit", maxFileBytes>>20)
	case errors.Is(err, context.DeadlineExceeded):
		return "the download timed out"
	}
	return err.Error()
}

// fetch downloads one file within fileTimeout and decides its media type.
func (a *Adapter) fetch(ctx context.Context, f fileRef) (core.Attachment, error) {
	if f.Bad != "" {
		return core.Attachment{}, errors.New(f.Bad)
	}
	if f.Size > maxFileBytes {
		return core.Attachment{}, errTooLarge
	}
	if !a.slackHosted(f.URL) {
		// The bot token goes only to Slack's own hosts.
		return core.Attachment{}, errors.New("its download address is not on Slack")
	}
	ctx, cancel := context.WithTimeout(ctx, fileTimeout)
	defer cancel()
	select {
	case a.downloads <- struct{}{}:
		defer func() { <-a.downloads }()
	case <-ctx.Done():
		return core.Attachment{}, ctx.Err()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL, nil)
	if err != nil {
		return core.Attachment{}, errors.New("its download address is invalid")
	}
	req.Header.Set("Authorization", "Bearer "+a.cfg.BotToken)
	resp, err := a.files.Do(req)
	if err != nil {
		return core.Attachment{}, stripURL(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
		return core.Attachment{}, fmt.Errorf("download failed: HTTP %d", resp.StatusCode)
	}
	if resp.ContentLength > maxFileBytes {
		return core.Attachment{}, errTooLarge
	}
	if baseType(resp.Header.Get("Content-Type")) == "text/html" && baseType(f.Mimetype) != "text/html" {
		return core.Attachment{}, errLoginPage
	}
	// Content-Length (checked above to be within the limit) sizes the
	// buffer once; the limit reader still guards a server that lies.
	buf := bytes.NewBuffer(make([]byte, 0, max(resp.ContentLength, 0)+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxFileBytes+1)); err != nil {
		return core.Attachment{}, fmt.Errorf("download failed: %w", stripURL(err))
	}
	data := buf.Bytes()
	if len(data) > maxFileBytes {
		return core.Attachment{}, errTooLarge
	}
	return core.Attachment{Name: f.Name, MediaType: mediaType(f.Mimetype, data), Data: data}, nil
}

// stripURL drops the URL from a client error: file addresses are not for logs.
func stripURL(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		if errors.Is(ue.Err, context.DeadlineExceeded) {
			return context.DeadlineExceeded
		}
		return fmt.Errorf("download failed: %v", ue.Err)
	}
	return err
}

// slackHosted reports whether raw is on the Web API's host or one of its
// subdomains (slack.com -> files.slack.com), over https or the API's own
// scheme, so a forged file address cannot collect the bot token.
func (a *Adapter) slackHosted(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil {
		return false
	}
	api, err := url.Parse(a.cfg.APIURL)
	if err != nil {
		return false
	}
	if u.Scheme != "https" && u.Scheme != api.Scheme {
		return false
	}
	host, apiHost := strings.ToLower(u.Host), strings.ToLower(api.Host)
	return host == apiHost || strings.HasSuffix(host, "."+apiHost)
}

// mediaType trusts Slack's metadata, falling back to sniffing the bytes
// when it is missing or generic. When both name different image types the
// bytes win: the model API rejects an image whose declared type is wrong.
func mediaType(meta string, data []byte) string {
	mt := baseType(meta)
	sniffed := baseType(http.DetectContentType(data[:min(len(data), 512)]))
	switch {
	case mt == "" || mt == "application/octet-stream":
		return sniffed
	case isImageType(mt) && isImageType(sniffed) && mt != sniffed:
		return sniffed
	}
	return mt
}

// baseType is a media type without parameters, lower-cased ("" if unparsable).
func baseType(v string) string {
	mt, _, err := mime.ParseMediaType(v)
	if err != nil {
		return ""
	}
	return mt
}

// isImageType lists the image types the core forwards to the agent.
func isImageType(mt string) bool {
	switch mt {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		return true
	}
	return false
}
