// deploy/systemd: the unit is hardened (dynamic user, no capabilities, a system-call filter),
// `systemd-analyze verify` accepts it, its exposure score is low, and the exporter really starts
// with the environment file's flags as an unprivileged user with no capabilities (as
// DynamicUser= and CapabilityBoundingSet= would run it).
//
// `systemd-analyze verify` insists that ExecStart's binary exists. On a test machine the .deb is
// not installed (no /usr/bin/linkstate-exporter), so the test verifies a copy of the unit whose
// ExecStart points at an executable shim that runs the built dist/src/main.js, and whose
// EnvironmentFile is the repository's; everything else in the copy is the shipped unit, line for
// line. The override documented for `npm install -g` (docs/operations.md) is verified the same way.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { BUILT_MAIN, exporterFlags, flagName } from '../helpers/exporter-flags.js';
import { createNetns, enterNetns, requireRoot } from '../helpers/netns.js';
import {
  NET_ADMIN_AND_BROADCAST,
  PEER_LABEL,
  assertExportsPeer,
  capabilitySet,
  missingCapabilitiesLine,
  runToExit,
  startPrivileged,
  withNetnsLab,
} from '../helpers/netns-privileges.js';
import { describeResult, readRepoFile, repoPath, requireCommand, runCommand, waitFor } from '../helpers/repo.js';
import { startLldpd } from '../helpers/lldpd.js';

const UNIT = 'deploy/systemd/linkstate-exporter.service';
const ENV_FILE = 'deploy/systemd/linkstate-exporter.env';
// Where the .deb puts the command, and where the tarball's instructions link it.
const INSTALLED_BINARY = '/usr/bin/linkstate-exporter';
const DROP_IN = 'deploy/systemd/linkstate-exporter.service.d/netns.conf';

/** section → key → values (a key may repeat). Comments and blank lines dropped. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(current !== undefined && eq > 0, `unit line outside a section or without '=': ${line}`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

/** KEY=value / KEY="value" lines of an EnvironmentFile. */
function parseEnvFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(?:"([^"]*)"|(\S*))$/.exec(line);
    assert.ok(match, `environment file line: ${line}`);
    out.set(match[1]!, match[2] ?? match[3] ?? '');
  }
  return out;
}

/** The exporter's argv as systemd builds it: ExecStart's words, $VAR split on whitespace. */
function execArgs(execStart: string, env: Map<string, string>): string[] {
  return execStart
    .split(/\s+/)
    .slice(1)
    .flatMap((word) => (word.startsWith('$') ? (env.get(word.slice(1)) ?? '').split(/\s+/).filter((w) => w !== '') : [word]));
}

function service(): Map<string, string[]> {
  const unit = parseUnit(readRepoFile(UNIT));
  const section = unit.get('Service');
  assert.ok(section, '[Service] section');
  return section;
}

function one(section: Map<string, string[]>, key: string): string | undefined {
  const values = section.get(key);
  if (values === undefined) return undefined;
  return values[values.length - 1];
}

/**
 * A temp dir with an executable shim for the exporter and a copy of the unit pointing at it; with
 * withDropIn, also a copy of the netns drop-in in the unit's .d directory next to it (where
 * systemd-analyze finds it), its ExecStart pointing at the shim too.
 */
