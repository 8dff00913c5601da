// The ethtool client: speed, duplex, autonegotiation, advertised modes, SQI and the reason a
// link is down, from the ethtool generic netlink family, into the link table. Wiring and policy
// only: the socket is src/netlink/socket.ts (NETLINK_GENERIC), the codec src/ethtool/.
//
// - At start the family id and its "monitor" group are resolved (CTRL_CMD_GETFAMILY; both are per
//   boot). No such family (old kernel, CONFIG_ETHTOOL_NETLINK off) or no generic netlink socket:
//   one info line, and the client stays off; nothing else changes.
// - LINKMODES_GET and LINKSTATE_GET are asked for a link when it appears (in a dump or later),
//   after every carrier change the rtnetlink monitor applies (the kernel sends no notification
//   when a NIC renegotiates), and on LINKMODES/LINKINFO notifications of the monitor group.
// - Coalesced per link (request-pacer.ts): at most one request pair in flight per link; a link
//   asked about again meanwhile is marked dirty and asked once more when its replies are in, so a
//   storm costs at most about two pairs per link, never one per message. A link is asked at most once per
//   minIntervalMs (a change within that time of the last pair is asked when it is over), so in
//   a storm of any length the requests per link are bounded by its duration / minIntervalMs, and
//   the first change after a quiet spell is asked at once. At most maxInFlightLinks pairs are
//   out at once (the rest wait in an insertion-ordered set), so replies fit the receive buffer.
// - Replies are ours when nlmsg_pid is our port id and nlmsg_seq one we sent (notifications carry
//   the seq and port of whoever made the change). -EOPNOTSUPP: the device does not do it (lo):
//   its values stay absent and it is not asked again until it reappears. -ENODEV (the device
//   went meanwhile) and other errors: values absent, no retry.
// - LINKSTATE_GET carries ETHTOOL_FLAG_STATS, which asks for the PHY's link-down count (Linux
//   >= 6.2). Older kernels refuse the flag on LINKSTATE with -EINVAL: then one info line, the link
//   is asked again, and every later request goes without the flag.
// - A reply that does not decode is counted in linkstate_exporter_netlink_dropped_total{reason}
//   and skipped (its link is considered answered). An overrun (ENOBUFS) may have lost replies:
//   every link is asked again.

import { NetlinkClient } from '../netlink/client.js';
import { DropRecorder } from '../netlink/drop-recorder.js';
import type { NetlinkSocketError } from '../netlink/errors.js';
import { ETHTOOL_FLAG_STATS } from './constants.js';
import {
  ETHTOOL_GENL_NAME,
  GENL_ID_CTRL,
  decodeEthtoolMessage,
  decodeFamily,
  encodeGetFamilyRequest,
  encodeLinkModesRequest,
  encodeLinkStateRequest,
  multicastGroupId,
} from './index.js';
import type { LinkModes, LinkState as EthtoolLinkState } from './types.js';
import type { Logger } from '../runtime/logger.js';
import type { LinkChange } from '../links/link-change.js';
import type { LinkTable } from '../links/table.js';
import type { ExporterMetrics } from '../metrics/exporter-metrics.js';
import { EINVAL, ENODEV, EOPNOTSUPP, NLMSG_ERROR } from '../netlink/constants.js';
import { decodeErrorMessage } from '../netlink/message.js';
import type { NetlinkSocket, ReceiveEvent } from '../netlink/socket.js';
import type { NetlinkMessage } from '../netlink/types.js';
import { systemClock, type Clock } from '../runtime/clock.js';
import { RequestPacer, type Ask } from './request-pacer.js';

export interface EthtoolMonitorOptions {
  /** Opens a NETLINK_GENERIC socket (no groups); called at start and on every reopen. Throws NetlinkSocketError. */
  readonly openSocket: () => NetlinkSocket;
  readonly table: LinkTable;
  readonly metrics: ExporterMetrics;
  readonly logger: Logger;
  /** The clock the hold-down, lost-reply and reopen timers run on; default the system's. */
  readonly clock?: Clock;
  /** Links with a request pair out at once (default 64). */
  readonly maxInFlightLinks?: number;
  /** A pair unanswered this long is taken as lost and may be asked again (default 5 s). */
  readonly lostAfterMs?: number;
  /**
   * Least time between two pairs for one link (default 2 s; 0: none). Each GET takes the kernel's
   * rtnl_lock inside our sendto, so during a storm (whose own requests hold that lock) every
   * request also blocks the event loop for a moment; shorter intervals cost a storm visibly more
   * CPU per message (bench/micro/storm-ethtool.ts measures it).
   */
  readonly minIntervalMs?: number;
  /** First and largest delay before reopening a failed socket. */
  readonly reopenBackoffMs?: { readonly initial: number; readonly max: number };
  /** Longest that requests wait for the rtnetlink socket's backlog (holdForBacklog) (default 1 s). */
  readonly maxHoldMs?: number;
}

