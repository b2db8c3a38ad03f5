// heapsim's page-level recorder for the Go 1.19 runtime (linux).
//
// heapsim record adds this file to package runtime with `go build -overlay`, next to
// copies of a few runtime files into which it has inserted one-line calls to the
// functions below (recorder/go1.19/sites.json says where). It is heapsim's own code: no
// runtime source is copied into heapsim.
//
// What it records, as fixed 32-byte binary records (heapsimRec), in trace order:
// every span allocation and free of the page heap, every range the scavenger releases,
// the start and end of each debug.FreeOSMemory's scavenge of everything
// (mheap.scavengeAll, whose own ranges are recorded between the two), each GC cycle's
// marked heap, memory-limit changes, the resident bytes of the heap arenas (mincore)
// after each GC cycle, each scavenger batch, each FreeOSMemory and at exit, and a final
// record saying how the process ended (after a count of allocations made while a
// scavenger release was in flight, the one interleaving a trace cannot replay). heapsim
// decodes the file into a trace (src/record/decode.ts); the layout there and here must
// agree.
//
// What it may do, and why:
//   - Run inside the allocator: it is called with mheap_.lock held (frees, locked
//     allocations, scavenger candidates) and on the system stack. So it never allocates
//     from the Go heap (the compiler rejects implicit allocation in package runtime), never
//     takes a runtime lock (the allocator may hold it: deadlock), and never grows a slice.
//   - Keep its own spin lock (heapsimMu, a CAS on a uint32) around one static buffer of
//     heapsimBufRecs records, and a second (heapsimRSSMu) around the static buffers of the
//     rss measurement, which runs outside heapsimMu so that allocating threads do not wait
//     for mincore and /proc. While holding either, the M is pinned (acquirem: no
//     preemption), so a goroutine that holds a lock is always running and the spin ends.
//     Order: heapsimRSSMu before heapsimMu; heapsimMu may be taken under mheap_.lock,
//     never the other way round.
//   - Order events as the page allocator does: heapsimMu is taken inside the heap lock
//     wherever the runtime holds it, and across a page-cache refill it is held from the
//     refill (under the heap lock) until the allocation it serves is recorded
//     (heapsimHold), so another P's events cannot come between them in the file.
//   - Write with raw write(2) (write1) on a descriptor it opened itself (O_CLOEXEC),
//     whole records only: a file cut short is cut at a record boundary, unless the disk
//     filled mid-write, which the decoder reports.
//   - Flush when the buffer is full, at exit (return from main.main, os.Exit) and on the
//     fatal paths (throw, unrecovered panic, a fatal signal such as SIGTERM or SIGINT).
//     Those paths take the lock with a bounded spin: a thread that died holding it costs
//     the unflushed buffer, never a hang. SIGKILL cannot be caught: the records since the
//     last flush (at most heapsimBufRecs) are lost, and the file has no exit record.
//
// What it may not do: read or write anything the allocator owns beyond the values passed
// to it and a few plain loads (gcController's settings at start, gomaxprocs); print except
// when its own file cannot be written; call into the scheduler; block.
//
// Until schedinit has read the environment the recorder buffers (the first spans are
// allocated before that); heapsimInit then opens the file named by
// HEAPSIM_RECORD_FILE, or, when the variable is unset or the file exists already (a child
// process of the recorded program that inherited the variable: only the first process
// records), turns itself off and drops the buffer.

//go:build linux

package runtime

import (
	"runtime/internal/atomic"
	"runtime/internal/sys"
	"unsafe"
)

// heapsimRec is one record. Fields by op:
//
//	alloc, free: addr = span base, n = pages, p = P id + 1 (0: no P)
//	scavenge:    addr = base of the released range, n = bytes, p = M id + 1 (the thread
//	             releasing it: a scavengeAll's own ranges carry its M)
//	scavall:     mheap.scavengeAll (debug.FreeOSMemory) starts, p = M id + 1
//	scavallEnd:  it ends, n = the bytes it says it released, p = M id + 1
//	gc:          n = marked heap bytes
//	limit:       n = the new memory limit (maxInt64: none)
//	rss:         n = resident bytes of the heap arenas, addr = AnonHugePages bytes
//	             (heapsimUnknown: not read)
//	meta:        addr = key (heapsimMeta*), n = value
//	exit:        addr = how (heapsimExit*), n = exit code or signal number
type heapsimRec struct {
	time uint64 // ns since the first record
	addr uint64
	n    uint64
	p    uint32
	op   uint8
	_    [3]uint8
}

