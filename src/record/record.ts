// heapsim record: build a Go program (or a package's test binary) against the installed
// toolchain with the recorder overlaid on its runtime, run it, and turn its recording
// into a trace (format v1).
//
// Invariants:
// - The program runs as the user would run it: their arguments, environment (plus
//   HEAPSIM_RECORD_FILE, and GOGC / GOMEMLIMIT when asked), working directory (a test
//   binary runs in its package's directory, as `go test` does) and standard streams,
//   untouched. Its exit status is the result's `exitStatus`: its code, or 128 + n when a
//   signal ended it.
// - The trace is written only after the program has ended, through src/io/outputs.ts
//   (atomic, refused over an input; gzip when the name ends in .gz). A program that
//   failed, panicked or was killed still gives a trace: the prefix its recorder flushed,
//   and `summary.ending` says how it ended.
// - The build directory (overlay, patched runtime files, binary, raw recording) is
//   removed whatever happens.

import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir, constants as osConstants } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { createGzip } from 'node:zlib';
import { checkOutputPlan, checkReplaceable, openOutput, type OutputFile } from '../io/outputs.js';
import { Recording, type DecodeSummary, type RecordingMeta } from './decode.js';
import { writeOverlay } from './overlay.js';
import { detectToolchain, RecordError, type Toolchain } from './toolchain.js';

export interface RecordOptions {
  /** A main package: a directory, a .go file or an import path (not with `test`). */
  target?: string;
  /** A package whose test binary to record (`go test -c`); `args` are go test flags. */
  test?: string;
  /** The program's arguments, or go test flags (-run, -bench...) with `test`. */
  args: string[];
  /** The trace to write; `.gz` compresses. */
  output: string;
  /** Let `output` replace a file that is not a trace. */
  force?: boolean;
  /** The go command (default: go on PATH, else /usr/lib/go-1.19/bin/go). */
  go?: string;
  /** GOGC for the program (default: the environment's). */
  gogc?: string;
  /** GOMEMLIMIT for the program (default: the environment's). */
  gomemlimit?: string;
  /** Told what is happening (building, running): one line each. */
  onStep?: (line: string) => void;
  /** The program's standard streams: the caller's (default), or none (tests). */
  stdio?: 'inherit' | 'ignore';
}

export interface RecordResult {
  output: string;
  program: string;
  toolchain: Toolchain;
  meta: RecordingMeta;
  summary: DecodeSummary;
  /** The program's exit status as a shell reports it (128 + n for signal n). */
  exitStatus: number;
  /** The signal that ended the program, if one did. */
  signal: NodeJS.Signals | null;
}

/** Go test flags the test binary takes as -test.NAME (what `go test` rewrites). */
const TEST_FLAGS = new Set([
  'bench',
  'benchmem',
  'benchtime',
  'blockprofile',
  'blockprofilerate',
  'count',
  'coverprofile',
  'cpu',
  'cpuprofile',
  'failfast',
  'fuzz',
  'fuzztime',
  'fuzzminimizetime',
  'list',
  'memprofile',
  'memprofilerate',
  'mutexprofile',
  'mutexprofilefraction',
  'outputdir',
  'parallel',
  'run',
  'short',
  'shuffle',
  'timeout',
  'trace',
  'v',
]);

/** `-run X` → `-test.run X`, as go test passes its flags to the test binary. */
export function testBinaryArgs(args: string[]): string[] {
  return args.map((a) => {
    const m = /^--?([a-z]+)(=.*)?$/.exec(a);
    return m !== null && TEST_FLAGS.has(m[1]) ? `-test.${m[1]}${m[2] ?? ''}` : a;
  });
}

/** How `go build`/`go list` is pointed at a target: the directory to run in and the package argument. */
function packageArg(target: string): { cwd: string; pkg: string } {
  if (existsSync(target) && statSync(target).isDirectory()) return { cwd: resolve(target), pkg: '.' };
  if (target.endsWith('.go') && existsSync(target)) return { cwd: dirname(resolve(target)), pkg: basename(target) };
  return { cwd: process.cwd(), pkg: target };
}

