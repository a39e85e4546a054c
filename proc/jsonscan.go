package proc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// A tiny JSON scanner. Stream-json lines are large (system/init is ~5 KB,
// tool results can be megabytes) but each event needs two or three fields,
// so walking the members of an object and slicing out the values we want is
// much cheaper than decoding the whole line with encoding/json. Everything
// on the path to a field we read is checked strictly; containers we skip
// are checked for structure only (see skipValue). FuzzParseEvent checks
// that every valid line parses exactly like encoding/json reads it.

const maxDepth = 10000 // as encoding/json

var errSyntax = errors.New("invalid JSON")

func syntaxErr(i int, what string) error {
	return fmt.Errorf("%w at offset %d: %s", errSyntax, i, what)
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipWS(b []byte, i int) int {
	for i < len(b) && isWS(b[i]) {
		i++
	}
	return i
}

// strStop marks the bytes that end a run of plain string content.
var strStop = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// skipString returns the index after the string starting at b[i] (a quote)
// and whether it contains escapes. It is the scanner's hot loop.
func skipString(b []byte, i int) (int, bool, error) {
	if i >= len(b) || b[i] != '"' {
		return 0, false, syntaxErr(i, "expected string")
	}
	escaped := false
	i++
	for {
		for i < len(b) && !strStop[b[i]] {
			i++
		}
		if i >= len(b) {
			return 0, false, syntaxErr(i, "unterminated string")
		}
		switch b[i] {
		case '"':
			return i + 1, escaped, nil
		case '\\':
			escaped = true
			i++
			if i >= len(b) {
				return 0, false, syntaxErr(i, "unterminated escape")
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) || !isHex4(b[i+1:i+5]) {
					return 0, false, syntaxErr(i, "bad \\u escape")
				}
				i += 4
			default:
				return 0, false, syntaxErr(i, "bad escape")
			}
			i++
		default:
			return 0, false, syntaxErr(i, "control character in string")
		}
	}
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func skipDigits(b []byte, i int) (int, bool) {
	start := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i, i > start
}

func skipNumber(b []byte, i int) (int, error) {
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i, _ = skipDigits(b, i)
	default:
		return 0, syntaxErr(start, "bad number")
	}
	var ok bool
	if i < len(b) && b[i] == '.' {
		if i, ok = skipDigits(b, i+1); !ok {
			return 0, syntaxErr(start, "bad fraction")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i, ok = skipDigits(b, i); !ok {
			return 0, syntaxErr(start, "bad exponent")
		}
	}
	return i, nil
}

func skipLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, syntaxErr(i, "bad literal")
	}
	return i + len(lit), nil
}

// skipScalar skips a string, number or literal at b[i].
func skipScalar(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, syntaxErr(i, "unexpected end")
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := skipString(b, i)
		return end, err
	case c == '-' || c >= '0' && c <= '9':
		return skipNumber(b, i)
	case c == 't':
		return skipLiteral(b, i, "true")
	case c == 'f':
		return skipLiteral(b, i, "false")
	case c == 'n':
		return skipLiteral(b, i, "null")
	}
	return 0, syntaxErr(i, "unexpected character")
}

// structStop marks the bytes that matter when skipping a container.
var structStop = func() (t [256]bool) {
	for _, c := range `"[]{}` {
		t[c] = true
	}
	return t
}()

// skipValue returns the index after the value starting at b[i] (no leading
// space). Scalars are checked strictly. Containers are skipped by structure
// only (strings and matching brackets): most of a line's bytes sit in
// containers no event reads (system/init carries ~5 KB of tool and command
// lists), and a full validation of them was most of the parse cost. The
// parts an event does read are walked, and so checked, by objIter/arrIter.
func skipValue(b []byte, i int) (int, error) {
	if i < len(b) && (b[i] == '{' || b[i] == '[') {
		return skipContainer(b, i)
	}
	return skipScalar(b, i)
}

// skipContainer is iterative so hostile nesting cannot exhaust the stack.
func skipContainer(b []byte, i int) (int, error) {
	var small [32]byte
	stack := small[:0] // closing brackets still expected
	for i < len(b) {
		for i < len(b) && !structStop[b[i]] {
			i++
		}
		if i >= len(b) {
			break
		}
		switch c := b[i]; c {
		case '"':
			end, err := skipStringFast(b, i)
			if err != nil {
				return 0, err
			}
			i = end
			continue
		case '{', '[':
			if len(stack) >= maxDepth {
				return 0, syntaxErr(i, "nesting too deep")
			}
			stack = append(stack, c+2) // '{'+2 == '}', '['+2 == ']'
		default:
			if len(stack) == 0 || stack[len(stack)-1] != c {
				return 0, syntaxErr(i, "mismatched bracket")
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return i + 1, nil
			}
		}
		i++
	}
	return 0, syntaxErr(i, "unterminated container")
}

// skipStringFast finds the end of the string at b[i] without checking its
// escapes.
func skipStringFast(b []byte, i int) (int, error) {
	j := i + 1
	for {
		q := bytes.IndexByte(b[j:], '"')
		if q < 0 {
			return 0, syntaxErr(i, "unterminated string")
		}
		j += q
		n := 0
		for k := j - 1; k > i && b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return j + 1, nil
		}
		j++
	}
}

