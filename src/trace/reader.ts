// Streaming reader for trace format v1 (docs/trace-format.md).
//
// Invariants:
// - Memory is bounded by one input chunk, one batch of events and the set of live span
//   ids, never by the file: a 10 GB trace streams through.
// - Every row is fully validated before it is handed on; the first bad row stops the
//   read with a TraceError naming file:line:column, unless reading is lenient, in which
//   case the row is skipped and counted by kind.
// - Input may be plain or gzip-compressed (recognised by its magic bytes, whatever the
//   file is called) and may come from standard input (`-`).
//
// The scanner is hand-written: lines are found with indexOf, cells are parsed in place
// from character codes, and only the id cell becomes a string (it keys the live-span
// map). `npm run bench` compares it with csv-parse on the same input.

import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { HeapsimError, TraceError, type TraceErrorKind } from '../errors.js';
import { IntMap } from './id-map.js';
import {
  EventBatch,
  NOT_GIVEN,
  OP_ALLOC,
  OP_FREE,
  OP_GC,
  OP_LIMIT,
  OP_SCAVENGE,
  type ReadStats,
  type TraceMeta,
} from './events.js';

export interface ReadOptions {
  /** Skip bad rows (counting them by kind) instead of stopping at the first. */
  lenient?: boolean;
  /** Events per batch handed to the consumer. */
  batchEvents?: number;
  /** Stream to read when the path is `-` (default: process.stdin). */
  stdin?: Readable;
  /** Keep each row's id text in EventBatch.ids (needed by --emit; off saves time). */
  keepIds?: boolean;
}

const DEFAULT_PAGE_BYTES = 8192;
const DEFAULT_GOGC = 100;
const DEFAULT_BATCH = 8192;
/** Largest integer a cell may hold: beyond 2^53 a double no longer counts by ones. */
const MAX_INT = Number.MAX_SAFE_INTEGER;
/** 13 hex digits = 52 bits, enough for a 48-bit address space and exact in a double. */
const MAX_HEX_DIGITS = 13;

const KNOWN_COLUMNS = ['time', 'op', 'id', 'pages', 'bytes', 'p', 'addr'] as const;
const ROLE_UNKNOWN = -1;
const ROLE_TIME = 0;
const ROLE_OP = 1;
const ROLE_ID = 2;
const ROLE_PAGES = 3;
const ROLE_BYTES = 4;
const ROLE_P = 5;
const ROLE_ADDR = 6;

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

/** Opens a trace and reads its metadata and header; rows follow from batches(). */
export async function openTrace(path: string, options: ReadOptions = {}): Promise<TraceReader> {
  const file = path === '-' ? '<stdin>' : path;
  let source: Readable;
  if (path === '-') {
    source = options.stdin ?? process.stdin;
  } else {
    source = createReadStream(path, { highWaterMark: 1 << 20 });
  }
  const reader = new TraceReader(file, textChunks(source, file), options);
  await reader.readHeader();
  return reader;
}

/** Opens a trace held in memory (tests, generated traces). */
export async function openTraceText(text: string, file = '<memory>', options: ReadOptions = {}): Promise<TraceReader> {
  return openTrace('-', { ...options, stdin: Readable.from([Buffer.from(text, 'utf8')]) }).then((r) => {
    r.meta.file = file;
    r.file = file;
    return r;
  });
}

async function* prepend(first: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield first;
  for (;;) {
    const next = await rest.next();
    if (next.done) return;
    yield next.value;
  }
}

async function* textChunks(source: Readable, file: string): AsyncGenerator<string> {
  const it = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let first: IteratorResult<Buffer>;
  try {
    first = await it.next();
  } catch (err) {
    throw new HeapsimError(`cannot read trace ${file}: ${(err as Error).message}`);
  }
  if (first.done) return;
  const head = Buffer.isBuffer(first.value) ? first.value : Buffer.from(first.value);
  let bytes: AsyncIterable<Buffer> = prepend(head, it);
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip();
    Readable.from(bytes).pipe(gunzip);
    bytes = gunzip;
  }
  const decoder = new StringDecoder('utf8');
  try {
    for await (const chunk of bytes) {
      const text = decoder.write(chunk);
      if (text.length > 0) yield text;
    }
  } catch (err) {
    if (err instanceof HeapsimError) throw err;
    throw new TraceError(file, 1, 1, 'encoding', `cannot read trace: ${(err as Error).message}`);
  }
  const tail = decoder.end();
  if (tail.length > 0) yield tail;
}

