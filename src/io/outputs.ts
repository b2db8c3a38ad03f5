// Output files: checked before a command runs, written atomically, cleaned up on failure.
//
// What this module guarantees to the CLI:
// - checkOutputPlan() runs before any work. An output that resolves to an input (same real
//   path, or same device and inode: symlinks, hard links, `./x` and `../d/x` spellings,
//   and standard input redirected from the file) is refused, as are two outputs that
//   resolve to the same file, an output that is a directory, an output whose directory is
//   missing or not a directory, and an output heapsim may not write. All are UsageErrors.
// - openOutput() writes a regular file (or a name not yet taken) into a temporary file
//   beside the target, `.NAME.heapsim-PID-RAND.tmp`, and renames it into place on
//   commit(). Until commit the target is untouched: abort(), a thrown error, SIGINT,
//   SIGTERM, SIGHUP and process.exit() all remove the temporary file, so no partial output
//   is ever left under the target's name. A symlink target is written through: the file
//   it points to is replaced and the link stays.
// - An existing target that is not a regular file (/dev/null, /dev/full, a FIFO, a
//   terminal) cannot be renamed over; it is opened and written directly.
// - Every failure to write is an OutputError (a HeapsimError: one line, exit 2), e.g.
//   `cannot write /dev/full: no space left on device (ENOSPC)`; never a stack.
// - guardStandardStreams() gives standard output the same treatment: EPIPE (a reader such
//   as `head` went away) ends quietly with the exit code so far; any other error is one
//   line and exit 2.
// - checkReplaceable() keeps `gen -o FILE` from replacing a file that is not a trace.
// - openJournal() is the one exception to the temporary file: a sweep's results file is a
//   journal that must keep every line written before an interruption (that is what a
//   resume reads). It is appended to in place, one write per line; only a cut-short last
//   line (bytes past `keepBytes`, found by the caller) is cut off first.
//
// Writes are synchronous (writeSync on a descriptor heapsim owns): a write error is known
// at once, memory stays bounded whatever the disk's speed, and nothing is ever left queued
// when the process exits. Files are not fsync'ed: the promise is about heapsim failing or
// being interrupted, not about the machine losing power, and an fsync of a multi-GiB
// --emit file would cost seconds.

