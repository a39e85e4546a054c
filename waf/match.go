package waf

import "bytes"

// matches reports whether every predicate of r holds for command ci.
func (e *Engine) matches(st *state, ci int32, r *rule) bool {
	c := &st.cmds[ci]
	for i := range r.preds {
		if !e.holds(st, ci, c, &r.preds[i]) {
			return false
		}
	}
	return true
}

func (e *Engine) holds(st *state, ci int32, c *command, p *pred) bool {
	switch p.kind {
	case pCmd:
		return c.name >= 0 && matchAny(&p.globs, st.name(c))
	case pNotCmd:
		return c.name < 0 || !matchAny(&p.globs, st.name(c))
	case pSub:
		k := st.subcommand(c)
		return k < c.w1 && matchAny(&p.globs, st.text(&st.words[k]))
	case pFlag:
		return c.name >= 0 && st.anyFlag(c, p.flags)
	case pArg:
		return e.anyPath(st, c, p, false)
	case pWrite:
		return e.anyPath(st, c, p, true)
	case pWord:
		if c.name < 0 {
			return false
		}
		for k := st.argAt(c, c.name+1); k < c.w1; k = st.argAt(c, k+1) {
			t := st.text(&st.words[k])
			if len(t) <= maxPathWord && matchAny(&p.globs, t) && !matchAny(&p.except, t) {
				return true
			}
		}
		return false
	case pPipeTo:
		return st.pipesTo(c, &p.globs)
	case pAssign:
		end := c.w1
		if c.name >= 0 {
			end = c.name
		}
		for k := st.next(c, c.w0); k < end; k = st.next(c, k+1) {
			w := &st.words[k]
			if w.kind == kArg && w.flags&fAssign != 0 && matchAny(&p.globs, st.text(w)) {
				return true
			}
		}
		return false
	case pPrefix:
		return c.prefixes&p.prefixes != 0
	case pPayload:
		return e.payload(st, ci, c, p)
	case pNotPayload:
		return !e.payload(st, ci, c, p)
	case pSpecial:
		if p.special == spDownloadRun {
			return e.runsDownload(st, c)
		}
		return st.special(c, p.special)
	}
	return false
}

// valueFlagsFor lists global flags that take a value before a subcommand.
func valueFlagsFor(name []byte) string {
	switch string(name) {
	case "git":
		return "-C -c --git-dir --work-tree --namespace --exec-path"
	case "kubectl", "oc":
		return "-n --namespace --context --cluster --kubeconfig -s --server --user --as"
	case "docker", "podman", "nerdctl":
		return "-H --host --context -c --config -l --log-level"
	case "helm":
		return "-n --namespace --kube-context --kubeconfig"
	case "apt", "apt-get":
		return "-o -c -t"
	case "systemctl":
		return "-H --host -M --machine"
	}
	return ""
}

// subcommand is the first operand, skipping global flags and their values.
func (st *state) subcommand(c *command) int32 {
	if c.name < 0 {
		return c.w1
	}
	vf := valueFlagsFor(st.name(c))
	k := st.argAt(c, c.name+1)
	for k < c.w1 {
		t := st.text(&st.words[k])
		if !isFlag(t) {
			return k
		}
		if vf != "" && hasWord(vf, t) {
			k = st.argAt(c, k+1)
		}
		k = st.argAt(c, k+1)
	}
	return k
}

func (st *state) anyFlag(c *command, names []string) bool {
	for k := st.argAt(c, c.name+1); k < c.w1; k = st.argAt(c, k+1) {
		t := st.text(&st.words[k])
		if string(t) == "--" {
			return false
		}
		if flagMatches(t, names) {
			return true
		}
	}
	return false
}

// flagMatches: -rf matches r and f (and rf), --force=x matches force,
// -delete matches delete.
func flagMatches(t []byte, names []string) bool {
	if len(t) < 2 || t[0] != '-' {
		return false
	}
	long := t[1:]
	if long[0] == '-' {
		long = long[1:]
		if i := bytes.IndexByte(long, '='); i >= 0 {
			long = long[:i]
		}
	}
	for _, n := range names {
		if string(long) == n {
			return true
		}
		if len(n) == 1 && t[1] != '-' && bytes.IndexByte(t[1:], n[0]) >= 0 {
			return true
		}
	}
	return false
}

// anyPath tests operands (and input redirections) or write targets, as
// cleaned paths, against the predicate's globs.
func (e *Engine) anyPath(st *state, c *command, p *pred, write bool) bool {
	if write {
		return e.anyWriteTarget(st, c, p)
	}
	from := c.w0
	if c.name >= 0 {
		from = c.name + 1
	}
	dashdash := false
	for k := st.next(c, from); k < c.w1; k = st.next(c, k+1) {
		w := &st.words[k]
		switch {
		case w.kind == kRedirIn:
			if e.wordPathMatch(st, p, k) {
				return true
			}
		case w.kind != kArg || c.name < 0:
		case !dashdash && string(st.text(w)) == "--":
			dashdash = true
		case !dashdash && isFlag(st.text(w)):
		case e.wordPathMatch(st, p, k):
			return true
		}
	}
	return false
}

