// The one table of run options: what a replay can be told, each option's default, and a
// line saying what it means. The engine, the OS layer and the policies take their
// defaults from DEFAULTS; the CLI derives its simulation flags from RUN_OPTIONS (flag
// name, argument kind, help line), so a flag and the option it sets cannot drift apart.
//
// Where a default is "the trace's own" (gogc, gomaxprocs, memory limit), the option is
// left undefined and resolveRunOptions() reads the trace's metadata, then falls back to
// DEFAULTS. Errors name options (`thp`, `reserve`), never command-line flags: the library
// has no flags; the CLI maps an OptionError back to the flag that set it.

import { HeapsimError } from './errors.js';

export type MadviseMode = 'dontneed' | 'free';
export type ThpMode = 'never' | 'madvise' | 'always';
export type ReserveMode = 'upfront' | 'pretend' | 'arenas';
/**
 * What the program is assumed to write into a span it allocates (src/os/touch.ts):
 * `needzero` what Go 1.19's runtime writes (allocNeedsZero), small spans whole, and the
 * first writtenPercent of each span fresh from the OS; `fit` the same, with
 * writtenPercent fitted to the trace's rss rows (src/replay/touch-fit.ts); `all` every
 * page of every span at allocation (heapsim's first model, kept to show its error).
 */
export type TouchMode = 'all' | 'needzero' | 'fit';

/** Everything a replay can be told besides the trace. */
export interface RunOptions {
  /** Page heap backend, by name or alias (default: the newest era, bitmap). */
  backend?: string;
  /** Release policy (default: the trace's own scavenge rows). */
  policy?: string;
  /** Seed for backends that draw random numbers (treap priorities). */
  seed?: number;
  /** Physical (kernel) page size: 4096, 16384 or 65536. */
  physPageBytes?: number;
  /** RLIMIT_AS (ulimit -v) in bytes; reservations count. Undefined: no limit. */
  ulimitVBytes?: number;
  /** How released pages leave RSS: MADV_DONTNEED at once, MADV_FREE lazily. */
  madvise?: MadviseMode;
  /** Transparent huge pages, as /sys/kernel/mm/transparent_hugepage/enabled says (default: the trace's `thp` metadata, else never). */
  thp?: ThpMode;
  /** Address-space strategy (default: the backend's era). */
  reserve?: ReserveMode;
  /** What the program writes into the spans it allocates (src/os/touch.ts). */
  touch?: TouchMode;
  /** Under touch `needzero`: the share, in percent, of a span fresh from the OS the program writes (from its start). */
  writtenPercent?: number;
  /** Measure wall time around each backend call. */
  timing?: boolean;
  /** GOGC for the heap goal; negative: off (default: the trace's gogc metadata, else 100). */
  gogc?: number;
  /** GOMAXPROCS (default: the trace's gomaxprocs metadata, else 1). */
  gomaxprocs?: number;
  /** Memory limit at start in bytes (default: the trace's memory_limit metadata, else none). */
  memoryLimitBytes?: number;
  /** retainExtraPercent: the retained goal's headroom over the heap goal (Go 1.13-1.19: 10). */
  retainExtraPercent?: number;
  /** scavengePercent: the share of GOMAXPROCS CPUs the go1.19 background scavenger aims at (Go: 1). */
  scavengerCpuPercent?: number;
  /** Verify the backend's and the OS's invariants after every operation (slow). */
  check?: boolean;
}

/** The defaults, in one place. */
export const DEFAULTS = {
  policy: 'trace',
  seed: 1,
  physPageBytes: 4096,
  madvise: 'dontneed' as MadviseMode,
  thp: 'never' as ThpMode,
  touch: 'needzero' as TouchMode,
  writtenPercent: 100,
  timing: true,
  gogc: 100,
  gomaxprocs: 1,
  retainExtraPercent: 10,
  scavengerCpuPercent: 1,
} as const;

/** The physical page sizes the OS layer models (x86-64, arm64 16 KiB and 64 KiB kernels). */
export const PHYS_PAGE_SIZES = [4096, 16384, 65536] as const;

/** How the CLI reads an option's argument. */
export type OptionKind = 'bytes' | 'int' | 'choice' | 'name' | 'flag';

