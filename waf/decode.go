package waf

// Decoders for the producers that feed a shell in obfuscated pipelines.
// Each appends to dst; the caller has reserved the budget.

// appendUnescaped decodes backslash escapes as echo -e and printf do (dash's
// echo always does), so echo '\x72\x6d' | sh is seen as rm.
func appendUnescaped(dst, t []byte) []byte {
	for i := 0; i < len(t); {
		if t[i] != '\\' || i+1 >= len(t) {
			dst = append(dst, t[i])
			i++
			continue
		}
		var n int
		dst, n = appendEscape(dst, t[i+1:])
		i += 1 + n
	}
	return dst
}

var b64 = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	const std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(std); i++ {
		t[std[i]] = int8(i)
	}
	t['-'], t['_'] = 62, 63 // URL alphabet
	return t
}()

// appendBase64 decodes standard or URL base64, skipping whitespace and
// stopping at padding or the first invalid byte, as base64 -d -i would.
func appendBase64(dst, in []byte) []byte {
	var acc uint32
	n := 0
	for _, c := range in {
		if c == ' ' || c == '\n' || c == '\r' || c == '\t' {
			continue
		}
		v := b64[c]
		if v < 0 {
			break
		}
		acc = acc<<6 | uint32(v)
		n++
		if n == 4 {
			dst = append(dst, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, n = 0, 0
		}
	}
	switch n {
	case 2:
		dst = append(dst, byte(acc>>4))
	case 3:
		dst = append(dst, byte(acc>>10), byte(acc>>2))
	}
	return dst
}

// appendHex decodes xxd -r -p style hex, ignoring everything else.
func appendHex(dst, in []byte) []byte {
	hi := -1
	for _, c := range in {
		v := hexVal(c)
		if v < 0 {
			continue
		}
		if hi < 0 {
			hi = v
			continue
		}
		dst = append(dst, byte(hi<<4|v))
		hi = -1
	}
	return dst
}

// appendRev reverses each line, as rev does.
func appendRev(dst, in []byte) []byte {
	for len(in) > 0 {
		end := 0
		for end < len(in) && in[end] != '\n' {
			end++
		}
		for i := end - 1; i >= 0; i-- {
			dst = append(dst, in[i])
		}
		if end < len(in) {
			dst = append(dst, '\n')
			end++
		}
		in = in[end:]
	}
	return dst
}
