// The revision the exporter was built from, for linkstate_exporter_build_info. `npm run build`
// writes dist/src/runtime/build-info.json (scripts/write-build-info.mjs) from `git rev-parse HEAD`; a
// build outside a git checkout, or none at all, reports "unknown".

import { fs } from './builtins.js';

const { readFileSync } = fs;

let cached: string | undefined;

export function buildRevision(): string {
  if (cached !== undefined) return cached;
  try {
    const info = JSON.parse(readFileSync(new URL('./build-info.json', import.meta.url), 'utf8')) as { revision?: unknown };
    cached = typeof info.revision === 'string' && info.revision !== '' ? info.revision : 'unknown';
  } catch {
    cached = 'unknown';
  }
  return cached;
}
