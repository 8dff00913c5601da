// The LLDP neighbour families, kept as bytes until the neighbours or the links' names change (as
// the link families are). Labels carry text from the wire, escaped like every label value.
// Without a neighbour no family is written, headers included.
import type { NeighborStore, Neighbor } from '../lldp/neighbors.js';
import type { LinkTable } from '../links/table.js';
import { nameSelected, type NameFilter } from '../links/name-filter.js';
import { escapeLabelValue, familyHeader, type ExpositionFormat, type LinkFamily } from './link-family.js';

const HELP = {
  info:
    'The LLDP neighbour of the link: the chassis id and port id it announces, its port description, system name and ' +
    'first management address (empty when it sends none); value is always 1. Kept after the link loses carrier (see ' +
    'linkstate_lldp_neighbor_stale).',
  stale:
    '1 while the neighbour is kept only because the link lost carrier or the neighbour announced shutdown ' +
    '(until the port hears a neighbour again or --collector.lldp.hold-time passes), 0 while it is heard.',
  lastSeen: 'Unix time of the latest LLDP frame from the neighbour.',
  speed: "The neighbour's own view of the link speed in bytes per second (IEEE 802.3 MAC/PHY TLV); absent when it does not say.",
} as const;

type Kind = 'info' | 'stale' | 'lastSeen' | 'speed';
const FAMILIES: readonly (LinkFamily & { kind: Kind })[] = [
  { kind: 'info', name: 'linkstate_lldp_neighbor_info', type: 'info', help: HELP.info, samples: () => '' },
  { kind: 'stale', name: 'linkstate_lldp_neighbor_stale', type: 'gauge', help: HELP.stale, samples: () => '' },
  { kind: 'lastSeen', name: 'linkstate_lldp_neighbor_last_seen_timestamp_seconds', type: 'gauge', help: HELP.lastSeen, samples: () => '' },
  { kind: 'speed', name: 'linkstate_lldp_neighbor_speed_bytes', type: 'gauge', help: HELP.speed, samples: () => '' },
];

export class LldpNeighborFamilies {
  static readonly HELP = HELP;
  readonly #store: NeighborStore;
  readonly #table: LinkTable;
  readonly #filter: NameFilter;
  readonly #headers: Record<ExpositionFormat, Buffer[]>;
  #storeVersion = -1;
  #layoutVersion = -1;
  /** per family: its samples (empty: the family is left out) */
  #samples: Buffer[] = [];

  constructor(store: NeighborStore, table: LinkTable, filter: NameFilter = {}) {
    this.#store = store;
    this.#table = table;
    this.#filter = filter;
    this.#headers = {
      prometheus: FAMILIES.map((f) => Buffer.from(familyHeader(f, 'prometheus'))),
      openmetrics: FAMILIES.map((f) => Buffer.from(familyHeader(f, 'openmetrics'))),
    };
  }

  /** The families' pieces (none without a neighbour); the same Buffers until a change. */
  pieces(format: ExpositionFormat): Buffer[] {
    if (this.#store.version !== this.#storeVersion || this.#table.layoutVersion !== this.#layoutVersion) {
      this.#render();
      this.#storeVersion = this.#store.version;
      this.#layoutVersion = this.#table.layoutVersion;
    }
    const out: Buffer[] = [];
    const headers = this.#headers[format];
    this.#samples.forEach((samples, i) => {
      if (samples.length > 0) out.push(headers[i] as Buffer, samples);
    });
    return out;
  }

  #render(): void {
    const rows: { device: string; n: Neighbor }[] = [];
    for (const [ifindex, neighbors] of this.#store.ports()) {
      const name = this.#table.get(ifindex)?.name;
      if (name === undefined || !nameSelected(this.#filter, name)) continue;
      for (const n of neighbors) rows.push({ device: name, n });
    }
    rows.sort((a, b) => compare(a.device, b.device) || compare(a.n.chassisId, b.n.chassisId) || compare(a.n.portId, b.n.portId));
    const text: Record<Kind, string> = { info: '', stale: '', lastSeen: '', speed: '' };
    for (const { device, n } of rows) {
      const id = `{device="${escapeLabelValue(device)}",chassis_id="${escapeLabelValue(n.chassisId)}",port_id="${escapeLabelValue(n.portId)}"`;
      text.info +=
        `linkstate_lldp_neighbor_info${id},port_description="${escapeLabelValue(n.portDescription ?? '')}",` +
        `system_name="${escapeLabelValue(n.systemName ?? '')}",management_address="${escapeLabelValue(n.managementAddress ?? '')}"} 1\n`;
      text.stale += `linkstate_lldp_neighbor_stale${id}} ${n.stale ? 1 : 0}\n`;
      text.lastSeen += `linkstate_lldp_neighbor_last_seen_timestamp_seconds${id}} ${n.lastSeenMs / 1000}\n`;
      if (n.speedBytesPerSecond !== undefined) text.speed += `linkstate_lldp_neighbor_speed_bytes${id}} ${n.speedBytesPerSecond}\n`;
    }
    this.#samples = FAMILIES.map((f) => Buffer.from(text[f.kind], 'utf8'));
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
