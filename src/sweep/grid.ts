// A sweep's grid: which traces, which (backend, policy) configurations and which run
// options, and the cross product of them as a list of runs (docs/sweep.md).
//
// The grid file (JSON, schema heapsim.grid/1):
//   { "versions": ["go1.13", "go1.19"],          each: the backend and policy that Go release shipped
//     "backends": ["bitmap"], "policies": ["go1.19", "none"],   and/or: their cross product
//     "params": { "gogc": [50, 100], "physPageBytes": [4096, 65536] } }
// `params` keys are RunOptions keys, checked against src/options.ts RUN_OPTIONS: an option
// added there is sweepable with no change here. Values are checked by the option's kind
// (bytes and int: integers, or an int's word such as "off"; choice: one of its choices;
// flag: true or false); a kind this file does not know passes any JSON scalar on, for the
// replay to judge.
//
// Invariants:
// - Runs are in one deterministic order: traces by name, then configurations (versions
//   first, then backends x policies, duplicates dropped), then params by key name, each
//   key's values in the order given. A run's index is its place in that order.
// - A run's key hashes what it is (trace name, backend, policy, params), not where it
//   sits: the same run has the same key in every sweep that contains it.
// - The sweep id hashes the normalised grid and each trace's name and sha256: shards of
//   one sweep share it; shards of different grids or trace files do not.
// - Shard i of n holds the runs whose index is i mod n: each shard gets an even share of
//   every trace (runs on one trace cost alike), whatever the traces' sizes.

import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { UsageError } from '../errors.js';
import { RUN_OPTIONS, type OptionSpec } from '../options.js';
import { backends, findBackend } from '../heap/registry.js';
import { findPolicy, POLICIES } from '../policy/index.js';
import { eraBackend } from '../replay/replay.js';

export const GRID_SCHEMA = 'heapsim.grid/1';

/** A scalar a grid may give an option. */
export type ParamValue = number | string | boolean;

/** A (backend, policy) pair, with the Go release it is when it is one. */
export interface SweepConfig {
  backend: string;
  policy: string;
  /** The releases that shipped this pair: 'go1.19', or a range ('go1.9-go1.11') when several did; null when none. */
  version: string | null;
}

export interface Grid {
  configs: SweepConfig[];
  /** Option key -> the values swept, keys sorted. */
  params: [string, ParamValue[]][];
}

export interface SweepTrace {
  /** The file name: what runs and reports call the trace (unique in a sweep). */
  name: string;
  path: string;
  sha256: string;
}

export interface PlannedRun {
  index: number;
  key: string;
  trace: SweepTrace;
  config: SweepConfig;
  params: Record<string, ParamValue>;
}

export interface SweepPlan {
  /** Identifies grid + traces: every line of the sweep's results carries it. */
  id: string;
  traces: SweepTrace[];
  grid: Grid;
  runs: PlannedRun[];
}

const shortHash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

/** The minor release of a "go1.N" name (NaN for any other name). */
const minor = (name: string) => Number(/^go1\.(\d+)$/.exec(name)?.[1]);

/** The Go release's policy: the newest goX.Y policy not after it; older releases take the oldest (go1.11's covers 1.8-1.11). */
function versionPolicy(version: string): string | null {
  const goPolicies = POLICIES.map((p) => p.name)
    .filter((n) => Number.isInteger(minor(n)))
    .sort((a, b) => minor(a) - minor(b));
  const fits = goPolicies.filter((n) => minor(n) <= minor(version));
  return fits.length > 0 ? fits[fits.length - 1] : (goPolicies[0] ?? null);
}

/** Go releases from the oldest backend's era to the newest policy's, as "go1.N". */
function releasesModelled(): string[] {
  const first = Math.min(...backends().map((b) => Math.floor(b.era * 100 + 1e-9) - 100));
  const last = Math.max(...POLICIES.map((p) => minor(p.name)).filter(Number.isInteger));
  const out: string[] = [];
  for (let m = first; m <= last; m++) out.push(`go1.${m}`);
  return out;
}

/** The (backend, policy) a Go release is modelled by, or null: its era's backend under its own policy (go1.11's rule covers Go 1.8-1.11). */
function modelOfRelease(version: string): { backend: string; policy: string } | null {
  const backend = /^go1\.\d+$/.test(version) ? eraBackend(version) : null;
  const policy = backend !== null ? versionPolicy(version) : null;
  const own = policy !== null && (minor(policy) === minor(version) || (policy === 'go1.11' && minor(version) < 11));
  return backend !== null && policy !== null && own ? { backend, policy } : null;
}

/**
 * The releases a (backend, policy) pair models, if any, as one label: "go1.13", or a
 * range such as "go1.9-go1.11" when several releases ran the same backend under the same
 * policy. One pair has one label, however the grid named it (versions or backends and
 * policies).
 */
