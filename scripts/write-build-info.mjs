// Writes dist/src/build-info.json with the git revision of the tree being built (or "unknown").
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';

let revision = 'unknown';
try {
  revision = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
} catch {
  // not a git checkout (e.g. an unpacked npm tarball): keep "unknown"
}
mkdirSync('dist/src', { recursive: true });
writeFileSync('dist/src/build-info.json', JSON.stringify({ revision }) + '\n');
