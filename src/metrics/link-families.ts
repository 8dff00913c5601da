// The per-link metric families, and the renderer that keeps them as cached bytes.
//
// Each family is one entry of LINK_FAMILIES, in output order, carrying its name, help, type and
// how it writes a link's samples (link-family.ts). The kernel tells us exactly when a link
// changes, so nothing is re-rendered between changes: samples are kept as bytes per chunk of
// links and family (see LinkFamiliesRenderer), and a scrape only hands out the cached pieces.
// Samples are the same in both exposition formats; only the headers differ.

import { BRIDGE_PORT_STATE_NAMES, OPER_STATE_NAMES } from '../rtnetlink/constants.js';
import { CARRIER_CAUSES, currentCause, noCarrierLosses, type CarrierLossLookup } from '../links/carrier-causes.js';
import { nameSelected, type NameFilter } from '../links/name-filter.js';
import { downSeconds, type LinkState } from '../links/link-record.js';
import type { LinkTable } from '../links/table.js';
import { ByteScratch } from './byte-scratch.js';
import { counter, familyHeader, gauge, info, labelled, labelledCounter, stateSet, escapeLabelValue, type ExpositionFormat, type LinkFamily, type SampleContext } from './link-family.js';

export { escapeLabelValue, type ExpositionFormat, type LinkFamily } from './link-family.js';

const DUPLEX_NAMES: readonly string[] = ['full', 'half', 'unknown'];

const EMPTY = Buffer.alloc(0);

