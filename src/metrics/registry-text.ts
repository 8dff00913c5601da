// The text of the exporter's prom-client registry: the same bytes as prom-client's own
// Registry#metrics() (Prometheus text 0.0.4) and an OpenMetrics registry's (1.0), from the same
// metric objects and their values, with a fraction of the garbage.
//
// prom-client stays the authority for these families: their objects, collectors and values are
// its own, and the output is pinned byte for byte to its formatter (test/unit/registry-text.test.ts).
// Only the formatting is ours. Why (the scrape at 10,001 interfaces): prom-client's formatter
// builds arrays, label objects, a WeakMap entry for a fresh `{}` and several strings per sample,
// many times this registry's own size in garbage per render, and it renders every family's HELP
// and TYPE lines anew at every scrape: young-generation GCs in an idle exporter, and a share of
// each scrape (docs/design.md, "Measured trade-offs"). Here the HELP/TYPE lines are kept per
// metric object (they never change) and each sample is one string appended to the output.
//
// Not supported, because no metric of this exporter uses them: registry default labels and
// exemplars (prom-client prints both only when configured).

export type RegistryFormat = 'prometheus' | 'openmetrics';

/** What the formatter reads of a prom-client metric object (Counter, Gauge, Histogram, ...). */
interface MetricObject {
  get(): Promise<MetricData> | MetricData;
  getForPromString?: () => Promise<MetricData> | MetricData;
}

interface MetricData {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly values?: readonly SampleValue[];
}

interface SampleValue {
  readonly value: number;
  readonly labels?: Readonly<Record<string, unknown>>;
  readonly metricName?: string;
  /** the labels all of a histogram's series share; printed after the sample's own */
  readonly sharedLabels?: Readonly<Record<string, unknown>>;
}

/** The HELP and TYPE lines of one metric in both formats, and its sample name in OpenMetrics. */
interface Header {
  /** the metric's name and help as given, to tell when they change */
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly prometheus: string;
  readonly openmetrics: string;
  /** the sample name: escaped, and in OpenMetrics a counter's without _total (added per sample) */
  readonly promName: string;
  readonly omName: string;
}

const headers = new WeakMap<object, Header>();

function header(metric: object, data: MetricData): Header {
  const cached = headers.get(metric);
  if (cached !== undefined && cached.name === data.name && cached.help === data.help && cached.type === data.type) return cached;
  const name = escapeString(data.name);
  const help = escapeString(data.help);
  // prom-client renames a counter in an OpenMetrics registry: the family without _total, each
  // sample with it.
  const omName = data.type === 'counter' ? name.replace(/_total$/, '') : name;
  const made: Header = {
    name: data.name,
    help: data.help,
    type: data.type,
    prometheus: `# HELP ${name} ${help}\n# TYPE ${name} ${data.type}`,
    openmetrics: `# HELP ${omName} ${help}\n# TYPE ${omName} ${data.type}`,
    promName: name,
    omName,
  };
  headers.set(metric, made);
  return made;
}

/**
 * The registry's metrics as text in the given format, exactly as prom-client's
 * Registry#metrics() prints them (`metrics`: a Registry's getMetricsAsArray()): every metric's values read (collect() run) at once, as
 * prom-client does, then the families in registration order.
 */
export async function registryText(metrics: readonly object[], format: RegistryFormat): Promise<string> {
  const objects = metrics as unknown as readonly MetricObject[];
  const data = await Promise.all(objects.map((m) => (typeof m.getForPromString === 'function' ? m.getForPromString() : m.get())));
  const openMetrics = format === 'openmetrics';
  let out = '';
  for (let i = 0; i < data.length; i++) {
    const d = data[i] as MetricData;
    const h = header(objects[i] as object, d);
    if (i > 0) out += openMetrics ? '\n' : '\n\n';
    out += openMetrics ? h.openmetrics : h.prometheus;
    const familyName = openMetrics ? h.omName : h.promName;
    const counterSuffix = openMetrics && d.type === 'counter' ? '_total' : '';
    // `||` as prom-client's: anything falsy is no samples
    for (const v of d.values || []) {
      const name = (v.metricName === undefined ? familyName : v.metricName) + counterSuffix;
      out += `\n${name}${labelsText(v.labels, v.sharedLabels)} ${valueText(v.value)}`;
    }
  }
  return openMetrics ? `${out}\n# EOF\n` : `${out}\n`;
}

/** `{a="1",b="2"}`: the sample's own labels (but those it shares), then the shared ones; '' when none. */
function labelsText(labels: Readonly<Record<string, unknown>> | undefined, shared: Readonly<Record<string, unknown>> | undefined): string {
  let text = '';
  if (labels !== undefined) {
    for (const key in labels) {
      if (!Object.hasOwn(labels, key) || (shared !== undefined && Object.hasOwn(shared, key))) continue;
      text += `${text === '' ? '' : ','}${key}="${labelValueText(labels[key])}"`;
    }
  }
  if (shared !== undefined) {
    for (const key in shared) {
      if (Object.hasOwn(shared, key)) text += `${text === '' ? '' : ','}${key}="${labelValueText(shared[key])}"`;
    }
  }
  return text === '' ? '' : `{${text}}`;
}

const NEEDS_ESCAPE = /[\\\n"]/;

/** prom-client's label value: a string escaped (\\, \n, \"); anything else as JavaScript prints it. */
function labelValueText(value: unknown): string {
  if (typeof value !== 'string') return `${value as string}`;
  return NEEDS_ESCAPE.test(value) ? escapeString(value).replace(/"/g, '\\"') : value;
}

/** HELP text and names: backslash and newline escaped. */
function escapeString(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** prom-client's value text: Nan (sic), +Inf, -Inf or the number as JavaScript prints it. */
function valueText(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}
