package waf

import (
	"fmt"
	"math/bits"
	"strings"
)

// The prefilter decides, in one pass over the raw bytes, which rules could
// possibly fire. Keywords are whole words of [a-z0-9_] (a trailing '*' makes
// one a prefix), so instead of a general Aho-Corasick automaton with failure
// links we walk a trie from each word start: a match can only begin where a
// word begins, which makes the automaton a plain table walk, one lookup per
// byte and no backtracking. Quotes and backslashes are skipped the way the
// shell removes them, so r"m" and \rm still spell rm, and case is folded
// (SQL keywords are case-insensitive; for shell words it only adds
// candidates, never hides one).
//
// The walk also reports "needs a full parse" when it sees '$' or a backtick:
// an expansion can glue pieces into a keyword (r${x}m) that no raw scan sees,
// so such commands are always tokenised and the normalised words scanned
// again.

const maxRules = 1024

type bitset [maxRules / 64]uint64

func (b *bitset) set(i int)      { b[i>>6] |= 1 << (uint(i) & 63) }
func (b *bitset) has(i int) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }
func (b *bitset) or(o *bitset) {
	for i := range b {
		b[i] |= o[i]
	}
}

// indexes lists the set bits below n in ascending order.
func (b *bitset) indexes(dst *[maxRules]uint16, n int) int {
	k := 0
	for w, word := range b {
		for word != 0 {
			i := w*64 + bits.TrailingZeros64(word)
			if i >= n {
				return k
			}
			dst[k] = uint16(i)
			k++
			word &= word - 1
		}
	}
	return k
}

func (b *bitset) empty() bool {
	for _, w := range b {
		if w != 0 {
			return false
		}
	}
	return true
}

const (
	numClasses = 37 // a-z, 0-9, _
	clsNone    = 0xff
	clsSkip    = 0xfe // removed by the shell: quotes, backslash
)

var byteClass = func() (t [256]uint8) {
	for i := range t {
		t[i] = clsNone
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = uint8(c - 'a')
		t[c-'a'+'A'] = uint8(c - 'a')
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = uint8(26 + c - '0')
	}
	t['_'] = 36
	t['"'], t['\''], t['\\'] = clsSkip, clsSkip, clsSkip
	return t
}()

type trieNode struct {
	whole  bitset // rules whose keyword ends here at a word end
	prefix bitset // rules whose keyword is a prefix ending here
	isW    bool
	isP    bool
}

type prefilter struct {
	next  []int32 // node*numClasses + class → node, 0 = none (root is never a target)
	nodes []trieNode
	paren bitset // rules keyed on "()" (a function definition)
	hasP  bool
	punct [256]*bitset // rules keyed on one punctuation byte
	all   bitset       // every rule
}

func buildPrefilter(rules []*rule) (*prefilter, error) {
	p := &prefilter{nodes: make([]trieNode, 1), next: make([]int32, numClasses)}
	for ri, r := range rules {
		p.all.set(ri)
		for _, kw := range r.keywords {
			if err := p.add(ri, kw); err != nil {
				return nil, fmt.Errorf("waf: rule %s: %w", r.id, err)
			}
		}
	}
	return p, nil
}

func (p *prefilter) add(ri int, kw string) error {
	if kw == "()" {
		p.paren.set(ri)
		p.hasP = true
		return nil
	}
	if len(kw) == 1 && byteClass[kw[0]] == clsNone {
		if p.punct[kw[0]] == nil {
			p.punct[kw[0]] = new(bitset)
		}
		p.punct[kw[0]].set(ri)
		return nil
	}
	prefix := strings.HasSuffix(kw, "*")
	kw = strings.TrimSuffix(kw, "*")
	if kw == "" {
		return fmt.Errorf("empty keyword")
	}
	n := int32(0)
	for i := 0; i < len(kw); i++ {
		c := byteClass[kw[i]]
		if c >= numClasses {
			return fmt.Errorf("keyword %q: only letters, digits and _ (optionally ending in *) or ()", kw)
		}
		nx := p.next[int(n)*numClasses+int(c)]
		if nx == 0 {
			nx = int32(len(p.nodes))
			p.nodes = append(p.nodes, trieNode{})
			p.next = append(p.next, make([]int32, numClasses)...)
			p.next[int(n)*numClasses+int(c)] = nx
		}
		n = nx
	}
	if prefix {
		p.nodes[n].prefix.set(ri)
		p.nodes[n].isP = true
	} else {
		p.nodes[n].whole.set(ri)
		p.nodes[n].isW = true
	}
	return nil
}

