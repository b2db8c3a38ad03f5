// A seeded mutation fuzzer over real traces: `npm run fuzz [-- --minutes 10]`.
//
// Each case takes a slice of a bundled trace, applies a few random mutations (bytes
// flipped, lines dropped, duplicated or swapped, cells replaced by hostile values: huge
// and negative numbers, quotes, lone CRs, NULs, invalid UTF-8, absurd page sizes and P
// numbers), and replays it on a random backend with --check (every invariant after every
// operation). A case passes when it ends the way heapsim promises: a result (exit 0, or
// 1 for a simulated out-of-memory) or a user-facing HeapsimError with a located message
// (exit 2) — within a time bound. Anything else (an exception that is not a
// HeapsimError, an invariant violation, a case over the time bound) is a finding: its
// bytes are written to the findings directory as a reproducer.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeapsimError, backends, replayFile } from '../src/index.js';
import { mulberry32u } from '../src/util/rng.js';

/** The slice of a trace a case starts from: a few hundred rows keep each case fast. */
const MAX_BASE_LINES = 400;

const HOSTILE_CELLS = [
  '',
  '-1',
  '0',
  '1e9',
  '2147483647',
  '2147483648',
  '17179869184',
  '1099511627776',
  '9007199254740993',
  '18446744073709551616',
  '0x',
  '0xffffffffffff',
  '0x1000000000000',
  'NaN',
  '"',
  'a"b',
  '\r',
  '\0',
  '\uFFFD',
  'x'.repeat(300),
  '1.5',
  '+4',
  ' 4',
  'alloc',
  'free',
  'rss',
  'scavenge',
];

const HOSTILE_META = [
  '# page_size=2097152',
  '# page_size=4096',
  '# page_size=3000',
  '# gogc=off',
  '# gomaxprocs=0',
  '# gomaxprocs=2147483647',
  '# memory_limit=1',
  '# go_version=go1.19.8',
  '# memory_limit=-5',
];

export type Verdict = 'result' | 'oom' | 'user-error' | 'bug' | 'slow';

export interface CaseOutcome {
  verdict: Verdict;
  message: string;
  ms: number;
}

/** One mutation of a trace's lines (or, for byte-level ones, its bytes). */
function mutateOnce(next: () => number, lines: string[]): void {
  const pick = (n: number) => next() % Math.max(1, n);
  const i = pick(lines.length);
  const cells = (lines[i] ?? '').split(',');
  switch (pick(9)) {
    case 0:
      lines.splice(i, 1);
      break;
    case 1:
      lines.splice(i, 0, lines[pick(lines.length)] ?? '');
      break;
    case 2: {
      const j = pick(lines.length);
      [lines[i], lines[j]] = [lines[j], lines[i]];
      break;
    }
    case 3:
    case 4:
    case 5:
      cells[pick(cells.length)] = HOSTILE_CELLS[pick(HOSTILE_CELLS.length)];
      lines[i] = cells.join(',');
      break;
    case 6:
      lines.splice(pick(Math.min(lines.length, 3)), 0, HOSTILE_META[pick(HOSTILE_META.length)]);
      break;
    case 7:
      lines[i] = cells.slice(0, pick(cells.length + 1)).join(',');
      break;
    default:
      lines[i] = cells.concat(HOSTILE_CELLS[pick(HOSTILE_CELLS.length)]).join(',');
  }
}

/** Byte-level damage: a flipped byte, a truncation, or invalid UTF-8. */
function damageBytes(next: () => number, bytes: Buffer): Buffer {
  const at = next() % Math.max(1, bytes.length);
  switch (next() % 4) {
    case 0: {
      const out = Buffer.from(bytes);
      out[at] ^= 1 << (next() % 8);
      return out;
    }
    case 1:
      return bytes.subarray(0, at);
    case 2:
      return Buffer.concat([bytes.subarray(0, at), Buffer.from([0xc3, 0x28]), bytes.subarray(at)]);
    default:
      return bytes;
  }
}

