// The command line's conventions: --version, `--emit -`, --json with --chart, one-line
// usage errors, gen's --events/--duration, compare's --reserve, bundled traces by name
// from any directory, TTY progress with percent and ETA, and what the npm package ships.
// Runs the built CLI (bin/heapsim.js over dist/; `npx tsc -p tsconfig.json` first).

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, ROOT, TRACES } from './helpers.js';
import { formatEta, progressLine, progressOn } from '../src/cli-progress.js';
import { listBundledTraces, packageVersion, resolveTraceArg } from '../src/traces.js';
import { openTrace } from '../src/trace/reader.js';

const GOB = join(TRACES, 'go1-Gob.csv');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; files: string[]; license: string };

/** Runs the built CLI from another working directory. */
function cliIn(cwd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'heapsim.js'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('--version', () => {
  test("prints package.json's version, from any directory", () => {
    for (const flag of ['--version', '-V']) {
      const r = cliIn(tmpdir(), [flag]);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(`${pkg.version}\n`);
    }
    expect(packageVersion()).toBe(pkg.version);
  });
});

describe('--emit -', () => {
  test('writes the rows, and only the rows, to standard output; the tables go to standard error', () => {
    const r = cli(['replay', GOB, '--emit', '-']);
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('seq,time,op,id,pages,addr,scavPages,releasedBytes,work,ns,trigger,modelNs');
    expect(lines.length).toBeGreaterThan(1000);
    for (const line of lines.slice(1)) expect(line).toMatch(/^\d+,\d+,[a-z]+,/);
    expect(r.stderr).toMatch(/Summary/);
  });

  test('with --json the JSON goes to standard error', () => {
    const r = cli(['replay', GOB, '--emit', '-', '--json']);
    expect(r.status).toBe(0);
    expect(r.stdout.startsWith('seq,time,op,')).toBe(true);
    expect(JSON.parse(r.stderr).schema).toMatch(/^heapsim\.result\//);
  });

  test('equals --emit FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'heapsim-conv-'));
    try {
      const file = join(dir, 'ops.csv');
      expect(cli(['replay', GOB, '--emit', file, '--no-timing']).status).toBe(0);
      const strip = (text: string) => text.replace(/,\d+\n/g, '\n'); // the wall-clock ns column
      expect(strip(cli(['replay', GOB, '--emit', '-', '--no-timing']).stdout)).toBe(strip(readFileSync(file, 'utf8')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a reader that goes away (`| head`) ends it quietly, exit 0', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'heapsim.js'), 'replay', GOB, '--emit', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    expect(await exit).toBe(0);
    expect(stderr).not.toMatch(/EPIPE|error/);
  });

  test('is documented in --help', () => {
    expect(cli(['replay', '--help']).stdout).toMatch(/- for standard output; the tables or JSON then go to\s+standard error/);
  });
});

describe('--json --chart', () => {
  test('replay and compare say the chart is left out, and print valid JSON', () => {
    for (const cmd of ['replay', 'compare']) {
      const r = cli([cmd, GOB, '--json', '--chart']);
      expect(r.status).toBe(0);
      expect(() => JSON.parse(r.stdout) as unknown).not.toThrow();
      expect(r.stderr).toMatch(/^heapsim: warning: --chart is not drawn with --json/);
    }
  });
});

describe('usage errors', () => {
  test('an unknown flag is one line pointing at the command help, exit 2', () => {
    const r = cli(['replay', GOB, '--bogus']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("heapsim: unknown option '--bogus' (see 'heapsim replay --help')\n");
  });

  test('an unknown command and a missing argument are one line too', () => {
    expect(cli(['bogus'])).toMatchObject({ status: 2, stderr: "heapsim: unknown command 'bogus' (see 'heapsim --help')\n" });
    expect(cli(['compare'])).toMatchObject({ status: 2, stderr: "heapsim: missing required argument 'trace' (see 'heapsim compare --help')\n" });
  });

  test('gen --events with --duration is an error', () => {
    const r = cli(['gen', 'steady', '--events', '10', '--duration', '1m']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('heapsim: give --events or --duration, not both\n');
  });
});

describe('compare --reserve', () => {
  test('a mode some backends do not model: one line saying which take which, exit 2, before any work', () => {
    const r = cli(['compare', GOB, '--reserve', 'upfront']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).toMatch(
      /^heapsim: --reserve upfront is not modelled by treap-go1.12, treap-aoff, bitmap \(reservation modes: span-list: pretend\|upfront\|arenas; .*bitmap: arenas\)/,
    );
  });

  test('runs when every compared backend models it', () => {
    const r = cli(['compare', GOB, '--reserve', 'upfront', '--backends', 'list,treap', '--json']);
    expect(r.status).toBe(0);
    expect((JSON.parse(r.stdout) as { options: { reserve: string } }[]).map((x) => x.options.reserve)).toEqual(['upfront', 'upfront']);
  });

  test('heapsim backends lists each backend’s modes', () => {
    expect(cli(['backends']).stdout).toMatch(/^bitmap .*\(--reserve arenas;/m);
  });
});

describe('bundled traces', () => {
  test('heapsim traces lists every bundled trace with its program and size', async () => {
    const r = cliIn(tmpdir(), ['traces']);
    expect(r.status).toBe(0);
    const listed = await listBundledTraces();
    expect(listed.map((t) => t.name)).toContain('go1-Gob');
    expect(listed.map((t) => t.name)).toContain('gen-spike');
    for (const t of listed) {
      expect(t.program).not.toBe('');
      expect(r.stdout).toMatch(new RegExp(`^${t.name} +[\\d.]+ [KMG]?i?B +${t.program.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    }
  });

  test('a bundled trace is named, with or without its extension, from any directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'heapsim-conv-'));
    try {
      for (const name of ['go1-Gob', 'go1-Gob.csv']) {
        const r = cliIn(dir, ['replay', name, '--json']);
        expect(r.status).toBe(0);
        expect(JSON.parse(r.stdout).trace.file).toBe(GOB);
      }
      expect(cliIn(dir, ['compare', 'gen-spike', '--backends', 'bitmap', '--json']).status).toBe(0);
      expect(cliIn(dir, ['replay', 'no-such-trace']).status).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a real file always wins over a bundled name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'heapsim-conv-'));
    try {
      writeFileSync(join(dir, 'go1-Gob'), '# heapsim-trace v1\ntime,op,id,pages\n0,alloc,a,1\n');
      const r = cliIn(dir, ['replay', 'go1-Gob', '--json']);
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout).trace.events).toBe(1);
      const cwd = process.cwd();
      process.chdir(dir);
      try {
        expect(resolveTraceArg('go1-Gob')).toBe('go1-Gob');
        expect(resolveTraceArg('go1-Revcomp')).toBe(join(TRACES, 'go1-Revcomp.csv'));
        expect(resolveTraceArg('sub/go1-Revcomp')).toBe('sub/go1-Revcomp');
        expect(resolveTraceArg('-')).toBe('-');
      } finally {
        process.chdir(cwd);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('progress', () => {
  /** A fake terminal recording what is written, and a clock the test moves. */
  function fakeTerminal(isTTY: boolean) {
    const written: string[] = [];
    let ms = 0;
    return { stream: { isTTY, write: (t: string) => written.push(t) }, written, clock: { now: () => ms, advance: (by: number) => (ms += by) } };
  }

  test('on a terminal with a known size: percent and ETA, redrawn in place, erased at the end', () => {
    const t = fakeTerminal(true);
    const p = progressOn(t.stream, { now: t.clock.now, fraction: (events) => events / 4000 });
    t.clock.advance(500);
    p.onProgress?.(500); // under a second: nothing
    expect(t.written).toEqual([]);
    t.clock.advance(500);
    p.onProgress?.(1000);
    t.clock.advance(100);
    p.onProgress?.(1100); // within 250 ms of the last line: nothing
    expect(t.written).toEqual(['\r25.0%, 1,000 events, 1,000 events/s, ETA 3s \x1b[K']);
    p.done();
    expect(t.written[1]).toBe('\r\x1b[K');
  });

  test('without a known size: events and rate only; not a terminal: silent', () => {
    const t = fakeTerminal(true);
    const p = progressOn(t.stream, { now: t.clock.now });
    t.clock.advance(2000);
    p.onProgress?.(5000);
    expect(t.written).toEqual(['\r5,000 events, 2,500 events/s \x1b[K']);
    const pipe = fakeTerminal(false);
    const q = progressOn(pipe.stream, { now: pipe.clock.now, fraction: () => 0.5 });
    pipe.clock.advance(5000);
    q.onProgress?.(1);
    q.done();
    expect(pipe.written).toEqual([]);
  });

  test('the line and the ETA format', () => {
    expect(progressLine(300, 3000, 0.75)).toBe('75.0%, 300 events, 100 events/s, ETA 1s');
    expect(progressLine(10, 1000, 0)).toBe('10 events, 10 events/s');
    expect([formatEta(42), formatEta(185), formatEta(3720)]).toEqual(['42s', '3m05s', '1h02m']);
  });

  test("the reader's bytesRead reaches the file's size", async () => {
    const reader = await openTrace(GOB);
    for await (const batch of reader.batches()) expect(batch).toBeDefined();
    expect(reader.bytesRead).toBe(readFileSync(GOB).length);
  });
});

describe('the npm package', () => {
  test('ships LICENSE (BSD-3-Clause, the heapsim authors) and dist/src, not dist/test or dist/bench', () => {
    expect(pkg.license).toBe('BSD-3-Clause');
    const license = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^BSD 3-Clause License\n\nCopyright \(c\) \d{4}, the heapsim authors\n/);
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const files = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
    expect(files).toEqual(
      expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'bin/heapsim.js', 'traces/go1-Gob.csv', 'docs/trace-format.md', 'dist/src/cli.js']),
    );
    expect(files.filter((f) => /^dist\/(test|bench)\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.startsWith('dist/')).every((f) => f.startsWith('dist/src/'))).toBe(true);
  });
});