// scan ORs into cand the rules whose keywords occur in s and reports whether
// s needs a full parse regardless (shell expansions present).
//
// Besides keyword runs it follows shell words loosely: a wildcard only
// counts inside a word in command position (after a separator, an
// assignment or a prefix such as nohup), and a '>' only when it is not a
// descriptor copy (2>&1) or a redirection to /dev/null.
func (p *prefilter) scan(s string, cand *bitset) (needParse bool) {
	node := int32(0) // trie node of the current run; -1: the run matches nothing
	inRun := false
	inWord, cmdWord, nextCmd := false, false, true
	wordStart := 0
	var lastPunct byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		cls := byteClass[c]
		if cls == clsSkip {
			continue
		}
		if cls < numClasses {
			if !inWord {
				inWord, cmdWord, nextCmd, wordStart = true, nextCmd, false, i
			}
			lastPunct = 0
			if !inRun {
				inRun, node = true, 0
			}
			if node < 0 {
				continue
			}
			node = p.next[int(node)*numClasses+int(cls)]
			if node == 0 {
				node = -1
			} else if p.nodes[node].isP {
				cand.or(&p.nodes[node].prefix)
			}
			continue
		}
		if inRun && node > 0 && p.nodes[node].isW {
			cand.or(&p.nodes[node].whole)
		}
		inRun, node = false, 0
		switch c {
		case ' ', '\t', '\r', '\v', '\f', '\n', ';', '|', '&', '(', ')', '<', '>', '`':
			if inWord {
				inWord = false
				if cmdWord && keepsCommandPosition(s[wordStart:i]) {
					nextCmd = true
				}
			}
			switch c {
			case '\n', ';', '|', '&', '(', '`':
				nextCmd = true
			case ')':
				if lastPunct == '(' && p.hasP {
					cand.or(&p.paren)
				}
			case '>':
				if b := p.punct['>']; b != nil && !harmlessRedirect(s, i+1) {
					cand.or(b)
				}
			}
			if c == '`' {
				needParse = true
			}
			if !isBlank(c) && c != '\n' {
				lastPunct = c
			}
			continue
		}
		if !inWord {
			inWord, cmdWord, nextCmd, wordStart = true, nextCmd, false, i
		}
		lastPunct = c
		switch c {
		case '$':
			needParse = true
		case '*', '?', '[':
			if !cmdWord {
				continue
			}
		}
		if b := p.punct[c]; b != nil {
			cand.or(b)
		}
	}
	if inRun && node > 0 && p.nodes[node].isW {
		cand.or(&p.nodes[node].whole)
	}
	return needParse
}

// keepsCommandPosition: after an assignment, a reserved word or a command
// prefix the next word is still a command name.
func keepsCommandPosition(w string) bool {
	if strings.IndexByte(w, '=') > 0 {
		return true
	}
	if i := strings.LastIndexByte(w, '/'); i >= 0 {
		w = w[i+1:]
	}
	if w == "" || !prefixFirst[w[0]] {
		return false
	}
	for i := range prefixTable {
		if prefixTable[i].name == w {
			return true
		}
	}
	return false
}

// harmlessRedirect: the '>' ending before s[i] is a descriptor copy (2>&1,
// >&-) or writes to /dev/null.
func harmlessRedirect(s string, i int) bool {
	if i < len(s) && (s[i] == '>' || s[i] == '|') {
		i++
	}
	if i < len(s) && s[i] == '&' {
		return i+1 < len(s) && (isDigit(s[i+1]) || s[i+1] == '-')
	}
	for i < len(s) && isBlank(s[i]) {
		i++
	}
	const null = "/dev/null"
	if !strings.HasPrefix(s[i:], null) {
		return false
	}
	i += len(null)
	return i == len(s) || isBlank(s[i]) || strings.IndexByte(";|&)\n", s[i]) >= 0
}

// scanBytes is scan for normalised text held in the parser's buffer.
func (p *prefilter) scanBytes(b []byte, cand *bitset) {
	// The buffer holds words separated by NUL; converting per call would
	// allocate, so walk it with the same automaton.
	node := int32(0)
	inWord := false
	var lastPunct byte
	for _, c := range b {
		cls := byteClass[c]
		if cls == clsSkip || cls == clsNone {
			if inWord && node > 0 && p.nodes[node].isW {
				cand.or(&p.nodes[node].whole)
			}
			inWord, node = false, 0
			if b := p.punct[c]; b != nil { // normalised text: every occurrence counts
				cand.or(b)
			}
			if c == ')' && lastPunct == '(' && p.hasP {
				cand.or(&p.paren)
			}
			if c != ' ' && c != '\t' && c != '\n' {
				lastPunct = c
			}
			continue
		}
		lastPunct = 0
		if !inWord {
			inWord, node = true, 0
		}
		if node < 0 {
			continue
		}
		node = p.next[int(node)*numClasses+int(cls)]
		if node == 0 {
			node = -1
			continue
		}
		if p.nodes[node].isP {
			cand.or(&p.nodes[node].prefix)
		}
	}
	if inWord && node > 0 && p.nodes[node].isW {
		cand.or(&p.nodes[node].whole)
	}
}
