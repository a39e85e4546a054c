package proc

import (
	"sync"

	"golang.org/x/sys/unix"
)

// exits notices agent exits for every process on one goroutine: a pidfd per
// process in one epoll set. Waiting in cmd.Wait instead costs each warm
// agent a goroutine and an OS thread blocked in wait(2) for its whole life.
// The goroutine runs only while some process is watched.
var exits exitWatcher

type exitWatcher struct {
	mu      sync.Mutex
	epfd    int // 0 until first use
	procs   map[int32]*Process
	running bool
}

// watch arranges for p.wait to run once p's process has exited. It
// returns false when the kernel offers no pidfd (before Linux 5.3); the
// caller then waits on a goroutine of its own.
func (w *exitWatcher) watch(p *Process) bool {
	pidfd, err := unix.PidfdOpen(p.pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.epfd == 0 {
		fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			_ = unix.Close(pidfd)
			return false
		}
		w.epfd, w.procs = fd, make(map[int32]*Process)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(pidfd)}
	if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, pidfd, &ev); err != nil {
		_ = unix.Close(pidfd)
		return false
	}
	w.procs[int32(pidfd)] = p
	if !w.running {
		w.running = true
		go w.loop()
	}
	return true
}

// loop hands each exited process to its own short-lived wait and ends
// when no process is left; every watched process wakes it by exiting.
func (w *exitWatcher) loop() {
	events := make([]unix.EpollEvent, 32)
	for {
		n, err := unix.EpollWait(w.epfd, events, -1)
		if err == unix.EINTR {
			continue
		}
		w.mu.Lock()
		if err != nil {
			// Not expected; do not lose an exit: fall back to a waiter each.
			for fd, p := range w.procs {
				w.forget(fd)
				go p.wait()
			}
		}
		for _, ev := range events[:max(n, 0)] {
			if p, ok := w.procs[ev.Fd]; ok {
				w.forget(ev.Fd)
				go p.wait() // the process has exited: cmd.Wait returns at once
			}
		}
		if len(w.procs) == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
	}
}

// forget drops one pidfd; w.mu is held.
func (w *exitWatcher) forget(fd int32) {
	delete(w.procs, fd)
	_ = unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, int(fd), nil)
	_ = unix.Close(int(fd))
}
