// Renders the per-link metric families from the link table.
//
// The kernel tells us exactly when a link changes, so nothing is re-rendered between changes:
// samples are kept as bytes per chunk of links and family (see LinkFamiliesRenderer), and a
// scrape only hands out the cached pieces. Samples are the same in both exposition formats;
// only the headers differ.

import { OPER_STATE_NAMES } from '../netlink/constants.js';
import { downSeconds, type LinkState, type LinkTable } from '../links/table.js';
import { deflateSegment, type DeflatedSegment } from './deflate-segments.js';

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


/** The sample line(s) of family f for one link ('' when the link has none in that family). */
function familyLines(f: number, link: LinkState, d: string, nowMs: number, masterName: MasterName): string {
  switch (f) {
    case 0:
      return `linkstate_up{${d}} ${link.adminUp ? 1 : 0}\n`;
    case 1:
      return `linkstate_carrier{${d}} ${link.carrier ? 1 : 0}\n`;
    case 2: {
      // Values outside IF_OPER_* are reported as unknown rather than dropped.
      const oper = link.operstate >= 0 && link.operstate < OPER_STATE_NAMES.length ? link.operstate : 0;
      let lines = '';
      for (let i = 0; i < OPER_STATE_NAMES.length; i++) {
        lines += `linkstate_oper_state{${d},state="${OPER_STATE_NAMES[i]}"} ${oper === i ? 1 : 0}\n`;
      }
      return lines;
    }
    case 3:
      return `linkstate_carrier_changes_total{${d}} ${link.carrierChanges}\n`;
    case 4:
      return `linkstate_carrier_up_changes_total{${d}} ${link.carrierUpChanges}\n`;
    case 5:
      return `linkstate_carrier_down_changes_total{${d}} ${link.carrierDownChanges}\n`;
    case 6:
      return link.lastChangeMs === undefined ? '' : `linkstate_carrier_last_change_timestamp_seconds{${d}} ${link.lastChangeMs / 1000}\n`;
    case DOWN_SECONDS:
      return renderDownSeconds(link, d, nowMs);
    case 8:
      return link.mtu === undefined ? '' : `linkstate_mtu_bytes{${d}} ${link.mtu}\n`;
    default:
      return renderInfoLine(link, d, masterName);
  }
}

function renderDownSeconds(link: LinkState, deviceLabel: string, nowMs: number): string {
  return `linkstate_carrier_down_seconds_total{${deviceLabel}} ${downSeconds(link, nowMs)}\n`;
}

const EMPTY = Buffer.alloc(0);

/**
 * A piece of the exposition: its bytes, and the same bytes compressed on their own (computed on
 * first use, then kept for as long as the piece is).
 */
export class Segment {
  readonly data: Buffer;
  #deflated: DeflatedSegment | undefined;

  constructor(data: Buffer) {
    this.data = data;
  }

  deflated(): DeflatedSegment {
    this.#deflated ??= deflateSegment(this.data);
    return this.#deflated;
  }
}

const EMPTY_SEGMENT = new Segment(EMPTY);

/**
 * Where a piece is written before it gets a buffer of its own: lines go straight into bytes, so
 * rendering leaves only short-lived strings behind (accumulating a piece as a string kept
 * ~100 KB ropes alive across minor GCs, which made V8 grow the young generation to 32 MiB).
 */
class Scratch {
  #buf = Buffer.allocUnsafeSlow(16 * 1024);
  #used = 0;

  write(text: string): void {
    if (text === '') return;
    if (this.#buf.length - this.#used < text.length * 3) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(this.#buf.length * 2, this.#used + text.length * 3));
      this.#buf.copy(bigger, 0, 0, this.#used);
      this.#buf = bigger;
    }
    this.#used += this.#buf.write(text, this.#used);
  }

