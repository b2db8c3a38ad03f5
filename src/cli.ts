// The command line: parses flags, calls the library (src/index.ts), prints. Nothing
// here simulates or decides; each command handler is a few lines.
//
// Exit codes: 0 done; 1 the simulated program ran out of memory, or a gate found a
// regression; 2 bad usage or bad input (one `heapsim:` line, no stack); 70 an internal
// error — a bug in heapsim — printed as one line with how to get the stack
// (HEAPSIM_DEBUG=1).

import { Command, Option } from 'commander';
import {
  WORKLOADS,
  backends,
  baselineText,
  compareLoaded,
  compareFile,
  CsvEmitter,
  defaultBackend,
  findBackend,
  findPolicy,
  formatBytes,
  generate,
  listBundledTraces,
  bundledTracesDir,
  loadTrace,
  measureTraces,
  openTrace,
  packageVersion,
  planComparison,
  POLICIES,
  renderChart,
  renderCheck,
  renderCompare,
  oomMessage,
  renderReplay,
  replayReader,
  resolveTraceArg,
  record,
  describeEnding,
  Timeline,
  UsageError,
  buildReport,
  renderHtml,
  reportCompare,
  reportDocument,
  reportReplay,
  traceSection,
  type LoadedTrace,
  type ReplayResult,
  type ReportRun,
  type RecordResult,
  RUN_OPTIONS,
  expandTraces,
  parseShard,
  planSweep,
  readGrid,
  sweepTraces,
  runSweep,
  readResults,
  checkSameSweep,
  mergeResults,
  lineText,
  renderSweepReport,
  type Merged,
  type SweepPlan,
  type SweepSummary,
  type ComparePlan,
  type ReplayRunOutput,
} from './index.js';
import { checkOutputPlan, checkReplaceable, guardStandardStreams, openJournal, openOutput, writeOutputFile } from './io/outputs.js';
import { describeError } from './cli-errors.js';
import { errorReport, runCheck, type CheckMode, type CheckReport } from './check/check.js';
import { renderCheckMarkdown } from './report/check-markdown.js';
import { renderCheckJunit } from './report/junit.js';
import { HeapsimError } from './errors.js';
import { addRunOptions, parseDuration, parseInteger, runOptionsFrom } from './cli-args.js';
import { progressOn } from './cli-progress.js';
import { existsSync, rmSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Writable } from 'node:stream';

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** Standard output, as an output that must not be one of the inputs (`replay t.csv > t.csv`). */
const STDOUT = { flag: 'standard output', path: '-' };

const EXIT_OOM = 1;

function useColor(flag: boolean | undefined): boolean {
  if (flag === false || (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '')) return false;
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0') return true;
  return process.stdout.isTTY === true;
}

/** The size of a trace that is a regular file (its progress can be shown in percent), else undefined. */
function fileBytes(path: string): number | undefined {
  if (path === '-') return undefined;
  try {
    const st = statSync(path);
    return st.isFile() && st.size > 0 ? st.size : undefined;
  } catch {
    return undefined;
  }
}

/** `--chart` draws on the terminal; with `--json` it is left out, and the user is told so. */
function warnChartDropped(flags: CommonFlags, instead: string): void {
  if (flags.chart && flags.json) process.stderr.write(`heapsim: warning: --chart is not drawn with --json (${instead})\n`);
}

function printWarnings(warnings: string[]): void {
  for (const w of warnings) process.stderr.write(`heapsim: warning: ${w}\n`);
}

function printSkipped(r: ReplayResult): void {
  if (r.trace.skipped === 0) return;
  const kinds = Object.entries(r.trace.skippedByKind).map(([k, n]) => `${k}: ${n}`);
  process.stderr.write(`heapsim: --lenient skipped ${r.trace.skipped} bad rows (${kinds.join(', ')})\n`);
}

interface CommonFlags extends Record<string, unknown> {
  json?: boolean;
  chart?: boolean;
  lenient?: boolean;
  color?: boolean;
}

interface ReplayFlags extends CommonFlags {
  backend?: string;
  policy: string;
  emit?: string;
  timeline?: string;
  html?: string;
}

/** Writes an HTML report of one trace's runs (--html). */
function writeHtml(path: string, trace: LoadedTrace, reference: string, runs: ReportRun[]): void {
  const html = renderHtml(reportDocument([traceSection(trace, reference, runs)]));
  writeOutputFile(path, html);
  process.stderr.write(`heapsim: wrote ${path} (${formatBytes(Buffer.byteLength(html))})\n`);
}

/** replay --html: the trace is loaded whole (the report needs its time span), then replayed once. */
async function replayWithHtml(trace: string, html: string, flags: ReplayFlags, options: Parameters<typeof replayReader>[1]): Promise<ReplayResult> {
  const loaded = await loadTrace(trace, { lenient: flags.lenient, keepIds: flags.emit !== undefined });
  printWarnings(loaded.stats.warnings);
  const run = reportReplay(loaded, options ?? {}, '');
  run.label = `${run.result.backend}, ${run.result.policy}`;
  writeHtml(html, loaded, `${run.label} (the only run)`, [run]);
  return run.result;
}

