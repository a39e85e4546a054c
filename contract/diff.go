package contract

import (
	"fmt"
	"sort"
	"strings"
)

// maxCompare bounds the LCS table (n*m cells); transcripts are short, so
// longer ones are cut rather than allowed to eat memory.
const maxCompare = 2000

// CompareGroups compares each Group of want and got on its own and
// prefixes every difference with the group's name.
func CompareGroups(subject string, want, got []Shape) []string {
	var out []string
	for _, g := range Groups {
		for _, d := range Compare(subject, Project(want, g), Project(got, g)) {
			out = append(out, g+": "+d)
		}
	}
	return out
}

// Compare lists how got (subject, e.g. "mockcli") differs from want (the
// reference): lines missing or extra, in order, then keys a matched line
// lacks or adds. An empty result means the shapes agree.
func Compare(subject string, want, got []Shape) []string {
	if len(want) > maxCompare {
		want = want[:maxCompare]
	}
	if len(got) > maxCompare {
		got = got[:maxCompare]
	}
	pairs, diffs := align(subject, want, got)
	return append(diffs, keyDiffs(subject, want, got, pairs)...)
}

// align runs a longest-common-subsequence over the labels and reports
// the lines outside it.
func align(subject string, want, got []Shape) ([][2]int, []string) {
	n, m := len(want), len(got)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			switch {
			case want[i].Label == got[j].Label:
				lcs[i][j] = lcs[i+1][j+1] + 1
			case lcs[i+1][j] >= lcs[i][j+1]:
				lcs[i][j] = lcs[i+1][j]
			default:
				lcs[i][j] = lcs[i][j+1]
			}
		}
	}
	var pairs [][2]int
	var diffs []string
	prev := "start"
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && want[i].Label == got[j].Label:
			pairs = append(pairs, [2]int{i, j})
			prev = want[i].Label
			i++
			j++
		case j == m || (i < n && lcs[i+1][j] >= lcs[i][j+1]):
			diffs = append(diffs, fmt.Sprintf("%s lacks %s (reference #%d, after %s)", subject, want[i].Label, i+1, prev))
			i++
		default:
			diffs = append(diffs, fmt.Sprintf("%s adds %s (its #%d, after %s)", subject, got[j].Label, j+1, prev))
			j++
		}
	}
	return pairs, diffs
}

// unsettled are keys the real CLI 2.1.332 itself emits or omits depending
// on the run: begun_message_ids is absent from the error results in
// ../shared/protocol/claude-code-2.1.332/apierr.jsonl but present (empty)
// in a live run of the same version. mockcli follows the recording.
var unsettled = map[string]bool{"begun_message_ids": true}

// keyDiffs reports, once per label, top-level keys the real line has and
// the mock's lacks, and the reverse.
func keyDiffs(subject string, want, got []Shape, pairs [][2]int) []string {
	lacks := map[string]map[string]bool{}
	adds := map[string]map[string]bool{}
	for _, p := range pairs {
		w, g := want[p[0]], got[p[1]]
		for _, k := range minus(w.Keys, g.Keys) {
			if !unsettled[k] {
				addTo(lacks, w.Label, k)
			}
		}
		for _, k := range minus(g.Keys, w.Keys) {
			addTo(adds, w.Label, k)
		}
	}
	var out []string
	out = append(out, render(subject+" %s lacks keys %s", lacks)...)
	return append(out, render(subject+" %s has extra keys %s", adds)...)
}

func addTo(m map[string]map[string]bool, label, key string) {
	if m[label] == nil {
		m[label] = map[string]bool{}
	}
	m[label][key] = true
}

func render(format string, m map[string]map[string]bool) []string {
	labels := make([]string, 0, len(m))
	for l := range m {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	out := make([]string, 0, len(labels))
	for _, l := range labels {
		keys := make([]string, 0, len(m[l]))
		for k := range m[l] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out = append(out, fmt.Sprintf(format, l, strings.Join(keys, ",")))
	}
	return out
}

// minus returns the sorted a without the elements of sorted b.
func minus(a, b []string) []string {
	var out []string
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if j < len(b) && b[j] == x {
			continue
		}
		out = append(out, x)
	}
	return out
}
