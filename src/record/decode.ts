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
// Invariants:
// - Rows come out in file order (the recorder stamps times under its lock, so they never
//   decrease); every free names a span an earlier alloc made and no free followed.
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

const MAGIC_TIME = 0x6d69736170616568n;
const LAYOUT_VERSION = 1;

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
  scavenges: number;
  releasedBytes: number;
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
    for (let first = 0; first < this.records; first += CHUNK_RECORDS) {
      const buf = this.read(first, Math.min(CHUNK_RECORDS, this.records - first));
      let out = '';
      for (let off = 0; off < buf.length; off += RECORD_BYTES) {
        const line = this.row(buf, off, live, s);
        if (line !== null) out += line;
      }
      s.liveSpans = live.size;
      yield out;
    }
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
    s.events++;
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
      case OP_SCAVENGE:
        s.scavenges++;
        s.releasedBytes += n;
        return `${time},scavenge,,,${n},,${hex(addr)},\n`;
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