import {
  accessSync,
  closeSync,
  constants as fsConstants,
  fchmodSync,
  fstatSync,
  ftruncateSync,
  lstatSync,
  openSync,
  readSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { HeapsimError, UsageError } from '../errors.js';

/** Writing an output failed (disk full, device error, permission): exit 2, no stack. */
export class OutputError extends HeapsimError {
  constructor(
    readonly path: string,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** `no space left on device (ENOSPC)` from Node's `ENOSPC: no space left on device, write`. */
export function describeSystemError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code !== 'string') return String((e as Error)?.message ?? err);
  const m = /^[A-Z0-9_]+: (.*?), [a-z_]+(?: '.*)?$/s.exec(e.message);
  return `${m ? m[1] : e.message} (${e.code})`;
}

function outputError(path: string, err: unknown): OutputError {
  if (err instanceof OutputError) return err;
  const shown = path === '-' ? 'standard output' : path;
  return new OutputError(path, (err as NodeJS.ErrnoException)?.code, `cannot write ${shown}: ${describeSystemError(err)}`);
}

// ---------------------------------------------------------------------------------------
// The plan: inputs and outputs checked together before anything runs.

/** One file a command writes, named by the flag that chose it (for messages). */
export interface PlannedOutput {
  /** e.g. `--emit`; shown in messages. */
  flag: string;
  /** The path as given; `-` is standard output; undefined (flag not given) is skipped. */
  path: string | undefined;
}

export interface OutputPlan {
  /** Files read: trace paths, `-` for standard input, a baseline being read. */
  inputs: ReadonlyArray<string | undefined>;
  outputs: ReadonlyArray<PlannedOutput>;
}

/** What a path resolves to, for comparisons. `real` is absolute, symlinks resolved. */
interface Identity {
  label: string;
  real: string | null;
  /** Set for existing regular files only: the only kind two names can clash on. */
  dev?: number;
  ino?: number;
}

function sameFile(a: Identity, b: Identity): boolean {
  if (a.dev !== undefined && a.dev === b.dev && a.ino === b.ino) return true;
  return a.real !== null && a.real === b.real;
}

function fdIdentity(fd: number, label: string): Identity | null {
  let st: Stats;
  try {
    st = fstatSync(fd);
  } catch {
    return null; // closed: nothing to clash with
  }
  return st.isFile() ? { label, real: null, dev: st.dev, ino: st.ino } : null;
}

function inputIdentity(path: string): Identity | null {
  if (path === '-') return fdIdentity(0, 'standard input');
  try {
    const st = statSync(path);
    if (!st.isFile()) return null;
    return { label: `input ${path}`, real: realpathSync(path), dev: st.dev, ino: st.ino };
  } catch {
    return null; // a missing input is the trace reader's to report
  }
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException)?.code;
}

/**
 * Checks one output path and says what it resolves to: null when it is a device or FIFO
 * (written directly, cannot clash). Throws a UsageError for anything that cannot work.
 */
function outputIdentity(flag: string, path: string): Identity | null {
  const label = `${flag} ${path}`;
  if (path === '-') return fdIdentity(1, 'standard output');
  if (path === '') throw new UsageError(`${flag} needs a file name`);
  if (/[/\\]$/.test(path)) throw new UsageError(`${label}: names a directory, not a file`);
  let st: Stats | null = null;
  try {
    st = statSync(path);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOTDIR') throw new UsageError(`${label}: a part of the path is not a directory`);
    if (code !== 'ENOENT') throw new UsageError(`${label}: ${describeSystemError(err)}`);
  }
  if (st === null) {
    let isLink = false;
    try {
      isLink = lstatSync(path).isSymbolicLink();
    } catch {
      // nothing there at all: a new file
    }
    if (isLink) throw new UsageError(`${label}: is a symbolic link to a file that does not exist`);
    const dir = dirname(resolve(path));
    let dst: Stats;
    try {
      dst = statSync(dir);
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'ENOENT') throw new UsageError(`${label}: directory ${dir} does not exist`);
      if (code === 'ENOTDIR') throw new UsageError(`${label}: ${dir} is not a directory`);
      throw new UsageError(`${label}: ${describeSystemError(err)}`);
    }
    if (!dst.isDirectory()) throw new UsageError(`${label}: ${dir} is not a directory`);
    requireWritable(label, dir, 'cannot create files in');
    return { label, real: join(realpathSync(dir), basename(path)) };
  }
  if (st.isDirectory()) throw new UsageError(`${label}: is a directory`);
  if (!st.isFile()) return null;
  const real = realpathSync(path);
  requireWritable(label, real, 'cannot write');
  // Replacing goes through a temporary file and a rename in the target's directory.
  requireWritable(label, dirname(real), 'cannot create files in');
  return { label, real, dev: st.dev, ino: st.ino };
}

function requireWritable(label: string, path: string, what: string): void {
  try {
    accessSync(path, fsConstants.W_OK);
  } catch (err) {
    throw new UsageError(`${label}: ${what} ${path}: ${describeSystemError(err)}`);
  }
}

/**
 * Refuses (UsageError, exit 2) a plan whose outputs would overwrite an input, each other,
 * or cannot be written. Call before opening any input or output.
 */
export function checkOutputPlan(plan: OutputPlan): void {
  const inputs: Identity[] = [];
  for (const p of plan.inputs) {
    if (p === undefined) continue;
    const id = inputIdentity(p);
    if (id) inputs.push(id);
  }
  const outputs: Identity[] = [];
  for (const o of plan.outputs) {
    if (o.path === undefined) continue;
    const id = outputIdentity(o.flag, o.path);
    if (!id) continue;
    for (const i of inputs) {
      if (sameFile(id, i)) throw new UsageError(`${id.label} is the ${i.label}: refusing to overwrite an input`);
    }
    for (const prev of outputs) {
      if (sameFile(id, prev)) throw new UsageError(`${prev.label} and ${id.label} are the same file`);
    }
    outputs.push(id);
  }
}