/** Thrown inside row parsing; caught at the row loop, which stops or skips. */
class RowFault {
  constructor(
    readonly column: number,
    readonly kind: TraceErrorKind,
    readonly detail: string,
  ) {}
}

export class TraceReader {
  readonly meta: TraceMeta;
  readonly stats: ReadStats = { rows: 0, events: 0, skipped: 0, skippedByKind: {}, warnings: [] };

  private readonly lenient: boolean;
  private readonly batchEvents: number;
  /** Unconsumed input: complete lines from `pos`, then perhaps an unfinished one. */
  private text = '';
  private pos = 0;
  private eof = false;
  private lineNo = 0;
  private started = false;
  private roles: Int8Array = new Int8Array(0);
  private lastTime = 0;

  // Live spans: id -> slot, with the slot's page count. Freed slots are reused. Hex ids
  // (the recorded traces' span addresses) are keyed by their value in an IntMap, which
  // spares making and hashing a string per row, so 0xA and 0xa name one span; other
  // ids are keyed by their text.
  private readonly live = new Map<string, number>();
  private readonly liveNumeric = new IntMap();
  private readonly keepIds: boolean;
  private slotPages = new Float64Array(1024);
  private freeSlots = new Int32Array(1024);
  private nfreeSlots = 0;
  private nextSlot = 0;

  constructor(
    public file: string,
    private readonly chunks: AsyncGenerator<string>,
    options: ReadOptions,
  ) {
    this.lenient = options.lenient ?? false;
    this.batchEvents = options.batchEvents ?? DEFAULT_BATCH;
    this.keepIds = options.keepIds ?? false;
    this.meta = {
      file,
      pageBytes: DEFAULT_PAGE_BYTES,
      gogc: DEFAULT_GOGC,
      metadata: {},
      columns: [],
      unknownColumns: [],
      hasAddr: false,
      hasP: false,
    };
  }

  /** How many slots the reader has handed out (an upper bound for consumers' tables). */
  get slotCapacity(): number {
    return this.nextSlot;
  }

  private fail(line: number, column: number, kind: TraceErrorKind, detail: string): never {
    throw new TraceError(this.file, line, column, kind, detail);
  }

  private checkText(text: string, base: number): void {
    let bad = text.indexOf('\u0000');
    const repl = text.indexOf('\uFFFD');
    if (bad < 0 || (repl >= 0 && repl < bad)) bad = repl;
    if (bad < 0) return;
    let line = base;
    let col = 1;
    for (let i = 0; i < bad; i++) {
      if (text.charCodeAt(i) === 10) {
        line++;
        col = 1;
      } else col++;
    }
    this.fail(line, col, 'encoding', 'binary data: a trace is UTF-8 CSV text');
  }

  /** Appends the next chunk to the unconsumed text; false at end of input. */
  private async more(): Promise<boolean> {
    if (this.eof) return false;
    const next = await this.chunks.next();
    let rest = this.text.slice(this.pos);
    this.pos = 0;
    if (next.done) {
      this.eof = true;
      // A last line without a newline still counts as a line.
      this.text = rest.length > 0 ? rest + '\n' : rest;
      return rest.length > 0;
    }
    let chunk = next.value;
    this.checkText(chunk, this.lineNo + 1);
    if (!this.started) {
      this.started = true;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    this.text = rest + chunk;
    return true;
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
      if (line.length === 0) continue;
      if (line.charCodeAt(0) === 35 /* # */) {
        this.readMetadata(line);
        continue;
      }
      this.readColumns(line);
      return;
    }
  }

  private readMetadata(line: string): void {
    const m = /^#\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m) return;
    const key = m[1];
    const value = m[2];
    this.meta.metadata[key] = value;
    if (key === 'page_size') {
      const v = parseInteger(value, 0, value.length);
      if (v < 512 || (v & (v - 1)) !== 0 || v > 1 << 24) {
        this.fail(this.lineNo, 1, 'metadata', `page_size must be a power of two between 512 and 16777216 bytes, got "${value}"`);
      }
      this.meta.pageBytes = v;
    } else if (key === 'gogc') {
      const v = value === 'off' ? -1 : parseInteger(value, 0, value.length);
      if (v === BAD || v === NOT_GIVEN) this.fail(this.lineNo, 1, 'metadata', `gogc must be an integer >= 0 or "off", got "${value}"`);
      this.meta.gogc = v;
    }
  }

