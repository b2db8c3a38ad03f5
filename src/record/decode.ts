// Decoding a recording: the recorder's binary records (recorder/go1.19/heapsim_record.go,
// heapsimRec) into trace format v1 rows.
//
// Layout, little-endian, 32 bytes a record:
//   0 time u64 (ns since the first record) | 8 addr u64 | 16 n u64 | 24 p u32 | 28 op u8 | 29 pad
// The first record is the magic (op meta, time/addr spell "heapsim-rec-v"); meta records
// carry the run's settings; an exit record, when present, is the last and says how the
// process ended. A file without one was cut short (SIGKILL, a write error): the trace is
// the prefix up to the recorder's last flush, which is still a valid trace.
//
// debug.FreeOSMemory (the runtime's mheap.scavengeAll) arrives as a start record, its
// ranges (scavenge records from its M), an end record with the bytes it released. It
// becomes ONE empty `scavenge` row at its start, the format's "release every free page"
// (trace-format.md), which is what scavengeAll does; the ranges released while it ran
// (its own, and any the background scavenger released alongside it: pages that were free
// at its start, which the empty row releases too) are not written as rows, but counted
// in the summary's releasedBytes and freeOSMemoryBytes. Rows recorded while one runs are
// held back until it ends, since a call the recording ends in the middle of (SIGKILL, a
// fatal exit on another thread) released only part of what was free: it gets no empty
// row, and its ranges are written as ordinary rows, so the trace still says exactly what
// was released (summary.freeOSMemoryCut counts such calls).
//
// Invariants:
// - Rows come out in file order (the recorder stamps times under its lock, so they never
//   decrease, and an empty row takes its call's start time, before the rows held back
//   behind it); every free names a span an earlier alloc made and no free followed.
// - releasedBytes is every byte the runtime released: the rows with addr plus
//   freeOSMemoryBytes. A scavengeAll whose own ranges do not add up to what it said it
//   released is a RecordError.
// - A recording the decoder cannot trust (bad magic, events lost before the file was open,
//   a free of a span never allocated) is a RecordError, never a silently wrong trace.
// - Memory stays bounded by the live spans: the file is read in chunks.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { RecordError } from './toolchain.js';

export const RECORD_BYTES = 32;
const CHUNK_RECORDS = 1 << 15;

const OP_ALLOC = 1;
const OP_FREE = 2;
const OP_SCAVENGE = 3;
const OP_GC = 4;
const OP_LIMIT = 5;
const OP_RSS = 6;
const OP_META = 7;
const OP_EXIT = 8;
const OP_SCAV_ALL = 9;
const OP_SCAV_ALL_END = 10;

const MAGIC_TIME = 0x6d69736170616568n;
const LAYOUT_VERSION = 2;

/** Meta keys (heapsimMeta*). */
const META = { version: 1, pageSize: 2, physPageSize: 3, gogc: 4, gomaxprocs: 5, memoryLimit: 6, arenaBytes: 7, lost: 8, arenasLost: 9, raced: 10 } as const;

/** How the process ended, from its exit record. */
export type Ending =
  | { how: 'main'; code: 0 }
  | { how: 'exit'; code: number }
  | { how: 'panic' | 'throw'; code: 2 }
  | { how: 'signal'; signal: number }
  | { how: 'cut'; partialBytes: number };

const EXIT_KINDS: Record<number, Ending['how']> = { 1: 'main', 2: 'exit', 3: 'panic', 4: 'throw', 5: 'signal' };

export interface RecordingMeta {
  pageSize: number;
  physPageSize: number;
  /** -1: GOGC=off. */
  gogc: number;
  gomaxprocs: number;
  /** null: no limit. */
  memoryLimitBytes: number | null;
  arenaBytes: number;
}

