package main

import (
	"bufio"
	"bytes"
	"io"
	"os/exec"
	"testing"
)

// BenchmarkTurn measures one warm turn through the mockcli binary, against
// a plain `cat` pipe ping-pong measured in the same run (the floor any
// pipe-driven CLI pays). Compare the ns/op of the sub-benchmarks as ratios.
func BenchmarkTurn(b *testing.B) {
	line := []byte(`{"type":"user","message":{"role":"user","content":"hello"}}` + "\n")
	b.Run("cat-baseline", func(b *testing.B) {
		pingPong(b, exec.Command("cat"), line, func(l []byte) bool { return true })
	})
	isResult := func(l []byte) bool { return bytes.Contains(l, []byte(`"type":"result"`)) }
	b.Run("mock-echo", func(b *testing.B) {
		pingPong(b, exec.Command(mockBin, baseArgs...), line, isResult)
	})
	b.Run("mock-echo-partial", func(b *testing.B) {
		pingPong(b, exec.Command(mockBin, append(append([]string{}, baseArgs...), partial)...), line, isResult)
	})
}

func pingPong(b *testing.B, cmd *exec.Cmd, line []byte, last func([]byte) bool) {
	cmd.Dir = b.TempDir()
	cmd.Env = []string{"HOME=" + b.TempDir()}
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		stdin.Close()
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
	}()
	r := bufio.NewReaderSize(stdout, 1<<16)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := stdin.Write(line); err != nil {
			b.Fatal(err)
		}
		for {
			l, err := r.ReadSlice('\n')
			if err != nil && err != bufio.ErrBufferFull {
				b.Fatal(err)
			}
			if err == nil && last(l) {
				break
			}
		}
	}
}
