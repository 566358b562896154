package compare

import (
	"bufio"
	"os"
	"runtime"
	"strings"
	"time"
)

// Machine describes where a report was measured.
type Machine struct {
	GoVersion string
	OS, Arch  string
	CPU       string
	Cores     int
	Date      time.Time
}

// ThisMachine describes the running machine, now.
func ThisMachine() Machine {
	return Machine{
		GoVersion: runtime.Version(),
		OS:        runtime.GOOS,
		Arch:      runtime.GOARCH,
		CPU:       cpuModel(),
		Cores:     runtime.NumCPU(),
		Date:      time.Now().UTC(),
	}
}

// cpuModel reads the CPU model name from /proc/cpuinfo, "unknown" where
// there is none.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
