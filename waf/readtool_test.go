package waf

import (
	"encoding/json"
	"testing"
)

func TestReadToolsGuardSecrets(t *testing.T) {
	e, err := New(Options{Home: "/home/agent"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tool, input string
		want        Action
	}{
		{"Read", `{"file_path":"/home/agent/.ssh/id_ed25519"}`, Deny},
		{"Read", `{"file_path":"/etc/shadow"}`, Deny},
		{"Read", `{"file_path":"/home/agent/.aws/credentials"}`, Deny},
		{"Grep", `{"pattern":"KEY","path":"/home/agent/.ssh/id_rsa"}`, Deny},
		{"Read", `{"file_path":"/work/src/main.go"}`, Allow},
		{"Read", `{"file_path":"/work/it's here.txt"}`, Allow},
		{"Grep", `{"pattern":"TODO"}`, Allow},
		{"Glob", `{"pattern":"**/.ssh/*"}`, Allow},
	} {
		v := e.CheckTool("s", tc.tool, json.RawMessage(tc.input))
		if v.Action != tc.want {
			t.Errorf("%s %s: %v (%s), want %v", tc.tool, tc.input, v.Action, v.Rule, tc.want)
		}
	}
}
