package slack

import (
	"regexp"
	"strconv"
	"strings"
)

// Markdown → Slack mrkdwn. Agents write CommonMark-ish Markdown; Slack's
// mrkdwn differs in bold (*x*), italics (_x_), strike (~x~), links
// (<url|text>) and has no headings or language tags on fences. Code spans and
// fenced blocks are kept verbatim apart from the &, <, > escapes Slack
// requires everywhere.

var (
	reLink    = regexp.MustCompile(`\[([^\]\n]+)\]\((https?://[^\s)]+|mailto:[^\s)]+)\)`)
	reBold    = regexp.MustCompile(`\*\*([^*\n]+?)\*\*|__([^_\n]+?)__`)
	reItalic  = regexp.MustCompile(`(^|[^*\w])\*([^*\s][^*\n]*?)\*($|[^*\w])`)
	reStrike  = regexp.MustCompile(`~~([^~\n]+?)~~`)
	reHeading = regexp.MustCompile(`^#{1,6}\s+(.+?)\s*#*\s*$`)
	reBullet  = regexp.MustCompile(`^(\s*)[-*+]\s+`)
	reRule    = regexp.MustCompile(`^\s*([-*_])(\s*[-*_]){2,}\s*$`)
)

// escapeMrkdwn escapes the three characters Slack treats as control syntax.
func escapeMrkdwn(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Mrkdwn converts Markdown to Slack mrkdwn.
func Mrkdwn(md string) string {
	lines := strings.Split(md, "\n")
	out := make([]string, 0, len(lines))
	inFence := false
	for _, line := range lines {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			// Slack has no fence languages; a lone ``` keeps the block intact.
			if !inFence {
				rest := strings.TrimSpace(strings.TrimPrefix(trimmed, "```"))
				inFence = !strings.HasSuffix(rest, "```") || rest == ""
				if inFence {
					out = append(out, "```")
					continue
				}
			} else {
				inFence = false
				out = append(out, "```")
				continue
			}
		}
		if inFence {
			out = append(out, escapeMrkdwn(line))
			continue
		}
		out = append(out, convertLine(line))
	}
	return strings.Join(out, "\n")
}

func convertLine(line string) string {
	if reRule.MatchString(line) {
		return "──────────"
	}
	if m := reHeading.FindStringSubmatch(line); m != nil {
		return "*" + convertInline(m[1]) + "*"
	}
	quote := ""
	if strings.HasPrefix(line, ">") {
		quote = "&gt;"
		line = strings.TrimPrefix(line, ">")
	}
	if m := reBullet.FindStringSubmatch(line); m != nil {
		return quote + m[1] + "• " + convertInline(line[len(m[0]):])
	}
	return quote + convertInline(line)
}

// convertInline converts the inline syntax outside `code spans`.
func convertInline(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '`')
		if i < 0 {
			b.WriteString(convertText(s))
			return b.String()
		}
		j := strings.IndexByte(s[i+1:], '`')
		if j < 0 {
			b.WriteString(convertText(s))
			return b.String()
		}
		b.WriteString(convertText(s[:i]))
		b.WriteString("`" + escapeMrkdwn(s[i+1:i+1+j]) + "`")
		s = s[i+2+j:]
	}
}

// convertText handles a run of text without code spans. Links are turned
// into placeholders first so their URLs are not touched by the emphasis rules.
func convertText(s string) string {
	var links []string
	if !strings.ContainsRune(s, 0) { // NUL delimits the placeholders
		s = reLink.ReplaceAllStringFunc(s, func(m string) string {
			sub := reLink.FindStringSubmatch(m)
			links = append(links, "<"+escapeMrkdwn(sub[2])+"|"+escapeMrkdwn(sub[1])+">")
			return "\x00" + strconv.Itoa(len(links)-1) + "\x00"
		})
	}
	s = escapeMrkdwn(s)
	s = reItalic.ReplaceAllString(s, "${1}_${2}_${3}")
	s = reBold.ReplaceAllStringFunc(s, func(m string) string {
		sub := reBold.FindStringSubmatch(m)
		return "*" + sub[1] + sub[2] + "*"
	})
	s = reStrike.ReplaceAllString(s, "~$1~")
	for i, l := range links {
		s = strings.Replace(s, "\x00"+strconv.Itoa(i)+"\x00", l, 1)
	}
	return s
}