  private readColumns(line: string): void {
    const names = line.split(',').map((s) => s.trim());
    const roles = new Int8Array(names.length);
    const seen = new Set<string>();
    names.forEach((name, i) => {
      if (name.length === 0) this.fail(this.lineNo, i + 1, 'header', `header column ${i + 1} has no name`);
      if (seen.has(name)) this.fail(this.lineNo, i + 1, 'header', `header names column "${name}" twice`);
      seen.add(name);
      const role = (KNOWN_COLUMNS as readonly string[]).indexOf(name);
      roles[i] = role;
      if (role === ROLE_UNKNOWN) {
        this.meta.unknownColumns.push(name);
        this.stats.warnings.push(`${this.file}:${this.lineNo}:${i + 1}: unknown column "${name}" is ignored`);
      }
    });
    for (const required of ['time', 'op']) {
      if (!seen.has(required)) {
        this.fail(this.lineNo, 1, 'header', `header has no "${required}" column (got "${line.slice(0, 80)}")`);
      }
    }
    this.roles = roles;
    this.meta.columns = names;
    this.meta.hasAddr = seen.has('addr');
    this.meta.hasP = seen.has('p');
  }

  /** The remaining rows, in batches. Each batch is a new object the consumer may keep. */
  async *batches(): AsyncGenerator<EventBatch> {
    let batch = new EventBatch(this.batchEvents);
    for (;;) {
      const text = this.text;
      let pos = this.pos;
      for (;;) {
        const nl = text.indexOf('\n', pos);
        if (nl < 0) break;
        this.lineNo++;
        this.row(text, pos, nl, batch);
        pos = nl + 1;
        if (batch.length === batch.capacity) {
          this.pos = pos;
          yield batch;
          batch = new EventBatch(this.batchEvents);
        }
      }
      this.pos = pos;
      if (!(await this.more())) break;
    }
    if (batch.length > 0) yield batch;
  }

  private row(text: string, start: number, end: number, batch: EventBatch): void {
    if (end > start && text.charCodeAt(end - 1) === 13) end--;
    if (end === start) return;
    if (text.charCodeAt(start) === 35) return; // comment between rows
    this.stats.rows++;
    try {
      this.parseRow(text, start, end, batch);
    } catch (e) {
      if (!(e instanceof RowFault)) throw e;
      if (!this.lenient) this.fail(this.lineNo, e.column, e.kind, e.detail);
      this.stats.skipped++;
      this.stats.skippedByKind[e.kind] = (this.stats.skippedByKind[e.kind] ?? 0) + 1;
    }
  }

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
    let idCol = 0;
    let pagesCol = 0;
    let bytesCol = 0;

    let start = rowStart;
    let col = 0;
    while (start <= end) {
      if (col >= roles.length) {
        throw new RowFault(col + 1, 'extra-cells', `row has more cells than the header's ${roles.length} columns`);
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
            const got = line.slice(start, stop);
            throw new RowFault(col + 1, got === '' ? 'missing-cell' : 'bad-op', `op must be one of alloc, free, scavenge, gc, limit, got "${got}"`);
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
          if (p === BAD || p > 0x7fffffff) this.badNumber(col, 'p', 'an integer >= 0', line, start, stop, BAD);
          break;
        case ROLE_ADDR:
          scanCell(line, start, end);
          stop = cellEnd;
          addr = parseHex(line, start, stop);
          if (addr === BAD) {
            throw new RowFault(col + 1, 'bad-addr', `addr must be a hex address such as 0xc000000000 (at most ${MAX_HEX_DIGITS} digits), got "${line.slice(start, stop)}"`);
          }
          break;
        default:
          scanCell(line, start, end);
          stop = cellEnd;
          break;
      }
      col++;
      start = stop + 1;
    }
    if (time === NOT_GIVEN) throw new RowFault(roles.indexOf(ROLE_TIME) + 1, 'missing-cell', 'time is required');
    if (op < 0) throw new RowFault(roles.indexOf(ROLE_OP) + 1, 'missing-cell', 'op is required');
    if (time < this.lastTime) {
      throw new RowFault(roles.indexOf(ROLE_TIME) + 1, 'time-backwards', `time goes backwards: ${time} after ${this.lastTime}`);
    }

