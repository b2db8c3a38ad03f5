import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURES = join(ROOT, 'test', 'fixtures');
export const TRACES = join(ROOT, 'traces');
/**
 * The recordings the bundled traces/ were made from, when ../shared is beside the
 * checkout (it is in CI). Tests replay the bundled copies; bitmap-traces.test.ts checks
 * they carry the same rows.
 */
export const SHARED_TRACES = join(ROOT, '..', 'shared', 'traces');
export const haveShared = existsSync(SHARED_TRACES);
/** Bundled traces recorded from real programs (the gen-* ones are generated: no addr). */
export const isRecorded = (file: string): boolean => !/(^|\/)gen-[^/]*$/.test(file);
/**
 * Loops over every trace, backend or fixture that a representative subset already proves
 * run in full only when HEAPSIM_CHECK_ALL=1: `npm run test:exhaustive`, a step of .ci/run
 * after `npm test`. The default run keeps the subset, and its test names say so.
 */
export const CHECK_ALL = process.env.HEAPSIM_CHECK_ALL === '1';

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (npm test builds dist/ first). */
export function cli(args: string[], input?: string | Buffer): CliRun {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'heapsim.js'), ...args], {
    input,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    maxBuffer: 64 << 20,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A deterministic PRNG (mulberry32) for property tests. */
export { mulberry32 as rng } from '../src/util/rng.js';

const madeDirs: string[] = [];
/** A fresh directory under the system's temporary directory, removed when the test file ends. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  madeDirs.push(dir);
  return dir;
}
if (typeof afterAll === 'function') {
  afterAll(() => {
    for (const dir of madeDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
}
