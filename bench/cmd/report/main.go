// Command report turns the outputs bench/run.sh collected (go test -bench
// text, loadgen JSON lines and logs, drill -v output) into bench/RESULTS.md. It
// reports only what was measured: a missing benchmark shows as "not run",
// and any FAIL line in the outputs is listed at the top and makes the
// command exit 1 after writing the file.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run() error {
	dir := flag.String("dir", "", "directory with the collected outputs (*.txt: go test; *.jsonl: loadgen)")
	out := flag.String("out", "bench/RESULTS.md", "file to write")
	cmd := flag.String("cmd", "make bench", "the command that produced the outputs, for the report")
	flag.Parse()
	if *dir == "" {
		return fmt.Errorf("-dir is required")
	}
	res, err := collect(*dir)
	if err != nil {
		return err
	}
	md := render(res, machine(), *cmd)
	if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
		return err
	}
	if len(res.Failures) > 0 {
		return fmt.Errorf("%d failures in the outputs (listed in %s)", len(res.Failures), *out)
	}
	return nil
}

func collect(dir string) (*Results, error) {
	res := &Results{Bench: map[string]Bench{}}
	names, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		switch {
		case strings.HasSuffix(name, ".txt"):
			err = res.addGoTest(filepath.Base(name), f)
		case strings.HasSuffix(name, ".jsonl"):
			err = res.addLoad(filepath.Base(name), f)
		case strings.HasSuffix(name, ".log"):
			err = res.addLoadLog(filepath.Base(name), f)
		}
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}

// Machine describes where the figures were measured.
type Machine struct {
	Cores             int
	CPU, Go, Date, OS string
	Commit            string
}
