// The monitor: subscribe → dump → receive → decode → apply. The recovery policy lives here and
// only here:
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

import { Backoff, NetlinkClient } from '../netlink/client.js';
import { DropRecorder } from '../netlink/drop-recorder.js';
import { DumpSession, type DumpEnd } from './dump-session.js';
import type { NetlinkSocketError } from '../netlink/errors.js';
import type { Logger } from '../runtime/logger.js';
import type { LinkTable } from '../links/table.js';
import { NamespaceSet, type Namespace } from '../netns/namespaces.js';
import { systemClock, type Clock, type ClockTimer } from '../runtime/clock.js';
import { decodeNsidMessage, type NsidMessage } from './nsid.js';
import { MESSAGE_TYPES, type ExporterMetrics, type MessageType } from '../metrics/exporter-metrics.js';
import { NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN } from '../netlink/constants.js';
import { AF_UNSPEC, RTM_DELLINK, RTM_DELNSID, RTM_NEWLINK, RTM_NEWNSID } from './constants.js';
import { decodeLink } from './link.js';
import { decodeDoneStatus, decodeErrorMessage } from '../netlink/message.js';
import { encodeLinkDumpRequest } from './request.js';
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
}

export class LinkMonitor {
  readonly #opts: MonitorOptions;
  readonly #namespaces: NamespaceSet;
  readonly #metrics: ExporterMetrics;
  readonly #logger: Logger;
  readonly #clock: Clock;
  /** The socket, its sequence numbers, warnings and reopen. */
  readonly #client: NetlinkClient<NetlinkSocket>;
  /** The dump in flight, if any. */
  #dump: DumpSession | undefined;
  /**
   * Namespaces (nsid; -1 our own) waiting for a dump that could not start yet: a dump in flight,
   * or the socket congested. The next starts when the dump ends, or when handle() finds the
   * socket drained. In insertion order.
   */
  readonly #wanted = new Set<number>();
  /** Namespaces whose failed dump waits for its backoff: a timer and the next delay each. */
  readonly #retries = new Map<number, { timer: ClockTimer | undefined; backoff: Backoff }>();
  /** Namespaces with a complete dump on the current socket. */
  readonly #dumped = new Set<number>();
  /** Namespaces dumped before (on any socket): a dump of one of them is a resync. */
  readonly #everDumped = new Set<number>();
  /**
   * Other namespaces whose dump on the current socket has ended at least once, complete,
   * interrupted or failed: readiness waits for each one's first attempt, not for its success (a
   * namespace whose dumps keep failing is counted, logged and retried, and must not keep the
   * exporter unready).
   */
  readonly #attempted = new Set<number>();
  #dumpWatchdog: ClockTimer | undefined;
  /** An overrun was seen and the socket has not been read empty since: losses go unreported. */
  #congested = false;
  #ready = false;
  #everReady = false;
  readonly #dropped: DropRecorder;

