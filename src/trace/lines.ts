// Byte input for the trace reader: from a stream of bytes, plain or gzip-compressed, to
// blocks of whole, checked text lines.
//
// Invariants:
// - Every string yielded holds one or more whole lines, each ending in LF, decoded from
//   bytes that are valid UTF-8 and hold no NUL. A line that breaks this, or is longer
//   than MAX_LINE_BYTES, is yielded as one LineFault in its place, so the reader's line
//   numbers stay right and a lenient reader can skip just that line.
// - Work is linear in the input and memory is bounded by a chunk plus one line: input is
//   cut into slices of at most SLICE_BYTES; an unfinished line is kept as a list of
//   pieces (appended to, never re-joined) and joined once, when its LF arrives; once it
//   passes the cap it is given up and the rest of it is dropped as it streams past.
// - A leading UTF-8 byte-order mark is dropped.
// - gzip is recognised by its magic bytes, however the first reads were split (stdin
//   may hand over one byte at a time).

import { isUtf8 } from 'node:buffer';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { HeapsimError, type TraceErrorKind } from '../errors.js';

/**
 * The longest line a trace may hold, in bytes, not counting its LF or CRLF. Real rows
 * are under 100 bytes; the cap bounds memory and the time spent on a hostile line.
 */
const MAX_LINE_BYTES = 1 << 20;
/** Input is looked at this much at a time: no line can hide inside a slice unchecked. */
const SLICE_BYTES = MAX_LINE_BYTES;
/** gunzip output chunk: larger than zlib's 16 KiB default, to spend less per chunk. */
const GUNZIP_CHUNK_BYTES = 1 << 16;

const LF = 10;
const CR = 13;
const COMMA = 44;
const LF_BYTES = Buffer.from([LF]);

/** One line that breaks the rules, located by its cell (1-based column) within the line. */
export class LineFault {
  constructor(
    readonly column: number,
    readonly kind: TraceErrorKind,
    readonly detail: string,
  ) {}
}

/** The input itself failed after some lines were read (a truncated gzip, a read error). */
export class InputFault extends Error {}

export type LineItem = string | LineFault;

export const LONE_CR = 'a CR not followed by LF: lines end in LF or CRLF';

/** The lines of a trace (see the invariants above). */
export async function* traceLines(source: Readable, file: string): AsyncGenerator<LineItem> {
  const splitter = new LineSplitter();
  for await (const chunk of traceBytes(source, file)) {
    for (let off = 0; off < chunk.length; off += SLICE_BYTES) {
      yield* splitter.take(off === 0 && chunk.length <= SLICE_BYTES ? chunk : chunk.subarray(off, off + SLICE_BYTES));
    }
  }
  yield* splitter.end();
}

function asBuffer(v: Buffer | Uint8Array | string): Buffer {
  return Buffer.isBuffer(v) ? v : typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

async function* rest(first: Buffer, it: AsyncIterator<Buffer | string>, done: boolean): AsyncGenerator<Buffer> {
  if (first.length > 0) yield first;
  if (done) return;
  for (;;) {
    let next: IteratorResult<Buffer | string>;
    try {
      next = await it.next();
    } catch (err) {
      throw new InputFault(`cannot read trace: ${(err as Error).message}`);
    }
    if (next.done) return;
    yield asBuffer(next.value);
  }
}

/** The raw bytes of the trace, gunzipped when they start with gzip's magic bytes. */
async function* traceBytes(source: Readable, file: string): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const head: Buffer[] = [];
  let headBytes = 0;
  let done = false;
  // gzip's magic is two bytes: read until there are two, whatever the reads return.
  while (headBytes < 2) {
    let next: IteratorResult<Buffer | string>;
    try {
      next = await it.next();
    } catch (err) {
      if (headBytes === 0) throw new HeapsimError(`cannot read trace ${file}: ${(err as Error).message}`);
      throw new InputFault(`cannot read trace: ${(err as Error).message}`);
    }
    if (next.done) {
      done = true;
      break;
    }
    const b = asBuffer(next.value);
    head.push(b);
    headBytes += b.length;
  }
  const first = head.length === 1 ? head[0] : Buffer.concat(head, headBytes);
  if (first.length < 2 || first[0] !== 0x1f || first[1] !== 0x8b) {
    yield* rest(first, it, done);
    return;
  }
  const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES });
  const input = Readable.from(rest(first, it, done));
  input.on('error', (err) => gunzip.destroy(err));
  input.pipe(gunzip);
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (err) {
    if (err instanceof InputFault) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new InputFault(e.code === 'Z_BUF_ERROR' ? 'the gzip data ends early (a truncated file?)' : `bad gzip data (${e.message})`);
  }
}

/** 1-based cell of byte `at` in the line starting at `start`: one more than the commas before it. */
function cellOfByte(buf: Buffer, start: number, at: number): number {
  let cell = 1;
  for (let i = start; i < at; i++) if (buf[i] === COMMA) cell++;
  return cell;
}

