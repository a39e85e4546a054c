package testbin

import "testing"

func TestMockCLIFromEnv(t *testing.T) {
	t.Setenv(MockCLIEnv, "/opt/prebuilt/mockcli")
	if got := MockCLI(t); got != "/opt/prebuilt/mockcli" {
		t.Fatalf("MockCLI = %q", got)
	}
	if mock.path != "" {
		t.Fatal("built although the env named a binary")
	}
}
