package main

import (
	"bytes"
	_ "embed"
	"strconv"

	"github.com/hotline-dev/hotline/internal/jsonstr"
)

// The two big constant lines are copied from the recordings (basic.jsonl's
// system/init and approval.jsonl's initialize answer) with placeholders, so
// their key order and field set stay exactly the real CLI's.
var (
	//go:embed init_template.json.tmpl
	initTemplateSrc []byte
	//go:embed initialize_response.json.tmpl
	initializeResponseSrc []byte
)

// initLine renders system/init cheaply per turn: everything but the uuid is
// fixed for a process (and model), so it is split once around the uuid.
type initLine struct {
	prefix, suffix []byte
}

type initParams struct {
	cwd, sessionID, model, memoryDir, socket, permissionMode string
}

func newInitLine(p initParams) initLine {
	s := initTemplateSrc
	s = bytes.TrimRight(s, "\n")
	repl := func(src []byte, ph, val string) []byte {
		return bytes.ReplaceAll(src, []byte(ph), jsonstr.AppendJS(nil, val))
	}
	s = repl(s, "@CWD@", p.cwd)
	s = repl(s, "@SESSION@", p.sessionID)
	s = repl(s, "@MODEL@", p.model)
	s = repl(s, "@MEMORY@", p.memoryDir)
	s = repl(s, "@SOCKET@", p.socket)
	s = repl(s, "@PERMMODE@", p.permissionMode)
	pre, suf, _ := bytes.Cut(s, []byte("@UUID@"))
	return initLine{prefix: pre, suffix: append(append([]byte(nil), suf...), '\n')}
}

func (l initLine) render(uuid string) []byte {
	b := make([]byte, 0, len(l.prefix)+len(l.suffix)+40)
	b = append(b, l.prefix...)
	b = jsonstr.AppendJS(b, uuid)
	return append(b, l.suffix...)
}

// initializeResponse is the body of the answer to an initialize request.
func initializeResponse(pid int, stylesDir string) []byte {
	s := bytes.TrimRight(initializeResponseSrc, "\n")
	s = bytes.ReplaceAll(s, []byte("@PID@"), strconv.AppendInt(nil, int64(pid), 10))
	return bytes.ReplaceAll(s, []byte("@STYLES@"), jsonstr.AppendJS(nil, stylesDir))
}