export interface DecodeSummary {
  events: number;
  allocs: number;
  frees: number;
  gcs: number;
  /** Scavenge rows with addr (ranges released outside a FreeOSMemory). */
  scavenges: number;
  /** Every byte the runtime released: those rows' bytes plus freeOSMemoryBytes. */
  releasedBytes: number;
  /** debug.FreeOSMemory calls (mheap.scavengeAll): one empty scavenge row each, at its start. */
  freeOSMemoryCalls: number;
  /**
   * Bytes released while they ran (their own ranges and the background scavenger's), not
   * written as rows; but for the pages of spans freed meanwhile, which stay rows with addr.
   */
  freeOSMemoryBytes: number;
  /**
   * Spans allocated (by other goroutines) while a FreeOSMemory ran. The empty row releases
   * what was free at its start; an allocation meanwhile may have taken pages Go had not
   * released yet, which a replay of the row releases (0 when the program was quiet
   * meanwhile). Spans freed meanwhile are exact: what Go released of them stays rows.
   */
  freeOSMemoryOverlaps: number;
  /** FreeOSMemory calls the recording ends in the middle of: no empty row, their ranges written as rows. */
  freeOSMemoryCut: number;
  limits: number;
  rssRows: number;
  durationNs: number;
  /** Spans still live at the end. */
  liveSpans: number;
  /** Heap arenas the recorder could not track: its rss rows undercount (0 normally). */
  arenasLost: number;
  /**
   * Allocations the page allocator served while a scavenger release was in flight (Go
   * drops the heap lock around madvise, the range marked allocated meanwhile; a replay
   * releases at once, so it may place them, and what follows, elsewhere). Known from the
   * exit record's run only: 0 in a trace cut short.
   */
  scavengeRaces: number;
  ending: Ending;
}

/** Go's "no limit" (math.MaxInt64), as the two 32-bit halves of the record. */
const isMaxInt64 = (lo: number, hi: number) => hi === 0x7fffffff && lo === 0xffffffff;
const u64 = (b: Buffer, off: number) => b.readUInt32LE(off) + b.readUInt32LE(off + 4) * 2 ** 32;
const hex = (n: number) => '0x' + n.toString(16);

/** A recording opened for decoding: its settings and ending are known before any row. */
export class Recording {
  readonly meta: RecordingMeta;
  readonly ending: Ending;
  /** Whole records in the file. */
  readonly records: number;

  private constructor(
    private readonly path: string,
    private readonly fd: number,
    size: number,
  ) {
    this.records = Math.floor(size / RECORD_BYTES);
    const head = this.read(0, Math.min(this.records, 16));
    this.meta = parseHead(path, head);
    this.ending = this.readEnding(size);
  }

