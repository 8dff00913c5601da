// registry-text.ts prints a prom-client registry as prom-client's own formatter does, byte for
// byte, in both formats: fixed registries covering every kind of value and label it meets
// (escapes, NaN and infinities, histograms' shared labels, empty families, counters with and
// without _total), random ones (fast-check), and the exporter's own registry.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Counter, Gauge, Histogram, Registry, type Metric, type OpenMetricsContentType, type RegistryContentType } from 'prom-client';
import { ExporterMetrics } from '../../src/metrics/exporter-metrics.js';
import { registryText } from '../../src/metrics/registry-text.js';

type Format = 'prometheus' | 'openmetrics';

/**
 * prom-client's text of a registry made by `build`, and ours of another one made the same way
 * (prom-client renames counters in place when it prints OpenMetrics, so each side gets its own).
 */
async function bothTexts(build: (registry: Registry<RegistryContentType>) => void, format: Format): Promise<{ theirs: string; ours: string }> {
  const make = (): Registry<RegistryContentType> => {
    const registry = new Registry<RegistryContentType>();
    if (format === 'openmetrics') registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    build(registry);
    return registry;
  };
  const ours = await registryText(make().getMetricsAsArray(), format);
  const theirs = await make().metrics();
  return { theirs, ours };
}

function assortment(registry: Registry<RegistryContentType>): void {
  const registers = [registry];
  const messages = new Counter({ name: 'x_messages_total', help: 'Messages, by type.', labelNames: ['type'], registers });
  messages.inc({ type: 'newlink' }, 3);
  messages.inc({ type: 'dellink' }, 0);
  new Counter({ name: 'x_plain_counter', help: 'A counter whose name lacks _total.', registers }).inc(2.5);
  const odd = new Gauge({ name: 'x_odd_values', help: 'Help with a backslash \\ and a\nnewline.', labelNames: ['v'], registers });
  odd.set({ v: 'nan' }, NaN);
  odd.set({ v: 'inf' }, Infinity);
  odd.set({ v: '-inf' }, -Infinity);
  odd.set({ v: 'neg' }, -1.25e-7);
  odd.set({ v: 'big' }, 1.7976931348623157e308);
  new Gauge({ name: 'x_unset_no_labels', help: 'A gauge never set (prom-client exports 0).', registers });
  new Gauge({ name: 'x_unset_labelled', help: 'A labelled gauge never set (no samples).', labelNames: ['a'], registers });
  const escapes = new Gauge({ name: 'x_escapes', help: 'Label values that need escaping.', labelNames: ['device', 'alias'], registers });
  escapes.set({ device: 'eth"0', alias: 'back\\slash\nnew line' }, 1);
  escapes.set({ device: 'ünï©ødé ✓', alias: '' }, 0);
  const info = new Gauge({ name: 'x_info', help: 'Several labels in order.', labelNames: ['b', 'a', 'c'], registers });
  info.set({ b: '2', a: '1', c: '3' }, 1);
  const gc = new Histogram({ name: 'x_duration_seconds', help: 'A histogram with a label.', labelNames: ['kind'], buckets: [0.001, 0.01, 1], registers });
  gc.observe({ kind: 'minor' }, 0.0004);
  gc.observe({ kind: 'minor' }, 0.5);
  gc.observe({ kind: 'major' }, 3);
  new Histogram({ name: 'x_bare_histogram', help: 'A histogram without labels.', buckets: [1, 2], registers }).observe(1.5);
}

