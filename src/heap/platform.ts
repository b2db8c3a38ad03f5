// linux/amd64 as the Go runtime sees it: the address-space facts every backend shares.
//
// heapsim models one platform, the one Go's page heap was tuned on. These are its
// numbers, defined once here; a backend that needs one imports it from here (era-specific
// sizes, such as Go 1.8's 512 GiB up-front arena, stay with their backend).
//
// HUGE_PAGE_BYTES is the same 2 MiB as the OS layer's transparent huge page
// (src/os/sim-os.ts THP_BYTES): the runtime reads physHugePageSize from the kernel, so the
// two agree by construction on this platform.

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
