// The exporter's registry is printed by prom-client's own Registry#metrics() in both formats.
// prom-client prints OpenMetrics by renaming each counter in place (the family without _total);
// the same metric objects are printed in the Prometheus format too, so the names must be theirs
// again afterwards, also when two scrapes in different formats overlap.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry, type Metric, type OpenMetricsContentType } from 'prom-client';
import { ExporterMetrics } from '../../src/metrics/exporter-metrics.js';

/** Sample values replaced: the process's own (CPU, memory, GC) move between two renders. */
const shape = (text: string): string => text.replace(/^([^#].*) \S+$/gm, '$1 <value>');

function exporterMetrics(): ExporterMetrics {
  const metrics = new ExporterMetrics({ version: '1.2.3', revision: 'abc' }, () => 7);
  metrics.messages.inc({ type: 'newlink' }, 5);
  metrics.registerEthtoolRequests(() => 12);
  return metrics;
}

test('the Prometheus text keeps the counters\' _total after an OpenMetrics scrape', async () => {
  const metrics = exporterMetrics();
  const before = await metrics.renderPrometheus();
  const om = await metrics.renderOpenMetrics();
  assert.match(om, /^# TYPE linkstate_exporter_netlink_messages counter$/m);
  assert.match(om, /^linkstate_exporter_netlink_messages_total\{type="newlink"\} 5$/m);
  assert.match(om, /^linkstate_exporter_ethtool_requests_total 12$/m);
  assert.ok(om.endsWith('\n# EOF\n'));
  const after = await metrics.renderPrometheus();
  assert.match(after, /^# TYPE linkstate_exporter_netlink_messages_total counter$/m);
  assert.match(after, /^linkstate_exporter_netlink_messages_total\{type="newlink"\} 5$/m);
  assert.equal(shape(after), shape(before));
  assert.equal(shape(await metrics.renderOpenMetrics()), shape(om), 'a second OpenMetrics scrape prints the same');
});

test('overlapping scrapes in both formats each get their own format', async () => {
  const metrics = exporterMetrics();
  const plain = shape(await metrics.renderPrometheus());
  const open = shape(await metrics.renderOpenMetrics());
  const texts = await Promise.all([metrics.renderOpenMetrics(), metrics.renderPrometheus(), metrics.renderOpenMetrics(), metrics.renderPrometheus()]);
  assert.deepEqual(texts.map(shape), [open, plain, open, plain]);
});

test('the text is prom-client\'s own: the same as a registry of that format holding the same metrics', async () => {
  const metrics = exporterMetrics();
  assert.equal(shape(await metrics.renderPrometheus()), shape(await metrics.registry.metrics()));
  const omRegistry = new Registry<OpenMetricsContentType>();
  omRegistry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  const ours = shape(await metrics.renderOpenMetrics());
  for (const m of metrics.registry.getMetricsAsArray()) omRegistry.registerMetric(m as unknown as Metric);
  assert.equal(ours, shape(await omRegistry.metrics()));
});
