// The process families of the exporter's registry (prom-client's default collectors) follow the
// process: process_cpu_*, the memory gauges from /proc/self/status and the heap gauges from V8's
// statistics.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ExporterMetrics } from '../../src/metrics/exporter-metrics.js';

function value(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  assert.ok(m, `${name} in the output`);
  return Number(m[1]);
}

test('process_cpu_{user,system,}_seconds_total follow process.cpuUsage() and add up', async () => {
  const before = process.cpuUsage();
  const metrics = new ExporterMetrics({ version: '0', revision: 'x' }, () => 0);
  const first = await metrics.renderPrometheus();
  for (const type of ['# TYPE process_cpu_user_seconds_total counter', '# TYPE process_cpu_system_seconds_total counter', '# TYPE process_cpu_seconds_total counter']) {
    assert.ok(first.includes(type), type);
  }
  const loop = process.cpuUsage();
  let x = 0;
  while (process.cpuUsage(loop).user < 150_000) for (let i = 0; i < 10_000; i++) x += Math.sqrt(x + i); // 0.15 s of user CPU
  const text = await metrics.renderPrometheus();
  const used = process.cpuUsage(before);
  const user = value(text, 'process_cpu_user_seconds_total');
  const system = value(text, 'process_cpu_system_seconds_total');
  const total = value(text, 'process_cpu_seconds_total');
  assert.ok(user >= 0.15 && user <= used.user / 1e6 + 1e-9, `user ${user} s (process: ${used.user / 1e6} s since the collector started)`);
  assert.ok(system >= 0 && system <= used.system / 1e6 + 1e-9, `system ${system} s (process: ${used.system / 1e6} s)`);
  assert.ok(Math.abs(total - (user + system)) < 1e-6, `total ${total} = user + system`);
  assert.ok(x > 0);
  const om = await metrics.renderOpenMetrics();
  assert.match(om, /^# TYPE process_cpu_seconds counter$/m);
  assert.match(om, /^process_cpu_seconds_total \S+$/m);
});

/** VmRSS, VmSize, VmData of /proc/self/status now, in bytes. */
function status(): { rss: number; size: number; data: number } {
  const text = readFileSync('/proc/self/status', 'utf8');
  const kb = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
    assert.ok(m, `${field} in /proc/self/status`);
    return Number(m[1]) * 1024;
  };
  return { rss: kb('VmRSS'), size: kb('VmSize'), data: kb('VmData') };
}

const MiB = 1024 * 1024;

test('process_{resident,virtual}_memory_bytes and process_heap_bytes are VmRSS, VmSize and VmData, read anew at each scrape', async () => {
  const metrics = new ExporterMetrics({ version: '0', revision: 'x' }, () => 0);
  const check = async (): Promise<{ rss: number; size: number; data: number }> => {
    const before = status();
    const text = await metrics.renderPrometheus();
    const after = status();
    const got = { rss: value(text, 'process_resident_memory_bytes'), size: value(text, 'process_virtual_memory_bytes'), data: value(text, 'process_heap_bytes') };
    for (const key of ['rss', 'size', 'data'] as const) {
      const low = Math.min(before[key], after[key]) - 4 * MiB;
      const high = Math.max(before[key], after[key]) + 4 * MiB;
      assert.ok(got[key] >= low && got[key] <= high, `${key}: ${got[key]} within the status read around it (${before[key]}, ${after[key]})`);
      assert.equal(got[key] % 1024, 0, `${key} from kB`);
    }
    return got;
  };
  const first = await check();
  const held = Buffer.alloc(96 * MiB, 1); // mmapped and touched: RSS, VmSize and VmData all grow
  const second = await check();
  for (const key of ['rss', 'size', 'data'] as const) assert.ok(second[key] - first[key] >= 80 * MiB, `${key} grew by the 96 MiB held: ${first[key]} -> ${second[key]}`);
  assert.equal(held[held.length - 1], 1);
});

test('nodejs_heap_size_{total,used}_bytes and nodejs_external_memory_bytes are the heap statistics process.memoryUsage() reports', async () => {
  const metrics = new ExporterMetrics({ version: '0', revision: 'x' }, () => 0);
  const held = Buffer.alloc(64 * MiB, 1);
  // read around the render: the earlier test's buffer may be collected in either gap
  const before = process.memoryUsage();
  const text = await metrics.renderPrometheus();
  const after = process.memoryUsage();
  const total = value(text, 'nodejs_heap_size_total_bytes');
  const used = value(text, 'nodejs_heap_size_used_bytes');
  const external = value(text, 'nodejs_external_memory_bytes');
  const within = (v: number, a: number, b: number, slack: number): boolean => v >= Math.min(a, b) - slack && v <= Math.max(a, b) + slack;
  assert.ok(within(total, before.heapTotal, after.heapTotal, 8 * MiB), `heap total ${total} (${before.heapTotal}, ${after.heapTotal})`);
  assert.ok(used > 0 && used <= total, `heap used ${used} of ${total}`);
  assert.ok(external >= 64 * MiB, `external ${external} counts the 64 MiB buffer`);
  assert.ok(within(external, before.external, after.external, MiB), `external ${external} (${before.external}, ${after.external})`);
  assert.equal(held[0], 1);
});
