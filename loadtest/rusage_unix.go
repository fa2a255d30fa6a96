//go:build unix

package loadtest

import (
	"syscall"
	"time"
)

// selfCPU is the load generator's own CPU time (user + system), to tell client cost from server cost
// when both share a machine.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