// anyWriteTarget tests what c writes: output redirections, and the files
// named by tee, truncate, shred, dd of=, sed -i, curl -o, wget -O and the
// destination of cp/mv/install/ln/rsync/scp.
func (e *Engine) anyWriteTarget(st *state, c *command, p *pred) bool {
	var name []byte
	from := c.w0
	if c.name >= 0 {
		name, from = st.name(c), c.name+1
	}
	all := writesOperands(name) ||
		((string(name) == "sed" || string(name) == "perl") && st.anyFlag(c, inPlaceFlags))
	downloader := string(name) == "curl" || string(name) == "wget"
	dashdash, outNext := false, false
	lastOp := int32(-1)
	for k := st.next(c, from); k < c.w1; k = st.next(c, k+1) {
		w := &st.words[k]
		t := st.text(w)
		switch {
		case w.kind == kRedirOut:
			if e.wordPathMatch(st, p, k) {
				return true
			}
			continue
		case w.kind != kArg || c.name < 0:
			continue
		case !dashdash && string(t) == "--":
			dashdash = true
			continue
		case !dashdash && isFlag(t):
			if v, ok := cutOutputFlag(t); ok && downloader {
				if len(v) > 0 && e.pathMatch(st, p, v) {
					return true
				}
				outNext = len(v) == 0
			}
			continue
		}
		lastOp = k
		switch {
		case outNext || all:
			if e.wordPathMatch(st, p, k) {
				return true
			}
			outNext = false
		case string(name) == "dd":
			if v, ok := bytes.CutPrefix(t, []byte("of=")); ok && e.pathMatch(st, p, v) {
				return true
			}
		}
	}
	return lastOp >= 0 && copiesToLast(name) && e.wordPathMatch(st, p, lastOp)
}

var inPlaceFlags = []string{"i", "in-place"}

// cutOutputFlag recognises a download's output flag; v is its attached
// value (empty when the value is the next word).
func cutOutputFlag(t []byte) (v []byte, ok bool) {
	switch string(t) {
	case "-o", "-O", "--output", "--output-document":
		return nil, true
	}
	for _, p := range []string{"--output=", "--output-document="} {
		if v, ok := bytes.CutPrefix(t, []byte(p)); ok {
			return v, true
		}
	}
	return nil, false
}

// writesOperands: commands that write every file operand.
func writesOperands(name []byte) bool {
	switch string(name) {
	case "tee", "truncate", "shred":
		return true
	}
	return false
}

// copiesToLast: commands whose last operand is the destination written.
func copiesToLast(name []byte) bool {
	switch string(name) {
	case "cp", "mv", "install", "ln", "rsync", "scp":
		return true
	}
	return false
}

func (e *Engine) pathMatch(st *state, p *pred, t []byte) bool {
	if len(t) == 0 || len(t) > maxPathWord || bytes.ContainsAny(t, " \t\n") {
		return false
	}
	mark := len(st.aux)
	st.aux = cleanPath(st.aux, t, e.home)
	clean := st.aux[mark:]
	ok := matchAny(&p.globs, clean) && !matchAny(&p.except, clean)
	st.aux = st.aux[:mark]
	return ok
}

// maxPipeWalk bounds how far output is followed through pipes and
// substitutions.
const maxPipeWalk = 64

// pipesTo reports whether c's output reaches a command matching globs: a
// later pipeline stage, or the command a substitution of c feeds (and what
// that one pipes into).
func (st *state) pipesTo(c *command, globs *globSet) bool {
	n := 0
	for cur := c; cur != nil && n < maxPipeWalk; n++ {
		for j := cur.next; j >= 0 && n < maxPipeWalk; j, n = st.cmds[j].next, n+1 {
			if t := &st.cmds[j]; t.name >= 0 && matchAny(globs, st.name(t)) {
				return true
			}
		}
		if cur.feed < 0 {
			return false
		}
		f := &st.cmds[cur.feed]
		if f.name >= 0 && matchAny(globs, st.name(f)) {
			return true
		}
		cur = f
	}
	return false
}

func (e *Engine) payload(st *state, ci int32, c *command, p *pred) bool {
	if c.name < 0 {
		return false
	}
	for k := st.argAt(c, c.name+1); k < c.w1; k = st.argAt(c, k+1) {
		if p.re.Match(st.text(&st.words[k])) {
			return true
		}
	}
	if in, ok := e.input(st, ci); ok {
		return p.re.Match(in)
	}
	return false
}

func (st *state) special(c *command, sp specialKind) bool {
	if c.name < 0 {
		return false
	}
	nw := &st.words[c.name]
	switch sp {
	case spForkBomb:
		if c.fn < 0 || (c.next < 0 && c.prev < 0 && !c.bg) {
			return false
		}
		return bytes.Equal(st.text(&st.words[c.fn]), st.text(nw))
	case spGlobName:
		return nw.flags&fGlob != 0
	case spDynName:
		t := st.text(nw)
		return len(t) > 0 && t[0] == placeholder
	}
	return false
}

// wordPathMatch is pathMatch for word k, cleaning it once per check.
func (e *Engine) wordPathMatch(st *state, p *pred, k int32) bool {
	w := &st.words[k]
	if w.ce == 0 {
		t := st.text(w)
		if len(t) == 0 || len(t) > maxPathWord || bytes.ContainsAny(t, " \t\n") {
			w.cs, w.ce = -1, -1
		} else {
			s := len(st.buf)
			st.buf = cleanPath(st.buf, t, e.home)
			w.cs, w.ce = int32(s), int32(len(st.buf))
			st.buf = append(st.buf, 0)
		}
	}
	if w.cs < 0 {
		return false
	}
	clean := st.buf[w.cs:w.ce]
	return matchAny(&p.globs, clean) && !matchAny(&p.except, clean)
}
