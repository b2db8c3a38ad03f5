// Streaming reader for trace format v1 (docs/trace-format.md).
//
// Invariants:
// - Memory is bounded by one input chunk, one line (at most 1 MiB, lines.ts), one batch
//   of events and the set of live span ids, never by the file: a 10 GB trace streams
//   through, and work is linear in its size.
// - Every row is fully validated before it is handed on; the first bad row stops the
//   read with a TraceError naming file:line:column (the column is the row's cell), unless
//   reading is lenient, in which case the row is skipped and counted by kind. Lines that
//   are not UTF-8, hold a NUL, a `"` or a lone CR, or pass the length cap are bad rows
//   like any other. Problems before the header row is read are never skipped.
// - Messages quote at most SHOWN_CHARS characters of a cell, then say how long it was.
// - Input may be plain or gzip-compressed (recognised by its magic bytes, whatever the
//   file is called) and may come from standard input (`-`).
// - A file of THREAD_MIN_BYTES or more opened on the main thread is read by this same
//   reader on a worker thread (worker-reader.ts), which gives the consumer exactly what
//   this thread would.
//
// The scanner is hand-written: lines.ts hands over blocks of whole lines; here lines are
// found with indexOf, cells are parsed in place from character codes, and only an id
// that is not canonical hex becomes a string (it keys the live-span map). `npm run bench`
// compares it with csv-parse on the same input.

import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { isMainThread } from 'node:worker_threads';
import { HeapsimError, TraceError, type TraceErrorKind } from '../errors.js';
import { IntMap, canonicalHexKey } from './id-map.js';
import { InputFault, LineFault, LONE_CR, traceLines, type LineItem } from './lines.js';
import { EventBatch, NOT_GIVEN, OP_ALLOC, OP_FREE, OP_GC, OP_LIMIT, OP_NAMES, OP_RSS, OP_SCAVENGE, type ReadStats, type TraceMeta } from './events.js';
import { grownFor } from '../util/grow.js';

export interface ReadOptions {
  /** Skip bad rows (counting them by kind) instead of stopping at the first. */
  lenient?: boolean;
  /** Events per batch handed to the consumer. */
  batchEvents?: number;
  /** Stream to read when the path is `-` (default: process.stdin). */
  stdin?: Readable;
  /** Keep each row's id text in EventBatch.ids (needed by --emit; off saves time). */
  keepIds?: boolean;
  /**
   * Read and parse a trace file on a worker thread while this thread consumes the batches
   * (worker-reader.ts). Default: for files of THREAD_MIN_BYTES or more opened on the main
   * thread (a pool worker, one per core already, reads in its own thread); never for `-`.
   */
  thread?: boolean;
}

/**
 * The file size from which a trace is read on a worker thread by default: starting the
 * worker takes ~70 ms on the 2-core machine, about as long as this thread parses 4-6 MB
 * of rows in (docs/performance.md), so smaller files are read here.
 */
export const THREAD_MIN_BYTES = 4 << 20;