export interface OptionSpec {
  /** The long flag, without dashes. */
  flag: string;
  /** The argument's placeholder in help (none for 'flag'). */
  arg?: string;
  kind: OptionKind;
  /** For 'choice' (and 'bytes'): the accepted values. */
  choices?: readonly string[];
  /** For 'int': the smallest value accepted. */
  min?: number;
  /** For 'int': the largest value accepted, if any. */
  max?: number;
  /** For 'int': a word accepted besides numbers, and the value it stands for. */
  word?: { text: string; value: number };
  /** The default shown in help (undefined: "the trace's own" or "none"). */
  default?: string | number | boolean;
  help: string;
}

/**
 * The simulation options every run command shares (backend and policy are per command:
 * replay takes one, compare a list), with how the CLI reads them.
 */
export const RUN_OPTIONS: { [K in Exclude<keyof RunOptions, 'backend' | 'policy'>]-?: OptionSpec } = {
  ulimitVBytes: { flag: 'ulimit-v', arg: 'size', kind: 'bytes', help: 'limit address space like RLIMIT_AS (e.g. 16GiB)' },
  physPageBytes: {
    flag: 'phys-page',
    arg: 'bytes',
    kind: 'bytes',
    choices: PHYS_PAGE_SIZES.map(String),
    default: DEFAULTS.physPageBytes,
    help: 'physical page size: 4096, 16384 or 65536',
  },
  reserve: {
    flag: 'reserve',
    arg: 'mode',
    kind: 'choice',
    choices: ['upfront', 'pretend', 'arenas'],
    help: "address space: upfront (whole arena at start, as in 2011), pretend (map on demand, Go 1.8), arenas (64 MiB at a time, Go 1.11+); default: the backend's era",
  },
  madvise: {
    flag: 'madvise',
    arg: 'mode',
    kind: 'choice',
    choices: ['dontneed', 'free'],
    default: DEFAULTS.madvise,
    help: 'how released pages leave RSS: dontneed (at once) or free (MADV_FREE: lazily; Go 1.12-1.15 on Linux)',
  },
  thp: {
    flag: 'thp',
    arg: 'mode',
    kind: 'choice',
    choices: ['never', 'madvise', 'always'],
    help: `transparent huge pages (2 MiB, 4 KiB pages only): never, madvise (what Debian 12 and Ubuntu report), always (commonly RHEL's); default: the trace's thp metadata (heapsim record writes it), else ${DEFAULTS.thp}`,
  },
  touch: {
    flag: 'touch',
    arg: 'model',
    kind: 'choice',
    choices: ['needzero', 'fit', 'all'],
    default: DEFAULTS.touch,
    help: "what is written into a span when it is allocated: needzero (what Go 1.19 zeroes, and --written of each span fresh from the OS), fit (needzero with --written fitted to the trace's rss rows), all (every page: heapsim's first model)",
  },
  writtenPercent: {
    flag: 'written',
    arg: 'pct',
    kind: 'int',
    min: 0,
    max: 100,
    help: `under --touch needzero only: the share, in percent (0-100), of each span fresh from the OS that the program writes, from its start (default: ${DEFAULTS.writtenPercent})`,
  },
  seed: { flag: 'seed', arg: 'n', kind: 'int', min: 0, default: DEFAULTS.seed, help: 'seed for backends with random choices' },
  gogc: {
    flag: 'gogc',
    arg: 'n',
    kind: 'int',
    min: 0,
    word: { text: 'off', value: -1 },
    help: `GOGC for the heap goal policies pace to (default: the trace's gogc metadata, else ${DEFAULTS.gogc}; "off")`,
  },
  gomaxprocs: {
    flag: 'gomaxprocs',
    arg: 'n',
    kind: 'int',
    min: 1,
    help: `CPUs whose 1% the go1.19 scavenger may use (default: the trace's gomaxprocs metadata, else ${DEFAULTS.gomaxprocs})`,
  },
  memoryLimitBytes: {
    flag: 'memory-limit',
    arg: 'size',
    kind: 'bytes',
    help: "memory limit at start (GOMEMLIMIT; 0: none; default: the trace's memory_limit metadata, else none; limit rows change it)",
  },
  retainExtraPercent: {
    flag: 'retain-extra',
    arg: 'pct',
    kind: 'int',
    min: 0,
    default: DEFAULTS.retainExtraPercent,
    help: "headroom, in percent, the go1.13 and go1.19 scavengers keep over the heap goal (Go's retainExtraPercent)",
  },
  scavengerCpuPercent: {
    flag: 'scavenger-cpu',
    arg: 'pct',
    kind: 'int',
    min: 1,
    default: DEFAULTS.scavengerCpuPercent,
    help: "CPU share, in percent, of the background scavenger (Go's scavengePercent): go1.19's controller aims at it of GOMAXPROCS CPUs, go1.13 paces at it of one CPU",
  },
  check: { flag: 'check', kind: 'flag', help: "verify the backend's and the OS's invariants after every operation and stop at the first violation (slow)" },
  timing: {
    flag: 'no-timing',
    kind: 'flag',
    default: DEFAULTS.timing,
    help: 'do not measure wall time per op (faster; wall-clock latency columns are left out)',
  },
};

