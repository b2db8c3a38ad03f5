// freeos: debug.FreeOSMemory and debug.SetMemoryLimit, for heapsim record's tests. A
// 96 MiB burst is dropped and returned with FreeOSMemory; then, under a 48 MiB memory
// limit, the program churns through a 32 MiB working set (the scavenger works to keep
// the process under the limit); then the limit is lifted. Runs in about a second.
package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"time"
)

var sink [][]byte

func fill(n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = make([]byte, size)
		for j := 0; j < size; j += 4096 {
			out[i][j] = 1
		}
	}
	return out
}

func main() {
	sink = fill(96, 1<<20)
	sink = nil
	debug.FreeOSMemory()

	debug.SetMemoryLimit(48 << 20)
	live := fill(64, 512<<10)
	for i := 0; i < 400; i++ {
		live[i%len(live)] = fill(1, 512<<10+8192*(i%7))[0]
		if i%100 == 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	runtime.KeepAlive(live)
	debug.SetMemoryLimit(math.MaxInt64)
	live = nil
	debug.FreeOSMemory()
	time.Sleep(100 * time.Millisecond)
}