for (const format of ['prometheus', 'openmetrics'] as const) {
  test(`registryText prints an assortment of metrics as prom-client does (${format})`, async () => {
    const { theirs, ours } = await bothTexts(assortment, format);
    assert.ok(theirs.includes('x_duration_seconds_bucket{le="0.001",kind="minor"} 1'), 'the histogram is printed');
    assert.equal(ours, theirs);
  });

  test(`registryText prints an empty registry as prom-client does (${format})`, async () => {
    const { theirs, ours } = await bothTexts(() => undefined, format);
    assert.equal(ours, theirs);
  });

  test(`registryText agrees with prom-client on random registries (${format})`, async () => {
    const name = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,12}$/);
    const family = fc.record({
      name,
      counter: fc.boolean(),
      help: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }), // prom-client requires one
      labelNames: fc.uniqueArray(name, { maxLength: 3 }),
      samples: fc.array(fc.record({ values: fc.array(fc.string({ unit: 'grapheme', maxLength: 12 }), { minLength: 3, maxLength: 3 }), value: fc.double() }), { maxLength: 4 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(family, { selector: (f) => f.name.replace(/_total$/, ''), maxLength: 5 }), async (families) => {
        const build = (registry: Registry<RegistryContentType>): void => {
          for (const f of families) {
            const labelNames = f.labelNames.filter((l) => l !== 'le' && !l.startsWith('__'));
            const labels = (values: string[]): Record<string, string> => Object.fromEntries(labelNames.map((l, i) => [l, values[i] as string]));
            if (f.counter) {
              const c = new Counter({ name: f.name, help: f.help, labelNames, registers: [registry] });
              for (const s of f.samples) c.inc(labels(s.values), Number.isFinite(s.value) ? Math.abs(s.value) : 1);
            } else {
              const g = new Gauge({ name: f.name, help: f.help, labelNames, registers: [registry] });
              for (const s of f.samples) g.set(labels(s.values), s.value);
            }
          }
        };
        const { theirs, ours } = await bothTexts(build, format);
        assert.equal(ours, theirs);
      }),
      { numRuns: 200 },
    );
  });
}

/** Sample values replaced: the process's own (CPU, memory, GC) move between two renders. */
const shape = (text: string): string => text.replace(/^([^#].*) \S+$/gm, '$1 <value>');

test("the exporter's registry: the same families, series and order as prom-client prints, in both formats", async () => {
  const metrics = new ExporterMetrics({ version: '1.2.3', revision: 'abc' }, () => 7);
  metrics.messages.inc({ type: 'newlink' }, 5);
  metrics.registerEthtoolRequests(() => 12);
  // a GC for the histogram to show (its observer hears of GCs at a later turn of the loop)
  let junk = 0;
  for (let i = 0; i < 200 && !(await metrics.renderPrometheus()).includes('nodejs_gc_duration_seconds_count'); i++) {
    for (let j = 0; j < 20; j++) junk += new Array(50_000).fill(j).length;
    await new Promise((r) => setImmediate(r));
  }
  assert.ok(junk > 0);
  const prom = await samePair(() => metrics.renderPrometheus(), () => metrics.registry.metrics());
  assert.match(prom.ours, /^linkstate_exporter_netlink_messages_total\{type="newlink"\} 5$/m);
  assert.match(prom.ours, /^nodejs_gc_duration_seconds_bucket\{le="\+Inf",kind="\w+"\} \d+$/m);
  assert.equal(shape(prom.ours), shape(prom.theirs));

  const omRegistry = new Registry<OpenMetricsContentType>();
  omRegistry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  for (const m of metrics.registry.getMetricsAsArray()) omRegistry.registerMetric(m as unknown as Metric);
  // prom-client renames the counters in place as it prints them; ours prints the same either way
  const om = await samePair(() => metrics.renderOpenMetrics(), () => omRegistry.metrics());
  assert.match(om.ours, /^# TYPE linkstate_exporter_netlink_messages counter$/m);
  assert.match(om.ours, /^linkstate_exporter_netlink_messages_total\{type="newlink"\} 5$/m);
  assert.ok(om.ours.endsWith('\n# EOF\n'));
  assert.equal(shape(om.ours), shape(om.theirs));
});

/**
 * Ours and prom-client's text, rendered one after the other. The GC histogram gains a series when
 * a GC of a new kind runs between the two: the pair is taken again then, up to three times (a
 * formatter that differs differs every time).
 */
async function samePair(ours: () => Promise<string>, theirs: () => Promise<string>): Promise<{ ours: string; theirs: string }> {
  let pair = { ours: await ours(), theirs: await theirs() };
  for (let attempt = 1; attempt < 3 && shape(pair.ours) !== shape(pair.theirs); attempt++) pair = { ours: await ours(), theirs: await theirs() };
  return pair;
}