async function replayCommand(trace: string, flags: ReplayFlags): Promise<number> {
  // With `--emit -` the rows own standard output; the tables or JSON go to standard error.
  const toStdout = flags.emit === '-';
  const outputs = [
    { flag: '--emit', path: flags.emit },
    { flag: '--timeline', path: flags.timeline },
    { flag: '--html', path: flags.html },
    ...(toStdout ? [] : [STDOUT]),
  ];
  checkOutputPlan({ inputs: [trace], outputs });
  findPolicy(flags.policy);
  warnChartDropped(flags, 'give --timeline FILE for the numbers behind it');
  const reader = flags.html === undefined ? await openTrace(trace, { lenient: flags.lenient, keepIds: flags.emit !== undefined }) : undefined;
  if (reader) printWarnings(reader.stats.warnings);
  const emit = flags.emit ? new CsvEmitter(flags.emit) : undefined;
  const timeline = flags.timeline || (flags.chart && !flags.json) ? new Timeline() : undefined;
  const totalBytes = fileBytes(trace);
  const p = progressOn(process.stderr, { fraction: totalBytes === undefined || !reader ? undefined : () => reader.bytesRead / totalBytes });
  let result: ReplayResult;
  try {
    const options = { ...runOptionsFrom(flags), backend: flags.backend, policy: flags.policy, emit, timeline, onProgress: p.onProgress };
    result = reader ? await replayReader(reader, options) : await replayWithHtml(trace, flags.html ?? '', flags, options);
  } catch (err) {
    emit?.abort();
    throw err;
  } finally {
    p.done();
  }
  emit?.close();
  if (timeline && flags.timeline) writeOutputFile(flags.timeline, timeline.toCsv());
  printOom([result]);
  printReplay(result, flags, toStdout ? process.stderr : process.stdout, timeline);
  printSkipped(result);
  return result.outcome === 'oom' ? EXIT_OOM : 0;
}

function printReplay(result: ReplayResult, flags: ReplayFlags, out: Writable, timeline: Timeline | undefined): void {
  const color = useColor(flags.color);
  if (flags.json) out.write(JSON.stringify(result, null, 2) + '\n');
  else out.write(renderReplay(result, { color }));
  if (flags.chart && timeline && !flags.json) {
    out.write(
      '\n' + renderChart(`RSS over trace time (${result.backend}, ${result.policy})`, [{ label: result.backend, points: timeline.rssPeaks() }], { color }),
    );
  }
}

interface CompareFlags extends CommonFlags {
  workers?: number;
  backends?: string;
  policy?: string;
  policies?: string;
  reserve?: string;
  wallClock?: boolean;
  html?: string;
}

/**
 * Refuses, before any work, a --reserve mode that some compared backend does not model,
 * saying in one line which backends take which modes (no silent partial comparison).
 */
function checkReserveModes(runs: { backend: string }[], reserve: string | undefined): void {
  if (reserve === undefined) return;
  const infos = [...new Set(runs.map((r) => r.backend))].map((name) => findBackend(name));
  const refusing = infos.filter((b) => !(b.reserveModes as string[]).includes(reserve));
  if (refusing.length === 0) return;
  const modes = infos.map((b) => `${b.name}: ${b.reserveModes.join('|')}`).join('; ');
  throw new UsageError(
    `--reserve ${reserve} is not modelled by ${refusing.map((b) => b.name).join(', ')} (reservation modes: ${modes}); choose the backends with --backends`,
  );
}

const list = (text: string | undefined): string[] | undefined => text?.split(',').map((n) => n.trim());

/** Turns per-run event counts (each run counts from 0) into one count across the runs. */
function acrossRuns(report: (events: number) => void): (events: number) => void {
  let before = 0;
  let last = 0;
  return (events) => {
    if (events < last) before += last;
    last = events;
    report(before + events);
  };
}

/** The runs of a comparison and their outputs: streamed on the worker pool, or (standard input, read once) in this thread. */
async function runComparison(trace: string, flags: CompareFlags): Promise<{ plan: ComparePlan; outputs: ReplayRunOutput[] }> {
  const chart = flags.chart === true && !flags.json;
  const given = { backends: list(flags.backends), policies: list(flags.policies ?? flags.policy) };
  if (trace === '-' || flags.html !== undefined) {
    // Standard input is read once; an HTML report needs the trace's time span before it draws.
    const loaded = await loadTrace(trace, { lenient: flags.lenient });
    printWarnings(loaded.stats.warnings);
    const plan = planComparison({ ...given, goVersion: loaded.meta.goVersion });
    const timelines = new Map<string, Timeline>();
    const timelineFor = (backend: string, policy: string) => timelines.set(`${backend} ${policy}`, new Timeline()).get(`${backend} ${policy}`);
    const p = progressOn(process.stderr, { fraction: (events) => (loaded.stats.events > 0 ? events / (loaded.stats.events * plan.runs.length) : undefined) });
    try {
      const options = { ...runOptionsFrom(flags), timelineFor: chart ? timelineFor : undefined, onProgress: p.onProgress && acrossRuns(p.onProgress) };
      let results: ReplayResult[];
      if (flags.html === undefined) results = compareLoaded(loaded, plan.runs, options);
      else {
        const runs = reportCompare(loaded, plan, options);
        writeHtml(flags.html, loaded, plan.reference, runs);
        results = runs.map((r) => r.result);
      }
      return { plan, outputs: results.map((result) => ({ result, rssPeaks: timelines.get(`${result.backend} ${result.policy}`)?.rssPeaks() })) };
    } finally {
      p.done();
    }
  }
  // The header alone: the trace's Go version picks the reference column.
  const header = await openTrace(trace, { lenient: flags.lenient });
  header.close();
  printWarnings(header.stats.warnings);
  const plan = planComparison({ ...given, goVersion: header.meta.goVersion });
  const p = progressOn(process.stderr);
  try {
    const outputs = await compareFile(trace, plan.runs, {
      ...runOptionsFrom(flags),
      workers: flags.workers,
      lenient: flags.lenient,
      timelines: chart,
      onProgress: p.onProgress,
    });
    return { plan, outputs };
  } finally {
    p.done();
  }
}