const (
	heapsimOpAlloc    = 1
	heapsimOpFree     = 2
	heapsimOpScavenge = 3
	heapsimOpGC       = 4
	heapsimOpLimit    = 5
	heapsimOpRSS      = 6
	heapsimOpMeta     = 7
	heapsimOpExit     = 8
	heapsimOpScavAll  = 9
	heapsimOpScavEnd  = 10

	heapsimMetaVersion      = 1 // record layout version
	heapsimMetaPageSize     = 2
	heapsimMetaPhysPageSize = 3
	heapsimMetaGOGC         = 4 // int64: -1 is off
	heapsimMetaGOMAXPROCS   = 5
	heapsimMetaMemoryLimit  = 6 // maxInt64: none
	heapsimMetaArenaBytes   = 7
	heapsimMetaLost         = 8  // records dropped before the file was open
	heapsimMetaArenasLost   = 9  // arenas beyond heapsimMaxArenas: rss undercounts
	heapsimMetaRaced        = 10 // allocations made while a scavenger release was in flight

	heapsimExitMain   = 1 // main.main returned
	heapsimExitOS     = 2 // os.Exit(n)
	heapsimExitPanic  = 3 // unrecovered panic
	heapsimExitThrow  = 4 // fatal runtime error
	heapsimExitSignal = 5 // killed by a signal the runtime handled

	// 2: scavenge records carry their M; scavengeAll's start and end records.
	heapsimLayoutVersion = 2
	heapsimUnknown       = ^uint64(0)

	// 32768 records of 32 bytes: 1 MiB of BSS, flushed in one write when full. A SIGKILL
	// loses at most this much; a larger buffer would make each flush stall allocating
	// threads for longer.
	heapsimBufRecs = 1 << 15

	// Busy spins before a waiter yields its thread: the lock is held for a few dozen
	// instructions, except during a flush.
	heapsimActiveSpins = 64

	// Spins before the exit paths give up on a lock (its holder died, or is the thread a
	// fatal signal interrupted): 65536 yields, a fraction of a second.
	heapsimExitSpins = 1 << 16

	// AnonHugePages reads may take 1/heapsimHugeGap of the run's time at most (1%).
	heapsimHugeGap = 100

	// Distinct heap arenas the rss measurement can cover: 4096 x 64 MiB = 256 GiB.
	heapsimMaxArenas = 4096

	// mincore's vector for one arena, at the smallest page size Linux uses (4 KiB).
	heapsimVecBytes = heapArenaBytes / 4096

	// open(2) flags and errno values, the same on every Linux architecture Go supports.
	heapsimOWronly  = 0x1
	heapsimOCreat   = 0x40
	heapsimOExcl    = 0x80
	heapsimOCloexec = 0x80000
	heapsimEEXIST   = 17

	heapsimStateEarly = 0 // buffering, no file yet
	heapsimStateOn    = 1
	heapsimStateOff   = 2
)

var (
	heapsimMu    uint32
	heapsimRSSMu uint32
	heapsimState uint32
	heapsimFd    int32 = -1
	heapsimEpoch int64
	// The M (its id + 1) holding heapsimMu across a page-cache refill (heapsimHold); 0: none.
	heapsimHolder uint64
	heapsimN      int
	heapsimLost   uint64
	heapsimBuf    [heapsimBufRecs]heapsimRec

	heapsimArenaSeen  [(1<<arenaBits + 7) / 8]uint8
	heapsimArenaList  [heapsimMaxArenas]uintptr
	heapsimArenaCount uint32 // atomic: entries below it are final
	heapsimArenasLost uint64
	heapsimInFlight   uint32 // atomic: scavenger releases between their choice and relock
	heapsimRaced      uint64
	heapsimLastArena  = ^uintptr(0)
	heapsimVec        [heapsimVecBytes]byte

	heapsimReadHuge bool
	heapsimHugeLast int64 // when the last AnonHugePages read ended (nanotime)
	heapsimHugeCost int64 // and how long it took
	heapsimPath     [4096]byte
	heapsimText     [4096]byte
)

