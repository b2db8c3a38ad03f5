// linux/amd64 as the Go runtime sees it: the address-space facts every backend shares.
//
// heapsim models one platform, the one Go's page heap was tuned on. These are its
// numbers, defined once here; a backend that needs one imports it from here (era-specific
// sizes, such as Go 1.8's 512 GiB up-front arena, stay with their backend).
//
// HUGE_PAGE_BYTES is the same 2 MiB as the OS layer's transparent huge page
// (src/os/sim-os.ts THP_BYTES): the runtime reads physHugePageSize from the kernel, so the
// two agree by construction on this platform.
//
// HeapOutOfMemoryError is the runtime's own "out of memory" throw when mheap.grow cannot
// get address space for the arenas it needs (sysAlloc returned nil). It is a kind of the
// OS layer's AddressSpaceLimitError, the error the engine reports as the simulated
// program running out of memory, because the outcome is the same; it is raised by the
// heap, before the OS is asked, when the runtime itself would refuse (its arena limit)
// or the kernel could not place the range (past the top of the address space, or into
// the mappings the kernel placed top-down from its mmap base).

import { ADDRESS_SPACE_END, AddressSpaceLimitError } from '../os/sim-os.js';

/**
 * Where the heap starts: Go 1.8-1.10 placed its one arena at 0xc000000000, and from
 * Go 1.11 mallocinit's first arena hint points there (0x00c0 << 32). Addresses that start
 * 0xc0 are recognisable in crash dumps, which is why Go chose it.
 */
export const ARENA_BASE = 0xc000000000;

/** heapArenaBytes (Go 1.11+): the heap reserves address space in 64 MiB arenas. */
export const HEAP_ARENA_BYTES = 64 << 20;

/** physHugePageSize: a transparent huge page, 2 MiB on x86-64. */
export const HUGE_PAGE_BYTES = 2 << 20;

/** mheap.grow could not obtain [base, base + requestedBytes): the runtime throws "out of memory". */
export class HeapOutOfMemoryError extends AddressSpaceLimitError {
  constructor(base: number, requestedBytes: number, limit: number, why: string) {
    // As an AddressSpaceLimitError: the heap's size so far against the most it could reach.
    super(requestedBytes, base - ARENA_BASE, limit - ARENA_BASE);
    this.name = 'HeapOutOfMemoryError';
    const end = `0x${(base + requestedBytes).toString(16)}`;
    this.message = `runtime: out of memory: cannot grow the heap by ${requestedBytes} bytes at 0x${base.toString(16)}: the range would end at ${end}, ${why} (0x${Math.max(0, limit).toString(16)})`;
  }
}

/**
 * Throws HeapOutOfMemoryError when the arena range [base, base + bytes) would end past
 * `limit` (at most the top of the 48-bit address space), the highest address the era's
 * runtime can grow its heap to.
 */
export function checkArenaRange(base: number, bytes: number, limit: number, why: string): void {
  const top = Math.min(limit, ADDRESS_SPACE_END);
  if (base + bytes > top) throw new HeapOutOfMemoryError(base, bytes, top, top < limit ? 'past the end of the 48-bit address space' : why);
}
