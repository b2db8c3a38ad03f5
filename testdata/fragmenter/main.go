// fragmenter: fragments the page heap for heapsim record's tests. Large objects (their
// own spans, 5 to 40 pages) are allocated in a row, every other one is dropped, and larger
// ones follow that fit none of the holes; five rounds, each keeping a share of the
// survivors. Runs in about a second.
package main

import (
	"math/rand"
	"runtime"
	"time"
)

var keep [][]byte

func touch(b []byte) []byte {
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	return b
}

func main() {
	rng := rand.New(rand.NewSource(1))
	for round := 0; round < 5; round++ {
		row := make([][]byte, 600)
		for i := range row {
			row[i] = touch(make([]byte, (5+rng.Intn(36))*8192-1024))
		}
		// Drop every other one: holes of 5-40 pages between survivors.
		for i := 0; i < len(row); i += 2 {
			row[i] = nil
		}
		runtime.GC()
		// Larger objects than any hole: the heap grows instead of reusing.
		for i := 0; i < 60; i++ {
			keep = append(keep, touch(make([]byte, (48+rng.Intn(64))*8192)))
		}
		// Keep a fifth of the survivors across rounds.
		for i := 1; i < len(row); i += 10 {
			keep = append(keep, row[i])
		}
		if len(keep) > 400 {
			keep = keep[len(keep)-400:]
		}
		time.Sleep(100 * time.Millisecond)
	}
	runtime.KeepAlive(keep)
}
