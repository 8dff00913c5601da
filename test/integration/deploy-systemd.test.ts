// deploy/systemd: the unit is hardened as the issue asks, `systemd-analyze verify` accepts it, its
// exposure score is low, and the exporter really starts with the environment file's flags as an
// unprivileged user with no capabilities (as DynamicUser= and CapabilityBoundingSet= would run it).
//
// `systemd-analyze verify` insists that ExecStart's binary exists. On a test machine the package
// is not installed in /usr/local/bin, so the test verifies a copy of the unit whose ExecStart
// points at an executable shim that runs the built dist/src/main.js, and whose EnvironmentFile is
// the repository's; everything else in the copy is the shipped unit, line for line.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BUILT_MAIN, exporterFlags, flagName } from '../helpers/exporter-flags.js';
import { createNetns, enterNetns, requireRoot } from '../helpers/netns.js';
import { describeResult, readRepoFile, repoPath, requireCommand, runCommand, waitFor } from '../helpers/repo.js';

const UNIT = 'deploy/systemd/linkstate-exporter.service';
const ENV_FILE = 'deploy/systemd/linkstate-exporter.env';
const INSTALLED_BINARY = '/usr/local/bin/linkstate-exporter';

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

/** A temp dir with an executable shim for the exporter and a copy of the unit pointing at it. */
function verifiableCopy(): { dir: string; unit: string; shim: string } {
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
  return { dir, unit, shim };
}

test('the unit runs the package binary unprivileged, hardened, with flags from the environment file', () => {
  const s = service();
  const exec = one(s, 'ExecStart') ?? '';
  assert.equal(exec, `${INSTALLED_BINARY} $LINKSTATE_EXPORTER_ARGS`);
  const pkg = JSON.parse(readRepoFile('package.json')) as { bin: Record<string, string> };
  assert.ok(INSTALLED_BINARY.endsWith(`/${Object.keys(pkg.bin)[0]}`), 'ExecStart runs the package bin (npm install -g puts it in /usr/local/bin)');
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

test('the environment file holds only flags the built exporter knows', () => {
  const env = parseEnvFile(readRepoFile(ENV_FILE));
  assert.deepEqual([...env.keys()], ['LINKSTATE_EXPORTER_ARGS']);
  const args = execArgs(one(service(), 'ExecStart') ?? '', env);
  assert.ok(args.length > 0);
  const known = exporterFlags();
  for (const arg of args) assert.ok(known.has(flagName(arg)), `unknown flag ${arg} (known: ${[...known].join(' ')})`);
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
    assert.ok(used.has('recvmsg') && used.has('socket') && used.has('accept4'), `the trace is real: ${[...used].join(' ')}`);
    const blocked = [...used].filter((name) => !allowed.has(name)).sort();
    assert.deepEqual(blocked, [], `system calls the unit would refuse with EPERM`);
  } finally {
    leave?.();
    await ns.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
