package apicsim

import (
	"testing"

	"go.uber.org/goleak"
)

// Every simulator goroutine (listeners, sockets, reaper, churn) must end
// with Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
