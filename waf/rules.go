package waf

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// Rule file format, one directive per line ('#' starts a comment line):
//
//	set NAME value...          a named list, used as @NAME in later lines
//	rule ID                    starts a rule; the lines below describe it
//	  category CAT             required
//	  severity low|medium|high|critical   required
//	  keywords word...         required: the prefilter literals (word or word*)
//	  reason TEXT              required: shown in the chat thread
//	  cmd glob...              command name (after sudo/env/... and paths)
//	  notcmd glob...
//	  sub glob...              first operand (git push, kubectl delete)
//	  flag name...             a flag: single letters match inside clusters
//	  arg glob...              an operand or input redirection, as a clean path
//	  word glob...             any word after the command name, verbatim
//	  write glob...            a write target: > >> tee, cp/mv/ln dest, dd of=, sed -i,
//	                           curl -o, wget -O, the Write/Edit tools' path
//	  except glob...           exclusions for the arg/word/write line above
//	  pipeto glob...           the output reaches a command named so
//	  assign glob...           a NAME=value assignment
//	  prefix name...           the command ran under sudo, env, ...
//	  payload REGEX            an operand or the command's stdin matches
//	  special forkbomb|globname|dynname|downloadrun
//	  disabled                 (operator file) switch the rule off
//
// Every predicate line must hold for the rule to fire; the values on one
// line are alternatives. Globs: * matches within a path component, ** across
// components, ? one byte; a leading = makes the value literal (\@ escapes
// a leading @); a pattern
// ending in /** also matches the directory itself.

type predKind uint8

const (
	pCmd predKind = iota
	pNotCmd
	pSub
	pFlag
	pArg
	pWord
	pWrite
	pPipeTo
	pAssign
	pPrefix
	pPayload
	pNotPayload
	pSpecial
)

var predNames = map[string]predKind{
	"cmd": pCmd, "notcmd": pNotCmd, "sub": pSub, "flag": pFlag, "arg": pArg, "word": pWord,
	"write": pWrite, "pipeto": pPipeTo, "assign": pAssign, "prefix": pPrefix,
	"payload": pPayload, "notpayload": pNotPayload, "special": pSpecial,
}

type specialKind uint8

const (
	spForkBomb specialKind = iota + 1
	spGlobName
	spDynName
	spDownloadRun
)

var specialNames = map[string]specialKind{"forkbomb": spForkBomb, "globname": spGlobName, "dynname": spDynName,
	"downloadrun": spDownloadRun}

type pred struct {
	kind     predKind
	globs    globSet
	except   globSet
	flags    []string
	re       *regexp.Regexp
	prefixes uint32
	special  specialKind
}

type rule struct {
	id, category, reason string
	sev                  Severity
	keywords             []string
	preds                []pred
	disabled             bool
	builtin              bool
	file                 string
	line                 int
}

type ruleSet struct {
	rules []*rule
	sets  map[string][]string
}

