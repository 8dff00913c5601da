// One metric family of per-link samples as one value that carries everything about it: its name,
// help and type, from which both text formats' headers are made, and how it writes one link's
// samples (node_exporter's typedDesc habit). The constructors below are the shapes a family can
// take; LINK_FAMILIES (link-families.ts) lists the exported ones, and adding a family is adding
// one entry there: nothing else keeps a list of families or an index into one.
//
// A family whose value is unknown for a link (the attribute was not sent, the driver does not
// say) writes nothing for it: the series is absent, never 0. A family with no sample at all is
// left out of the exposition, headers included.

import type { CarrierLossLookup } from '../links/carrier-causes.js';
import type { LinkState } from '../links/link-record.js';

export type ExpositionFormat = 'prometheus' | 'openmetrics';

/** What a family's samples may depend on besides the link itself. */
export interface SampleContext {
  /** wall clock of this render, ms */
  readonly nowMs: number;
  /** the name of the link with this ifindex, when the table knows it */
  readonly linkName: (ifindex: number) => string | undefined;
  /**
   * The link's carrier losses by cause and last outage (carrier-causes.ts). They change only when
   * the table tells an update of the link, which bumps its version: the caches stay right.
   */
  readonly losses: CarrierLossLookup;
}

export interface LinkFamily {
  /** sample name: a counter's ends in _total, an info family's in _info */
  readonly name: string;
  readonly type: 'gauge' | 'counter' | 'info';
  readonly help: string;
  /**
   * The sample lines of one link, each ending in '\n', or '' when the link has none in this
   * family. `device` is the link's label pair, already escaped (`device="eth0"`).
   */
  readonly samples: (link: LinkState, device: string, ctx: SampleContext) => string;
  /**
   * Only for a family whose samples move with the clock: true while a link's samples must be
   * rendered anew at every scrape (a down-time clock while the link is down). It may read any
   * LinkState field: the table bumps link.version on every change of one (table-changes.test.ts
   * checks each). Without it, samples change only with the link.
   */
  readonly liveWhile?: (link: LinkState) => boolean;
}

/** A per-link value: true and false export as 1 and 0; undefined means no sample. */
export type SampleValue = number | boolean | undefined;

/** Escapes a label value for both text formats: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  if (!/[\\"\n]/.test(value)) return value;
  return value.replace(/[\\"\n]/g, (c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : '\\n'));
}

function singleValue(
  name: string,
  type: 'gauge' | 'counter',
  help: string,
  value: (link: LinkState, ctx: SampleContext) => SampleValue,
  liveWhile: ((link: LinkState) => boolean) | undefined,
): LinkFamily {
  const open = `${name}{`;
  const family: LinkFamily = {
    name,
    type,
    help,
    samples: (link, device, ctx) => {
      const v = value(link, ctx);
      if (v === undefined) return '';
      return `${open}${device}} ${v === true ? 1 : v === false ? 0 : v}\n`;
    },
  };
  return liveWhile === undefined ? family : { ...family, liveWhile };
}

/** One sample per link: `name{device="…"} value`, absent where value gives undefined. */
export function gauge(name: string, help: string, value: (link: LinkState, ctx: SampleContext) => SampleValue): LinkFamily {
  return singleValue(name, 'gauge', help, value, undefined);
}

/**
 * A counter (name ends in _total): one sample per link, absent where value gives undefined.
 * `liveWhile`: see LinkFamily.
 */
export function counter(
  name: string,
  help: string,
  value: (link: LinkState, ctx: SampleContext) => SampleValue,
  opts: { readonly liveWhile?: (link: LinkState) => boolean } = {},
): LinkFamily {
  if (!name.endsWith('_total')) throw new Error(`counter ${name}: the sample name must end in _total`);
  return singleValue(name, 'counter', help, value, opts.liveWhile);
}

/**
 * A state set as node_exporter exports one: a gauge with one sample per state, labelled
 * `label="state"`, 1 for the link's current state and 0 for the others. `current` gives the
 * index into `states`, or undefined when the state is unknown: then the link has no sample at
 * all. (OpenMetrics' own stateset type would have to use the family name as the label name.)
 */