// heapsimLock takes the spin lock with the M pinned. With bounded, it gives up after
// heapsimExitSpins tries and returns false.
//
//go:nosplit
func heapsimLock(bounded bool) (*m, bool) {
	return heapsimSpin(&heapsimMu, bounded)
}

//go:nosplit
func heapsimUnlock(mp *m) {
	heapsimRelease(&heapsimMu, mp)
}

//go:nosplit
func heapsimSpin(mu *uint32, bounded bool) (*m, bool) {
	var mp *m
	if getg() != nil {
		mp = acquirem()
	}
	for i := 0; !atomic.Cas(mu, 0, 1); i++ {
		if bounded && i >= heapsimExitSpins {
			if mp != nil {
				releasem(mp)
			}
			return nil, false
		}
		if i < heapsimActiveSpins {
			procyield(30)
		} else {
			osyield()
		}
	}
	return mp, true
}

//go:nosplit
func heapsimRelease(mu *uint32, mp *m) {
	atomic.Store(mu, 0)
	if mp != nil {
		releasem(mp)
	}
}

// heapsimAppend adds one record; the lock is held. The time is taken here, under the
// lock, so times never decrease along the file.
//
//go:nosplit
func heapsimAppend(op uint8, addr, n uint64, p uint32) {
	now := nanotime()
	if heapsimEpoch == 0 {
		heapsimEpoch = now - 1
	}
	if heapsimN == heapsimBufRecs {
		if heapsimState != heapsimStateOn {
			heapsimLost++
			return
		}
		heapsimFlushLocked()
	}
	r := &heapsimBuf[heapsimN]
	r.time = uint64(now - heapsimEpoch)
	r.addr = addr
	r.n = n
	r.p = p
	r.op = op
	heapsimN++
}

// heapsimFlushLocked writes the buffer out; the lock is held. A failed write turns the
// recorder off (the decoder sees no exit record and says the trace is cut short).
func heapsimFlushLocked() {
	if heapsimState != heapsimStateOn || heapsimN == 0 {
		return
	}
	if !heapsimWriteAll(unsafe.Pointer(&heapsimBuf[0]), uintptr(heapsimN)*unsafe.Sizeof(heapsimRec{})) {
		print("heapsim recorder: cannot write the recording; recording stopped\n")
		heapsimState = heapsimStateOff
	}
	heapsimN = 0
}

func heapsimWriteAll(p unsafe.Pointer, n uintptr) bool {
	for n > 0 {
		chunk := n
		if chunk > 1<<30 {
			chunk = 1 << 30
		}
		w := write1(uintptr(heapsimFd), p, int32(chunk))
		if w == -_EINTR {
			continue
		}
		if w <= 0 {
			return false
		}
		p = add(p, uintptr(w))
		n -= uintptr(w)
	}
	return true
}

//go:nosplit
func heapsimPid(pp *p) uint32 {
	if pp == nil {
		return 0
	}
	return uint32(pp.id) + 1
}

// heapsimNoteArenas remembers the arenas [base, base+bytes) lies in, for heapsimRSS.
//
//go:nosplit
func heapsimNoteArenas(base, bytes uintptr) {
	first, last := arenaIndex(base), arenaIndex(base+bytes-1)
	if first == last && uintptr(first) == heapsimLastArena {
		return
	}
	for i := first; i <= last; i++ {
		if heapsimArenaSeen[i/8]&(1<<(i%8)) != 0 {
			continue
		}
		heapsimArenaSeen[i/8] |= 1 << (i % 8)
		count := heapsimArenaCount
		if count == heapsimMaxArenas {
			heapsimArenasLost++
			continue
		}
		heapsimArenaList[count] = arenaBase(i)
		atomic.Store(&heapsimArenaCount, count+1)
	}
	heapsimLastArena = uintptr(last)
}

