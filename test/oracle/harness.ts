// The differential harness: the same op stream through the real Go 1.19 pageAlloc (the
// oracle, heapsim_oracle_test.go run by `go test -overlay` inside Go's own runtime
// package) and through heapsim's bitmap backend, compared decision by decision.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SimOS } from '../../src/index.js';
import { BitmapHeap } from '../../src/heap/bitmap/index.js';
import { OFFSET } from '../../src/heap/bitmap/addr-ranges.js';
import { mulberry32 } from '../../src/util/rng.js';

/** The Go sources of the oracle (also when this file runs compiled, from dist/). */
const HERE = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dir !== dirname(dir)) dir = dirname(dir);
  return join(dir, 'test', 'oracle');
})();

/** The Go 1.19 toolchain Debian's golang-1.19-go installs. */
export const GO = process.env.HEAPSIM_GO ?? '/usr/lib/go-1.19/bin/go';

export function goAvailable(): boolean {
  if (!existsSync(GO)) return false;
  try {
    return execFileSync(GO, ['version'], { encoding: 'utf8' }).includes('go1.19');
  } catch {
    return false;
  }
}

export interface OracleRun {
  lines: string[];
  hugePageBytes: number;
  busyNs: number;
}

/**
 * The `go test -overlay` file map: heapsim's two oracle files placed in the runtime
 * package, and every other external test file of the runtime (package runtime_test)
 * deleted (an empty replacement), so `go test` builds only the oracle's test binary. The
 * runtime's own tests import much of the standard library, all of it rebuilt against the
 * test build of the runtime: on a cold build cache that took ~32 s of CPU, the oracle's
 * binary alone ~18 s (and each warm run 0.7 s, against 0.5 s). The in-package test files
 * (export_test.go and the like, package runtime) stay: the oracle uses them.
 */
function oracleOverlay(goroot: string): Record<string, string> {
  const runtimeDir = join(goroot, 'src', 'runtime');
  const replace: Record<string, string> = {};
  for (const f of readdirSync(runtimeDir)) {
    if (f.endsWith('_test.go') && /^package runtime_test\b/m.test(readFileSync(join(runtimeDir, f), 'utf8'))) replace[join(runtimeDir, f)] = '';
  }
  replace[join(runtimeDir, 'export_heapsim_test.go')] = join(HERE, 'export_heapsim_test.go');
  replace[join(runtimeDir, 'heapsim_oracle_test.go')] = join(HERE, 'heapsim_oracle_test.go');
  replace[join(runtimeDir, 'heapsim_scavenger_test.go')] = join(HERE, 'heapsim_scavenger_test.go');
  return replace;
}

