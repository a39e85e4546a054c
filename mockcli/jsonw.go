package main

import (
	"bytes"
	"math"
	"strconv"

	"github.com/hotline-dev/hotline/internal/jsonstr"
)

// jw appends JSON to a byte slice with keys in the order they are written.
// The real CLI's lines have a fixed, non-alphabetical key order (the result
// line does not even start with "type"), which encoding/json cannot keep for
// maps; building lines by hand also keeps the per-turn cost small.
type jw struct {
	b  []byte
	nc bool // a value was just written at this level: the next one needs a comma
}

func (j *jw) sep() {
	if j.nc {
		j.b = append(j.b, ',')
	}
}

func (j *jw) key(k string) {
	j.sep()
	j.b = jsonstr.AppendJS(j.b, k)
	j.b = append(j.b, ':')
	j.nc = false
}

func (j *jw) open() {
	j.sep()
	j.b = append(j.b, '{')
	j.nc = false
}

func (j *jw) close() {
	j.b = append(j.b, '}')
	j.nc = true
}

func (j *jw) openArr() {
	j.sep()
	j.b = append(j.b, '[')
	j.nc = false
}

func (j *jw) closeArr() {
	j.b = append(j.b, ']')
	j.nc = true
}

func (j *jw) str(s string) {
	j.sep()
	j.b = jsonstr.AppendJS(j.b, s)
	j.nc = true
}

func (j *jw) raw(r []byte) {
	j.sep()
	j.b = append(j.b, r...)
	j.nc = true
}

func (j *jw) num(n int64) {
	j.sep()
	j.b = strconv.AppendInt(j.b, n, 10)
	j.nc = true
}

func (j *jw) float(f float64) {
	j.sep()
	j.b = appendJSFloat(j.b, f)
	j.nc = true
}

func (j *jw) boolean(v bool) {
	j.sep()
	j.b = strconv.AppendBool(j.b, v)
	j.nc = true
}

func (j *jw) null() {
	j.sep()
	j.b = append(j.b, "null"...)
	j.nc = true
}

// Keyed shorthands.
func (j *jw) S(k, v string)       { j.key(k); j.str(v) }
func (j *jw) N(k string, v int64) { j.key(k); j.num(v) }
func (j *jw) F(k string, v float64) {
	j.key(k)
	j.float(v)
}
func (j *jw) B(k string, v bool)     { j.key(k); j.boolean(v) }
func (j *jw) Null(k string)          { j.key(k); j.null() }
func (j *jw) R(k string, raw []byte) { j.key(k); j.raw(raw) }
func (j *jw) O(k string)             { j.key(k); j.open() }
func (j *jw) A(k string)             { j.key(k); j.openArr() }

// line returns the built object followed by a newline.
func (j *jw) line() []byte { return append(j.b, '\n') }

const hexDigits = "0123456789abcdef"

// appendJSFloat formats like JavaScript's Number#toString: shortest
// round-trip digits, exponent only outside [1e-6, 1e21).
func appendJSFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	if f == 0 {
		return append(b, '0')
	}
	if a := math.Abs(f); a >= 1e-6 && a < 1e21 {
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	g := strconv.AppendFloat(nil, f, 'e', -1, 64)
	// Go writes e-07 / e+21; JavaScript writes e-7 / e+21.
	if i := bytes.IndexByte(g, 'e'); i >= 0 && i+2 < len(g) && g[i+2] == '0' {
		g = append(g[:i+2], g[i+3:]...)
	}
	return append(b, g...)
}
