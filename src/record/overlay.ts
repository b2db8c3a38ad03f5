// The build overlay: copies of the user's own runtime files with one-line calls to the
// recorder inserted, plus the recorder's Go file, mapped for `go build -overlay`.
//
// Invariants:
// - Nothing of the runtime is stored in heapsim: the copies are made from the GOROOT of
//   the toolchain being used, at record time, into a temporary directory.
// - Each site (recorder/<version>/sites.json) is found by its function's first line and
//   then its anchors, in order, as whole statements (whitespace trimmed). A site found any
//   number of times other than its `count` is a RecordError naming the site, the file and
//   the supported versions: a runtime that moved is refused, never recorded partially.
// - The call goes on the anchor's own line (`anchor; call` or `call; anchor`), so every
//   runtime line keeps its number in tracebacks.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RecordError, supportedVersions, type Toolchain } from './toolchain.js';

export interface Site {
  what: string;
  file: string;
  func: string;
  anchors: string[];
  place: 'before' | 'after';
  call: string;
  count: number;
}

export interface Sites {
  version: string;
  recorder: string;
  goos: string[];
  sites: Site[];
}

export function readSites(recorderDir: string): Sites {
  return JSON.parse(readFileSync(join(recorderDir, 'sites.json'), 'utf8')) as Sites;
}

/** The lines [start, end) of the function whose declaration starts with `header`. */
function functionLines(lines: string[], header: string): [number, number] | null {
  const start = lines.findIndex((l) => l.startsWith(header));
  if (start < 0) return null;
  // The body ends at the first line that is a lone closing brace at column 0.
  for (let i = start + 1; i < lines.length; i++) if (lines[i] === '}') return [start, i + 1];
  return null;
}

/** Lines where the site's anchor sequence completes, inside [from, to). */
function anchorLines(lines: string[], from: number, to: number, anchors: string[]): number[] {
  const found: number[] = [];
  let k = 0;
  for (let i = from; i < to; i++) {
    if (lines[i].trim() !== anchors[k]) continue;
    if (++k === anchors.length) {
      found.push(i);
      k = 0;
    }
  }
  return found;
}

function siteError(tc: Toolchain, site: Site, detail: string): RecordError {
  return new RecordError(
    `the ${tc.version} runtime in ${tc.goroot} does not match what heapsim's recorder expects: ${site.file}: ${site.func}...): ${detail} ` +
      `(site: ${site.what}). Supported: ${supportedVersions().join(', ')}.x as released; a patched runtime cannot be recorded`,
  );
}

/** Applies the sites of one runtime file to its text; returns the new text. */
export function applySites(tc: Toolchain, text: string, sites: Site[]): string {
  const lines = text.split('\n');
  for (const site of sites) {
    const span = functionLines(lines, site.func);
    if (span === null) throw siteError(tc, site, 'function not found');
    const at = anchorLines(lines, span[0], span[1], site.anchors);
    if (at.length !== site.count) {
      throw siteError(tc, site, `statement ${JSON.stringify(site.anchors[site.anchors.length - 1])} found ${at.length} times, expected ${site.count}`);
    }
    for (const i of at) lines[i] = site.place === 'after' ? `${lines[i]}; ${site.call}` : lines[i].replace(/^(\s*)/, `$1${site.call}; `);
  }
  return lines.join('\n');
}

/**
 * Writes the patched runtime files and overlay.json into `dir`; returns overlay.json's
 * path. Throws RecordError when a site cannot be placed.
 */
export function writeOverlay(tc: Toolchain, dir: string): string {
  const spec = readSites(tc.recorderDir);
  const runtimeDir = join(tc.goroot, 'src', 'runtime');
  const replace: Record<string, string> = {};
  const byFile = new Map<string, Site[]>();
  for (const s of spec.sites) byFile.set(s.file, [...(byFile.get(s.file) ?? []), s]);
  for (const [file, sites] of byFile) {
    let text: string;
    try {
      text = readFileSync(join(runtimeDir, file), 'utf8');
    } catch {
      throw siteError(tc, sites[0], `cannot read ${join(runtimeDir, file)}`);
    }
    const out = join(dir, file);
    writeFileSync(out, applySites(tc, text, sites));
    replace[join(runtimeDir, file)] = out;
  }
  replace[join(runtimeDir, spec.recorder)] = join(tc.recorderDir, spec.recorder);
  const path = join(dir, 'overlay.json');
  writeFileSync(path, JSON.stringify({ Replace: replace }));
  return path;
}
