// Renders the per-link metric families from the link table.
//
// The kernel tells us exactly when a link changes, so nothing is re-rendered between changes:
// each link's sample lines are cached under its version, each family's block is joined only
// when the table's version moved, and only `linkstate_carrier_down_seconds_total` — a clock
// that runs while a link is down — is recomputed at every scrape, and only for links that are
// down right now. Samples are the same in both exposition formats; only the headers differ.

import { OPER_STATE_NAMES } from '../netlink/constants.js';
import { downSeconds, type LinkState, type LinkTable } from '../links/table.js';

export type ExpositionFormat = 'prometheus' | 'openmetrics';

interface FamilySpec {
  /** sample name (counters end in _total, info in _info) */
  readonly sample: string;
  readonly type: 'gauge' | 'counter' | 'info';
  readonly help: string;
}

/** Families in output order. Index constants below must follow this order. */
export const LINK_FAMILIES: readonly FamilySpec[] = [
  { sample: 'linkstate_up', type: 'gauge', help: 'Whether the link is administratively up (IFF_UP): 1 up, 0 down.' },
  { sample: 'linkstate_carrier', type: 'gauge', help: 'Whether the link has carrier (IFLA_CARRIER): 1 carrier present, 0 no carrier.' },
  {
    sample: 'linkstate_oper_state',
    type: 'gauge',
    help: 'RFC 2863 operational state (IFLA_OPERSTATE): 1 for the current state, 0 for the other six.',
  },
  {
    sample: 'linkstate_carrier_changes_total',
    type: 'counter',
    help: "Carrier changes counted by the kernel (IFLA_CARRIER_CHANGES); counted by the exporter only on kernels without it.",
  },
  {
    sample: 'linkstate_carrier_up_changes_total',
    type: 'counter',
    help: 'Carrier up transitions counted by the kernel (IFLA_CARRIER_UP_COUNT).',
  },
  {
    sample: 'linkstate_carrier_down_changes_total',
    type: 'counter',
    help: 'Carrier down transitions counted by the kernel (IFLA_CARRIER_DOWN_COUNT); each one is a flap.',
  },
  {
    sample: 'linkstate_carrier_last_change_timestamp_seconds',
    type: 'gauge',
    help: 'Unix time at which the exporter saw the latest carrier change of the link; absent until it has seen one.',
  },
  {
    sample: 'linkstate_carrier_down_seconds_total',
    type: 'counter',
    help: 'Seconds the link spent without carrier while administratively up, since the exporter started.',
  },
  { sample: 'linkstate_mtu_bytes', type: 'gauge', help: 'MTU of the link in bytes (IFLA_MTU).' },
  {
    sample: 'linkstate_info',
    type: 'info',
    help: 'Descriptive labels of the link: ifindex, kind (IFLA_INFO_KIND), address, ifalias and master device; value is always 1.',
  },
];

const DOWN_SECONDS = 7;
const FAMILY_COUNT = LINK_FAMILIES.length;

/** Escapes a label value for both text formats: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  if (!/[\\"\n]/.test(value)) return value;
  return value.replace(/[\\"\n]/g, (c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : '\\n'));
}

function familyHeader(spec: FamilySpec, format: ExpositionFormat): string {
  if (format === 'prometheus') {
    const type = spec.type === 'info' ? 'gauge' : spec.type;
    return `# HELP ${spec.sample} ${spec.help}\n# TYPE ${spec.sample} ${type}\n`;
  }
  // OpenMetrics names the family without the _total / _info suffix of its samples.
  const name =
    spec.type === 'counter' ? spec.sample.replace(/_total$/, '') : spec.type === 'info' ? spec.sample.replace(/_info$/, '') : spec.sample;
  return `# HELP ${name} ${spec.help}\n# TYPE ${name} ${spec.type}\n`;
}

interface CachedLink {
  link: LinkState;
  version: number;
  name: string;
  exported: boolean;
  /** rendered sample lines, one string per family (may be empty) */
  lines: string[];
}

export interface DeviceFilter {
  readonly include?: RegExp | undefined;
  readonly exclude?: RegExp | undefined;
}

export function deviceSelected(filter: DeviceFilter, name: string): boolean {
  if (filter.include && !filter.include.test(name)) return false;
  if (filter.exclude && filter.exclude.test(name)) return false;
  return true;
}

type MasterName = (ifindex: number) => string | undefined;

function renderInfoLine(link: LinkState, d: string, masterName: MasterName): string {
  // master: the master device's name when it is known, else its ifindex.
  const master = link.master === undefined ? '' : (masterName(link.master) ?? String(link.master));
  return (
    `linkstate_info{${d},ifindex="${link.ifindex}",kind="${escapeLabelValue(link.kind ?? '')}",` +
    `address="${escapeLabelValue(link.address ?? '')}",ifalias="${escapeLabelValue(link.ifalias ?? '')}",` +
    `master="${escapeLabelValue(master)}"} 1\n`
  );
}

