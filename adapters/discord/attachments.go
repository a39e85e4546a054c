package discord

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
	"github.com/hotline-dev/hotline/core"
	"github.com/sirupsen/logrus"
)

// Attachment limits. 5 MB is the model API's image limit; Discord itself
// allows 10 files per message.
const (
	maxFileBytes  = 5 << 20
	maxFiles      = 10
	fetchTimeout  = 30 * time.Second // all downloads of one message
	fetchParallel = 4
	maxNameRunes  = 100
	maxRedirects  = 3
)

// cdnOrigins are where Discord serves attachments. The origin of
// DISCORD_API_URL is allowed as well (on-premise variants, the fake).
var cdnOrigins = []string{"https://cdn.discordapp.com", "https://media.discordapp.net"}

// attachmentRef is a checked entry of a message's attachments. The URLs
// carry signatures in their query: they are never logged.
type attachmentRef struct {
	ID          string
	Name        string // safe to show and log
	ContentType string // the platform's metadata, may be empty
	Size        int
	URL         string // parsed as absolute http(s), or "" when unusable
	ProxyURL    string
}

func decodeAttachments(in []*discordgo.MessageAttachment) []attachmentRef {
	var out []attachmentRef
	for i, at := range in {
		if at == nil {
			continue
		}
		ref := attachmentRef{
			ID: at.ID, Name: safeName(at.Filename, i), ContentType: at.ContentType, Size: at.Size,
			URL: absURL(at.URL), ProxyURL: absURL(at.ProxyURL),
		}
		if !isSnowflake(ref.ID) {
			ref.ID = ""
		}
		out = append(out, ref)
	}
	return out
}

// safeName keeps a file name fit for a one-line note and a log field.
func safeName(name string, i int) string {
	if j := strings.LastIndexAny(name, `/\`); j >= 0 {
		name = name[j+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) || r == '`' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > maxNameRunes {
		name = string([]rune(name)[:maxNameRunes-1]) + "…"
	}
	if name == "" {
		name = fmt.Sprintf("attachment %d", i+1)
	}
	return name
}

func absURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return s
}

// origin is scheme://host of an absolute URL, lowercased.
func origin(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// fileClient downloads attachments without credentials: the CDN's URLs
// are signed, and the bot token must not travel to any other host.
type fileClient struct {
	http    *http.Client
	origins map[string]bool
}

func newFileClient(rt http.RoundTripper, apiBase string) *fileClient {
	fc := &fileClient{origins: map[string]bool{origin(apiBase): true}}
	for _, o := range cdnOrigins {
		fc.origins[o] = true
	}
	fc.http = &http.Client{Transport: rt, Timeout: fetchTimeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) > maxRedirects {
			return errors.New("too many redirects")
		}
		if !fc.origins[origin(req.URL.String())] {
			return errors.New("redirected away from Discord's CDN")
		}
		return nil
	}}
	return fc
}

// fetchFailure is why a file was not attached, in words for the user.
type fetchFailure struct {
	reason string
	cause  error // for the log; never carries the URL
}

func (f *fetchFailure) Error() string { return f.reason }

func fail(reason string, cause error) *fetchFailure {
	return &fetchFailure{reason: reason, cause: cause}
}

// get downloads one file, at most maxFileBytes of it.
func (fc *fileClient) get(ctx context.Context, ref attachmentRef) ([]byte, *fetchFailure) {
	if ref.Size > maxFileBytes {
		return nil, fail(fmt.Sprintf("%s, over the %d MB limit", mb(ref.Size), maxFileBytes>>20), nil)
	}
	target := ref.URL
	if !fc.origins[origin(target)] {
		target = ref.ProxyURL
	}
	if target == "" || !fc.origins[origin(target)] {
		return nil, fail("not on Discord's file server", nil)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fail("bad download address", nil)
	}
	resp, err := fc.http.Do(req)
	if err != nil {
		// *url.Error's text holds the signed URL; keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
			return nil, fail("download timed out", err)
		}
		if ctx.Err() != nil {
			return nil, fail("download cancelled", err)
		}
		return nil, fail("download failed", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fail(fmt.Sprintf("download failed: HTTP %d", resp.StatusCode), nil)
	}
	if resp.ContentLength > maxFileBytes {
		return nil, fail(fmt.Sprintf("%s, over the %d MB limit", mb(int(resp.ContentLength)), maxFileBytes>>20), nil)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxFileBytes+1))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fail("download broke off", err)
	}
	if len(data) > maxFileBytes {
		return nil, fail(fmt.Sprintf("over the %d MB limit", maxFileBytes>>20), nil)
	}
	return data, nil
}

// mb rounds up, so a file just over the limit does not read as "5.0 MB".
func mb(n int) string { return fmt.Sprintf("%.1f MB", math.Ceil(float64(n)*10/(1<<20))/10) }

// fetchAttachments downloads a message's files, a few at a time, within
// fetchTimeout. It returns the files that arrived, in the message's order,
// and "name (why)" for each one that did not.
func (a *Adapter) fetchAttachments(ctx context.Context, refs []attachmentRef, log logrus.FieldLogger) ([]core.Attachment, []string) {
	if len(refs) == 0 {
		return nil, nil
	}
	n := min(len(refs), maxFiles)
	data, fails := a.downloadAll(ctx, refs[:n])
	var out []core.Attachment
	var problems []string
	for i, ref := range refs {
		if i >= n {
			problems = append(problems, ref.Name+" (more than "+fmt.Sprint(maxFiles)+" files in one message)")
			continue
		}
		if f := fails[i]; f != nil {
			log.WithFields(logrus.Fields{"attachment_id": ref.ID, "file": ref.Name, "size": ref.Size, "reason": f.reason}).
				WithError(f.cause).Warn("discord: attachment not attached")
			problems = append(problems, ref.Name+" ("+f.reason+")")
			continue
		}
		out = append(out, core.Attachment{Name: ref.Name, MediaType: mediaType(ref.ContentType, data[i]), Data: data[i]})
	}
	return out, problems
}

// downloadAll fetches refs, fetchParallel at a time, and returns when all
// are done or fetchTimeout has passed.
func (a *Adapter) downloadAll(ctx context.Context, refs []attachmentRef) ([][]byte, []*fetchFailure) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	data := make([][]byte, len(refs))
	fails := make([]*fetchFailure, len(refs))
	sem := make(chan struct{}, fetchParallel)
	var wg sync.WaitGroup
	for i := range refs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			data[i], fails[i] = a.files.get(ctx, refs[i])
		}()
	}
	wg.Wait()
	return data, fails
}

// attachNote is the one message telling the user which files were left out.
func attachNote(problems []string, textSent bool) string {
	note := "Not attached: " + strings.Join(problems, "; ") + "."
	if textSent {
		it := "it"
		if len(problems) > 1 {
			it = "them"
		}
		note += " Your message was passed on without " + it + "."
	}
	return note
}

// mediaType is the platform's content type without parameters, else what
// the bytes look like.
func mediaType(meta string, data []byte) string {
	if mt, _, err := mime.ParseMediaType(meta); err == nil && mt != "application/octet-stream" && strings.Contains(mt, "/") {
		return mt
	}
	mt, _, err := mime.ParseMediaType(http.DetectContentType(data[:min(len(data), 512)]))
	if err != nil {
		return "application/octet-stream"
	}
	return mt
}
