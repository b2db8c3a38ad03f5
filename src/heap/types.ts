// The page-heap interface every backend implements.
//
// A backend is mechanism only: it answers "allocate n pages", "free this span",
// "release N bytes in your era's page order" and "describe your free space". It never
// decides when to release (src/policy), never prints (src/report) and never reads flags
// (src/cli.ts). It talks to the OS layer in addresses and bytes: it maps memory when it
// grows and madvises pages it releases; the program's writes (touches) are the engine's.
//
// Units: pages are runtime pages of `pageBytes` (8 KiB in Go); addresses are bytes.
// Ranges are half-open: a span is [base, base + npages*pageBytes).
//
// The seam with the engine is HeapOptions: the engine owns the clock (trace time) and the
// growth callback, and hands both over at construction; the heap never has fields set on
// it from outside.

import { HeapsimError } from '../errors.js';
import type { OsMemory } from '../os/sim-os.js';

/** A configuration the backend cannot model (page size, reservation strategy): a user error. */
export class HeapConfigError extends HeapsimError {}

/** Trace time as the engine advances it: a backend reads `now` when it needs the time. */
export interface HeapClock {
  /** Trace time (ns) of the operation running or about to run. */
  readonly now: number;
}

export interface FreeStats {
  /** Free pages in the heap (obtained from the OS, not in use). */
  freePages: number;
  /** Maximal runs of contiguous free pages. */
  freeRuns: number;
  /** Pages in the largest run of contiguous free pages. */
  largestFreeRunPages: number;
}

export interface PageHeap {
  readonly name: string;
  readonly pageBytes: number;
  /** Pages obtained from the OS so far (the heap's size). */
  readonly heapPages: number;
  /** Pages the runtime's own accounting believes are released to the OS. */
  readonly releasedPages: number;
  /** Deterministic work counter: list nodes, tree nodes or bitmap words visited. */
  readonly work: number;
  /** After alloc: how many pages of the returned span had been scavenged. */
  lastScavengedPages: number;
  /**
   * Allocates npages contiguous pages and returns the base address. `p` is the
   * processor (Go's P) when the trace knows it, else -1. Throws the OS layer's
   * AddressSpaceLimitError when the heap cannot grow.
   *
   * When the heap must grow, alloc calls HeapOptions.onGrow first, and the policy behind
   * it may release memory from inside this call (Go 1.12+ scavenges on growth): onGrow
   * re-enters `release`. Every backend guarantees that at that moment its free structures
   * are consistent and do not yet hold the new memory (it is mapped, not free), and that
   * alloc searches them afresh once the callback returns; work done by the nested release
   * counts in `work` once. What the release may change differs:
   * - span-list, treap, treap-bestfit: it only marks free pages released; the span alloc
   *   returns is the one it would have returned without the callback.
   * - treap-aoff: it splits off and merges scavenged spans, and scavenged and unscavenged
   *   spans do not coalesce, so it can move where the allocation lands (as in Go 1.13).
   * - bitmap: it flips scavenged bits only; the address is unaffected, the scavenged
   *   pages the allocation reuses (lastScavengedPages) may not be. When the growth
   *   reserves arenas that do not continue the current one, the current one's unused
   *   rest is already free when the callback runs (mheap.grow frees it first).
   */
  alloc(npages: number, p: number): number;
  /** Frees the span [base, base + npages*pageBytes) that alloc returned. */
  free(base: number, npages: number, p: number): void;
  /**
   * Releases at least `nbytes` of free memory to the OS in the era's page order, or
   * every free page when nbytes < 0 (debug.FreeOSMemory). Returns the bytes released.
   */
  release(nbytes: number): number;
  /**
   * Go 1.8-1.11's periodic scavenger (mheap.scavenge): releases every free span that has
   * been unused since before `cutoff` (trace time, ns) and is not already released.
   * Returns the bytes newly released. Spans carry their unused-since time as Go's did
   * (set when freed; a coalesced span takes the newest; a trimmed remainder keeps its
   * span's); a backend without spans says how it approximates this in its header.
   */
  releaseIdle(cutoff: number): number;
  freeStats(): FreeStats;
  /**
   * Free, unreleased memory in whole huge pages (Go 1.13's unscavHugePages, which its
   * scavenger paces by). Optional: a backend without it paces as if there were none.
   */
  unscavengedHugePages?(): number;
  /** Backend-specific shape figures (tree depth, list lengths...). */
  shape(): Record<string, number>;
  /**
   * Free pages held outside the allocator's free structures (Go 1.19's per-P page
   * caches), one call per page with its base address. For reports, not the hot path.
   */
  forEachCachedPage?(fn: (base: number) => void): void;
  /** Address space the allocator reserved for its own metadata (when it models it). */
  readonly metadataReservedBytes?: number;
  /** Of that, what it has mapped (committed). */
  readonly metadataCommittedBytes?: number;
  /**
   * Of the committed metadata, what Go counts in mappedReady (the memory the limit is
   * compared with): memory from sysAlloc/persistentalloc/sysUsed, not sysAllocOS.
   */
  readonly metadataReadyBytes?: number;
}

/**
 * How the heap gets address space: `upfront` reserves the whole arena and its metadata as
 * PROT_NONE at start (the design that broke under ulimit -v, the "mmap fiasco" thread on
 * golang-dev in 2011); `pretend` assumes the range is free and maps pieces on demand
 * (Go 1.8 on 64-bit Linux); `arenas` reserves 64 MiB arenas as the heap grows (Go 1.11
 * and later).
 */
export type ReserveMode = 'upfront' | 'pretend' | 'arenas';

export interface HeapOptions {
  os: OsMemory;
  /** Address-space strategy; each backend lists the ones it supports, its era's first. */
  reserve?: ReserveMode;
  /** Runtime page size in bytes (8192 in Go). */
  pageBytes: number;
  /** Seed for backends that draw random numbers (treap priorities). */
  seed: number;
  /**
   * Trace time, owned and advanced by the caller; backends read it to stamp free spans
   * with their unused-since time (for releaseIdle). Without one, time stands at 0.
   */
  clock?: HeapClock;
  /**
   * Called by the backend when it grows, with the bytes it is adding, after mapping them
   * and before the new memory joins its free structures (where Go 1.12 and 1.13 scavenged
   * on growth). It may call back into the heap's `release` (see PageHeap.alloc).
   */
  onGrow?: (grownBytes: number) => void;
}

/** The clock of a heap created without one. */
export const STILL_CLOCK: HeapClock = { now: 0 };

export interface BackendInfo {
  name: string;
  aliases: string[];
  /** The Go release whose page heap this models, e.g. "go1.8". */
  goVersion: string;
  /** The first Go release of its design (Go 1.9: 1.09; a variant of the same release: 1.091); orders backends, the newest is the default, and picks a trace's own era. */
  era: number;
  summary: string;
  /** Reservation strategies this backend can model; the first is its era's. */
  reserveModes: ReserveMode[];
  create(options: HeapOptions): PageHeap;
}
