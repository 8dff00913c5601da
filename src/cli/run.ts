// The exporter, loaded by main.ts once the V8 settings are in place. Wiring only: flags → logger → netlink monitor → metrics → HTTP server, signals and exit codes.
// Exit codes: 0 after SIGINT/SIGTERM or --help/--version, 1 for bad flags/config or a start-up
// failure (socket, address in use), 2 for an unexpected internal error.

import { fs } from '../runtime/builtins.js';
import { parseConfig, VERSION, type Config } from './config.js';
import { buildRevision } from '../runtime/build-info.js';
import { NetlinkSocketError } from '../netlink/errors.js';
import { ConfigError } from '../runtime/config-error.js';
import { createLogger } from '../runtime/logger.js';
import { LinkEventLog, publishTransitions } from '../links/event-log.js';
import { linkChangeLog } from '../links/change-log.js';
import { LinkTable, type LinkState } from '../links/table.js';
import { ExporterMetrics } from '../metrics/exporter-metrics.js';
import { MetricsExposition } from '../metrics/exposition.js';
import { LinkFamiliesRenderer } from '../metrics/link-families.js';
import { LinkMonitor } from '../rtnetlink/link-monitor.js';
import { EthtoolMonitor } from '../ethtool/monitor.js';
import { NETLINK_GENERIC, RTMGRP_LINK, RTNLGRP_NSID } from '../netlink/constants.js';
import { configureAllocator, openLinkSocket, openRequestSocket, setNonBlocking } from '../netlink/socket.js';
import { DiscoveryError, NamespaceDiscovery } from '../netns/discovery.js';
import { NamespaceInfoFamily } from '../metrics/namespace-info-family.js';
import { NamespaceSet } from '../netns/namespaces.js';
import { missingNetnsCapabilities } from '../netns/privileges.js';
import { missingLldpCapabilities } from '../lldp/privileges.js';
import type { LldpCollector } from '../lldp/collector.js';
import type { NeighborStore } from '../lldp/neighbors.js';
import type { LldpNeighborFamilies } from '../metrics/lldp-families.js';
import { systemClock } from '../runtime/clock.js';
import { createApp, startServer } from '../web/server.js';

