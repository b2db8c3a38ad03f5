// The checks `npm test` runs before jest: the build, the typecheck, ESLint and Prettier, in
// two lanes at once. Each tool is single-threaded, so run one after another they leave a
// core idle on the 2-core machines CI and development use; here ESLint (the longest, with
// type information) runs beside the build, the typecheck and Prettier in turn. Both lanes
// always run to the end of their first failure; the exit code is 1 when any step failed.
//
// Each step's output is kept and printed when it ends, under a line naming it and its
// time, so the two lanes' output never interleaves. What runs is the same as
// `npm run build && npm run typecheck && npm run lint`.

import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (pkg, file) => join(ROOT, 'node_modules', pkg, 'bin', file);

/** Each lane's steps, run in order; the lanes run at once. */
const LANES = [
  [{ name: 'eslint .', args: [bin('eslint', 'eslint.js'), '.'] }],
  [
    { name: 'tsc -p tsconfig.json', args: [bin('typescript', 'tsc'), '-p', 'tsconfig.json'] },
    { name: 'tsc -p tsconfig.test.json', args: [bin('typescript', 'tsc'), '-p', 'tsconfig.test.json'] },
    { name: 'prettier --check .', args: [bin('prettier', 'prettier.cjs'), '--check', '.'] },
  ],
];

/** Runs one step; resolves to whether it passed, after printing its output. */
function step({ name, args }) {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => out.push(c));
    child.on('error', (err) => out.push(Buffer.from(`${err.message}\n`)));
    child.on('close', (code) => {
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      process.stdout.write(`> ${name}: ${code === 0 ? 'ok' : `failed (exit ${code})`}, ${secs} s\n`);
      process.stdout.write(Buffer.concat(out));
      resolve(code === 0);
    });
  });
}

async function lane(steps) {
  for (const s of steps) if (!(await step(s))) return false;
  return true;
}

const passed = await Promise.all(LANES.map(lane));
process.exitCode = passed.every(Boolean) ? 0 : 1;
