package testenv

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Agents lists the live (not zombie) mockcli processes whose environment
// has HOME=home: one test's agents, wherever they were reparented.
func Agents(home string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || !strings.Contains(string(st), "(mockcli)") || strings.Contains(string(st), ") Z ") {
			continue
		}
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err == nil && strings.Contains("\x00"+string(env)+"\x00", "\x00HOME="+home+"\x00") {
			out = append(out, pid)
		}
	}
	return out
}