function goRun(tc: Toolchain, args: string[], cwd: string, what: string): string {
  const r = spawnSync(tc.go, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  if (r.error) throw new RecordError(`cannot run ${tc.go}: ${r.error.message}`);
  if (r.signal !== null && BUILD_SIGNALS.some(([s]) => s === r.signal)) throw new BuildInterrupted(what, r.signal);
  if (r.status !== 0) throw new RecordError(`${what} failed (exit ${r.status ?? r.signal}):\n${(r.stderr + r.stdout).trimEnd()}`);
  return r.stdout;
}

/** Builds the program with the recorder overlaid; returns the binary and the directory a test binary runs in. */
function build(tc: Toolchain, options: RecordOptions, dir: string): { binary: string; runDir: string | undefined } {
  const overlay = writeOverlay(tc, dir);
  const binary = join(dir, 'program');
  const target = options.test ?? options.target;
  if (target === undefined) throw new RecordError('nothing to record: give a program (-- TARGET [ARGS...]) or --test PKG');
  const { cwd, pkg } = packageArg(target);
  if (options.test === undefined) {
    goRun(tc, ['build', '-overlay', overlay, '-o', binary, pkg], cwd, `go build ${target}`);
    return { binary, runDir: undefined };
  }
  const pkgDir = goRun(tc, ['list', '-f', '{{.Dir}}', pkg], cwd, `go list ${target}`).trim();
  // vet reads the package's files from disk, where the recorder's file is not: it is off, as for any non-test build.
  goRun(tc, ['test', '-c', '-vet=off', '-overlay', overlay, '-o', binary, pkg], cwd, `go test -c ${target}`);
  if (!existsSync(binary)) throw new RecordError(`${target} has no test files: nothing to record`);
  return { binary, runDir: pkgDir };
}

/** Signals passed on to the program (SIGINT from a terminal reaches it directly, with its process group). */
const FORWARDED: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGQUIT'];

/** Runs the binary with the user's streams; resolves with its exit status and signal. */
async function run(
  binary: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string | undefined,
  stdio: 'inherit' | 'ignore',
): Promise<{ status: number; signal: NodeJS.Signals | null }> {
  const child = spawn(binary, args, { stdio, env, cwd });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  const ignore = () => {};
  for (const s of FORWARDED) process.on(s, forward);
  process.on('SIGINT', ignore);
  try {
    let ended: [number | null, NodeJS.Signals | null];
    try {
      ended = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    } catch (err) {
      throw new RecordError(`cannot run the program ${binary}: ${(err as Error).message}`);
    }
    const [code, signal] = ended;
    const status = signal !== null ? 128 + (osConstants.signals[signal] ?? 0) : (code ?? 1);
    return { status, signal };
  } finally {
    for (const s of FORWARDED) process.off(s, forward);
    process.off('SIGINT', ignore);
  }
}

/**
 * The transparent-huge-page mode the recorded program runs under: the system's (the
 * bracketed word of /sys/kernel/mm/transparent_hugepage/enabled), or never when this
 * process has THP disabled (prctl PR_SET_THP_DISABLE, /proc/self/status `THP_enabled: 0`),
 * which the program inherits across fork and execve. Null when the files cannot be read
 * (not Linux, or a kernel without THP).
 */
export function hostThpMode(read: (path: string) => string = (path) => readFileSync(path, 'utf8')): 'never' | 'madvise' | 'always' | null {
  let system: string | undefined;
  try {
    system = /\[(never|madvise|always)\]/.exec(read('/sys/kernel/mm/transparent_hugepage/enabled'))?.[1];
  } catch {
    return null;
  }
  if (system === undefined) return null;
  try {
    if (/^THP_enabled:\s*0\s*$/m.test(read('/proc/self/status'))) return 'never';
  } catch {
    // No status file: the system's mode stands.
  }
  return system as 'never' | 'madvise' | 'always';
}

/** The trace's metadata block and header; `source` names what recorded it (default: heapsim record). */
export function traceHead(tc: Toolchain, meta: RecordingMeta, program: string, source = `heapsim record (${tc.version} runtime recorder)`): string {
  const thp = hostThpMode();
  const lines = [
    '# heapsim-trace v1',
    `# source=${source}`,
    `# page_size=${meta.pageSize}`,
    `# gogc=${meta.gogc < 0 ? 'off' : meta.gogc}`,
    `# gomaxprocs=${meta.gomaxprocs}`,
    `# go_version=${tc.version}`,
    `# memory_limit=${meta.memoryLimitBytes === null ? 'off' : meta.memoryLimitBytes}`,
    ...(thp === null ? [] : [`# thp=${thp}`]),
    `# program=${program.replace(/[\r\n]+/g, ' ')}`,
    `# recorded_on=${new Date().toISOString().slice(0, 10)} ${tc.goos}/${tc.goarch}, ${cpus().length} CPUs`,
    'time,op,id,pages,bytes,p,addr,huge',
  ];
  return lines.join('\n') + '\n';
}

/** Writes the trace from the recording, gzip-compressed when the name ends in .gz. */
async function writeTrace(path: string, head: string, recording: Recording): Promise<DecodeSummary> {
  const out = openOutput(path);
  const summary = recording.newSummary();
  try {
    if (path.endsWith('.gz')) await writeGzip(out, head, recording.chunks(summary));
    else writePlain(out, head, recording.chunks(summary));
    out.commitSync();
  } catch (err) {
    out.abort();
    throw err;
  }
  return summary;
}

function writePlain(out: OutputFile, head: string, chunks: Iterable<string>): void {
  out.write(head);
  for (const text of chunks) out.write(text);
}

/** Compresses the chunks into `out`, waiting for the compressor when it falls behind. */
async function writeGzip(out: OutputFile, head: string, chunks: Iterable<string>): Promise<void> {
  const gz = createGzip();
  gz.on('data', (chunk: Buffer) => out.write(chunk));
  const ended = once(gz, 'end');
  gz.write(head);
  for (const text of chunks) if (!gz.write(text)) await once(gz, 'drain');
  gz.end();
  await ended;
}

/** Records a program: build, run, decode. Throws RecordError (exit 2) when it cannot. */
export async function record(options: RecordOptions): Promise<RecordResult> {
  if ((options.test === undefined) === (options.target === undefined))
    throw new RecordError('give a program to record (-- TARGET [ARGS...]) or --test PKG, not both');
  checkOutputPlan({ inputs: [], outputs: [{ flag: '-o', path: options.output }] });
  checkReplaceable(options.output, options.force === true, '-o');
  const tc = detectToolchain(options.go);
  const dir = mkdtempSync(join(tmpdir(), 'heapsim-record-'));
  // The directory goes whatever ends the process: an exit (a signal handler's included)
  // removes it too. While building, a signal ends heapsim (go build gets a terminal's too);
  // while the program runs, signals are the program's (run()).
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.on('exit', removeDir);
  try {
    options.onStep?.(`building ${options.test ?? options.target} with ${tc.version} and the recorder`);
    const { binary, runDir } = whileBuilding(() => build(tc, options, dir));
    const rawPath = join(dir, 'recording.bin');
    const env: NodeJS.ProcessEnv = { ...process.env, HEAPSIM_RECORD_FILE: rawPath };
    if (options.gogc !== undefined) env.GOGC = options.gogc;
    if (options.gomemlimit !== undefined) env.GOMEMLIMIT = options.gomemlimit;
    const args = options.test !== undefined ? testBinaryArgs(options.args) : options.args;
    const program = [options.test !== undefined ? `go test ${options.test}` : options.target, ...options.args].join(' ');
    options.onStep?.(`running ${program}`);
    const { status, signal } = await run(binary, args, env, runDir, options.stdio ?? 'inherit');
    const recording = Recording.open(rawPath);
    try {
      const summary = await writeTrace(options.output, traceHead(tc, recording.meta, program), recording);
      return { output: options.output, program, toolchain: tc, meta: recording.meta, summary, exitStatus: status, signal };
    } finally {
      recording.close();
    }
  } finally {
    removeDir();
    process.off('exit', removeDir);
  }
}

/** Exit codes a shell reports for a process killed by these signals (128 + number). */
const BUILD_SIGNALS: ReadonlyArray<[NodeJS.Signals, number]> = [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
];

/** The build was stopped by a signal (a terminal's Ctrl-C reaches go build too): heapsim exits as a shell reports it. */
class BuildInterrupted extends RecordError {
  override readonly exitCode: number;
  constructor(what: string, signal: NodeJS.Signals) {
    super(`${what} was interrupted (${signal}); nothing was recorded`);
    this.exitCode = 128 + (osConstants.signals[signal] ?? 0);
  }
}

/**
 * Runs the (synchronous) build with handlers that end heapsim on a signal sent to it
 * alone, through its exit listeners (which remove the build directory); one the build got
 * too ends it, and goRun says so.
 */
function whileBuilding<T>(build: () => T): T {
  const handlers = BUILD_SIGNALS.map(([signal, code]): [NodeJS.Signals, () => void] => [signal, () => process.exit(code)]);
  for (const [signal, h] of handlers) process.on(signal, h);
  try {
    return build();
  } finally {
    for (const [signal, h] of handlers) process.off(signal, h);
  }
}