export function stateSet(
  name: string,
  help: string,
  label: string,
  states: readonly string[],
  current: (link: LinkState, ctx: SampleContext) => number | undefined,
): LinkFamily {
  const open = `${name}{`;
  const closes = states.map((state) => `,${label}="${escapeLabelValue(state)}"} `);
  return {
    name,
    type: 'gauge',
    help,
    samples: (link, device, ctx) => {
      const at = current(link, ctx);
      if (at === undefined) return '';
      let lines = '';
      for (let i = 0; i < closes.length; i++) lines += `${open}${device}${closes[i] as string}${i === at ? 1 : 0}\n`;
      return lines;
    },
  };
}

/** One sample of value 1 per link, labelled with `labels` (after device); see info and labelled. */
function labelledOne(
  name: string,
  type: 'gauge' | 'info',
  help: string,
  labels: readonly string[],
  values: (link: LinkState, ctx: SampleContext) => readonly string[] | undefined,
): LinkFamily {
  const open = `${name}{`;
  const opens = labels.map((label) => `,${label}="`);
  return {
    name,
    type,
    help,
    samples: (link, device, ctx) => {
      const v = values(link, ctx);
      if (v === undefined) return '';
      let line = `${open}${device}`;
      for (let i = 0; i < opens.length; i++) line += `${opens[i] as string}${escapeLabelValue(v[i] ?? '')}"`;
      return `${line}} 1\n`;
    },
  };
}

/**
 * An info family (name ends in _info): one sample of value 1 per link, labelled with `labels`
 * (after device), whose values `values` gives in the same order (escaped here); absent where it
 * gives undefined.
 */
export function info(
  name: string,
  help: string,
  labels: readonly string[],
  values: (link: LinkState, ctx: SampleContext) => readonly string[] | undefined,
): LinkFamily {
  if (!name.endsWith('_info')) throw new Error(`info family ${name}: the sample name must end in _info`);
  return labelledOne(name, 'info', help, labels, values);
}

/**
 * A gauge of value 1 whose labels say what holds (a down reason and its detail, say), for the
 * links where `values` gives them; absent for the others.
 */
export function labelled(
  name: string,
  help: string,
  labels: readonly string[],
  values: (link: LinkState, ctx: SampleContext) => readonly string[] | undefined,
): LinkFamily {
  return labelledOne(name, 'gauge', help, labels, values);
}

/**
 * A counter with one series per value of `label` (values in `values` order) whose count is above
 * zero: a series appears at its first count, never as a zero. `counts` gives the counts indexed
 * as `values`, or undefined when the link has none.
 */
export function labelledCounter(
  name: string,
  help: string,
  label: string,
  values: readonly string[],
  counts: (link: LinkState, ctx: SampleContext) => readonly number[] | undefined,
): LinkFamily {
  if (!name.endsWith('_total')) throw new Error(`counter ${name}: the sample name must end in _total`);
  const open = `${name}{`;
  const closes = values.map((value) => `,${label}="${escapeLabelValue(value)}"} `);
  return {
    name,
    type: 'counter',
    help,
    samples: (link, device, ctx) => {
      const c = counts(link, ctx);
      if (c === undefined) return '';
      let lines = '';
      for (let i = 0; i < closes.length; i++) {
        const n = c[i] ?? 0;
        if (n > 0) lines += `${open}${device}${closes[i] as string}${n}\n`;
      }
      return lines;
    },
  };
}

/** The HELP and TYPE lines of a family in the given format. */
export function familyHeader(family: LinkFamily, format: ExpositionFormat): string {
  if (format === 'prometheus') {
    const type = family.type === 'info' ? 'gauge' : family.type;
    return `# HELP ${family.name} ${family.help}\n# TYPE ${family.name} ${type}\n`;
  }
  // OpenMetrics names the family without the _total / _info suffix of its samples.
  const name = family.type === 'counter' ? family.name.slice(0, -'_total'.length) : family.type === 'info' ? family.name.slice(0, -'_info'.length) : family.name;
  return `# HELP ${name} ${family.help}\n# TYPE ${name} ${family.type}\n`;
}