const DEFAULT_PAGE_BYTES = 8192;
const DEFAULT_GOGC = 100;
const DEFAULT_BATCH = 8192;
/** Largest integer a cell may hold: beyond 2^53 a double no longer counts by ones. */
const MAX_INT = Number.MAX_SAFE_INTEGER;
/** 13 hex digits = 52 bits, enough for a 48-bit address space and exact in a double. */
const MAX_HEX_DIGITS = 13;
/** Largest `p` and `gomaxprocs`: Go counts Ps in an int32. */
const MAX_P = 0x7fffffff;
/** Go's default GOMEMLIMIT (math.MaxInt64): no limit. */
const GO_NO_MEMORY_LIMIT = '9223372036854775807';
/** A release (go1.19.8, go1.21rc2) or a development build (`devel go1.22-…`). */
const GO_VERSION = /^(go[1-9][0-9]*(\.[0-9]+){0,2}((rc|beta)[0-9]+)?|devel [^,"]+)$/;
/** How much of a cell a message quotes: enough to recognise it, never a whole hostile cell. */
const SHOWN_CHARS = 40;

const KNOWN_COLUMNS = ['time', 'op', 'id', 'pages', 'bytes', 'p', 'addr', 'huge'] as const;
const ROLE_UNKNOWN = -1;
const ROLE_TIME = 0;
const ROLE_OP = 1;
const ROLE_ID = 2;
const ROLE_PAGES = 3;
const ROLE_BYTES = 4;
const ROLE_P = 5;
const ROLE_ADDR = 6;
const ROLE_HUGE = 7;

/** parseInteger's answer for a cell that is not a non-negative decimal integer. */
const BAD = -2;

function parseInteger(s: string, start: number, end: number): number {
  if (start === end) return NOT_GIVEN;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return BAD;
    v = v * 10 + d;
  }
  return v > MAX_INT ? BAD : v;
}

function parseHex(s: string, start: number, end: number): number {
  if (start === end) return NOT_GIVEN;
  if (end - start < 3 || s.charCodeAt(start) !== 48 || (s.charCodeAt(start + 1) | 0x20) !== 120) return BAD;
  if (end - start - 2 > MAX_HEX_DIGITS) return BAD;
  let v = 0;
  for (let i = start + 2; i < end; i++) {
    const c = s.charCodeAt(i);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if ((c | 0x20) >= 97 && (c | 0x20) <= 102) d = (c | 0x20) - 87;
    else return BAD;
    v = v * 16 + d;
  }
  return v;
}

// Cell scanners for the row loop: each parses from `start` up to the next comma (or
// `end`) in one pass and leaves that position in `cellEnd`, a module-level out-value
// that spares an allocation per cell.
let cellEnd = 0;

function scanInt(s: string, start: number, end: number): number {
  let v = 0;
  let bad = false;
  let i = start;
  for (; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 44) break;
    const d = c - 48;
    if (d < 0 || d > 9) bad = true;
    v = v * 10 + d;
  }
  cellEnd = i;
  if (i === start) return NOT_GIVEN;
  return bad || v > MAX_INT ? BAD : v;
}

function scanCell(s: string, start: number, end: number): void {
  const i = s.indexOf(',', start);
  cellEnd = i < 0 || i > end ? end : i;
}

/**
 * s[start, end) as a message quotes it: in double quotes (a cell never holds one),
 * control characters escaped, and cut after SHOWN_CHARS characters with its length.
 */