  /** The bytes written since the last take, as a segment of their own; the scratch is emptied. */
  take(): Segment {
    if (this.#used === 0) return EMPTY_SEGMENT;
    const segment = new Segment(Buffer.from(this.#buf.subarray(0, this.#used)));
    this.#used = 0;
    return segment;
  }
}

/** Up to CHUNK_LINKS consecutive links (in output order) and their rendered samples per family. */
interface Chunk {
  readonly links: LinkState[];
  /** link.version of each link when its samples were rendered */
  readonly versions: number[];
  /** per family: the samples of these links (format-independent) */
  samples: Segment[];
  /** true when a link of the chunk is down right now: its down-seconds samples are live */
  hasDown: boolean;
}

/**
 * Links per chunk. A change re-renders (and, for gzip, recompresses) the chunk of the link that
 * changed, so smaller chunks make single changes cheaper; larger ones make fewer pieces per scrape
 * and compress better.
 */
const CHUNK_LINKS = 256;

/**
 * Holds the render caches for one table. Nothing is rendered between changes: the exported links,
 * sorted by device name, are cut into chunks, each chunk keeps its samples per family as bytes
 * (and, once a gzip scrape asked, compressed), and a table change re-renders only the chunks
 * holding links whose version moved — all of them when links were added, removed or renamed.
 * Only `linkstate_carrier_down_seconds_total` — a clock that runs while a link is down — is
 * rendered at every scrape, and only for chunks that hold a link that is down right now.
 */
export class LinkFamiliesRenderer {
  readonly #table: LinkTable;
  readonly #filter: DeviceFilter;
  #chunks: Chunk[] = [];
  #layout = -1;
  #renderedVersion = -1;
  #exportedCount = 0;
  readonly #scratch = new Scratch();
  readonly #headers: Record<ExpositionFormat, Segment[]> = {
    prometheus: LINK_FAMILIES.map((spec) => new Segment(Buffer.from(familyHeader(spec, 'prometheus'), 'utf8'))),
    openmetrics: LINK_FAMILIES.map((spec) => new Segment(Buffer.from(familyHeader(spec, 'openmetrics'), 'utf8'))),
  };

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
    return Buffer.concat(this.segments(format, nowMs).map((s) => s.data)).toString('utf8');
  }

  /**
   * Every link family in the given format, as pieces to be sent in order. The pieces are shared
   * with later scrapes: callers must not modify them.
   */
  segments(format: ExpositionFormat, nowMs: number): Segment[] {
    this.#refresh(nowMs);
    const chunks = this.#chunks;
    const headers = this.#headers[format];
    const out: Segment[] = [];
    for (let f = 0; f < FAMILY_COUNT; f++) {
      const first = out.length;
      out.push(headers[f] as Segment);
      let empty = true;
      for (const chunk of chunks) {
        const segment = f === DOWN_SECONDS && chunk.hasDown ? this.#liveDownSeconds(chunk, nowMs) : (chunk.samples[f] as Segment);
        if (segment.data.length === 0) continue;
        out.push(segment);
        empty = false;
      }
      if (empty) out.length = first; // a family without samples is left out, header and all
    }
    return out;
  }

  #liveDownSeconds(chunk: Chunk, nowMs: number): Segment {
    const scratch = this.#scratch;
    for (const link of chunk.links) scratch.write(renderDownSeconds(link, `device="${escapeLabelValue(link.name)}"`, nowMs));
    return scratch.take();
  }

  #refresh(nowMs: number): void {
    const table = this.#table;
    if (table.version === this.#renderedVersion) return;
    const masterName: MasterName = (ifindex) => table.get(ifindex)?.name;

    if (table.layoutVersion !== this.#layout) {
      // Links were added, removed or renamed: new order, new chunks, everything re-rendered
      // (a rename or delete may also change the master name other links' info lines show).
      const ordered: LinkState[] = [];
      for (const link of table.links()) if (deviceSelected(this.#filter, link.name)) ordered.push(link);
      ordered.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.ifindex - b.ifindex));
      const chunks: Chunk[] = [];
      for (let i = 0; i < ordered.length; i += CHUNK_LINKS) {
        const links = ordered.slice(i, i + CHUNK_LINKS);
        const chunk: Chunk = { links, versions: links.map((l) => l.version), samples: [], hasDown: false };
        renderChunk(chunk, nowMs, masterName, this.#scratch);
        chunks.push(chunk);
      }
      this.#chunks = chunks;
      this.#exportedCount = ordered.length;
      this.#layout = table.layoutVersion;
    } else {
      for (const chunk of this.#chunks) {
        const { links, versions } = chunk;
        let dirty = false;
        for (let i = 0; i < links.length; i++) {
          const version = (links[i] as LinkState).version;
          if (version !== versions[i]) {
            versions[i] = version;
            dirty = true;
          }
        }
        if (dirty) renderChunk(chunk, nowMs, masterName, this.#scratch);
      }
    }
    this.#renderedVersion = table.version;
  }
}

function renderChunk(chunk: Chunk, nowMs: number, masterName: MasterName, scratch: Scratch): void {
  const links = chunk.links;
  const labels = links.map((link) => `device="${escapeLabelValue(link.name)}"`);
  const samples: Segment[] = [];
  for (let f = 0; f < FAMILY_COUNT; f++) {
    for (let i = 0; i < links.length; i++) scratch.write(familyLines(f, links[i] as LinkState, labels[i] as string, nowMs, masterName));
    samples.push(scratch.take());
  }
  chunk.samples = samples;
  chunk.hasDown = links.some((link) => link.downSinceMs !== undefined);
}
