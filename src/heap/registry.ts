// Maps `--backend NAME` (or an alias) to a backend factory. The default backend is the
// newest era registered.

import { UsageError } from '../errors.js';
import type { BackendInfo } from './types.js';
import { spanListBackend } from './span-list/index.js';
import { treapBackend, treapBestFitBackend } from './treap/index.js';
import { treapAoffBackend } from './treap-aoff/index.js';
import { treapGo112Backend } from './treap-go112/index.js';
import { bitmapBackend } from './bitmap/index.js';

const BACKENDS: BackendInfo[] = [spanListBackend, treapBackend, treapBestFitBackend, treapGo112Backend, treapAoffBackend, bitmapBackend];

export function backends(): readonly BackendInfo[] {
  return [...BACKENDS].sort((a, b) => a.era - b.era || a.name.localeCompare(b.name));
}

export function defaultBackend(): BackendInfo {
  return BACKENDS.reduce((newest, b) => (b.era > newest.era ? b : newest));
}

export function findBackend(name: string): BackendInfo {
  const b = BACKENDS.find((x) => x.name === name || x.aliases.includes(name));
  if (!b) {
    const known = backends()
      .map((x) => [x.name, ...x.aliases].join('|'))
      .join(', ');
    throw new UsageError(`unknown backend "${name}" (known: ${known})`);
  }
  return b;
}
