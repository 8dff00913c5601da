// `npm pack` yields a package that installs into an empty folder (dependencies from the npm
// registry) and whose `linkstate-exporter --version` runs. Needs `npm run build` first (npm test's
// pretest does it) and the npm registry (or a warm npm cache).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BUILT_MAIN } from '../helpers/exporter-flags.js';
import { REPO_ROOT, describeResult, readRepoFile, runCommand } from '../helpers/repo.js';

interface PackResult {
  filename: string;
  files: { path: string }[];
}

test('npm pack installs into an empty folder and `linkstate-exporter --version` runs', { timeout: 300_000 }, async () => {
  assert.ok(existsSync(BUILT_MAIN), `${BUILT_MAIN} exists (run npm run build first)`);
  const pkg = JSON.parse(readRepoFile('package.json')) as { name: string; version: string; bin: Record<string, string> };
  const dir = mkdtempSync(join(tmpdir(), 'linkstate-pack-'));
  try {
    const packed = await runCommand('npm', ['pack', '--json', '--pack-destination', dir], { cwd: REPO_ROOT, timeoutMs: 120_000 });
    assert.equal(packed.code, 0, describeResult('npm pack', packed));
    const [info] = JSON.parse(packed.stdout) as PackResult[];
    assert.ok(info);
    const files = info.files.map((f) => f.path);
    for (const bin of Object.values(pkg.bin)) assert.ok(files.includes(bin), `the tarball holds the bin ${bin}`);
    assert.ok(files.includes('package.json'));
    for (const file of files) {
      assert.ok(!/^(test|src|dist\/test|dist\/scripts|bench|deploy|node_modules)\//.test(file), `no ${file} in the tarball`);
    }

    const app = join(dir, 'app');
    mkdirSync(app);
    const installed = await runCommand('npm', ['install', '--no-audit', '--no-fund', join(dir, info.filename)], { cwd: app, timeoutMs: 240_000 });
    assert.equal(installed.code, 0, describeResult('npm install <tarball>', installed));

    const bin = join(app, 'node_modules', '.bin', 'linkstate-exporter');
    assert.ok(existsSync(bin), 'npm linked node_modules/.bin/linkstate-exporter');
    assert.ok((statSync(bin).mode & 0o111) !== 0, 'the bin is executable');
    assert.ok(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n'), 'the bin starts with a node shebang');
    const version = await runCommand(bin, ['--version'], { cwd: app, timeoutMs: 30_000 });
    assert.equal(version.code, 0, describeResult('linkstate-exporter --version', version));
    assert.match(version.stdout, new RegExp(`^${pkg.name}\\b.*(^|\\s|v)${pkg.version.replace(/\./g, '\\.')}(\\s|$)`), version.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
