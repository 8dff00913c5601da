// Writes dist/src/runtime/build-info.json with the git revision of the tree being built: the
// LINKSTATE_EXPORTER_REVISION variable if set (a build without .git, as the Containerfile's),
// else `git rev-parse`, else "unknown".
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';

let revision = process.env.LINKSTATE_EXPORTER_REVISION || 'unknown';
if (revision === 'unknown') {
  try {
    revision = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    // not a git checkout (e.g. an unpacked npm tarball): keep "unknown"
  }
}
mkdirSync('dist/src/runtime', { recursive: true });
writeFileSync('dist/src/runtime/build-info.json', JSON.stringify({ revision }) + '\n');
