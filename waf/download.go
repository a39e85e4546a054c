package waf

import "bytes"

// maxDownloads bounds the downloaded files remembered per check.
const maxDownloads = 16

// recordDownload remembers the file a curl or wget command writes (-o F,
// -O F, or the URL's last segment for curl -O / plain wget), so that
// "curl -o i.sh URL && sh i.sh" is judged like "curl URL | sh".
func (e *Engine) recordDownload(st *state, ci int32) {
	c := &st.cmds[ci]
	name := st.name(c)
	curl, wget := string(name) == "curl", string(name) == "wget"
	if !curl && !wget || len(st.downloads) >= maxDownloads {
		return
	}
	remoteName := wget // wget saves under the URL's name unless -O
	var url []byte
	for k := st.argAt(c, c.name+1); k < c.w1; k = st.argAt(c, k+1) {
		t := st.text(&st.words[k])
		if v, ok := cutOutputFlag(t); ok && !(curl && string(t) == "-O") {
			if len(v) == 0 {
				if k = st.argAt(c, k+1); k >= c.w1 {
					return
				}
				v = st.text(&st.words[k])
			}
			e.addDownload(st, v)
			return
		}
		switch {
		case curl && (string(t) == "-O" || string(t) == "--remote-name"):
			remoteName = true
		case !isFlag(t) && bytes.Contains(t, []byte("://")):
			url = t
		}
	}
	if remoteName && url != nil {
		if i := bytes.IndexAny(url, "?#"); i >= 0 {
			url = url[:i]
		}
		if i := bytes.LastIndexByte(url, '/'); i >= 0 && i+1 < len(url) {
			e.addDownload(st, url[i+1:])
		}
	}
}

func (e *Engine) addDownload(st *state, path []byte) {
	if len(path) == 0 || len(path) > maxPathWord || string(path) == "-" {
		return
	}
	s := len(st.buf)
	st.buf = cleanPath(st.buf, path, e.home)
	st.downloads = append(st.downloads, [2]int32{int32(s), int32(len(st.buf))})
	st.buf = append(st.buf, 0)
}

// runsDownload: c runs a downloaded file, as a shell script (sh F, source
// F, . F) or directly (./F).
func (e *Engine) runsDownload(st *state, c *command) bool {
	if len(st.downloads) == 0 || c.name < 0 {
		return false
	}
	name := st.name(c)
	target := c.name // ./F
	if isShell(name) || string(name) == "source" || string(name) == "." {
		target = -1
		for k := st.argAt(c, c.name+1); k < c.w1; k = st.argAt(c, k+1) {
			t := st.text(&st.words[k])
			if string(t) == "-c" {
				return false
			}
			if !isFlag(t) {
				target = k
				break
			}
		}
		if target < 0 {
			return false
		}
	}
	mark := len(st.aux)
	defer func() { st.aux = st.aux[:mark] }()
	st.aux = cleanPath(st.aux, st.text(&st.words[target]), e.home)
	run := st.aux[mark:]
	for _, d := range st.downloads {
		if bytes.Equal(run, st.buf[d[0]:d[1]]) {
			return true
		}
	}
	return false
}