const MODES_UNSUPPORTED = 1;
const STATE_UNSUPPORTED = 2;

export type EthtoolPhase = 'off' | 'resolving' | 'ready' | 'unavailable' | 'closed';

export class EthtoolMonitor {
  readonly #opts: EthtoolMonitorOptions;
  readonly #table: LinkTable;
  readonly #logger: Logger;
  readonly #clock: Clock;
  /** The socket, its sequence numbers, warnings and reopen. */
  readonly #client: NetlinkClient<NetlinkSocket>;
  readonly #dropped: DropRecorder;
  #phase: EthtoolPhase = 'off';
  #familyId = 0;
  #familySeq = 0;
  /** Which links are asked about when: coalescing, hold-down, slots, lost replies. */
  readonly #pacer: RequestPacer;
  /** header flags of LINKSTATE requests: ETHTOOL_FLAG_STATS until the kernel refuses it */
  #stateFlags = ETHTOOL_FLAG_STATS;
  /** A LINKSTATE request with ETHTOOL_FLAG_STATS was answered: this kernel takes the flag. */
  #statsAccepted = false;
  /** ifindex → MODES_UNSUPPORTED | STATE_UNSUPPORTED, until the link goes */
  readonly #unsupported = new Map<number, number>();
  #requestsSent = 0;

