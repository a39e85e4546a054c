package proc

import (
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// readBufs are the buffers pipe reads land in. A reader takes one only
// once its pipe has data and gives it back after handling the chunk: a
// warm agent that waits for its next message holds no read buffer.
var readBufs = sync.Pool{New: func() any { b := make([]byte, readBufBytes); return &b }}

// readChunks calls fn with each chunk read from the pipe f until EOF or a
// read error, which it returns (nil for EOF). chunk is valid only during
// fn. f must be a pollable pipe (os.Pipe); its read deadline applies.
func readChunks(f *os.File, fn func(chunk []byte)) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	read := blockingRead
	if err := rc.Control(func(fd uintptr) {
		if nonBlocking(fd) {
			read = nonBlockingRead
		}
	}); err != nil {
		return err
	}
	for {
		var (
			buf  *[]byte
			n    int
			rerr error
		)
		err := rc.Read(func(fd uintptr) bool {
			if buf == nil {
				buf = readBufs.Get().(*[]byte)
			}
			for {
				n, rerr = read(fd, *buf)
				if rerr != syscall.EINTR {
					break
				}
			}
			if rerr == syscall.EAGAIN {
				readBufs.Put(buf) // wait for data without holding it
				buf = nil
				return false
			}
			return true
		})
		if err == nil {
			err = rerr
		}
		if err == nil && n == 0 {
			err = io.EOF
		}
		if err != nil {
			if buf != nil {
				readBufs.Put(buf)
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		fn((*buf)[:n])
		readBufs.Put(buf)
	}
}

func blockingRead(fd uintptr, b []byte) (int, error) { return syscall.Read(int(fd), b) }

// nonBlockingRead reads without telling the scheduler, which a read that
// cannot block needs no telling of. syscall.Read's bookkeeping wakes the
// runtime's monitor thread whenever the process was idle, which is every
// turn of a warm agent, and on a two-core VM that wake-up cost a turn
// about 10 µs (bench: proc TurnVsRaw 1.33x -> 1.23x).
func nonBlockingRead(fd uintptr, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func nonBlocking(fd uintptr) bool {
	fl, _, e := syscall.RawSyscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
	return e == 0 && fl&syscall.O_NONBLOCK != 0
}
