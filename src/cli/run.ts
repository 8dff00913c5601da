// The exporter, loaded by main.ts once the V8 settings are in place: flags → logger → tables and
// metrics → the netlink side (wire-netlink.ts) → with --collector.lldp the LLDP side
// (wire-lldp.ts) → the web side (wire-web.ts) → signals (signals.ts). Exit codes: 0 after
// SIGINT/SIGTERM or --help/--version, 1 for bad flags/config or a start-up failure (socket,
// address in use), 2 for an unexpected internal error.

import { fs } from '../runtime/builtins.js';
import { parseConfig, VERSION, type Config } from './config.js';
import { untilStopped } from './signals.js';
import { StartError, wireNetlink } from './wire-netlink.js';
import { startWeb } from './wire-web.js';
import { buildRevision } from '../runtime/build-info.js';
import { ConfigError } from '../runtime/config-error.js';
import { systemClock } from '../runtime/clock.js';
import { createLogger } from '../runtime/logger.js';
import { CarrierCauses } from '../links/carrier-causes.js';
import { LinkEventLog } from '../links/event-log.js';
import { nameSelected } from '../links/name-filter.js';
import { LinkTable } from '../links/table.js';
import { ExporterMetrics } from '../metrics/exporter-metrics.js';
import { LINK_FAMILIES, LinkFamiliesRenderer } from '../metrics/link-families.js';
import { configureAllocator, setNonBlocking } from '../netlink/socket.js';
import { NamespaceSet } from '../netns/namespaces.js';
import { missingNetnsCapabilities } from '../netns/privileges.js';
import { missingLldpCapabilities } from '../lldp/privileges.js';
import type { LldpSide } from './wire-lldp.js';

async function main(argv: readonly string[]): Promise<number> {
  const config = readConfig(argv);
  if (typeof config === 'number') return config;
  const { collector } = config;
  if (collector.netns) {
    const missing = missingNetnsCapabilities();
    if (missing.length > 0) {
      return fail(`--collector.netns needs CAP_NET_ADMIN and CAP_NET_BROADCAST; this process lacks ${missing.join(' and ')}`);
    }
  }

  if (collector.lldp && missingLldpCapabilities().length > 0) {
    return fail('--collector.lldp needs CAP_NET_RAW; this process lacks CAP_NET_RAW');
  }

  configureAllocator();
  nonBlockingStderr();
  const logger = createLogger({ level: config.log.level, format: config.log.format });
  // Our own table and, with --collector.netns, one per other namespace.
  const namespaces = new NamespaceSet(new LinkTable(), { include: collector.netnsInclude, exclude: collector.netnsExclude });
  const deviceFilter = { include: collector.deviceInclude, exclude: collector.deviceExclude };
  const exported = (name: string): boolean => nameSelected(deviceFilter, name);
  // Carrier losses by cause: told of every link change before anyone reads them (the log lines,
  // ethtool and the event log subscribe after it, in wire-netlink.ts).
  const causes = new CarrierCauses(systemClock);
  namespaces.subscribeLinks(causes.onChange);
  const renderer = new LinkFamiliesRenderer(collector.netns ? namespaces : namespaces.own, deviceFilter, LINK_FAMILIES, causes.get);
  const metrics = new ExporterMetrics({ version: VERSION, revision: buildRevision() }, () => renderer.exportedCount, () => logger.droppedLines);
  const events = new LinkEventLog(config.web.eventsHistory);
  const netlink = wireNetlink({ config, namespaces, metrics, logger, events, exported });
  // --collector.lldp: its modules load only with the flag (without it the exporter runs the code
  // it ran before); its packet socket opens before anything runs so that a failure is one line.
  const wireLldp = collector.lldp ? (await import('./wire-lldp.js')).wireLldp : undefined;
  let lldp: LldpSide | undefined;
  const close = async (): Promise<void> => {
    await Promise.all([netlink.close(), lldp?.close()]);
  };

  // One clean-up path for a failed start: whatever the netlink and LLDP sides opened is closed.
  let socket;
  let server;
  try {
    lldp = wireLldp?.({ config, table: namespaces.own, metrics, logger, clock: systemClock });
    // Subscribed before the first dump fills the table: every link is joined as it is added.
    lldp?.start();
    socket = netlink.start();
    server = await startWeb({
      config,
      renderer,
      metrics,
      families: [...netlink.families, ...(lldp?.families ?? [])],
      isReady: () => netlink.monitor.ready,
      // The status page, /api/v1/links and the event log show the exported links only.
      *links() {
        for (const table of namespaces.tables()) for (const link of table.links()) if (exported(link.name)) yield link;
      },
      losses: causes.get,
      ...(lldp === undefined ? {} : { neighbors: lldp.neighbors }),
      events,
      logger,
    });
  } catch (error) {
    await close();
    if (error instanceof StartError || error instanceof ConfigError) return fail(error.message);
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
  return untilStopped({ logger, server, close });
}

/** The configuration, or the exit code when there is nothing to run (--help, --version, bad flags). */
function readConfig(argv: readonly string[]): Config | number {
  try {
    const result = parseConfig(argv);
    if (result.kind === 'run') return result.config;
    process.stdout.write(result.output);
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) return fail(error.message);
    throw error;
  }
}

/** One line on stderr; exit code 1. */
function fail(message: string): number {
  process.stderr.write(`linkstate-exporter: ${message}\n`);
  return 1;
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
