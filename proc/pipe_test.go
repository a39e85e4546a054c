package proc

import (
	"bytes"
	"os"
	"syscall"
	"testing"
)

// readChunks reads a pipe whole both ways: the pollable non-blocking pipe
// the process uses (raw reads) and a blocking one (ordinary reads).
func TestReadChunksBothReads(t *testing.T) {
	pollable := func(t *testing.T) (*os.File, *os.File) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		return r, w
	}
	blocking := func(t *testing.T) (*os.File, *os.File) {
		var fds [2]int
		if err := syscall.Pipe(fds[:]); err != nil {
			t.Fatal(err)
		}
		return os.NewFile(uintptr(fds[0]), "r"), os.NewFile(uintptr(fds[1]), "w")
	}
	for name, open := range map[string]func(*testing.T) (*os.File, *os.File){"pollable": pollable, "blocking": blocking} {
		t.Run(name, func(t *testing.T) {
			r, w := open(t)
			defer r.Close()
			var nb bool
			rc, _ := r.SyscallConn()
			_ = rc.Control(func(fd uintptr) { nb = nonBlocking(fd) })
			if nb != (name == "pollable") {
				t.Fatalf("non-blocking = %v", nb)
			}
			want := bytes.Repeat([]byte("0123456789abcdef"), 3*readBufBytes/16+5)
			go func() {
				for i := 0; i < len(want); i += 1000 {
					_, _ = w.Write(want[i:min(i+1000, len(want))])
				}
				w.Close()
			}()
			var got []byte
			if err := readChunks(r, func(c []byte) { got = append(got, c...) }); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("read %d bytes, want %d (equal prefix: %v)", len(got), len(want), bytes.HasPrefix(want, got))
			}
		})
	}
}