/** An option the library cannot honour; `option` names the RunOptions key. */
export class OptionError extends HeapsimError {
  constructor(
    readonly option: keyof RunOptions,
    message: string,
  ) {
    super(message);
  }
}

/** What a trace says about the run it came from (its typed metadata: TraceMeta). */
export interface TraceRunDefaults {
  gogc: number;
  /** The THP mode the recorded process ran under (`# thp=`, written by heapsim record), or null. */
  thp: ThpMode | null;
  gomaxprocs: number | null;
  /** Infinity: the trace says there was no limit. */
  memoryLimitBytes: number | null;
}

/** The options of one run with every default applied. */
export interface ResolvedRunOptions {
  seed: number;
  physPageBytes: number;
  ulimitVBytes: number;
  madvise: MadviseMode;
  thp: ThpMode;
  touch: TouchMode;
  writtenPercent: number;
  timing: boolean;
  gogc: number;
  gomaxprocs: number;
  /** NaN: no limit. */
  memoryLimitBytes: number;
  retainExtraPercent: number;
  scavengerCpuPercent: number;
}

/** Applies the trace's metadata, then DEFAULTS, to what the caller left undefined. */
export function resolveRunOptions(options: Omit<RunOptions, 'backend'>, trace: TraceRunDefaults): ResolvedRunOptions {
  const physPageBytes = options.physPageBytes ?? DEFAULTS.physPageBytes;
  const thp = options.thp ?? trace.thp ?? DEFAULTS.thp;
  if (!(PHYS_PAGE_SIZES as readonly number[]).includes(physPageBytes)) {
    throw new OptionError('physPageBytes', `physical page size must be one of ${PHYS_PAGE_SIZES.join(', ')}, got ${physPageBytes}`);
  }
  if (thp !== 'never' && physPageBytes !== 4096) {
    throw new OptionError(
      'thp',
      `transparent huge pages (${thp}) are modelled as 2 MiB huge pages over 4 KiB pages only; the physical page size is ${physPageBytes}`,
    );
  }
  const limit = options.memoryLimitBytes ?? trace.memoryLimitBytes;
  const touch = options.touch ?? DEFAULTS.touch;
  const writtenPercent = options.writtenPercent ?? DEFAULTS.writtenPercent;
  if (!Number.isInteger(writtenPercent) || writtenPercent < 0 || writtenPercent > 100) {
    throw new OptionError('writtenPercent', `the written share is a whole percentage from 0 to 100, got ${writtenPercent}`);
  }
  if (options.writtenPercent !== undefined && touch !== 'needzero') {
    throw new OptionError(
      'writtenPercent',
      `the written share applies to touch needzero only (touch ${touch}: ${touch === 'fit' ? "the trace's rss rows choose it" : 'every page is written'})`,
    );
  }
  return {
    seed: options.seed ?? DEFAULTS.seed,
    physPageBytes,
    ulimitVBytes: options.ulimitVBytes ?? Infinity,
    madvise: options.madvise ?? DEFAULTS.madvise,
    thp,
    touch,
    writtenPercent,
    timing: options.timing ?? DEFAULTS.timing,
    gogc: options.gogc ?? trace.gogc,
    gomaxprocs: options.gomaxprocs ?? trace.gomaxprocs ?? DEFAULTS.gomaxprocs,
    // 0, like a limit row of 0 bytes, means no limit.
    memoryLimitBytes: limit !== null && Number.isFinite(limit) && limit > 0 ? limit : NaN,
    retainExtraPercent: options.retainExtraPercent ?? DEFAULTS.retainExtraPercent,
    scavengerCpuPercent: options.scavengerCpuPercent ?? DEFAULTS.scavengerCpuPercent,
  };
}