// heapsimHold: allocSpan refilled its P's page cache, under the heap lock. The refill
// changes the page allocator, so the allocation it serves must come in the trace before
// anything another P does after it (a replay refills the cache at that allocation). The
// lock is taken here, still under the heap lock, and kept until heapsimAlloc records
// the allocation a few lines later (no lock is taken in between).
func heapsimHold() {
	if heapsimState == heapsimStateOff {
		return
	}
	heapsimLock(false)
	heapsimHolder = uint64(getg().m.id) + 1
}

// heapsimAlloc: allocSpan got npages at base (0: it did not, nothing to record);
// locked says the page allocator chose it under the heap lock. Such a choice made while a
// scavenger release is in flight (scavengeOne drops the heap lock around madvise, the
// range marked allocated meanwhile) is counted: a replay, which releases at once, may
// place it differently.
func heapsimAlloc(base, npages uintptr, pp *p, locked bool) {
	held := heapsimHolder == uint64(getg().m.id)+1
	if !held {
		if base == 0 || heapsimState == heapsimStateOff {
			return
		}
		heapsimLock(false)
	}
	if base != 0 {
		if (held || locked) && atomic.Load(&heapsimInFlight) > 0 {
			heapsimRaced++
		}
		heapsimNoteArenas(base, npages*pageSize)
		heapsimAppend(heapsimOpAlloc, uint64(base), uint64(npages), heapsimPid(pp))
	}
	heapsimHolder = 0
	heapsimUnlock(getg().m)
}

// heapsimFree: freeSpanLocked returned the span's pages to the page allocator.
func heapsimFree(base, npages uintptr) {
	if heapsimState == heapsimStateOff {
		return
	}
	mp, _ := heapsimLock(false)
	heapsimAppend(heapsimOpFree, uint64(base), uint64(npages), heapsimPid(getg().m.p.ptr()))
	heapsimUnlock(mp)
}

// heapsimScavenge: the scavenger chose [addr, addr+bytes) and is about to release it
// (heap lock held); heapsimScavengeDone: it has taken the heap lock back and freed it.
// The record names the M, so that the decoder can tell a scavengeAll's own ranges.
func heapsimScavenge(addr, bytes uintptr) {
	atomic.Xadd(&heapsimInFlight, 1)
	heapsimMEvent(heapsimOpScavenge, uint64(addr), uint64(bytes))
}

// heapsimScavengeAll: mheap.scavengeAll (debug.FreeOSMemory) is about to release every
// free page, on this M (the system stack: it stays on it until heapsimScavengeAllDone).
func heapsimScavengeAll() {
	heapsimMEvent(heapsimOpScavAll, 0, 0)
}

// heapsimScavengeAllDone: scavengeAll released this many bytes (the sum of its ranges,
// as pageAlloc.scavenge returns it); then the rss after it, with the huge pages the call
// broke up (it runs on the program's goroutine, inside a call that is slow anyway). No
// runtime lock is held.
func heapsimScavengeAllDone(released uintptr) {
	heapsimMEvent(heapsimOpScavEnd, 0, uint64(released))
	heapsimRSS(true)
}

// heapsimMEvent appends a record whose p is the calling M (id + 1).
func heapsimMEvent(op uint8, addr, n uint64) {
	if heapsimState == heapsimStateOff {
		return
	}
	mp, _ := heapsimLock(false)
	heapsimAppend(op, addr, n, uint32(getg().m.id)+1)
	heapsimUnlock(mp)
}

func heapsimScavengeDone() {
	atomic.Xadd(&heapsimInFlight, -1)
}

// heapsimGC: a GC cycle ended with this many bytes marked.
func heapsimGC(marked uint64) {
	heapsimEvent(heapsimOpGC, 0, marked)
}

// heapsimLimit: debug.SetMemoryLimit set the limit to this many bytes.
func heapsimLimit(limit int64) {
	heapsimEvent(heapsimOpLimit, 0, uint64(limit))
}

func heapsimEvent(op uint8, addr, n uint64) {
	if heapsimState == heapsimStateOff {
		return
	}
	mp, _ := heapsimLock(false)
	heapsimAppend(op, addr, n, 0)
	heapsimUnlock(mp)
}

