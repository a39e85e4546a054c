package waf

import (
	"bytes"
	"strings"
)

type glob struct {
	pat   string
	exact bool
	dir   string // for "x/**": x itself also matches
}

// globSet is one predicate line's alternatives, sorted by how cheaply they
// match: literal values in a map, literal directory trees and literal
// prefixes by comparison, the rest by globMatch.
type globSet struct {
	all     []glob // as written, for the naive baseline and messages
	exact   map[string]struct{}
	trees   []string // "/etc/**": /etc and everything below
	suffix  []string // "**/.bashrc": a path ending in /.bashrc
	inside  []string // "**/.gnupg/**": a path through /.gnupg
	general []glob
}

func compileGlobs(vals []string) globSet {
	var gs globSet
	gs.add(vals)
	return gs
}

func (gs *globSet) add(vals []string) {
	if gs.exact == nil {
		gs.exact = map[string]struct{}{}
	}
	for _, v := range vals {
		g := glob{pat: v}
		if strings.HasPrefix(v, "=") {
			g.pat, g.exact = v[1:], true
		} else if d, ok := strings.CutSuffix(v, "/**"); ok {
			g.dir = d
			if d == "" {
				g.dir = "/"
			}
		} else if !strings.ContainsAny(v, "*?") {
			g.exact = true
		}
		gs.all = append(gs.all, g)
		switch {
		case g.exact:
			gs.exact[g.pat] = struct{}{}
		case g.dir != "" && !strings.ContainsAny(g.dir, "*?"):
			gs.trees = append(gs.trees, g.dir)
		case g.dir != "" && strings.HasPrefix(g.dir, "**/") && !strings.ContainsAny(g.dir[3:], "*?"):
			gs.inside = append(gs.inside, g.dir[2:])
		case strings.HasPrefix(v, "**/") && !strings.ContainsAny(v[3:], "*?"):
			gs.suffix = append(gs.suffix, v[2:])
		default:
			gs.general = append(gs.general, g)
		}
	}
}

func (g *glob) match(s []byte) bool {
	if g.exact {
		return string(s) == g.pat
	}
	if g.dir != "" && (string(s) == g.dir || globMatch(g.dir, s)) {
		return true
	}
	return globMatch(g.pat, s)
}

func matchAny(gs *globSet, s []byte) bool {
	if _, ok := gs.exact[string(s)]; ok {
		return true
	}
	for _, d := range gs.trees {
		if len(s) >= len(d) && string(s[:len(d)]) == d &&
			(len(s) == len(d) || s[len(d)] == '/' || d == "/") {
			return true
		}
	}
	for _, x := range gs.suffix {
		if bytes.HasSuffix(s, []byte(x)) {
			return true
		}
	}
	for _, x := range gs.inside {
		if i := bytes.Index(s, []byte(x)); i >= 0 && (i+len(x) == len(s) || s[i+len(x)] == '/') {
			return true
		}
	}
	for i := range gs.general {
		if gs.general[i].match(s) {
			return true
		}
	}
	return false
}

// stops reports bytes a single * does not cross.
func stops(c byte) bool { return c == '/' || c == ' ' || c == '\t' || c == '\n' || c == 0 }

// globMatch is the classic two-pointer wildcard match, extended with two
// star kinds: on a mismatch it first extends the latest '*' (if the next byte
// stays inside a path component), else the latest '**'. Work is
// O(len(pat)·len(s)); callers only pass short words.
func globMatch(pat string, s []byte) bool {
	p, i := 0, 0
	star, starI := -1, 0   // latest single star: pattern index after it, text index
	dstar, dstarI := -1, 0 // latest double star
	for i < len(s) {
		if p < len(pat) {
			switch c := pat[p]; {
			case c == '*' && p+1 < len(pat) && pat[p+1] == '*':
				p += 2
				dstar, dstarI = p, i
				star = -1
				continue
			case c == '*':
				p++
				star, starI = p, i
				continue
			case c == '?' && !stops(s[i]):
				p++
				i++
				continue
			case c == s[i]:
				p++
				i++
				continue
			}
		}
		switch {
		case star >= 0 && !stops(s[starI]):
			starI++
			p, i = star, starI
		case dstar >= 0 && s[dstarI] != ' ' && s[dstarI] != '\n' && s[dstarI] != '\t':
			dstarI++
			p, i = dstar, dstarI
			star = -1
		default:
			return false
		}
	}
	for p < len(pat) && pat[p] == '*' {
		p++
	}
	return p == len(pat)
}

// cleanPath appends to dst the lexically cleaned form of a path word:
// repeated and trailing slashes dropped, "." and ".." resolved, and the
// agent's home directory written as "~" (resolved first, so that ~/.. is
// the directory holding the homes).
func cleanPath(dst, w []byte, home string) []byte {
	start := len(dst)
	var pre []byte
	if home != "" && len(w) > 0 && w[0] == '~' && (len(w) == 1 || w[1] == '/') {
		pre, w = []byte(home), w[1:]
	}
	rooted := len(pre) > 0 || (len(w) > 0 && w[0] == '/')
	if rooted {
		dst = append(dst, '/')
	}
	base := len(dst) // ".." never climbs above this
	dst = appendClean(dst, pre, start, base, rooted)
	dst = appendClean(dst, w, start, base, rooted)
	if len(dst) == start {
		dst = append(dst, '.')
	}
	out := dst[start:]
	if home != "" && len(out) >= len(home) && string(out[:len(home)]) == home &&
		(len(out) == len(home) || out[len(home)] == '/') {
		n := copy(out[1:], out[len(home):])
		out[0] = '~'
		dst = dst[:start+1+n]
	}
	return dst
}

func appendClean(dst, w []byte, start, base int, rooted bool) []byte {
	for i := 0; i < len(w); {
		for i < len(w) && w[i] == '/' {
			i++
		}
		j := i
		for j < len(w) && w[j] != '/' {
			j++
		}
		comp := w[i:j]
		i = j
		switch {
		case len(comp) == 0 || (len(comp) == 1 && comp[0] == '.'):
		case len(comp) == 2 && comp[0] == '.' && comp[1] == '.':
			k := len(dst)
			for k > base && dst[k-1] != '/' {
				k--
			}
			last := dst[k:]
			switch {
			case len(last) == 0 || (string(last) == ".." && !rooted):
				if rooted {
					break // /.. is /
				}
				if len(dst) > base {
					dst = append(dst, '/')
				}
				dst = append(dst, '.', '.')
			case k > base:
				dst = dst[:k-1]
			default:
				dst = dst[:base]
			}
		default:
			if len(dst) > base && dst[len(dst)-1] != '/' {
				dst = append(dst, '/')
			}
			dst = append(dst, comp...)
		}
	}
	return dst
}