// ---------------------------------------------------------------------------------------
// Temporary files and the signals that must not leave them behind.

/** Output files opened and neither committed nor aborted. */
const pending = new Set<OutputFile>();
let cleanupInstalled = false;

/** Exit codes a shell reports for a process killed by these signals (128 + number). */
const SIGNAL_EXIT: ReadonlyArray<[NodeJS.Signals, number]> = [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
];

function discardPending(): void {
  for (const f of pending) f.abort();
}

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  // 'exit' covers process.exit() (e.g. the EPIPE handler) and uncaught exceptions.
  process.on('exit', discardPending);
  for (const [signal, code] of SIGNAL_EXIT) {
    process.on(signal, () => {
      discardPending();
      process.exit(code);
    });
  }
}

/** Chars buffered before one write: large writes, few system calls. */
const FLUSH_CHARS = 1 << 16;
/** Longest part of the target's name kept in the temporary name (names max out at 255). */
const TEMP_NAME_CHARS = 100;
/** The gen stream's buffer limit, above gen's 64 KiB chunks so it never waits for 'drain'. */
const WRITABLE_HIGH_WATER = 1 << 20;

type State = 'open' | 'committed' | 'aborted';

/**
 * One output being written. Either committed (renamed into place) or aborted (temporary
 * file removed); until then it sits in the process-wide cleanup registry.
 */
export class OutputFile {
  private fd: number;
  private buf = '';
  private state: State = 'open';
  private failure: OutputError | null = null;
  private stream: Writable | null = null;

  private constructor(
    /** The path as the user gave it (for messages). */
    readonly path: string,
    /** The file renamed onto at commit, symlinks resolved; null when written directly. */
    private readonly target: string | null,
    /** The temporary file; null when written directly. */
    private readonly temp: string | null,
    fd: number,
  ) {
    this.fd = fd;
  }

  /**
   * Opens `path` for writing. Regular files and new names go through a temporary file;
   * devices and FIFOs are written directly, and so is `-`, standard output (descriptor 1,
   * never closed here). Throws OutputError when the file cannot be created.
   */
  static open(path: string): OutputFile {
    if (path === '-') return new OutputFile(path, null, null, STDOUT_FD);
    installCleanup();
    let st: Stats | null = null;
    try {
      st = statSync(path);
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw outputError(path, err);
    }
    try {
      if (st !== null && !st.isFile()) {
        const f = new OutputFile(path, null, null, openSync(path, 'w'));
        pending.add(f);
        return f;
      }
      const target = st !== null ? realpathSync(path) : join(realpathSync(dirname(resolve(path))), basename(path));
      const rand = Math.floor(Math.random() * 0x100000000)
        .toString(16)
        .padStart(8, '0');
      const temp = join(dirname(target), `.${basename(target).slice(0, TEMP_NAME_CHARS)}.heapsim-${process.pid}-${rand}.tmp`);
      const fd = openSync(temp, 'wx', 0o666);
      const f = new OutputFile(path, target, temp, fd);
      pending.add(f);
      // A replaced file keeps its permissions (the owner cannot be kept without root).
      if (st !== null) f.guard(() => fchmodSync(fd, st.mode & 0o7777));
      return f;
    } catch (err) {
      throw outputError(path, err);
    }
  }

  /** Runs a system call; on failure aborts and throws the OutputError. */
  private guard<T>(call: () => T): T {
    try {
      return call();
    } catch (err) {
      this.failure ??= outputError(this.path, err);
      this.abort();
      throw this.failure;
    }
  }

