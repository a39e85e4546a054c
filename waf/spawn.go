package waf

import "bytes"

// prefixSpec describes a command that runs another command: it is stripped
// so that rules see the real command name ("sudo /bin/rm -rf /" is rm).
type prefixSpec struct {
	name       string
	bit        uint32
	valueFlags string // space-separated flags that take the next word
	operands   int    // operands before the command (timeout DURATION)
	stop       string // flags after which no command runs (command -v)
}

var prefixTable = func() []prefixSpec {
	t := []prefixSpec{
		{name: "sudo", valueFlags: "-u -g -h -p -C -D -r -t -U -T --user --group --host --prompt --chdir --role --type --other-user --close-from --command-timeout", stop: "-l -v -V -k -K -e --list --validate --edit"},
		{name: "doas", valueFlags: "-u -C"},
		{name: "pkexec", valueFlags: "--user"},
		{name: "env", valueFlags: "-u -C --unset --chdir"},
		{name: "command", stop: "-v -V"},
		{name: "builtin"},
		{name: "exec", valueFlags: "-a"},
		{name: "busybox"},
		{name: "nohup"},
		{name: "time", valueFlags: "-f -o --format --output"},
		{name: "xargs", valueFlags: "-I -n -P -L -l -s -d -E -e -a --max-args --max-procs --max-lines --arg-file --delimiter --replace --eof --max-chars"},
		{name: "nice", valueFlags: "-n --adjustment"},
		{name: "ionice", valueFlags: "-c -n -p -P -u --class --classdata"},
		{name: "timeout", valueFlags: "-s -k --signal --kill-after", operands: 1},
		{name: "stdbuf", valueFlags: "-i -o -e --input --output --error"},
		{name: "setsid"},
		{name: "chronic"},
		{name: "unbuffer"},
		{name: "strace", valueFlags: "-e -o -p -s -u -E -P -I -b -a -X"},
		{name: "ltrace", valueFlags: "-e -o -p -s -u -n"},
		{name: "flock", valueFlags: "-w -E --timeout --conflict-exit-code", operands: 1},
		{name: "chroot", valueFlags: "--userspec --groups", operands: 1},
		{name: "then"}, {name: "do"}, {name: "else"}, {name: "elif"}, {name: "if"},
		{name: "while"}, {name: "until"}, {name: "!"}, {name: "{"},
	}
	for i := range t {
		t[i].bit = 1 << uint(i)
	}
	return t
}()

// prefixFirst marks the first bytes of prefix names, so most command
// names are rejected with one lookup.
var prefixFirst = func() (t [256]bool) {
	for _, p := range prefixTable {
		t[p.name[0]] = true
	}
	return t
}()

func prefixSpecFor(name []byte) *prefixSpec {
	if len(name) == 0 || !prefixFirst[name[0]] {
		return nil
	}
	for i := range prefixTable {
		if prefixTable[i].name == string(name) {
			return &prefixTable[i]
		}
	}
	return nil
}

func prefixBit(name string) uint32 {
	if p := prefixSpecFor([]byte(name)); p != nil {
		return p.bit
	}
	return 0
}

// isShell: shells whose -c argument, or stdin, is a script.
func isShell(name []byte) bool {
	switch string(name) {
	case "sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "rbash", "fish", "csh", "tcsh":
		return true
	}
	return false
}

// spawn parses the scripts command ci runs: sh -c, a shell fed by a pipe or
// heredoc, eval, su -c, watch, ssh, find -exec.
func (e *Engine) spawn(st *state, ci int32) {
	c := &st.cmds[ci]
	if c.name < 0 {
		return
	}
	name := st.name(c)
	first := st.argAt(c, c.name+1)
	switch {
	case isShell(name):
		e.spawnShell(st, ci, first)
	case string(name) == "eval":
		if out, ok := e.substOutput(st, ci, first); ok && st.argAt(c, first+1) >= c.w1 {
			e.nestedScript(st, c, out) // eval "$(echo ... | base64 -d)"
			return
		}
		e.spawnJoined(st, ci, first)
	case string(name) == "su" || string(name) == "runuser":
		for k := first; k < c.w1; k = st.argAt(c, k+1) {
			t := st.text(&st.words[k])
			if string(t) == "-c" || string(t) == "--command" {
				if v := st.argAt(c, k+1); v < c.w1 {
					e.nestedScript(st, c, st.text(&st.words[v]))
				}
				return
			}
			if v, ok := bytes.CutPrefix(t, []byte("--command=")); ok {
				e.nestedScript(st, c, v)
				return
			}
		}
	case string(name) == "watch":
		k := first
		for k < c.w1 && isFlag(st.text(&st.words[k])) {
			if hasWord("-n --interval", st.text(&st.words[k])) {
				k = st.argAt(c, k+1)
			}
			k = st.argAt(c, k+1)
		}
		e.spawnJoined(st, ci, k)
	case string(name) == "ssh":
		k := first
		for k < c.w1 && isFlag(st.text(&st.words[k])) {
			if hasWord("-b -c -D -E -e -F -I -i -J -L -l -m -O -o -p -Q -R -S -W -w -B", st.text(&st.words[k])) {
				k = st.argAt(c, k+1)
			}
			k = st.argAt(c, k+1)
		}
		if k < c.w1 {
			e.spawnJoined(st, ci, st.argAt(c, k+1))
		}
	case string(name) == "find":
		e.spawnFindExec(st, ci, first)
	case string(name) == "alias":
		for k := first; k < c.w1; k = st.argAt(c, k+1) {
			t := st.text(&st.words[k])
			if i := bytes.IndexByte(t, '='); i > 0 {
				e.nestedScript(st, &st.cmds[ci], t[i+1:]) // alias x='rm -rf /'
			}
		}
	case isInterpreter(name):
		e.spawnInterpreter(st, ci, first)
	}
}

