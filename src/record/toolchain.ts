// The Go toolchain a recording builds with: which `go`, which version, which GOROOT, and
// which recorder directory (recorder/go1.NN/) serves that version.
//
// Invariants:
// - Nothing is built before the version is known: an unsupported toolchain, OS or
//   architecture is a RecordError naming what is supported, never a partial recording.
// - A version is supported when recorder/<go1.NN>/ exists with its sites.json; adding a
//   version is adding a directory (and its sites), nothing here.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { HeapsimError } from '../errors.js';
import { packageRoot } from '../traces.js';

/** Recording could not be set up or run (toolchain, build, runtime sources): exit 2. */
export class RecordError extends HeapsimError {}

/** Where Debian's golang-1.19-go puts the toolchain; tried when `go` is not on PATH. */
export const DEBIAN_GO = '/usr/lib/go-1.19/bin/go';

/** The recorder's Go directories, one per supported minor version. */
export function recorderRoot(): string {
  return join(packageRoot(), 'recorder');
}

/** Supported versions, e.g. ['go1.19'] (the directories in recorder/). */
export function supportedVersions(): string[] {
  const root = recorderRoot();
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((d) => /^go\d+\.\d+$/.test(d) && existsSync(join(root, d, 'sites.json')))
    .sort();
}

export interface Toolchain {
  /** The go command. */
  go: string;
  /** e.g. go1.19.8 */
  version: string;
  /** e.g. go1.19: the recorder directory's name. */
  minor: string;
  goroot: string;
  goos: string;
  goarch: string;
  /** recorder/<minor>/ */
  recorderDir: string;
}

/** The go command to use: --go, else `go` on PATH, else Debian's Go 1.19. */
function pickGo(explicit: string | undefined): string {
  if (explicit !== undefined) return explicit;
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
    return 'go';
  } catch {
    if (existsSync(DEBIAN_GO)) return DEBIAN_GO;
    throw new RecordError(`no Go toolchain: \`go\` is not on PATH and ${DEBIAN_GO} is missing; install Go (${supportedList()}) or give --go PATH`);
  }
}

const supportedList = () => `supported: ${supportedVersions().join(', ') || 'none'}.x on linux`;

/** Runs `go env` for the four variables a recording needs. */
function goEnv(go: string): { version: string; goroot: string; goos: string; goarch: string } {
  let out: string;
  try {
    out = execFileSync(go, ['env', 'GOVERSION', 'GOROOT', 'GOOS', 'GOARCH'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new RecordError(`cannot run ${go} env: ${(err as Error).message.split('\n')[0]}`);
  }
  const [version, goroot, goos, goarch] = out.trim().split('\n');
  return { version, goroot, goos, goarch };
}

/** Detects the toolchain and checks heapsim can record with it. */
export function detectToolchain(explicitGo?: string): Toolchain {
  const go = pickGo(explicitGo);
  const env = goEnv(go);
  const m = /^(go\d+\.\d+)(?:\.\d+)?$/.exec(env.version);
  if (m === null || !supportedVersions().includes(m[1])) {
    throw new RecordError(`${go} is ${env.version || 'of an unknown version'}; heapsim record needs one whose runtime it knows (${supportedList()})`);
  }
  if (env.goos !== 'linux') throw new RecordError(`GOOS=${env.goos}: heapsim record runs on linux only (mincore, /proc)`);
  return { go, version: env.version, minor: m[1], goroot: env.goroot, goos: env.goos, goarch: env.goarch, recorderDir: join(recorderRoot(), m[1]) };
}