  /** Appends text (buffered) or bytes. Throws OutputError, and aborts, when a write fails. */
  write(data: string | Uint8Array): void {
    if (this.state !== 'open') throw this.failure ?? new Error(`${this.path}: write after ${this.state}`);
    if (typeof data === 'string') {
      this.buf += data;
      if (this.buf.length >= FLUSH_CHARS) this.flush();
    } else {
      this.flush();
      const fd = this.fd;
      this.guard(() => writeAll(fd, data));
    }
  }

  private flush(): void {
    if (this.buf.length === 0) return;
    const text = this.buf;
    const fd = this.fd;
    this.buf = '';
    this.guard(() => writeAll(fd, Buffer.from(text, 'utf8')));
  }

  /**
   * A Writable over this file, for code that streams (`gen`). A write error does not
   * error the stream (a producer waiting for 'drain' would wait forever): later writes
   * are dropped and commit() rejects with the OutputError.
   */
  writable(): Writable {
    this.stream ??= new Writable({
      highWaterMark: WRITABLE_HIGH_WATER,
      decodeStrings: false,
      write: (chunk: string | Buffer, _encoding, done) => {
        if (this.state === 'open') {
          try {
            this.write(chunk);
          } catch {
            // kept in this.failure; commit() rejects with it
          }
        }
        done();
      },
    });
    return this.stream;
  }

  /** Flushes, closes and renames the file into place. Rejects with the first write error. */
  async commit(): Promise<void> {
    const stream = this.stream;
    if (stream !== null && !stream.writableFinished) {
      await new Promise<void>((resolve, reject) => {
        stream.once('error', reject);
        stream.end(() => resolve());
      });
    }
    this.commitSync();
  }

  /** commit() for callers that did not use writable(). */
  commitSync(): void {
    if (this.state !== 'open') throw this.failure ?? new Error(`${this.path}: commit after ${this.state}`);
    this.flush();
    const fd = this.fd;
    if (fd !== STDOUT_FD) this.guard(() => closeSync(fd));
    this.fd = -1;
    if (this.temp !== null && this.target !== null) {
      const temp = this.temp;
      const target = this.target;
      this.guard(() => renameSync(temp, target));
    }
    this.state = 'committed';
    pending.delete(this);
  }

  /** Drops the output: closes and removes the temporary file; the target is untouched. Idempotent. */
  abort(): void {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    pending.delete(this);
    this.buf = '';
    if (this.fd >= 0 && this.fd !== STDOUT_FD) {
      try {
        closeSync(this.fd);
      } catch {
        // already failing; the temporary file goes all the same
      }
      this.fd = -1;
    }
    if (this.temp !== null) {
      try {
        unlinkSync(this.temp);
      } catch {
        // gone already
      }
    }
  }
}

/** Standard output's descriptor: written directly, left open for process.stdout. */
const STDOUT_FD = 1;
/** How long a write to a full non-blocking pipe waits before trying again. */
const EAGAIN_WAIT_MS = 1;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes all of `bytes`. Node makes standard output a non-blocking pipe, so a reader
 * slower than heapsim (`--emit - | gzip`) makes writeSync fail with EAGAIN; then this
 * waits a moment and tries again, keeping writes synchronous and memory bounded.
 */
function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) {
    try {
      off += writeSync(fd, bytes, off, bytes.length - off);
    } catch (err) {
      if (errnoOf(err) !== 'EAGAIN') throw err;
      Atomics.wait(sleeper, 0, 0, EAGAIN_WAIT_MS);
    }
  }
}

/** Opens an output file; see OutputFile. */
export function openOutput(path: string): OutputFile {
  return OutputFile.open(path);
}

/** Writes a whole file atomically (timeline CSV, baseline JSON, reports). */
export function writeOutputFile(path: string, data: string | Uint8Array): void {
  const f = OutputFile.open(path);
  try {
    f.write(data);
    f.commitSync();
  } catch (err) {
    f.abort();
    throw err;
  }
}

/** A file appended to line by line; see openJournal. */
export interface Journal {
  /** Writes one whole line (text ending in a newline) at the end of the file. */
  writeLine(text: string): void;
  close(): void;
}