/** A mutated trace from `base` (its text), reproducible from the generator's state. */
export function mutate(next: () => number, base: string): Buffer {
  const lines = base.split('\n').slice(0, MAX_BASE_LINES);
  const n = 1 + (next() % 4);
  for (let k = 0; k < n; k++) mutateOnce(next, lines);
  const text = Buffer.from(lines.join(next() % 5 === 0 ? '\r\n' : '\n') + '\n');
  return next() % 4 === 0 ? damageBytes(next, text) : text;
}

/** Replays one case in this process and says how it ended. */
export async function runCase(path: string, backend: string, limitMs: number): Promise<CaseOutcome> {
  const t0 = performance.now();
  const ms = () => performance.now() - t0;
  try {
    const r = await replayFile(path, { backend, check: true, timing: false });
    const verdict: Verdict = ms() > limitMs ? 'slow' : r.outcome === 'oom' ? 'oom' : 'result';
    return { verdict, message: r.oom?.message ?? '', ms: ms() };
  } catch (err) {
    if (err instanceof HeapsimError) return { verdict: ms() > limitMs ? 'slow' : 'user-error', message: err.message, ms: ms() };
    return { verdict: 'bug', message: err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err), ms: ms() };
  }
}

export interface FuzzReport {
  cases: number;
  byVerdict: Record<Verdict, number>;
  findings: { seed: number; backend: string; verdict: Verdict; message: string; file: string }[];
}

/** Runs cases from `seed` until `until()` says stop; reproducers of findings go to `findingsDir`. */
export async function fuzz(traces: string[], seed: number, until: (cases: number) => boolean, findingsDir: string, limitMs = 5000): Promise<FuzzReport> {
  const bases = traces.map((t) => readFileSync(t, 'utf8'));
  const names = backends().map((b) => b.name);
  const dir = mkdtempSync(join(tmpdir(), 'heapsim-fuzz-'));
  const report: FuzzReport = { cases: 0, byVerdict: { result: 0, oom: 0, 'user-error': 0, bug: 0, slow: 0 }, findings: [] };
  try {
    for (let s = seed; !until(report.cases); s++) {
      const next = mulberry32u(s);
      const bytes = mutate(next, bases[next() % bases.length]);
      const backend = names[next() % names.length];
      const path = join(dir, 'case.csv');
      writeFileSync(path, bytes);
      const out = await runCase(path, backend, limitMs);
      report.cases++;
      report.byVerdict[out.verdict]++;
      if (out.verdict === 'bug' || out.verdict === 'slow') {
        mkdirSync(findingsDir, { recursive: true });
        const file = join(findingsDir, `seed-${s}-${backend}.csv`);
        writeFileSync(file, bytes);
        report.findings.push({ seed: s, backend, verdict: out.verdict, message: out.message.split('\n')[0], file });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return report;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string, dflt: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const minutes = arg('--minutes', 10);
  const seed = arg('--seed', 1);
  const traces = ['traces/go1-Gob.csv', 'traces/go1-Revcomp.csv', 'traces/go1-Template.csv'];
  const end = Date.now() + minutes * 60e3;
  let lastPrint = Date.now();
  const report = await fuzz(
    traces,
    seed,
    (n) => {
      if (Date.now() - lastPrint > 10e3) {
        lastPrint = Date.now();
        process.stderr.write(`fuzz: ${n} cases\n`);
      }
      return Date.now() >= end;
    },
    'fuzz-findings',
  );
  process.stdout.write(`fuzz: ${report.cases} cases in ${minutes} min from seed ${seed}: ${JSON.stringify(report.byVerdict)}\n`);
  for (const f of report.findings) process.stdout.write(`  ${f.verdict} seed ${f.seed} on ${f.backend}: ${f.message} (${f.file})\n`);
  process.exitCode = report.findings.length > 0 ? 1 : 0;
}

if (process.argv[1]?.endsWith('fuzz.js')) await main();
