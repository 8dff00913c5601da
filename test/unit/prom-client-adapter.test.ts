// src/metrics/prom-client-adapter.ts loads prom-client's default collectors from its files, which
// prom-client does not promise to keep. These tests fail when prom-client's version changes
// (re-check the paths, then update the pinned version), and when a collector loaded from its file
// registers other families than collectDefaultMetrics() registers under its name.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import client, { Registry, collectDefaultMetrics } from 'prom-client';
import * as adapter from '../../src/metrics/prom-client-adapter.js';
import { PROM_CLIENT_CHECKED_VERSION, PROM_CLIENT_COLLECTORS, defaultCollector } from '../../src/metrics/prom-client-adapter.js';

const require = createRequire(import.meta.url);

/** The families each collector registers, as prom-client 15.1.3 does on Linux. */
const FAMILIES: Record<(typeof PROM_CLIENT_COLLECTORS)[number], readonly string[]> = {
  processCpuTotal: ['process_cpu_user_seconds_total', 'process_cpu_system_seconds_total', 'process_cpu_seconds_total'],
  processStartTime: ['process_start_time_seconds'],
  osMemoryHeap: ['process_resident_memory_bytes', 'process_virtual_memory_bytes', 'process_heap_bytes'],
  processOpenFileDescriptors: ['process_open_fds'],
  processMaxFileDescriptors: ['process_max_fds'],
  heapSizeAndUsed: ['nodejs_heap_size_total_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_external_memory_bytes'],
  heapSpacesSizeAndUsed: ['nodejs_heap_space_size_total_bytes', 'nodejs_heap_space_size_used_bytes', 'nodejs_heap_space_size_available_bytes'],
  version: ['nodejs_version_info'],
  gc: ['nodejs_gc_duration_seconds'],
};

test('prom-client is the version whose files the adapter was checked against', () => {
  const { version } = require('prom-client/package.json') as { version: string };
  assert.equal(
    version,
    PROM_CLIENT_CHECKED_VERSION,
    `prom-client is ${version}, src/metrics/prom-client-adapter.ts was checked against ${PROM_CLIENT_CHECKED_VERSION}: ` +
      're-check its lib/metrics/ paths and what they register, then update PROM_CLIENT_CHECKED_VERSION',
  );
});

test('each collector loaded from its file is the one collectDefaultMetrics() registers under its name', async () => {
  const all = new Registry();
  collectDefaultMetrics({ register: all });
  const theirs = new Map((await all.getMetricsAsJSON()).map((m) => [m.name, { name: m.name, help: m.help, type: m.type }]));
  for (const name of PROM_CLIENT_COLLECTORS) {
    assert.ok(collectDefaultMetrics.metricsList.includes(name), `${name} is one of prom-client's default collectors`);
    const registry = new Registry();
    defaultCollector(name)(registry, {});
    const ours = (await registry.getMetricsAsJSON()).map((m) => ({ name: m.name, help: m.help, type: m.type }));
    assert.deepEqual(
      ours.map((m) => m.name),
      FAMILIES[name],
      `${name} registers these families`,
    );
    for (const family of ours) assert.deepEqual(family, theirs.get(family.name), `${family.name} as collectDefaultMetrics() registers it`);
  }
});

test('the classes loaded from their files are the ones prom-client exports', () => {
  assert.equal(adapter.Registry, client.Registry);
  assert.equal(adapter.Counter, client.Counter);
  assert.equal(adapter.Gauge, client.Gauge);
});
