import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { CsvEmitter, generate, openTraceText, replayReader, TraceError, UsageError } from '../src/index.js';
import { checkOutputPlan, checkReplaceable, OutputError, openOutput, writeOutputFile } from '../src/io/outputs.js';
import { ROOT, TRACES, tempDir } from './helpers.js';

const TRACE_TEXT = ['# heapsim-trace v1', 'time,op,id,pages,bytes', '0,alloc,a,10,', '100,free,a,,'].join('\n') + '\n';
/** The compiled module, for the child processes (npm test builds dist/ first). */
const DIST_OUTPUTS = join(ROOT, 'dist', 'src', 'io', 'outputs.js');

let dir: string;
beforeEach(() => {
  dir = tempDir('heapsim-outputs-');
});

/** Names in `dir` other than the ones given: leftover temporary files show up here. */
const others = (d: string, ...expected: string[]) => readdirSync(d).filter((n) => !expected.includes(n));

function usageMessage(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('the output plan refuses outputs that resolve to inputs', () => {
  let trace: string;
  beforeEach(() => {
    trace = join(dir, 'trace.csv');
    writeFileSync(trace, TRACE_TEXT);
  });

  test('the same path', () => {
    expect(usageMessage(() => checkOutputPlan({ inputs: [trace], outputs: [{ flag: '--emit', path: trace }] }))).toBe(
      `--emit ${trace} is the input ${trace}: refusing to overwrite an input`,
    );
  });

  test('a symlink to the input', () => {
    const link = join(dir, 'link.csv');
    symlinkSync(trace, link);
    expect(usageMessage(() => checkOutputPlan({ inputs: [trace], outputs: [{ flag: '--timeline', path: link }] }))).toMatch(
      /^--timeline .*link\.csv is the input/,
    );
    // and the other way round: the input given through the link
    expect(usageMessage(() => checkOutputPlan({ inputs: [link], outputs: [{ flag: '--emit', path: trace }] }))).toMatch(/is the input/);
  });

  test('a hard link to the input', () => {
    const hard = join(dir, 'hard.csv');
    linkSync(trace, hard);
    expect(usageMessage(() => checkOutputPlan({ inputs: [trace], outputs: [{ flag: '--emit', path: hard }] }))).toMatch(/hard\.csv is the input/);
  });

  test('./ and .. spellings', () => {
    mkdirSync(join(dir, 'sub'));
    const dotted = join(dir, 'sub', '..', '.', 'trace.csv');
    expect(usageMessage(() => checkOutputPlan({ inputs: [trace], outputs: [{ flag: '--emit', path: dotted }] }))).toMatch(/is the input/);
    const rel = relative(process.cwd(), trace);
    expect(usageMessage(() => checkOutputPlan({ inputs: ['./' + rel], outputs: [{ flag: '--baseline', path: trace }] }))).toMatch(/is the input/);
  });

  test('a baseline being read is an input; any one of several traces is', () => {
    const other = join(dir, 'other.csv');
    writeFileSync(other, TRACE_TEXT);
    expect(usageMessage(() => checkOutputPlan({ inputs: [other, trace, undefined], outputs: [{ flag: '--baseline', path: trace }] }))).toMatch(
      /^--baseline .* is the input/,
    );
  });

  test('two outputs that are one file, existing or not', () => {
    const a = join(dir, 'a.csv');
    const plan = (p: string) => ({
      inputs: [trace],
      outputs: [
        { flag: '--emit', path: a },
        { flag: '--timeline', path: p },
      ],
    });
    expect(usageMessage(() => checkOutputPlan(plan(join(dir, '.', 'a.csv'))))).toBe(`--emit ${a} and --timeline ${join(dir, 'a.csv')} are the same file`);
    writeFileSync(a, 'x');
    const hard = join(dir, 'b.csv');
    linkSync(a, hard);
    expect(usageMessage(() => checkOutputPlan(plan(hard)))).toMatch(/are the same file/);
  });

  test('distinct outputs, devices twice, missing inputs and unset flags pass', () => {
    expect(() =>
      checkOutputPlan({
        inputs: [trace, join(dir, 'missing.csv'), '-'],
        outputs: [
          { flag: '--emit', path: join(dir, 'ops.csv') },
          { flag: '--timeline', path: join(dir, 'timeline.csv') },
          { flag: '--json-out', path: '/dev/null' },
          { flag: '--other', path: '/dev/null' },
          { flag: '--unset', path: undefined },
        ],
      }),
    ).not.toThrow();
  });

  test('a missing directory, a file as directory, a directory as output', () => {
    const missing = join(dir, 'nope', 'ops.csv');
    expect(usageMessage(() => checkOutputPlan({ inputs: [], outputs: [{ flag: '--emit', path: missing }] }))).toBe(
      `--emit ${missing}: directory ${join(dir, 'nope')} does not exist`,
    );
    const underFile = join(trace, 'ops.csv');
    expect(usageMessage(() => checkOutputPlan({ inputs: [], outputs: [{ flag: '--emit', path: underFile }] }))).toMatch(/not a directory/);
    expect(usageMessage(() => checkOutputPlan({ inputs: [], outputs: [{ flag: '--timeline', path: dir }] }))).toBe(`--timeline ${dir}: is a directory`);
    expect(usageMessage(() => checkOutputPlan({ inputs: [], outputs: [{ flag: '-o', path: join(dir, 'new') + '/' }] }))).toMatch(/names a directory/);
  });

  test('a dangling symlink is refused rather than replaced', () => {
    const link = join(dir, 'dangling.csv');
    symlinkSync(join(dir, 'gone.csv'), link);
    expect(usageMessage(() => checkOutputPlan({ inputs: [], outputs: [{ flag: '--emit', path: link }] }))).toMatch(
      /symbolic link to a file that does not exist/,
    );
  });
});

describe('atomic output files', () => {
  test('written to a temporary file beside the target, renamed into place on commit', () => {
    const target = join(dir, 'ops.csv');
    const out = openOutput(target);
    out.write('hello ');
    out.write(Buffer.from('world\n'));
    out.write('x'.repeat(200_000)); // past the flush threshold: bytes reach the temporary file
    const temps = others(dir);
    expect(temps).toHaveLength(1);
    expect(temps[0]).toMatch(new RegExp(`^\\.ops\\.csv\\.heapsim-${process.pid}-[0-9a-f]{8}\\.tmp$`));
    expect(existsSync(target)).toBe(false);
    out.commitSync();
    expect(readFileSync(target, 'utf8')).toBe('hello world\n' + 'x'.repeat(200_000));
    expect(others(dir, 'ops.csv')).toEqual([]);
  });

  test('abort removes the temporary file and leaves an existing target untouched', () => {
    const target = join(dir, 'ops.csv');
    writeFileSync(target, 'old contents\n');
    const out = openOutput(target);
    out.write('y'.repeat(300_000));
    out.abort();
    out.abort(); // idempotent
    expect(readFileSync(target, 'utf8')).toBe('old contents\n');
    expect(others(dir, 'ops.csv')).toEqual([]);
    expect(() => out.write('more')).toThrow();
  });

  test('replacing keeps the mode, and a symlink target is written through', () => {
    const real = join(dir, 'real.json');
    writeFileSync(real, '{}');
    chmodSync(real, 0o640);
    const link = join(dir, 'link.json');
    symlinkSync(real, link);
    writeOutputFile(link, '{"schema":1}\n');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, 'utf8')).toBe('{"schema":1}\n');
    expect(statSync(real).mode & 0o777).toBe(0o640);
    expect(others(dir, 'real.json', 'link.json')).toEqual([]);
  });

  test('a replay that fails part way leaves no temporary file, no partial --emit, the old file as it was', async () => {
    const target = join(dir, 'ops.csv');
    writeFileSync(target, 'previous run\n');
    const rows = ['time,op,id,pages,bytes'];
    for (let i = 0; i < 20_000; i++) rows.push(`${i * 10},alloc,s${i},1,`);
    rows.push('300000,free,never-allocated,,');
    const emitter = new CsvEmitter(target);
    let failure: unknown;
    try {
      await replayReader(await openTraceText(rows.join('\n'), 'bad.csv', { keepIds: true }), { backend: 'list', emit: emitter });
      emitter.close();
    } catch (err) {
      emitter.abort();
      failure = err;
    }
    expect(failure).toBeInstanceOf(TraceError);
    expect(readFileSync(target, 'utf8')).toBe('previous run\n');
    expect(others(dir, 'ops.csv')).toEqual([]);
  });

  test('a replay that succeeds puts the whole --emit file in place', async () => {
    const target = join(dir, 'ops.csv');
    const emitter = new CsvEmitter(target);
    await replayReader(await openTraceText(TRACE_TEXT, 't.csv', { keepIds: true }), { backend: 'list', emit: emitter });
    emitter.close();
    const lines = readFileSync(target, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('seq,time,op,id,pages,addr,scavPages,releasedBytes,work,ns,trigger,modelNs');
    expect(lines.slice(1).map((l) => l.split(',')[2])).toEqual(['alloc', 'free']);
    expect(others(dir, 'ops.csv')).toEqual([]);
  });

  test('/dev/full: the write error is an OutputError with the reason, not a crash', () => {
    const out = openOutput('/dev/full'); // a device: written directly, no temporary file
    out.write('row\n');
    let err: unknown;
    try {
      out.commitSync();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OutputError);
    expect((err as OutputError).message).toBe('cannot write /dev/full: no space left on device (ENOSPC)');
    expect((err as OutputError).exitCode).toBe(2);
    expect(() => writeOutputFile('/dev/full', 'x')).toThrow('cannot write /dev/full: no space left on device (ENOSPC)');
    const emitter = new CsvEmitter('/dev/full');
    emitter.row(0, 0, 'alloc', 'a', 1, 0, 0, 0, 0, 0, 0); // buffered: nothing written yet
    expect(() => emitter.close()).toThrow(OutputError);
    expect(() => writeOutputFile('/dev/null', 'x')).not.toThrow();
  });

  test('a write error mid-stream ends the writer at once and leaves nothing behind', () => {
    const out = openOutput('/dev/full');
    expect(() => out.write('z'.repeat(100_000))).toThrow(OutputError);
    expect(() => out.write('more')).toThrow('cannot write /dev/full');
    expect(() => out.commitSync()).toThrow('cannot write /dev/full');
  });

  test('a directory or a missing directory cannot be opened: OutputError, not a stack', () => {
    expect(() => openOutput(dir)).toThrow(OutputError);
    expect(() => openOutput(join(dir, 'nope', 'x.csv'))).toThrow(/^cannot write .*no such file or directory \(ENOENT\)$/);
  });

  test('writable(): gen streams through it; the bytes match and land on commit', async () => {
    const target = join(dir, 'gen.csv');
    const out = openOutput(target);
    const rows = await generate('steady', { seed: 3, events: 20_000 }, out.writable());
    expect(existsSync(target)).toBe(false);
    await out.commit();
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    expect(await generate('steady', { seed: 3, events: 20_000 }, sink)).toBe(rows);
    expect(readFileSync(target, 'utf8')).toBe(Buffer.concat(chunks).toString('utf8'));
    expect(others(dir, 'gen.csv')).toEqual([]);
  });

  test('writable(): a write error does not hang the producer; commit rejects with it', async () => {
    const out = openOutput('/dev/full');
    await generate('steady', { seed: 1, events: 50_000 }, out.writable());
    await expect(out.commit()).rejects.toThrow('cannot write /dev/full: no space left on device (ENOSPC)');
  });
});

