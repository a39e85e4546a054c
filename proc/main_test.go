package proc

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/internal/testbin"
	"go.uber.org/goleak"
)

// crashedBridgeEnv makes the test binary act as a bridge that starts one
// agent, reports its pid on stdout and waits to be killed.
const crashedBridgeEnv = "HOTLINE_PROC_TEST_BRIDGE"

func TestMain(m *testing.M) {
	if os.Getenv(crashedBridgeEnv) != "" {
		actAsBridge()
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		testbin.Cleanup()
		os.Exit(code)
	}))
}

func actAsBridge() {
	p, err := Start(context.Background(), Config{Kind: KindMock, Path: os.Getenv(testbin.MockCLIEnv),
		Dir: os.TempDir(), Home: os.Getenv(crashedBridgeEnv)})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	// HANGHARD ignores stdin EOF and SIGTERM: only Pdeathsig can end it.
	hanging := make(chan struct{}, 1)
	go func() {
		_, _ = p.Turn(context.Background(), UserMessage{Text: "HANGHARD"}, func(*Event) {
			select {
			case hanging <- struct{}{}:
			default:
			}
		})
	}()
	<-hanging
	fmt.Println(strconv.Itoa(p.PID()))
	time.Sleep(time.Hour) // until the test kills us
	os.Exit(0)
}