func isInterpreter(name []byte) bool {
	switch string(name) {
	case "python", "python2", "python3", "perl", "ruby", "node", "php", "nodejs", "deno", "bun":
		return true
	}
	return len(name) > 7 && string(name[:7]) == "python3"
}

// shellCalls are the interpreter functions that hand a string to a shell.
var shellCalls = []string{"system(", "popen(", "call(", "run(", "check_output(", "check_call(",
	"Popen(", "getoutput(", "getstatusoutput(", "execSync(", "spawnSync(", "exec("}

// spawnInterpreter parses, as scripts, the string literals an inline
// program passes to a shell (os.system("rm -rf /"), `...` in perl/ruby).
func (e *Engine) spawnInterpreter(st *state, ci, k int32) {
	c := &st.cmds[ci]
	for ; k < c.w1; k = st.argAt(c, k+1) {
		t := st.text(&st.words[k])
		if (string(t) == "-c" || string(t) == "-e" || string(t) == "-E" || string(t) == "-r") && st.argAt(c, k+1) < c.w1 {
			code := st.text(&st.words[st.argAt(c, k+1)])
			e.shellStrings(st, ci, code)
			return
		}
	}
	if in, ok := e.input(st, ci); ok {
		e.shellStrings(st, ci, in)
	}
}

func (e *Engine) shellStrings(st *state, ci int32, code []byte) {
	for i := 0; i < len(code); i++ {
		var start int
		switch {
		case code[i] == '`':
			start = i
		case code[i] == '(' && endsWithCall(code[:i+1]):
			j := i + 1
			for j < len(code) && (code[j] == ' ' || code[j] == '[') {
				j++
			}
			if j >= len(code) || (code[j] != '"' && code[j] != '\'') {
				continue
			}
			start = j
		default:
			continue
		}
		q := code[start]
		end := start + 1
		for end < len(code) && code[end] != q {
			if code[end] == '\\' {
				end++
			}
			end++
		}
		if end > len(code) {
			end = len(code)
		}
		e.nestedScript(st, &st.cmds[ci], code[start+1:end])
		i = end
	}
}

func endsWithCall(b []byte) bool {
	for _, f := range shellCalls {
		if len(b) >= len(f) && string(b[len(b)-len(f):]) == f {
			return true
		}
	}
	return false
}

func isFlag(t []byte) bool { return len(t) > 1 && t[0] == '-' }

func (e *Engine) spawnShell(st *state, ci int32, k int32) {
	c := &st.cmds[ci]
	script, stdin := false, false
	for ; k < c.w1; k = st.argAt(c, k+1) {
		t := st.text(&st.words[k])
		if len(t) < 2 || (t[0] != '-' && t[0] != '+') {
			break
		}
		if string(t) == "--" {
			k = st.argAt(c, k+1)
			break
		}
		if t[1] == '-' {
			if hasWord("--rcfile --init-file", t) {
				k = st.argAt(c, k+1)
			}
			continue
		}
		if hasWord("-o +o -O +O", t) {
			k = st.argAt(c, k+1)
			continue
		}
		script = script || bytes.IndexByte(t, 'c') > 0
		stdin = stdin || bytes.IndexByte(t, 's') > 0
	}
	switch {
	case script && k < c.w1:
		text := st.text(&st.words[k])
		if out, ok := e.substOutput(st, ci, k); ok {
			text = out // sh -c "$(printf 'rm -rf /')"
		}
		e.nestedScript(st, &st.cmds[ci], text)
	case k >= c.w1 || stdin:
		if in, ok := e.input(st, ci); ok {
			e.nestedScript(st, &st.cmds[ci], in)
		}
	}
}

