package waf

import (
	"encoding/json"
	"strings"
	"testing"
)

// stepBound is the work the parser may do for n input bytes: every nesting
// level may re-read the text once, and derived texts are capped by the
// state budget. Linear in n.
func stepBound(n int) int { return (maxNest+1)*6*(n+1) + 8*n + 4096 }

func fuzzSeeds(f *testing.F) {
	for _, tc := range tableCases {
		f.Add(tc.cmd)
	}
	f.Add(strings.Repeat("bash -c '", 20) + "rm -rf /" + strings.Repeat("'", 20))
	f.Add(strings.Repeat("eval ", 50) + "ls")
	f.Add(strings.Repeat("{a,b}", 30))
	f.Add(strings.Repeat("echo x | rev | ", 40) + "sh")
	f.Add("cat <<A <<B <<C <<D <<E <<F <<G <<H <<I\n")
	f.Add("$'\\x")
	f.Add("${")
	f.Add("a=$((1+(2*$(ls))))")
	f.Add("x=" + strings.Repeat("A", 4000) + "; echo" + strings.Repeat(" $x", 400))
}

// FuzzCheck: no panic, a valid verdict, the same verdict twice, and parser
// work bounded by the input length.
func FuzzCheck(f *testing.F) {
	fuzzSeeds(f)
	e := newTestEngine(f, Options{})
	f.Fuzz(func(t *testing.T, cmd string) {
		v := e.Check("s", cmd)
		if v.Action > Deny || (v.Action != Allow && v.Rule == "") || (v.Action == Allow && v.Rule != "") {
			t.Fatalf("invalid verdict %+v", v)
		}
		if again := e.Check("s", cmd); again != v {
			t.Fatalf("verdict changed: %+v then %+v", v, again)
		}
		if len(cmd) > MaxCommandBytes {
			return
		}
		st := new(state)
		cand := e.pre.all
		e.judge(st, nil, cmd, "", &cand)
		if st.steps > stepBound(len(cmd)) {
			t.Fatalf("%d steps for %d bytes (bound %d)", st.steps, len(cmd), stepBound(len(cmd)))
		}
	})
}

// FuzzCheckTool: arbitrary tool input never panics and bad JSON is denied.
func FuzzCheckTool(f *testing.F) {
	f.Add("Bash", `{"command":"rm -rf /"}`)
	f.Add("Write", `{"file_path":"/etc/passwd"}`)
	f.Add("Edit", `{"file_path":5}`)
	f.Add("Bash", `{"command":null}`)
	f.Add("NotebookEdit", `{"notebook_path":"~/.ssh/x"}`)
	e := newTestEngine(f, Options{})
	f.Fuzz(func(t *testing.T, tool, input string) {
		v := e.CheckTool("s", tool, json.RawMessage(input))
		if v.Action > Deny {
			t.Fatalf("invalid verdict %+v", v)
		}
		var anyJSON any
		known := tool == "Bash" || tool == "Write" || tool == "Edit" || tool == "MultiEdit" || tool == "NotebookEdit"
		if known && json.Unmarshal([]byte(input), &anyJSON) != nil && v.Action != Deny {
			t.Fatalf("bad JSON for %s allowed: %+v", tool, v)
		}
	})
}

// FuzzRuleFile: arbitrary rule files never panic; errors name the file.
func FuzzRuleFile(f *testing.F) {
	f.Add("rule x\ncategory c\nseverity high\nkeywords foo\ncmd foo\nreason r\n")
	f.Add("set a b c\nrule y\ncategory c\nseverity low\nkeywords @a\narg @a\nexcept x\nreason r\n")
	f.Add("rule z\npayload (\n")
	f.Add(string(defaultRules[:400]))
	f.Fuzz(func(t *testing.T, text string) {
		rs, err := parseRules("op.txt", []byte(text), nil)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "op.txt") {
				t.Fatalf("error without file name: %v", err)
			}
			return
		}
		if _, err := newEngine(rs.active(), Options{}); err != nil && !strings.Contains(err.Error(), "rule") {
			t.Fatalf("engine error: %v", err)
		}
	})
}

func TestStepsLinear(t *testing.T) {
	e := newTestEngine(t, Options{})
	worst := 0.0
	for _, tc := range tableCases {
		st := new(state)
		cand := e.pre.all
		e.judge(st, nil, tc.cmd, "", &cand)
		if r := float64(st.steps) / float64(len(tc.cmd)+1); r > worst {
			worst = r
		}
		if st.steps > stepBound(len(tc.cmd)) {
			t.Errorf("%q: %d steps", tc.cmd, st.steps)
		}
	}
	// variable expansion is charged to the budget: no quadratic blow-up
	big := "x=" + strings.Repeat("A", 4000) + "; echo" + strings.Repeat(" $x", 400)
	st := new(state)
	cand := e.pre.all
	e.judge(st, nil, big, "", &cand)
	if len(st.buf) > 20*len(big)+3*4096 { // words and their cleaned paths, each within n+budget
		t.Errorf("%d bytes of words for %d input bytes", len(st.buf), len(big))
	}
	// a long nested input: work grows with the input, not faster
	for _, n := range []int{1, 10, 100, 1000} {
		cmd := strings.Repeat("echo $(ls `pwd`) | bash -c 'cat <<E\nx\nE'; ", n)
		st := new(state)
		cand := e.pre.all
		e.judge(st, nil, cmd, "", &cand)
		if st.steps > stepBound(len(cmd)) {
			t.Errorf("n=%d: %d steps for %d bytes", n, st.steps, len(cmd))
		}
	}
	t.Logf("worst steps per byte in the table: %.1f", worst)
}