  static open(path: string): Recording {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      throw new RecordError(`the program left no recording (${(err as Error).message.split('\n')[0]}): did it start?`);
    }
    return new Recording(path, fd, fstatSync(fd).size);
  }

  private read(first: number, count: number): Buffer {
    const buf = Buffer.alloc(count * RECORD_BYTES);
    const n = readSync(this.fd, buf, 0, buf.length, first * RECORD_BYTES);
    return buf.subarray(0, n - (n % RECORD_BYTES));
  }

  private readEnding(size: number): Ending {
    const partialBytes = size % RECORD_BYTES;
    if (this.records === 0) return { how: 'cut', partialBytes };
    const last = this.read(this.records - 1, 1);
    if (partialBytes !== 0 || last[28] !== OP_EXIT) return { how: 'cut', partialBytes };
    const how = EXIT_KINDS[last.readUInt32LE(8)];
    const code = last.readInt32LE(16);
    if (how === 'signal') return { how, signal: code };
    if (how === 'main') return { how, code: 0 };
    if (how === 'panic' || how === 'throw') return { how, code: 2 };
    return { how: 'exit', code };
  }

  /** A fresh summary for chunks() to fill. */
  newSummary(): DecodeSummary {
    return {
      events: 0,
      allocs: 0,
      frees: 0,
      gcs: 0,
      scavenges: 0,
      releasedBytes: 0,
      freeOSMemoryCalls: 0,
      freeOSMemoryBytes: 0,
      freeOSMemoryOverlaps: 0,
      freeOSMemoryCut: 0,
      limits: 0,
      rssRows: 0,
      durationNs: 0,
      liveSpans: 0,
      arenasLost: 0,
      scavengeRaces: 0,
      ending: this.ending,
    };
  }

  /** The rows (no header), a chunk of lines at a time, counted into `s` as they go. */
  *chunks(s: DecodeSummary): Generator<string> {
    const live = new Map<number, number>();
    const held = new FreeOSWindow(s, this.meta.pageSize);
    for (let first = 0; first < this.records; first += CHUNK_RECORDS) {
      const buf = this.read(first, Math.min(CHUNK_RECORDS, this.records - first));
      let out = '';
      for (let off = 0; off < buf.length; off += RECORD_BYTES) out += this.record(buf, off, live, held, s);
      s.liveSpans = live.size;
      if (first + CHUNK_RECORDS >= this.records) out += held.cut();
      yield out;
    }
  }

  /** One record: the rows it writes now (none when it is held behind a FreeOSMemory, or is not a row). */
  private record(b: Buffer, off: number, live: Map<number, number>, held: FreeOSWindow, s: DecodeSummary): string {
    const op = b[off + 28];
    if (op === OP_SCAV_ALL || op === OP_SCAV_ALL_END || op === OP_SCAVENGE) return this.release(b, off, held, s);
    if (op === OP_FREE) held.freed(u64(b, off + 8), u64(b, off + 16));
    return held.row(this.row(b, off, live, s), op === OP_ALLOC);
  }

  /** A scavenge, scavengeAll start or end record: what it writes now (often nothing: held). */
  private release(b: Buffer, off: number, held: FreeOSWindow, s: DecodeSummary): string {
    const op = b[off + 28];
    const time = u64(b, off);
    const n = u64(b, off + 16);
    const m = b.readUInt32LE(off + 24);
    s.durationNs = time;
    if (op === OP_SCAV_ALL) {
      if (!held.start(m, time)) throw this.corrupt(off, `FreeOSMemory started on M ${m - 1}, which was in one already`);
      return '';
    }
    if (op === OP_SCAVENGE) {
      s.releasedBytes += n;
      const addr = u64(b, off + 8);
      return held.range(m, time, addr, n, `${time},scavenge,,,${n},,${hex(addr)},\n`);
    }
    const own = held.ownBytes(m);
    if (own === null) throw this.corrupt(off, `FreeOSMemory ended on M ${m - 1}, which had not started one`);
    if (own !== n) throw this.corrupt(off, `FreeOSMemory on M ${m - 1} ended with ${n} bytes released, but its ranges released ${own}`);
    return held.end(m);
  }

  /** One record as a trace row (null for meta and exit records), counted in `s`. */
  private row(b: Buffer, off: number, live: Map<number, number>, s: DecodeSummary): string | null {
    const op = b[off + 28];
    if (op === OP_META) return this.bodyMeta(b, off, s);
    if (op === OP_EXIT) return null;
    const time = u64(b, off);
    const addr = u64(b, off + 8);
    const n = u64(b, off + 16);
    const pid = b.readUInt32LE(off + 24);
    const p = pid === 0 ? '' : String(pid - 1);
    s.durationNs = time;
    switch (op) {
      case OP_ALLOC:
        if (live.has(addr)) throw this.corrupt(off, `alloc of ${hex(addr)}, which is live`);
        live.set(addr, n);
        s.allocs++;
        return `${time},alloc,${hex(addr)},${n},,${p},${hex(addr)},\n`;
      case OP_FREE:
        if (live.get(addr) !== n) throw this.corrupt(off, `free of ${hex(addr)} (${n} pages), which is not a live span of that size`);
        live.delete(addr);
        s.frees++;
        return `${time},free,${hex(addr)},,,${p},,\n`;
      case OP_GC:
        s.gcs++;
        return `${time},gc,,,${n},,,\n`;
      case OP_LIMIT:
        s.limits++;
        return `${time},limit,,,${isMaxInt64(b.readUInt32LE(off + 16), b.readUInt32LE(off + 20)) ? '' : n},,,\n`;
      case OP_RSS:
        s.rssRows++;
        return `${time},rss,,,${n},,,${b.readInt32LE(off + 8) === -1 && b.readInt32LE(off + 12) === -1 ? '' : addr}\n`;
      default:
        throw this.corrupt(off, `unknown record op ${op}`);
    }
  }

  /** Meta records after the head (written at exit): counts for the summary. */
  private bodyMeta(b: Buffer, off: number, s: DecodeSummary): null {
    const key = b.readUInt32LE(off + 8);
    if (key === META.arenasLost) s.arenasLost = u64(b, off + 16);
    else if (key === META.raced) s.scavengeRaces = u64(b, off + 16);
    return null;
  }

  private corrupt(off: number, what: string): RecordError {
    return new RecordError(`${this.path}: recording is inconsistent (${what}, near byte ${off}); please report it with the program`);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** One debug.FreeOSMemory (scavengeAll) on M `m`: when it started, the bytes of its own ranges, whether it ended. */
interface FreeOSCall {
  m: number;
  time: number;
  ownBytes: number;
  ended: boolean;
}

/**
 * A row held back while a FreeOSMemory runs: a call's start; a range, or an allocation or
 * free, with the calls running when it was recorded; any other row.
 */
type Held = { call: FreeOSCall } | { range: string; bytes: number; during: FreeOSCall[]; pieces: string } | { row: string; during: FreeOSCall[] | null };

/**
 * The rows recorded while FreeOSMemory calls run, held until every call that overlaps them
 * has ended (then each call's start becomes an empty scavenge row and the ranges are
 * dropped) or the recording ends (a call that did not end gets no row, and the ranges
 * no ended call covers are written as they are). Memory: the rows of one FreeOSMemory,
 * and of what overlaps it.
 */
class FreeOSWindow {
  private readonly running = new Map<number, FreeOSCall>();
  private held: Held[] = [];
  /** Spans freed while a call ran, [base, base+bytes): pages that were not free at its start. */
  private freedBase: number[] = [];
  private freedBytes: number[] = [];

  constructor(
    private readonly s: DecodeSummary,
    private readonly pageBytes: number,
  ) {}

  /** A call starts on M `m`; false if one is running there already. */
  start(m: number, time: number): boolean {
    if (this.running.has(m)) return false;
    const call: FreeOSCall = { m, time, ownBytes: 0, ended: false };
    this.running.set(m, call);
    this.held.push({ call });
    return true;
  }

  /** A released range [addr, addr+bytes) at `time` (its row given): written now, or held. */
  range(m: number, time: number, addr: number, bytes: number, line: string): string {
    if (this.running.size === 0) return this.emitRange(line);
    const own = this.running.get(m);
    if (own !== undefined) own.ownBytes += bytes;
    this.held.push({ range: line, bytes, during: [...this.running.values()], pieces: this.freedPieces(time, addr, bytes) });
    return '';
  }

  /**
   * The parts of a range released during a call that are spans freed since it started:
   * the empty row cannot stand for them (they were not free then), so they stay rows.
   */
  private freedPieces(time: number, addr: number, bytes: number): string {
    let rows = '';
    for (let i = 0; i < this.freedBase.length; i++) {
      const lo = Math.max(addr, this.freedBase[i]);
      const hi = Math.min(addr + bytes, this.freedBase[i] + this.freedBytes[i]);
      if (lo < hi) rows += `${time},scavenge,,,${hi - lo},,${hex(lo)},\n`;
    }
    return rows;
  }

  /** Any other row (null: none): written now, or held; `alloc` when it allocates a span. */
  row(line: string | null, alloc: boolean): string {
    if (line === null) return '';
    if (this.running.size === 0) return this.emit(line);
    this.held.push({ row: line, during: alloc ? [...this.running.values()] : null });
    return '';
  }

  /** A span of `npages` at `base` was freed: remembered while a call runs. */
  freed(base: number, npages: number): void {
    if (this.running.size === 0) return;
    const bytes = npages * this.pageBytes;
    // A span freed again at pages freed earlier in the call replaces that entry.
    for (let i = this.freedBase.length - 1; i >= 0; i--) {
      if (this.freedBase[i] < base + bytes && base < this.freedBase[i] + this.freedBytes[i]) {
        this.freedBase.splice(i, 1);
        this.freedBytes.splice(i, 1);
      }
    }
    this.freedBase.push(base);
    this.freedBytes.push(bytes);
  }

  /** The bytes M `m`'s running call has released so far (null: none runs there). */
  ownBytes(m: number): number | null {
    return this.running.get(m)?.ownBytes ?? null;
  }

  /** The running call on M `m` ended (the caller has checked its bytes): the rows it lets go. */
  end(m: number): string {
    const call = this.running.get(m);
    if (call === undefined) return '';
    call.ended = true;
    this.running.delete(m);
    return this.running.size === 0 ? this.flush() : '';
  }

  /** The recording ended: the rows still held, calls that did not end being cut. */
  cut(): string {
    this.running.clear();
    return this.flush();
  }

  private flush(): string {
    let out = '';
    const s = this.s;
    for (const h of this.held) {
      if ('call' in h) {
        if (!h.call.ended) s.freeOSMemoryCut++;
        else {
          s.freeOSMemoryCalls++;
          out += this.emit(`${h.call.time},scavenge,,,,,,\n`);
        }
      } else if ('range' in h) {
        if (!h.during.some((c) => c.ended)) out += this.emitRange(h.range);
        else out += this.coveredRange(h.bytes, h.pieces);
      } else {
        if (h.during?.some((c) => c.ended) === true) s.freeOSMemoryOverlaps++;
        out += this.emit(h.row);
      }
    }
    this.held = [];
    this.freedBase = [];
    this.freedBytes = [];
    return out;
  }

  /** A range an ended call covers: its bytes behind the empty row, but for the pieces freed meanwhile (rows). */
  private coveredRange(bytes: number, pieces: string): string {
    let out = '';
    let rowBytes = 0;
    for (const line of pieces.split('\n')) {
      if (line === '') continue;
      rowBytes += Number(line.split(',')[4]);
      out += this.emitRange(line + '\n');
    }
    this.s.freeOSMemoryBytes += bytes - rowBytes;
    return out;
  }

  private emit(line: string): string {
    this.s.events++;
    return line;
  }

  private emitRange(line: string): string {
    this.s.scavenges++;
    return this.emit(line);
  }
}

/** Checks the magic and reads the meta records at the head of the file. */
function parseHead(path: string, head: Buffer): RecordingMeta {
  if (head.length < RECORD_BYTES || head.readBigUInt64LE(0) !== MAGIC_TIME || head[28] !== OP_META) {
    throw new RecordError(`${path} is not a heapsim recording (no magic record): the program was not built by heapsim record`);
  }
  const meta: RecordingMeta = { pageSize: 8192, physPageSize: 4096, gogc: 100, gomaxprocs: 1, memoryLimitBytes: null, arenaBytes: 64 << 20 };
  let version = 0;
  let lost = 0;
  for (let off = RECORD_BYTES; off < head.length && head[off + 28] === OP_META; off += RECORD_BYTES) {
    const key = head.readUInt32LE(off + 8);
    const lo = head.readUInt32LE(off + 16);
    const hi = head.readUInt32LE(off + 20);
    const v = u64(head, off + 16);
    if (key === META.version) version = v;
    else if (key === META.pageSize) meta.pageSize = v;
    else if (key === META.physPageSize) meta.physPageSize = v;
    else if (key === META.gogc) meta.gogc = head.readInt32LE(off + 16);
    else if (key === META.gomaxprocs) meta.gomaxprocs = v;
    else if (key === META.memoryLimit) meta.memoryLimitBytes = isMaxInt64(lo, hi) ? null : v;
    else if (key === META.arenaBytes) meta.arenaBytes = v;
    else if (key === META.lost) lost = v;
  }
  if (version !== LAYOUT_VERSION) throw new RecordError(`${path}: recording layout version ${version}, this heapsim reads ${LAYOUT_VERSION}`);
  if (lost > 0) throw new RecordError(`${path}: the recorder dropped ${lost} events before it could open its file; the trace would be incomplete`);
  return meta;
}

/** How the program ended, in words: "exited with status 3", "was killed by signal 9 (...)". */
export function describeEnding(e: Ending): string {
  switch (e.how) {
    case 'main':
      return 'returned from main';
    case 'exit':
      return `called os.Exit(${e.code})`;
    case 'panic':
      return 'panicked (the trace ends at the panic)';
    case 'throw':
      return 'died of a fatal runtime error (the trace ends there)';
    case 'signal':
      return `was killed by signal ${e.signal} (the trace ends there)`;
    case 'cut': {
      const partial = e.partialBytes > 0 ? `; ${e.partialBytes} bytes of a partly written record were dropped` : '';
      return `ended without the recorder's exit record (SIGKILL or a write error): the trace is cut at the recorder's last flush, and events after it are lost${partial}`;
    }
  }
}