// heapsimRSS records the resident bytes of the heap arenas (and, with withHuge when THP
// may be in use, the process's AnonHugePages). Called where no runtime lock is held: after
// a GC cycle with the world restarted, after a scavenger batch, after scavenging on the
// allocation path. Only the GC's end (and FreeOSMemory, and the exit) read AnonHugePages:
// the kernel walks every page table for it, 3-6 ms for a few hundred MiB, and on the
// scavenger's goroutine that held the scavenger through wake-ups the runtime would
// otherwise have acted on (measured: bench/scavenger-trace.ts, docs/policies.md), on an
// allocating goroutine it would hold the program. mincore alone costs microseconds per
// arena. It measures under heapsimRSSMu only; the record is appended under heapsimMu,
// stamped when appended.
func heapsimRSS(withHuge bool) {
	if heapsimState != heapsimStateOn {
		return
	}
	mp, _ := heapsimSpin(&heapsimRSSMu, false)
	resident, huge := heapsimMeasure(withHuge)
	heapsimRelease(&heapsimRSSMu, mp)
	heapsimEvent(heapsimOpRSS, huge, resident)
}

// heapsimMeasure is the measurement; heapsimRSSMu is held. The kernel computes
// smaps_rollup by walking the whole process's page tables (milliseconds for a heap of a
// few hundred MiB), so AnonHugePages is read only when asked (withHuge) and when the last
// read's cost is under 1/heapsimHugeGap of the time since; otherwise it is unknown.
func heapsimMeasure(withHuge bool) (resident, huge uint64) {
	n := atomic.Load(&heapsimArenaCount)
	for i := uint32(0); i < n; i++ {
		resident += heapsimResident(heapsimArenaList[i])
	}
	if !heapsimReadHuge {
		return resident, 0
	}
	if !withHuge {
		return resident, heapsimUnknown
	}
	start := nanotime()
	if start-heapsimHugeLast < heapsimHugeGap*heapsimHugeCost {
		return resident, heapsimUnknown
	}
	huge = heapsimAnonHuge()
	heapsimHugeLast = nanotime()
	heapsimHugeCost = heapsimHugeLast - start
	return resident, huge
}

// heapsimResident is mincore over one arena: resident bytes (0 if it is not mapped).
func heapsimResident(base uintptr) uint64 {
	if mincore(unsafe.Pointer(base), heapArenaBytes, &heapsimVec[0]) != 0 {
		return 0
	}
	pages := heapArenaBytes / physPageSize
	count := 0
	i := uintptr(0)
	for ; i+8 <= pages; i += 8 {
		count += sys.OnesCount64(*(*uint64)(unsafe.Pointer(&heapsimVec[i])) & 0x0101010101010101)
	}
	for ; i < pages; i++ {
		count += int(heapsimVec[i] & 1)
	}
	return uint64(count) * uint64(physPageSize)
}

// heapsimAnonHuge reads AnonHugePages from /proc/self/smaps_rollup (heapsimUnknown if it
// cannot).
func heapsimAnonHuge() uint64 {
	n := heapsimReadFile("/proc/self/smaps_rollup\x00")
	const key = "AnonHugePages:"
	for i := 0; i+len(key) <= n; i++ {
		if (i > 0 && heapsimText[i-1] != '\n') || !heapsimHasPrefix(heapsimText[i:n], key) {
			continue
		}
		kib := uint64(0)
		j := i + len(key)
		for j < n && heapsimText[j] == ' ' {
			j++
		}
		for ; j < n && heapsimText[j] >= '0' && heapsimText[j] <= '9'; j++ {
			kib = kib*10 + uint64(heapsimText[j]-'0')
		}
		return kib << 10
	}
	return heapsimUnknown
}

// heapsimReadFile reads a small file into heapsimText; returns its length (0 on error).
func heapsimReadFile(path string) int {
	fd := open((*byte)(stringStructOf(&path).str), _O_RDONLY|_O_CLOEXEC, 0)
	if fd < 0 {
		return 0
	}
	n := 0
	for n < len(heapsimText) {
		r := read(fd, unsafe.Pointer(&heapsimText[n]), int32(len(heapsimText)-n))
		if r == -_EINTR {
			continue
		}
		if r <= 0 {
			break
		}
		n += int(r)
	}
	closefd(fd)
	return n
}