/**
 * The first byte in [start, end) that is NUL or starts a sequence that is not valid
 * UTF-8 (overlong forms, surrogates and code points beyond U+10FFFF are not), or -1.
 */
function badByte(buf: Buffer, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const c = buf[i];
    if (c === 0) return i;
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return i;
    if (i + n >= end) return i;
    const c1 = buf[i + 1];
    if (c1 < lo || c1 > hi) return i;
    for (let k = 2; k <= n; k++) if ((buf[i + k] & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return -1;
}

function encodingFault(buf: Buffer, lineStart: number, at: number): LineFault {
  const where = `byte ${at - lineStart + 1} of the line`;
  const detail =
    buf[at] === 0
      ? `binary data (a NUL byte at ${where}): a trace is UTF-8 CSV text`
      : `not UTF-8 text (byte 0x${buf[at].toString(16).padStart(2, '0')} at ${where}): a trace is UTF-8 CSV text`;
  return new LineFault(cellOfByte(buf, lineStart, at), 'encoding', detail);
}

class LineSplitter {
  /** The unfinished line so far, as the pieces it arrived in. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Dropping the rest of a line that passed the cap, up to its LF. */
  private discarding = false;
  private atStart = true;

  *take(buf: Buffer): Generator<LineItem> {
    let start = 0;
    if (this.discarding) {
      const nl = buf.indexOf(LF);
      if (nl < 0) return;
      this.discarding = false;
      start = nl + 1;
    }
    if (this.pendingBytes > 0) {
      const nl = buf.indexOf(LF, start);
      if (nl < 0) {
        this.hold(buf.subarray(start));
        // Even if the next byte is the LF, a CR here would leave more than the cap.
        if (this.pendingBytes > MAX_LINE_BYTES + 1) {
          yield this.tooLong();
          this.discarding = true;
        }
        return;
      }
      this.hold(buf.subarray(start, nl + 1));
      const line = Buffer.concat(this.pending, this.pendingBytes);
      if (line.length - 1 - (line[line.length - 2] === CR ? 1 : 0) > MAX_LINE_BYTES) yield this.tooLong();
      else {
        this.drop();
        yield* this.lines(line, 0, line.length);
      }
      start = nl + 1;
    }
    // Every line ending in this slice is whole and, being inside one slice, under the cap.
    const last = buf.lastIndexOf(LF);
    if (last >= start) {
      yield* this.lines(buf, start, last + 1);
      start = last + 1;
    }
    if (start < buf.length) this.hold(buf.subarray(start));
  }

  /** The last line, when the input does not end in LF. */
  *end(): Generator<LineItem> {
    if (this.pendingBytes === 0) return;
    if (this.pendingBytes > MAX_LINE_BYTES) {
      yield this.tooLong();
      return;
    }
    const line = Buffer.concat([...this.pending, LF_BYTES], this.pendingBytes + 1);
    this.drop();
    // No LF follows any CR in this line: each is a lone one.
    const cr = line.indexOf(CR);
    if (cr >= 0) {
      this.atStart = false;
      yield new LineFault(cellOfByte(line, 0, cr), 'line-ending', LONE_CR);
      return;
    }
    yield* this.lines(line, 0, line.length);
  }

  private hold(piece: Buffer): void {
    this.pending.push(piece);
    this.pendingBytes += piece.length;
  }

  private drop(): void {
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** The fault for the held line, which passed the cap; the held bytes are dropped. */
  private tooLong(): LineFault {
    // Lines that end in a lone CR run together into one long line: name the real cause.
    const head = this.pending[0];
    const cr = head.indexOf(CR);
    this.drop();
    this.atStart = false;
    // No LF is held before the last piece, so any CR in the first is a lone one.
    if (cr >= 0) return new LineFault(cellOfByte(head, 0, cr), 'line-ending', LONE_CR);
    return new LineFault(1, 'line-too-long', `line is longer than ${MAX_LINE_BYTES} bytes (1 MiB), the most a trace line may hold`);
  }

  /** Whole lines [start, end) (end - 1 is an LF): decoded, or a fault for each bad one. */
  private *lines(buf: Buffer, start: number, end: number): Generator<LineItem> {
    if (this.atStart) {
      this.atStart = false;
      if (end - start >= 3 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf) start += 3;
    }
    const block = buf.subarray(start, end);
    if (block.indexOf(0) < 0 && isUtf8(block)) {
      yield block.toString('utf8');
      return;
    }
    let run = start;
    for (let ls = start; ls < end;) {
      const le = buf.indexOf(LF, ls);
      const bad = badByte(buf, ls, le);
      if (bad >= 0) {
        if (ls > run) yield buf.toString('utf8', run, ls);
        yield encodingFault(buf, ls, bad);
        run = le + 1;
      }
      ls = le + 1;
    }
    if (run < end) yield buf.toString('utf8', run, end);
  }
}