function renderLinkLines(link: LinkState, nowMs: number, masterName: MasterName): string[] {
  const d = `device="${escapeLabelValue(link.name)}"`;
  const lines = new Array<string>(FAMILY_COUNT);
  lines[0] = `linkstate_up{${d}} ${link.adminUp ? 1 : 0}\n`;
  lines[1] = `linkstate_carrier{${d}} ${link.carrier ? 1 : 0}\n`;
  let oper = '';
  for (let i = 0; i < OPER_STATE_NAMES.length; i++) {
    oper += `linkstate_oper_state{${d},state="${OPER_STATE_NAMES[i]}"} ${link.operstate === i ? 1 : 0}\n`;
  }
  // Values outside IF_OPER_* are reported as unknown rather than dropped.
  if (link.operstate >= OPER_STATE_NAMES.length || link.operstate < 0) {
    oper = oper.replace(`state="unknown"} 0`, `state="unknown"} 1`);
  }
  lines[2] = oper;
  lines[3] = `linkstate_carrier_changes_total{${d}} ${link.carrierChanges}\n`;
  lines[4] = `linkstate_carrier_up_changes_total{${d}} ${link.carrierUpChanges}\n`;
  lines[5] = `linkstate_carrier_down_changes_total{${d}} ${link.carrierDownChanges}\n`;
  lines[6] = link.lastChangeMs === undefined ? '' : `linkstate_carrier_last_change_timestamp_seconds{${d}} ${link.lastChangeMs / 1000}\n`;
  lines[DOWN_SECONDS] = renderDownSeconds(link, d, nowMs);
  lines[8] = link.mtu === undefined ? '' : `linkstate_mtu_bytes{${d}} ${link.mtu}\n`;
  lines[9] = renderInfoLine(link, d, masterName);
  return lines;
}

function renderDownSeconds(link: LinkState, deviceLabel: string, nowMs: number): string {
  return `linkstate_carrier_down_seconds_total{${deviceLabel}} ${downSeconds(link, nowMs)}\n`;
}

/**
 * Holds the render caches for one table. `render()` is cheap when nothing changed: it returns
 * the cached blocks plus the down-seconds family recomputed for the links that are down.
 */
export class LinkFamiliesRenderer {
  readonly #table: LinkTable;
  readonly #filter: DeviceFilter;
  readonly #cache = new Map<number, CachedLink>();
  /** exported links sorted by device name, rebuilt when the layout changes */
  #ordered: CachedLink[] = [];
  #orderedLayout = -1;
  #renderedVersion = -1;
  /** joined sample blocks per family for the current table version */
  #blocks: string[] = [];
  /** exported links with an open down interval */
  #downNow: CachedLink[] = [];
  #exportedCount = 0;

  constructor(table: LinkTable, filter: DeviceFilter = {}) {
    this.#table = table;
    this.#filter = filter;
  }

  /** Number of links exported (after the device filters) at the latest render. */
  get exportedCount(): number {
    this.#refresh(Date.now());
    return this.#exportedCount;
  }

  /** Renders every link family in the given format. */
  render(format: ExpositionFormat, nowMs: number): string {
    this.#refresh(nowMs);
    let out = '';
    for (let f = 0; f < FAMILY_COUNT; f++) {
      const spec = LINK_FAMILIES[f] as FamilySpec;
      let block = this.#blocks[f] as string;
      if (f === DOWN_SECONDS && this.#downNow.length > 0) block = this.#renderDownFamily(nowMs);
      if (block === '') continue;
      out += familyHeader(spec, format) + block;
    }
    return out;
  }

  #renderDownFamily(nowMs: number): string {
    let out = '';
    for (const entry of this.#ordered) {
      if (entry.link.downSinceMs !== undefined) {
        out += renderDownSeconds(entry.link, `device="${escapeLabelValue(entry.link.name)}"`, nowMs);
      } else {
        out += entry.lines[DOWN_SECONDS] as string;
      }
    }
    return out;
  }

  #refresh(nowMs: number): void {
    const table = this.#table;
    if (table.version === this.#renderedVersion) return;

    // Per-link lines, re-rendered only for links whose version moved.
    const cache = this.#cache;
    const masterName: MasterName = (ifindex) => table.get(ifindex)?.name;
    let layoutChanged = table.layoutVersion !== this.#orderedLayout;
    for (const link of table.links()) {
      const entry = cache.get(link.ifindex);
      if (entry && entry.link === link && entry.version === link.version) continue;
      const name = link.name;
      const exported = entry && entry.name === name ? entry.exported : deviceSelected(this.#filter, name);
      if (!entry || entry.link !== link || entry.name !== name) layoutChanged = true;
      cache.set(link.ifindex, { link, version: link.version, name, exported, lines: renderLinkLines(link, nowMs, masterName) });
    }

    if (layoutChanged) {
      for (const ifindex of cache.keys()) if (!table.get(ifindex)) cache.delete(ifindex);
      // A rename, add or delete may change a master's name: refresh the info lines that name one.
      for (const entry of cache.values()) {
        if (entry.link.master !== undefined) {
          entry.lines[9] = renderInfoLine(entry.link, `device="${escapeLabelValue(entry.link.name)}"`, masterName);
        }
      }
      const ordered: CachedLink[] = [];
      for (const entry of cache.values()) if (entry.exported) ordered.push(entry);
      ordered.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.link.ifindex - b.link.ifindex));
      this.#ordered = ordered;
      this.#orderedLayout = table.layoutVersion;
    } else {
      // Same members in the same order: refresh the entry objects that were replaced.
      for (let i = 0; i < this.#ordered.length; i++) {
        this.#ordered[i] = cache.get((this.#ordered[i] as CachedLink).link.ifindex) as CachedLink;
      }
    }

    const blocks: string[] = new Array<string>(FAMILY_COUNT).fill('');
    const downNow: CachedLink[] = [];
    for (const entry of this.#ordered) {
      const lines = entry.lines;
      for (let f = 0; f < FAMILY_COUNT; f++) blocks[f] += lines[f] as string;
      if (entry.link.downSinceMs !== undefined) downNow.push(entry);
    }
    this.#blocks = blocks;
    this.#downNow = downNow;
    this.#exportedCount = this.#ordered.length;
    this.#renderedVersion = table.version;
  }
}
