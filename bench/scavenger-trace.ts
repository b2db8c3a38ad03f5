// The real Go 1.19 scavenger's decisions beside the go1.19 policy's (issue 13). Two
// commands:
//
//   node dist/bench/scavenger-trace.js record [--no-batch-rss] -o OUT.csv.gz -- PROGRAM [ARGS...]
//   node dist/bench/scavenger-trace.js compare OUT.csv.gz [LOG]
//
// record builds PROGRAM (a main package directory) as `heapsim record` does, with heapsim's
// recorder overlaid on the runtime, plus debug output at the scavenger's decision points
// (bench/scavenger-debug/sites.json, calls in heapsim_debug.go); runs it with its
// standard error going to OUT.csv.gz.log; writes the trace to OUT.csv.gz. --no-batch-rss
// leaves out the recorder's rss sample after each background batch (taken on the
// scavenger's goroutine: mincore alone, 0.1-0.4 ms; until 2026-11-24 it also read
// AnonHugePages, which held the scavenger 3-6 ms, and a wake-up meanwhile found it
// running); the trace then has no rss row after a batch. The debug lines
// share the trace's clock. They are, "SCV <ns> <event> <a> <b> <c> <d>":
//   wake P          scavengerState.wake (P: it was parked or asleep)
//   timer           the sleep's timer fired (wake follows)
//   gcwake          sweep termination at a cycle's start (finishsweep_m) wakes it
//   ready           the sweep is done: sysmon is asked to wake it
//   sysmonwake      sysmon wakes it;  sysmondeep NS FLAG / sysmonup: sysmon sleeps NS
//                   through an idle program with the wake-up flag FLAG set, and is up again
//   run R G U       a batch starts: heapRetained, gcPercent goal, heapInUse
//   call B NS       one scavenge call: bytes, measured duration
//   stopgoal / stopshort / runend _ W B   why a batch stopped; its work (ns) and bytes
//   slept NS ASK W  a sleep lasted NS, asked ASK, after W of work; ratio R CPU: controller
//   park            parked after a batch that released nothing
//   pace H L U R / pacegoal G   gcPaceScavenger's inputs and the goal it computed
//   allocscav B G   scavenging on the allocation path (bytes asked, heap growth)
//   gcstart K L T G RW   a cycle starts: trigger kind (0 heap, 2 runtime.GC), heapLive,
//                   trigger, goal, runway
// compare prints the real batches (from the log: start, what woke the scavenger, work,
// bytes) and the go1.19 policy's (a replay of the trace on the bitmap backend, THP
// `madvise`: its background releases, grouped into batches), in time order.
//
// Invariants: nothing of the runtime is stored here (the sites are anchors, as the
// recorder's); the build directory is removed; the outputs go through src/io/outputs.ts.

import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { applySites, readSites, writeOverlay } from '../src/record/overlay.js';
import { detectToolchain, type Toolchain } from '../src/record/toolchain.js';
import { traceHead } from '../src/record/record.js';
import { Recording } from '../src/record/decode.js';
import { writeOutputFile } from '../src/io/outputs.js';
import { loadTrace, replayLoaded, type Meter, type ReleaseRecord } from '../src/index.js';
import { RECORDING_THP } from './release-fidelity.js';

const DEBUG_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'scavenger-debug');

/** The recorder's call after each background batch, as src/record/overlay.ts places it. */
const BATCH_RSS_CALL = '; if released > 0 { heapsimRSS(false) }';

/** The recorder's overlay, then the debug sites on top of it (on the recorder's copies where it made one). */
function debugOverlay(tc: Toolchain, dir: string, batchRss: boolean): string {
  const overlayPath = writeOverlay(tc, dir);
  const overlay = JSON.parse(readFileSync(overlayPath, 'utf8')) as { Replace: Record<string, string> };
  const spec = readSites(DEBUG_DIR);
  const runtimeDir = join(tc.goroot, 'src', 'runtime');
  for (const file of new Set(spec.sites.map((s) => s.file))) {
    const original = join(runtimeDir, file);
    let text = readFileSync(overlay.Replace[original] ?? original, 'utf8');
    if (!batchRss && file === 'mgcscavenge.go') {
      if (text.split(BATCH_RSS_CALL).length !== 2) throw new Error(`the recorder's batch rss call is not in its ${file}`);
      text = text.replace(BATCH_RSS_CALL, '');
    }
    const out = join(dir, `debug-${file}`);
    writeFileSync(
      out,
      applySites(
        tc,
        text,
        spec.sites.filter((s) => s.file === file),
      ),
    );
    overlay.Replace[original] = out;
  }
  overlay.Replace[join(runtimeDir, spec.recorder)] = join(DEBUG_DIR, spec.recorder);
  writeFileSync(overlayPath, JSON.stringify(overlay));
  return overlayPath;
}