// skipKey skips `"key" :` and returns the index after the colon.
func skipKey(b []byte, i int) (int, error) {
	i, _, err := skipString(b, i)
	if err != nil {
		return 0, err
	}
	i = skipWS(b, i)
	if i >= len(b) || b[i] != ':' {
		return 0, syntaxErr(i, "expected :")
	}
	return i + 1, nil
}

// objIter walks the members of one object, validating as it goes.
type objIter struct {
	b      []byte
	i      int
	n      int
	vs     int  // where the current value starts
	nested bool // the object is inside b: no trailing check, i ends after it
	err    error
	// key is the raw key without quotes (escapes left in place: the keys we
	// look for have none), val the raw value.
	key, val []byte
}

// iterObject starts an iterator over the object in b (b is exactly one
// value, possibly with surrounding space).
func iterObject(b []byte) objIter {
	it := objIter{b: b, i: skipWS(b, 0)}
	if it.i >= len(b) || b[it.i] != '{' {
		it.err = syntaxErr(it.i, "expected object")
		return it
	}
	it.i++
	return it
}

// iterNested iterates the object starting at b[i] ('{') inside b; once
// done, it.i is the index after its closing brace.
func iterNested(b []byte, i int) objIter { return objIter{b: b, i: i + 1, nested: true} }

func (it *objIter) next() bool {
	if !it.nextKey() {
		return false
	}
	ve, err := skipValue(it.b, it.vs)
	if err != nil {
		it.err = err
		return false
	}
	it.endValue(ve)
	return true
}

// nextKey moves to the next member and stops at the start of its value
// (it.vs), which the caller reads or skips and then ends with endValue.
func (it *objIter) nextKey() bool {
	if it.err != nil {
		return false
	}
	b := it.b
	i := skipWS(b, it.i)
	if i < len(b) && b[i] == '}' && it.n == 0 {
		it.close(i)
		return false
	}
	if it.n > 0 {
		if i < len(b) && b[i] == '}' {
			it.close(i)
			return false
		}
		if i >= len(b) || b[i] != ',' {
			it.err = syntaxErr(i, "expected , or }")
			return false
		}
		i = skipWS(b, i+1)
	}
	ks := i
	kq, _, err := skipString(b, i)
	if err != nil {
		it.err = err
		return false
	}
	it.key = b[ks+1 : kq-1]
	i = skipWS(b, kq)
	if i >= len(b) || b[i] != ':' {
		it.err = syntaxErr(i, "expected :")
		return false
	}
	it.vs = skipWS(b, i+1)
	return true
}

func (it *objIter) endValue(ve int) {
	it.val = it.b[it.vs:ve]
	it.i = ve
	it.n++
}

func (it *objIter) close(i int) {
	it.i = i + 1
	if !it.nested {
		it.err = it.trailing()
	}
}

// trailing checks that only space follows the object.
func (it *objIter) trailing() error {
	if j := skipWS(it.b, it.i); j != len(it.b) {
		return syntaxErr(j, "data after value")
	}
	return nil
}

// arrIter walks the elements of one array.
type arrIter struct {
	b   []byte
	i   int
	n   int
	err error
	val []byte
}

func iterArray(b []byte) arrIter {
	it := arrIter{b: b, i: skipWS(b, 0)}
	if it.i >= len(b) || b[it.i] != '[' {
		it.err = syntaxErr(it.i, "expected array")
		return it
	}
	it.i++
	return it
}

func (it *arrIter) next() bool {
	if it.err != nil {
		return false
	}
	b := it.b
	i := skipWS(b, it.i)
	if i < len(b) && b[i] == ']' {
		it.i = i + 1
		if j := skipWS(b, it.i); j != len(b) {
			it.err = syntaxErr(j, "data after value")
		}
		return false
	}
	if it.n > 0 {
		if i >= len(b) || b[i] != ',' {
			it.err = syntaxErr(i, "expected , or ]")
			return false
		}
		i = skipWS(b, i+1)
	}
	ve, err := skipValue(b, i)
	if err != nil {
		it.err = err
		return false
	}
	it.val = b[i:ve]
	it.i = ve
	it.n++
	return true
}

// rawString returns the contents of a JSON string value without copying
// when it has no escapes and is valid UTF-8; ok is false for a non-string.
// When slow is true the caller must decode with decodeString.
func rawString(v []byte) (s []byte, slow, ok bool) {
	if len(v) < 2 || v[0] != '"' {
		return nil, false, false
	}
	in := v[1 : len(v)-1]
	if bytes.IndexByte(in, '\\') >= 0 || !utf8.Valid(in) {
		return nil, true, true
	}
	return in, false, true
}

// str decodes a JSON string value; a non-string yields "".
func str(v []byte) string {
	s, slow, ok := rawString(v)
	if !ok {
		return ""
	}
	if !slow {
		return string(s)
	}
	var out string
	if json.Unmarshal(v, &out) != nil {
		return ""
	}
	return out
}

// strReuse is str that returns old when the value equals it, so repeated
// fields (session ids) cost no allocation.
func strReuse(v []byte, old string) string {
	if s, slow, ok := rawString(v); ok && !slow && string(s) == old {
		return old
	}
	return str(v)
}

// isTrue reports whether v is the literal true.
func isTrue(v []byte) bool { return string(v) == "true" }
