package waf

// Built-in verdicts that no rule file can express.
var (
	badInput = &rule{id: "waf-bad-input", category: "input", sev: High, builtin: true,
		reason: "the tool input could not be read, so it cannot be checked"}
	tooLong = &rule{id: "waf-too-long", category: "input", sev: Medium, builtin: true,
		reason: "the command is too long to inspect"}
	tooDeep = &rule{id: "waf-nesting", category: "evasion", sev: High, builtin: true,
		reason: "the command nests shells or substitutions too deeply to inspect"}
)

func (e *Engine) builtin(scope string, r *rule) Verdict {
	return verdictFor(r, actionFor(e.policyFor(scope), r.sev))
}

func verdictFor(r *rule, a Action) Verdict {
	if a == Allow {
		return Verdict{Action: Allow}
	}
	return Verdict{Action: a, Rule: r.id, Category: r.category, Reason: r.reason, Severity: r.sev}
}

// maxPathWord bounds the words treated as paths (PATH_MAX); it also keeps
// glob matching cheap.
const maxPathWord = 4096

// judge runs the full path: tokenise, derive each simple command, scan the
// normalised text for more candidates, then evaluate candidate rules.
func (e *Engine) judge(st *state, pol Policy, command, writePath string, cand *bitset) Verdict {
	st.reset(len(command) + len(writePath))
	st.src = append(st.src, command...)
	lx := newLexer(st, st.src, 0)
	lx.parseList(0)
	lx.readHeredocs()
	if writePath != "" {
		e.addWriteTarget(st, writePath)
	}
	for i := 0; i < len(st.cmds); i++ {
		e.derive(st, int32(i))
	}
	if st.tooDeep {
		return verdictFor(tooDeep, actionFor(pol, tooDeep.sev))
	}
	e.pre.scanBytes(st.buf[st.scanned:], cand)
	st.scanned = len(st.buf)
	best := Verdict{Action: Allow}
	var bestRule *rule
	var idx [maxRules]uint16
	n := cand.indexes(&idx, len(e.rules))
	for i := range st.cmds {
		if st.cmds[i].w0 == st.cmds[i].w1 {
			continue // empty: a subshell's shell, a function definition
		}
		for _, ri := range idx[:n] {
			r := e.rules[ri]
			if !e.matches(st, int32(i), r) {
				continue
			}
			a := actionFor(pol, r.sev)
			if bestRule == nil || a > best.Action || (a == best.Action && r.sev > bestRule.sev) {
				best, bestRule = verdictFor(r, a), r
				if a == Deny && r.sev == Critical {
					return best
				}
			}
		}
	}
	return best
}

func (e *Engine) addWriteTarget(st *state, path string) {
	ci := int32(len(st.cmds))
	s := int32(len(st.buf))
	st.buf = append(st.buf, path...)
	st.words = append(st.words, word{s: s, e: int32(len(st.buf)), owner: ci, kind: kRedirOut})
	st.buf = append(st.buf, 0)
	st.cmds = append(st.cmds, command{w0: int32(len(st.words) - 1), w1: int32(len(st.words)), own: ci,
		pipe: -1, prev: -1, next: -1, feed: -1, fn: -1, name: -1, outS: -1, derived: true})
}

// next returns the index of the first word of command c at or after k.
func (st *state) next(c *command, k int32) int32 {
	for ; k < c.w1; k++ {
		if st.words[k].owner == c.own {
			return k
		}
	}
	return c.w1
}

// argAt returns the next argv word (kind kArg) of c at or after k.
func (st *state) argAt(c *command, k int32) int32 {
	for k = st.next(c, k); k < c.w1 && st.words[k].kind != kArg; k = st.next(c, k+1) {
	}
	return k
}