async function main(argv: readonly string[]): Promise<number> {
  let config: Config;
  try {
    const result = parseConfig(argv);
    if (result.kind === 'exit') {
      process.stdout.write(result.output);
      return 0;
    }
    config = result.config;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`linkstate-exporter: ${error.message}\n`);
      return 1;
    }
    throw error;
  }

  const netns = config.collector.netns;
  if (netns) {
    const missing = missingNetnsCapabilities();
    if (missing.length > 0) {
      process.stderr.write(
        `linkstate-exporter: --collector.netns needs CAP_NET_ADMIN and CAP_NET_BROADCAST; this process lacks ${missing.join(' and ')}\n`,
      );
      return 1;
    }
  }

  if (config.collector.lldp && missingLldpCapabilities().length > 0) {
    process.stderr.write('linkstate-exporter: --collector.lldp needs CAP_NET_RAW; this process lacks CAP_NET_RAW\n');
    return 1;
  }

  configureAllocator();
  nonBlockingStderr();
  const logger = createLogger({ level: config.log.level, format: config.log.format });
  const table = new LinkTable();
  // With --collector.netns, one table per namespace: the exporter's own and every other one.
  const namespaces = new NamespaceSet(table, { include: config.collector.netnsInclude, exclude: config.collector.netnsExclude });
  const renderer = new LinkFamiliesRenderer(netns ? namespaces : table, {
    include: config.collector.deviceInclude,
    exclude: config.collector.deviceExclude,
  });
  const metrics = new ExporterMetrics({ version: VERSION, revision: buildRevision() }, () => renderer.exportedCount, () => logger.droppedLines);
  const netnsErrors = netns ? metrics.registerNamespaces(namespaces) : undefined;
  const discovery =
    netnsErrors === undefined
      ? undefined
      : new NamespaceDiscovery({
          namespaces,
          paths: config.collector.netnsPaths,
          openRequestSocket,
          logger,
          countError: (reason) => netnsErrors.inc({ reason }),
        });
  // With --no-collector.ethtool no ethtool socket is opened and no ethtool family is exported.
  const ethtool = config.collector.ethtool
    ? new EthtoolMonitor({
        openSocket: () => openLinkSocket({ receiveBufferBytes: 1 << 20, groups: 0, protocol: NETLINK_GENERIC }),
        table,
        metrics,
        logger,
      })
    : undefined;
  // --collector.lldp: one packet socket in our namespace, opened before anything runs so that a
  // failure is one line; it joins the links of our own table as they come.
  // Its modules load only with the flag: without it the exporter runs the code it ran before.
  let lldp: { collector: LldpCollector; store: NeighborStore; families: LldpNeighborFamilies } | undefined;
  if (config.collector.lldp) {
    const [{ LldpPacketSocket, LldpSocketError }, { LLDP_COLLECTOR_DROP_REASONS, LldpCollector }, { NeighborStore }, { LldpNeighborFamilies }] =
      await Promise.all([
        import('../lldp/packet-socket.js'),
        import('../lldp/collector.js'),
        import('../lldp/neighbors.js'),
        import('../metrics/lldp-families.js'),
      ]);
    let packets: ReturnType<typeof LldpPacketSocket.open>;
    try {
      packets = LldpPacketSocket.open();
    } catch (error) {
      if (error instanceof LldpSocketError) {
        process.stderr.write(`linkstate-exporter: cannot open the LLDP packet socket: ${error.message}\n`);
        return 1;
      }
      throw error;
    }
    const store = new NeighborStore({ clock: systemClock, holdTimeMs: config.collector.lldpHoldTimeMs });
    const collector = new LldpCollector({ table, source: packets, store, logger });
    metrics.registerLldp(LLDP_COLLECTOR_DROP_REASONS, () => collector.frames, (reason) => collector.dropped(reason));
    lldp = { collector, store, families: new LldpNeighborFamilies(store, table, { include: config.collector.deviceInclude, exclude: config.collector.deviceExclude }) };
  }
  // The status page, /api/v1/links and the event log show the exported links only.
  const { deviceInclude: include, deviceExclude: exclude } = config.collector;
  const exported = (name: string): boolean =>
    (include === undefined || include.test(name)) && (exclude === undefined || !exclude.test(name));
  const events = new LinkEventLog(config.web.eventsHistory);
  // Who hears of link changes, in this order: the log lines, ethtool (our own namespace only: it
  // has no target namespace), the event log.
  namespaces.subscribeLinks(linkChangeLog(logger));
  if (ethtool !== undefined) table.subscribe(ethtool.onLinkChange);
  namespaces.subscribeLinks(publishTransitions(events, exported));
  // Subscribed before the first dump fills the table: every link is joined as it is added.
  lldp?.collector.start();
  const monitor = new LinkMonitor({
    openSocket: () => {
      const socket = openLinkSocket({ receiveBufferBytes: config.netlink.receiveBufferBytes, groups: RTMGRP_LINK, allNamespaces: netns });
      if (netns) {
        try {
          socket.addMembership(RTNLGRP_NSID);
        } catch (error) {
          void socket.close();
          throw error;
        }
      }
      return socket;
    },
    table,
    namespaces,
    discovery,
    metrics,
    logger,
  });

  let socket;
  try {
    socket = monitor.start();
  } catch (error) {
    if (error instanceof NetlinkSocketError) {
      await lldp?.collector.close();
      process.stderr.write(`linkstate-exporter: cannot open the rtnetlink socket: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  try {
    discovery?.start();
  } catch (error) {
    discovery?.close();
    await Promise.all([monitor.close(), lldp?.collector.close()]);
    if (error instanceof DiscoveryError || error instanceof NetlinkSocketError) {
      process.stderr.write(`linkstate-exporter: ${error instanceof NetlinkSocketError ? `cannot open the namespace request socket: ${error.message}` : error.message}\n`);
      return 1;
    }
    throw error;
  }
  ethtool?.start();

  const lldpStore = lldp?.store;
  const app = createApp({
    source: new MetricsExposition(renderer, metrics, Date.now, undefined, [
      ...(netns ? [new NamespaceInfoFamily(namespaces)] : []),
      ...(lldp === undefined ? [] : [lldp.families]),
    ]),
    telemetryPath: config.web.telemetryPath,
    isReady: () => monitor.ready,
    version: VERSION,
    logger,
    maxRequests: config.web.maxRequests,
    status: {
      *links() {
        for (const t of netns ? namespaces.tables() : [table]) for (const link of t.links()) if (exported(link.name)) yield link;
      },
      // LLDP reads our own namespace only: links of other namespaces have no neighbour here.
      ...(lldpStore === undefined ? {} : { neighbors: (link: LinkState) => (link.netns === undefined ? lldpStore.neighbors(link.ifindex) : []) }),
    },
    events,
    eventStreams: { maxClients: config.web.eventsMaxClients },
  });
  let server;
  try {
    server = await startServer(app, config.web.listenAddress, {
      ...(config.web.configFile === undefined ? {} : { webConfigFile: config.web.configFile }),
      logger,
    });
  } catch (error) {
    discovery?.close();
    await Promise.all([monitor.close(), ethtool?.close(), lldp?.collector.close()]);
    if (error instanceof ConfigError) {
      process.stderr.write(`linkstate-exporter: ${error.message}\n`);
      return 1;
    }
    throw error;
  }

  logger.info(
    {
      version: VERSION,
      revision: buildRevision(),
      address: server.address,
      tls: server.tls,
      telemetry_path: config.web.telemetryPath,
      receive_buffer_bytes: socket.receiveBufferBytes,
      receive_buffer_mode: socket.receiveBufferMode,
      requested_receive_buffer_bytes: config.netlink.receiveBufferBytes,
    },
    'linkstate-exporter started',
  );
  if (socket.receiveBufferMode === 'SO_RCVBUF') {
    logger.info(
      { receive_buffer_bytes: socket.receiveBufferBytes },
      'SO_RCVBUFFORCE not permitted (no CAP_NET_ADMIN); receive buffer capped by net.core.rmem_max',
    );
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      // Hard deadline: never take more than a second to exit.
      setTimeout(() => resolve(0), 900).unref();
      discovery?.close();
      void Promise.allSettled([server.close(), monitor.close(), ethtool?.close(), lldp?.collector.close()]).then(() => resolve(0));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    // SIGHUP re-reads --web.config.file at once (it is also re-read when it changes).
    process.on('SIGHUP', () => {
      void server.reloadWebConfig().then(
        (outcome) => logger.info({ outcome }, 'web config reload on SIGHUP'),
        (error: unknown) => logger.error({ err: error instanceof Error ? error.message : String(error) }, 'web config reload failed'),
      );
    });
  });
}

/**
 * A pipe or socket on stderr that nobody reads must not hold the process: made non-blocking, the
 * log's writes (in the thread pool, and the exit flush, bounded by its stall limit) get EAGAIN
 * instead of sleeping in the kernel, where no timeout reaches them and Node's exit waits for
 * them. A terminal is left alone (the shell shares it), and a file never blocks for long.
 */
function nonBlockingStderr(): void {
  try {
    const stats = fs.fstatSync(2);
    if (stats.isFIFO() || stats.isSocket()) setNonBlocking(2);
  } catch {
    // no stderr: nothing to write to
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // The receive worker and the HTTP server are closed; anything left must not hold the exit.
    process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`linkstate-exporter: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
