// Outputs through the CLI: no output ever destroys an input (same path, symlink, hard
// link), a failed or unwritable output is one line and exit 2, and a replay that fails
// half-way leaves no partial --emit file.

import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './helpers.js';

const BIN = join(process.cwd(), 'bin', 'heapsim.js');
const GOB = join(process.cwd(), 'traces', 'go1-Gob.csv');

function cli(args: string[], cwd: string, stdoutFile?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  if (stdoutFile !== undefined) writeFileSync(stdoutFile, r.stdout);
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

function sandbox(): { dir: string; trace: string; original: Buffer } {
  const dir = tempDir('heapsim-cli-out-');
  const trace = join(dir, 't.csv');
  copyFileSync(GOB, trace);
  return { dir, trace, original: readFileSync(trace) };
}

describe('an output that is an input is refused before anything runs', () => {
  test.each([
    ['--emit onto the trace', (_d: string) => ['replay', 't.csv', '--emit', 't.csv']],
    ['--timeline through a symlink', (d: string) => (symlinkSync(join(d, 't.csv'), join(d, 'link.csv')), ['replay', 't.csv', '--timeline', 'link.csv'])],
    ['--emit through a hard link', (d: string) => (linkSync(join(d, 't.csv'), join(d, 'hard.csv')), ['replay', 't.csv', '--emit', 'hard.csv'])],
    ['--emit through another spelling', (d: string) => ['replay', './t.csv', '--emit', `../${d.split('/').pop()}/t.csv`]],
    ['check --update-baseline onto a trace', (_d: string) => ['check', 't.csv', '--baseline', 't.csv', '--update-baseline', '--backends', 'bitmap']],
  ])('%s: exit 2, one line, the trace untouched', (_name, args) => {
    const { dir, trace, original } = sandbox();
    const r = cli(args(dir), dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^heapsim: .*input.*\n$/);
    expect(readFileSync(trace).equals(original)).toBe(true);
  });
});

describe('output errors are one line, exit 2', () => {
  test.each([
    ['/dev/full', '/dev/full', /cannot write \/dev\/full: no space left on device/],
    ['a directory', '.', /directory/],
    ['a missing directory', 'nope/ops.csv', /nope/],
  ])('--emit to %s', (_name, out, message) => {
    const { dir } = sandbox();
    const r = cli(['replay', 't.csv', '--emit', out], dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });

  test('gen -o refuses to replace a file that is not a trace unless --force', () => {
    const { dir } = sandbox();
    writeFileSync(join(dir, 'notes.txt'), 'my notes\n');
    const r = cli(['gen', 'steady', '--events', '10', '-o', 'notes.txt'], dir);
    expect([r.status, readFileSync(join(dir, 'notes.txt'), 'utf8')]).toEqual([2, 'my notes\n']);
    expect(r.stderr).toMatch(/--force/);
    expect(cli(['gen', 'steady', '--events', '10', '-o', 'notes.txt', '--force'], dir).status).toBe(0);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toMatch(/^# heapsim-trace v1/);
    // A heapsim trace may be replaced without --force.
    expect(cli(['gen', 'steady', '--events', '20', '-o', 'notes.txt'], dir).status).toBe(0);
  });
});

test('a replay that fails at a bad row leaves neither a partial --emit file nor a temporary file', () => {
  const { dir } = sandbox();
  const lines = readFileSync(GOB, 'utf8').split('\n');
  lines.splice(900, 0, '1,alloc,bad,-4');
  writeFileSync(join(dir, 'bad.csv'), lines.join('\n'));
  writeFileSync(join(dir, 'ops.csv'), 'earlier output\n');
  const r = cli(['replay', 'bad.csv', '--emit', 'ops.csv'], dir);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/^heapsim: .*bad\.csv:\d+:\d+: /);
  expect(readFileSync(join(dir, 'ops.csv'), 'utf8')).toBe('earlier output\n');
  expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  // A successful run replaces it whole.
  expect(cli(['replay', 't.csv', '--emit', 'ops.csv', '--no-timing'], dir).status).toBe(0);
  expect(readFileSync(join(dir, 'ops.csv'), 'utf8').split('\n')[0]).toBe('seq,time,op,id,pages,addr,scavPages,releasedBytes,work,ns,trigger,modelNs');
  expect(existsSync(join(dir, 'ops.csv'))).toBe(true);
});