/** Runs one oracle test (`-run ^NAME$`) in the runtime package with `env` added; throws if it fails. */
function goTest(dir: string, name: string, env: NodeJS.ProcessEnv): void {
  const goroot = execFileSync(GO, ['env', 'GOROOT'], { encoding: 'utf8' }).trim();
  writeFileSync(join(dir, 'overlay.json'), JSON.stringify({ Replace: oracleOverlay(goroot) }));
  const r = spawnSync(GO, ['test', '-vet=off', '-overlay', join(dir, 'overlay.json'), '-run', `^${name}$`, '-count=1', 'runtime'], {
    env: { ...process.env, GOFLAGS: '', GOCACHE: process.env.GOCACHE ?? join(tmpdir(), 'heapsim-gocache'), ...env },
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`go test failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
}

/**
 * Runs a pacing script (heapsim_scavenger_test.go's directives) through the real
 * scavengerState and piController; returns the physical page size and the decision lines.
 */
export function runPacingOracle(script: string): { physPageBytes: number; lines: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'heapsim-pacing-'));
  try {
    writeFileSync(join(dir, 'in.txt'), script);
    goTest(dir, 'TestHeapsimPacing', { HEAPSIM_PACING_IN: join(dir, 'in.txt'), HEAPSIM_PACING_OUT: join(dir, 'out.txt') });
    const out = readFileSync(join(dir, 'out.txt'), 'utf8').trimEnd().split('\n');
    return { physPageBytes: Number(/^# physpage (\d+)/.exec(out[0])?.[1] ?? NaN), lines: out.slice(1) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs an op stream through the real runtime's page allocator. */
export function runOracle(ops: string, state = false, bench = false): OracleRun {
  const dir = mkdtempSync(join(tmpdir(), 'heapsim-oracle-'));
  writeFileSync(join(dir, 'ops.txt'), ops);
  const env: NodeJS.ProcessEnv = { HEAPSIM_ORACLE_IN: join(dir, 'ops.txt'), HEAPSIM_ORACLE_OUT: join(dir, 'out.txt') };
  // Set or removed: an inherited value must not switch a mode on.
  env.HEAPSIM_ORACLE_STATE = state ? '1' : undefined;
  env.HEAPSIM_ORACLE_BENCH = bench ? '1' : undefined;
  let out: string[];
  try {
    goTest(dir, 'TestHeapsimOracle', env);
    out = readFileSync(join(dir, 'out.txt'), 'utf8').trimEnd().split('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const huge = Number(/^# hugepage (\d+)/.exec(out[0])?.[1] ?? NaN);
  const busy = Number(/(?:busyNs|benchNs)=(\d+)/.exec(out[out.length - 1])?.[1] ?? NaN);
  return { lines: out.slice(1, -1), hugePageBytes: huge, busyNs: busy };
}

const hex = (o: number): string => {
  // An offset address printed as Go prints the uintptr: below the offset, it wraps.
  const a = o - OFFSET;
  return '0x' + (a < 0 ? (BigInt(a) + (1n << 64n)).toString(16) : a.toString(16));
};

export interface HeapsimRun {
  lines: string[];
  busyNs: number;
}

/** Runs the same op stream through heapsim's bitmap backend. */
export function runHeapsim(ops: string, hugePageBytes: number, state = false): HeapsimRun {
  const heap = new BitmapHeap({ os: new SimOS(), pageBytes: 8192, seed: 1 }, hugePageBytes);
  const spans: [number, number][] = [];
  const lines: string[] = [];
  let busy = 0;
  for (const text of ops.split('\n')) {
    if (text === '') continue;
    const f = text.split(' ');
    let out: string;
    const t0 = performance.now();
    switch (f[0]) {
      case 'a': {
        const base = heap.alloc(Number(f[1]), Number(f[2]));
        busy += performance.now() - t0;
        spans.push([base, Number(f[1])]);
        out = `a 0x${base.toString(16)} ${heap.lastScavengedPages * 8192}`;
        break;
      }
      case 'f': {
        const [base, n] = spans[Number(f[1])];
        const t1 = performance.now();
        heap.free(base, n);
        busy += performance.now() - t1;
        out = 'f';
        break;
      }
      case 's':
        out = `s ${heap.release(Number(f[1]))}`;
        busy += performance.now() - t0;
        break;
      case 'c':
        heap.flushCache(Number(f[1]));
        busy += performance.now() - t0;
        out = 'c';
        break;
      default:
        throw new Error(`unknown op ${text}`);
    }
    if (state) {
      const raw = heap.pages.scav.searchRaw;
      out += ` search=${hex(heap.pages.searchAddr)} scav=${hex(Math.abs(raw))} marked=${raw < 0}`;
    }
    lines.push(out);
  }
  return { lines, busyNs: Math.round(busy * 1e6) };
}

/** Times heapsim's bitmap backend over pre-parsed ops, one loop, no per-op timers. */
export function benchHeapsim(ops: string, hugePageBytes: number): number {
  const kinds: string[] = [];
  const args: number[] = [];
  const ps: number[] = [];
  for (const text of ops.split('\n')) {
    if (text === '') continue;
    const f = text.split(' ');
    kinds.push(f[0]);
    args.push(Number(f[1]));
    ps.push(f[0] === 'a' ? Number(f[2]) : 0);
  }
  const heap = new BitmapHeap({ os: new SimOS(), pageBytes: 8192, seed: 1 }, hugePageBytes);
  const bases = new Float64Array(kinds.length);
  const sizes = new Float64Array(kinds.length);
  let n = 0;
  const t0 = performance.now();
  for (let i = 0; i < kinds.length; i++) {
    switch (kinds[i]) {
      case 'a':
        bases[n] = heap.alloc(args[i], ps[i]);
        sizes[n++] = args[i];
        break;
      case 'f':
        heap.free(bases[args[i]], sizes[args[i]]);
        break;
      case 's':
        heap.release(args[i]);
        break;
      default:
        heap.flushCache(args[i]);
    }
  }
  return Math.round((performance.now() - t0) * 1e6);
}

/** A deterministic random op stream exercising every path of the page allocator. */
export function randomOps(seed: number, n: number): string {
  const rand = mulberry32(seed);
  const pick = (k: number): number => Math.floor(rand() * k);
  const out: string[] = [];
  const live: number[] = [];
  let allocs = 0;
  const releases = [8192, 12345, 65536, 65536, 65536, 1 << 20, 4 << 20, 64 << 20, -1];
  for (let i = 0; i < n; i++) {
    const r = rand();
    const crowded = live.length > 4000;
    if ((r < 0.6 && !crowded) || live.length === 0) {
      const k = rand();
      const npages =
        k < 0.5 ? 1 : k < 0.72 ? 2 + pick(14) : k < 0.84 ? 16 + pick(49) : k < 0.93 ? 65 + pick(447) : k < 0.985 ? 512 + pick(1537) : 2049 + pick(8000);
      const p = rand() < 0.75 ? pick(4) : -1;
      out.push(`a ${npages} ${p}`);
      live.push(allocs++);
    } else if (r < 0.96) {
      const j = pick(live.length);
      out.push(`f ${live[j]}`);
      live[j] = live[live.length - 1];
      live.pop();
    } else if (r < 0.99) {
      out.push(`s ${releases[pick(releases.length)]}`);
    } else {
      out.push(`c ${pick(4)}`);
    }
  }
  return out.join('\n') + '\n';
}

/** What an op stream made the real allocator do, from its decision lines. */
export interface StreamCoverage {
  /** Allocations that got back pages the scavenger had released. */
  scavengedAllocs: number;
  /** Release requests that freed something. */
  freeingReleases: number;
  /** Page-cache flushes. */
  flushes: number;
  /** The highest span base, in MiB above the first arena hint (0xc000000000). */
  topMiB: number;
}

export function streamCoverage(lines: string[]): StreamCoverage {
  const c: StreamCoverage = { scavengedAllocs: 0, freeingReleases: 0, flushes: 0, topMiB: 0 };
  for (const line of lines) {
    const f = line.split(' ');
    if (f[0] === 'a') {
      if (f[2] !== '0') c.scavengedAllocs++;
      c.topMiB = Math.max(c.topMiB, (Number(f[1]) - 0xc000000000) / 2 ** 20);
    } else if (f[0] === 's' && f[1] !== '0') c.freeingReleases++;
    else if (f[0] === 'c') c.flushes++;
  }
  return c;
}

/** The first line where two decision lists differ, with the ops around it; null if equal. */
export function firstDifference(ops: string, want: string[], got: string[]): string | null {
  const opLines = ops.trimEnd().split('\n');
  const n = Math.max(want.length, got.length);
  for (let i = 0; i < n; i++) {
    if (want[i] === got[i]) continue;
    const from = Math.max(0, i - 5);
    const context = opLines
      .slice(from, i + 1)
      .map((op, k) => `  op ${from + k}: ${op.padEnd(14)} go: ${want[from + k] ?? '(none)'}   heapsim: ${got[from + k] ?? '(none)'}`)
      .join('\n');
    return `first differing decision at op ${i} (${opLines[i]}):\n${context}`;
  }
  return null;
}
