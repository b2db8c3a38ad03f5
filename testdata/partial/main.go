// partial: large allocations of which the program writes only part, for heapsim
// record's tests (rss rows against the simulated RSS). Eight 16 MiB buffers; the program
// writes the first quarter of each, the first half of every other one, and none of the
// last; they stay live across two GCs. Runs in about half a second.
package main

import (
	"runtime"
	"time"
)

var bufs [][]byte

func main() {
	for i := 0; i < 8; i++ {
		b := make([]byte, 16<<20)
		written := len(b) / 4
		if i%2 == 1 {
			written = len(b) / 2
		}
		if i == 7 {
			written = 0
		}
		for j := 0; j < written; j += 4096 {
			b[j] = 1
		}
		bufs = append(bufs, b)
	}
	runtime.GC()
	time.Sleep(100 * time.Millisecond)
	runtime.GC()
	time.Sleep(100 * time.Millisecond)
	runtime.KeepAlive(bufs)
}
