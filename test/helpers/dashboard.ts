// Reads the Grafana dashboard (grafana/linkstate-exporter.json) and lists every PromQL expression
// in it — panel targets (rows included), annotations and variable queries — with Grafana's
// variables filled in, so tests can check them with promtool and run them against Prometheus.
import { readRepoFile } from './repo.js';

export const DASHBOARD_FILE = 'grafana/linkstate-exporter.json';

export interface DashboardTarget {
  readonly refId?: string;
  readonly expr?: string;
  readonly datasource?: { type?: string; uid?: string };
  readonly [key: string]: unknown;
}

export interface DashboardPanel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: { h: number; w: number; x: number; y: number };
  readonly datasource?: { type?: string; uid?: string };
  readonly targets?: readonly DashboardTarget[];
  readonly panels?: readonly DashboardPanel[];
  readonly interval?: string;
  readonly [key: string]: unknown;
}

export interface DashboardVariable {
  readonly name: string;
  readonly type: string;
  readonly query?: string | { query?: string };
  readonly definition?: string;
  readonly multi?: boolean;
  readonly includeAll?: boolean;
  readonly datasource?: { type?: string; uid?: string };
  readonly [key: string]: unknown;
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly schemaVersion: number;
  readonly panels: readonly DashboardPanel[];
  readonly templating: { list: readonly DashboardVariable[] };
  readonly annotations?: { list: readonly { name: string; expr?: string; datasource?: { uid?: string } }[] };
  readonly [key: string]: unknown;
}

export function loadDashboard(): Dashboard {
  return JSON.parse(readRepoFile(DASHBOARD_FILE)) as Dashboard;
}

/** Every panel, with the panels of (collapsed) rows flattened in. */
export function allPanels(dashboard: Dashboard): DashboardPanel[] {
  const out: DashboardPanel[] = [];
  for (const panel of dashboard.panels) {
    out.push(panel);
    for (const inner of panel.panels ?? []) out.push(inner);
  }
  return out;
}

export interface DashboardExpression {
  /** "panel 'Carrier' A", "annotation 'Link alerts'", "variable device". */
  readonly where: string;
  readonly expr: string;
  /** The panel's minimum interval, if it sets one (Grafana's $__interval never goes below it). */
  readonly minInterval?: string;
}

/** The selector a `label_values(SELECTOR, label)` variable query reads from. */
export function variableSelector(variable: DashboardVariable): string | undefined {
  const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
  const match = /^label_values\((.+),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$/.exec(query ?? '');
  return match?.[1];
}

export function dashboardExpressions(dashboard: Dashboard): DashboardExpression[] {
  const out: DashboardExpression[] = [];
  for (const panel of allPanels(dashboard)) {
    for (const target of panel.targets ?? []) {
      if (typeof target.expr === 'string') {
        out.push({
          where: `panel '${panel.title}' ${target.refId ?? ''}`.trim(),
          expr: target.expr,
          ...(panel.interval !== undefined ? { minInterval: panel.interval } : {}),
        });
      }
    }
  }
  for (const annotation of dashboard.annotations?.list ?? []) {
    if (typeof annotation.expr === 'string') out.push({ where: `annotation '${annotation.name}'`, expr: annotation.expr });
  }
  for (const variable of dashboard.templating.list) {
    const selector = variableSelector(variable);
    if (selector !== undefined) out.push({ where: `variable ${variable.name}`, expr: selector });
  }
  return out;
}

/** Grafana's own variables that the dashboard may use without defining them. */
export const BUILTIN_VARIABLES = ['__interval', '__rate_interval', '__range'] as const;

/** The names of the variables an expression uses ($name, ${name} and [[name]] forms). */
export function variablesUsed(expr: string): string[] {
  const names = new Set<string>();
  for (const match of expr.matchAll(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g)) {
    const name = match[1] ?? match[2] ?? match[3];
    if (name !== undefined) names.add(name);
  }
  return [...names];
}

/**
 * Replaces the variables as Grafana would: `values` maps a variable name to the text Grafana
 * would substitute (for multi-value regex variables, e.g. "(lnk1|lnk2)"). Throws on a variable
 * that has no value, so a test never sends a literal `$device` to Prometheus.
 */
export function fillVariables(expr: string, values: Readonly<Record<string, string>>): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, (whole, a?: string, b?: string, c?: string) => {
    const name = a ?? b ?? c ?? '';
    const value = values[name];
    if (value === undefined) throw new Error(`no value for variable ${whole} in ${expr}`);
    return value;
  });
}

/**
 * What Grafana's Prometheus data source substitutes for a multi-value (or All) variable inside a
 * regex matcher: each value regex-escaped for a PromQL string (`.` → `\\.`), one value as it is,
 * several as `(a|b)`. All without an allValue is the list of every option.
 */
export function grafanaRegexValue(values: readonly string[]): string {
  if (values.length === 0) throw new Error('a variable with no values');
  const escaped = values.map((v) => v.replace(/\\/g, '\\\\\\\\').replace(/[$^*{}[\]+?.()|]/g, '\\\\$&'));
  return escaped.length === 1 ? escaped[0]! : `(${escaped.join('|')})`;
}

export interface LabelMatcher {
  readonly label: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  /** The string literal's content, as written (escapes not undone). */
  readonly value: string;
}

export interface VectorSelector {
  /** The metric name; undefined for a bare `{...}` selector. */
  readonly metric: string | undefined;
  readonly matchers: readonly LabelMatcher[];
  /** The selector as written, for messages. */
  readonly text: string;
}

