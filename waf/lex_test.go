package waf

import (
	"strings"
	"testing"
)

// render shows what the tokenizer and the judge's derivation saw: one
// "name: word word" line per simple command, redirections as >target.
func render(t *testing.T, e *Engine, cmd string) string {
	t.Helper()
	st := new(state)
	cand := e.pre.all
	e.judge(st, nil, cmd, "", &cand)
	var lines []string
	for i := range st.cmds {
		c := &st.cmds[i]
		var parts []string
		for k := st.next(c, c.w0); k < c.w1; k = st.next(c, k+1) {
			w := &st.words[k]
			txt := strings.ReplaceAll(string(st.text(w)), "\x01", "§")
			switch w.kind {
			case kRedirOut:
				txt = ">" + txt
			case kRedirIn:
				txt = "<" + txt
			case kHeredoc:
				txt = "<<" + txt
			case kHereStr:
				txt = "<<<" + txt
			case kDup:
				txt = "&" + txt
			}
			parts = append(parts, txt)
		}
		if len(parts) == 0 {
			continue
		}
		lines = append(lines, string(st.name(c))+": "+strings.Join(parts, " "))
	}
	return strings.Join(lines, "\n")
}

func TestTokenizer(t *testing.T) {
	e := newTestEngine(t, Options{})
	cases := []struct{ in, want string }{
		{`echo "a b" 'c' d\ e`, "echo: echo a b c d e"},
		{`a=1 b="x y" cmd`, "cmd: a=1 b=x y cmd"},
		{"ls  \t-la\\\n src", "ls: ls -la src"},
		{`rm${IFS}-rf${IFS}/`, "rm: rm -rf /"},
		{`echo "${IFS}"`, "echo: echo  "},
		{`cat $HOME/x ${HOME}/y "$HOME"`, "cat: cat ~/x ~/y ~"},
		{`echo $x ${y} $1 $@`, "echo: echo § § § §"},
		{`r${x}m -f`, "rm: rm -f"},    // an unset variable glued inside a word is dropped
		{`$x/bin/rm`, "rm: §/bin/rm"}, // the basename still names the command
		{`$'\x72\x6d' $'a\tb'`, "rm: rm a\tb"},
		{`ls 2>/dev/null >out.txt 2>&1 <in`, "ls: ls >/dev/null >out.txt &1 <in"},
		{`a | b && c; d & e || f`, "a: a\nb: b\nc: c\nd: d\ne: e\nf: f"},
		{`echo $(date) "$(id -u)" ` + "`pwd`", "echo: echo § § §\ndate: date\nid: id -u\npwd: pwd"},
		{`diff <(sort a) b`, "diff: diff § b\nsort: sort a"},
		{"cat <<'EOF' >f\nrm -rf /\nEOF\nls", "cat: cat <<rm -rf /\n >f\nls: ls"},
		{"cat <<-E\n\t$(whoami)\n\tE", "cat: cat <<\t§\n\nwhoami: whoami"},
		{`{a,b}c {x}`, "ac: ac bc {x}"},
		{`ls # rm -rf /`, "ls: ls"},
		{`sudo -u root env A=1 nice -n 5 /bin/rm -rf x`, "rm: sudo -u root env A=1 nice -n 5 /bin/rm -rf x"},
		{`command -v rm`, "command: command -v rm"},
		{`bash -c 'rm -rf /tmp/x'`, "bash: bash -c rm -rf /tmp/x\nrm: rm -rf /tmp/x"},
		{`echo cm0gLXJmIC8= | base64 -d | sh`, "echo: echo cm0gLXJmIC8=\nbase64: base64 -d\nsh: sh\nrm: rm -rf /"},
		{`find . -exec rm {} \;`, "find: find . -exec rm {} ;\nrm: rm {}"},
		{`f() { g; }`, "g: { g\n}: }"},
		{`"unterminated`, "unterminated: unterminated"},
	}
	for _, c := range cases {
		if got := render(t, e, c.in); got != c.want {
			t.Errorf("%q:\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}