async function compareCommand(trace: string, flags: CompareFlags): Promise<number> {
  checkOutputPlan({ inputs: [trace], outputs: [{ flag: '--html', path: flags.html }, STDOUT] });
  if (flags.policy !== undefined && flags.policies !== undefined) throw new UsageError('give --policy or --policies, not both');
  // The columns are known before the trace is read; which is the reference (the trace's own era) after its header.
  checkReserveModes(planComparison({ backends: list(flags.backends), policies: list(flags.policies ?? flags.policy) }).runs, flags.reserve);
  warnChartDropped(flags, 'run replay --timeline FILE per backend for the numbers behind it');
  const { plan, outputs } = await runComparison(trace, flags);
  const results = outputs.map((o) => o.result);
  const label = (r: ReplayResult) => plan.label(r.backend, r.policy);
  const color = useColor(flags.color);
  if (flags.json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  else process.stdout.write(renderCompare(results, { color, reference: plan.reference, wallClock: flags.wallClock === true }, label));
  if (flags.chart && !flags.json) {
    const series = outputs.map((o) => ({ label: label(o.result), points: o.rssPeaks ?? [] }));
    process.stdout.write('\n' + renderChart(plan.fixed ? `RSS over trace time (${plan.fixed})` : 'RSS over trace time', series, { color }));
  }
  printOom(results);
  return results.some((r) => r.outcome === 'oom') ? EXIT_OOM : 0;
}

/** Out of memory is said first on standard error too, whatever went to standard output. */
function printOom(results: ReplayResult[]): void {
  for (const r of results) {
    const message = oomMessage(r);
    if (message !== null) process.stderr.write(`heapsim: ${message}\n`);
  }
}

interface GenFlags {
  seed: number;
  events?: number;
  duration?: string;
  output?: string;
  force?: boolean;
}

async function genCommand(workload: string, flags: GenFlags): Promise<number> {
  const path = flags.output ?? '-';
  checkOutputPlan({ inputs: [], outputs: [{ flag: '-o', path }] });
  checkReplaceable(path, flags.force === true, '-o');
  if (flags.events !== undefined && flags.duration !== undefined) throw new UsageError('give --events or --duration, not both');
  const options = { seed: flags.seed, events: flags.events, durationNs: flags.duration ? parseDuration(flags.duration) : undefined };
  if (path === '-') {
    await generate(workload, options, process.stdout);
    return 0;
  }
  const out = openOutput(path);
  try {
    await generate(workload, options, out.writable());
  } catch (err) {
    out.abort();
    throw err;
  }
  await out.commit();
  return 0;
}

interface CheckFlags {
  baseline: string;
  backends?: string;
  policy: string;
  tolerance?: string;
  sameTrace?: boolean;
  updateBaseline?: boolean;
  json?: boolean;
  jsonFile?: string;
  markdown?: string;
  junit?: string;
  includeWall?: boolean;
  lenient?: boolean;
  color?: boolean;
}

/** The report files a check writes, whatever its outcome. */
const checkReportFiles = (flags: CheckFlags) => [
  { flag: '--json-file', path: flags.jsonFile },
  { flag: '--markdown', path: flags.markdown },
  { flag: '--junit', path: flags.junit },
];

/** Writes the report everywhere asked: files, then standard output (JSON, or the table when there is one). */
function writeCheckReport(report: CheckReport, flags: CheckFlags): void {
  const json = JSON.stringify(report, null, 2) + '\n';
  if (flags.jsonFile !== undefined) writeOutputFile(flags.jsonFile, json);
  if (flags.markdown !== undefined) writeOutputFile(flags.markdown, renderCheckMarkdown(report));
  if (flags.junit !== undefined) writeOutputFile(flags.junit, renderCheckJunit(report));
  if (flags.json) process.stdout.write(json);
  else if (report.status !== 'error') process.stdout.write(renderCheck(report, { color: useColor(flags.color) }));
}

async function updateBaseline(traces: string[], flags: CheckFlags): Promise<number> {
  if (checkReportFiles(flags).some((o) => o.path !== undefined) || flags.json)
    throw new UsageError('--update-baseline writes the baseline only: drop --json, --json-file, --markdown and --junit');
  checkOutputPlan({ inputs: traces, outputs: [{ flag: '--baseline', path: flags.baseline }] });
  const entries = await measureTraces(traces, { backends: list(flags.backends), policy: flags.policy, includeWall: flags.includeWall, lenient: flags.lenient });
  writeOutputFile(flags.baseline, baselineText(entries));
  process.stderr.write(`heapsim: wrote ${plural(entries.length, 'entry', 'entries')} for ${plural(traces.length, 'trace', 'traces')} to ${flags.baseline}\n`);
  return 0;
}

async function checkCommand(traces: string[], flags: CheckFlags): Promise<number> {
  if (flags.updateBaseline) return updateBaseline(traces, flags);
  checkOutputPlan({ inputs: [...traces, flags.baseline], outputs: [...checkReportFiles(flags), STDOUT] });
  const mode: CheckMode = flags.sameTrace ? 'same-trace' : 'fresh';
  const options = {
    baseline: flags.baseline,
    tolerance: flags.tolerance,
    mode,
    backends: list(flags.backends),
    policy: flags.policy,
    includeWall: flags.includeWall,
    lenient: flags.lenient,
  };
  let report: CheckReport;
  try {
    report = await runCheck(traces, options);
  } catch (err) {
    // Bad input still leaves a report (exit 2, with the reason); the error line follows on stderr.
    if (!(err instanceof HeapsimError)) throw err;
    writeCheckReport(errorReport(mode, err.message), flags);
    throw err;
  }
  writeCheckReport(report, flags);
  return report.exitCode;
}

interface SweepFlags {
  traces: string[];
  grid: string;
  output?: string;
  workers?: number;
  shard?: string;
  shards?: number;
}

/** The runs already in the results file (the resume), and where appending starts. */
function resumeFrom(path: string, plan: SweepPlan): { done: Set<string>; keepBytes: number } {
  if (path === '-' || !existsSync(path) || !statSync(path).isFile()) return { done: new Set(), keepBytes: 0 };
  const file = readResults(path, 'drop');
  checkSameSweep([file], { sweep: plan.id, heapsim: packageVersion(), what: 'this sweep is' });
  if (file.truncatedTail) process.stderr.write(`heapsim: ${path}: dropped its cut-short last line (an interrupted run); that run is run again\n`);
  return { done: new Set(file.lines.map((l) => l.key)), keepBytes: file.keepBytes };
}

async function sweepCommand(flags: SweepFlags): Promise<number> {
  const traces = expandTraces(flags.traces, resolveTraceArg);
  const out = flags.output ?? '-';
  checkOutputPlan({ inputs: [...traces, flags.grid], outputs: [{ flag: '-o', path: out }] });
  const shard = parseShard(flags.shard, flags.shards);
  const plan = planSweep(sweepTraces(traces), readGrid(flags.grid));
  const { done, keepBytes } = resumeFrom(out, plan);
  // A results file this sweep creates and writes nothing to (it stopped at its first run) is removed again.
  const created = out !== '-' && !existsSync(out);
  let written = 0;
  const journal = openJournal(out, keepBytes);
  let runsFraction = 0;
  const p = progressOn(process.stderr, { fraction: () => runsFraction });
  const invalid = new Set<string>();
  const t0 = performance.now();
  let summary: SweepSummary;
  try {
    summary = await runSweep(plan, {
      version: packageVersion(),
      workers: flags.workers,
      shard,
      done,
      onLine: (line) => {
        journal.writeLine(lineText(line));
        written++;
        if (line.error !== undefined) invalid.add(line.error);
      },
      onProgress: (q) => {
        runsFraction = q.runsDone / q.runsTotal;
        p.onProgress?.(q.events);
      },
    });
  } finally {
    p.done();
    journal.close();
    if (created && written === 0 && done.size === 0) rmSync(out, { force: true });
  }
  const where = shard ? `shard ${shard.index}/${shard.count}: ` : '';
  const outcomes = [summary.oom > 0 ? `${summary.oom} out of memory` : '', summary.invalid > 0 ? `${summary.invalid} invalid` : ''].filter(Boolean).join(', ');
  process.stderr.write(
    `heapsim: sweep ${plan.id}: ${where}${plural(summary.shardRuns, 'run', 'runs')} of ${plan.runs.length}: ${summary.skipped} already in the results, ${summary.ran} run${outcomes ? ` (${outcomes})` : ''} on ${plural(summary.workers, 'worker', 'workers')} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
  );
  for (const reason of invalid) process.stderr.write(`heapsim: invalid run: ${reason}\n`);
  return 0;
}

/** Reads results files for merge and report: all of one sweep and heapsim version, merged in sweep order. */
function mergedInputs(files: string[]): Merged {
  return mergeResults(files.map((f) => readResults(f, 'refuse')));
}

/** merge -o onto existing sweep results: refused when it would drop runs the merge does not hold, unless --force. */
function checkMergeTarget(out: string, merged: Merged, force: boolean): void {
  if (force || out === '-' || !existsSync(out) || !statSync(out).isFile() || statSync(out).size === 0) return;
  let existing;
  try {
    existing = readResults(out, 'drop');
  } catch {
    return; // not sweep results: writeOutputFile's own rules apply
  }
  const keys = new Set(merged.lines.map((l) => l.key));
  const lost = existing.lines.filter((l) => !keys.has(l.key)).length;
  if (lost > 0)
    throw new UsageError(
      `merge -o ${out}: it holds ${plural(lost, 'run', 'runs')} the merged files do not: merge into another file, or give --force to replace it`,
    );
}

function mergeCommand(files: string[], flags: { output?: string; force?: boolean }): number {
  const out = flags.output ?? '-';
  checkOutputPlan({ inputs: files, outputs: [{ flag: '-o', path: out }] });
  const merged = mergedInputs(files);
  checkMergeTarget(out, merged, flags.force === true);
  const text = merged.texts.map((t) => t + '\n').join('');
  if (out === '-') process.stdout.write(text);
  else writeOutputFile(out, text);
  const sweep = merged.lines[0]?.sweep ?? '(empty)';
  process.stderr.write(`heapsim: merged ${merged.lines.length} of ${merged.runs} runs of sweep ${sweep} from ${plural(files.length, 'file', 'files')}\n`);
  if (merged.missing > 0) process.stderr.write(`heapsim: warning: ${merged.missing} runs are missing (a shard not given, or not finished)\n`);
  return 0;
}

/** report on sweep results: RSS against release CPU, the Pareto front (src/sweep/report.ts). */
function sweepReportCommand(inputs: string[], output: string): number {
  checkOutputPlan({ inputs, outputs: [{ flag: '-o', path: output }] });
  const merged = mergedInputs(inputs);
  const html = renderSweepReport(merged.lines, { title: `heapsim sweep ${merged.lines[0]?.sweep ?? ''}`, missing: merged.missing });
  if (output === '-') process.stdout.write(html);
  else writeOutputFile(output, html);
  process.stderr.write(
    `heapsim: wrote ${output === '-' ? 'standard output' : output} (${formatBytes(Buffer.byteLength(html))}, ${plural(merged.lines.length, 'run', 'runs')})\n`,
  );
  return 0;
}

function sweepPrograms(program: Command): void {
  program
    .command('sweep')
    .description('replay traces x backends/policies x run options (a grid file) on every core, one JSON line per run')
    .requiredOption('--traces <patterns...>', "trace files or patterns, quoted for heapsim to expand ('traces/*.csv.gz'), or bundled trace names")
    .requiredOption('--grid <file>', 'the grid: versions, backends, policies and params (run options) to cross (docs/sweep.md)')
    .option('-o, --output <file>', 'results (JSON lines); runs already in it are skipped and the rest appended (default: standard output)')
    .option('--workers <n>', 'worker threads (default: one per CPU)', (v) => parseInteger(v, '--workers', 1))
    .option('--shard <i/n>', 'run the runs whose index is i mod n (0 <= i < n): one of n machines')
    .option('--shards <n>', 'run shard JOB_COMPLETION_INDEX of n (a Kubernetes Indexed Job)', (v) => parseInteger(v, '--shards', 1))
    .addHelpText(
      'after',
      `
Grid file (JSON):
  { "versions": ["go1.13", "go1.19"],
    "params": { "memoryLimitBytes": [0, 536870912], "physPageBytes": [4096, 65536] } }
"versions" are Go releases (the backend and policy each shipped); "backends" and
"policies" cross instead; "params" keys are run options:
  ${Object.keys(RUN_OPTIONS).join(', ')}.

Each line: the run's sweep id, key, trace, backend, policy, params, outcome and every
deterministic figure. Interrupted? Run the same command again: it resumes.

Examples:
  heapsim sweep --traces 'traces/*.csv.gz' --grid grid.json -o results.jsonl
  heapsim sweep --traces 'traces/*.csv' --grid grid.json --shard 0/3 -o results-0.jsonl
  heapsim merge results-*.jsonl -o results.jsonl && heapsim report results.jsonl -o sweep.html`,
    )
    .action(async (flags: SweepFlags) => {
      process.exitCode = await sweepCommand(flags);
    });
  program
    .command('merge')
    .description('combine the results of a sweep run as shards (refuses shards of different grids, traces or heapsim versions)')
    .argument('<results...>', 'results files (JSON lines) of heapsim sweep')
    .option('-o, --output <file>', 'write here (default: standard output)')
    .option('--force', 'replace an -o file of sweep results that holds runs the inputs do not')
    .addHelpText('after', '\nExample:\n  heapsim merge results-*.jsonl -o results.jsonl')
    .action((files: string[], flags: { output?: string; force?: boolean }) => {
      process.exitCode = mergeCommand(files, flags);
    });
}

const TRACE_ARG_HELP = 'trace file (.csv or .csv.gz), - for standard input, or a bundled trace by name (heapsim traces)';

const backendNames = () => backends().map((b) => [b.name, ...b.aliases].join('|'));
const policyNames = () => POLICIES.map((p) => p.name).join(', ');

function replayProgram(program: Command): void {
  addRunOptions(program.command('replay'))
    .description('replay a trace through one backend and print summary, fragmentation and latency tables')
    .argument('<trace>', TRACE_ARG_HELP)
    .addOption(new Option('-b, --backend <name>', `page heap backend: ${backendNames().join(', ')}`).default(undefined, defaultBackend().name))
    .option('--policy <name>', `release policy: ${policyNames()}`, 'trace')
    .option('--json', 'print the result as one JSON object')
    .option('--lenient', 'skip bad rows (and report how many) instead of stopping at the first')
    .option(
      '--emit <file>',
      'write one CSV row per op and per policy release: seq,time,op,id,pages,addr,scavPages,releasedBytes,work,ns,trigger,modelNs (- for standard output; the tables or JSON then go to standard error)',
    )
    .option('--timeline <file>', 'write in-use, heap, RSS, released, VSIZE and limit against trace time (at most 4096 rows)')
    .option('--chart', 'draw RSS over trace time after the tables (not with --json)')
    .option('--html <file>', 'also write an HTML report of the run (one offline file; see heapsim report)')
    .addHelpText(
      'after',
      `
Examples:
  heapsim replay go1-Gob                        # a bundled trace, from any directory
  heapsim replay traces/spike-gogc100-768.csv.gz --backend span-list --json
  gzip -dc big.csv.gz | heapsim replay - --emit ops.csv
  heapsim replay go1-Gob --emit - | gzip > ops.csv.gz   # rows on stdout, tables on stderr
  heapsim replay trace.csv --ulimit-v 4GiB     # exit 1 if the simulated heap runs out

Exit codes: 0 done, 1 simulated out of memory, 2 bad usage or bad input.`,
    )
    .action(async (trace: string, flags: ReplayFlags) => {
      process.exitCode = await replayCommand(resolveTraceArg(trace), { ...flags, color: program.opts<{ color?: boolean }>().color });
    });
}

function compareProgram(program: Command): void {
  addRunOptions(program.command('compare'))
    .description('replay one trace (parsed once) on several backends and compare them side by side')
    .argument('<trace>', TRACE_ARG_HELP)
    .option('--backends <list>', `comma-separated backends (default: all): ${backendNames().join(', ')}`)
    .option('--policy <name>', `one release policy for every backend (default trace): ${policyNames()}`)
    .option('--policies <list>', 'comma-separated policies to compare (on the default backend unless --backends is given)')
    .option('--json', 'print an array of result objects (the replay --json schema, plus placementMatch)')
    .option('--chart', "draw every backend's RSS over trace time after the table (not with --json)")
    .option('--lenient', 'skip bad rows instead of stopping at the first')
    .option('--wall-clock', 'also show wall-clock latency (measured once per run, in run order: never coloured as better or worse)')
    .option('--html <file>', 'also write an HTML report of the runs (one offline file; see heapsim report)')
    .option('--workers <n>', 'worker threads, each streaming the trace through one run (default: one per CPU)', (v) => parseInteger(v, '--workers', 1))
    .addHelpText(
      'after',
      `
--reserve MODE must be a mode every compared backend models (heapsim backends lists
them); otherwise heapsim says which backends take which modes and exits 2.

The reference column is the backend of the trace's own era (go_version metadata), or the
first of --backends: every other column shows its difference from it (green better, red
worse), and a line per backend gives the share of allocations that landed at the same
address as on the reference (placementMatch in --json).

Examples:
  heapsim compare traces/go1-Revcomp.csv
  heapsim compare traces/go1-Revcomp.csv --backends list,treap,treap-bestfit
  heapsim compare traces/spike-gogc100-768.csv.gz --backends treap-aoff,list --json
  heapsim compare traces/gen-spike.csv.gz --policies none,go1.11,go1.13,go1.19 --chart

Exit codes: 0 done, 1 a backend ran the simulated program out of memory, 2 bad input.`,
    )
    .action(async (trace: string, flags: CompareFlags) => {
      process.exitCode = await compareCommand(resolveTraceArg(trace), { ...flags, color: program.opts<{ color?: boolean }>().color });
    });
}

interface ReportFlags extends Record<string, unknown> {
  backends?: string;
  policies?: string;
  output: string;
  lenient?: boolean;
  /** The flags given on the command line other than -o (sweep results take none). */
  givenFlags?: string[];
}

async function reportCommand(inputs: string[], flags: ReportFlags): Promise<number> {
  const sweeps = inputs.filter((f) => f.endsWith('.jsonl'));
  if (sweeps.length > 0 && sweeps.length < inputs.length) throw new UsageError('report: give traces or sweep results (.jsonl), not both');
  if (sweeps.length > 0) {
    // A sweep's runs are already made: nothing here would change them.
    const given = flags.givenFlags ?? [];
    if (given.length > 0)
      throw new UsageError(
        `report: ${given.join(', ')} ${given.length === 1 ? 'does' : 'do'} not apply to sweep results (their runs are made; the grid decides them)`,
      );
    return sweepReportCommand(sweeps, flags.output);
  }
  checkOutputPlan({ inputs, outputs: [{ flag: '-o', path: flags.output }] });
  const p = progressOn(process.stderr);
  let doc;
  try {
    const onProgress = p.onProgress && acrossRuns(p.onProgress);
    doc = await buildReport(inputs, {
      ...runOptionsFrom(flags),
      backends: list(flags.backends),
      policies: list(flags.policies),
      lenient: flags.lenient,
      onProgress,
    });
  } finally {
    p.done();
  }
  const html = renderHtml(doc);
  writeOutputFile(flags.output, html);
  const results = doc.sections.flatMap((s) => s.runs.map((r) => r.result));
  process.stderr.write(`heapsim: wrote ${flags.output} (${formatBytes(Buffer.byteLength(html))}, ${plural(results.length, 'run', 'runs')})\n`);
  printOom(results);
  return results.some((r) => r.outcome === 'oom') ? EXIT_OOM : 0;
}

function reportProgram(program: Command): void {
  addRunOptions(program.command('report'))
    .description('replay traces and write one offline HTML report: memory over time, the RSS gap explained, heap map, releases, latency, tables')
    .argument(
      '<inputs...>',
      'traces: files (.csv or .csv.gz), - for standard input, or bundled trace names (heapsim traces), each replayed on every run asked for; or sweep results (.jsonl from heapsim sweep, shards of one sweep allowed)',
    )
    .option('--backends <list>', `comma-separated backends: ${backendNames().join(', ')}`)
    .option('--policies <list>', `comma-separated release policies: ${policyNames()}`)
    .option('-o, --output <file>', 'the HTML file to write', 'report.html')
    .option('--lenient', 'skip bad rows instead of stopping at the first')
    .addHelpText(
      'after',
      `
Runs: as heapsim compare (several backends under one policy, several policies on one
backend, or both); the file inlines its chart library and data, and opens offline.

Examples:
  heapsim report traces/spike-gogc100-768.csv.gz --policies none,go1.13,go1.19 -o r.html
  heapsim report go1-Gob gen-fragmenter --backends list,treap-aoff,bitmap
  heapsim report results.jsonl -o sweep.html     (a sweep: RSS against release CPU, the Pareto front)

Exit codes: 0 done, 1 a run ran the simulated program out of memory, 2 bad input.`,
    )
    .action(async (inputs: string[], flags: ReportFlags, cmd: Command) => {
      const givenFlags = cmd.options
        .filter((o) => o.long !== '--output' && cmd.getOptionValueSource(o.attributeName()) === 'cli')
        .map((o) => o.long ?? o.flags);
      process.exitCode = await reportCommand(
        inputs.map((i) => (i.endsWith('.jsonl') ? i : resolveTraceArg(i))),
        { ...flags, givenFlags },
      );
    });
}

function genProgram(program: Command): void {
  program
    .command('gen')
    .description('generate a workload as a trace (streams; the same seed gives the same bytes)')
    .argument('<workload>', WORKLOADS.map((w) => w.name).join(', '))
    .option('--seed <n>', 'random seed', (v) => parseInteger(v, '--seed'), 1)
    .option('--events <n>', 'rows to write (not with --duration)', (v) => parseInteger(v, '--events', 1))
    .option('--duration <time>', 'stop at this trace time, e.g. 10m, 90s (not with --events)')
    .option('-o, --output <file>', 'write here instead of standard output')
    .option('--force', 'let -o replace a file that is not a heapsim trace')
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
}

function checkProgram(program: Command): void {
  program
    .command('check')
    .description('replay traces and fail when a metric regressed against a baseline file')
    .argument('<traces...>', 'trace files')
    .requiredOption('--baseline <file>', 'baseline JSON (written by --update-baseline)')
    .option('--backends <list>', 'comma-separated backends (default: all)')
    .option('--policy <name>', 'release policy', 'trace')
    .option('--tolerance <list>', 'relative tolerances by metric, e.g. peakRssBytes=2%,latency.alloc.p99Work=10%,*=5% (defaults: docs/ci.md)')
    .option('--same-trace', "the traces are the baseline's own files: any other trace is an error (exit 2), tolerances 1% (5% latency)")
    .option('--update-baseline', 'write the baseline from this run instead of checking')
    .option('--include-wall', 'also compare wall-clock latencies (noisy on shared machines)')
    .option('--json', 'print the report as JSON (also on exit 2, with an "error" field)')
    .option('--json-file <file>', 'write the JSON report to a file, whatever the outcome')
    .option('--markdown <file>', 'write the report as Markdown (for a CI job summary), whatever the outcome')
    .option('--junit <file>', 'write the report as JUnit XML (a test case per trace x backend x policy), whatever the outcome')
    .option('--lenient', 'skip bad rows')
    .addHelpText(
      'after',
      `
Modes: by default the traces are fresh recordings of the programs the baseline was made
from: the live heap (peak and final in-use bytes) is gated, lower is better; figures that
grow with the recording's length (ops, allocs, duration, faults, syscalls) are listed as
workload changes and judged normalised (normalised.rssPerInUse, normalised.workPerOp...).
--same-trace: the baseline was made from these very files (sha256 and trace figures must
match).

Exit codes: 0 nothing regressed, 1 a metric regressed (a table lists each), 2 bad input or
(--same-trace) a baseline made from other traces. Report files are written in every case.

Examples:
  heapsim check traces/*.csv* --baseline traces/baseline.json --update-baseline
  heapsim check trace.csv --baseline ci/baseline.json --markdown report.md --junit junit.xml; cat report.md >> "$GITHUB_STEP_SUMMARY"
  heapsim check traces/*.csv* --baseline traces/baseline.json --same-trace --tolerance peakRssBytes=2%`,
    )
    .action(async (traces: string[], flags: CheckFlags) => {
      process.exitCode = await checkCommand(traces.map(resolveTraceArg), { ...flags, color: program.opts<{ color?: boolean }>().color });
    });
}

interface RecordFlags {
  output?: string;
  test?: string;
  go?: string;
  gogc?: string;
  gomemlimit?: string;
  force?: boolean;
}

/** GOGC as Go reads it: a percentage or off. */
const GOGC = /^(off|\d+)$/;
/** GOMEMLIMIT as Go reads it: bytes with an optional B, KiB... TiB suffix, or off. */
const GOMEMLIMIT = /^(off|\d+(B|KiB|MiB|GiB|TiB)?)$/;

async function recordCommand(command: string[], flags: RecordFlags): Promise<number> {
  if (flags.gogc !== undefined && !GOGC.test(flags.gogc)) throw new UsageError(`--gogc takes a percentage or off, as GOGC does, got "${flags.gogc}"`);
  if (flags.gomemlimit !== undefined && !GOMEMLIMIT.test(flags.gomemlimit))
    throw new UsageError(`--gomemlimit takes a size as GOMEMLIMIT does (e.g. 512MiB, 2GiB, off), got "${flags.gomemlimit}"`);
  const target = flags.test === undefined ? command[0] : undefined;
  if (flags.test === undefined && target === undefined) throw new UsageError('give the program to record after --: heapsim record -- ./cmd/server [ARGS...]');
  const name = basename(flags.test ?? target ?? 'trace').replace(/\.go$/, '') || 'trace';
  const output = flags.output ?? `${name === '.' ? 'trace' : name}.csv.gz`;
  const result = await record({
    target,
    test: flags.test,
    args: flags.test === undefined ? command.slice(1) : command,
    output,
    force: flags.force,
    go: flags.go,
    gogc: flags.gogc,
    gomemlimit: flags.gomemlimit,
    onStep: (line) => process.stderr.write(`heapsim: ${line}\n`),
  });
  printRecordSummary(result);
  return result.exitStatus;
}

function printRecordSummary(r: RecordResult): void {
  const s = r.summary;
  const mib = (s.releasedBytes / 2 ** 20).toFixed(1);
  const lines = [
    `recorded ${r.program}: ${s.events} events in ${(s.durationNs / 1e9).toFixed(2)} s: ${plural(s.allocs, 'span', 'spans')} allocated, ${s.frees} freed, ` +
      `${plural(s.gcs, 'GC', 'GCs')}, ${mib} MiB released in ${plural(s.scavenges, 'range', 'ranges')}` +
      `${s.freeOSMemoryCalls > 0 ? ` and ${plural(s.freeOSMemoryCalls, 'FreeOSMemory call', 'FreeOSMemory calls')}` : ''}, ${plural(s.rssRows, 'rss sample', 'rss samples')}`,
    `the program ${describeEnding(s.ending)}; exit status ${r.exitStatus}`,
    ...(s.scavengeRaces > 0
      ? [
          `${plural(s.scavengeRaces, 'allocation', 'allocations')} ran while the scavenger was releasing memory outside the heap lock: ` +
            'a replay may place them, and what follows, elsewhere (if addrMatch is below 1, this is why)',
        ]
      : []),
    ...(s.freeOSMemoryOverlaps > 0
      ? [
          `${plural(s.freeOSMemoryOverlaps, 'span was', 'spans were')} allocated or freed while FreeOSMemory ran: ` +
            'its empty scavenge row releases what was free when it started, which may differ from what Go released',
        ]
      : []),
    ...(s.arenasLost > 0 ? [`the heap outgrew the recorder's arena table: rss rows leave out ${plural(s.arenasLost, 'arena', 'arenas')}`] : []),
    `wrote ${r.output}`,
    `next: heapsim replay ${r.output}`,
    `      heapsim compare ${r.output} --policies trace,go1.19,none`,
  ];
  process.stderr.write(lines.map((l) => `heapsim: ${l}\n`).join(''));
}

function recordProgram(program: Command): void {
  program
    .command('record')
    .description("build and run a Go program (or a package's tests) with a page-level recorder in its runtime, and write its trace")
    .argument('[command...]', 'after --: the program (a main package directory, .go file or import path) and its arguments; with --test, go test flags')
    .option('-o, --output <file>', 'the trace to write; .gz compresses (default: NAME.csv.gz in the current directory)')
    .option('--test <pkg>', "record the package's test binary (go test -c); arguments after -- are go test flags (-run, -bench, -benchtime...)")
    .option('--go <path>', 'the go command (default: go on PATH, else /usr/lib/go-1.19/bin/go)')
    .option('--gogc <percent>', "GOGC for the program (default: the environment's)")
    .option('--gomemlimit <size>', "GOMEMLIMIT for the program, e.g. 512MiB (default: the environment's)")
    .option('--force', 'let -o replace a file that is not a heapsim trace')
    .addHelpText(
      'after',
      `
The program runs with your arguments, environment, working directory and terminal; its
exit status is heapsim's (128+n when signal n killed it). Supported toolchains: Go 1.19.x
on linux (docs/recording.md).

Examples:
  heapsim record -o t.csv.gz -- ./testdata/spike
  heapsim record -o server.csv.gz --gomemlimit 512MiB -- ./cmd/server -listen :8080
  heapsim record --test ./pkg/cache -o bench.csv.gz -- -run '^$' -bench BenchmarkPut -benchtime 2000x
  heapsim replay t.csv.gz`,
    )
    .action(async (command: string[], flags: RecordFlags) => {
      process.exitCode = await recordCommand(command, flags);
    });
}

function listPrograms(program: Command): void {
  program
    .command('traces')
    .description('list the bundled traces: give a name to replay, compare or check from any directory')
    .addHelpText('after', '\nExamples:\n  heapsim traces\n  heapsim replay go1-Gob')
    .action(async () => {
      for (const t of await listBundledTraces()) {
        process.stdout.write(`${t.name.padEnd(24)} ${formatBytes(t.sizeBytes).padStart(10)}  ${t.program}\n`);
      }
      process.stdout.write(`(in ${bundledTracesDir()})\n`);
    });
  program
    .command('policies')
    .description('list the release policies')
    .addHelpText('after', '\nExample:\n  heapsim policies')
    .action(() => {
      for (const p of POLICIES) process.stdout.write(`${p.name.padEnd(8)} ${p.summary}\n         models: ${p.models}\n         leaves out: ${p.leavesOut}\n`);
    });
  program
    .command('backends')
    .description('list the page heap backends')
    .addHelpText('after', '\nExample:\n  heapsim backends')
    .action(() => {
      for (const b of backends()) {
        const aliases = b.aliases.length ? `; aliases: ${b.aliases.join(', ')}` : '';
        process.stdout.write(`${b.name.padEnd(14)} ${b.goVersion.padEnd(8)} ${b.summary} (--reserve ${b.reserveModes.join('|')}${aliases})\n`);
      }
    });
}

/**
 * Commander's usage error ("error: unknown option '--x'") as one heapsim line pointing at
 * the command's help, instead of the whole help text.
 */
function usageLine(text: string, cmd: Command): string {
  const name = cmd.parent ? `heapsim ${cmd.name()}` : 'heapsim';
  return `heapsim: ${text.trim().replace(/^error: /, '')} (see '${name} --help')\n`;
}

function buildProgram(): Command {
  const program = new Command('heapsim')
    .description("Replay page-level allocation traces through the Go runtime's page heaps on a simulated OS")
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--no-color', 'plain output (NO_COLOR is honoured too)')
    .exitOverride();
  replayProgram(program);
  compareProgram(program);
  reportProgram(program);
  genProgram(program);
  checkProgram(program);
  recordProgram(program);
  sweepPrograms(program);
  listPrograms(program);
  for (const cmd of [program, ...program.commands]) cmd.configureOutput({ outputError: (text, write) => write(usageLine(text, cmd)) });
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // EPIPE (`heapsim gen ... | head`) ends us quietly; other stdout errors are one line, exit 2.
  guardStandardStreams();
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    const { exitCode, text } = describeError(err, Boolean(process.env.HEAPSIM_DEBUG));
    process.stderr.write(text);
    process.exitCode = exitCode;
  }
}

await main(process.argv);