function record(out: string, program: string, args: string[], batchRss: boolean): void {
  const tc = detectToolchain();
  const dir = mkdtempSync(join(tmpdir(), 'heapsim-scavenger-trace-'));
  try {
    const overlay = debugOverlay(tc, dir, batchRss);
    const binary = join(dir, 'program');
    const b = spawnSync(tc.go, ['build', '-overlay', overlay, '-o', binary, '.'], { cwd: resolve(program), encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`go build ${program} failed:\n${b.stderr}`);
    const raw = join(dir, 'recording.bin');
    const logPath = join(dir, 'stderr.log');
    const logFd = openSync(logPath, 'w');
    try {
      spawnSync(binary, args, { env: { ...process.env, HEAPSIM_RECORD_FILE: raw }, stdio: ['ignore', 'inherit', logFd] });
    } finally {
      closeSync(logFd);
    }
    const recording = Recording.open(raw);
    try {
      const source = `bench/scavenger-trace.ts (${tc.version} runtime recorder with scavenger debug output)`;
      const head = traceHead(tc, recording.meta, `${[program, ...args].join(' ')}${batchRss ? '' : ' (no rss sample after background batches)'}`, source);
      const summary = recording.newSummary();
      const rows = [head, ...recording.chunks(summary)].join('');
      writeOutputFile(out, out.endsWith('.gz') ? gzipSync(rows) : rows);
      writeOutputFile(`${out}.log`, readFileSync(logPath));
      console.log(`wrote ${out} (${summary.events} events, ${(summary.releasedBytes / 2 ** 20).toFixed(1)} MiB released) and ${out}.log`);
    } finally {
      recording.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One batch: when it started, what woke it, its work and bytes. */
export interface Batch {
  startNs: number;
  cause: string;
  workedNs: number;
  bytes: number;
}

/** The real batches that released something, from a debug log. */
export function realBatches(log: string): Batch[] {
  const out: Batch[] = [];
  let cause = 'start';
  let start = NaN;
  for (const line of log.split('\n')) {
    const f = line.split(' ');
    if (f[0] !== 'SCV') continue;
    const [t, ev] = [Number(f[1]), f[2]];
    if (ev === 'timer' || ev === 'gcwake' || ev === 'sysmonwake') cause = ev;
    else if (ev === 'run') start = t;
    else if (ev === 'runend') {
      if (Number(f[5]) > 0) out.push({ startNs: start, cause, workedNs: Number(f[4]), bytes: Number(f[5]) });
      cause = 'none';
    }
  }
  return out;
}

class BatchMeter implements Meter {
  readonly batches: Batch[] = [];
  private lastNs = -Infinity;
  release(r: ReleaseRecord): void {
    if (r.trigger !== 'background' || r.bytes <= 0) return;
    const last = this.batches[this.batches.length - 1];
    // Calls of one batch follow each other with no gap: a batch is a run of calls under 0.5 ms apart.
    if (last !== undefined && r.time - this.lastNs < 0.5e6) last.bytes += r.bytes;
    else this.batches.push({ startNs: r.time, cause: 'model', workedNs: NaN, bytes: r.bytes });
    this.lastNs = r.time;
  }
  contribute(): void {}
}

/** The go1.19 policy's batches on a trace. */
export async function modelBatches(tracePath: string): Promise<Batch[]> {
  const trace = await loadTrace(tracePath);
  let meter: BatchMeter | undefined;
  replayLoaded(trace, { policy: 'go1.19', thp: RECORDING_THP, timing: false, meters: [() => (meter = new BatchMeter())] });
  return meter?.batches ?? [];
}

async function compare(tracePath: string, logPath: string): Promise<void> {
  const raw = readFileSync(logPath);
  const real = realBatches((logPath.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8'));
  const model = await modelBatches(tracePath);
  const rows = [...real.map((b) => ({ b, side: 'go  ' })), ...model.map((b) => ({ b, side: 'model' }))].sort((x, y) => x.b.startNs - y.b.startNs);
  const mib = (n: number) => (n / 2 ** 20).toFixed(2).padStart(7);
  for (const { b, side } of rows) {
    const work = Number.isNaN(b.workedNs) ? '' : ` ${(b.workedNs / 1e6).toFixed(3)} ms work`;
    console.log(`${(b.startNs / 1e6).toFixed(3).padStart(10)} ms  ${side}  ${mib(b.bytes)} MiB  ${b.cause}${work}`);
  }
  const sum = (bs: Batch[]) => bs.reduce((s, b) => s + b.bytes, 0);
  console.log(`go: ${real.length} batches, ${mib(sum(real))} MiB; model: ${model.length} batches, ${mib(sum(model))} MiB`);
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (cmd === 'record') {
    const o = rest.indexOf('-o');
    const dash = rest.indexOf('--');
    if (o < 0 || dash < 0 || dash + 1 >= rest.length) throw new Error('usage: scavenger-trace.js record [--no-batch-rss] -o OUT.csv.gz -- PROGRAM [ARGS...]');
    record(rest[o + 1], rest[dash + 1], rest.slice(dash + 2), !rest.slice(0, dash).includes('--no-batch-rss'));
  } else if (cmd === 'compare' && rest.length >= 1) {
    await compare(rest[0], rest[1] ?? `${rest[0]}.log`);
  } else {
    throw new Error('usage: scavenger-trace.js record [--no-batch-rss] -o OUT.csv.gz -- PROGRAM [ARGS...] | compare TRACE [LOG]');
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error((err as Error).message);
    process.exit(2);
  });
}
