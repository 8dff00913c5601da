// node:http and node:fs reach the exporter only through src/runtime/builtins.ts: an ES import of either
// loads what its getters hide (undici and node:tls, the fs promise API) at start.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { repoPath } from '../helpers/repo.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

test('no file of src/ imports node:http or node:fs as values but builtins.ts', () => {
  const root = repoPath('src');
  const offenders: string[] = [];
  for (const file of sources(root)) {
    if (relative(root, file) === 'runtime/builtins.ts') continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'(node:(?:http|fs))'/gms)) offenders.push(`${relative(root, file)}: ${m[1]}`);
    for (const m of text.matchAll(/import\(\s*'(node:(?:http|fs))'\s*\)/g)) offenders.push(`${relative(root, file)}: import(${m[1]})`);
  }
  assert.deepEqual(offenders, []);
});
