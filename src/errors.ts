// User-facing errors.
//
// Anything the user can fix (a bad flag, a malformed trace, a baseline that does not
// match) is a HeapsimError: the CLI prints its message alone, without a stack, and exits
// with `exitCode` (2). Everything else that escapes is a bug in heapsim and is printed
// with its stack.

export class HeapsimError extends Error {
  readonly exitCode: number = 2;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A flag or argument that does not make sense. */
export class UsageError extends HeapsimError {}

/** Kinds of trace error, used to count rows skipped under --lenient. */
export type TraceErrorKind =
  | 'encoding'
  | 'line-ending'
  | 'line-too-long'
  | 'quote'
  | 'header'
  | 'metadata'
  | 'bad-number'
  | 'bad-op'
  | 'bad-addr'
  | 'missing-cell'
  | 'extra-cells'
  | 'not-live'
  | 'already-live'
  | 'pages-mismatch'
  | 'time-backwards';

/** A trace that breaks trace format v1, located as `file:line:column`. */
export class TraceError extends HeapsimError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly kind: TraceErrorKind,
    readonly detail: string,
  ) {
    super(`${file}:${line}:${column}: ${detail}`);
  }
}