    let slot = -1;
    if (op === OP_ALLOC || op === OP_FREE) {
      if (idEnd === idStart) {
        throw new RowFault(idCol || roles.length + 1, 'missing-cell', `${op === OP_ALLOC ? 'alloc' : 'free'} needs an id`);
      }
      const key = parseHex(line, idStart, idEnd);
      const id = key >= 0 ? '' : line.slice(idStart, idEnd);
      const known = key >= 0 ? this.liveNumeric.get(key) : (this.live.get(id) ?? -1);
      if (op === OP_ALLOC) {
        if (pages === NOT_GIVEN) throw new RowFault(pagesCol || roles.length + 1, 'missing-cell', 'alloc needs pages');
        if (known >= 0) throw new RowFault(idCol, 'already-live', `alloc of id "${line.slice(idStart, idEnd)}" that is still live`);
        slot = this.takeSlot(pages);
        if (key >= 0) this.liveNumeric.set(key, slot);
        else this.live.set(id, slot);
      } else {
        if (known < 0) throw new RowFault(idCol, 'not-live', `free of id "${line.slice(idStart, idEnd)}" that is not live`);
        const livePages = this.slotPages[known];
        if (pages !== NOT_GIVEN && pages !== livePages) {
          throw new RowFault(pagesCol, 'pages-mismatch', `free of id "${line.slice(idStart, idEnd)}" says ${pages} pages, its alloc had ${livePages}`);
        }
        pages = livePages;
        slot = known;
        if (key >= 0) this.liveNumeric.delete(key);
        else this.live.delete(id);
        this.releaseSlot(known);
      }
      if (this.keepIds) batch.ids[batch.length] = line.slice(idStart, idEnd);
    } else {
      if (this.keepIds) batch.ids[batch.length] = '';
      if (op === OP_GC && bytes === NOT_GIVEN) throw new RowFault(bytesCol || roles.length + 1, 'missing-cell', 'gc needs bytes (the marked heap)');
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
    batch.line[i] = this.lineNo;
    this.stats.events++;
  }

  private badNumber(col: number, name: string, expected: string, line: string, start: number, stop: number, v: number): void {
    if (v === NOT_GIVEN) return;
    const got = line.slice(start, stop);
    throw new RowFault(col + 1, 'bad-number', `${name} must be ${expected}, got "${got}"`);
  }

  private takeSlot(pages: number): number {
    let slot: number;
    if (this.nfreeSlots > 0) {
      slot = this.freeSlots[--this.nfreeSlots];
    } else {
      slot = this.nextSlot++;
      if (slot >= this.slotPages.length) {
        const grown = new Float64Array(this.slotPages.length * 2);
        grown.set(this.slotPages);
        this.slotPages = grown;
      }
    }
    this.slotPages[slot] = pages;
    return slot;
  }

  private releaseSlot(slot: number): void {
    if (this.nfreeSlots === this.freeSlots.length) {
      const grown = new Int32Array(this.freeSlots.length * 2);
      grown.set(this.freeSlots);
      this.freeSlots = grown;
    }
    this.freeSlots[this.nfreeSlots++] = slot;
  }
}

function parseOp(s: string, start: number, end: number): number {
  const c = s.charCodeAt(start);
  switch (end - start) {
    case 5:
      if (c === 97 && s.charCodeAt(start + 1) === 108 && s.charCodeAt(start + 2) === 108 && s.charCodeAt(start + 3) === 111 && s.charCodeAt(start + 4) === 99) return OP_ALLOC;
      return c === 108 && s.startsWith('limit', start) ? OP_LIMIT : -1;
    case 4:
      return c === 102 && s.charCodeAt(start + 1) === 114 && s.charCodeAt(start + 2) === 101 && s.charCodeAt(start + 3) === 101 ? OP_FREE : -1;
    case 8:
      return c === 115 && s.startsWith('scavenge', start) ? OP_SCAVENGE : -1;
    case 2:
      return c === 103 && s.charCodeAt(start + 1) === 99 ? OP_GC : -1;
    default:
      return -1;
  }
}
