// The command line: parses flags, calls the library (src/index.ts), prints.
// Exit codes: 0 done; 1 the simulated program ran out of memory (or a gate failed);
// 2 bad usage or bad input, printed without a stack.

import { existsSync, readFileSync, writeFileSync, createWriteStream } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import {
  BASELINE_SCHEMA,
  WORKLOADS,
  compareWithBaseline,
  entryOf,
  generate,
  parseDuration,
  parseTolerances,
  renderCheck,
  type BaselineEntry,
  type BaselineFile,
  CsvEmitter,
  HeapsimError,
  Timeline,
  renderChart,
  UsageError,
  backends,
  compareLoaded,
  defaultBackend,
  findBackend,
  loadTrace,
  renderCompare,
  openTrace,
  parseBytes,
  POLICIES,
  findPolicy,
  renderReplay,
  replayReader,
  type ReplayResult,
} from './index.js';

const EXIT_OOM = 1;
const EXIT_USAGE = 2;

function useColor(flag: boolean | undefined): boolean {
  if (flag === false || process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0') return true;
  return process.stdout.isTTY === true;
}

function intFlag(value: string, flag: string, min = 0): number {
  if (!/^\d+$/.test(value) || Number(value) < min) throw new UsageError(`${flag} takes an integer >= ${min}, got "${value}"`);
  return Number(value);
}

function physPage(value: string): number {
  const n = parseBytes(value, '--phys-page');
  if (![4096, 16384, 65536].includes(n)) throw new UsageError(`--phys-page takes 4096, 16384 or 65536, got "${value}"`);
  return n;
}

/** Progress on stderr for replays longer than a second, only when stderr is a terminal. */
function progress(): { onProgress?: (events: number) => void; done(): void } {
  if (!process.stderr.isTTY) return { done() {} };
  const start = performance.now();
  let last = start;
  let shown = false;
  return {
    onProgress(events: number) {
      const now = performance.now();
      if (now - start < 1000 || now - last < 250) return;
      last = now;
      shown = true;
      const rate = Math.round(events / ((now - start) / 1000));
      process.stderr.write(`\r${events.toLocaleString('en-US')} events, ${rate.toLocaleString('en-US')} events/s `);
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

function printWarnings(warnings: string[]): void {
  for (const w of warnings) process.stderr.write(`heapsim: warning: ${w}\n`);
}

interface ReplayFlags {
  madvise: 'dontneed' | 'free';
  reserve?: 'upfront' | 'pretend' | 'arenas';
  timeline?: string;
  chart?: boolean;
  backend?: string;
  policy: string;
  json?: boolean;
  lenient?: boolean;
  emit?: string;
  ulimitV?: number;
  physPage: number;
  seed: number;
  timing: boolean;
  color?: boolean;
  gogc?: number;
  gomaxprocs?: number;
  memoryLimit?: number;
  thp?: 'never' | 'madvise' | 'always';
}

/** The run knobs replay and compare pass to the engine. */
function runOptions(flags: Omit<ReplayFlags, 'policy'>) {
  return {
    seed: flags.seed,
    physPageBytes: flags.physPage,
    ulimitVBytes: flags.ulimitV,
    madvise: flags.madvise,
    thp: flags.thp,
    reserve: flags.reserve,
    timing: flags.timing,
    gogc: flags.gogc,
    gomaxprocs: flags.gomaxprocs,
    memoryLimitBytes: flags.memoryLimit,
  };
}

async function replayCommand(trace: string, flags: ReplayFlags): Promise<number> {
  const reader = await openTrace(trace, { lenient: flags.lenient, keepIds: flags.emit !== undefined });
  printWarnings(reader.stats.warnings);
  const emitter = flags.emit ? new CsvEmitter(flags.emit) : undefined;
  const timeline = flags.timeline || flags.chart ? new Timeline() : undefined;
  const p = progress();
  let result: ReplayResult;
  try {
    findPolicy(flags.policy);
    result = await replayReader(reader, {
      ...runOptions(flags),
      backend: flags.backend,
      policy: flags.policy,
      emit: emitter,
      timeline,
      onProgress: p.onProgress,
    });
  } finally {
    p.done();
    emitter?.close();
  }
  if (timeline && flags.timeline) writeFileSync(flags.timeline, timeline.toCsv());
  if (flags.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else process.stdout.write(renderReplay(result, { color: useColor(flags.color) }));
  if (flags.chart && timeline && !flags.json) {
    process.stdout.write('\n' + renderChart(`RSS over trace time (${result.backend}, ${result.policy})`, [{ label: result.backend, points: timeline.rssPeaks() }], { color: useColor(flags.color) }));
  }
  if (result.trace.skipped > 0) {
    process.stderr.write(`heapsim: --lenient skipped ${result.trace.skipped} bad rows (${Object.entries(result.trace.skippedByKind).map(([k, n]) => `${k}: ${n}`).join(', ')})\n`);
  }
  return result.outcome === 'oom' ? EXIT_OOM : 0;
}

interface CompareFlags extends Omit<ReplayFlags, 'backend' | 'emit' | 'timeline' | 'policy'> {
  backends?: string;
  policy?: string;
  policies?: string;
}

async function compareCommand(trace: string, flags: CompareFlags): Promise<number> {
  if (flags.policy !== undefined && flags.policies !== undefined) throw new UsageError('give --policy or --policies, not both');
  const policies = (flags.policies ?? flags.policy ?? 'trace').split(',').map((n) => findPolicy(n.trim()).name);
  // Several policies on the default backend; several backends under one policy; or both.
  const names = flags.backends
    ? flags.backends.split(',').map((n) => findBackend(n.trim()).name)
    : policies.length > 1
      ? [defaultBackend().name]
      : backends().map((b) => b.name);
  const runs = names.flatMap((backend) => policies.map((policy) => ({ backend, policy })));
  const label = (backend: string, policy: string) => (policies.length === 1 ? backend : names.length === 1 ? policy : `${backend} ${policy}`);
  const loaded = await loadTrace(trace, { lenient: flags.lenient });
  printWarnings(loaded.stats.warnings);
  const p = progress();
  let results: ReplayResult[];
  const timelines = new Map<string, Timeline>();
  try {
    results = compareLoaded(loaded, runs, {
      ...runOptions(flags),
      timelineFor: flags.chart
        ? (backend, policy) => {
            const t = new Timeline();
            timelines.set(label(backend, policy), t);
            return t;
          }
        : undefined,
      onProgress: p.onProgress,
    });
  } finally {
    p.done();
  }
  const columnLabel = (r: ReplayResult) => label(r.backend, r.policy);
  if (flags.json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  else process.stdout.write(renderCompare(results, { color: useColor(flags.color) }, columnLabel));
  if (flags.chart && !flags.json) {
    const series = results.map((r) => ({ label: columnLabel(r), points: timelines.get(columnLabel(r))?.rssPeaks() ?? [] }));
    const title = policies.length === 1 ? `RSS over trace time (policy ${policies[0]})` : names.length === 1 ? `RSS over trace time (backend ${names[0]})` : 'RSS over trace time';
    process.stdout.write('\n' + renderChart(title, series, { color: useColor(flags.color) }));
  }
  return results.some((r) => r.outcome === 'oom') ? EXIT_OOM : 0;
}

interface GenFlags {
  seed: number;
  events?: number;
  duration?: string;
  output?: string;
}

async function genCommand(workload: string, flags: GenFlags): Promise<number> {
  const out = flags.output && flags.output !== '-' ? createWriteStream(flags.output) : process.stdout;
  await generate(workload, { seed: flags.seed, events: flags.events, durationNs: flags.duration ? parseDuration(flags.duration) : undefined }, out);
  if (out !== process.stdout) await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return 0;
}

interface CheckFlags {
  baseline: string;
  backends?: string;
  policy: string;
  tolerance?: string;
  updateBaseline?: boolean;
  json?: boolean;
  includeWall?: boolean;
  lenient?: boolean;
  color?: boolean;
}

async function checkCommand(traces: string[], flags: CheckFlags): Promise<number> {
  const names = flags.backends ? flags.backends.split(',').map((n) => findBackend(n.trim()).name) : backends().map((b) => b.name);
  const tolerances = parseTolerances(flags.tolerance);
  let baseline: BaselineFile | undefined;
  if (!flags.updateBaseline) {
    if (!existsSync(flags.baseline)) throw new UsageError(`baseline ${flags.baseline} does not exist: create it with --update-baseline`);
    try {
      baseline = JSON.parse(readFileSync(flags.baseline, 'utf8')) as BaselineFile;
    } catch (err) {
      throw new UsageError(`baseline ${flags.baseline} is not valid JSON: ${(err as Error).message}`);
    }
  }
  const entries: BaselineEntry[] = [];
  for (const trace of traces) {
    const loaded = await loadTrace(trace, { lenient: flags.lenient });
    for (const r of compareLoaded(loaded, names, { policy: flags.policy, timing: flags.includeWall === true })) {
      if (r.outcome === 'oom') throw new UsageError(`${trace} on ${r.backend}: the simulated program ran out of memory; a baseline needs complete runs`);
      entries.push(entryOf(trace, r, flags.includeWall === true));
    }
  }
  if (flags.updateBaseline) {
    const file: BaselineFile = { schema: BASELINE_SCHEMA, entries };
    writeFileSync(flags.baseline, JSON.stringify(file, null, 1) + '\n');
    process.stderr.write(`heapsim: wrote ${entries.length} entries (${traces.length} traces x ${names.length} backends) to ${flags.baseline}\n`);
    return 0;
  }
  const report = compareWithBaseline(entries, baseline as BaselineFile, tolerances);
  if (flags.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else process.stdout.write(renderCheck(report, { color: useColor(flags.color) }));
  return report.regressions.length > 0 ? 1 : 0;
}

/** The simulation flags replay and compare share: the OS model and the run's knobs. */
function simulationOptions(cmd: Command): Command {
  return cmd
    .option('--ulimit-v <size>', 'limit address space like RLIMIT_AS (e.g. 16GiB)', (v) => parseBytes(v, '--ulimit-v'))
    .option('--phys-page <bytes>', 'physical page size: 4096, 16384 or 65536', physPage, 4096)
    .addOption(new Option('--reserve <mode>', 'address space: upfront (whole arena at start, as in 2011), pretend (map on demand, Go 1.8), arenas (64 MiB at a time, Go 1.11+); default: the backend\'s era').choices(['upfront', 'pretend', 'arenas']))
    .addOption(new Option('--madvise <mode>', 'how released pages leave RSS: dontneed (at once) or free (MADV_FREE: lazily; Go 1.12-1.15 on Linux)').choices(['dontneed', 'free']).default('dontneed'))
    .addOption(new Option('--thp <mode>', 'transparent huge pages (2 MiB, 4 KiB pages only): never, madvise (what Debian 12 and Ubuntu report), always (commonly RHEL\'s)').choices(['never', 'madvise', 'always']).default('never'))
    .option('--seed <n>', 'seed for backends with random choices', (v) => intFlag(v, '--seed'), 1)
    .option('--gogc <n>', 'GOGC for the heap goal policies pace to (default: the trace\'s gogc metadata, else 100; "off")', (v) => (v === 'off' ? -1 : intFlag(v, '--gogc')))
    .option('--gomaxprocs <n>', 'CPUs whose 1% the go1.19 scavenger may use (default: the trace\'s gomaxprocs metadata, else 1)', (v) => intFlag(v, '--gomaxprocs', 1))
    .option('--memory-limit <size>', 'memory limit at start (GOMEMLIMIT; go1.19 holds it; limit rows change it)', (v) => parseBytes(v, '--memory-limit'))
    .option('--no-timing', 'do not measure wall time per op (faster; wall-clock latency columns are left out)');
}

function buildProgram(): Command {
  const program = new Command('heapsim')
    .description('Replay page-level allocation traces through the Go runtime\'s page heaps on a simulated OS')
    .option('--no-color', 'plain output (NO_COLOR is honoured too)')
    .exitOverride()
    .showHelpAfterError();

  const backendNames = backends().map((b) => [b.name, ...b.aliases].join('|'));
  simulationOptions(program.command('replay'))
    .description('replay a trace through one backend and print summary, fragmentation and latency tables')
    .argument('<trace>', 'trace file (.csv or .csv.gz), or - for standard input')
    .addOption(new Option('-b, --backend <name>', `page heap backend: ${backendNames.join(', ')}`).default(undefined, defaultBackend().name))
    .option('--policy <name>', `release policy: ${POLICIES.map((p) => p.name).join(', ')}`, 'trace')
    .option('--json', 'print the result as one JSON object')
    .option('--lenient', 'skip bad rows (and report how many) instead of stopping at the first')
    .option('--emit <file>', 'write one CSV row per op: seq,time,op,id,pages,addr,scavPages,releasedBytes,work,ns')
    .option('--timeline <file>', 'write in-use, heap, RSS, released, VSIZE and limit against trace time (at most 4096 rows)')
    .option('--chart', 'draw RSS over trace time after the tables')
    .addHelpText(
      'after',
      `
Examples:
  heapsim replay traces/go1-Gob.csv
  heapsim replay traces/spike-gogc100-768.csv.gz --backend span-list --json
  gzip -dc big.csv.gz | heapsim replay - --emit ops.csv
  heapsim replay trace.csv --ulimit-v 4GiB     # exit 1 if the simulated heap runs out

Exit codes: 0 done, 1 simulated out of memory, 2 bad usage or bad input.`,
    )
    .action(async (trace: string, flags: ReplayFlags) => {
      process.exitCode = await replayCommand(trace, { ...flags, color: program.opts().color });
    });

  simulationOptions(program.command('compare'))
    .description('replay one trace (parsed once) on several backends and compare them side by side')
    .argument('<trace>', 'trace file (.csv or .csv.gz), or - for standard input')
    .option('--backends <list>', `comma-separated backends (default: all): ${backendNames.join(', ')}`)
    .option('--policy <name>', `one release policy for every backend (default trace): ${POLICIES.map((p) => p.name).join(', ')}`)
    .option('--policies <list>', 'comma-separated policies to compare (on the default backend unless --backends is given)')
    .option('--json', 'print an array of result objects (the replay --json schema, plus placementMatch)')
    .option('--chart', 'draw every backend\'s RSS over trace time after the table')
    .option('--lenient', 'skip bad rows instead of stopping at the first')
    .addHelpText(
      'after',
      `
The first backend is the baseline: every other column shows its difference from it
(green better, red worse), and a line per backend gives the share of allocations that
landed at the same address as on the baseline (placementMatch in --json).

Examples:
  heapsim compare traces/go1-Revcomp.csv
  heapsim compare traces/go1-Revcomp.csv --backends list,treap,treap-bestfit
  heapsim compare traces/spike-gogc100-768.csv.gz --backends treap-aoff,list --json
  heapsim compare traces/gen-spike.csv.gz --policies none,go1.11,go1.13,go1.19 --chart

Exit codes: 0 done, 1 a backend ran the simulated program out of memory, 2 bad input.`,
    )
    .action(async (trace: string, flags: CompareFlags) => {
      process.exitCode = await compareCommand(trace, { ...flags, color: program.opts().color });
    });

  program
    .command('gen')
    .description('generate a workload as a trace (streams; the same seed gives the same bytes)')
    .argument('<workload>', WORKLOADS.map((w) => w.name).join(', '))
    .option('--seed <n>', 'random seed', (v) => intFlag(v, '--seed'), 1)
    .option('--events <n>', 'rows to write', (v) => intFlag(v, '--events', 1))
    .option('--duration <time>', 'stop at this trace time (e.g. 10m, 90s)')
    .option('-o, --output <file>', 'write here instead of standard output')
    .addHelpText(
      'after',
      `
Workloads:
${WORKLOADS.map((w) => `  ${w.name.padEnd(11)} ${w.summary}\n  ${''.padEnd(11)} (${w.reproduces})`).join('\n')}

Examples:
  heapsim gen spike --duration 20m -o spike.csv
  heapsim gen large-heap --events 2000000 --seed 1 | heapsim replay - --backend treap
  heapsim gen fragmenter --events 100000 | gzip > frag.csv.gz`,
    )
    .action(async (workload: string, flags: GenFlags) => {
      process.exitCode = await genCommand(workload, flags);
    });

  program
    .command('check')
    .description('replay traces and fail when a metric regressed against a baseline file')
    .argument('<traces...>', 'trace files')
    .requiredOption('--baseline <file>', 'baseline JSON (written by --update-baseline)')
    .option('--backends <list>', 'comma-separated backends (default: all)')
    .option('--policy <name>', 'release policy', 'trace')
    .option('--tolerance <list>', 'relative tolerances, e.g. peakRssBytes=2%,latency.alloc.p99Work=10%,*=1% (default 1%; 5% for latency)')
    .option('--update-baseline', 'write the baseline from this run instead of checking')
    .option('--include-wall', 'also compare wall-clock latencies (noisy on shared machines)')
    .option('--json', 'print the report as JSON')
    .option('--lenient', 'skip bad rows')
    .addHelpText(
      'after',
      `
Exit codes: 0 nothing regressed, 1 a metric regressed (a table lists each), 2 bad input or
a baseline that does not match the traces.

Examples:
  heapsim check traces/*.csv* --baseline traces/baseline.json --update-baseline
  heapsim check traces/*.csv* --baseline traces/baseline.json --tolerance peakRssBytes=2%`,
    )
    .action(async (traces: string[], flags: CheckFlags) => {
      process.exitCode = await checkCommand(traces, { ...flags, color: program.opts().color });
    });

  program
    .command('policies')
    .description('list the release policies')
    .addHelpText('after', '\nExample:\n  heapsim policies')
    .action(() => {
      for (const p of POLICIES) process.stdout.write(`${p.name.padEnd(8)} ${p.summary}\n`);
    });

  program
    .command('backends')
    .description('list the page heap backends')
    .addHelpText('after', '\nExample:\n  heapsim backends')
    .action(() => {
      for (const b of backends()) {
        process.stdout.write(`${b.name.padEnd(14)} ${b.goVersion.padEnd(8)} ${b.summary}${b.aliases.length ? ` (aliases: ${b.aliases.join(', ')})` : ''}\n`);
      }
    });
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // A reader that closes the pipe early (`heapsim gen ... | head`) ends us quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    if (err instanceof HeapsimError) {
      process.stderr.write(`heapsim: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    throw err;
  }
}

await main(process.argv);
