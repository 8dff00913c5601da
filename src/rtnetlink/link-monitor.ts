// The monitor: subscribe → dump → receive → decode → apply. It routes each datagram and message;
// which dump runs when is its DumpScheduler's (dump-scheduler.ts), the socket's reopen the shared
// client's (netlink/client.ts). The recovery policy, all in these three:
// - a datagram not from the kernel (nl_pid != 0), truncated, or that does not decode is counted
//   by reason, logged (rate-limited) and dropped;
// - ENOBUFS (overrun) is counted and answered by a fresh dump that reconciles the table; the
//   kernel's carrier counters make the reconciled counts exact. The dump is asked for only once
//   the socket has been read empty: after an overflow the kernel reports no further loss (it sets
//   NETLINK_S_CONGESTED and stays silent) until its receive queue has been emptied, so a dump
//   started earlier could miss changes dropped after it passed their link, with no new ENOBUFS
//   to say so;
// - each dump is one DumpSession (dump-session.ts); only a complete one prunes. An interrupted
//   one (NLM_F_DUMP_INTR) or a failed one (DONE with an error, NLMSG_ERROR, a reply datagram
//   dropped as truncated or undecodable) is repeated after a backoff;
// - at most one dump is in flight; a resync asked for meanwhile runs when it ends;
// - any other socket failure ends the dump without pruning, closes the socket and reopens it
//   with backoff, /-/ready reporting 503 until the fresh dump is applied.
//
// Other namespaces (--collector.netns): the socket listens to every namespace that has an nsid in
// ours (NETLINK_LISTEN_ALL_NSID), each datagram telling its nsid, and NamespaceSet routes it to
// that namespace's table; a datagram with an nsid is never a dump reply, whatever its header says
// (DumpSession.isReply). Each namespace is dumped on its own (IFLA_TARGET_NETNSID), one dump at a
// time on the one socket, by the same rules: a complete dump prunes its own table only, a failed
// one is retried after a backoff of its own without holding up the others, and an overrun (which
// may have lost any namespace's messages) dumps them all. A datagram from an nsid nobody has
// announced is counted and dropped, and the discovery is asked about it (it dumps it when found).

import { NetlinkClient } from '../netlink/client.js';
import { DropRecorder } from '../netlink/drop-recorder.js';
import { DumpScheduler } from './dump-scheduler.js';
import type { NetlinkSocketError } from '../netlink/errors.js';
import type { Logger } from '../runtime/logger.js';
import type { LinkTable } from '../links/table.js';
import { NamespaceSet } from '../netns/namespaces.js';
import { systemClock, type Clock } from '../runtime/clock.js';
import { decodeNsidMessage, type NsidMessage } from './nsid.js';
import { MESSAGE_TYPES, type ExporterMetrics, type MessageType } from '../metrics/exporter-metrics.js';
import { NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN } from '../netlink/constants.js';
import { AF_UNSPEC, RTM_DELLINK, RTM_DELNSID, RTM_NEWLINK, RTM_NEWNSID } from './constants.js';
import { decodeLink } from './link.js';
import { decodeDoneStatus, decodeErrorMessage } from '../netlink/message.js';
import type { NetlinkSocket, ReceiveEvent } from '../netlink/socket.js';
import type { NetlinkMessage } from '../netlink/types.js';

/** What the monitor tells the namespace discovery (netns/discovery.ts). */
export interface NamespaceHooks {
  /** An RTM_NEWNSID/RTM_DELNSID of our namespace arrived (RTNLGRP_NSID). */
  readonly onNsidMessage: (msg: NsidMessage) => void;
  /**
   * A datagram came from an nsid no namespace is known by. Return true when it is known now
   * (e.g. it is our own namespace's new self-id): the datagram is then routed again; else it is
   * dropped.
   */
  readonly onUnknownNsid: (nsid: number) => boolean;
  /** Notifications were lost (overrun, reopen) and every namespace is dumped again. */
  readonly onResyncAll: () => void;
}

