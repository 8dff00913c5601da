// The LLDP side, wired from --collector.lldp (run.ts imports this module only with the flag, so
// without it the exporter loads none of the LLDP code): the packet socket in our namespace, the
// collector that joins our own links as they come, the neighbour store, its metrics and families.

import type { Config } from './config.js';
import { StartError } from './wire-netlink.js';
import { LldpPacketSocket, LldpSocketError } from '../lldp/packet-socket.js';
import { LLDP_COLLECTOR_DROP_REASONS, LldpCollector } from '../lldp/collector.js';
import { NeighborStore, type Neighbor } from '../lldp/neighbors.js';
import type { LinkState } from '../links/link-record.js';
import type { LinkTable } from '../links/table.js';
import type { ExporterMetrics } from '../metrics/exporter-metrics.js';
import type { CachedFamilies } from '../metrics/exposition.js';
import { LldpNeighborFamilies } from '../metrics/lldp-families.js';
import type { Clock } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';

export interface LldpSide {
  /** The neighbour families for /metrics. */
  readonly families: readonly CachedFamilies[];
  /** A link's neighbours for the status page and /api/v1/links (other namespaces: none). */
  neighbors(link: LinkState): readonly Neighbor[];
  /** Subscribes to the table and starts reading: call it before the first dump fills the table. */
  start(): void;
  /** Closes the collector, the store's timer and the socket. */
  close(): Promise<void>;
}

export interface LldpWiring {
  readonly config: Config;
  /** Our own namespace's links: the packet socket lives in that namespace. */
  readonly table: LinkTable;
  readonly metrics: ExporterMetrics;
  readonly logger: Logger;
  readonly clock: Clock;
}

/** Opens the packet socket (StartError when it cannot) and wires the rest around it. */
export function wireLldp({ config, table, metrics, logger, clock }: LldpWiring): LldpSide {
  let packets: LldpPacketSocket;
  try {
    packets = LldpPacketSocket.open();
  } catch (error) {
    if (error instanceof LldpSocketError) throw new StartError(`cannot open the LLDP packet socket: ${error.message}`);
    throw error;
  }
  const store = new NeighborStore({ clock, holdTimeMs: config.collector.lldpHoldTimeMs });
  const collector = new LldpCollector({ table, source: packets, store, logger });
  metrics.registerLldp(LLDP_COLLECTOR_DROP_REASONS, () => collector.frames, (reason) => collector.dropped(reason));
  const families = new LldpNeighborFamilies(store, table, { include: config.collector.deviceInclude, exclude: config.collector.deviceExclude });
  return {
    families: [families],
    // LLDP reads our own namespace only: links of other namespaces have no neighbour here.
    neighbors: (link) => (link.netns === undefined ? store.neighbors(link.ifindex) : []),
    start: () => collector.start(),
    close: async () => {
      await collector.close();
    },
  };
}