/**
 * Opens `path` to append lines, creating it if missing; an existing file is first cut to
 * `keepBytes` (dropping a cut-short last line). `-` is standard output. Every failure is
 * an OutputError.
 */
export function openJournal(path: string, keepBytes: number): Journal {
  let fd: number;
  try {
    fd = path === '-' ? STDOUT_FD : openSync(path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_APPEND, 0o666);
    if (path !== '-' && fstatSync(fd).isFile() && fstatSync(fd).size > keepBytes) ftruncateSync(fd, keepBytes);
  } catch (err) {
    throw outputError(path, err);
  }
  return {
    writeLine(text: string) {
      try {
        writeAll(fd, Buffer.from(text, 'utf8'));
      } catch (err) {
        throw outputError(path, err);
      }
    },
    close() {
      if (fd === STDOUT_FD || fd < 0) return;
      const f = fd;
      fd = -1;
      try {
        closeSync(f);
      } catch (err) {
        throw outputError(path, err);
      }
    },
  };
}

// ---------------------------------------------------------------------------------------
// `gen -o FILE`: only a trace may be replaced without --force.

/** Bytes read from an existing file to decide whether it is a trace. */
const SNIFF_BYTES = 1 << 16;
/**
 * Of a gzip file, the compressed bytes inflated: enough for any metadata block and header,
 * and at deflate's worst ratio (about 1:1032) at most ~4 MiB of text.
 */
const GZIP_SNIFF_BYTES = 4096;

/** True when `head` (the first bytes of a file, maybe gzip) starts like a heapsim trace. */
function looksLikeTrace(head: Buffer): boolean {
  let bytes = head;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      // Z_SYNC_FLUSH: the head is a cut-off stream; take what inflates.
      bytes = gunzipSync(bytes.subarray(0, GZIP_SNIFF_BYTES), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } catch {
      return false;
    }
  }
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  let first = true;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '') continue;
    if (first && /^#\s*heapsim-trace\b/.test(line)) return true;
    first = false;
    if (line.startsWith('#')) continue;
    const columns = line.split(',').map((c) => c.trim());
    return columns.includes('time') && columns.includes('op');
  }
  return false;
}

/**
 * Refuses (UsageError) to let `flag path` replace an existing non-empty regular file that
 * is not a heapsim trace, unless `force`. Devices, FIFOs and missing files pass.
 */
export function checkReplaceable(path: string, force: boolean, flag = '-o'): void {
  if (force || path === '-') return;
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    return; // nothing to lose (checkOutputPlan reports paths that cannot be written)
  }
  if (!st.isFile() || st.size === 0) return;
  const head = Buffer.alloc(Math.min(SNIFF_BYTES, st.size));
  let n: number;
  try {
    const fd = openSync(path, 'r');
    try {
      n = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw new UsageError(`${flag} ${path}: cannot read it to check it is a trace: ${describeSystemError(err)}; give --force to replace it`);
  }
  if (!looksLikeTrace(head.subarray(0, n))) {
    throw new UsageError(`${flag} ${path} exists and is not a heapsim trace; give --force to replace it`);
  }
}

// ---------------------------------------------------------------------------------------
// Standard output and standard error.

/** Exit code for an output that cannot be written: the user's to fix, like bad usage. */
const EXIT_OUTPUT = 2;
let stdioGuarded = false;

/**
 * Installs error handlers on process.stdout and process.stderr, once, first thing in main:
 * EPIPE ends the process quietly with the exit code set so far; any other error is one
 * line on standard error and exit 2 (an error on standard error itself is silent).
 */
export function guardStandardStreams(): void {
  if (stdioGuarded) return;
  stdioGuarded = true;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    try {
      writeSync(2, `heapsim: cannot write standard output: ${describeSystemError(err)}\n`);
    } catch {
      // standard error is gone too: the exit code says it
    }
    process.exit(EXIT_OUTPUT);
  });
  process.stderr.on('error', (err: NodeJS.ErrnoException) => {
    process.exit(err.code === 'EPIPE' ? (process.exitCode ?? 0) : EXIT_OUTPUT);
  });
}
