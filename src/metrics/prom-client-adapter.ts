// The one reach into prom-client's files. The default collectors the exporter keeps have no public
// entry point but collectDefaultMetrics(), which registers them all, the event-loop-lag timer
// included, so they come from their files; and so do the classes, since the index also loads
// the Pushgateway (node:https and node:tls), the cluster aggregator and the histogram and summary
// classes, which an exporter that pushes nothing never uses (the cost is in docs/design.md).
// prom-client has no "exports" map, so these paths resolve; test/unit/prom-client-adapter.test.ts
// pins the version they were checked against.

import { createRequire } from 'node:module';
import type client from 'prom-client';

const require = createRequire(import.meta.url);

export const Registry = require('prom-client/lib/registry.js') as typeof client.Registry;
export type Registry = client.Registry;
export const Counter = require('prom-client/lib/counter.js') as typeof client.Counter;
export type Counter<T extends string = string> = client.Counter<T>;
export const Gauge = require('prom-client/lib/gauge.js') as typeof client.Gauge;
export type Gauge<T extends string = string> = client.Gauge<T>;

/** The prom-client version whose files this module was checked against. */
export const PROM_CLIENT_CHECKED_VERSION = '15.1.3';

/** A default collector of prom-client's: registers its families in `registry`. */
export type DefaultCollector = (registry: Registry, config: object) => void;

/**
 * The default collectors the exporter takes from prom-client (file names under lib/metrics/), in
 * prom-client's order, but four left out:
 * - eventLoopLag: its perf_hooks histogram wakes a libuv timer many times a second forever, and
 *   this exporter promises no wake-ups while nothing changes;
 * - processHandles, processRequests, processResources: they export gauges named *_total
 *   (nodejs_active_handles_total, ...), which `promtool check metrics` rejects.
 */
export const PROM_CLIENT_COLLECTORS = [
  'processCpuTotal',
  'processStartTime',
  'osMemoryHeap',
  'processOpenFileDescriptors',
  'processMaxFileDescriptors',
  'heapSizeAndUsed',
  'heapSpacesSizeAndUsed',
  'version',
  'gc',
] as const;
export type PromClientCollector = (typeof PROM_CLIENT_COLLECTORS)[number];

/** prom-client's default collector `name`. */
export function defaultCollector(name: PromClientCollector): DefaultCollector {
  return require(`prom-client/lib/metrics/${name}.js`) as DefaultCollector;
}