  constructor(opts: MonitorOptions) {
    this.#opts = opts;
    this.#namespaces = opts.namespaces ?? new NamespaceSet(opts.table);
    if (this.#namespaces.own !== opts.table) throw new Error('LinkMonitor: namespaces.own must be the table');
    this.#metrics = opts.metrics;
    this.#logger = opts.logger;
    this.#clock = opts.clock ?? systemClock;
    this.#client = new NetlinkClient({
      open: opts.openSocket,
      logger: opts.logger,
      clock: this.#clock,
      backoff: this.#backoffMs,
      logIntervalMs: opts.dropLogIntervalMs ?? 10_000,
      name: 'netlink socket',
    });
    this.#dropped = new DropRecorder(this.#metrics.dropped, this.#client.log, 'a netlink');
    this.#namespaces.subscribe({
      added: (ns) => this.#requestDump(ns.nsid),
      removed: (ns) => this.#forget(ns),
    });
  }

  /** True once a complete dump has been applied on the current socket. */
  get ready(): boolean {
    return this.#ready;
  }

  get socket(): NetlinkSocket | undefined {
    return this.#client.socket;
  }

  /** First and largest delay before reopening a failed socket, and before repeating a failed dump. */
  get #backoffMs(): { readonly initial: number; readonly max: number } {
    return this.#opts.reopenBackoffMs ?? { initial: 100, max: 30_000 };
  }

  /** Opens the socket and asks for the first dump. Throws NetlinkSocketError when the socket cannot be opened. */
  start(): NetlinkSocket {
    const socket = this.#client.open();
    this.#attach(socket);
    return socket;
  }

  async close(): Promise<void> {
    this.#clearRetries();
    this.#clock.clearTimeout(this.#dumpWatchdog);
    await this.#client.close();
  }

  #attach(socket: NetlinkSocket): void {
    this.#metrics.receiveBuffer.set(socket.receiveBufferBytes);
    this.#dump = undefined;
    this.#congested = false;
    this.#dumped.clear();
    this.#attempted.clear();
    this.#wanted.clear();
    socket.start((events, drained) => {
      if (this.#client.socket === socket) this.handle(events, drained);
    });
    if (this.#everReady) this.#opts.discovery?.onResyncAll();
    this.#requestAll();
  }

  /** Every namespace wants a dump, our own first. */
  #requestAll(): void {
    this.#wanted.add(-1);
    for (const ns of this.#namespaces.namespaces()) this.#wanted.add(ns.nsid);
    this.#pump();
  }

  /** A namespace went away: nothing of it is waited for any more. */
  #forget(ns: Namespace): void {
    this.#wanted.delete(ns.nsid);
    this.#dumped.delete(ns.nsid);
    this.#everDumped.delete(ns.nsid);
    this.#attempted.delete(ns.nsid);
    const retry = this.#retries.get(ns.nsid);
    this.#clock.clearTimeout(retry?.timer);
    this.#retries.delete(ns.nsid);
    // A dump of it in flight ends as it ends; its replies have no table to go to.
    this.#checkReady();
  }

  #clearRetries(): void {
    for (const retry of this.#retries.values()) this.#clock.clearTimeout(retry.timer);
    this.#retries.clear();
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
      if (drained) this.#congested = false;
      if (this.#wanted.size > 0 && !this.#congested) this.#pump();
    } finally {
      this.#flushMessageCounts();
    }
  }

  /**
   * Messages are counted in plain numbers while a batch is handled and added to the prom-client
   * counter once per batch: a labelled inc() per message is a large part of a storm's CPU.
   */
  readonly #messageCounts: Record<MessageType, number> = { newlink: 0, dellink: 0, done: 0, error: 0, other: 0 };

  /** True when a resync of the notification's namespace can be counted on: its dumps work. */
  #resyncSupersedes(route: LinkTable | 'excluded' | undefined, nsid: number): boolean {
    if (route === undefined || route === 'excluded') return true; // nothing to apply anyway
    const target = route === this.#namespaces.own ? -1 : nsid;
    return this.#dumped.has(target) && !this.#retries.has(target);
  }

  #supersededCount = 0;

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
    this.#dump?.requestAnother();
    this.#congested = true;
    this.#opts.discovery?.onResyncAll();
    this.#wanted.add(-1);
    for (const ns of this.#namespaces.namespaces()) this.#wanted.add(ns.nsid);
  }

  #handleDatagram(data: Buffer, senderPid: number, truncated: boolean, nsid: number): void {
    const messages = this.#dropped.messagesOf(data, senderPid, truncated);
    if (typeof messages === 'string') {
      // A dropped reply (or DONE) spoils the dump; a forged datagram is no reply of ours.
      if (messages !== 'foreign_sender') this.#spoilDumpBy(data, messages, nsid);
      return;
    }
    // Dump replies carry no nsid (they are unicast, see DumpSession.isReply): they are routed to
    // our own table here, and #handleMessage sends them to the dumped namespace's table instead.
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

  /** The table of the namespace the dump in flight is of, as it was when the dump started. */
  #dumpStartTable: LinkTable | undefined;

  /**
   * The table a dump's replies go to; undefined when its namespace went away meanwhile (also
   * when its nsid now names another namespace: the kernel reuses the lowest free nsid).
   */
  #dumpTable(dump: DumpSession): LinkTable | undefined {
    const now = dump.target < 0 ? this.#namespaces.own : this.#namespaces.get(dump.target)?.table;
    return now !== undefined && now === this.#dumpStartTable ? now : undefined;
  }

  /**
   * A datagram was dropped while a dump runs. Dump replies come in datagrams of their own, each
   * starting with a header of the dump's seq and our port id: unless the first header (or an
   * nsid) says the datagram was a notification, it may have held replies (or the DONE), so the
   * dump cannot be trusted, and waiting for its DONE could wait forever.
   */
  #spoilDumpBy(data: Buffer, reason: 'truncated' | 'undecodable', nsid: number): void {
    const dump = this.#dump;
    if (dump === undefined) return;
    // Too short to have a header: as if it had the dump's, as long as it had no nsid.
    const header = data.length >= NLMSG_HDRLEN ? { seq: data.readUInt32LE(8), pid: data.readUInt32LE(12) } : { seq: dump.seq, pid: dump.portId };
    if (!dump.isReply(header, nsid)) return;
    this.#endDump(dump.spoiled(reason));
  }

  /**
   * `route`: where the datagram's nsid says its notifications go. A dump's replies go to the
   * dumped namespace's table instead.
   */
  #handleMessage(msg: NetlinkMessage, route: LinkTable | 'excluded' | undefined, nsid: number): void {
    const counts = this.#messageCounts;
    switch (msg.type) {
      case RTM_NEWLINK:
      case RTM_DELLINK: {
        if (msg.type === RTM_NEWLINK) counts.newlink++;
        else counts.dellink++;
        const dump = this.#dump;
        // After an overrun, until the socket has been read empty, the kernel drops notifications
        // without saying which; the resync dump asked for then supersedes whatever of them is
        // still queued. Skipping them undecoded empties the queue several times faster, so the
        // dump starts (and the counters are exact) sooner and fewer further overruns follow. A
        // dump already in flight (started before the overrun) still gets every message, and so
        // does a namespace whose dumps are failing (no dump would supersede what is skipped).
        if (dump === undefined && this.#congested && this.#resyncSupersedes(route, nsid)) {
          this.#supersededCount++;
          return;
        }
        const reply = dump !== undefined && dump.isReply(msg, nsid);
        const table = reply ? this.#dumpTable(dump) : route;
        if (table === undefined || table === 'excluded') {
          if (reply) dump.noteReply(msg, nsid);
          return;
        }
        let link;
        try {
          link = decodeLink(msg);
        } catch (error) {
          this.#dropped.decodeError(error);
          if (reply) this.#endDump(dump.spoiled('undecodable'));
          return;
        }
        // The table tells its subscribers (log lines, event log, ethtool) what changed.
        table.apply(link, this.#clock.now());
        if (link.family === AF_UNSPEC && dump !== undefined && (reply || this.#dumpTable(dump) === table)) {
          dump.noteLink(msg, nsid, link.ifindex, link.kind === 'del');
        }
        return;
      }
      case NLMSG_DONE:
        counts.done++;
        if (this.#dump?.isReply(msg, nsid)) this.#endDump(this.#dump.done(msg, decodeDoneStatus(msg)));
        return;
      case NLMSG_ERROR: {
        counts.error++;
        let error;
        try {
          error = decodeErrorMessage(msg);
        } catch (e) {
          this.#dropped.decodeError(e);
          if (this.#dump?.isReply(msg, nsid)) this.#endDump(this.#dump.spoiled('undecodable'));
          return;
        }
        // The kernel refused the dump (e.g. EBUSY): the answer carries our request's seq.
        if (this.#dump?.isRefusal(error.requestSeq, nsid) === true && error.error < 0) {
          this.#endDump(this.#dump.refused(error.error));
        }
        return;
      }
      case RTM_NEWNSID:
      case RTM_DELNSID: {
        counts.other++;
        // Only our own namespace's nsids matter; other namespaces announce theirs to us too.
        const discovery = this.#opts.discovery;
        if (route !== this.#namespaces.own || discovery === undefined) return;
        let decoded;
        try {
          decoded = decodeNsidMessage(msg);
        } catch (error) {
          this.#dropped.decodeError(error);
          return;
        }
        discovery.onNsidMessage(decoded);
        return;
      }
      default:
        counts.other++;
    }
  }

  /** Asks for a dump of one namespace (-1: our own); it starts when nothing is in the way. */
  #requestDump(target: number): void {
    this.#wanted.add(target);
    this.#pump();
  }

  /** Starts the next wanted dump, unless one is in flight or the socket is congested. */
  #pump(): void {
    const socket = this.#client.socket;
    // Never two dumps at once: the kernel would refuse the second (EBUSY). It runs afterwards.
    if (!socket || this.#dump !== undefined || this.#client.closed) return;
    // Not before the socket has been read empty (see the header): handle() pumps then.
    if (this.#congested) return;
    for (const target of this.#wanted) {
      this.#wanted.delete(target);
      if (target >= 0 && this.#namespaces.get(target) === undefined) continue; // gone meanwhile
      if (this.#retries.get(target)?.timer !== undefined) continue; // its backoff re-asks
      this.#startDump(socket, target);
      return;
    }
  }

  #startDump(socket: NetlinkSocket, target: number): void {
    // A namespace's first dump is not a resync (nor is our own first, at start).
    const isResync = this.#everDumped.has(target);
    const dump = new DumpSession(this.#client.seq.next(), socket.portId, isResync, target);
    this.#dump = dump;
    this.#dumpStartTable = target < 0 ? this.#namespaces.own : this.#namespaces.get(target)?.table;
    if (isResync) this.#metrics.resyncs.inc();
    try {
      socket.send(encodeLinkDumpRequest(dump.seq, target < 0 ? undefined : target));
    } catch (error) {
      this.#dump = undefined;
      this.#handleSocketError(error as NetlinkSocketError);
      return;
    }
    this.#watchDump(dump, 0);
  }

  /** Gives the dump up when a whole interval passes without a reply (only while one runs). */
  #watchDump(dump: DumpSession, repliesBefore: number): void {
    this.#clock.clearTimeout(this.#dumpWatchdog);
    this.#dumpWatchdog = this.#clock.setTimeout(() => {
      this.#dumpWatchdog = undefined;
      if (this.#dump !== dump || dump.ended !== undefined) return;
      if (dump.replies > repliesBefore) {
        this.#watchDump(dump, dump.replies);
        return;
      }
      this.#endDump(dump.stalled());
    }, this.#opts.dumpStallMs ?? 5_000);
    this.#dumpWatchdog.unref();
  }

  /** Applies how a dump ended; asks for the next one when it must. */
  #endDump(end: DumpEnd): void {
    const dump = this.#dump;
    this.#dump = undefined;
    this.#clock.clearTimeout(this.#dumpWatchdog);
    this.#dumpWatchdog = undefined;
    const target = dump?.target ?? -1;
    const table = dump === undefined ? undefined : this.#dumpTable(dump);
    const where = target < 0 ? {} : { nsid: target, ...netnsField(table?.netns) };
    switch (end.kind) {
      case 'complete': {
        // Pruned only when nothing was lost while it ran; else the dump asked for next prunes.
        if (!end.again && table !== undefined) table.retainOnly(end.seen);
        this.#retries.delete(target);
        if (table !== undefined) {
          this.#dumped.add(target);
          this.#everDumped.add(target);
        }
        if (end.again) this.#wanted.add(target);
        this.#checkReady();
        break;
      }
      // An interrupted dump (NLM_F_DUMP_INTR: the dumped namespace's links changed while it ran)
      // is retried after the same backoff as a failed one, so a tenant churning its links cannot
      // loop it, and counts as that namespace's attempt for readiness (its replies are applied).
      // Our own namespace still needs a complete dump: only the host's own changes interrupt it.
      case 'interrupted':
      case 'failed': {
        if (end.kind === 'interrupted') this.#metrics.dumpsInterrupted.inc();
        else this.#metrics.dumpFailures.inc({ reason: end.reason });
        if (end.kind === 'failed' && end.reason === 'socket_error') return; // the reopen asks for fresh dumps
        if (table === undefined) break; // its namespace is gone: nothing to retry
        if (target >= 0) {
          this.#attempted.add(target);
          this.#checkReady();
        }
        const retry = this.#retries.get(target) ?? { timer: undefined, backoff: new Backoff(this.#backoffMs.initial, this.#backoffMs.max) };
        const delay = retry.backoff.next();
        if (end.kind === 'interrupted') {
          this.#logger.debug({ ...where, retry_in_ms: delay }, 'link dump interrupted by concurrent changes (NLM_F_DUMP_INTR), dumping again');
        } else {
          this.#client.log.log('link dump failed, nothing pruned; dumping again', {
            ...where,
            reason: end.reason,
            ...(end.errno === undefined ? {} : { errno: end.errno }),
            retry_in_ms: delay,
          });
        }
        retry.timer = this.#clock.setTimeout(() => {
          retry.timer = undefined;
          if (!this.#client.closed) this.#requestDump(target);
        }, delay);
        this.#retries.set(target, retry);
        if (end.again) this.#wanted.add(target);
        break;
      }
    }
    this.#pump();
  }

  /**
   * Ready once our namespace has had a complete dump and every exported namespace a complete,
   * interrupted or failed one (see #attempted).
   */
  #checkReady(): void {
    if (this.#ready || !this.#dumped.has(-1)) return;
    for (const ns of this.#namespaces.namespaces()) if (!this.#dumped.has(ns.nsid) && !this.#attempted.has(ns.nsid)) return;
    this.#ready = true;
    this.#client.recovered();
    let links = this.#namespaces.own.size;
    for (const ns of this.#namespaces.namespaces()) links += ns.table.size;
    this.#logger.info(
      { links, ...(this.#namespaces.size === 0 ? {} : { namespaces: this.#namespaces.size + 1 }), resync: this.#everReady },
      'link dump applied, ready',
    );
    this.#everReady = true;
  }

  #handleSocketError(error: NetlinkSocketError): void {
    if (this.#client.closed) return;
    this.#ready = false;
    if (this.#dump !== undefined) this.#endDump(this.#dump.aborted());
    this.#clearRetries();
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

function netnsField(netns: string | undefined): { netns?: string } {
  return netns === undefined ? {} : { netns };
}
