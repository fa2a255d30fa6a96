package loadtest

import (
	"os"
	"strconv"
	"strings"
)

// loadAverage is the 1-minute load average of the machine (0 where /proc/loadavg does not exist).
// A run on a shared machine is only as good as the quiet around it; the report records it.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