export function versionOf(backend: string, policy: string): string | null {
  const releases = releasesModelled().filter((v) => {
    const m = modelOfRelease(v);
    return m !== null && m.backend === backend && m.policy === policy;
  });
  if (releases.length === 0) return null;
  return releases.length === 1 ? releases[0] : `${releases[0]}-${releases[releases.length - 1]}`;
}

/**
 * A release heapsim models as a whole: a backend of its era and its own policy (go1.11's
 * rule covers Go 1.8-1.11). Go 1.14-1.18 ran the bitmap allocator under scavengers no
 * policy models, and releases after the newest policy are not modelled at all.
 */
function configOfVersion(version: string, where: string): SweepConfig {
  const model = modelOfRelease(version);
  if (model === null) {
    const modelled = POLICIES.map((p) => p.name).filter((n) => /^go1\.\d+$/.test(n));
    throw new UsageError(
      `${where}: "${version}" is not a Go release heapsim models (releases: go1.8-go1.11, under go1.11's policy, and ${modelled.filter((n) => n !== 'go1.11').join(', ')}; for another, name "backends" and "policies")`,
    );
  }
  return { ...model, version: versionOf(model.backend, model.policy) };
}

function stringList(value: unknown, where: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string'))
    throw new UsageError(`${where}: must be a non-empty list of names`);
  return value;
}

function configsOf(obj: Record<string, unknown>, file: string): SweepConfig[] {
  const versions = stringList(obj.versions, `${file}: versions`) ?? [];
  const bs = stringList(obj.backends, `${file}: backends`);
  const ps = stringList(obj.policies, `${file}: policies`);
  const configs = versions.map((v) => configOfVersion(v, `${file}: versions`));
  if (bs !== undefined || ps !== undefined || configs.length === 0) {
    const bNames = (bs ?? [backends()[backends().length - 1].name]).map((n) => findBackend(n).name);
    const pNames = (ps ?? ['trace']).map((n) => findPolicy(n).name);
    for (const backend of bNames) for (const policy of pNames) configs.push({ backend, policy, version: versionOf(backend, policy) });
  }
  const seen = new Set<string>();
  return configs.filter((c) => !seen.has(`${c.backend} ${c.policy}`) && seen.add(`${c.backend} ${c.policy}`));
}

/** One grid value checked against its option's kind, as the option takes it. */
function checkValue(spec: OptionSpec, v: unknown, where: string): ParamValue {
  const isInt = typeof v === 'number' && Number.isSafeInteger(v);
  switch (spec.kind) {
    case 'bytes':
      if (!isInt || v < 0) throw new UsageError(`${where}: takes a byte count (an integer), got ${JSON.stringify(v)}`);
      if (spec.choices !== undefined && !spec.choices.includes(String(v))) throw new UsageError(`${where}: takes ${spec.choices.join(', ')}, got ${v}`);
      return v;
    case 'int':
      if (spec.word !== undefined && (v === spec.word.text || v === spec.word.value)) return spec.word.value;
      if (!isInt || v < (spec.min ?? 0) || v > (spec.max ?? Infinity)) {
        const word = spec.word !== undefined ? ` or "${spec.word.text}"` : '';
        const range = spec.max === undefined ? `>= ${spec.min ?? 0}` : `from ${spec.min ?? 0} to ${spec.max}`;
        throw new UsageError(`${where}: takes an integer ${range}${word}, got ${JSON.stringify(v)}`);
      }
      return v;
    case 'choice':
      if (typeof v !== 'string' || !(spec.choices ?? []).includes(v))
        throw new UsageError(`${where}: takes ${(spec.choices ?? []).join(', ')}, got ${JSON.stringify(v)}`);
      return v;
    case 'flag':
      if (typeof v !== 'boolean') throw new UsageError(`${where}: takes true or false, got ${JSON.stringify(v)}`);
      return v;
    default:
      if (!['number', 'string', 'boolean'].includes(typeof v)) throw new UsageError(`${where}: takes a number, string or boolean, got ${JSON.stringify(v)}`);
      return v as ParamValue;
  }
}

function paramsOf(value: unknown, file: string): [string, ParamValue[]][] {
  if (value === undefined) return [];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UsageError(`${file}: params must be an object of option: [values]`);
  const specs = RUN_OPTIONS as Record<string, OptionSpec>;
  return Object.keys(value)
    .sort()
    .map((key) => {
      const spec = specs[key];
      if (spec === undefined)
        throw new UsageError(
          `${file}: params.${key} is not a run option (run options: ${Object.keys(specs).join(', ')}; backends and policies have keys of their own)`,
        );
      const raw = (value as Record<string, unknown>)[key];
      const list = Array.isArray(raw) ? (raw as unknown[]) : [raw];
      if (list.length === 0) throw new UsageError(`${file}: params.${key} has no values`);
      const values = list.map((v, i) => checkValue(spec, v, `${file}: params.${key}[${i}]`));
      if (new Set(values).size !== values.length) throw new UsageError(`${file}: params.${key} lists a value twice`);
      return [key, values];
    });
}

