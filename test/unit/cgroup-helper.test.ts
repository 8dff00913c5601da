// The parsing half of test/helpers/cgroup.ts, which the memory-limit test relies on: which
// hierarchy holds the memory controller (v1 or v2, bind-mounted sub-cgroups included), this
// process's cgroup, and the limits the shipped deployment files set.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  daemonSetContainer,
  ownCgroupPath,
  parseCgroupMounts,
  parseMemoryQuantity,
  parseSystemdMemory,
  serviceMonitorScrapeTimeoutMs,
  systemdService,
} from '../helpers/cgroup.js';

const V1 = [
  '30 24 0:27 / /sys/fs/cgroup/memory rw,relatime shared:12 - cgroup cgroup rw,memory',
  '31 24 0:28 / /sys/fs/cgroup/cpu rw,relatime shared:13 - cgroup cgroup rw,cpu',
  '38 24 0:35 / /sys/fs/cgroup/unified rw,relatime shared:20 - cgroup2 cgroup2 rw',
  '22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw',
].join('\n');

test('cgroup mounts: fstype, root, mount point and super options from mountinfo', () => {
  const mounts = parseCgroupMounts(V1);
  assert.deepEqual(
    mounts.map((m) => [m.fsType, m.mountPoint, m.superOptions.includes('memory')]),
    [
      ['cgroup', '/sys/fs/cgroup/memory', true],
      ['cgroup', '/sys/fs/cgroup/cpu', false],
      ['cgroup2', '/sys/fs/cgroup/unified', false],
    ],
  );
  const bind = parseCgroupMounts('40 30 0:27 /docker/ab\\040c /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate');
  assert.equal(bind[0]?.root, '/docker/ab c', 'octal escapes are decoded');
});

test("own cgroup: v1 by controller, v2 from the 0:: line", () => {
  const self = ['12:cpu,cpuacct:/a', '4:memory:/process_api/x1', '1:name=systemd:/s', '0::/user.slice/session-1.scope'].join('\n');
  assert.equal(ownCgroupPath(self, 1), '/process_api/x1');
  assert.equal(ownCgroupPath(self, 1, 'cpu'), '/a');
  assert.equal(ownCgroupPath(self, 2), '/user.slice/session-1.scope');
  assert.equal(ownCgroupPath('4:memory:/m', 2), undefined);
});

test('Kubernetes memory quantities', () => {
  assert.equal(parseMemoryQuantity('192Mi'), 192 * 2 ** 20);
  assert.equal(parseMemoryQuantity('64Mi'), 64 * 2 ** 20);
  assert.equal(parseMemoryQuantity('200M'), 200e6);
  assert.equal(parseMemoryQuantity('1.5Gi'), 1.5 * 2 ** 30);
  assert.equal(parseMemoryQuantity('134217728'), 134217728);
  assert.equal(parseMemoryQuantity('128e6'), 128e6);
  assert.equal(parseMemoryQuantity('100k'), 100e3);
  for (const bad of ['', '192MB', 'Mi', '-1Mi', '1.2.3']) assert.throws(() => parseMemoryQuantity(bad), /not a Kubernetes memory quantity/);
});

test('systemd memory sizes (powers of 1024)', () => {
  assert.equal(parseSystemdMemory('256M'), 256 * 2 ** 20);
  assert.equal(parseSystemdMemory('1G'), 2 ** 30);
  assert.equal(parseSystemdMemory('512K'), 512 * 1024);
  assert.equal(parseSystemdMemory('1000'), 1000);
  for (const bad of ['infinity', '50%', '256MB', '']) assert.throws(() => parseSystemdMemory(bad), /not a systemd memory size/);
});

test('the shipped files: DaemonSet limit and request, unit MemoryMax and flags, ServiceMonitor timeout', () => {
  const d = daemonSetContainer();
  assert.ok(d.memoryRequestBytes > 0 && d.memoryRequestBytes <= d.memoryLimitBytes);
  assert.ok(d.args.some((a) => a.startsWith('--web.listen-address=')));
  const s = systemdService();
  assert.ok(s.memoryMaxBytes >= 64 * 2 ** 20);
  // ARGS="" in the shipped file: the exporter's own defaults, as the .deb installs it.
  assert.deepEqual(s.args, []);
  assert.ok(serviceMonitorScrapeTimeoutMs() >= 1000);
});
