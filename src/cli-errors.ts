// What the CLI says about an error that reached the top, and its exit code. One line for
// anything the user can fix (2); for a bug in heapsim (70, EX_SOFTWARE) one line saying
// so and how to get the stack trace, or the stack itself when HEAPSIM_DEBUG is set. A
// broken pipe on standard output (the reader went away) is no error at all.

import { CommanderError } from 'commander';
import { HeapsimError, InvariantError, OptionError } from './index.js';
import { flagOf } from './cli-args.js';
import { OutputError } from './io/outputs.js';

export const EXIT_USAGE = 2;
/** EX_SOFTWARE (sysexits.h): an internal software error. */
export const EXIT_INTERNAL = 70;

/** Messages of unexpected errors are cut: a bug must not flood the terminal. */
const MAX_MESSAGE_CHARS = 500;

export function describeError(err: unknown, debug: boolean): { exitCode: number; text: string } {
  // Commander has already printed its own one-line message.
  if (err instanceof CommanderError) return { exitCode: err.exitCode === 0 ? 0 : EXIT_USAGE, text: '' };
  // `--emit - | head`: the reader of standard output went away; end quietly, as for tables.
  if (err instanceof OutputError && err.path === '-' && err.code === 'EPIPE') return { exitCode: 0, text: '' };
  if (err instanceof OptionError) {
    const flag = flagOf(err.option);
    return { exitCode: err.exitCode, text: `heapsim: ${flag !== undefined ? `${flag}: ` : ''}${err.message}\n` };
  }
  if (err instanceof HeapsimError) return { exitCode: err.exitCode, text: `heapsim: ${err.message}\n` };
  if (err instanceof InvariantError) {
    return { exitCode: err.exitCode, text: `heapsim: ${err.message}\nheapsim: this is a bug in heapsim: please report it with the trace\n` };
  }
  if (debug) return { exitCode: EXIT_INTERNAL, text: `heapsim: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n` };
  const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return {
    exitCode: EXIT_INTERNAL,
    text: `heapsim: internal error: ${what.slice(0, MAX_MESSAGE_CHARS)}\nheapsim: this is a bug in heapsim; rerun with HEAPSIM_DEBUG=1 for the stack trace, and report it\n`,
  };
}