  constructor(opts: EthtoolMonitorOptions) {
    this.#opts = opts;
    this.#table = opts.table;
    this.#logger = opts.logger;
    this.#clock = opts.clock ?? systemClock;
    this.#pacer = new RequestPacer({
      clock: this.#clock,
      maxInFlight: opts.maxInFlightLinks ?? 64,
      lostAfterMs: opts.lostAfterMs ?? 5000,
      minIntervalMs: opts.minIntervalMs ?? 2000,
      maxHoldMs: opts.maxHoldMs ?? 1000,
      active: () => this.#phase === 'ready',
      exists: (ifindex) => this.#table.get(ifindex) !== undefined,
      asksAnything: (ifindex) => this.#client.socket !== undefined && (this.#unsupported.get(ifindex) ?? 0) !== (MODES_UNSUPPORTED | STATE_UNSUPPORTED),
      send: (ask) => this.#send(ask),
    });
    this.#client = new NetlinkClient({
      open: opts.openSocket,
      logger: opts.logger,
      clock: this.#clock,
      backoff: opts.reopenBackoffMs ?? { initial: 1000, max: 30_000 },
      logIntervalMs: 10_000,
      name: 'ethtool netlink socket',
    });
    this.#dropped = new DropRecorder(this.#opts.metrics.dropped, this.#client.log, 'an ethtool netlink');
    opts.metrics.registerEthtoolRequests(() => this.#requestsSent);
  }

  get phase(): EthtoolPhase {
    return this.#phase;
  }

  /** GET requests sent so far (LINKMODES_GET and LINKSTATE_GET). */
  get requestsSent(): number {
    return this.#requestsSent;
  }

  /** Links with a request pair in flight (tests). */
  get inFlight(): number {
    return this.#pacer.inFlight;
  }

  get socket(): NetlinkSocket | undefined {
    return this.#client.socket;
  }

  /** Opens the socket and asks for the family. Never throws: without ethtool netlink, it logs one info line and stays off. */
  start(): void {
    if (this.#phase === 'closed') return;
    let socket: NetlinkSocket;
    try {
      socket = this.#client.open();
    } catch (error) {
      this.#unavailable({ err: (error as Error).message });
      return;
    }
    this.#phase = 'resolving';
    socket.start((events) => {
      if (this.#client.socket === socket) this.handle(events);
    });
    this.#familySeq = this.#client.seq.next();
    try {
      socket.send(encodeGetFamilyRequest(this.#familySeq));
    } catch (error) {
      this.#socketFailed(error as NetlinkSocketError);
    }
  }

  async close(): Promise<void> {
    this.#phase = 'closed';
    this.#pacer.reset();
    await this.#client.close();
  }

  /** Subscribed to our namespace's table: asks about links that appeared or changed carrier, forgets those gone. */
  readonly onLinkChange = (change: LinkChange): void => {
    switch (change.kind) {
      case 'added':
        this.#unsupported.delete(change.link.ifindex);
        this.want(change.link.ifindex);
        return;
      case 'updated':
        if (change.carrier !== undefined) this.want(change.link.ifindex);
        return;
      case 'removed':
      case 'evicted':
      case 'pruned':
        this.#unsupported.delete(change.link.ifindex);
        this.#pacer.linkGone(change.link.ifindex);
        return;
    }
  };

  /**
   * Told by the link monitor after each batch whether its socket still has a backlog: requests
   * wait meanwhile (their sendto would block the loop on rtnl_lock), for at most maxHoldMs.
   */
  holdForBacklog(behind: boolean): void {
    this.#pacer.hold(behind);
  }

  /** Asks LINKMODES_GET and LINKSTATE_GET for a link, coalesced (see the header). */
  want(ifindex: number): void {
    this.#pacer.want(ifindex); // asked for every link once the family is resolved
  }

  /** Processes received events in order. Public for tests that play the kernel. */
  handle(events: readonly ReceiveEvent[]): void {
    for (const event of events) {
      if (this.#phase === 'closed' || this.#phase === 'unavailable') return;
      if (event.kind === 'datagram') this.#handleDatagram(event.data, event.senderPid, event.truncated);
      else if (event.kind === 'overrun') this.#handleOverrun();
      else {
        this.#socketFailed(event.error);
        return;
      }
    }
    this.#pacer.pump();
  }

  #handleDatagram(data: Buffer, senderPid: number, truncated: boolean): void {
    const messages = this.#dropped.messagesOf(data, senderPid, truncated);
    if (typeof messages === 'string') {
      if (messages !== 'foreign_sender') this.#askAllAgain(); // it may have held replies
      return;
    }
    for (const msg of messages) this.#handleMessage(msg);
  }

  #handleMessage(msg: NetlinkMessage): void {
    const portId = this.#client.socket?.portId;
    if (msg.type === NLMSG_ERROR) {
      const error = this.#dropped.decode(msg, decodeErrorMessage);
      if (error === undefined) return;
      if (error.requestSeq === undefined || msg.pid !== portId) return;
      if (error.requestSeq === this.#familySeq && this.#phase === 'resolving') {
        this.#unavailable({ errno: -error.error });
        return;
      }
      const entry = this.#pacer.request(error.requestSeq);
      if (entry === undefined || error.error === 0) return;
      const { ask, half } = entry;
      // Only before any LINKSTATE request with the flag was answered: once one was, an EINVAL is
      // that link's own refusal, not the kernel's age.
      if (half === 'state' && -error.error === EINVAL && !this.#statsAccepted && entry.flags !== undefined && (entry.flags & ETHTOOL_FLAG_STATS) !== 0) {
        // a kernel before 6.2: LINKSTATE takes no ETHTOOL_FLAG_STATS; ask again without it
        if (this.#stateFlags !== 0) {
          this.#stateFlags = 0;
          this.#logger.info('the kernel refuses ETHTOOL_FLAG_STATS on LINKSTATE requests (Linux < 6.2): PHY link-down counts not exported');
        }
        ask.dirty = true;
        this.#pacer.answered(error.requestSeq);
        return;
      }
      if (-error.error === EOPNOTSUPP) {
        this.#unsupported.set(ask.ifindex, (this.#unsupported.get(ask.ifindex) ?? 0) | (half === 'modes' ? MODES_UNSUPPORTED : STATE_UNSUPPORTED));
      } else if (-error.error !== ENODEV) {
        this.#client.log.log('ethtool request refused', { ifindex: ask.ifindex, request: half, errno: -error.error });
      }
      if (half === 'modes') this.#table.applyLinkModes(ask.ifindex, undefined);
      else this.#applyLinkState(ask.ifindex, undefined);
      this.#pacer.answered(error.requestSeq);
      return;
    }
    if (msg.type === GENL_ID_CTRL) {
      if (this.#phase === 'resolving' && msg.seq === this.#familySeq && msg.pid === portId) this.#resolved(msg);
      return;
    }
    if (this.#phase !== 'ready' || msg.type !== this.#familyId) return;

    const ours = msg.pid === portId && this.#pacer.request(msg.seq) !== undefined;
    const decoded = this.#dropped.decode(msg, (m) => decodeEthtoolMessage(m, this.#familyId));
    if (decoded === undefined) {
      if (ours) this.#pacer.answered(msg.seq);
      return;
    }
    switch (decoded.kind) {
      case 'linkmodes': {
        const modes = decoded.linkModes;
        const entry = ours ? this.#pacer.request(msg.seq) : undefined;
        if (!decoded.notification) {
          if (entry !== undefined && entry.half === 'modes' && entry.ask.ifindex === modes.ifindex) {
            this.#table.applyLinkModes(modes.ifindex, linkModesValues(modes));
            this.#pacer.answered(msg.seq);
          }
          return;
        }
        // A notification carries the whole LINKMODES state: take it, and refresh LINKSTATE too.
        this.#table.applyLinkModes(modes.ifindex, linkModesValues(modes));
        if (this.#table.get(modes.ifindex) !== undefined) this.want(modes.ifindex);
        return;
      }
      case 'linkstate': {
        const state = decoded.linkState;
        const entry = ours ? this.#pacer.request(msg.seq) : undefined;
        if (entry !== undefined && entry.half === 'state' && entry.ask.ifindex === state.ifindex) {
          if (entry.flags !== undefined && (entry.flags & ETHTOOL_FLAG_STATS) !== 0) this.#statsAccepted = true;
          this.#applyLinkState(state.ifindex, state);
          this.#pacer.answered(msg.seq);
        }
        return;
      }
      case 'linkinfo':
        if (decoded.notification && this.#table.get(decoded.linkInfo.ifindex) !== undefined) this.want(decoded.linkInfo.ifindex);
        return;
      default:
    }
  }

  #resolved(msg: NetlinkMessage): void {
    const family = this.#dropped.decode(msg, decodeFamily);
    if (family === undefined) {
      this.#unavailable({ err: 'undecodable CTRL_CMD_NEWFAMILY reply' });
      return;
    }
    if (family.name !== undefined && family.name !== ETHTOOL_GENL_NAME) return;
    this.#familyId = family.familyId;
    const group = multicastGroupId(family, 'monitor');
    if (group !== undefined) {
      try {
        this.#client.socket?.addMembership(group);
      } catch (error) {
        this.#logger.info({ err: (error as Error).message }, 'cannot join the ethtool monitor group: ethtool values refreshed only on carrier changes');
      }
    } else {
      this.#logger.info('ethtool family without a monitor group: ethtool values refreshed only on carrier changes');
    }
    this.#phase = 'ready';
    this.#client.recovered();
    this.#logger.debug({ family_id: family.familyId, monitor_group: group }, 'ethtool netlink family resolved');
    this.#askAllAgain();
  }

  #unavailable(fields: Record<string, unknown>): void {
    this.#phase = 'unavailable';
    this.#pacer.reset();
    this.#logger.info(fields, 'ethtool netlink not available (no "ethtool" generic netlink family): speed, duplex and down reason not exported');
    this.#client.discard();
  }

  /** Sends the pair for `ask`: the halves its device has not refused. */
  #send(ask: Ask): void {
    const socket = this.#client.socket;
    if (socket === undefined) return;
    const unsupported = this.#unsupported.get(ask.ifindex) ?? 0;
    try {
      if ((unsupported & MODES_UNSUPPORTED) === 0) {
        const seq = this.#client.seq.next();
        this.#pacer.track(seq, { ask, half: 'modes' });
        this.#requestsSent++;
        socket.send(encodeLinkModesRequest(this.#familyId, seq, ask.ifindex));
      }
      if ((unsupported & STATE_UNSUPPORTED) === 0) {
        const seq = this.#client.seq.next();
        const flags = this.#stateFlags;
        this.#pacer.track(seq, { ask, half: 'state', flags });
        this.#requestsSent++;
        socket.send(encodeLinkStateRequest(this.#familyId, seq, ask.ifindex, flags));
      }
    } catch (error) {
      this.#socketFailed(error as NetlinkSocketError);
    }
  }

  #applyLinkState(ifindex: number, state: EthtoolLinkState | undefined): void {
    const link = this.#table.get(ifindex);
    if (link === undefined) return;
    const before = link.downReason;
    const beforeDetail = link.downReasonDetail;
    this.#table.applyLinkState(ifindex, state);
    if (!link.carrier && link.downReason !== undefined && (link.downReason !== before || link.downReasonDetail !== beforeDetail)) {
      this.#logger.info({ device: link.name, reason: link.downReason, detail: link.downReasonDetail ?? '' }, 'carrier down reason');
    }
  }

  /** Everything in flight may be lost: start over for every link in the table. */
  #askAllAgain(): void {
    this.#pacer.askAll([...this.#table.links()].map((link) => link.ifindex));
  }

  #handleOverrun(): void {
    this.#client.log.log('ethtool netlink socket overrun (ENOBUFS): replies or notifications lost, asking every link again', {});
    this.#askAllAgain();
  }

  #socketFailed(error: NetlinkSocketError): void {
    if (this.#phase === 'closed' || this.#phase === 'unavailable') return;
    this.#phase = 'off';
    this.#pacer.reset();
    this.#client.failed(error, () => {
      if (this.#phase === 'off') this.start();
    });
  }
}

function linkModesValues(modes: LinkModes): {
  speedMbps: number | undefined;
  duplex: LinkModes['duplex'];
  autoneg: boolean | undefined;
  advertisedSpeedMaxMbps: number | undefined;
} {
  return {
    speedMbps: modes.speedMbps,
    duplex: modes.duplex,
    autoneg: modes.autoneg,
    advertisedSpeedMaxMbps: modes.advertisedSpeedMaxMbps,
  };
}