/** The per-link families, in output order. */
export const LINK_FAMILIES: readonly LinkFamily[] = [
  gauge('linkstate_up', 'Whether the link is administratively up (IFF_UP): 1 up, 0 down.', (link) => link.adminUp),
  gauge('linkstate_carrier', 'Whether the link has carrier (IFLA_CARRIER): 1 carrier present, 0 no carrier.', (link) => link.carrier),
  stateSet(
    'linkstate_oper_state',
    'RFC 2863 operational state (IFLA_OPERSTATE): 1 for the current state, 0 for the other six.',
    'state',
    OPER_STATE_NAMES,
    // Values outside IF_OPER_* are reported as unknown rather than dropped.
    (link) => (link.operstate >= 0 && link.operstate < OPER_STATE_NAMES.length ? link.operstate : 0),
  ),
  counter(
    'linkstate_carrier_changes_total',
    'Carrier changes counted by the kernel (IFLA_CARRIER_CHANGES); counted by the exporter only on kernels without it.',
    (link) => link.carrierChanges,
  ),
  counter('linkstate_carrier_up_changes_total', 'Carrier up transitions counted by the kernel (IFLA_CARRIER_UP_COUNT).', (link) => link.carrierUpChanges),
  counter(
    'linkstate_carrier_down_changes_total',
    'Carrier down transitions counted by the kernel (IFLA_CARRIER_DOWN_COUNT); each one is a flap.',
    (link) => link.carrierDownChanges,
  ),
  gauge(
    'linkstate_carrier_last_change_timestamp_seconds',
    'Unix time at which the exporter saw the latest carrier change of the link; absent until it has seen one.',
    (link) => (link.lastChangeMs === undefined ? undefined : link.lastChangeMs / 1000),
  ),
  counter(
    'linkstate_carrier_down_seconds_total',
    'Seconds the link spent without carrier while administratively up, since the exporter started.',
    (link, ctx) => downSeconds(link, ctx.nowMs),
    // the clock runs while the link is down
    { liveWhile: (link) => link.downSinceMs !== undefined },
  ),
  labelledCounter(
    'linkstate_carrier_losses_total',
    'Carrier losses since the exporter first saw the link, by cause: admin (set down), protodown, lower_layer (its lower device or veth peer), no_active_members (a bridge, bond or team without an active member), carrier (the medium), unknown (counted by the kernel, never announced). A series appears at its first loss.',
    'cause',
    CARRIER_CAUSES,
    (link, ctx) => ctx.losses(link)?.counts,
  ),
  labelled(
    'linkstate_carrier_down_cause',
    'Why the link has no carrier right now, from its state (same causes and precedence as linkstate_carrier_losses_total, never unknown); 1 while without carrier, absent otherwise.',
    ['cause'],
    (link) => {
      const cause = currentCause(link);
      return cause === undefined ? undefined : [cause];
    },
  ),
  gauge(
    'linkstate_carrier_last_down_duration_seconds',
    'How long the last completed outage of the link lasted, from the announced carrier loss to its return; absent until the exporter has seen one begin and end.',
    (link, ctx) => ctx.losses(link)?.lastDownSeconds,
  ),
  gauge('linkstate_mtu_bytes', 'MTU of the link in bytes (IFLA_MTU).', (link) => link.mtu),
  // From ethtool netlink (LINKMODES_GET / LINKSTATE_GET): absent where the driver does not say.
  gauge(
    'linkstate_speed_bytes',
    'Link speed in bytes per second (ethtool LINKMODES speed in Mb/s x 125000, as node_network_speed_bytes); absent when unknown.',
    (link) => (link.speedMbps === undefined || link.speedMbps === 0 ? undefined : link.speedMbps * 125_000),
  ),
  stateSet(
    'linkstate_duplex',
    'Duplex of the link (ethtool LINKMODES duplex): 1 for the current one of full, half, unknown; absent when the driver does not say.',
    'duplex',
    DUPLEX_NAMES,
    (link) => (link.duplex === undefined ? undefined : DUPLEX_NAMES.indexOf(link.duplex)),
  ),
  gauge('linkstate_autonegotiation', 'Whether autonegotiation is on (ethtool LINKMODES autoneg): 1 on, 0 off.', (link) => link.autoneg),
  gauge(
    'linkstate_advertised_speed_max_bytes',
    'Speed of the fastest link mode the link advertises, in bytes per second; compare with linkstate_speed_bytes.',
    (link) => (link.advertisedSpeedMaxMbps === undefined ? undefined : link.advertisedSpeedMaxMbps * 125_000),
  ),
  labelled(
    'linkstate_carrier_down_reason',
    'Why the link has no carrier, as the driver reports it (ethtool link extended state and substate, kernel names in lower case); 1 while without carrier, absent otherwise.',
    ['reason', 'detail'],
    (link) => (link.carrier || link.downReason === undefined ? undefined : [link.downReason, link.downReasonDetail ?? '']),
  ),
  gauge('linkstate_sqi', 'Signal quality index reported by the PHY (ethtool LINKSTATE SQI).', (link) => link.sqi),
  gauge('linkstate_sqi_max', 'Largest signal quality index the PHY can report (ethtool LINKSTATE SQI max).', (link) => link.sqiMax),
  counter(
    'linkstate_phy_link_down_events_total',
    'Link-down events counted by the PHY or driver itself (ethtool LINKSTATE EXT_DOWN_CNT, Linux >= 6.2); unlike carrier_down it does not count software state changes. Absent where the driver does not report it.',
    (link) => link.phyLinkDownEvents,
  ),
  stateSet(
    'linkstate_bridge_port_state',
    'STP state of a bridge port (IFLA_BRPORT_STATE): 1 for the current one of disabled, listening, learning, forwarding, blocking.',
    'state',
    BRIDGE_PORT_STATE_NAMES,
    (link) => (link.bridgePortState !== undefined && link.bridgePortState < BRIDGE_PORT_STATE_NAMES.length ? link.bridgePortState : undefined),
  ),
  info(
    'linkstate_info',
    'Descriptive labels of the link: ifindex, kind (IFLA_INFO_KIND), address, ifalias, master device, and the bus and name of its parent device (IFLA_PARENT_DEV_BUS_NAME, IFLA_PARENT_DEV_NAME; empty for virtual devices); value is always 1.',
    ['ifindex', 'kind', 'address', 'ifalias', 'master', 'parent_bus', 'parent_device'],
    (link, ctx) => [
      String(link.ifindex),
      link.kind ?? '',
      link.address ?? '',
      link.ifalias ?? '',
      // the master device's name when it is known, else its ifindex
      link.master === undefined ? '' : (ctx.linkName(link.master) ?? String(link.master)),
      link.parentBus ?? '',
      link.parentDevice ?? '',
    ],
  ),
];

/** The link's identifying labels: device, and netns for a link of another namespace. */
const deviceLabel = (link: LinkState): string =>
  link.netns === undefined ? `device="${escapeLabelValue(link.name)}"` : `device="${escapeLabelValue(link.name)}",netns="${escapeLabelValue(link.netns)}"`;

