// What reaches the top of the CLI: a user error is one `heapsim:` line and exit 2; a bug
// is one line saying so, how to get the stack, and exit 70 (never 1, which means a
// simulated out-of-memory or a regression).

import { CommanderError } from 'commander';
import { describeError } from '../src/cli-errors.js';
import { InvariantError, OptionError, TraceError, UsageError } from '../src/index.js';

describe('describeError', () => {
  test('a user error is its message on one line, exit 2', () => {
    expect(describeError(new UsageError('baseline b.json does not exist'), false)).toEqual({ exitCode: 2, text: 'heapsim: baseline b.json does not exist\n' });
    expect(describeError(new TraceError('t.csv', 4, 3, 'bad-number', 'pages must be an integer >= 1, got "-4"'), false)).toEqual({
      exitCode: 2,
      text: 'heapsim: t.csv:4:3: pages must be an integer >= 1, got "-4"\n',
    });
  });

  test('an option error names the flag that set it', () => {
    expect(describeError(new OptionError('physPageBytes', 'physical page size must be one of 4096, 16384, 65536, got 5000'), false).text).toBe(
      'heapsim: --phys-page: physical page size must be one of 4096, 16384, 65536, got 5000\n',
    );
    expect(describeError(new OptionError('timing', 'x'), false).text).toBe('heapsim: --timing: x\n');
  });

  test('an unexpected exception is an internal error: one line, a hint, exit 70, no stack', () => {
    const d = describeError(new RangeError('Invalid array length'), false);
    expect(d.exitCode).toBe(70);
    expect(d.text).toBe(
      'heapsim: internal error: RangeError: Invalid array length\nheapsim: this is a bug in heapsim; rerun with HEAPSIM_DEBUG=1 for the stack trace, and report it\n',
    );
    expect(describeError('thrown string', false).text).toMatch(/^heapsim: internal error: thrown string\n/);
    expect(describeError(new Error('x'.repeat(10_000)), false).text.length).toBeLessThan(700);
  });

  test('with HEAPSIM_DEBUG the stack is printed', () => {
    const d = describeError(new RangeError('boom'), true);
    expect(d.exitCode).toBe(70);
    expect(d.text).toMatch(/^heapsim: internal error: RangeError: boom\n\s+at /);
  });

  test('an invariant violation is a bug (70) with its own message; commander errors keep their code', () => {
    expect(describeError(new InvariantError('invariant violated at event 3'), false)).toEqual({
      exitCode: 70,
      text: 'heapsim: invariant violated at event 3\nheapsim: this is a bug in heapsim: please report it with the trace\n',
    });
    expect(describeError(new CommanderError(1, 'commander.unknownOption', 'x'), false)).toEqual({ exitCode: 2, text: '' });
    expect(describeError(new CommanderError(0, 'commander.helpDisplayed', ''), false)).toEqual({ exitCode: 0, text: '' });
  });
});
