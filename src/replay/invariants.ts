// --check: the invariants every backend and the OS layer must keep, verified after every
// operation. Slow by design (it asks the backend for its free-space statistics after
// every event and keeps every live span in a sorted array); a replay with it stops at
// the first violation with the event, the invariant and the backend's state, as an
// InvariantError — a bug in heapsim, not in the user's input (exit 70).
//
// The invariants, in pages of the runtime page size unless said otherwise:
// 1. live spans never overlap, and every span lies inside the address space;
// 2. a free names exactly a span that is live (same base, same length);
// 3. free pages + in-use pages = heap pages (a page is free or in a live span, never
//    both, never neither — pages in per-P caches count as free);
// 4. the largest free run is at most the free pages, and there are free runs exactly
//    when there are free pages;
// 5. pages the runtime believes released are at most its free pages;
// 6. RSS <= committed <= VSIZE (bytes: resident memory is mapped, mapped memory is
//    reserved address space);
// 7. when the touch model writes spans whole (`all`, or `needzero` with 100% written),
//    RSS >= in-use bytes (the program wrote every page of its live spans, and nothing
//    releases a live page); a smaller written share leaves pages of live spans unwritten.

import type { EventRecord, Meter, ReplayState } from '../metrics/meter.js';
import { OP_ALLOC, OP_FREE, OP_NAMES } from '../trace/events.js';
import { grownFor } from '../util/grow.js';

/** An invariant broke: heapsim simulated something impossible. */
export class InvariantError extends Error {
  /** EX_SOFTWARE: this is a bug in heapsim. */
  readonly exitCode = 70;
  constructor(message: string) {
    super(message);
    this.name = 'InvariantError';
  }
}

const hex = (n: number) => '0x' + n.toString(16);

export class InvariantChecker implements Meter {
  /** Live spans sorted by base: bases and lengths in bytes. */
  private bases = new Float64Array(1024);
  private lengths = new Float64Array(1024);
  private n = 0;

  constructor(
    private readonly state: ReplayState,
    /** The touch model writes every page of a span at allocation. */
    private readonly everyPageWritten = true,
  ) {}

  event(e: EventRecord): void {
    if (e.op === OP_ALLOC) this.insert(e);
    else if (e.op === OP_FREE) this.remove(e);
    this.checkHeap(e);
  }

  /** The index of the first live span whose base is >= addr. */
  private lowerBound(addr: number): number {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.bases[mid] < addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private insert(e: EventRecord): void {
    const bytes = e.pages * this.state.pageBytes;
    if (!(e.addr >= 0) || e.addr + bytes > 2 ** 48) this.fail(e, `allocation placed at ${hex(e.addr)} is outside the 48-bit address space`);
    const i = this.lowerBound(e.addr);
    if (i > 0 && this.bases[i - 1] + this.lengths[i - 1] > e.addr)
      this.fail(e, `allocation [${hex(e.addr)}, +${bytes}) overlaps the live span at ${hex(this.bases[i - 1])} (+${this.lengths[i - 1]})`);
    if (i < this.n && this.bases[i] < e.addr + bytes)
      this.fail(e, `allocation [${hex(e.addr)}, +${bytes}) overlaps the live span at ${hex(this.bases[i])} (+${this.lengths[i]})`);
    if (this.n === this.bases.length) {
      this.bases = grownFor(this.bases, this.n);
      this.lengths = grownFor(this.lengths, this.n);
    }
    this.bases.copyWithin(i + 1, i, this.n);
    this.lengths.copyWithin(i + 1, i, this.n);
    this.bases[i] = e.addr;
    this.lengths[i] = bytes;
    this.n++;
  }

  private remove(e: EventRecord): void {
    const bytes = e.pages * this.state.pageBytes;
    const i = this.lowerBound(e.addr);
    if (i >= this.n || this.bases[i] !== e.addr) this.fail(e, `free of ${hex(e.addr)}, where no live span begins`);
    if (this.lengths[i] !== bytes) this.fail(e, `free of ${hex(e.addr)} with ${bytes} bytes; the live span there has ${this.lengths[i]}`);
    this.bases.copyWithin(i, i + 1, this.n);
    this.lengths.copyWithin(i, i + 1, this.n);
    this.n--;
  }

  private checkHeap(e: EventRecord): void {
    const { heap, os, inUsePages, pageBytes } = this.state;
    const fs = heap.freeStats();
    if (fs.freePages + inUsePages !== heap.heapPages) this.fail(e, `free pages ${fs.freePages} + in-use pages ${inUsePages} != heap pages ${heap.heapPages}`);
    if (fs.largestFreeRunPages > fs.freePages) this.fail(e, `largest free run ${fs.largestFreeRunPages} pages > free pages ${fs.freePages}`);
    if ((fs.freeRuns === 0) !== (fs.freePages === 0)) this.fail(e, `${fs.freeRuns} free runs for ${fs.freePages} free pages`);
    if (heap.releasedPages > fs.freePages) this.fail(e, `released pages ${heap.releasedPages} > free pages ${fs.freePages}`);
    if (os.rssBytes > os.committedBytes) this.fail(e, `RSS ${os.rssBytes} > committed ${os.committedBytes}`);
    if (os.committedBytes > os.vsizeBytes) this.fail(e, `committed ${os.committedBytes} > VSIZE ${os.vsizeBytes}`);
    if (this.everyPageWritten && os.rssBytes < inUsePages * pageBytes) this.fail(e, `RSS ${os.rssBytes} < in-use ${inUsePages * pageBytes}`);
  }

  private fail(e: EventRecord, what: string): never {
    const { heap, os, inUsePages } = this.state;
    const shape = Object.entries(heap.shape())
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    throw new InvariantError(
      `invariant violated at event ${e.seq} (line ${e.line}, ${OP_NAMES[e.op]}${e.addr >= 0 ? ` ${hex(e.addr)}` : ''}${e.pages > 0 ? ` ${e.pages} pages` : ''}, time ${e.time}) on ${heap.name}: ${what}\n` +
        `  state: heap ${heap.heapPages} pages, in use ${inUsePages}, released ${heap.releasedPages}, live spans ${this.n}; ` +
        `RSS ${os.rssBytes} B, committed ${os.committedBytes} B, VSIZE ${os.vsizeBytes} B${shape ? `; ${shape}` : ''}`,
    );
  }

  contribute(): void {}
}
