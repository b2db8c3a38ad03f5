// The in-memory form of trace events.
//
// Events travel from the reader to the replay engine in columnar batches of typed
// arrays, so the hot replay loop reads numbers and never allocates an object per event.
// A span id is interned by the reader into a small integer `slot`: the slot is unique
// among live spans and is handed out again after the span is freed, exactly as the
// format allows ids to be reused. Numbers that are "not given" are stored as -1.
//
// A batch's columns share one ArrayBuffer (`buffer`), so a batch parsed on a worker
// thread (worker.ts) moves to the replaying thread as one transfer, without a copy.
//
// Addresses are JavaScript numbers: a 48-bit address space fits in the 53 bits of a
// double exactly, so no BigInt is needed anywhere on the event path.

export const OP_ALLOC = 0;
export const OP_FREE = 1;
export const OP_SCAVENGE = 2;
export const OP_GC = 3;
export const OP_LIMIT = 4;
/** A measurement, not an event: the recorded process's resident heap bytes (and huge-page bytes). */
export const OP_RSS = 5;
/** Indexed by op code. */
export const OP_NAMES = ['alloc', 'free', 'scavenge', 'gc', 'limit', 'rss'] as const;

/** A value that the row did not give (empty cell or absent column). */
export const NOT_GIVEN = -1;

/** Bytes per event across the columns: six Float64 columns, two Int32 and one Uint8. */
const BYTES_PER_EVENT = 6 * 8 + 2 * 4 + 1;

export class EventBatch {
  length = 0;
  /** The one buffer every column views. */
  readonly buffer: ArrayBuffer;
  readonly time: Float64Array;
  readonly op: Uint8Array;
  /** Interned span id: the same slot from an alloc to its free. */
  readonly slot: Int32Array;
  readonly pages: Float64Array;
  readonly bytes: Float64Array;
  readonly p: Int32Array;
  /** On alloc: where the recorded program got the span; on scavenge: the base of the released range. */
  readonly addr: Float64Array;
  /** On rss rows: the bytes backed by transparent huge pages (`huge` column). */
  readonly huge: Float64Array;
  /** 1-based line of the row in its file, for messages. */
  readonly line: Float64Array;
  /** The id token as written, for --emit; '' when the row has none (empty unless the reader keeps ids). */
  readonly ids: string[];

  /** A new batch, or (given `buffer`, from another batch of this capacity) a view of that batch's columns. */
  constructor(
    readonly capacity: number,
    buffer?: ArrayBuffer,
  ) {
    this.buffer = buffer ?? new ArrayBuffer(capacity * BYTES_PER_EVENT);
    const f64 = (k: number) => new Float64Array(this.buffer, k * 8 * capacity, capacity);
    const i32 = (k: number) => new Int32Array(this.buffer, 6 * 8 * capacity + k * 4 * capacity, capacity);
    this.time = f64(0);
    this.pages = f64(1);
    this.bytes = f64(2);
    this.addr = f64(3);
    this.huge = f64(4);
    this.line = f64(5);
    this.slot = i32(0);
    this.p = i32(1);
    this.op = new Uint8Array(this.buffer, (6 * 8 + 2 * 4) * capacity, capacity);
    this.ids = new Array<string>(capacity);
  }
}

/** What the metadata comments and header said. */
export interface TraceMeta {
  /** Name shown in messages: the path, or `<stdin>`. */
  file: string;
  /** Runtime page size in bytes (`# page_size=`, default 8192). */
  pageBytes: number;
  /** GOGC from `# gogc=`, default 100; -1 for `off`. */
  gogc: number;
  /** The recorded program's GOMAXPROCS (`# gomaxprocs=`, an integer >= 1), or null when not given. */
  gomaxprocs: number | null;
  /** The recorded program's Go version (`# go_version=`, e.g. `go1.19.8`), or null when not given. */
  goVersion: string | null;
  /**
   * The GOMEMLIMIT the program started with, in bytes (`# memory_limit=`); Infinity for
   * no limit (`off`, or Go's default 9223372036854775807); null when not given.
   */
  memoryLimitBytes: number | null;
  /**
   * The transparent-huge-page mode the recorded process ran under (`# thp=never|madvise|always`),
   * or null. Not a key of the normative format: heapsim record writes it, and a value other
   * than the three is a warning, as an unknown key would be no error.
   */
  thp: 'never' | 'madvise' | 'always' | null;
  /** Every `# key=value` before the header, as written. */
  metadata: Record<string, string>;
  columns: string[];
  unknownColumns: string[];
  hasAddr: boolean;
  hasP: boolean;
  hasHuge: boolean;
}

/** Rows read (lines that are neither empty nor comments) and rows skipped (only under lenient reading) by kind. */
export interface ReadStats {
  rows: number;
  events: number;
  skipped: number;
  skippedByKind: Record<string, number>;
  warnings: string[];
}
