// spike: a heap-spike program for heapsim record's tests. A steady 16 MiB working set
// of 64 KiB buffers; three times, a spike to 16+192 MiB of 1 MiB buffers that are then
// dropped, followed by a pause so the background scavenger returns the memory. Runs in
// about 2 s. Flags: -rounds N (spikes, default 3), -exit N (exit with N at the end),
// -panic (panic at the end), -signal N (send itself signal N at the end: 15 is caught by
// the runtime, 9 is not), -hang (sleep at the end, to be killed). It says "spike: done"
// on standard output before it ends.
package main

import (
	"flag"
	"os"
	"runtime"
	"syscall"
	"time"
)

var sink [][]byte

func fill(n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = make([]byte, size)
		for j := 0; j < size; j += 4096 {
			out[i][j] = byte(i)
		}
	}
	return out
}

func main() {
	exitCode := flag.Int("exit", 0, "exit status at the end")
	doPanic := flag.Bool("panic", false, "panic at the end")
	hang := flag.Bool("hang", false, "sleep for an hour at the end")
	rounds := flag.Int("rounds", 3, "spikes")
	signal := flag.Int("signal", 0, "signal to send itself at the end")
	flag.Parse()

	steady := fill(256, 64<<10)
	for round := 0; round < *rounds; round++ {
		// Churn: replace a quarter of the steady set.
		for i := 0; i < len(steady); i += 4 {
			steady[i] = make([]byte, 64<<10)
		}
		sink = fill(192, 1<<20)
		time.Sleep(50 * time.Millisecond)
		sink = nil
		runtime.GC()
		time.Sleep(400 * time.Millisecond)
	}
	runtime.KeepAlive(steady)
	os.Stdout.WriteString("spike: done\n")
	if *signal != 0 {
		syscall.Kill(os.Getpid(), syscall.Signal(*signal))
		time.Sleep(time.Second)
	}
	if *doPanic {
		panic("spike: asked to panic")
	}
	if *hang {
		time.Sleep(time.Hour)
	}
	os.Exit(*exitCode)
}
