// heapsim's scavenger debug output (bench/scavenger-trace.ts): overlaid into the runtime
// package beside heapsim's recorder, called from the sites in sites.json. One line per
// event on standard error, "SCV <ns> <event> <a> <b> <c> <d>", the time on the recorder's
// clock (the trace's time column). print does not allocate, so every site may call it.

package runtime

func heapsimDebugNow() int64 {
	if heapsimEpoch == 0 {
		return -1
	}
	return nanotime() - heapsimEpoch
}

func heapsimDebug(what string, a, b, c, d int64) {
	print("SCV ", heapsimDebugNow(), " ", what, " ", a, " ", b, " ", c, " ", d, "\n")
}

func heapsimDebugBool(v bool) int64 {
	if v {
		return 1
	}
	return 0
}

// heapsimDebugRatio: the controller's new sleep ratio and the CPU fraction it was given.
func heapsimDebugRatio(ratio, cpu float64) {
	print("SCV ", heapsimDebugNow(), " ratio ", ratio, " ", cpu, "\n")
}

// heapsimDebugGCStart: what started a cycle (gcTriggerKind: 0 heap, 1 time, 2 runtime.GC),
// the heap then, the trigger and goal in force and the runway behind the trigger.
func heapsimDebugGCStart(kind gcTriggerKind) {
	trigger, goal := gcController.trigger()
	print("SCV ", heapsimDebugNow(), " gcstart ", int(kind), " ", gcController.heapLive, " ", trigger, " ", goal, " ", gcController.runway.Load(), "\n")
}