function verifiableCopy(withDropIn = false, dropInPath = DROP_IN): { dir: string; unit: string; shim: string; dropIn: string } {
  const dir = mkdtempSync(join(tmpdir(), 'linkstate-systemd-'));
  chmodSync(dir, 0o755);
  const shim = join(dir, 'linkstate-exporter');
  writeFileSync(shim, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BUILT_MAIN)} "$@"\n`);
  chmodSync(shim, 0o755);
  const original = readRepoFile(UNIT);
  assert.ok(original.includes(`ExecStart=${INSTALLED_BINARY} `));
  assert.ok(original.includes('EnvironmentFile=-/etc/default/linkstate-exporter\n'));
  const copy = original
    .replace(`ExecStart=${INSTALLED_BINARY} `, `ExecStart=${shim} `)
    .replace('EnvironmentFile=-/etc/default/linkstate-exporter\n', `EnvironmentFile=${repoPath(ENV_FILE)}\n`);
  const unit = join(dir, 'linkstate-exporter.service');
  writeFileSync(unit, copy);
  const dropIn = join(dir, 'linkstate-exporter.service.d', basename(dropInPath));
  if (withDropIn) {
    const text = readRepoFile(dropInPath);
    assert.ok(text.includes(`\nExecStart=${INSTALLED_BINARY} `));
    mkdirSync(join(dir, 'linkstate-exporter.service.d'), { mode: 0o755 });
    writeFileSync(dropIn, text.replace(`\nExecStart=${INSTALLED_BINARY} `, `\nExecStart=${shim} `));
  }
  return { dir, unit, shim, dropIn };
}

test('the unit runs the package binary unprivileged, hardened, with flags from the environment file', () => {
  const s = service();
  const exec = one(s, 'ExecStart') ?? '';
  assert.equal(exec, `${INSTALLED_BINARY} $ARGS`);
  const pkg = JSON.parse(readRepoFile('package.json')) as { bin: Record<string, string> };
  assert.ok(INSTALLED_BINARY.endsWith(`/${Object.keys(pkg.bin)[0]}`), 'ExecStart runs the command the package names');
  assert.equal(one(s, 'EnvironmentFile'), '-/etc/default/linkstate-exporter');
  const expected: Record<string, string> = {
    DynamicUser: 'yes',
    NoNewPrivileges: 'yes',
    CapabilityBoundingSet: '',
    AmbientCapabilities: '',
    RestrictAddressFamilies: 'AF_NETLINK AF_UNIX AF_INET AF_INET6',
    ProtectSystem: 'strict',
    ProtectHome: 'yes',
    PrivateTmp: 'yes',
    PrivateDevices: 'yes',
    ProtectKernelTunables: 'yes',
    ProtectKernelModules: 'yes',
    ProtectKernelLogs: 'yes',
    ProtectControlGroups: 'yes',
    ProtectClock: 'yes',
    ProtectHostname: 'yes',
    RestrictNamespaces: 'yes',
    RestrictRealtime: 'yes',
    RestrictSUIDSGID: 'yes',
    LockPersonality: 'yes',
    SystemCallArchitectures: 'native',
  };
  for (const [key, value] of Object.entries(expected)) assert.equal(one(s, key), value, key);
  assert.deepEqual(s.get('SystemCallFilter'), ['@system-service @pkey', '~@privileged']);
  for (const key of ['User', 'Group', 'PrivateNetwork', 'PrivateUsers', 'MemoryDenyWriteExecute']) {
    assert.equal(s.get(key), undefined, `${key} must not be set (see the comment in the unit)`);
  }
});

test('the environment file sets ARGS="" (the exporter defaults), and every flag its examples show is one the exporter knows', () => {
  const text = readRepoFile(ENV_FILE);
  const env = parseEnvFile(text);
  assert.deepEqual([...env.entries()], [['ARGS', '']], 'as the .deb installs /etc/default/linkstate-exporter');
  assert.deepEqual(execArgs(one(service(), 'ExecStart') ?? '', env), []);
  const examples = [...text.matchAll(/^#\s+(--[a-z][\w.-]*(?:=\S+)?)/gm)].map((m) => m[1]!);
  assert.ok(examples.length >= 5, `the file shows examples: ${examples.join(' ')}`);
  const known = exporterFlags();
  for (const arg of examples) assert.ok(known.has(flagName(arg)), `unknown flag in an example: ${arg} (known: ${[...known].join(' ')})`);
  // The check is real: a misspelt flag is not known.
  assert.ok(!known.has('--web.listen-adress'));
});

test('systemd-analyze verify accepts the unit (a copy whose ExecStart exists) without a warning', async (t) => {
  if (!requireCommand(t, 'systemd-analyze', 'systemd')) return;
  const { dir, unit } = verifiableCopy();
  try {
    const result = await runCommand('systemd-analyze', ['verify', unit]);
    assert.equal(result.code, 0, describeResult('systemd-analyze verify', result));
    assert.equal(result.stderr + result.stdout, '', describeResult('systemd-analyze verify printed warnings', result));

    // The check is real: an unknown directive is reported, and so is a missing binary.
    writeFileSync(unit, readFileSync(unit, 'utf8').replace('ProtectHome=yes', 'ProtectHomme=yes'));
    const typo = await runCommand('systemd-analyze', ['verify', unit]);
    assert.match(typo.stderr, /Unknown key.*ProtectHomme/, describeResult('verify with a typo', typo));
    const missing = await runCommand('systemd-analyze', ['verify', repoPath(UNIT)]);
    if (!missing.stderr.includes(INSTALLED_BINARY)) {
      // Only when the package happens to be installed globally on this machine.
      assert.equal(missing.code, 0, describeResult('verify of the shipped unit', missing));
    } else {
      assert.notEqual(missing.code, 0, describeResult('verify of the shipped unit without its binary', missing));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('systemd-analyze security rates the unit OK (exposure at most 2.0 of 10)', async (t) => {
  if (!requireCommand(t, 'systemd-analyze', 'systemd')) return;
  const { dir, unit } = verifiableCopy();
  try {
    const result = await runCommand('systemd-analyze', ['security', '--offline=yes', '--no-pager', unit]);
    assert.equal(result.code, 0, describeResult('systemd-analyze security', result));
    const match = /Overall exposure level for \S+: (\d+\.\d+)/.exec(result.stdout);
    assert.ok(match, result.stdout);
    assert.ok(Number(match[1]) <= 2.0, `exposure ${match[1]}:\n${result.stdout}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the unit command line starts the exporter as nobody with no capabilities at all', async (t) => {
  if (!requireRoot(t)) return;
  if (!requireCommand(t, 'setpriv', 'util-linux')) return;
  const env = parseEnvFile(readRepoFile(ENV_FILE));
  const args = execArgs(one(service(), 'ExecStart') ?? '', env);
  const { dir, shim } = verifiableCopy();
  const ns = await createNetns('lse-systemd');
  let leave: (() => void) | undefined;
  try {
    // What DynamicUser=, NoNewPrivileges= and an empty CapabilityBoundingSet= leave the process.
    const child = ns.spawn(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', '--no-new-privs', '--inh-caps=-all', '--bounding-set=-all', '--', shim, ...args],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    let exited: number | null | undefined;
    child.once('exit', (code) => (exited = code));
    leave = enterNetns(ns.name);
    const listen = args.find((a) => a.startsWith('--web.listen-address='))?.split('=')[1] ?? ':10071';
    const port = Number(listen.slice(listen.lastIndexOf(':') + 1));
    await waitFor(
      `/-/ready on port ${port}`,
      async () => {
        if (exited !== undefined) throw new Error(`exporter exited with ${exited}: ${stderr}`);
        const res = await fetch(`http://127.0.0.1:${port}/-/ready`);
        return res.status === 200;
      },
      15_000,
    );
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /^linkstate_carrier\{device="lo"\} 1$/m, 'it sees the namespace loopback');
    // ip netns exec, setpriv and the shim all exec(): the child's pid is the exporter's.
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    assert.match(readFileSync(`/proc/${child.pid}/cmdline`, 'utf8'), /dist\/src\/main\.js/);
    assert.match(status, /^Uid:\s+65534\s/m, status);
    assert.match(status, /^CapEff:\s+0+$/m, status);
    assert.match(status, /^CapBnd:\s+0+$/m, status);
    assert.match(status, /^NoNewPrivs:\s+1$/m, status);
  } finally {
    leave?.();
    await ns.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** group → members (system calls and nested @groups), from `systemd-analyze syscall-filter`. */
function parseSyscallGroups(text: string): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('@')) {
      current = [];
      groups.set(line.trim().split(/\s+/)[0]!, current);
    } else if (current !== undefined && line.trim() !== '' && !line.trim().startsWith('#')) {
      current.push(line.trim());
    }
  }
  return groups;
}