const AGGREGATORS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio']);
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan']);

/** The end (exclusive) of the string literal that starts at expr[start]. */
function stringEnd(expr: string, start: number): number {
  const quote = expr[start]!;
  let i = start + 1;
  while (i < expr.length && expr[i] !== quote) i += quote !== '`' && expr[i] === '\\' ? 2 : 1;
  if (i >= expr.length) throw new Error(`unterminated string in ${expr}`);
  return i + 1;
}

/** The end (exclusive) of the bracket group that opens at expr[start], skipping string literals. */
function groupEnd(expr: string, start: number, close: string): number {
  let i = start + 1;
  while (i < expr.length && expr[i] !== close) i = /["'`]/.test(expr[i]!) ? stringEnd(expr, i) : i + 1;
  if (i >= expr.length) throw new Error(`unclosed ${expr[start]} in ${expr}`);
  return i + 1;
}

function parseMatchers(body: string, where: string): LabelMatcher[] {
  const out: LabelMatcher[] = [];
  const re = /\s*([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)\s*(?:,|$)/gy;
  let match: RegExpExecArray | null;
  while (re.lastIndex < body.trimEnd().length && (match = re.exec(body)) !== null) {
    out.push({ label: match[1]!, op: match[2] as LabelMatcher['op'], value: match[3]!.slice(1, -1) });
  }
  if (re.lastIndex < body.trimEnd().length) throw new Error(`cannot read the matchers of ${where}`);
  return out;
}

/**
 * Every vector selector of a PromQL expression (Grafana variables left in): `metric`,
 * `metric{...}` and `{...}`, with their label matchers. Function and aggregation names, keywords
 * and the label lists of by/without/on/ignoring/group_* are not selectors; range and subquery
 * brackets and string literals are skipped. Enough PromQL for the dashboard's expressions.
 */
export function vectorSelectors(expr: string): VectorSelector[] {
  const out: VectorSelector[] = [];
  const nextNonSpace = (from: number): number => {
    while (from < expr.length && /\s/.test(expr[from]!)) from++;
    return from;
  };
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (/\s/.test(c)) i++;
    else if (c === '#') i = expr.includes('\n', i) ? expr.indexOf('\n', i) + 1 : expr.length;
    else if (/["'`]/.test(c)) i = stringEnd(expr, i);
    else if (c === '[') i = groupEnd(expr, i, ']');
    else if (c === '{') {
      const end = groupEnd(expr, i, '}');
      const text = expr.slice(i, end);
      out.push({ metric: undefined, matchers: parseMatchers(text.slice(1, -1), text), text });
      i = end;
    } else if (c === '$') {
      i = /^\$(\{[^}]*\}|\w+)/.exec(expr.slice(i))![0].length + i;
    } else if (/\d/.test(c)) {
      i += /^[\d.]\w*(?:[eE][+-]?\d+)?/.exec(expr.slice(i))![0].length;
    } else if (/[a-zA-Z_:]/.test(c)) {
      const name = /^[a-zA-Z_:][\w:]*/.exec(expr.slice(i))![0];
      const after = nextNonSpace(i + name.length);
      const next = expr[after];
      if (LABEL_LIST_KEYWORDS.has(name) && next === '(') i = groupEnd(expr, after, ')');
      else if (next === '(' || AGGREGATORS.has(name) || LABEL_LIST_KEYWORDS.has(name) || KEYWORDS.has(name.toLowerCase())) i += name.length;
      else if (next === '{') {
        const end = groupEnd(expr, after, '}');
        const text = expr.slice(i, end);
        out.push({ metric: name, matchers: parseMatchers(expr.slice(after + 1, end - 1), text), text });
        i = end;
      } else {
        out.push({ metric: name, matchers: [], text: name });
        i += name.length;
      }
    } else i++;
  }
  return out;
}

/** The value a dashboard matcher on `job` must have: the variable, nothing hard-coded. */
export const JOB_MATCHER = 'job=~"$job"';

/**
 * Job matchers in TEXT that are not `job=~"$job"` (or `${job}` / `${job:regex}`): a hard-coded
 * job name (`job="node"`, `job=~"linkstate-exporter.*"`, `job!~"..."`) in any quoting.
 */
export function hardCodedJobMatchers(text: string): string[] {
  const out: string[] = [];
  const re = /\bjob\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)/g;
  for (const match of text.matchAll(re)) {
    if (match[1] === '=~' && /^\$(?:job|\{job(?::\w+)?\})$/.test(match[2]!.slice(1, -1))) continue;
    out.push(match[0]);
  }
  return out;
}

/** Every string in a parsed JSON value (object keys included), for scanning a dashboard. */
export function jsonStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(jsonStrings);
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [k, ...jsonStrings(v)]);
  return [];
}

/** The matchers every per-link selector of the dashboard carries: the device and netns variables. */
export const DEVICE_MATCHER = 'device=~"$device"';
export const NETNS_MATCHER = 'netns=~"$netns"';

/**
 * Whether METRIC is a per-link series (one per device, with a netns label for the links of
 * other network namespaces): linkstate_* but not the exporter's own linkstate_exporter_* nor the
 * per-namespace linkstate_netns_info; ALERTS too, as the link alerts keep device and netns.
 */
export function isPerLinkMetric(metric: string | undefined): boolean {
  if (metric === 'ALERTS') return true;
  return metric !== undefined && metric.startsWith('linkstate_') && !metric.startsWith('linkstate_exporter_') && metric !== 'linkstate_netns_info';
}