/**
 * The tables to render, in output order (the exporter's own first, then one per namespace), and a
 * version that moves whenever a table is added, removed or reordered.
 */
export interface LinkTables {
  readonly version: number;
  tables(): Iterable<LinkTable>;
}

/** Up to CHUNK_LINKS consecutive links (in output order) and their rendered samples per family. */
interface Chunk {
  readonly links: LinkState[];
  /** the table of each link (a chunk may span the tables of several namespaces) */
  readonly tables: LinkTable[];
  /** link.version of each link when its samples were rendered */
  readonly versions: number[];
  /** per family: the samples of these links as bytes (format-independent; empty when none) */
  samples: Buffer[];
  /** per family: true when a link of the chunk is live in it (liveWhile): rendered at every scrape */
  live: boolean[];
}

/**
 * Links per chunk. A change re-renders (and, for gzip, recompresses) the chunk of the link that
 * changed, so smaller chunks make single changes cheaper; larger ones make fewer pieces per scrape
 * and compress better.
 */
const CHUNK_LINKS = 256;

/**
 * Holds the render caches. Nothing is rendered between changes: the exported links, table by
 * table (the exporter's own namespace first, then each other one) and by device name within a
 * table, are cut into chunks that may span tables (a hundred namespaces of four links each are
 * two chunks, not a hundred pieces per family to send and compress), each chunk keeps its samples
 * per family as bytes, and a change re-renders only the chunks holding links whose version moved —
 * all of them when links were added, removed or renamed, or a namespace came or went. Only
 * families with a clock (liveWhile) are rendered at every scrape, and only for chunks that hold a
 * link that is live in them right now.
 */
export class LinkFamiliesRenderer {
  readonly #tables: LinkTables;
  readonly #filter: NameFilter;
  readonly #families: readonly LinkFamily[];
  #chunks: Chunk[] = [];
  #exportedCount = 0;
  /** the tables rendered, and their layoutVersion and version when they were */
  #rendered: LinkTable[] = [];
  #layouts: number[] = [];
  #versions: number[] = [];
  #tablesVersion = -1;
  readonly #scratch = new ByteScratch();
  readonly #headers: Record<ExpositionFormat, Buffer[]>;
  /** One context for every render: linkName reads the table of the link being rendered. */
  #current: LinkTable | undefined;
  #nowMs = 0;
  readonly #ctx: SampleContext;