describe('gen -o only replaces traces unless --force', () => {
  const write = (name: string, data: string | Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, data);
    return p;
  };

  test('a file is taken for a trace by its metadata or header, plain or gzip', () => {
    const looksLikeTrace = (data: Buffer) => {
      try {
        checkReplaceable(write('sniffed', data), false);
        return true;
      } catch (err) {
        expect(err).toBeInstanceOf(UsageError);
        return false;
      }
    };
    expect(looksLikeTrace(Buffer.from(TRACE_TEXT))).toBe(true);
    expect(looksLikeTrace(Buffer.from('\uFEFF\r\n# source=x\r\n# page_size=8192\r\n time , op,id\r\n'))).toBe(true);
    expect(looksLikeTrace(Buffer.from('op,time\n'))).toBe(true);
    // the head of a large gzip trace: a cut-off deflate stream
    expect(looksLikeTrace(gzipSync(Buffer.from(TRACE_TEXT + '200,alloc,b,1,\n'.repeat(1e6))).subarray(0, 1 << 16))).toBe(true);
    expect(looksLikeTrace(Buffer.from('# notes\nhello,world\n'))).toBe(false);
    expect(looksLikeTrace(Buffer.from('timestamp,opcode\n'))).toBe(false);
    expect(looksLikeTrace(gzipSync(Buffer.from('just some text\n')))).toBe(false);
    expect(looksLikeTrace(Buffer.from([0x1f, 0x8b, 0, 1, 2, 3]))).toBe(false);
    expect(looksLikeTrace(Buffer.from('x\n# heapsim-trace v1\n'))).toBe(false);
  });

  test('traces (plain, recorded, gzip), empty files, missing files and devices may be replaced', () => {
    expect(() => checkReplaceable(write('t.csv', TRACE_TEXT), false)).not.toThrow();
    expect(() => checkReplaceable(join(TRACES, 'go1-Gob.csv'), false)).not.toThrow();
    expect(() => checkReplaceable(join(TRACES, 'gen-spike.csv.gz'), false)).not.toThrow();
    expect(() => checkReplaceable(write('empty', ''), false)).not.toThrow();
    expect(() => checkReplaceable(join(dir, 'missing.csv'), false)).not.toThrow();
    expect(() => checkReplaceable('/dev/null', false)).not.toThrow();
    expect(() => checkReplaceable('-', false)).not.toThrow();
  });

  test('anything else needs force', () => {
    const notes = write('notes.txt', 'my thesis, chapter 3\n');
    expect(usageMessage(() => checkReplaceable(notes, false))).toBe(`-o ${notes} exists and is not a heapsim trace; give --force to replace it`);
    const gz = write('data.gz', gzipSync(Buffer.from('a,b\n1,2\n')));
    expect(usageMessage(() => checkReplaceable(gz, false, '--output'))).toMatch(/^--output .* is not a heapsim trace/);
    expect(() => checkReplaceable(notes, true)).not.toThrow();
    expect(() => checkReplaceable(gz, true)).not.toThrow();
  });
});

