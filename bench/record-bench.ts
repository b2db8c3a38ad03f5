// The recorder's overhead (bench.ts section 10, BENCH_ONLY=record): each Go fixture in
// testdata/ built twice with the same toolchain, once plainly and once with heapsim's
// recorder overlaid on its runtime, then run alternately (RECORD_BENCH_RUNS times each,
// default 5). Reported: median wall time and median CPU time (user + system, from the
// shell's `times`) of each build, their ratios, and the events recorded per second of
// wall time. The fixtures sleep on purpose (to let the scavenger work), so the wall ratio
// understates the cost; the CPU ratio is the one to read. Prints; asserts nothing.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectToolchain, Recording, writeOverlay, type Toolchain } from '../src/index.js';
import { GO, goAvailable } from '../test/oracle/harness.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const FIXTURES = ['spike', 'fragmenter', 'freeos', 'partial'];
const RUNS = Number(process.env.RECORD_BENCH_RUNS ?? 5);

interface Run {
  wallMs: number;
  cpuMs: number;
}

/** `times` prints the shell's and then its children's user and system time, as 0m1.234s. */
function childCpuMs(timesOutput: string): number {
  const last = timesOutput.trim().split('\n').pop() ?? '';
  const secs = [...last.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return (secs[0] + secs[1]) * 1000;
}

/** Runs a binary under sh, its output discarded; wall time here, CPU time from `times`. */
function runOnce(binary: string, env: NodeJS.ProcessEnv): Run {
  const t0 = performance.now();
  const r = spawnSync('sh', ['-c', '"$0" >/dev/null 2>&1; times', binary], { env, encoding: 'utf8' });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${binary} failed: ${r.stderr}`);
  return { wallMs, cpuMs: childCpuMs(r.stdout) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function buildBoth(tc: Toolchain, fixture: string, dir: string): { plain: string; recorded: string } {
  const overlay = writeOverlay(tc, dir);
  const cwd = join(ROOT, 'testdata', fixture);
  const plain = join(dir, `${fixture}-plain`);
  const recorded = join(dir, `${fixture}-recorded`);
  execFileSync(tc.go, ['build', '-o', plain, '.'], { cwd, stdio: 'inherit' });
  execFileSync(tc.go, ['build', '-overlay', overlay, '-o', recorded, '.'], { cwd, stdio: 'inherit' });
  return { plain, recorded };
}

function benchFixture(tc: Toolchain, fixture: string, dir: string): void {
  const { plain, recorded } = buildBoth(tc, fixture, dir);
  const plainRuns: Run[] = [];
  const recordedRuns: Run[] = [];
  let events = 0;
  for (let i = 0; i < RUNS; i++) {
    plainRuns.push(runOnce(plain, process.env));
    const file = join(dir, `${fixture}-${i}.bin`);
    recordedRuns.push(runOnce(recorded, { ...process.env, HEAPSIM_RECORD_FILE: file }));
    const rec = Recording.open(file);
    events = rec.records;
    rec.close();
  }
  const pw = median(plainRuns.map((r) => r.wallMs));
  const rw = median(recordedRuns.map((r) => r.wallMs));
  const pc = median(plainRuns.map((r) => r.cpuMs));
  const rc = median(recordedRuns.map((r) => r.cpuMs));
  console.log(
    `   ${fixture.padEnd(11)} wall ${pw.toFixed(0).padStart(5)} -> ${rw.toFixed(0).padStart(5)} ms (${(rw / pw).toFixed(2)}x)` +
      `   CPU ${pc.toFixed(0).padStart(5)} -> ${rc.toFixed(0).padStart(5)} ms (${(rc / pc).toFixed(2)}x)` +
      `   ${events} records, ${((events / rw) * 1000).toFixed(0)}/s`,
  );
}

export function recordBench(): void {
  console.log(`\n10. heapsim record's overhead: each fixture plain vs recorded, median of ${RUNS} alternating runs (wall, and the child's user+sys CPU)`);
  if (!goAvailable()) {
    console.log(`   skipped: ${GO} is not installed (apt-get install golang-1.19-go)`);
    return;
  }
  const tc = detectToolchain(GO);
  const dir = mkdtempSync(join(tmpdir(), 'heapsim-record-bench-'));
  try {
    for (const fixture of FIXTURES) benchFixture(tc, fixture, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
