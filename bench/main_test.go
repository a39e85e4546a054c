package bench_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/hotline-dev/hotline/internal/testbin"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) { testbin.Cleanup() }))
}