function expandSyscalls(names: readonly string[], groups: Map<string, string[]>, seen = new Set<string>()): Set<string> {
  const out = new Set<string>();
  for (const name of names) {
    if (!name.startsWith('@')) {
      out.add(name);
      continue;
    }
    const members = groups.get(name);
    assert.ok(members, `systemd knows the syscall group ${name}`);
    if (seen.has(name)) continue;
    seen.add(name);
    for (const syscall of expandSyscalls(members, groups, seen)) out.add(syscall);
  }
  return out;
}

/** The system calls the unit's SystemCallFilter= lines allow, applied in order as systemd does. */
function allowedSyscalls(lines: readonly string[], groups: Map<string, string[]>): Set<string> {
  let allowed: Set<string> | undefined;
  for (const line of lines) {
    const deny = line.startsWith('~');
    const names = expandSyscalls((deny ? line.slice(1) : line).split(/\s+/).filter((w) => w !== ''), groups);
    if (deny) {
      assert.ok(allowed, 'an allow list comes before the deny list');
      for (const name of names) allowed.delete(name);
    } else {
      allowed = new Set([...(allowed ?? []), ...names]);
    }
  }
  assert.ok(allowed);
  return allowed;
}

test('every system call the exporter makes (start, dump, scrapes, a flap, SIGTERM) passes the unit SystemCallFilter', async (t) => {
  if (!requireRoot(t)) return;
  if (!requireCommand(t, 'systemd-analyze', 'systemd')) return;
  if (!requireCommand(t, 'strace', 'strace')) return;
  const groups = parseSyscallGroups((await runCommand('systemd-analyze', ['syscall-filter', '--no-pager'])).stdout);
  const allowed = allowedSyscalls(service().get('SystemCallFilter') ?? [], groups);
  assert.ok(allowed.has('recvmsg') && !allowed.has('reboot') && !allowed.has('setuid'), 'the filter expands as expected');

  const args = execArgs(one(service(), 'ExecStart') ?? '', parseEnvFile(readRepoFile(ENV_FILE)));
  const dir = mkdtempSync(join(tmpdir(), 'linkstate-strace-'));
  const trace = join(dir, 'trace');
  const ns = await createNetns('lse-strace');
  let leave: (() => void) | undefined;
  try {
    await ns.ipBatch(['link add sc0 type veth peer name sc1', 'link set sc0 up', 'link set sc1 up']);
    const tracer = ns.spawn('strace', ['-f', '-qq', '-o', trace, process.execPath, BUILT_MAIN, ...args], { stdio: 'ignore' });
    const tracerExit = new Promise<number | null>((resolve) => tracer.once('exit', (code) => resolve(code)));
    leave = enterNetns(ns.name);
    const listen = args.find((a) => a.startsWith('--web.listen-address='))?.split('=')[1] ?? ':10071';
    const base = `http://127.0.0.1:${listen.slice(listen.lastIndexOf(':') + 1)}`;
    await waitFor('/-/ready under strace', async () => (await fetch(`${base}/-/ready`)).status === 200, 30_000, 200);
    assert.equal((await fetch(`${base}/metrics`)).status, 200);
    await ns.ipBatch(['link set sc1 down', 'link set sc1 up']);
    await waitFor(
      'the flap on /metrics',
      async () => /^linkstate_carrier_down_changes_total\{device="sc0"\} [1-9]/m.test(await (await fetch(`${base}/metrics`)).text()),
      10_000,
    );
    // SIGTERM to the exporter itself (strace's child), so its shutdown path is traced too.
    const children = readFileSync(`/proc/${tracer.pid}/task/${tracer.pid}/children`, 'utf8').trim().split(/\s+/);
    assert.equal(children.length, 1, `strace has one child: ${children.join(' ')}`);
    process.kill(Number(children[0]), 'SIGTERM');
    assert.equal(await tracerExit, 0, 'the exporter exited 0 on SIGTERM');

    const text = readFileSync(trace, 'utf8');
    const used = new Set([...text.matchAll(/^\d+ +([a-z0-9_]+)\(/gm)].map((m) => m[1]!));
    assert.ok(used.has('recvmmsg') && used.has('socket') && used.has('accept4'), `the trace is real: ${[...used].join(' ')}`);
    const blocked = [...used].filter((name) => !allowed.has(name)).sort();
    assert.deepEqual(blocked, [], `system calls the unit would refuse with EPERM`);
  } finally {
    leave?.();
    await ns.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- The override documented for `npm install -g` (docs/operations.md) ----

/** npm's default global prefix on Debian; the docs say to write `npm prefix -g` in its place. */
const NPM_PREFIX = '/usr/local';

/** The drop-in docs/operations.md gives for `npm install -g`: the ini block after its marker. */
function npmOverrideText(): string {
  const match = /<!-- npm install -g override -->\s*```ini\n([\s\S]*?)```/.exec(readRepoFile('docs/operations.md'));
  assert.ok(match, 'docs/operations.md has the npm install -g override');
  // Indented as a list item's block there: the drop-in's text is its lines without that indent.
  const lines = match[1]!.split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

test('the override documented for npm install -g starts npm\'s command with the unit\'s flags and changes nothing else', () => {
  const dropIn = parseUnit(npmOverrideText());
  assert.deepEqual([...dropIn.keys()], ['Service']);
  const section = dropIn.get('Service')!;
  assert.deepEqual([...section.keys()], ['ExecStart'], 'only ExecStart: the hardening stays');
  const merged = new Map([...service()].map(([key, values]) => [key, [...values]]));
  merged.set('ExecStart', [...merged.get('ExecStart')!, ...section.get('ExecStart')!]);
  assert.equal(execStartOf(merged), `${NPM_PREFIX}/bin/linkstate-exporter $ARGS`);
  const pkg = JSON.parse(readRepoFile('package.json')) as { bin: Record<string, string> };
  assert.deepEqual(Object.keys(pkg.bin), ['linkstate-exporter'], 'npm links the package bin under that name');
});

test('systemd-analyze verify accepts the unit with the npm install -g override where only npm\'s command exists', async (t) => {
  if (!requireCommand(t, 'systemd-analyze', 'systemd')) return;
  const dir = mkdtempSync(join(tmpdir(), 'linkstate-systemd-npm-'));
  try {
    chmodSync(dir, 0o755);
    // A stand-in for npm's prefix: <dir>/bin/linkstate-exporter, the built exporter.
    mkdirSync(join(dir, 'bin'), { mode: 0o755 });
    const shim = join(dir, 'bin', 'linkstate-exporter');
    writeFileSync(shim, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BUILT_MAIN)} "$@"\n`);
    chmodSync(shim, 0o755);
    // The shipped unit as it is (its /usr/bin/linkstate-exporter absent here), its EnvironmentFile the repository's.
    const unit = join(dir, 'linkstate-exporter.service');
    writeFileSync(unit, readRepoFile(UNIT).replace('EnvironmentFile=-/etc/default/linkstate-exporter\n', `EnvironmentFile=${repoPath(ENV_FILE)}\n`));
    mkdirSync(join(dir, 'linkstate-exporter.service.d'), { mode: 0o755 });
    const override = join(dir, 'linkstate-exporter.service.d', 'override.conf');
    const text = npmOverrideText();
    assert.ok(text.includes(`=${NPM_PREFIX}/bin/`));
    writeFileSync(override, text.replaceAll(`=${NPM_PREFIX}/bin/`, `=${dir}/bin/`));
    const result = await runCommand('systemd-analyze', ['verify', unit]);
    assert.equal(result.code, 0, describeResult('systemd-analyze verify with the override', result));
    assert.equal(result.stderr + result.stdout, '', describeResult('systemd-analyze verify printed warnings', result));
    // The check is real: without the override the unit's own binary is missing, and without the
    // empty ExecStart= the simple service would have two commands.
    rmSync(override);
    const without = await runCommand('systemd-analyze', ['verify', unit]);
    if (!existsSync(INSTALLED_BINARY)) assert.notEqual(without.code, 0, describeResult('verify without the override', without));
    writeFileSync(override, text.replace(/^ExecStart=\s*$/m, '').replaceAll(`=${NPM_PREFIX}/bin/`, `=${dir}/bin/`));
    const twice = await runCommand('systemd-analyze', ['verify', unit]);
    assert.match(twice.stderr, /more than one ExecStart/, describeResult('verify without the reset', twice));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- The netns drop-in (deploy/systemd/linkstate-exporter.service.d/netns.conf) ----

function dropInService(path = DROP_IN): Map<string, string[]> {
  const dropIn = parseUnit(readRepoFile(path));
  assert.deepEqual([...dropIn.keys()], ['Service'], 'the drop-in has only a [Service] section');
  return dropIn.get('Service')!;
}

/**
 * The unit's [Service] with the drop-in applied as systemd applies it: for these list settings an
 * empty assignment resets the list and any other one adds to it; for any other key the drop-in's
 * assignment comes last and wins.
 */
function mergedService(path = DROP_IN): Map<string, string[]> {
  const merged = new Map([...service()].map(([key, values]) => [key, [...values]]));
  for (const [key, values] of dropInService(path)) merged.set(key, [...(merged.get(key) ?? []), ...values]);
  return merged;
}

/** A capability setting's final set: '' resets, other assignments are ORed (systemd.exec(5)). */
function capabilitiesOf(section: Map<string, string[]>, key: string): string[] {
  let set = new Set<string>();
  for (const value of section.get(key) ?? []) {
    assert.ok(!value.startsWith('~'), `${key}=${value}: the drop-in does not invert`);
    if (value.trim() === '') set = new Set();
    else for (const cap of value.trim().split(/\s+/)) set.add(cap);
  }
  return [...set].sort();
}

/** ExecStart's final command: '' resets the list; a simple service has exactly one. */
function execStartOf(section: Map<string, string[]>): string {
  let commands: string[] = [];
  for (const value of section.get('ExecStart') ?? []) commands = value === '' ? [] : [...commands, value];
  assert.equal(commands.length, 1, `one ExecStart after the drop-in: ${commands.join(' | ')}`);
  return commands[0]!;
}

/** setpriv arguments for the identity and capabilities systemd would give the merged unit. */
function setprivLikeSystemd(capabilities: readonly string[]): string[] {
  const list = capabilities.map((cap) => `+${cap.replace(/^CAP_/, '').toLowerCase()}`).join(',');
  const plus = list === '' ? '' : `,${list}`;
  return [
    '--reuid=65534',
    '--regid=65534',
    '--clear-groups',
    '--no-new-privs',
    `--inh-caps=-all${plus}`,
    ...(list === '' ? [] : [`--ambient-caps=-all${plus}`]),
    `--bounding-set=-all${plus}`,
  ];
}

test('the netns drop-in grants exactly CAP_NET_ADMIN and CAP_NET_BROADCAST and adds --collector.netns', () => {
  const dropIn = dropInService();
  assert.deepEqual(
    [...dropIn.keys()].sort(),
    ['AmbientCapabilities', 'CapabilityBoundingSet', 'ExecStart'],
    'the drop-in changes nothing else of the hardening',
  );
  // Each list is reset first, so the set is exact whatever the unit or another drop-in says.
  for (const key of ['CapabilityBoundingSet', 'AmbientCapabilities', 'ExecStart']) assert.equal(dropIn.get(key)?.[0], '', `${key}= resets first`);
  const merged = mergedService();
  assert.deepEqual(capabilitiesOf(merged, 'CapabilityBoundingSet'), ['CAP_NET_ADMIN', 'CAP_NET_BROADCAST']);
  assert.deepEqual(capabilitiesOf(merged, 'AmbientCapabilities'), ['CAP_NET_ADMIN', 'CAP_NET_BROADCAST']);
  // Without the drop-in: none at all (the unit's own settings).
  assert.deepEqual(capabilitiesOf(service(), 'CapabilityBoundingSet'), []);
  assert.deepEqual(capabilitiesOf(service(), 'AmbientCapabilities'), []);
  assert.equal(execStartOf(merged), `${INSTALLED_BINARY} $ARGS --collector.netns`);
  // What the netns mode must keep from the unit: no setns/unshare needed, the host's network.
  for (const [key, value] of Object.entries({ DynamicUser: 'yes', NoNewPrivileges: 'yes', RestrictNamespaces: 'yes', ProtectSystem: 'strict' })) {
    assert.equal(one(merged, key), value, key);
  }
  assert.equal(merged.get('PrivateNetwork'), undefined);
  assert.equal(merged.get('PrivateUsers'), undefined, 'capabilities in a user namespace would not count in the host network namespace');
  const args = execArgs(execStartOf(merged), parseEnvFile(readRepoFile(ENV_FILE)));
  assert.ok(args.includes('--collector.netns'));
  const known = exporterFlags();
  for (const arg of args) assert.ok(known.has(flagName(arg)), `unknown flag ${arg}`);
});


test('systemd-analyze security: with the drop-in the unit has exactly the two network capabilities and still rates OK', async (t) => {
  if (!requireCommand(t, 'systemd-analyze', 'systemd')) return;
  const { dir, unit } = verifiableCopy(true);
  try {
    const result = await runCommand('systemd-analyze', ['security', '--offline=yes', '--no-pager', unit]);
    assert.equal(result.code, 0, describeResult('systemd-analyze security', result));
    const match = /Overall exposure level for \S+: (\d+\.\d+)/.exec(result.stdout);
    assert.ok(match, result.stdout);
    assert.ok(Number(match[1]) <= 2.0, `exposure ${match[1]}:\n${result.stdout}`);
    // The capability lines systemd flags: the ones for these two (and ambient ones), no other.
    const flagged = result.stdout
      .split('\n')
      .filter((line) => /^\s*✗ (CapabilityBoundingSet|AmbientCapabilities)=/.test(line))
      .map((line) => /^\s*✗ (\S+)/.exec(line)![1])
      .sort();
    const expected = ['AmbientCapabilities=', 'CapabilityBoundingSet=~CAP_NET_ADMIN', 'CapabilityBoundingSet=~CAP_NET_(BIND_SERVICE|BROADCAST|RAW)'];
    assert.deepEqual(flagged, expected.sort(), result.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('as the unit with the drop-in runs it (nobody, exactly the two capabilities), the exporter exports another namespace', async (t) => {
  if (!requireRoot(t)) return;
  if (!requireCommand(t, 'setpriv', 'util-linux')) return;
  const merged = mergedService();
  const caps = capabilitiesOf(merged, 'AmbientCapabilities');
  assert.deepEqual(capabilitiesOf(merged, 'CapabilityBoundingSet'), caps);
  await withNetnsLab('lse-sdnetns', async (lab) => {
    const args = [...execArgs(execStartOf(merged), parseEnvFile(readRepoFile(ENV_FILE))), `--collector.netns.paths=${lab.pathsDir}`];
    const exporter = await startPrivileged(lab, setprivLikeSystemd(caps), args);
    try {
      assertExportsPeer(await exporter.metrics(), lab);
      const status = exporter.status();
      assert.match(status, /^Uid:\s+65534\s/m, status);
      assert.equal(capabilitySet(status, 'CapEff'), NET_ADMIN_AND_BROADCAST, status);
      assert.equal(capabilitySet(status, 'CapBnd'), NET_ADMIN_AND_BROADCAST, status);
      assert.match(status, /^NoNewPrivs:\s+1$/m, status);
    } finally {
      await exporter.stop();
    }
  });
});

test('without the drop-in (or with one capability short) --collector.netns is one line on stderr and exit 1', async (t) => {
  if (!requireRoot(t)) return;
  if (!requireCommand(t, 'setpriv', 'util-linux')) return;
  await withNetnsLab('lse-sdnocap', async (lab) => {
    const base = [...execArgs(one(service(), 'ExecStart') ?? '', parseEnvFile(readRepoFile(ENV_FILE))), '--collector.netns', `--collector.netns.paths=${lab.pathsDir}`];
    const cases: Array<[string[], string[]]> = [
      [capabilitiesOf(service(), 'AmbientCapabilities'), ['CAP_NET_ADMIN', 'CAP_NET_BROADCAST']],
      [['CAP_NET_ADMIN'], ['CAP_NET_BROADCAST']],
      [['CAP_NET_BROADCAST'], ['CAP_NET_ADMIN']],
    ];
    for (const [caps, missing] of cases) {
      const result = await runToExit(lab, setprivLikeSystemd(caps), base);
      assert.equal(result.code, 1, `with ${caps.join(' ') || 'no capabilities'}: ${result.stderr}`);
      assert.equal(result.stderr, `${missingCapabilitiesLine(missing)}\n`, `with ${caps.join(' ') || 'no capabilities'}`);
      assert.equal(result.stdout, '');
    }
    // Without the flag the unit's own (empty) set is still enough.
    const plain = await startPrivileged(lab, setprivLikeSystemd([]), base.filter((a) => !a.startsWith('--collector.netns')));
    try {
      const metrics = await plain.metrics();
      assert.doesNotMatch(metrics, new RegExp(`netns="${PEER_LABEL}"`), 'no other namespace without the flag');
    } finally {
      await plain.stop();
    }
  });
});

test('every system call of the netns mode passes the unit SystemCallFilter, and it never calls setns or unshare', async (t) => {
  if (!requireRoot(t)) return;
  if (!requireCommand(t, 'systemd-analyze', 'systemd')) return;
  if (!requireCommand(t, 'strace', 'strace')) return;
  if (!requireCommand(t, 'setpriv', 'util-linux')) return;
  const groups = parseSyscallGroups((await runCommand('systemd-analyze', ['syscall-filter', '--no-pager'])).stdout);
  const merged = mergedService();
  const allowed = allowedSyscalls(merged.get('SystemCallFilter') ?? [], groups);
  const dir = mkdtempSync(join(tmpdir(), 'linkstate-strace-netns-'));
  const trace = join(dir, 'trace');
  try {
    await withNetnsLab('lse-stnetns', async (lab) => {
      const args = [...execArgs(execStartOf(merged), parseEnvFile(readRepoFile(ENV_FILE))), `--collector.netns.paths=${lab.pathsDir}`];
      // strace runs as root and traces setpriv's exec of the exporter with the drop-in's identity.
      const exporter = await startPrivileged(lab, setprivLikeSystemd(capabilitiesOf(merged, 'AmbientCapabilities')), args, [
        'strace',
        '-f',
        '-qq',
        '-o',
        trace,
      ]);
      try {
        assertExportsPeer(await exporter.metrics(), lab);
        // A flap in the other namespace and a namespace named after the start.
        await lab.peer.ipBatch(['link set npv1 down', 'link set npv1 up']);
        await waitFor(
          'the flap in the other namespace',
          async () => /^linkstate_carrier_down_changes_total\{device="npv1",netns="lab-peer"\} [1-9]/m.test(await exporter.metrics()),
          10_000,
        );
      } finally {
        await exporter.stop();
      }
    });
    const text = readFileSync(trace, 'utf8');
    const used = new Set([...text.matchAll(/^\d+ +([a-z0-9_]+)\(/gm)].map((m) => m[1]!));
    assert.ok(used.has('recvmmsg') && used.has('socket') && used.has('setsockopt'), `the trace is real: ${[...used].join(' ')}`);
    // setpriv's own calls (setresuid, capset... before its exec of node) are in the trace too: only
    // what follows the exec is the exporter's (systemd applies the filter at that exec).
    const exec = text.indexOf(`execve(${JSON.stringify(process.execPath)}, `);
    assert.ok(exec > 0, 'setpriv execs node');
    const exporterCalls = new Set([...text.slice(exec).matchAll(/^\d+ +([a-z0-9_]+)\(/gm)].map((m) => m[1]!));
    assert.ok(exporterCalls.has('recvmmsg'), 'the exporter part of the trace');
    const blocked = [...exporterCalls].filter((name) => !allowed.has(name)).sort();
    assert.deepEqual(blocked, [], 'system calls the unit would refuse with EPERM');
    for (const forbidden of ['setns', 'unshare']) assert.ok(!exporterCalls.has(forbidden), `${forbidden}: RestrictNamespaces=yes would refuse it`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- The LLDP drop-in (deploy/systemd/linkstate-exporter.service.d/lldp.conf) ----

const LLDP_DROP_IN = 'deploy/systemd/linkstate-exporter.service.d/lldp.conf';

// Each drop-in really is read: a typo in it is reported against it.
for (const { name, path, capability } of [
  { name: 'netns', path: DROP_IN, capability: 'CAP_NET_ADMIN' },
  { name: 'lldp', path: LLDP_DROP_IN, capability: 'CAP_NET_RAW' },
]) {
  test(`systemd-analyze verify accepts the unit with the ${name} drop-in applied, and reads the drop-in`, async (t) => {
    if (!requireCommand(t, 'systemd-analyze', 'systemd')) return;
    const { dir, unit, dropIn } = verifiableCopy(true, path);
    try {
      const result = await runCommand('systemd-analyze', ['verify', unit]);
      assert.equal(result.code, 0, describeResult('systemd-analyze verify', result));
      assert.equal(result.stderr + result.stdout, '', describeResult('systemd-analyze verify printed warnings', result));
      writeFileSync(dropIn, readFileSync(dropIn, 'utf8').replace(`AmbientCapabilities=${capability}`, `AmbientCapabilitiez=${capability}`));
      const typo = await runCommand('systemd-analyze', ['verify', unit]);
      assert.match(typo.stderr, new RegExp(`${name}\\.conf.*Unknown key.*AmbientCapabilitiez`), describeResult('verify with a typo in the drop-in', typo));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('the lldp drop-in grants exactly CAP_NET_RAW and AF_PACKET and adds --collector.lldp', () => {
  const dropIn = dropInService(LLDP_DROP_IN);
  assert.deepEqual(
    [...dropIn.keys()].sort(),
    ['AmbientCapabilities', 'CapabilityBoundingSet', 'ExecStart', 'RestrictAddressFamilies'],
    'the drop-in changes nothing else of the hardening',
  );
  for (const key of dropIn.keys()) assert.equal(dropIn.get(key)?.[0], '', `${key}= resets first`);
  const merged = mergedService(LLDP_DROP_IN);
  assert.deepEqual(capabilitiesOf(merged, 'CapabilityBoundingSet'), ['CAP_NET_RAW']);
  assert.deepEqual(capabilitiesOf(merged, 'AmbientCapabilities'), ['CAP_NET_RAW']);
  // The unit's address families, and AF_PACKET.
  const families = (section: Map<string, string[]>): string[] => capabilitiesOf(section, 'RestrictAddressFamilies');
  assert.deepEqual(families(merged), [...families(service()), 'AF_PACKET'].sort());
  assert.equal(execStartOf(merged), `${INSTALLED_BINARY} $ARGS --collector.lldp`);
  for (const [key, value] of Object.entries({ DynamicUser: 'yes', NoNewPrivileges: 'yes', RestrictNamespaces: 'yes', ProtectSystem: 'strict' })) {
    assert.equal(one(merged, key), value, key);
  }
  const args = execArgs(execStartOf(merged), parseEnvFile(readRepoFile(ENV_FILE)));
  const known = exporterFlags();
  for (const arg of args) assert.ok(known.has(flagName(arg)), `unknown flag ${arg}`);
});


test('without the lldp drop-in --collector.lldp is one line on stderr and exit 1; with it the exporter starts', async (t) => {
  if (!requireRoot(t)) return;
  if (!requireCommand(t, 'setpriv', 'util-linux')) return;
  await withNetnsLab('lse-sdlldp', async (lab) => {
    const base = [...execArgs(one(service(), 'ExecStart') ?? '', parseEnvFile(readRepoFile(ENV_FILE))), '--collector.lldp'];
    const refused = await runToExit(lab, setprivLikeSystemd([]), base);
    assert.equal(refused.code, 1, refused.stderr);
    assert.equal(refused.stderr, 'linkstate-exporter: --collector.lldp needs CAP_NET_RAW; this process lacks CAP_NET_RAW\n');
    const merged = mergedService(LLDP_DROP_IN);
    const args = execArgs(execStartOf(merged), parseEnvFile(readRepoFile(ENV_FILE)));
    const exporter = await startPrivileged(lab, setprivLikeSystemd(capabilitiesOf(merged, 'AmbientCapabilities')), args);
    try {
      assert.match(await exporter.metrics(), /^linkstate_exporter_lldp_frames_total \d+$/m, 'LLDP on, with only CAP_NET_RAW');
      assert.equal(capabilitySet(exporter.status(), 'CapEff'), 1n << 13n, 'exactly CAP_NET_RAW');
    } finally {
      await exporter.stop();
    }
  });
});

test('systemd-analyze security: with the lldp drop-in the unit has only CAP_NET_RAW and AF_PACKET more and still rates OK', async (t) => {
  if (!requireCommand(t, 'systemd-analyze', 'systemd')) return;
  const { dir, unit } = verifiableCopy(true, LLDP_DROP_IN);
  try {
    const result = await runCommand('systemd-analyze', ['security', '--offline=yes', '--no-pager', unit]);
    assert.equal(result.code, 0, describeResult('systemd-analyze security', result));
    const match = /Overall exposure level for \S+: (\d+\.\d+)/.exec(result.stdout);
    assert.ok(match, result.stdout);
    assert.ok(Number(match[1]) <= 2.0, `exposure ${match[1]}:\n${result.stdout}`);
    const flagged = result.stdout
      .split('\n')
      .filter((line) => /^\s*✗ (CapabilityBoundingSet|AmbientCapabilities|RestrictAddressFamilies)=/.test(line))
      .map((line) => /^\s*✗ (\S+)/.exec(line)![1])
      .sort();
    const expected = [
      'AmbientCapabilities=',
      'CapabilityBoundingSet=~CAP_NET_(BIND_SERVICE|BROADCAST|RAW)',
      'RestrictAddressFamilies=~AF_(INET|INET6)',
      'RestrictAddressFamilies=~AF_NETLINK',
      'RestrictAddressFamilies=~AF_PACKET',
      'RestrictAddressFamilies=~AF_UNIX',
    ];
    assert.deepEqual(flagged, expected.sort(), result.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every system call of the lldp mode passes the unit SystemCallFilter (a real neighbour heard)', async (t) => {
  if (!requireRoot(t)) return;
  if (!requireCommand(t, 'systemd-analyze', 'systemd')) return;
  if (!requireCommand(t, 'strace', 'strace')) return;
  if (!requireCommand(t, 'setpriv', 'util-linux')) return;
  if (!requireCommand(t, 'lldpd', 'lldpd')) return;
  const groups = parseSyscallGroups((await runCommand('systemd-analyze', ['syscall-filter', '--no-pager'])).stdout);
  const merged = mergedService(LLDP_DROP_IN);
  const allowed = allowedSyscalls(merged.get('SystemCallFilter') ?? [], groups);
  const dir = mkdtempSync(join(tmpdir(), 'linkstate-strace-lldp-'));
  const trace = join(dir, 'trace');
  try {
    await withNetnsLab('lse-stlldp', async (lab) => {
      const args = execArgs(execStartOf(merged), parseEnvFile(readRepoFile(ENV_FILE)));
      const exporter = await startPrivileged(lab, setprivLikeSystemd(capabilitiesOf(merged, 'AmbientCapabilities')), args, ['strace', '-f', '-qq', '-o', trace]);
      const lldpd = await startLldpd(lab.peer, 'npv1');
      try {
        await lldpd.cli(['configure', 'lldp', 'tx-interval', '1']);
        await lldpd.cli(['configure', 'system', 'hostname', 'leaf-07']);
        await lldpd.cli(['resume']);
        await waitFor('the neighbour', async () => /^linkstate_lldp_neighbor_info\{device="npv0",.*system_name="leaf-07"/m.test(await exporter.metrics()), 10_000);
        // A link added after the start is joined too (setsockopt PACKET_ADD_MEMBERSHIP).
        await lab.lab.ipBatch(['link add lldpst0 type veth peer name lldpst1', 'link del lldpst0']);
      } finally {
        await lldpd.stop();
        await exporter.stop();
      }
    });
    const text = readFileSync(trace, 'utf8');
    const exec = text.indexOf(`execve(${JSON.stringify(process.execPath)}, `);
    assert.ok(exec > 0, 'setpriv execs node');
    const exporterPart = text.slice(exec);
    assert.match(exporterPart, /socket\(AF_PACKET, SOCK_RAW/, 'the trace has the packet socket');
    assert.match(exporterPart, /PACKET_ADD_MEMBERSHIP/, 'and its joins');
    const exporterCalls = new Set([...exporterPart.matchAll(/^\d+ +([a-z0-9_]+)\(/gm)].map((m) => m[1]!));
    const blocked = [...exporterCalls].filter((name) => !allowed.has(name)).sort();
    assert.deepEqual(blocked, [], 'system calls the unit would refuse with EPERM');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