// substOutput is the known output of the substitution that makes up word k
// of command ci ("$(printf x)"): the last stage of a pipeline parsed inside
// that word. Those commands are derived first; they sit between ci's
// previous word and k, so the search is bounded by ci's own words.
func (e *Engine) substOutput(st *state, ci, k int32) ([]byte, bool) {
	if k >= st.cmds[ci].w1 {
		return nil, false
	}
	w := &st.words[k]
	if w.e-w.s != 1 || st.buf[w.s] != placeholder {
		return nil, false
	}
	found := int32(-1)
	for j := ci + 1; j < int32(len(st.cmds)) && st.cmds[j].w0 <= k; j++ {
		if st.cmds[j].feed == ci {
			e.derive(st, j)
			if st.cmds[j].next < 0 {
				found = j
			}
		}
	}
	if found < 0 || st.cmds[found].outS < 0 {
		return nil, false
	}
	f := &st.cmds[found]
	return st.buf[f.outS:f.outE], true
}

// spawnJoined parses the words from k on, joined by spaces, as a script.
func (e *Engine) spawnJoined(st *state, ci int32, k int32) {
	c := &st.cmds[ci]
	if k >= c.w1 {
		return
	}
	s := len(st.buf)
	for ; k < c.w1; k = st.argAt(c, k+1) {
		t := st.text(&st.words[k])
		if !st.grow(len(t) + 1) {
			st.buf = st.buf[:s]
			return
		}
		st.buf = append(st.buf, t...)
		st.buf = append(st.buf, ' ')
	}
	text := st.buf[s:]
	st.buf = append(st.buf, 0)
	e.nestedScript(st, &st.cmds[ci], text)
}

// spawnFindExec turns find's -exec/-execdir/-ok words into commands.
func (e *Engine) spawnFindExec(st *state, ci int32, k int32) {
	for {
		c := &st.cmds[ci]
		for k < c.w1 && !hasWord("-exec -execdir -ok -okdir", st.text(&st.words[k])) {
			k = st.argAt(c, k+1)
		}
		if k >= c.w1 {
			return
		}
		start := st.argAt(c, k+1)
		end := start
		for end < c.w1 {
			t := st.text(&st.words[end])
			if string(t) == ";" || string(t) == "+" {
				break
			}
			end = st.argAt(c, end+1)
		}
		if start < end {
			st.cmds = append(st.cmds, command{w0: start, w1: end, own: c.own, pipe: -1, prev: -1,
				next: -1, feed: -1, fn: -1, name: -1, outS: -1, depth: c.depth + 1})
		}
		k = end
		if k < c.w1 {
			k = st.argAt(c, k+1)
		}
	}
}

// input is the text command ci reads on stdin, when known: a here-string, a
// heredoc body, or what the previous pipeline stage printed.
func (e *Engine) input(st *state, ci int32) ([]byte, bool) {
	c := &st.cmds[ci]
	for k := st.next(c, c.w0); k < c.w1; k = st.next(c, k+1) {
		if w := &st.words[k]; w.kind == kHereStr || w.kind == kHeredoc {
			return st.text(w), true
		}
	}
	if c.prev >= 0 {
		if p := &st.cmds[c.prev]; p.outS >= 0 {
			return st.buf[p.outS:p.outE], true
		}
	}
	return nil, false
}

// output records what ci prints into a pipe, for the producers that
// evasions use: echo/printf, cat of stdin, base64 -d, xxd -r, rev.
func (e *Engine) output(st *state, ci int32) {
	c := &st.cmds[ci]
	if (c.next < 0 && c.feed < 0) || c.name < 0 {
		return
	}
	name := string(st.name(c)) // compared only: no allocation
	first := st.argAt(c, c.name+1)
	s := int32(len(st.buf))
	switch name {
	case "echo", "printf":
		for k := first; k < c.w1; k = st.argAt(c, k+1) {
			t := st.text(&st.words[k])
			if name == "echo" && k == first && len(t) > 1 && t[0] == '-' {
				continue
			}
			if !st.grow(len(t) + 1) {
				return
			}
			st.buf = appendUnescaped(st.buf, t)
			st.buf = append(st.buf, ' ')
		}
		st.buf = append(st.buf, '\n')
	case "cat", "base64", "xxd", "rev":
		in, ok := e.input(st, ci)
		if !ok || (name == "cat" && first < c.w1) {
			return
		}
		if name == "cat" {
			if !st.grow(len(in)) {
				return
			}
			st.buf = append(st.buf, in...)
			break
		}
		if !st.grow(len(in)) {
			return
		}
		switch name {
		case "base64":
			if !e.hasFlag(st, c, first, "d", "D", "decode") {
				return
			}
			st.buf = appendBase64(st.buf, in)
		case "xxd":
			if !e.hasFlag(st, c, first, "r", "revert") {
				return
			}
			st.buf = appendHex(st.buf, in)
		case "rev":
			st.buf = appendRev(st.buf, in)
		}
	default:
		return
	}
	c.outS, c.outE = s, int32(len(st.buf))
	st.buf = append(st.buf, 0)
}

func (e *Engine) hasFlag(st *state, c *command, k int32, names ...string) bool {
	for ; k < c.w1; k = st.argAt(c, k+1) {
		if flagMatches(st.text(&st.words[k]), names) {
			return true
		}
	}
	return false
}
