// The offset address space and the heap's address ranges: Go 1.19's mranges.go
// (offAddr, addrRange, addrRanges) as the page allocator uses them.
//
// The page allocator works in *offset addresses*: addr - arenaBaseOffset, which on
// linux/amd64 is addr + 2^47 for user-space addresses, so that the whole 48-bit space is
// one ordered line [MIN_OFF_ADDR, MAX_OFF_ADDR]. The backend (index.ts) converts at its
// edge; everything below it in this directory speaks offset addresses.
//
// AddrRanges holds the ranges the allocator has grown into (pageAlloc.inUse).
// Invariants: the ranges are half-open [base, limit), sorted by base, disjoint and
// coalesced (no range ends where the next begins); they only grow, never shrink.

/** arenaBaseOffset on linux/amd64, as the distance added to a user address. */
export const OFFSET = 2 ** 47;
/** minOffAddr: the lowest offset address. */
export const MIN_OFF_ADDR = 0;
/** maxOffAddr: the highest offset address; as a search address, "no free memory". */
export const MAX_OFF_ADDR = 2 ** 48 - 1;

/** addrRanges: sorted, disjoint, coalesced [base, limit) ranges, as parallel arrays. */
export class AddrRanges {
  readonly base: number[] = [];
  readonly limit: number[] = [];

  /**
   * findSucc: the index of the first range whose base is above addr (ranges.length if
   * none); a range holding addr counts as below it. Binary search down to 8 ranges,
   * then a linear scan, as Go does.
   */
  findSucc(addr: number): number {
    const base = this.base;
    let bot = 0;
    let top = base.length;
    while (top - bot > 8) {
      const i = ((top - bot) >> 1) + bot;
      if (base[i] <= addr && addr < this.limit[i]) return i + 1;
      if (addr < base[i]) top = i;
      else bot = i + 1;
    }
    for (let i = bot; i < top; i++) if (addr < base[i]) return i;
    return top;
  }

  /** The lowest address >= addr inside a range, or -1. */
  findAddrGreaterEqual(addr: number): number {
    const i = this.findSucc(addr);
    if (i === 0) return this.base[0];
    if (this.base[i - 1] <= addr && addr < this.limit[i - 1]) return addr;
    if (i < this.base.length) return this.base[i];
    return -1;
  }

  /** add: [b, l), disjoint from every range held, merged with the ones it touches. */
  add(b: number, l: number): void {
    const i = this.findSucc(b);
    const down = i > 0 && this.limit[i - 1] === b;
    const up = i < this.base.length && l === this.base[i];
    if (down && up) {
      this.limit[i - 1] = this.limit[i];
      this.base.splice(i, 1);
      this.limit.splice(i, 1);
    } else if (down) this.limit[i - 1] = l;
    else if (up) this.base[i] = b;
    else {
      this.base.splice(i, 0, b);
      this.limit.splice(i, 0, l);
    }
  }
}
