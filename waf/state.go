package waf

// state is the scratch space of one check, pooled so that the full parse
// does not allocate in steady state. Words and derived texts live in buf,
// addressed by offsets; slices of buf stay valid while it grows because we
// only ever append (a reallocation leaves the old array intact).
type state struct {
	src       []byte // the command, copied once
	buf       []byte // word texts, each followed by a NUL
	aux       []byte // unescaped backtick bodies, cleaned paths
	wb        []byte // words being built (a stack: nested words pop)
	words     []word
	cmds      []command
	steps     int // lexer and decoder work, for the fuzz guard
	budget    int // bytes derived texts may still add
	tooDeep   bool
	pipes     int32
	last      []int32 // per pipeline: its latest stage
	vars      []shellVar
	downloads [][2]int32 // files written by curl/wget, cleaned, in buf
	scanned   int        // buf offset already fed to the prefilter
}

// Word kinds.
const (
	kArg uint8 = iota
	kRedirOut
	kRedirIn
	kHeredoc
	kHereStr
	kDup
)

// Word flags.
const (
	fQuoted uint8 = 1 << iota
	fGlob
	fPlace  // contains the placeholder for an unknown expansion
	fAssign // NAME=value with the '=' unquoted
	fBrace  // unquoted {a,b}
)

// placeholder stands for an expansion whose value is unknown ($x, $(...)).
const placeholder = 0x01

type word struct {
	s, e   int32
	owner  int32
	cs, ce int32 // cleaned path in buf, once computed (ce > 0)
	kind   uint8
	flags  uint8
}

type command struct {
	w0, w1 int32 // word range; only words with owner == own belong
	own    int32
	pipe   int32
	stage  int16
	depth  int8
	bg     bool
	prev   int32 // previous pipeline stage, or -1
	next   int32 // next pipeline stage, or -1
	feed   int32 // the command a substitution's output feeds, or -1
	fn     int32 // word of the enclosing function's name, or -1
	// derived by the judge
	name     int32 // word index of the command name after prefixes, -1 none
	nameS    int32 // normalised name in buf
	nameE    int32
	prefixes uint32
	outS     int32 // known stdout text in buf, -1 unknown
	outE     int32
	derived  bool
}

func (st *state) reset(n int) {
	st.src = st.src[:0]
	st.buf = st.buf[:0]
	st.aux = st.aux[:0]
	st.wb = st.wb[:0]
	st.words = st.words[:0]
	st.cmds = st.cmds[:0]
	st.steps = 0
	st.budget = 8*n + 4096
	st.tooDeep = false
	st.pipes = 0
	st.last = st.last[:0]
	st.vars = st.vars[:0]
	st.downloads = st.downloads[:0]
	st.scanned = 0
}

// release drops buffers grown by an unusually large command so the pool
// does not pin them (sync.Pool also empties itself across GCs). Up to a few
// MiB per pooled state are kept, which covers commands of a few hundred KiB.
func (st *state) release() {
	const keep = 4 << 20
	if cap(st.buf) > keep || cap(st.src) > keep || cap(st.aux) > keep || cap(st.wb) > keep {
		*st = state{}
	}
	if cap(st.words) > keep/8 || cap(st.cmds) > keep/8 {
		*st = state{}
	}
}

func (st *state) text(w *word) []byte { return st.buf[w.s:w.e] }

// grow reserves n bytes of derived text; false when the budget is spent,
// which keeps decoding and joining linear in the input length.
func (st *state) grow(n int) bool {
	if n > st.budget {
		return false
	}
	st.budget -= n
	st.steps += n
	return true
}
