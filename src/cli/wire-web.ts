// The web side, wired from the flags: the /metrics exposition, the app (probes, status page, API,
// event stream) and the server listening for it.

import type { Config } from './config.js';
import { VERSION } from './config.js';
import type { CarrierLossLookup } from '../links/carrier-causes.js';
import type { LinkEventLog } from '../links/event-log.js';
import type { LinkState } from '../links/link-record.js';
import type { Neighbor } from '../lldp/neighbors.js';
import type { ExporterMetrics } from '../metrics/exporter-metrics.js';
import { MetricsExposition, type CachedFamilies } from '../metrics/exposition.js';
import type { LinkFamiliesRenderer } from '../metrics/link-families.js';
import type { Logger } from '../runtime/logger.js';
import { createApp, startServer, type RunningServer } from '../web/server.js';

export interface WebWiring {
  readonly config: Config;
  readonly renderer: LinkFamiliesRenderer;
  readonly metrics: ExporterMetrics;
  /** More cached families after the link families (linkstate_netns_info). */
  readonly families: readonly CachedFamilies[];
  /** /-/ready: the first complete dump has been applied. */
  readonly isReady: () => boolean;
  /** The exported links, for the status page and /api/v1/links. */
  readonly links: () => Iterable<LinkState>;
  /** Each link's carrier losses by cause. */
  readonly losses: CarrierLossLookup;
  /** With --collector.lldp: each link's LLDP neighbours (a Neighbour column, lldp_neighbors). */
  readonly neighbors?: (link: LinkState) => readonly Neighbor[];
  readonly events: LinkEventLog;
  readonly logger: Logger;
}

/** Builds the app and starts listening. Throws ConfigError for a bad web config or address. */
export function startWeb({ config, renderer, metrics, families, isReady, links, losses, neighbors, events, logger }: WebWiring): Promise<RunningServer> {
  const app = createApp({
    source: new MetricsExposition(renderer, metrics, Date.now, undefined, families),
    telemetryPath: config.web.telemetryPath,
    isReady,
    version: VERSION,
    logger,
    maxRequests: config.web.maxRequests,
    status: { links, losses, ...(neighbors === undefined ? {} : { neighbors }) },
    events,
    eventStreams: { maxClients: config.web.eventsMaxClients },
  });
  return startServer(app, config.web.listenAddress, {
    ...(config.web.configFile === undefined ? {} : { webConfigFile: config.web.configFile }),
    logger,
  });
}
