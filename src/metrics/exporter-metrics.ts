// The exporter's own health metrics and prom-client's process/nodejs defaults, in a prom-client
// Registry — prom-client stays the authority for these families: their objects, collectors and
// values. Their text is prom-client's to the byte, printed by registry-text.ts.

import { DUMP_FAILURES } from '../rtnetlink/dump-session.js';
import { DROP_REASONS, type DropReason } from '../netlink/drop-recorder.js';
import { Counter, Gauge, PROM_CLIENT_COLLECTORS, Registry, defaultCollector } from './prom-client-adapter.js';
import { registryText } from './registry-text.js';

/** Netlink message types counted by linkstate_exporter_netlink_messages_total. */
export const MESSAGE_TYPES = ['newlink', 'dellink', 'done', 'error', 'other'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** Reasons of linkstate_exporter_netns_errors_total, all pre-initialised at 0. */
export const NETNS_ERRORS = ['unreadable', 'not_a_namespace', 'vanished', 'nsid_failed'] as const;
export type NetnsError = (typeof NETNS_ERRORS)[number];

export { DROP_REASONS, type DropReason };

export interface BuildInfo {
  readonly version: string;
  readonly revision: string;
}

export class ExporterMetrics {
  readonly registry: Registry;
  readonly messages: Counter<'type'>;
  readonly overruns: Counter;
  readonly superseded: Counter;
  readonly resyncs: Counter;
  readonly dumpsInterrupted: Counter;
  readonly dumpFailures: Counter<'reason'>;
  readonly dropped: Counter<'reason'>;
  readonly socketReopens: Counter;
  readonly links: Gauge;
  readonly receiveBuffer: Gauge;

  /** `logLinesDropped`: the logger's count of lines its destination could not take (Logger.droppedLines). */
  constructor(build: BuildInfo, linksExported: () => number, logLinesDropped: () => number = () => 0) {
    const registry = new Registry();
    this.registry = registry;
    const registers = [registry];
    this.messages = new Counter({
      name: 'linkstate_exporter_netlink_messages_total',
      help: 'Netlink messages received from the kernel, by type (newlink, dellink, done, error, other).',
      labelNames: ['type'],
      registers,
    });
    for (const type of MESSAGE_TYPES) this.messages.inc({ type }, 0);
    this.overruns = new Counter({
      name: 'linkstate_exporter_netlink_overruns_total',
      help: 'Times the netlink socket overflowed (ENOBUFS) and notifications were lost; each one triggers a resync.',
      registers,
    });
    this.superseded = new Counter({
      name: 'linkstate_exporter_netlink_superseded_total',
      help: 'Link notifications read after an overrun and before its resync dump, skipped undecoded: the kernel was dropping an unknown part of them, and the dump that follows supersedes them all.',
      registers,
    });
    this.resyncs = new Counter({
      name: 'linkstate_exporter_netlink_resyncs_total',
      help: 'Link dumps run after the initial one to reconcile the table with the kernel (after an overrun, an interrupted dump or a socket reopen).',
      registers,
    });
    this.dumpsInterrupted = new Counter({
      name: 'linkstate_exporter_netlink_dumps_interrupted_total',
      help: 'Link dumps the kernel marked NLM_F_DUMP_INTR (the table changed mid-dump); each is repeated.',
      registers,
    });
    this.dumpFailures = new Counter({
      name: 'linkstate_exporter_netlink_dump_failures_total',
      help: 'Link dumps that ended without pruning and were asked for again, by reason: done_error (NLMSG_DONE with an error), refused (NLMSG_ERROR), truncated or undecodable (a reply datagram dropped), socket_error.',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of DUMP_FAILURES) this.dumpFailures.inc({ reason }, 0);
    this.dropped = new Counter({
      name: 'linkstate_exporter_netlink_dropped_total',
      help: 'Netlink datagrams or messages dropped, by reason: foreign_sender (not from the kernel), truncated (MSG_TRUNC), or the decoder error.',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of DROP_REASONS) this.dropped.inc({ reason }, 0);
    this.socketReopens = new Counter({
      name: 'linkstate_exporter_netlink_socket_reopens_total',
      help: 'Times the netlink socket failed after start-up and was reopened.',
      registers,
    });
    this.links = new Gauge({
      name: 'linkstate_exporter_links',
      help: 'Links currently exported (after the device filters).',
      registers,
      collect() {
        this.set(linksExported());
      },
    });
    let logDropsSeen = 0;
    new Counter({
      name: 'linkstate_exporter_log_lines_dropped_total',
      help: 'Log lines dropped because stderr could not take them: more than 16 MiB not yet written (newest lines dropped), or stderr gone.',
      registers,
      collect() {
        const dropped = logLinesDropped();
        if (dropped > logDropsSeen) this.inc(dropped - logDropsSeen);
        logDropsSeen = dropped;
      },
    });
    this.receiveBuffer = new Gauge({
      name: 'linkstate_exporter_netlink_receive_buffer_bytes',
      help: 'Receive buffer of the netlink socket as granted by the kernel.',
      registers,
    });
    const buildInfo = new Gauge({
      name: 'linkstate_exporter_build_info',
      help: 'A metric with a constant 1 value labeled by version, revision and Node.js version of linkstate-exporter.',
      labelNames: ['version', 'revision', 'nodejs'],
      registers,
    });
    buildInfo.set({ version: build.version, revision: build.revision, nodejs: process.version }, 1);

    // prom-client's order: CPU, start time, memory, file descriptors, heap, heap spaces, version, GC
    for (const name of PROM_CLIENT_COLLECTORS) defaultCollector(name)(registry, {});
  }

  /**
   * linkstate_exporter_ethtool_requests_total, registered only when the ethtool client runs (so
   * it is absent with --no-collector.ethtool). `sent` reads the client's own count, kept in a
   * plain number on the hot path.
   */
  registerEthtoolRequests(sent: () => number): void {
    const requests = new Counter({
      name: 'linkstate_exporter_ethtool_requests_total',
      help: 'ethtool netlink GET requests sent (LINKMODES_GET and LINKSTATE_GET), coalesced per link.',
      registers: [this.registry],
      collect() {
        requests.reset();
        requests.inc(sent());
      },
    });
  }

  /**
   * The namespace metrics, registered only with --collector.netns: linkstate_exporter_namespaces
   * and the discovery's error counter (returned). linkstate_netns_info is cached bytes of its own
   * (src/metrics/namespace-info-family.ts).
   */
  registerNamespaces(namespaces: { readonly size: number }): Counter<'reason'> {
    const registers = [this.registry];
    new Gauge({
      name: 'linkstate_exporter_namespaces',
      help: 'Network namespaces whose links are exported, the exporter\'s own included.',
      registers,
      collect() {
        this.set(namespaces.size + 1);
      },
    });
    const errors = new Counter({
      name: 'linkstate_exporter_netns_errors_total',
      help: 'Namespace discovery problems, by reason: unreadable (a path directory), not_a_namespace (a file under the paths), vanished (gone between discovery and use), nsid_failed (asking or assigning an nsid failed).',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of NETNS_ERRORS) errors.inc({ reason }, 0);
    return errors;
  }

  /**
   * The LLDP counters, registered only with --collector.lldp: frames read and frames dropped by
   * reason (every reason declared at 0, as the netlink drops are). The collector keeps its
   * counts in plain numbers on the hot path; they are read here at each scrape.
   */
  registerLldp(reasons: readonly string[], frames: () => number, dropped: (reason: string) => number): void {
    const registers = [this.registry];
    const total = new Counter({
      name: 'linkstate_exporter_lldp_frames_total',
      help: 'LLDP frames (ethertype 0x88cc) read from the packet socket, dropped ones included.',
      registers,
      collect() {
        total.reset();
        total.inc(frames());
      },
    });
    const drops = new Counter({
      name: 'linkstate_exporter_lldp_frames_dropped_total',
      help: 'LLDP frames not taken as a neighbour, by reason: the decoder\'s (malformed frames, shutdown for a TTL of 0), not_lldp (not addressed to LLDP), unknown_link (a link the exporter does not know), neighbor_limit (the port already holds its most neighbours), receive_buffer (the kernel dropped it: the socket\'s receive buffer was full).',
      labelNames: ['reason'],
      registers,
      collect() {
        drops.reset();
        for (const reason of reasons) drops.inc({ reason }, dropped(reason));
      },
    });
    for (const reason of reasons) drops.inc({ reason }, 0);
  }

  /** The registry in the Prometheus text format, as prom-client prints it (registry-text.ts). */
  renderPrometheus(): Promise<string> {
    return registryText(this.registry.getMetricsAsArray(), 'prometheus');
  }

  /**
   * The registry in OpenMetrics 1.0, as a prom-client OpenMetrics registry prints it (counters'
   * families without _total, samples with it; ends with "# EOF"). prom-client itself would rename
   * the shared counters in place when rendering them that way; registry-text.ts reads them
   * without touching them.
   */
  renderOpenMetrics(): Promise<string> {
    return registryText(this.registry.getMetricsAsArray(), 'openmetrics');
  }
}
