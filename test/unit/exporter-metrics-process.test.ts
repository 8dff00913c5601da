// process_cpu_* come from exporter-metrics.ts's own collector (prom-client's needs
// @opentelemetry/api): the same three counters, and they follow the process's CPU time.
import assert from 'node:assert/strict';
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
  assert.ok(user >= 0.15 && user <= used.user / 1e6, `user ${user} s (process: ${used.user / 1e6} s since the collector started)`);
  assert.ok(system >= 0 && system <= used.system / 1e6, `system ${system} s (process: ${used.system / 1e6} s)`);
  assert.ok(Math.abs(total - (user + system)) < 1e-6, `total ${total} = user + system`);
  assert.ok(x > 0);
  const om = await metrics.renderOpenMetrics();
  assert.match(om, /^# TYPE process_cpu_seconds counter$/m);
  assert.match(om, /^process_cpu_seconds_total \S+$/m);
});