  /**
   * `tables`: one table, or the tables of every namespace; `families`: the families to render, in
   * output order (LINK_FAMILIES unless a test says); `losses`: the carrier-loss accounting
   * subscribed to those tables (none: no loss series).
   */
  constructor(
    tables: LinkTable | LinkTables,
    filter: NameFilter = {},
    families: readonly LinkFamily[] = LINK_FAMILIES,
    losses: CarrierLossLookup = noCarrierLosses,
  ) {
    this.#tables = isLinkTables(tables) ? tables : { version: 0, tables: () => [tables] };
    this.#filter = filter;
    this.#families = families;
    this.#headers = {
      prometheus: families.map((f) => Buffer.from(familyHeader(f, 'prometheus'), 'utf8')),
      openmetrics: families.map((f) => Buffer.from(familyHeader(f, 'openmetrics'), 'utf8')),
    };
    const renderer = this;
    this.#ctx = {
      get nowMs() {
        return renderer.#nowMs;
      },
      linkName: (ifindex) => this.#current?.get(ifindex)?.name,
      losses,
    };
  }

  /** Number of links exported (after the device filters) at the latest render. */
  get exportedCount(): number {
    this.#refresh(Date.now());
    return this.#exportedCount;
  }

  /**
   * Every link family in the given format, as pieces to be sent in order, none empty. A piece is
   * the same Buffer from one scrape to the next until its samples change (gzip-piece-cache.ts
   * relies on that): callers must not modify them.
   */
  pieces(format: ExpositionFormat, nowMs: number): Buffer[] {
    this.#refresh(nowMs);
    const chunks = this.#chunks;
    const headers = this.#headers[format];
    const families = this.#families;
    const out: Buffer[] = [];
    for (let f = 0; f < families.length; f++) {
      const first = out.length;
      out.push(headers[f] as Buffer);
      for (const chunk of chunks) {
        const piece = chunk.live[f] ? this.#renderLive(families[f] as LinkFamily, chunk, nowMs) : (chunk.samples[f] as Buffer);
        if (piece.length !== 0) out.push(piece);
      }
      if (out.length === first + 1) out.length = first; // a family without samples is left out, header and all
    }
    return out;
  }

  #renderLive(family: LinkFamily, chunk: Chunk, nowMs: number): Buffer {
    const scratch = this.#scratch;
    this.#nowMs = nowMs;
    const { links, tables } = chunk;
    for (let i = 0; i < links.length; i++) {
      const link = links[i] as LinkState;
      this.#current = tables[i];
      scratch.write(family.samples(link, deviceLabel(link), this.#ctx));
    }
    this.#current = undefined;
    return scratch.take();
  }

  #refresh(nowMs: number): void {
    const source = this.#tables;
    let tables = this.#rendered;
    let relayout = false;
    if (source.version !== this.#tablesVersion) {
      tables = [...source.tables()];
      relayout = tables.length !== this.#rendered.length || tables.some((t, i) => t !== this.#rendered[i]);
      this.#tablesVersion = source.version;
    }
    let changed = relayout;
    for (let i = 0; i < tables.length && !relayout; i++) {
      const table = tables[i] as LinkTable;
      if (table.layoutVersion !== this.#layouts[i]) relayout = true;
      else if (table.version !== this.#versions[i]) changed = true;
    }
    if (!relayout && !changed) return;
    this.#nowMs = nowMs;

    if (relayout) {
      // Links were added, removed or renamed, or a namespace came or went: new order, new chunks,
      // everything re-rendered (a rename or delete may also change the master name other links'
      // info lines show).
      const ordered: LinkState[] = [];
      const tableOf: LinkTable[] = [];
      for (const table of tables) {
        const start = ordered.length;
        for (const link of table.links()) if (nameSelected(this.#filter, link.name)) ordered.push(link);
        const mine = ordered.splice(start).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.ifindex - b.ifindex));
        for (const link of mine) {
          ordered.push(link);
          tableOf.push(table);
        }
      }
      const chunks: Chunk[] = [];
      for (let i = 0; i < ordered.length; i += CHUNK_LINKS) {
        const links = ordered.slice(i, i + CHUNK_LINKS);
        const chunk: Chunk = { links, tables: tableOf.slice(i, i + CHUNK_LINKS), versions: links.map((l) => l.version), samples: [], live: [] };
        this.#renderChunk(chunk);
        chunks.push(chunk);
      }
      this.#chunks = chunks;
      this.#exportedCount = ordered.length;
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
        if (dirty) this.#renderChunk(chunk);
      }
    }
    this.#rendered = tables;
    this.#layouts = tables.map((t) => t.layoutVersion);
    this.#versions = tables.map((t) => t.version);
  }

  /**
   * Renders every family of the chunk into one buffer; the chunk's pieces are views into it. A
   * chunk's pieces are always replaced together, so none keeps another's bytes alive longer.
   * One allocation per chunk instead of one per family: a full chunk (256 links) is
   * above glibc's mmap threshold (128 KiB, libc.ts) and goes back to the system when the GC frees
   * it. Pieces of one family came from the heap arena, where the generations a churn or a storm
   * leaves for the GC stayed resident after it freed them (RELIABILITY.md, "Freed native memory
   * kept by glibc").
   */
  #renderChunk(chunk: Chunk): void {
    const { links, tables } = chunk;
    const labels = links.map(deviceLabel);
    const scratch = this.#scratch;
    const ctx = this.#ctx;
    const ends: number[] = [];
    const live: boolean[] = [];
    for (const family of this.#families) {
      for (let i = 0; i < links.length; i++) {
        this.#current = tables[i];
        scratch.write(family.samples(links[i] as LinkState, labels[i] as string, ctx));
      }
      ends.push(scratch.length);
      const liveWhile = family.liveWhile;
      live.push(liveWhile !== undefined && links.some(liveWhile));
    }
    this.#current = undefined;
    const bytes = scratch.take();
    const samples: Buffer[] = [];
    let start = 0;
    for (const end of ends) {
      samples.push(end === start ? EMPTY : bytes.subarray(start, end));
      start = end;
    }
    chunk.samples = samples;
    chunk.live = live;
  }
}

function isLinkTables(value: LinkTable | LinkTables): value is LinkTables {
  return typeof (value as Partial<LinkTables>).tables === 'function';
}
