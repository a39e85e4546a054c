package waf

import "testing"

func TestCleanPath(t *testing.T) {
	cases := map[string]string{
		"/": "/", "//": "/", "/./": "/", "/..": "/", "/tmp/../etc": "/etc", "/etc/": "/etc",
		"/etc//shadow": "/etc/shadow", "/etc/./shadow": "/etc/shadow", ".": ".", "./": ".", "./x": "x",
		"a/../..": "..", "../../x": "../../x", "x/": "x", "~": "~", "~/": "~", "~/.ssh/": "~/.ssh",
		"~/..": "/home", "~/../..": "/", "/home/u": "~", "/home/u/.bashrc": "~/.bashrc",
		"/home/user": "/home/user", "~x": "~x", "": ".", "a//b/./c/..": "a/b",
	}
	for in, want := range cases {
		if got := string(cleanPath(nil, []byte(in), "/home/u")); got != want {
			t.Errorf("cleanPath(%q) = %q, want %q", in, got, want)
		}
	}
	if got := string(cleanPath([]byte("keep"), []byte("/a/../b"), "")); got != "keep/b" {
		t.Errorf("append to prefix: %q", got)
	}
}

func TestGlob(t *testing.T) {
	cases := []struct {
		pat, s string
		want   bool
	}{
		{"/*", "/etc", true}, {"/*", "/etc/x", false}, {"/*", "/", true}, {"/etc/**", "/etc", true},
		{"/etc/**", "/etc/a/b", true}, {"/etc/**", "/etcx", false}, {"**/.env", ".env", false},
		{"**/.env", "a/b/.env", true}, {"**/.ssh/id_*", "~/.ssh/id_rsa", true},
		{"**/.ssh/id_*", "~/.ssh/x/id_rsa", false}, {"**/.ssh/**", "~/.ssh/x/id_rsa", true}, {"*.go", "a b.go", false}, {"=~/*", "~/*", true},
		{"=~/*", "~/x", false}, {"mkfs.*", "mkfs.ext4", true}, {"4???", "4755", true}, {"4???", "47555", false},
		{"**source=/,**", "type=bind,source=/,target=/host", true}, {"?", "", false}, {"**", "", true},
		{"a*b*c", "axxbyyc", true}, {"a*b*c", "axxbyy", false}, {"/dev/sd*", "/dev/sda1", true},
	}
	for _, c := range cases {
		g := compileGlobs([]string{c.pat})
		if got := matchAny(&g, []byte(c.s)); got != c.want {
			t.Errorf("glob %q on %q = %v, want %v", c.pat, c.s, got, c.want)
		}
	}
}

func TestGlobClasses(t *testing.T) {
	gs := compileGlobs([]string{"**/.bashrc", "**/.gnupg/**", "/etc/**", "=~/*", "x*y"})
	if len(gs.suffix) != 1 || len(gs.inside) != 1 || len(gs.trees) != 1 || len(gs.exact) != 1 || len(gs.general) != 1 {
		t.Fatalf("classes: %+v", gs)
	}
	for s, want := range map[string]bool{
		"~/.bashrc": true, ".bashrc": false, "/a/.bashrcx": false, "~/.gnupg": true, "~/.gnupg/k": true,
		"~/.gnupgx": false, "/etc": true, "/etcd": false, "~/*": true, "xay": true, "x/y": false,
	} {
		if got := matchAny(&gs, []byte(s)); got != want {
			t.Errorf("%q: %v, want %v", s, got, want)
		}
	}
}