// heapsimInit runs once in schedinit, after the environment, GOGC, GOMEMLIMIT and
// GOMAXPROCS are known: opens the file and writes the header, or turns recording off.
func heapsimInit() {
	path := gogetenv("HEAPSIM_RECORD_FILE")
	mp, _ := heapsimLock(false)
	heapsimOpen(path)
	heapsimUnlock(mp)
}

// heapsimOpen creates the file and writes the header; the lock is held.
func heapsimOpen(path string) {
	if path == "" || len(path) >= len(heapsimPath) {
		heapsimState = heapsimStateOff
		return
	}
	copy(heapsimPath[:], path)
	heapsimPath[len(path)] = 0
	fd := open(&heapsimPath[0], heapsimOWronly|heapsimOCreat|heapsimOExcl|heapsimOCloexec, 0o644)
	if fd < 0 {
		if fd != -heapsimEEXIST {
			print("heapsim recorder: cannot create ", path, " (errno ", -fd, "); not recording\n")
		}
		heapsimState = heapsimStateOff
		return
	}
	heapsimFd = fd
	// THP off: no huge pages, nothing to read. Otherwise smaps_rollup says how many.
	n := heapsimReadFile("/sys/kernel/mm/transparent_hugepage/enabled\x00")
	heapsimReadHuge = n > 0 && !heapsimContains(heapsimText[:n], "[never]")
	heapsimState = heapsimStateOn
	var head [10]heapsimRec
	head[0] = heapsimRec{time: 0x6d69736170616568, addr: 0x76722d6365722d, n: heapsimLayoutVersion, op: heapsimOpMeta} // "heapsim-rec-rv" magic
	meta := [...][2]uint64{
		{heapsimMetaVersion, heapsimLayoutVersion},
		{heapsimMetaPageSize, pageSize},
		{heapsimMetaPhysPageSize, uint64(physPageSize)},
		{heapsimMetaGOGC, uint64(int64(gcController.gcPercent.Load()))},
		{heapsimMetaGOMAXPROCS, uint64(gomaxprocs)},
		{heapsimMetaMemoryLimit, uint64(gcController.memoryLimit.Load())},
		{heapsimMetaArenaBytes, heapArenaBytes},
		{heapsimMetaLost, heapsimLost},
	}
	for i, kv := range meta {
		head[i+1] = heapsimRec{addr: kv[0], n: kv[1], op: heapsimOpMeta}
	}
	if !heapsimWriteAll(unsafe.Pointer(&head[0]), uintptr(len(meta)+1)*unsafe.Sizeof(heapsimRec{})) {
		print("heapsim recorder: cannot write ", path, "; not recording\n")
		heapsimState = heapsimStateOff
		return
	}
	heapsimFlushLocked()
}

func heapsimContains(s []byte, sub string) bool {
	for i := range s {
		if heapsimHasPrefix(s[i:], sub) {
			return true
		}
	}
	return false
}

func heapsimHasPrefix(s []byte, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if s[i] != prefix[i] {
			return false
		}
	}
	return true
}

// heapsimExit is called on the way out: a last rss row, the exit record, a flush; then
// recording stops. Only the first caller writes (several threads may be dying). Both
// locks are taken with a bounded spin: a thread that died holding one costs the rss row
// or the unflushed records, never a hang.
func heapsimExit(how uint64, code int64) {
	if heapsimState != heapsimStateOn {
		return
	}
	rmp, measured := heapsimSpin(&heapsimRSSMu, true)
	var resident, huge uint64
	if measured {
		resident, huge = heapsimMeasure(true)
	}
	mp, ok := heapsimLock(true)
	if ok && heapsimState == heapsimStateOn {
		if heapsimArenasLost > 0 {
			heapsimAppend(heapsimOpMeta, heapsimMetaArenasLost, heapsimArenasLost, 0)
		}
		heapsimAppend(heapsimOpMeta, heapsimMetaRaced, heapsimRaced, 0)
		if measured {
			heapsimAppend(heapsimOpRSS, huge, resident, 0)
		}
		heapsimAppend(heapsimOpExit, how, uint64(code), 0)
		heapsimFlushLocked()
		heapsimState = heapsimStateOff
	}
	if ok {
		heapsimUnlock(mp)
	}
	if measured {
		heapsimRelease(&heapsimRSSMu, rmp)
	}
}
