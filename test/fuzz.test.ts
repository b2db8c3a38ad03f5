// The mutation fuzzer (bench/fuzz.ts) in small: seeded mutations of real traces must end
// in a result, a simulated out-of-memory or a located user error — never an exception
// escaping as a bug, an invariant violation, or a case over the time bound. Also run
// through the CLI: exit 0, 1 or 2 with at most a few lines of stderr (10 cases; 30 under
// HEAPSIM_CHECK_ALL=1, `npm run test:exhaustive`). `npm run fuzz` runs the same for minutes.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fuzz, mutate } from '../bench/fuzz.js';
import { mulberry32u } from '../src/util/rng.js';
import { CHECK_ALL, tempDir } from './helpers.js';

const TRACES = ['traces/go1-Gob.csv', 'traces/go1-Revcomp.csv', 'traces/go1-Template.csv'];

test('300 mutated traces in-process: every case ends as promised', async () => {
  const findings = mkdtempSync(join(tmpdir(), 'heapsim-fuzz-findings-'));
  const report = await fuzz(TRACES, 1, (n) => n >= 300, findings, 10_000);
  // A finding's reproducer stays in its directory (the failure names it); none, and it goes.
  if (report.findings.length === 0) rmSync(findings, { recursive: true, force: true });
  expect(report.findings).toEqual([]);
  expect(report.cases).toBe(300);
  // The mutations reach every outcome a user can see, not just one of them.
  expect(report.byVerdict['user-error']).toBeGreaterThan(0);
  expect(report.byVerdict.result).toBeGreaterThan(0);
});

test('mutations are reproducible from their seed', () => {
  const base = readFileSync(TRACES[0], 'utf8');
  expect(mutate(mulberry32u(7), base).equals(mutate(mulberry32u(7), base))).toBe(true);
});

/** The in-process cases above prove the outcomes; these prove the process around them (exit code, stderr). */
const CLI_CASES = CHECK_ALL ? 30 : 10;

test(`${CLI_CASES} mutated traces through the CLI${CHECK_ALL ? '' : ' [subset; HEAPSIM_CHECK_ALL=1 runs 30]'}: exit 0, 1 or 2 with a short message, never an internal error`, () => {
  const dir = tempDir('heapsim-fuzz-cli-');
  const base = readFileSync(TRACES[1], 'utf8');
  const bad: string[] = [];
  for (let seed = 1000; seed < 1000 + CLI_CASES; seed++) {
    const file = join(dir, `case-${seed}.csv`);
    writeFileSync(file, mutate(mulberry32u(seed), base));
    const r = spawnSync(process.execPath, ['bin/heapsim.js', 'replay', file, '--no-timing', '--check', '--json'], { encoding: 'utf8', timeout: 30_000 });
    const located = r.status !== 2 || /^heapsim: .+/.test(r.stderr);
    if (![0, 1, 2].includes(r.status ?? -1) || /internal error/.test(r.stderr) || r.stderr.length > 2000 || !located) {
      bad.push(`seed ${seed}: exit ${r.status}: ${r.stderr.slice(0, 300)}`);
    }
  }
  expect(bad).toEqual([]);
});

/** Reproducers the fuzzer found (each a crash, a hang or a stack trace before it was fixed). */
const HOSTILE = join(process.cwd(), 'test', 'fixtures', 'hostile');

test.each(readdirSync(HOSTILE).filter((f) => f.endsWith('.csv')))('reproducer %s ends as promised through the CLI on its backend', (file) => {
  const backend = /-([a-z-]+)\.csv$/.exec(file)?.[1] ?? 'bitmap';
  const r = spawnSync(process.execPath, ['bin/heapsim.js', 'replay', join(HOSTILE, file), '--backend', backend, '--no-timing', '--check'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect({ promised: [0, 1, 2].includes(r.status ?? -1), internal: /internal error|invariant/.test(r.stderr), long: r.stderr.length > 2000 }).toEqual({
    promised: true,
    internal: false,
    long: false,
  });
});
