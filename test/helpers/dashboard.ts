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