export interface MonitorOptions {
  /** Opens a socket subscribed to RTMGRP_LINK; called at start and on every reopen. Throws NetlinkSocketError. */
  readonly openSocket: () => NetlinkSocket;
  /** The exporter's own namespace's table (the same as namespaces.own when both are given). */
  readonly table: LinkTable;
  /** Other namespaces (--collector.netns); without it only our own namespace is followed. */
  readonly namespaces?: NamespaceSet;
  /** Who keeps the set of namespaces up to date (--collector.netns); none: it never changes. */
  readonly discovery?: NamespaceHooks | undefined;
  readonly metrics: ExporterMetrics;
  readonly logger: Logger;
  /** The wall clock (link timestamps) and the backoff and stall timers; default the system's. */
  readonly clock?: Clock;
  /** First and largest delay before reopening a failed socket, and before repeating a failed dump. */
  readonly reopenBackoffMs?: { readonly initial: number; readonly max: number };
  /**
   * A dump that receives no reply for this long is given up (without pruning) and asked for
   * again: the kernel's answer to a request that met a full receive buffer is lost.
   */
  readonly dumpStallMs?: number;
  /** Interval of the rate limit on drop warnings. */
  readonly dropLogIntervalMs?: number;
  /** Told after each batch whether the socket still holds unread messages (a storm is on). */
  readonly onBacklog?: (behind: boolean) => void;
}

export class LinkMonitor {
  readonly #opts: MonitorOptions;
  readonly #namespaces: NamespaceSet;
  readonly #metrics: ExporterMetrics;
  readonly #clock: Clock;
  /** The socket, its sequence numbers, warnings and reopen. */
  readonly #client: NetlinkClient<NetlinkSocket>;
  /** Which namespace is dumped next, and what follows each dump's end. */
  readonly #dumps: DumpScheduler;
  readonly #dropped: DropRecorder;
  /**
   * Messages are counted in plain numbers while a batch is handled and added to the prom-client
   * counter once per batch: a labelled inc() per message is a large part of a storm's CPU.
   */
  readonly #messageCounts: Record<MessageType, number> = { newlink: 0, dellink: 0, done: 0, error: 0, other: 0 };
  #supersededCount = 0;