/** Checks a grid (already parsed JSON) and normalises it; `file` names it in errors. */
export function parseGrid(obj: unknown, file: string): Grid {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new UsageError(`${file}: a grid is a JSON object (docs/sweep.md)`);
  const o = obj as Record<string, unknown>;
  if (o.schema !== undefined && o.schema !== GRID_SCHEMA) throw new UsageError(`${file}: schema is ${JSON.stringify(o.schema)}, expected ${GRID_SCHEMA}`);
  const known = ['schema', 'versions', 'backends', 'policies', 'params', 'description'];
  const extra = Object.keys(o).filter((k) => !known.includes(k));
  if (extra.length > 0) throw new UsageError(`${file}: unknown key ${extra.map((k) => JSON.stringify(k)).join(', ')} (a grid has ${known.join(', ')})`);
  return { configs: configsOf(o, file), params: paramsOf(o.params, file) };
}

/** Reads and checks a grid file. */
export function readGrid(path: string): Grid {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read grid ${path}: ${(err as Error).message}`);
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${path}: not JSON: ${(err as Error).message}`);
  }
  return parseGrid(obj, path);
}

/** Every combination of the params, the last key varying fastest. */
function combinations(params: [string, ParamValue[]][]): Record<string, ParamValue>[] {
  let out: Record<string, ParamValue>[] = [{}];
  for (const [key, values] of params) out = out.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
  return out;
}

/** A run's key: what it is, hashed. */
export function runKey(trace: string, config: SweepConfig, params: Record<string, ParamValue>): string {
  return shortHash(JSON.stringify([trace, config.backend, config.policy, Object.entries(params).sort(([a], [b]) => (a < b ? -1 : 1))]));
}

/** Bytes hashed per read: a trace of any size is hashed in bounded memory. */
const HASH_CHUNK_BYTES = 1 << 20;

/** sha256 of a file's bytes, read a chunk at a time. */
function fileSha256(path: string): string {
  const hash = createHash('sha256');
  const buf = Buffer.alloc(HASH_CHUNK_BYTES);
  const fd = openSync(path, 'r');
  try {
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** The traces of a sweep, by file name; two files of one name are refused (runs name traces by file name). */
export function sweepTraces(paths: string[]): SweepTrace[] {
  const byName = new Map<string, SweepTrace>();
  for (const path of paths) {
    const name = basename(path);
    const prev = byName.get(name);
    if (prev !== undefined && prev.path !== path)
      throw new UsageError(`two traces are named ${name} (${prev.path}, ${path}): a sweep names traces by file name`);
    let sha256: string;
    try {
      sha256 = fileSha256(path);
    } catch (err) {
      throw new UsageError(`cannot read trace ${path}: ${(err as Error).message}`);
    }
    byName.set(name, { name, path, sha256 });
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** The sweep: every run of traces x configurations x params, in the one order. */
export function planSweep(traces: SweepTrace[], grid: Grid): SweepPlan {
  const combos = combinations(grid.params);
  const runs: PlannedRun[] = [];
  for (const trace of traces) {
    for (const config of grid.configs) {
      for (const params of combos) runs.push({ index: runs.length, key: runKey(trace.name, config, params), trace, config, params });
    }
  }
  const id = shortHash(JSON.stringify({ grid, traces: traces.map((t) => [t.name, t.sha256]) }));
  return { id, traces, grid, runs };
}

/** A shard: `i/n` with 0 <= i < n. */
export interface Shard {
  index: number;
  count: number;
}

/** Parses `--shard i/n`, or takes i from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) when only a count is given. */
export function parseShard(text: string | undefined, count: number | undefined, env: NodeJS.ProcessEnv = process.env): Shard | null {
  if (text !== undefined && count !== undefined) throw new UsageError('give --shard i/n or --shards n, not both');
  if (text !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(text.trim());
    if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2]))
      throw new UsageError(`--shard takes i/n with 0 <= i < n (0-based, as JOB_COMPLETION_INDEX), got "${text}"`);
    return { index: Number(m[1]), count: Number(m[2]) };
  }
  if (count === undefined) return null;
  const raw = env.JOB_COMPLETION_INDEX;
  if (raw === undefined || !/^\d+$/.test(raw) || Number(raw) >= count)
    throw new UsageError(
      `--shards ${count} takes the shard index from JOB_COMPLETION_INDEX, which is ${raw === undefined ? 'not set' : `"${raw}"`}: give --shard i/${count}`,
    );
  return { index: Number(raw), count };
}

/** The runs of one shard (all runs when shard is null). */
export function shardRuns(runs: PlannedRun[], shard: Shard | null): PlannedRun[] {
  return shard === null ? runs : runs.filter((r) => r.index % shard.count === shard.index);
}
