//go:build unix

package testutil

import (
	"syscall"
	"time"
)

// CPUTime is the user and system CPU time of this process so far; unlike
// wall time it barely moves when the machine is shared, so benchmarks
// report it per op.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