  constructor(opts: MonitorOptions) {
    this.#opts = opts;
    this.#namespaces = opts.namespaces ?? new NamespaceSet(opts.table);
    if (this.#namespaces.own !== opts.table) throw new Error('LinkMonitor: namespaces.own must be the table');
    this.#metrics = opts.metrics;
    this.#clock = opts.clock ?? systemClock;
    const backoff = opts.reopenBackoffMs ?? { initial: 100, max: 30_000 };
    this.#client = new NetlinkClient({
      open: opts.openSocket,
      logger: opts.logger,
      clock: this.#clock,
      backoff,
      logIntervalMs: opts.dropLogIntervalMs ?? 10_000,
      name: 'netlink socket',
    });
    this.#dropped = new DropRecorder(this.#metrics.dropped, this.#client.log, 'a netlink');
    this.#dumps = new DumpScheduler({
      namespaces: this.#namespaces,
      client: this.#client,
      metrics: this.#metrics,
      logger: opts.logger,
      clock: this.#clock,
      backoff,
      stallMs: opts.dumpStallMs ?? 5_000,
      onSocketError: (error) => this.#handleSocketError(error),
    });
    this.#namespaces.subscribe({
      added: (ns) => this.#dumps.added(ns),
      removed: (ns) => this.#dumps.removed(ns),
    });
  }

  /** True once a complete dump has been applied on the current socket. */
  get ready(): boolean {
    return this.#dumps.ready;
  }

  get socket(): NetlinkSocket | undefined {
    return this.#client.socket;
  }

  /** Opens the socket and asks for the first dump. Throws NetlinkSocketError when the socket cannot be opened. */
  start(): NetlinkSocket {
    const socket = this.#client.open();
    this.#attach(socket);
    return socket;
  }

  async close(): Promise<void> {
    this.#dumps.close();
    await this.#client.close();
  }

  #attach(socket: NetlinkSocket): void {
    this.#metrics.receiveBuffer.set(socket.receiveBufferBytes);
    socket.start((events, drained) => {
      if (this.#client.socket === socket) this.handle(events, drained);
    });
    if (this.#dumps.everReady) this.#opts.discovery?.onResyncAll();
    this.#dumps.attach();
  }

  /**
   * Processes received events in order; `drained` says the socket was read empty after them.
   * Public for tests that replay recorded datagrams.
   */
  handle(events: readonly ReceiveEvent[], drained = true): void {
    try {
      for (const event of events) {
        if (event.kind === 'datagram') this.#handleDatagram(event.data, event.senderPid, event.truncated, event.nsid ?? -1);
        else if (event.kind === 'overrun') this.#handleOverrun();
        else this.#handleSocketError(event.error);
      }
      this.#dumps.afterBatch(drained);
      this.#opts.onBacklog?.(!drained);
    } finally {
      this.#flushMessageCounts();
    }
  }

  #flushMessageCounts(): void {
    if (this.#supersededCount > 0) {
      this.#metrics.superseded.inc(this.#supersededCount);
      this.#supersededCount = 0;
    }
    const counts = this.#messageCounts;
    for (const type of MESSAGE_TYPES) {
      const n = counts[type];
      if (n === 0) continue;
      this.#metrics.messages.inc({ type }, n);
      counts[type] = 0;
    }
  }

  #handleOverrun(): void {
    this.#metrics.overruns.inc();
    this.#client.log.log('netlink socket overrun (ENOBUFS): notifications lost, resyncing from a fresh dump', {
      receive_buffer_bytes: this.#client.socket?.receiveBufferBytes,
    });
    // Lost notifications may include ones the dump in flight has already passed, of any namespace.
    this.#dumps.overrun();
    this.#opts.discovery?.onResyncAll();
  }

  #handleDatagram(data: Buffer, senderPid: number, truncated: boolean, nsid: number): void {
    const messages = this.#dropped.messagesOf(data, senderPid, truncated);
    if (typeof messages === 'string') {
      // A dropped reply (or DONE) spoils the dump; a forged datagram is no reply of ours.
      if (messages !== 'foreign_sender') this.#spoilDumpBy(data, messages, nsid);
      return;
    }
    // Dump replies carry no nsid (they are unicast, see DumpSession.isReply): they are routed to
    // our own table here, and #handleLink sends them to the dumped namespace's table instead.
    let route = this.#namespaces.route(nsid);
    if (route === undefined) {
      if (this.#opts.discovery?.onUnknownNsid(nsid) === true) route = this.#namespaces.route(nsid);
      if (route === undefined) {
        this.#dropped.drop('unknown_nsid', 'dropped a netlink datagram from a namespace whose nsid is not known (yet)', { nsid, bytes: data.length });
        return;
      }
    }
    for (const msg of messages) this.#handleMessage(msg, route, nsid);
  }

  /**
   * A datagram was dropped while a dump runs. Dump replies come in datagrams of their own, each
   * starting with a header of the dump's seq and our port id: unless the first header (or an
   * nsid) says the datagram was a notification, it may have held replies (or the DONE), so the
   * dump cannot be trusted, and waiting for its DONE could wait forever.
   */
  #spoilDumpBy(data: Buffer, reason: 'truncated' | 'undecodable', nsid: number): void {
    const dump = this.#dumps.dump;
    if (dump === undefined) return;
    // Too short to have a header: as if it had the dump's, as long as it had no nsid.
    const header = data.length >= NLMSG_HDRLEN ? { seq: data.readUInt32LE(8), pid: data.readUInt32LE(12) } : { seq: dump.seq, pid: dump.portId };
    if (!dump.isReply(header, nsid)) return;
    this.#dumps.end(dump.spoiled(reason));
  }

  /**
   * `route`: where the datagram's nsid says its notifications go. A dump's replies go to the
   * dumped namespace's table instead.
   */
  #handleMessage(msg: NetlinkMessage, route: LinkTable | 'excluded' | undefined, nsid: number): void {
    const counts = this.#messageCounts;
    switch (msg.type) {
      case RTM_NEWLINK:
        counts.newlink++;
        this.#handleLink(msg, route, nsid);
        return;
      case RTM_DELLINK:
        counts.dellink++;
        this.#handleLink(msg, route, nsid);
        return;
      case NLMSG_DONE: {
        counts.done++;
        const dump = this.#dumps.dump;
        if (dump?.isReply(msg, nsid)) this.#dumps.end(dump.done(msg, decodeDoneStatus(msg)));
        return;
      }
      case NLMSG_ERROR:
        counts.error++;
        this.#handleError(msg, nsid);
        return;
      case RTM_NEWNSID:
      case RTM_DELNSID:
        counts.other++;
        this.#handleNsid(msg, route);
        return;
      default:
        counts.other++;
    }
  }

  /** RTM_NEWLINK / RTM_DELLINK: a notification or a dump reply, applied to its table. */
  #handleLink(msg: NetlinkMessage, route: LinkTable | 'excluded' | undefined, nsid: number): void {
    const dump = this.#dumps.dump;
    // After an overrun, until the socket has been read empty, the kernel drops notifications
    // without saying which; the resync dump asked for then supersedes whatever of them is still
    // queued. Skipping them undecoded empties the queue several times faster, so the dump starts
    // (and the counters are exact) sooner and fewer further overruns follow. A dump already in
    // flight (started before the overrun) still gets every message, and so does a namespace whose
    // dumps are failing (no dump would supersede what is skipped).
    if (dump === undefined && this.#dumps.congested && this.#dumps.supersedes(route)) {
      this.#supersededCount++;
      return;
    }
    const reply = dump !== undefined && dump.isReply(msg, nsid);
    const table = reply ? this.#dumps.dumpTable() : route;
    if (table === undefined || table === 'excluded') {
      if (reply) dump.noteReply(msg, nsid);
      return;
    }
    const link = this.#dropped.decode(msg, decodeLink);
    if (link === undefined) {
      if (reply) this.#dumps.end(dump.spoiled('undecodable'));
      return;
    }
    // The table tells its subscribers (log lines, event log, ethtool) what changed.
    table.apply(link, this.#clock.now());
    if (link.family === AF_UNSPEC && dump !== undefined && (reply || this.#dumps.dumpTable() === table)) {
      dump.noteLink(msg, nsid, link.ifindex, link.kind === 'del');
    }
  }

  /** NLMSG_ERROR: the kernel refused a dump (e.g. EBUSY) when it carries our request's seq. */
  #handleError(msg: NetlinkMessage, nsid: number): void {
    const dump = this.#dumps.dump;
    const error = this.#dropped.decode(msg, decodeErrorMessage);
    if (error === undefined) {
      if (dump?.isReply(msg, nsid)) this.#dumps.end(dump.spoiled('undecodable'));
      return;
    }
    if (dump?.isRefusal(error.requestSeq, nsid) === true && error.error < 0) this.#dumps.end(dump.refused(error.error));
  }

  /** RTM_NEWNSID / RTM_DELNSID: only our own namespace's nsids matter (others announce theirs to us too). */
  #handleNsid(msg: NetlinkMessage, route: LinkTable | 'excluded' | undefined): void {
    const discovery = this.#opts.discovery;
    if (route !== this.#namespaces.own || discovery === undefined) return;
    const decoded = this.#dropped.decode(msg, decodeNsidMessage);
    if (decoded !== undefined) discovery.onNsidMessage(decoded);
  }

  #handleSocketError(error: NetlinkSocketError): void {
    if (this.#client.closed) return;
    this.#dumps.detach();
    this.#metrics.socketReopens.inc();
    this.#client.failed(error, () => {
      try {
        this.#attach(this.#client.open());
      } catch (e) {
        this.#handleSocketError(e as NetlinkSocketError);
      }
    });
  }
}