// derive finds the command name behind prefixes, spawns nested scripts and
// computes the text the command writes to a pipe, when it is knowable.
func (e *Engine) derive(st *state, ci int32) {
	c := &st.cmds[ci]
	if c.derived {
		return
	}
	c.derived = true
	k := st.argAt(c, c.w0)
	for k < c.w1 && st.words[k].flags&fAssign != 0 {
		k = st.argAt(c, k+1)
	}
	var prefixes uint32
	lastPrefix := int32(-1)
	for k < c.w1 {
		base := baseName(st.text(&st.words[k]))
		spec := prefixSpecFor(base)
		if spec == nil {
			break
		}
		prefixes |= spec.bit
		lastPrefix = k
		var stop bool
		k, stop = e.skipPrefixArgs(st, c, spec, st.argAt(c, k+1))
		if stop { // "command -v x", "sudo -l": the prefix runs nothing itself
			prefixes &^= spec.bit
			k = c.w1
		}
	}
	c = &st.cmds[ci] // nested scripts may have grown st.cmds
	if k >= c.w1 && lastPrefix >= 0 {
		k = lastPrefix // "sudo -i", "env": the prefix is the command
	}
	c.prefixes = prefixes
	if k < c.w1 {
		c.name = k
		e.setName(st, ci)
	}
	e.spawn(st, ci)
	e.output(st, ci)
	if c := &st.cmds[ci]; c.name >= 0 {
		e.recordDownload(st, ci)
	}
}

// setName stores the normalised name: basename, placeholders removed.
func (e *Engine) setName(st *state, ci int32) {
	c := &st.cmds[ci]
	t := baseName(st.text(&st.words[c.name]))
	s := int32(len(st.buf))
	for _, b := range t {
		if b != placeholder {
			st.buf = append(st.buf, b)
		}
	}
	c.nameS, c.nameE = s, int32(len(st.buf))
	st.buf = append(st.buf, 0)
}

func baseName(t []byte) []byte {
	for i := len(t) - 1; i >= 0; i-- {
		if t[i] == '/' {
			if i == len(t)-1 {
				return t // "/" or "dir/": not a command name
			}
			return t[i+1:]
		}
	}
	return t
}

func (st *state) name(c *command) []byte {
	if c.name < 0 {
		return nil
	}
	return st.buf[c.nameS:c.nameE]
}

// skipPrefixArgs skips a prefix's own flags and operands; stop reports a
// prefix form that runs nothing (command -v).
func (e *Engine) skipPrefixArgs(st *state, c *command, spec *prefixSpec, k int32) (int32, bool) {
	operands := spec.operands
	for k < c.w1 {
		t := st.text(&st.words[k])
		switch {
		case string(t) == "--":
			return st.argAt(c, k+1), false
		case len(t) > 1 && t[0] == '-':
			if hasWord(spec.stop, t) {
				return k, true
			}
			if spec.name == "env" && (string(t) == "-S" || string(t) == "--split-string") {
				if v := st.argAt(c, k+1); v < c.w1 {
					e.nestedScript(st, c, st.text(&st.words[v]))
				}
				return c.w1, true
			}
			if hasWord(spec.valueFlags, t) {
				k = st.argAt(c, k+1)
			}
		case spec.name == "env" && st.words[k].flags&fAssign != 0:
		case operands > 0:
			operands--
		default:
			return k, false
		}
		k = st.argAt(c, k+1)
	}
	return k, false
}

// hasWord reports whether t is one of the space-separated words of list.
func hasWord(list string, t []byte) bool {
	for i := 0; i+len(t) <= len(list); {
		j := i
		for j < len(list) && list[j] != ' ' {
			j++
		}
		if j-i == len(t) && list[i:j] == string(t) {
			return true
		}
		i = j + 1
	}
	return false
}

// nestedScript parses text as a script run by command c, one level deeper.
func (e *Engine) nestedScript(st *state, c *command, text []byte) {
	depth := int(c.depth) + 1
	if depth > maxNest {
		st.tooDeep = true
		return
	}
	lx := newLexer(st, text, depth)
	lx.parseList(0)
	lx.readHeredocs()
}
