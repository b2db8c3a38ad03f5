// heapsim oracle: the in-package half. Placed (by go test -overlay) beside the Go 1.19
// runtime's own export_test.go, it drives a real pageAlloc the way mheap.allocSpan,
// mheap.grow and mheap.freeSpanLocked do, and reports every decision. It is test code
// of heapsim, written for heapsim; it calls the runtime's unexported page allocator.

package runtime

// HeapsimOracle is a page heap built from the runtime's own pageAlloc, per-P page
// caches and mheap growth rules (arena hints from 0xc000000000, 64 MiB arenas,
// growth in whole 4 MiB chunks).
type HeapsimOracle struct {
	p         *pageAlloc
	caches    map[int]*pageCache
	arenaBase uintptr // curArena.base
	arenaEnd  uintptr // curArena.end
	hint      uintptr // next arena hint
}

func NewHeapsimOracle() *HeapsimOracle {
	o := &HeapsimOracle{p: new(pageAlloc), caches: map[int]*pageCache{}, hint: 0x00c0 << 32}
	o.p.init(new(mutex), testSysStat)
	lockInit(o.p.mheapLock, lockRankMheap)
	o.p.test = true
	return o
}

func (o *HeapsimOracle) locked(f func()) {
	systemstack(func() {
		lock(o.p.mheapLock)
		f()
		unlock(o.p.mheapLock)
	})
}

// grow follows mheap.grow and mheap.sysAlloc (the arena hint always succeeds).
func (o *HeapsimOracle) grow(npage uintptr) {
	ask := alignUp(npage, pallocChunkPages) * pageSize
	end := o.arenaBase + ask
	nBase := alignUp(end, physPageSize)
	if nBase > o.arenaEnd || end < o.arenaBase {
		n := alignUp(ask, heapArenaBytes)
		av := o.hint
		o.hint += n
		if av == o.arenaEnd {
			o.arenaEnd = av + n
		} else {
			if size := o.arenaEnd - o.arenaBase; size != 0 {
				o.p.grow(o.arenaBase, size)
			}
			o.arenaBase = av
			o.arenaEnd = av + n
		}
		nBase = alignUp(o.arenaBase+ask, physPageSize)
	}
	v := o.arenaBase
	o.arenaBase = nBase
	o.p.grow(v, nBase-v)
}

// Alloc follows mheap.allocSpan: the P's page cache for fewer than 16 pages, then
// pageAlloc.alloc, growing the heap once if needed. P < 0 means no P.
func (o *HeapsimOracle) Alloc(npages uintptr, pid int) (base, scav uintptr) {
	if pid >= 0 && npages < pageCachePages/4 {
		c := o.caches[pid]
		if c == nil {
			c = new(pageCache)
			o.caches[pid] = c
		}
		if c.empty() {
			o.locked(func() { *c = o.p.allocToCache() })
		}
		base, scav = c.alloc(npages)
		if base != 0 {
			return
		}
	}
	o.locked(func() {
		base, scav = o.p.alloc(npages)
		if base == 0 {
			o.grow(npages)
			base, scav = o.p.alloc(npages)
			if base == 0 {
				throw("grew heap, but no adequate free space found")
			}
		}
	})
	return
}

// Free follows mheap.freeSpanLocked.
func (o *HeapsimOracle) Free(base, npages uintptr) {
	o.locked(func() { o.p.free(base, npages, false) })
}

// Scavenge is pageAlloc.scavenge; nbytes = ^uintptr(0) releases everything.
func (o *HeapsimOracle) Scavenge(nbytes uintptr) uintptr {
	return o.p.scavenge(nbytes, nil)
}

// FlushCache flushes a P's page cache, as procresize does when a P goes away.
func (o *HeapsimOracle) FlushCache(pid int) {
	if c := o.caches[pid]; c != nil {
		o.locked(func() { c.flush(o.p) })
	}
}

// SearchAddrs reports the allocator's and the scavenge index's search addresses.
func (o *HeapsimOracle) SearchAddrs() (alloc uintptr, scav uintptr, scavMarked bool) {
	alloc = o.p.searchAddr.addr()
	scav, scavMarked = o.p.scav.index.searchAddr.Load()
	return
}

// HeapsimHugePageSize is physHugePageSize on this machine (0 without huge pages).
func HeapsimHugePageSize() uintptr { return physHugePageSize }
