// The netlink side, wired from the flags: the link monitor and its socket, the ethtool monitor, the
// namespace discovery, and who hears of link changes. What --collector.netns adds to it (the
// discovery, its metrics, the socket's reach into other namespaces, linkstate_netns_info) is
// decided here, in one place.

import type { Config } from './config.js';
import { NetlinkSocketError } from '../netlink/errors.js';
import { NETLINK_GENERIC } from '../netlink/constants.js';
import { openRequestSocket } from '../netlink/request-socket.js';
import { openLinkSocket, type NetlinkSocket } from '../netlink/socket.js';
import { RTMGRP_LINK, RTNLGRP_NSID } from '../rtnetlink/constants.js';
import { LinkMonitor } from '../rtnetlink/link-monitor.js';
import { EthtoolMonitor } from '../ethtool/monitor.js';
import { DiscoveryError, NamespaceDiscovery } from '../netns/discovery.js';
import type { NamespaceSet } from '../netns/namespaces.js';
import { linkChangeLog } from '../links/change-log.js';
import { publishTransitions, type LinkEventLog } from '../links/event-log.js';
import type { ExporterMetrics } from '../metrics/exporter-metrics.js';
import type { CachedFamilies } from '../metrics/exposition.js';
import { NamespaceInfoFamily } from '../metrics/namespace-info-family.js';
import type { Logger } from '../runtime/logger.js';

/** A start-up failure the user can act on: one line on stderr, exit code 1. */
export class StartError extends Error {}

export interface NetlinkSide {
  readonly monitor: LinkMonitor;
  /** More cached families for /metrics: linkstate_netns_info with --collector.netns. */
  readonly families: readonly CachedFamilies[];
  /** Opens the sockets: link monitor, then discovery, then ethtool. Throws StartError. */
  start(): NetlinkSocket;
  /** Closes whatever was opened (also after a failed start). */
  close(): Promise<void>;
}

export interface NetlinkWiring {
  readonly config: Config;
  /** Our table and, with --collector.netns, every other namespace's. */
  readonly namespaces: NamespaceSet;
  readonly metrics: ExporterMetrics;
  readonly logger: Logger;
  /** The event log, told of the transitions of exported links. */
  readonly events: LinkEventLog;
  /** Whether a device name is exported (the device filter). */
  readonly exported: (name: string) => boolean;
}

export function wireNetlink({ config, namespaces, metrics, logger, events, exported }: NetlinkWiring): NetlinkSide {
  const table = namespaces.own;
  const netns = config.collector.netns;
  // The metrics register in this order (the order of /metrics): namespaces, then ethtool.
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
  // Who hears of link changes, in this order: the log lines, ethtool (our own namespace only: it
  // has no target namespace), the event log.
  namespaces.subscribeLinks(linkChangeLog(logger));
  if (ethtool !== undefined) table.subscribe(ethtool.onLinkChange);
  namespaces.subscribeLinks(publishTransitions(events, exported));
  const monitor = new LinkMonitor({
    openSocket: () => openMonitorSocket(config.netlink.receiveBufferBytes, netns),
    table,
    namespaces,
    discovery,
    metrics,
    logger,
    onBacklog: (behind) => ethtool?.holdForBacklog(behind),
  });

  return {
    monitor,
    families: netns ? [new NamespaceInfoFamily(namespaces)] : [],
    start() {
      let socket;
      try {
        socket = monitor.start();
      } catch (error) {
        if (error instanceof NetlinkSocketError) throw new StartError(`cannot open the rtnetlink socket: ${error.message}`);
        throw error;
      }
      try {
        discovery?.start();
      } catch (error) {
        if (error instanceof DiscoveryError) throw new StartError(error.message);
        if (error instanceof NetlinkSocketError) throw new StartError(`cannot open the namespace request socket: ${error.message}`);
        throw error;
      }
      ethtool?.start();
      return socket;
    },
    async close() {
      discovery?.close();
      await Promise.all([monitor.close(), ethtool?.close()]);
    },
  };
}

/**
 * The link monitor's socket: RTMGRP_LINK; with --collector.netns also every other namespace's
 * messages (NETLINK_LISTEN_ALL_NSID) and our namespace's nsid notifications (RTNLGRP_NSID).
 */
function openMonitorSocket(receiveBufferBytes: number, netns: boolean): NetlinkSocket {
  const socket = openLinkSocket({ receiveBufferBytes, groups: RTMGRP_LINK, allNamespaces: netns });
  if (netns) {
    try {
      socket.addMembership(RTNLGRP_NSID);
    } catch (error) {
      void socket.close();
      throw error;
    }
  }
  return socket;
}