// parseRules parses one rule file. Sets from an earlier file are visible.
func parseRules(file string, data []byte, sets map[string][]string) (*ruleSet, error) {
	rs := &ruleSet{sets: make(map[string][]string, len(sets))}
	for k, v := range sets {
		rs.sets[k] = v
	}
	seen := map[string]int{}
	var cur *rule
	finish := func() error {
		if cur == nil {
			return nil
		}
		if err := cur.validate(); err != nil {
			return fmt.Errorf("%s:%d: rule %s: %v", file, cur.line, cur.id, err)
		}
		rs.rules = append(rs.rules, cur)
		cur = nil
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		key, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		fail := func(format string, a ...any) error {
			return fmt.Errorf("%s:%d: %s", file, n, fmt.Sprintf(format, a...))
		}
		switch key {
		case "set":
			if err := finish(); err != nil {
				return nil, err
			}
			name, vals, _ := strings.Cut(rest, " ")
			if name == "" || !isIdent(name) {
				return nil, fail("set needs a name of letters, digits, - or _")
			}
			list, err := rs.expand(strings.Fields(vals))
			if err != nil {
				return nil, fail("%v", err)
			}
			rs.sets[name] = list
		case "rule":
			if err := finish(); err != nil {
				return nil, err
			}
			if !isIdent(rest) {
				return nil, fail("rule needs an id of letters, digits, - or _, got %q", rest)
			}
			if prev, dup := seen[rest]; dup {
				return nil, fail("rule %s already defined on line %d", rest, prev)
			}
			seen[rest] = n
			cur = &rule{id: rest, file: file, line: n}
		default:
			if cur == nil {
				return nil, fail("%q outside a rule (start one with \"rule ID\")", key)
			}
			if err := cur.parseLine(rs, key, rest); err != nil {
				return nil, fail("%v", err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return rs, nil
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) && s[i] != '-' {
			return false
		}
	}
	return true
}

func (rs *ruleSet) expand(vals []string) ([]string, error) {
	var out []string
	for _, v := range vals {
		if strings.HasPrefix(v, `\`) { // \@x is a literal @x
			out = append(out, v[1:])
			continue
		}
		if strings.HasPrefix(v, "@") {
			set, ok := rs.sets[v[1:]]
			if !ok {
				return nil, fmt.Errorf("unknown set %s", v)
			}
			out = append(out, set...)
			continue
		}
		out = append(out, v)
	}
	return out, nil
}

func (r *rule) parseLine(rs *ruleSet, key, rest string) error {
	switch key {
	case "category":
		r.category = rest
	case "reason":
		r.reason = rest
	case "severity":
		s, err := ParseSeverity(rest)
		if err != nil {
			return err
		}
		r.sev = Severity(s) + 1 // stored +1 so that "unset" is detectable
	case "disabled":
		r.disabled = true
	case "keywords":
		for _, k := range strings.Fields(strings.ToLower(rest)) {
			if set, ok := strings.CutPrefix(k, "@"); ok && set != "" {
				vals, ok := rs.sets[set]
				if !ok {
					return fmt.Errorf("unknown set %s", k)
				}
				for _, v := range vals {
					if kw := keywordOf(strings.ToLower(v)); kw != "" {
						r.keywords = append(r.keywords, kw)
					}
				}
				continue
			}
			if !validKeyword(k) {
				return fmt.Errorf("keyword %q: use letters, digits and _ (optionally ending in *), (), or one of %s", k, punctKeywords)
			}
			r.keywords = append(r.keywords, k)
		}
	case "except":
		if len(r.preds) == 0 {
			return fmt.Errorf("except must follow an arg, word or write line")
		}
		p := &r.preds[len(r.preds)-1]
		if p.kind != pArg && p.kind != pWord && p.kind != pWrite {
			return fmt.Errorf("except must follow an arg, word or write line")
		}
		vals, err := rs.expand(strings.Fields(rest))
		if err != nil {
			return err
		}
		p.except.add(vals)
	default:
		kind, ok := predNames[key]
		if !ok {
			return fmt.Errorf("unknown directive %q", key)
		}
		return r.addPred(rs, kind, rest)
	}
	return nil
}

// punctKeywords are single bytes that make a rule a candidate wherever they
// appear (wildcards in command names, $ for dynamic names).
const punctKeywords = "* ? [ $ @ >"

// keywordOf derives a keyword from a set value used in a keywords line: its
// leading word (nc.* → nc, apt-get → apt, python3* → python3*).
func keywordOf(v string) string {
	n := 0
	for n < len(v) && byteClass[v[n]] < numClasses {
		n++
	}
	if n == 0 {
		return ""
	}
	if n < len(v) && v[n] == '*' {
		return v[:n+1]
	}
	return v[:n]
}

func validKeyword(k string) bool {
	if k == "()" || (len(k) == 1 && strings.Contains(punctKeywords, k)) {
		return true
	}
	k = strings.TrimSuffix(k, "*")
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if byteClass[k[i]] >= numClasses {
			return false
		}
	}
	return true
}

func (r *rule) addPred(rs *ruleSet, kind predKind, rest string) error {
	p := pred{kind: kind}
	switch kind {
	case pPayload, pNotPayload:
		re, err := regexp.Compile(rest)
		if err != nil {
			return fmt.Errorf("payload: %v", err)
		}
		p.re = re
		r.preds = append(r.preds, p)
		return nil
	}
	vals, err := rs.expand(strings.Fields(rest))
	if err != nil {
		return err
	}
	if len(vals) == 0 {
		return fmt.Errorf("%s needs at least one value", rest)
	}
	switch kind {
	case pFlag:
		for _, v := range vals {
			p.flags = append(p.flags, strings.TrimLeft(v, "-"))
		}
	case pPrefix:
		for _, v := range vals {
			bit := prefixBit(v)
			if bit == 0 {
				return fmt.Errorf("prefix: %q is not a known command prefix", v)
			}
			p.prefixes |= bit
		}
	case pSpecial:
		sp, ok := specialNames[vals[0]]
		if !ok || len(vals) != 1 {
			return fmt.Errorf("special: want one of forkbomb, globname, dynname, downloadrun")
		}
		p.special = sp
	default:
		p.globs = compileGlobs(vals)
	}
	r.preds = append(r.preds, p)
	return nil
}

func (r *rule) validate() error {
	if r.disabled {
		return nil
	}
	switch {
	case r.category == "":
		return fmt.Errorf("missing category")
	case r.sev == 0:
		return fmt.Errorf("missing severity")
	case r.reason == "":
		return fmt.Errorf("missing reason")
	case len(r.keywords) == 0:
		return fmt.Errorf("missing keywords")
	case len(r.preds) == 0:
		return fmt.Errorf("no match lines (cmd, arg, write, ...)")
	}
	r.sev--
	return nil
}

// merge applies an operator file: same id replaces, disabled removes.
func (rs *ruleSet) merge(over *ruleSet) {
	idx := map[string]int{}
	for i, r := range rs.rules {
		idx[r.id] = i
	}
	for _, r := range over.rules {
		if i, ok := idx[r.id]; ok {
			rs.rules[i] = r
			continue
		}
		idx[r.id] = len(rs.rules)
		rs.rules = append(rs.rules, r)
	}
}

func (rs *ruleSet) active() []*rule {
	var out []*rule
	for _, r := range rs.rules {
		if !r.disabled {
			out = append(out, r)
		}
	}
	return out
}
