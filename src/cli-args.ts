// Reading command-line arguments: sizes ("16GiB"), durations ("90s"), integers, and the
// simulation flags, which are derived from the library's one options table
// (src/options.ts RUN_OPTIONS) so that a flag and the option it sets cannot drift apart.
// Everything here names flags in its errors; the library below names options.

import { Option, type Command } from 'commander';
import { UsageError } from './errors.js';
import { RUN_OPTIONS, type OptionSpec, type RunOptions } from './options.js';

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

/** Parses "16GiB", "512MB", "65536" into bytes (K/M/G/T alone are binary). */
export function parseBytes(text: string, flag: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = match ? SIZE_UNITS[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new UsageError(`${flag} takes a size such as 65536, 512MiB or 16GiB, got "${text}"`);
  }
  return Math.round(Number(match[1]) * unit);
}

/** Parses "90s", "5m", "2h", "1500ms" or a number of seconds into nanoseconds. */
export function parseDuration(text: string, flag = '--duration'): number {
  const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag} takes a time such as 90s, 5m or 1h, got "${text}"`);
  const unit: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  return Math.round(Number(m[1]) * unit[m[2] ?? 's']);
}

export function parseInteger(value: string, flag: string, min = 0, max = Infinity): number {
  const range = max === Infinity ? `>= ${min}` : `from ${min} to ${max}`;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new UsageError(`${flag} takes an integer ${range}, got "${value}"`);
  return Number(value);
}

/** The parser of one table option's argument. */
function parserOf(spec: OptionSpec): ((value: string) => unknown) | undefined {
  const flag = `--${spec.flag}`;
  switch (spec.kind) {
    case 'bytes':
      return (v) => {
        const n = parseBytes(v, flag);
        if (spec.choices !== undefined && !spec.choices.includes(String(n))) throw new UsageError(`${flag} takes ${spec.choices.join(', ')}, got "${v}"`);
        return n;
      };
    case 'int':
      return (v) => (spec.word !== undefined && v === spec.word.text ? spec.word.value : parseInteger(v, flag, spec.min, spec.max));
    default:
      return undefined;
  }
}

/** Adds every simulation flag of the options table to a command. */
export function addRunOptions(cmd: Command): Command {
  for (const spec of Object.values(RUN_OPTIONS)) {
    const o = new Option(spec.kind === 'flag' ? `--${spec.flag}` : `--${spec.flag} <${spec.arg}>`, spec.help);
    const parse = parserOf(spec);
    if (spec.kind === 'choice' && spec.choices !== undefined) o.choices(spec.choices);
    else if (parse !== undefined) o.argParser(parse);
    if (spec.default !== undefined && spec.kind !== 'flag') o.default(spec.default);
    cmd.addOption(o);
  }
  return cmd;
}

/** The attribute commander stores a flag under: "phys-page" -> physPage, "no-timing" -> timing. */
function attributeOf(flag: string): string {
  return flag.replace(/^no-/, '').replace(/-([a-z])/g, (_m, ch: string) => ch.toUpperCase());
}

/** The run options the parsed flags set, keyed as the library knows them. */
export function runOptionsFrom(flags: Record<string, unknown>): Omit<RunOptions, 'backend' | 'policy'> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(RUN_OPTIONS)) {
    const v = flags[attributeOf(spec.flag)];
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** The flag that sets a library option, for error messages. */
export function flagOf(option: string): string | undefined {
  const spec = (RUN_OPTIONS as Record<string, OptionSpec>)[option];
  return spec === undefined ? (option === 'backend' || option === 'policy' ? `--${option}` : undefined) : `--${spec.flag.replace(/^no-/, '')}`;
}
