/**
 * Jest runs the TypeScript sources directly: ESM through test/jest-transform.js (ts-jest,
 * transpiling only; `npm test` checks the types once, with `tsc -p tsconfig.test.json`,
 * before jest runs). Order: test/jest-sequencer.js.
 *
 * Workers: jest's default is one per CPU but one, which on a 2-CPU machine means one
 * process running every file in turn while the other CPU idles. The parent process does
 * next to nothing while workers run, so take every CPU from 2 up (and the default,
 * CPUs - 1, above 2).
 */
import { availableParallelism } from 'node:os';

const cpus = availableParallelism();

export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['<rootDir>/test/jest-transform.js', { useESM: true, tsconfig: 'tsconfig.test.json' }],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  maxWorkers: cpus <= 2 ? cpus : cpus - 1,
  testSequencer: '<rootDir>/test/jest-sequencer.js',
  testTimeout: 120000,
};
