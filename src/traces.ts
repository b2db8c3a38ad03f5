// The traces bundled with heapsim (the package's traces/ directory) and the package's own
// metadata, found relative to this module so that they work from any working directory,
// from a checkout (src/ under jest, dist/src/ when built) and from an installed tarball.
//
// Invariants:
// - resolveTraceArg() never shadows a real file: an argument naming an existing path (or
//   `-`, standard input) is returned unchanged; only an argument that names nothing and
//   has no directory part is looked up among the bundled traces, by file name with or
//   without its extension (`go1-Gob`, `go1-Gob.csv`, `gen-spike`).
// - listBundledTraces() reads each trace's metadata lines only (the reader stops at the
//   header row), so listing costs the same whatever the traces' sizes.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openTrace } from './trace/reader.js';

/** Extensions a bundled trace may carry, longest first so `.csv.gz` is cut whole. */
const TRACE_EXTENSIONS = ['.csv.gz', '.csv'] as const;

/** The directory holding heapsim's package.json: the nearest ancestor of this module with one. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** The version in heapsim's package.json (what `heapsim --version` prints). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** The directory of the bundled traces. */
export function bundledTracesDir(): string {
  return join(packageRoot(), 'traces');
}

/** A bundled trace's name: its file name without the trace extension. */
function traceName(file: string): string | undefined {
  const ext = TRACE_EXTENSIONS.find((e) => file.endsWith(e));
  return ext === undefined ? undefined : file.slice(0, -ext.length);
}

/** The bundled trace files, sorted by name. */
function bundledFiles(): string[] {
  const dir = bundledTracesDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => traceName(f) !== undefined)
    .sort();
}

/**
 * The path a TRACE argument means: the argument itself when it names an existing file (or
 * is `-`), else the bundled trace it names (`go1-Gob`, `go1-Gob.csv`), else the argument
 * unchanged, for the reader to report as missing.
 */
export function resolveTraceArg(arg: string): string {
  if (arg === '-' || existsSync(arg) || basename(arg) !== arg) return arg;
  const file = bundledFiles().find((f) => f === arg || traceName(f) === arg);
  return file === undefined ? arg : join(bundledTracesDir(), file);
}

export interface BundledTrace {
  /** The name to give `heapsim replay`: the file name without its extension. */
  name: string;
  path: string;
  sizeBytes: number;
  /** The trace's `program` metadata: what it was recorded from or generated as. */
  program: string;
  /** The trace's `source` metadata: the recorder, or the `heapsim gen` command. */
  source: string;
}

/** The bundled traces with their metadata, sorted by name. */
export async function listBundledTraces(): Promise<BundledTrace[]> {
  const out: BundledTrace[] = [];
  for (const file of bundledFiles()) {
    const path = join(bundledTracesDir(), file);
    const reader = await openTrace(path);
    reader.close();
    const { metadata } = reader.meta;
    out.push({ name: traceName(file) ?? file, path, sizeBytes: statSync(path).size, program: metadata.program ?? '', source: metadata.source ?? '' });
  }
  return out;
}
