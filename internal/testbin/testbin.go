// Package testbin builds helper programs for tests, once per test binary.
package testbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// MockCLIEnv names a prebuilt mockcli binary; set it (as `make test` does) to
// skip the per-package build, which is slow on a shared machine.
const MockCLIEnv = "HOTLINE_MOCKCLI"

const mockPkg = "github.com/hotline-dev/hotline/mockcli"

var mock struct {
	once sync.Once
	path string
	dir  string
	out  []byte
	err  error
}

// MockCLI returns the path of a mockcli binary: $HOTLINE_MOCKCLI if set,
// else one built from this module into a temporary directory the first time
// it is called in this test binary. A failed build fails tb with the compiler
// output.
func MockCLI(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv(MockCLIEnv); p != "" {
		return p
	}
	mock.once.Do(buildMock)
	if mock.err != nil {
		tb.Fatalf("testbin: building %s: %v\n%s", mockPkg, mock.err, mock.out)
	}
	return mock.path
}

func buildMock() {
	// The directory must outlive any single test, so it is not tb.TempDir();
	// it lives under the OS temp dir and is named per process.
	dir, err := os.MkdirTemp("", "hotline-testbin-")
	if err != nil {
		mock.err = err
		return
	}
	mock.dir = dir
	name := "mockcli"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	path := filepath.Join(dir, name)
	cmd := exec.Command(goTool(), "build", "-o", path, mockPkg)
	mock.out, mock.err = cmd.CombinedOutput()
	if mock.err == nil {
		mock.path = path
	}
}

// Cleanup removes what MockCLI built; call it from TestMain after m.Run.
func Cleanup() {
	if mock.dir != "" {
		_ = os.RemoveAll(mock.dir)
	}
}

// goTool prefers the go binary of the toolchain running the tests, so the
// mock is built with the same version.
func goTool() string {
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return "go"
}
