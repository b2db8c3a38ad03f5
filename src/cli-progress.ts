// Progress on standard error while a replay runs, for the CLI. Shown only on a terminal
// and only once a run has taken PROGRESS_DELAY_MS, so short runs and pipes stay silent.
// When the amount of work is known (the trace is a regular file, or it is already in
// memory) the line shows the share done and an ETA; otherwise events and their rate.
//
// Invariants: nothing is written when the stream is not a TTY; the line is redrawn in
// place (`\r`) at most every REDRAW_MS, and done() erases it only if it was drawn.

/** Runs shorter than this print no progress: a line that flashes and vanishes is noise. */
const PROGRESS_DELAY_MS = 1000;
/** Redraws at most 4 times a second: enough to look alive, cheap against the replay. */
const REDRAW_MS = 250;

/** Where progress goes: process.stderr, or a fake in tests. */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export interface ProgressSource {
  /** The share of the work done, in [0, 1], or undefined when the total is not known. */
  fraction?: (events: number) => number | undefined;
  /** The clock, in milliseconds (performance.now; tests pass their own). */
  now?: () => number;
}

export interface Progress {
  onProgress?: (events: number) => void;
  done(): void;
}

/** "42s", "3m05s", "1h02m". */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The progress line after `elapsedMs`, with `events` replayed and `fraction` of the work done if known. */
export function progressLine(events: number, elapsedMs: number, fraction: number | undefined): string {
  const rate = Math.round(events / (elapsedMs / 1000));
  const counts = `${events.toLocaleString('en-US')} events, ${rate.toLocaleString('en-US')} events/s`;
  if (fraction === undefined || !(fraction > 0)) return counts;
  const f = Math.min(fraction, 1);
  const etaSeconds = ((elapsedMs / 1000) * (1 - f)) / f;
  return `${(f * 100).toFixed(1)}%, ${counts}, ETA ${formatEta(etaSeconds)}`;
}

/** A progress reporter on `stream` (silent unless it is a terminal). */
export function progressOn(stream: ProgressStream, source: ProgressSource = {}): Progress {
  if (stream.isTTY !== true) return { done() {} };
  const now = source.now ?? (() => performance.now());
  const start = now();
  let last = start;
  let shown = false;
  return {
    onProgress(events: number) {
      const t = now();
      if (t - start < PROGRESS_DELAY_MS || t - last < REDRAW_MS) return;
      last = t;
      shown = true;
      stream.write(`\r${progressLine(events, t - start, source.fraction?.(events))} \x1b[K`);
    },
    done() {
      if (shown) stream.write('\r\x1b[K');
    },
  };
}
