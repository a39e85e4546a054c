package reply

import "strings"

// Join undoes Split: it removes the fence lines Split added at part
// boundaries and concatenates the rest, so Join(Split(t, n)) == t for every
// text t and limit n. Adapters' tests use it to check that a reply lost
// nothing. It accepts any input without failing; parts Split did not produce
// are simply concatenated where no added fence is recognised.
func Join(parts []string) string {
	var b strings.Builder
	var sc scanner
	reopen := ""
	for i, x := range parts {
		if reopen != "" {
			x = strings.TrimPrefix(x, reopen)
			reopen = ""
		}
		if i+1 < len(parts) {
			if cut, run, ok := closeSuffix(x); ok {
				f := sc.after(x[:cut])
				if f.run == run && strings.HasPrefix(parts[i+1], f.line+"\n") {
					x, reopen = x[:cut], f.line+"\n"
				}
			}
		}
		b.WriteString(x)
		sc.feed(x)
	}
	return b.String()
}
