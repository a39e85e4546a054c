package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/hotline-dev/hotline/bench/load"
)

// Bench is one benchmark result line: its metrics by unit.
type Bench struct {
	Name   string // without the -GOMAXPROCS suffix
	N      int
	Values map[string]float64
}

// Results holds every parsed benchmark line by name, the load runs, the
// drill lines and any failures seen in the outputs.
type Results struct {
	Bench      map[string]Bench
	Load       []load.Result
	Drills     []string // drill lines at CI size
	DrillsFull []string // drill lines at full size (drills-full*.txt)
	Failures   []string
}

var procSuffix = regexp.MustCompile(`-\d+$`)

// parseBenchLine reads `BenchmarkX/y-2  N  v unit  v unit …`. ok is false
// for any other line.
func parseBenchLine(line string) (Bench, bool, error) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
		return Bench{}, false, nil
	}
	n, err := strconv.Atoi(f[1])
	if err != nil {
		return Bench{}, false, nil // e.g. a log line that starts with the name
	}
	if len(f)%2 != 0 {
		return Bench{}, false, fmt.Errorf("odd number of value/unit fields in %q", line)
	}
	b := Bench{Name: procSuffix.ReplaceAllString(f[0], ""), N: n, Values: map[string]float64{}}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return Bench{}, false, fmt.Errorf("bad value %q in %q", f[i], line)
		}
		b.Values[f[i+1]] = v
	}
	return b, true, nil
}

// addGoTest reads `go test -bench` (or -v) output.
func (r *Results) addGoTest(src string, in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "--- FAIL"), strings.HasPrefix(line, "FAIL"), strings.HasPrefix(line, "panic:"):
			r.Failures = append(r.Failures, src+": "+line)
		case strings.HasPrefix(line, "TestDrill") && strings.Contains(line, ": ") && strings.HasPrefix(src, "drills-full"):
			r.DrillsFull = append(r.DrillsFull, line)
		case strings.HasPrefix(line, "TestDrill") && strings.Contains(line, ": "):
			r.Drills = append(r.Drills, line)
		}
		b, ok, err := parseBenchLine(line)
		if err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		if ok {
			r.Bench[b.Name] = b
		}
	}
	return sc.Err()
}

// addLoad reads loadgen's JSON lines.
func (r *Results) addLoad(src string, in io.Reader) error {
	dec := json.NewDecoder(in)
	for {
		var res load.Result
		err := dec.Decode(&res)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		r.Load = append(r.Load, res)
	}
}

// get returns a metric, and whether it was measured.
func (r *Results) get(name, unit string) (float64, bool) {
	b, ok := r.Bench[name]
	if !ok {
		return 0, false
	}
	v, ok := b.Values[unit]
	return v, ok
}

// addLoadLog keeps loadgen's error line ("loadgen: …", the run that
// failed and why) as a failure.
func (r *Results) addLoadLog(src string, in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "loadgen: ") {
			r.Failures = append(r.Failures, src+": "+l)
		}
	}
	return sc.Err()
}