function shown(s: string, start = 0, end = s.length): string {
  const n = end - start;
  let cut = n <= SHOWN_CHARS ? end : start + SHOWN_CHARS;
  const c = s.charCodeAt(cut - 1);
  if (cut < end && c >= 0xd800 && c <= 0xdbff) cut--; // never split a surrogate pair
  // Control characters are exactly what must be shown escaped.
  // eslint-disable-next-line no-control-regex
  const text = s.slice(start, cut).replace(/[\u0000-\u001f\u007f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return cut === end ? `"${text}"` : `"${text}…" (${n} characters)`;
}

/** 1-based cell of position `at` in the line starting at `start`. */
function cellOf(s: string, start: number, at: number): number {
  let cell = 1;
  for (let i = start; i < at; i++) if (s.charCodeAt(i) === 44) cell++;
  return cell;
}

/** The index of `ch` in s at or after `from`, or s.length when there is none. */
function nextIndex(s: string, ch: string, from: number): number {
  const i = s.indexOf(ch, from);
  return i < 0 ? s.length : i;
}

/** Opens a trace and reads its metadata and header; rows follow from batches(). */
export async function openTrace(path: string, options: ReadOptions = {}): Promise<TraceReader> {
  if (path === '-') return openStream(options.stdin ?? process.stdin, '<stdin>', options);
  if (options.thread ?? (isMainThread && fileBytes(path) >= THREAD_MIN_BYTES)) {
    const { openThreaded } = await import('./worker-reader.js');
    return openThreaded(path, options);
  }
  return openStream(createReadStream(path, { highWaterMark: 1 << 20 }), path, options);
}

/** The size of a file, or 0 when it cannot be read (the read itself then reports why). */
function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Opens a trace held in memory (tests, generated traces). */
export async function openTraceText(text: string, file = '<memory>', options: ReadOptions = {}): Promise<TraceReader> {
  return openStream(Readable.from([Buffer.from(text, 'utf8')]), file, options);
}

async function openStream(source: Readable, file: string, options: ReadOptions): Promise<TraceReader> {
  const reader = new TraceReader(file, traceLines(source, file), options);
  reader.source = source;
  try {
    await reader.readHeader();
  } catch (err) {
    reader.close();
    throw err;
  }
  return reader;
}

export class TraceReader {
  readonly meta: TraceMeta;
  readonly stats: ReadStats = { rows: 0, events: 0, skipped: 0, skippedByKind: {}, warnings: [] };
  /** The byte stream read, for bytesRead and close(). */
  source: Readable | null = null;

  private readonly lenient: boolean;
  private readonly batchEvents: number;
  /** The current block of whole lines (each ends in LF) and the start of the next unread one. */
  private text = '';
  private pos = 0;
  private lineNo = 0;
  /** Past the header: a bad line is a bad row (skippable), no longer a fatal one. */
  private inRows = false;
  private roles: Int8Array = new Int8Array(0);
  private lastTime = 0;

  // Live spans: id -> slot, with the slot's page count. Freed slots are reused. Ids are
  // compared as text; those in canonical hex (the recorded traces' span addresses) are
  // keyed by their value in an IntMap, which spares making and hashing a string per row,
  // and all others by their text (id-map.ts says why the two never mix).
  private readonly live = new Map<string, number>();
  private readonly liveNumeric = new IntMap();
  private readonly keepIds: boolean;
  private slotPages = new Float64Array(1024);
  private freeSlots = new Int32Array(1024);
  private nfreeSlots = 0;
  private nextSlot = 0;

  constructor(
    public file: string,
    private readonly chunks: AsyncGenerator<LineItem>,
    options: ReadOptions,
  ) {
    this.lenient = options.lenient ?? false;
    this.batchEvents = options.batchEvents ?? DEFAULT_BATCH;
    this.keepIds = options.keepIds ?? false;
    this.meta = {
      file,
      pageBytes: DEFAULT_PAGE_BYTES,
      gogc: DEFAULT_GOGC,
      gomaxprocs: null,
      goVersion: null,
      memoryLimitBytes: null,
      thp: null,
      metadata: {},
      columns: [],
      unknownColumns: [],
      hasAddr: false,
      hasP: false,
      hasHuge: false,
    };
  }

  private fail(line: number, column: number, kind: TraceErrorKind, detail: string): never {
    // Stop the input (a gzip stream, a file) rather than leave it open behind the error;
    // this error is the one to report, so a failure while closing is not.
    this.chunks.return(undefined).catch(() => undefined);
    throw new TraceError(this.file, line, column, kind, detail);
  }

  /** Bytes taken from the input so far (compressed bytes for a gzip file); 0 when unknown. */
  get bytesRead(): number {
    const n = (this.source as { bytesRead?: unknown } | null)?.bytesRead;
    return typeof n === 'number' ? n : 0;
  }

  /** Stops reading and releases the input (e.g. after the metadata was all that was wanted). */
  close(): void {
    this.source?.destroy();
  }

  /** A bad row at the current line: stops the read, or under lenient reading is counted and skipped. */
  private skip(fault: LineFault): void {
    if (!this.lenient) this.fail(this.lineNo, fault.column, fault.kind, fault.detail);
    this.stats.skipped++;
    this.stats.skippedByKind[fault.kind] = (this.stats.skippedByKind[fault.kind] ?? 0) + 1;
  }

  /** Moves to the next block of lines; false at end of input. A bad line met on the way is one line. */
  private async more(): Promise<boolean> {
    for (;;) {
      let next: IteratorResult<LineItem>;
      try {
        next = await this.chunks.next();
      } catch (err) {
        if (!(err instanceof InputFault)) throw err;
        const rows = this.stats.rows;
        this.fail(this.lineNo + 1, 1, 'encoding', `${err.message}: ${rows} ${rows === 1 ? 'row' : 'rows'} read before it`);
      }
      if (next.done) return false;
      const item = next.value;
      if (typeof item === 'string') {
        this.text = item;
        this.pos = 0;
        return true;
      }
      this.lineNo++;
      if (!this.inRows) this.fail(this.lineNo, item.column, item.kind, item.detail);
      this.stats.rows++;
      this.skip(item);
    }
  }

  /** Reads comment and metadata lines up to and including the header. */
  async readHeader(): Promise<void> {
    for (;;) {
      const nl = this.text.indexOf('\n', this.pos);
      if (nl < 0) {
        if (await this.more()) continue;
        if (this.lineNo === 0) this.fail(1, 1, 'header', 'empty trace: expected a header line naming the columns');
        this.fail(this.lineNo + 1, 1, 'header', 'no header line: expected column names such as "time,op,id,pages"');
      }
      this.lineNo++;
      let line = this.text.slice(this.pos, nl);
      this.pos = nl + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      const cr = line.indexOf('\r');
      if (cr >= 0) this.fail(this.lineNo, cellOf(line, 0, cr), 'line-ending', LONE_CR);
      if (line.length === 0) continue;
      if (line.charCodeAt(0) === 35 /* # */) {
        this.readMetadata(line);
        continue;
      }
      const quote = line.indexOf('"');
      if (quote >= 0) this.fail(this.lineNo, cellOf(line, 0, quote), 'quote', 'a `"` in the header: cells are never quoted and hold no quotes');
      this.readColumns(line);
      this.inRows = true;
      return;
    }
  }

  private metadataError(key: string, expected: string, value: string): never {
    this.fail(this.lineNo, 1, 'metadata', `${key} must be ${expected}, got ${shown(value)}`);
  }

  private readMetadata(line: string): void {
    const m = /^#\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m) return;
    const key = m[1];
    const value = m[2];
    this.meta.metadata[key] = value;
    const meta = this.meta;
    switch (key) {
      case 'page_size': {
        const v = parseInteger(value, 0, value.length);
        if (v < 512 || (v & (v - 1)) !== 0 || v > 1 << 24) this.metadataError(key, 'a power of two between 512 and 16777216 bytes', value);
        meta.pageBytes = v;
        break;
      }
      case 'gogc': {
        const v = value === 'off' ? -1 : parseInteger(value, 0, value.length);
        if (v === BAD || v === NOT_GIVEN) this.metadataError(key, 'an integer >= 0 or "off"', value);
        meta.gogc = v;
        break;
      }
      case 'gomaxprocs': {
        const v = parseInteger(value, 0, value.length);
        if (v < 1 || v > MAX_P) this.metadataError(key, 'an integer >= 1', value);
        meta.gomaxprocs = v;
        break;
      }
      case 'go_version':
        if (!GO_VERSION.test(value)) this.metadataError(key, 'a Go version such as go1.19.8', value);
        meta.goVersion = value;
        break;
      case 'memory_limit': {
        if (value === 'off' || value === GO_NO_MEMORY_LIMIT) {
          meta.memoryLimitBytes = Infinity;
          break;
        }
        const v = parseInteger(value, 0, value.length);
        if (v < 0) this.metadataError(key, `an integer number of bytes >= 0, or "off" (or ${GO_NO_MEMORY_LIMIT}) for none`, value);
        meta.memoryLimitBytes = v;
        break;
      }
      case 'thp':
        if (value === 'never' || value === 'madvise' || value === 'always') meta.thp = value;
        else this.stats.warnings.push(`${this.file}:${this.lineNo}: thp metadata ${shown(value)} is not never, madvise or always: ignored`);
        break;
    }
  }

  private readColumns(line: string): void {
    const names = line.split(',').map((s) => s.trim());
    const roles = new Int8Array(names.length);
    const seen = new Set<string>();
    names.forEach((name, i) => {
      if (name.length === 0) this.fail(this.lineNo, i + 1, 'header', `header column ${i + 1} has no name`);
      if (seen.has(name)) this.fail(this.lineNo, i + 1, 'header', `header names column ${shown(name)} twice`);
      seen.add(name);
      const role = (KNOWN_COLUMNS as readonly string[]).indexOf(name);
      roles[i] = role;
      if (role === ROLE_UNKNOWN) {
        this.meta.unknownColumns.push(name);
        this.stats.warnings.push(`${this.file}:${this.lineNo}:${i + 1}: unknown column ${shown(name)} is ignored`);
      }
    });
    for (const required of ['time', 'op']) {
      if (!seen.has(required)) {
        this.fail(this.lineNo, 1, 'header', `header has no "${required}" column (got ${shown(line)})`);
      }
    }
    this.roles = roles;
    this.meta.columns = names;
    this.meta.hasAddr = seen.has('addr');
    this.meta.hasP = seen.has('p');
    this.meta.hasHuge = seen.has('huge');
  }

  /**
   * The remaining rows, in batches. Each batch is a new object the consumer may keep. The
   * file is closed when the rows end, when a row is an error, and when the consumer stops
   * early: a library user replaying many traces never runs out of file descriptors.
   */
  async *batches(): AsyncGenerator<EventBatch> {
    try {
      yield* this.readBatches();
    } finally {
      this.close();
    }
  }

  private async *readBatches(): AsyncGenerator<EventBatch> {
    let batch = new EventBatch(this.batchEvents);
    for (;;) {
      const text = this.text;
      let pos = this.pos;
      // Where the next `"` and CR are, found once per block and moved past as rows go by:
      // most blocks have none, and the check then costs nothing per row.
      let quote = nextIndex(text, '"', pos);
      let cr = nextIndex(text, '\r', pos);
      // The per-row loop keeps pos, quote and cr in locals, which a helper could not update:
      /* eslint-disable max-depth */
      for (;;) {
        const nl = text.indexOf('\n', pos);
        if (nl < 0) break;
        this.lineNo++;
        if (quote < nl || cr < nl) {
          const fault = this.shapeFault(text, pos, nl, quote, cr);
          if (quote < nl) quote = nextIndex(text, '"', nl + 1);
          if (cr < nl) cr = nextIndex(text, '\r', nl + 1);
          if (fault !== null) {
            this.stats.rows++;
            this.skip(fault);
            pos = nl + 1;
            continue;
          }
        }
        this.row(text, pos, nl, batch);
        pos = nl + 1;
        if (batch.length === batch.capacity) {
          this.pos = pos;
          yield batch;
          batch = new EventBatch(this.batchEvents);
        }
      }
      /* eslint-enable max-depth */
      this.pos = pos;
      if (!(await this.more())) break;
    }
    if (batch.length > 0) yield batch;
    const { rows, events } = this.stats;
    if (rows > 0 && events === 0) {
      const kinds = Object.entries(this.stats.skippedByKind)
        .map(([k, n]) => `${k}: ${n}`)
        .join(', ');
      throw new HeapsimError(`${this.file}: --lenient skipped ${rows === 1 ? 'the only row' : `all ${rows} rows`} (${kinds}): nothing to replay`);
    }
  }

  /**
   * The fault of the line [start, nl) holding the quote or CR at `quote` or `cr` (the
   * first at or after start), or null: a CR just before the LF ends the line, and a
   * comment may quote.
   */
  private shapeFault(text: string, start: number, nl: number, quote: number, cr: number): LineFault | null {
    const loneCr = cr < nl - 1;
    const quoted = quote < nl && text.charCodeAt(start) !== 35; /* # */
    if (quoted && (!loneCr || quote < cr)) {
      return new LineFault(cellOf(text, start, quote), 'quote', 'a `"` in a row: cells are never quoted and hold no quotes');
    }
    return loneCr ? new LineFault(cellOf(text, start, cr), 'line-ending', LONE_CR) : null;
  }

  private row(text: string, start: number, end: number, batch: EventBatch): void {
    if (end > start && text.charCodeAt(end - 1) === 13) end--;
    if (end === start) return;
    if (text.charCodeAt(start) === 35) return; // comment between rows
    this.stats.rows++;
    try {
      this.parseRow(text, start, end, batch);
    } catch (e) {
      if (!(e instanceof LineFault)) throw e;
      this.skip(e);
    }
  }

  // One function on purpose: it runs once per row and keeps a dozen cell values in locals;
  // helpers would have to hand several numbers back through an object per row.
  // eslint-disable-next-line max-lines-per-function
  private parseRow(line: string, rowStart: number, end: number, batch: EventBatch): void {
    const roles = this.roles;
    let time = NOT_GIVEN;
    let op = -1;
    let idStart = 0;
    let idEnd = 0;
    let pages = NOT_GIVEN;
    let bytes = NOT_GIVEN;
    let p = NOT_GIVEN;
    let addr = NOT_GIVEN;
    let huge = NOT_GIVEN;
    let idCol = 0;
    let pagesCol = 0;
    let bytesCol = 0;

    let start = rowStart;
    let col = 0;
    while (start <= end) {
      if (col >= roles.length) {
        throw new LineFault(col + 1, 'extra-cells', `row has more cells than the header's ${roles.length} columns`);
      }
      let stop: number;
      switch (roles[col]) {
        case ROLE_TIME:
          time = scanInt(line, start, end);
          stop = cellEnd;
          if (time < 0) this.badNumber(col, 'time', 'an integer number of nanoseconds >= 0', line, start, stop, time);
          break;
        case ROLE_OP:
          scanCell(line, start, end);
          stop = cellEnd;
          op = parseOp(line, start, stop);
          if (op < 0) {
            throw new LineFault(
              col + 1,
              start === stop ? 'missing-cell' : 'bad-op',
              `op must be one of ${OP_NAMES.join(', ')}, got ${shown(line, start, stop)}`,
            );
          }
          break;
        case ROLE_ID:
          scanCell(line, start, end);
          stop = cellEnd;
          idStart = start;
          idEnd = stop;
          idCol = col + 1;
          break;
        case ROLE_PAGES:
          pages = scanInt(line, start, end);
          stop = cellEnd;
          pagesCol = col + 1;
          if (pages === BAD || pages === 0) this.badNumber(col, 'pages', 'an integer >= 1', line, start, stop, BAD);
          break;
        case ROLE_BYTES:
          bytes = scanInt(line, start, end);
          stop = cellEnd;
          bytesCol = col + 1;
          if (bytes === BAD) this.badNumber(col, 'bytes', 'an integer >= 0', line, start, stop, BAD);
          break;
        case ROLE_P:
          p = scanInt(line, start, end);
          stop = cellEnd;
          if (p === BAD || p > MAX_P) this.badNumber(col, 'p', 'an integer >= 0', line, start, stop, BAD);
          break;
        case ROLE_ADDR:
          scanCell(line, start, end);
          stop = cellEnd;
          addr = parseHex(line, start, stop);
          if (addr === BAD) {
            throw new LineFault(
              col + 1,
              'bad-addr',
              `addr must be a hex address such as 0xc000000000 (at most ${MAX_HEX_DIGITS} digits), got ${shown(line, start, stop)}`,
            );
          }
          break;
        case ROLE_HUGE:
          huge = scanInt(line, start, end);
          stop = cellEnd;
          if (huge === BAD) this.badNumber(col, 'huge', 'an integer >= 0', line, start, stop, BAD);
          break;
        default:
          scanCell(line, start, end);
          stop = cellEnd;
          break;
      }
      col++;
      start = stop + 1;
    }
    if (time === NOT_GIVEN) throw new LineFault(roles.indexOf(ROLE_TIME) + 1, 'missing-cell', 'time is required');
    if (op < 0) throw new LineFault(roles.indexOf(ROLE_OP) + 1, 'missing-cell', 'op is required');
    if (time < this.lastTime) {
      throw new LineFault(roles.indexOf(ROLE_TIME) + 1, 'time-backwards', `time goes backwards: ${time} after ${this.lastTime}`);
    }

    let slot = -1;
    if (op === OP_ALLOC || op === OP_FREE) {
      if (idEnd === idStart) {
        throw new LineFault(idCol || roles.length + 1, 'missing-cell', `${op === OP_ALLOC ? 'alloc' : 'free'} needs an id`);
      }
      const key = canonicalHexKey(line, idStart, idEnd);
      const id = key >= 0 ? '' : line.slice(idStart, idEnd);
      const known = key >= 0 ? this.liveNumeric.get(key) : (this.live.get(id) ?? -1);
      if (op === OP_ALLOC) {
        if (pages === NOT_GIVEN) throw new LineFault(pagesCol || roles.length + 1, 'missing-cell', 'alloc needs pages');
        if (known >= 0) throw new LineFault(idCol, 'already-live', `alloc of id ${shown(line, idStart, idEnd)} that is still live`);
        slot = this.takeSlot(pages);
        if (key >= 0) this.liveNumeric.set(key, slot);
        else this.live.set(id, slot);
      } else {
        if (known < 0) throw new LineFault(idCol, 'not-live', `free of id ${shown(line, idStart, idEnd)} that is not live`);
        const livePages = this.slotPages[known];
        if (pages !== NOT_GIVEN && pages !== livePages) {
          throw new LineFault(pagesCol, 'pages-mismatch', `free of id ${shown(line, idStart, idEnd)} says ${pages} pages, its alloc had ${livePages}`);
        }
        pages = livePages;
        slot = known;
        if (key >= 0) this.liveNumeric.delete(key);
        else this.live.delete(id);
        this.releaseSlot(known);
      }
      if (this.keepIds) batch.ids[batch.length] = line.slice(idStart, idEnd);
    } else {
      if (bytes === NOT_GIVEN) {
        const col = bytesCol || roles.length + 1;
        if (op === OP_GC) throw new LineFault(col, 'missing-cell', 'gc needs bytes (the marked heap)');
        if (op === OP_RSS) throw new LineFault(col, 'missing-cell', 'rss needs bytes (the resident heap bytes measured)');
        if (op === OP_SCAVENGE && addr !== NOT_GIVEN)
          throw new LineFault(col, 'missing-cell', 'scavenge with addr needs bytes (the length of the released range)');
      }
      if (this.keepIds) batch.ids[batch.length] = '';
    }
    this.lastTime = time;
    const i = batch.length++;
    batch.time[i] = time;
    batch.op[i] = op;
    batch.slot[i] = slot;
    batch.pages[i] = pages;
    batch.bytes[i] = bytes;
    batch.p[i] = p;
    batch.addr[i] = addr;
    batch.huge[i] = huge;
    batch.line[i] = this.lineNo;
    this.stats.events++;
  }

  private badNumber(col: number, name: string, expected: string, line: string, start: number, stop: number, v: number): void {
    if (v === NOT_GIVEN) return;
    throw new LineFault(col + 1, 'bad-number', `${name} must be ${expected}, got ${shown(line, start, stop)}`);
  }

  private takeSlot(pages: number): number {
    let slot: number;
    if (this.nfreeSlots > 0) {
      slot = this.freeSlots[--this.nfreeSlots];
    } else {
      slot = this.nextSlot++;
      if (slot >= this.slotPages.length) this.slotPages = grownFor(this.slotPages, slot);
    }
    this.slotPages[slot] = pages;
    return slot;
  }

  private releaseSlot(slot: number): void {
    if (this.nfreeSlots === this.freeSlots.length) this.freeSlots = grownFor(this.freeSlots, this.nfreeSlots);
    this.freeSlots[this.nfreeSlots++] = slot;
  }
}

function parseOp(s: string, start: number, end: number): number {
  const c = s.charCodeAt(start);
  switch (end - start) {
    case 5:
      if (c === 97 && s.charCodeAt(start + 1) === 108 && s.charCodeAt(start + 2) === 108 && s.charCodeAt(start + 3) === 111 && s.charCodeAt(start + 4) === 99)
        return OP_ALLOC;
      return c === 108 && s.startsWith('limit', start) ? OP_LIMIT : -1;
    case 4:
      return c === 102 && s.charCodeAt(start + 1) === 114 && s.charCodeAt(start + 2) === 101 && s.charCodeAt(start + 3) === 101 ? OP_FREE : -1;
    case 8:
      return c === 115 && s.startsWith('scavenge', start) ? OP_SCAVENGE : -1;
    case 3:
      return c === 114 && s.charCodeAt(start + 1) === 115 && s.charCodeAt(start + 2) === 115 ? OP_RSS : -1;
    case 2:
      return c === 103 && s.charCodeAt(start + 1) === 99 ? OP_GC : -1;
    default:
      return -1;
  }
}
