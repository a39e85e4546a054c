package main

import (
	crand "crypto/rand"
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"time"
)

// idGen makes random UUID v4s and message ids. One crypto-seeded ChaCha8
// stream keeps the ~20 ids per turn cheap (no syscall per id).
type idGen struct {
	mu  sync.Mutex
	rng *rand.ChaCha8
}

func newIDGen() *idGen {
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		binary.LittleEndian.PutUint64(seed[:], uint64(time.Now().UnixNano()))
	}
	return &idGen{rng: rand.NewChaCha8(seed)}
}

func (g *idGen) bytes(p []byte) {
	g.mu.Lock()
	_, _ = g.rng.Read(p)
	g.mu.Unlock()
}

// uuid returns a random RFC 4122 version 4 UUID.
func (g *idGen) uuid() string {
	var u [16]byte
	g.bytes(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var out [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j] = hexDigits[c>>4]
		out[j+1] = hexDigits[c&0xf]
		j += 2
	}
	return string(out[:])
}

// hex returns n random lowercase hex digits (n even).
func (g *idGen) hex(n int) string {
	raw := make([]byte, n/2)
	g.bytes(raw)
	out := make([]byte, n)
	for i, c := range raw {
		out[2*i] = hexDigits[c>>4]
		out[2*i+1] = hexDigits[c&0xf]
	}
	return string(out)
}

func timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