/** Runs `body` (ESM, with `outputs` imported from dist/) as a child node process. */
function script(body: string): string {
  if (!existsSync(DIST_OUTPUTS)) throw new Error(`${DIST_OUTPUTS} is missing: build first (npx tsc -p tsconfig.json)`);
  const file = join(dir, 'child.mjs');
  writeFileSync(file, `import * as outputs from ${JSON.stringify('file://' + DIST_OUTPUTS)};\n${body}\n`);
  return file;
}

describe('signals and standard streams (child processes)', () => {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    test(`${signal} removes the temporary file, keeps the old target, exits ${code}`, async () => {
      const target = join(dir, 'ops.csv');
      writeFileSync(target, 'old\n');
      const file = script(`
        const out = outputs.openOutput(${JSON.stringify(target)});
        out.write('partial '.repeat(20000));
        process.stdout.write('ready\\n');
        setInterval(() => out.write('more\\n'), 5);
      `);
      const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      expect(others(dir, 'ops.csv', 'child.mjs')).toHaveLength(1); // the temporary file
      const exit = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      child.kill(signal);
      expect(await exit).toBe(code);
      expect(stderr).toBe('');
      expect(others(dir, 'ops.csv', 'child.mjs')).toEqual([]);
      expect(readFileSync(target, 'utf8')).toBe('old\n');
    });
  }

  test('process.exit() with an output open removes its temporary file', () => {
    const target = join(dir, 'ops.csv');
    const file = script(`outputs.openOutput(${JSON.stringify(target)}).write('x'); process.exit(5);`);
    expect(spawnSync(process.execPath, [file]).status).toBe(5);
    expect(others(dir, 'child.mjs')).toEqual([]);
  });

  test('standard input redirected from the output file is an input', () => {
    const trace = join(dir, 'trace.csv');
    writeFileSync(trace, TRACE_TEXT);
    const file = script(`
      try { outputs.checkOutputPlan({ inputs: ['-'], outputs: [{ flag: '--emit', path: ${JSON.stringify(trace)} }] }); }
      catch (err) { process.stdout.write(err.message); }
    `);
    const fd = openSync(trace, 'r');
    try {
      const r = spawnSync(process.execPath, [file], { stdio: [fd, 'pipe', 'pipe'], encoding: 'utf8' });
      expect(r.stdout).toBe(`--emit ${trace} is the standard input: refusing to overwrite an input`);
    } finally {
      closeSync(fd);
    }
  });

  test('standard output on /dev/full: one line, exit 2', () => {
    const file = script(`outputs.guardStandardStreams(); process.stdout.write('report\\n');`);
    const fd = openSync('/dev/full', 'w');
    try {
      const r = spawnSync(process.execPath, [file], { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8' });
      expect(r.stderr).toBe('heapsim: cannot write standard output: no space left on device (ENOSPC)\n');
      expect(r.status).toBe(2);
    } finally {
      closeSync(fd);
    }
  });

  test('standard output redirected onto an output file is caught by the plan', () => {
    const target = join(dir, 'ops.csv');
    writeFileSync(target, '');
    const file = script(`
      try { outputs.checkOutputPlan({ inputs: [], outputs: [{ flag: '-', path: '-' }, { flag: '--emit', path: ${JSON.stringify(basename(target))} }] }); }
      catch (err) { process.stderr.write(err.message); }
    `);
    const fd = openSync(target, 'a');
    try {
      const r = spawnSync(process.execPath, [file], { cwd: dir, stdio: ['ignore', fd, 'pipe'], encoding: 'utf8' });
      expect(r.stderr).toBe('standard output and --emit ops.csv are the same file');
    } finally {
      closeSync(fd);
    }
  });

  test('a directory heapsim may not write is refused before anything runs', () => {
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    chmodSync(dir, 0o755);
    const file = script(`
      try { outputs.checkOutputPlan({ inputs: [], outputs: [{ flag: '--emit', path: ${JSON.stringify(join(ro, 'ops.csv'))} }] }); }
      catch (err) { process.stdout.write(err.message); }
    `);
    // Root may write anywhere: run the check as nobody then.
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const r = spawnSync(process.execPath, [file], { ...asUser, encoding: 'utf8' });
    expect(r.stdout).toBe(`--emit ${join(ro, 'ops.csv')}: cannot create files in ${ro}: permission denied (EACCES)`);
  });

  test('EPIPE on standard output ends quietly with the exit code so far', async () => {
    const file = script(`
      outputs.guardStandardStreams();
      process.exitCode = 3;
      const line = 'row\\n'.repeat(1000);
      const pump = () => { while (process.stdout.write(line)); process.stdout.once('drain', pump); };
      pump();
    `);
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy(); // the reader goes away, like `| head`
    expect(await exit).toBe(3);
    expect(stderr).toBe('');
  });
});

test('OutputFile.open("-") writes standard output directly, waits out a full pipe, and leaves it open', () => {
  // 4 MiB through a pipe whose reader sleeps first: Node's non-blocking stdout answers EAGAIN.
  const file = script(`
    outputs.guardStandardStreams();
    const out = outputs.OutputFile.open('-');
    for (let i = 0; i < 64; i++) out.write('x'.repeat(65535) + '\\n');
    out.commitSync();
    process.stdout.write('after\\n');
  `);
  const r = spawnSync('sh', ['-c', `"${process.execPath}" "${file}" | (sleep 0.3; wc -c)`], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(Number(r.stdout.trim())).toBe(64 * 65536 + 'after\n'.length);
});
