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
//   one (NLM_F_DUMP_INTR) is repeated at once; a failed one (DONE with an error, NLMSG_ERROR, a
//   reply datagram dropped as truncated or undecodable) is repeated after a backoff;
// - at most one dump is in flight; a resync asked for meanwhile runs when it ends;
// - any other socket failure ends the dump without pruning, closes the socket and reopens it
//   with backoff, /-/ready reporting 503 until the fresh dump is applied.

import { DropRecorder } from './drop-recorder.js';
import { DumpSession, type DumpEnd } from './dump-session.js';
import type { NetlinkSocketError } from './errors.js';
import { rateLimited, type Logger, type RateLimitedLog } from './logger.js';
import { LinkTable, type ApplyResult } from './links/table.js';
import { MESSAGE_TYPES, type ExporterMetrics, type MessageType } from './metrics/exporter-metrics.js';
import { AF_UNSPEC, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, RTM_DELLINK, RTM_NEWLINK } from './netlink/constants.js';
import { decodeLink } from './netlink/link.js';
import { decodeDoneStatus, decodeErrorMessage, decodeMessages } from './netlink/message.js';
import { encodeLinkDumpRequest } from './netlink/request.js';
import type { NetlinkSocket, ReceiveEvent } from './netlink/socket.js';
import type { NetlinkMessage } from './netlink/types.js';

export interface MonitorOptions {
  /** Opens a socket subscribed to RTMGRP_LINK; called at start and on every reopen. Throws NetlinkSocketError. */
  readonly openSocket: () => NetlinkSocket;
  readonly table: LinkTable;
  readonly metrics: ExporterMetrics;
  readonly logger: Logger;
  /** Wall clock in ms. */
  readonly now?: () => number;
  /** First and largest delay before reopening a failed socket, and before repeating a failed dump. */
  readonly reopenBackoffMs?: { readonly initial: number; readonly max: number };
  /**
   * A dump that receives no reply for this long is given up (without pruning) and asked for
   * again: the kernel's answer to a request that met a full receive buffer is lost.
   */
  readonly dumpStallMs?: number;
  /** Interval of the rate limit on drop warnings. */
  readonly dropLogIntervalMs?: number;
  /**
   * Called after each link message is applied to the table (dump replies and notifications
   * alike), e.g. by the ethtool client to ask about links that appeared or changed carrier.
   */
  readonly onApply?: (result: ApplyResult) => void;
  /**
   * Called after a message is applied that changed a known link's carrier, admin or oper state,
   * with the admin and oper state just before it (the table updates links in place).
   */
  readonly onTransition?: (result: ApplyResult, before: { readonly adminUp: boolean; readonly operstate: number }) => void;
}

export class LinkMonitor {
  readonly #opts: MonitorOptions;
  readonly #table: LinkTable;
  readonly #metrics: ExporterMetrics;
  readonly #logger: Logger;
  readonly #now: () => number;
  #socket: NetlinkSocket | undefined;
  #seq = 0;
  /** The dump in flight, if any. */
  #dump: DumpSession | undefined;
  /**
   * A resync was asked for while none could start: a dump in flight, a retry waiting, or the
   * socket congested. It starts when the dump ends, or when handle() finds the socket drained.
   */
  #resyncWanted = false;
  #dumpRetryTimer: NodeJS.Timeout | undefined;
  #dumpWatchdog: NodeJS.Timeout | undefined;
  /** An overrun was seen and the socket has not been read empty since: losses go unreported. */
  #congested = false;
  #dumpRetryDelayMs: number;
  #ready = false;
  #everReady = false;
  #closed = false;
  #reopenTimer: NodeJS.Timeout | undefined;
  #reopenDelayMs: number;
  readonly #drops: RateLimitedLog;
  readonly #dropped: DropRecorder;

  constructor(opts: MonitorOptions) {
    this.#opts = opts;
    this.#table = opts.table;
    this.#metrics = opts.metrics;
    this.#logger = opts.logger;
    this.#now = opts.now ?? Date.now;
    this.#reopenDelayMs = opts.reopenBackoffMs?.initial ?? 100;
    this.#dumpRetryDelayMs = opts.reopenBackoffMs?.initial ?? 100;
    this.#drops = rateLimited(opts.logger, opts.dropLogIntervalMs ?? 10_000, { now: this.#now });
    this.#dropped = new DropRecorder(this.#metrics.dropped, this.#drops, 'a netlink');
  }

  /** True once a complete dump has been applied on the current socket. */
  get ready(): boolean {
    return this.#ready;
  }

  get socket(): NetlinkSocket | undefined {
    return this.#socket;
  }

  /** Opens the socket and asks for the first dump. Throws NetlinkSocketError when the socket cannot be opened. */
  start(): NetlinkSocket {
    const socket = this.#opts.openSocket();
    this.#attach(socket);
    return socket;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#reopenTimer) clearTimeout(this.#reopenTimer);
    if (this.#dumpRetryTimer) clearTimeout(this.#dumpRetryTimer);
    if (this.#dumpWatchdog) clearTimeout(this.#dumpWatchdog);
    const socket = this.#socket;
    this.#socket = undefined;
    this.#drops.flush();
    await socket?.close();
  }

  #attach(socket: NetlinkSocket): void {
    this.#socket = socket;
    this.#metrics.receiveBuffer.set(socket.receiveBufferBytes);
    this.#dump = undefined;
    this.#resyncWanted = false;
    this.#congested = false;
    socket.start((events, drained) => {
      if (this.#socket === socket) this.handle(events, drained);
    });
    this.#requestDump(this.#everReady);
  }

  /**
   * Processes received events in order; `drained` says the socket was read empty after them.
   * Public for tests that replay recorded datagrams.
   */
  handle(events: readonly ReceiveEvent[], drained = true): void {
    try {
      for (const event of events) {
        if (event.kind === 'datagram') this.#handleDatagram(event.data, event.senderPid, event.truncated);
        else if (event.kind === 'overrun') this.#handleOverrun();
        else this.#handleSocketError(event.error);
      }
      if (drained) this.#congested = false;
      if (this.#resyncWanted && !this.#congested) this.#requestDump(true);
    } finally {
      this.#flushMessageCounts();
    }
  }

  /**
   * Messages are counted in plain numbers while a batch is handled and added to the prom-client
   * counter once per batch: a labelled inc() per message was a tenth of the CPU of a storm.
   */
  readonly #messageCounts: Record<MessageType, number> = { newlink: 0, dellink: 0, done: 0, error: 0, other: 0 };

  #flushMessageCounts(): void {
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
    this.#drops.log('netlink socket overrun (ENOBUFS): notifications lost, resyncing from a fresh dump', {
      receive_buffer_bytes: this.#socket?.receiveBufferBytes,
    });
    // Lost notifications may include ones the dump in flight has already passed.
    this.#dump?.requestAnother();
    this.#congested = true;
    this.#resyncWanted = true;
  }

  #handleDatagram(data: Buffer, senderPid: number, truncated: boolean): void {
    if (senderPid !== 0) {
      this.#dropped.drop('foreign_sender', 'dropped a netlink datagram not sent by the kernel', { sender_pid: senderPid, bytes: data.length });
      return;
    }
    if (truncated) {
      this.#dropped.drop('truncated', 'dropped a truncated netlink datagram (MSG_TRUNC)', { bytes: data.length });
      this.#spoilDumpBy(data, 'truncated');
      return;
    }
    let messages: NetlinkMessage[];
    try {
      messages = decodeMessages(data);
    } catch (error) {
      this.#dropped.decodeError(error);
      this.#spoilDumpBy(data, 'undecodable');
      return;
    }
    for (const msg of messages) this.#handleMessage(msg);
  }

  /**
   * A datagram was dropped while a dump runs. Dump replies come in datagrams of their own, each
   * starting with a header of the dump's seq and our port id: unless the first header says the
   * datagram was a notification, it may have held replies (or the DONE), so the dump cannot be
   * trusted, and waiting for its DONE could wait forever.
   */
  #spoilDumpBy(data: Buffer, reason: 'truncated' | 'undecodable'): void {
    const dump = this.#dump;
    if (dump === undefined) return;
    if (data.length >= NLMSG_HDRLEN && (data.readUInt32LE(8) !== dump.seq || data.readUInt32LE(12) !== dump.portId)) return;
    this.#endDump(dump.spoiled(reason));
  }

  #handleMessage(msg: NetlinkMessage): void {
    const counts = this.#messageCounts;
    switch (msg.type) {
      case RTM_NEWLINK:
      case RTM_DELLINK: {
        if (msg.type === RTM_NEWLINK) counts.newlink++;
        else counts.dellink++;
        let link;
        try {
          link = decodeLink(msg);
        } catch (error) {
          this.#dropped.decodeError(error);
          if (this.#dump?.isReply(msg)) this.#endDump(this.#dump.spoiled('undecodable'));
          return;
        }
        const known = this.#opts.onTransition === undefined ? undefined : this.#table.get(link.ifindex);
        const before = known && { adminUp: known.adminUp, operstate: known.operstate };
        const result = this.#table.apply(link, this.#now());
        if (link.family === AF_UNSPEC) this.#dump?.noteLink(msg, link.ifindex, link.kind === 'del');
        this.#logResult(result);
        this.#opts.onApply?.(result);
        if (before !== undefined && result.kind === 'updated' && (result.carrier !== undefined || before.adminUp !== result.link.adminUp || before.operstate !== result.link.operstate)) {
          this.#opts.onTransition?.(result, before);
        }
        return;
      }
      case NLMSG_DONE:
        counts.done++;
        if (this.#dump?.isReply(msg)) this.#endDump(this.#dump.done(msg, decodeDoneStatus(msg)));
        return;
      case NLMSG_ERROR: {
        counts.error++;
        let error;
        try {
          error = decodeErrorMessage(msg);
        } catch (e) {
          this.#dropped.decodeError(e);
          if (this.#dump?.isReply(msg)) this.#endDump(this.#dump.spoiled('undecodable'));
          return;
        }
        // The kernel refused the dump (e.g. EBUSY): the answer carries our request's seq.
        if (this.#dump !== undefined && error.requestSeq === this.#dump.seq && error.error < 0) {
          this.#endDump(this.#dump.refused(error.error));
        }
        return;
      }
      default:
        counts.other++;
    }
  }

  #logResult(result: ApplyResult): void {
    const logger = this.#logger;
    switch (result.kind) {
      case 'updated':
        if (result.renamedFrom !== undefined) {
          logger.info({ device: result.link.name, from: result.renamedFrom, ifindex: result.link.ifindex }, 'link renamed');
        }
        if (result.carrier) {
          const link = result.link;
          // The down reason (ethtool ext_state), when the driver has said one for this link.
          const reason = link.carrier ? undefined : link.downReason;
          logger.info(
            {
              device: link.name,
              from: result.carrier.from,
              to: result.carrier.to,
              changes: result.carrier.changes,
              ...(reason === undefined ? {} : { reason, detail: link.downReasonDetail ?? '' }),
            },
            'carrier changed',
          );
        }
        return;
      case 'added':
        logger.debug({ device: result.link.name, ifindex: result.link.ifindex }, 'link added');
        return;
      case 'removed':
        logger.debug({ device: result.link.name, ifindex: result.link.ifindex }, 'link removed');
        return;
      default:
    }
  }

  #requestDump(isResync: boolean): void {
    const socket = this.#socket;
    if (!socket) return;
    if (this.#dump !== undefined || this.#dumpRetryTimer !== undefined) {
      // Never two dumps at once: the kernel would refuse the second (EBUSY). Run it afterwards.
      this.#resyncWanted = true;
      return;
    }
    if (this.#congested) {
      // Not before the socket has been read empty (see the header): handle() asks for it then.
      this.#resyncWanted = true;
      return;
    }
    this.#resyncWanted = false;
    this.#seq = (this.#seq + 1) >>> 0 || 1;
    const dump = new DumpSession(this.#seq, socket.portId, isResync);
    this.#dump = dump;
    if (isResync) this.#metrics.resyncs.inc();
    try {
      socket.send(encodeLinkDumpRequest(dump.seq));
    } catch (error) {
      this.#dump = undefined;
      this.#handleSocketError(error as NetlinkSocketError);
      return;
    }
    this.#watchDump(dump, 0);
  }

  /** Gives the dump up when a whole interval passes without a reply (only while one runs). */
  #watchDump(dump: DumpSession, repliesBefore: number): void {
    if (this.#dumpWatchdog) clearTimeout(this.#dumpWatchdog);
    this.#dumpWatchdog = setTimeout(() => {
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
    this.#dump = undefined;
    if (this.#dumpWatchdog) clearTimeout(this.#dumpWatchdog);
    this.#dumpWatchdog = undefined;
    switch (end.kind) {
      case 'complete': {
        // Pruned only when nothing was lost while it ran; else the dump asked for next prunes.
        if (!end.again) {
          for (const link of this.#table.retainOnly(end.seen)) {
            this.#logger.debug({ device: link.name, ifindex: link.ifindex }, 'link gone (missed its deletion), removed');
          }
        }
        this.#dumpRetryDelayMs = this.#opts.reopenBackoffMs?.initial ?? 100;
        if (!this.#ready) {
          this.#ready = true;
          this.#reopenDelayMs = this.#opts.reopenBackoffMs?.initial ?? 100;
          this.#logger.info({ links: this.#table.size, resync: this.#everReady }, 'link dump applied, ready');
          this.#everReady = true;
        }
        if (end.again || this.#resyncWanted) this.#requestDump(true);
        return;
      }
      case 'interrupted':
        this.#metrics.dumpsInterrupted.inc();
        this.#logger.debug('link dump interrupted by concurrent changes (NLM_F_DUMP_INTR), dumping again');
        this.#requestDump(true);
        return;
      case 'failed': {
        this.#metrics.dumpFailures.inc({ reason: end.reason });
        if (end.reason === 'socket_error') return; // the reopen asks for a fresh dump
        const delay = this.#dumpRetryDelayMs;
        this.#dumpRetryDelayMs = Math.min(delay * 2, this.#opts.reopenBackoffMs?.max ?? 30_000);
        this.#drops.log('link dump failed, nothing pruned; dumping again', {
          reason: end.reason,
          ...(end.errno === undefined ? {} : { errno: end.errno }),
          retry_in_ms: delay,
        });
        this.#dumpRetryTimer = setTimeout(() => {
          this.#dumpRetryTimer = undefined;
          if (!this.#closed) this.#requestDump(true);
        }, delay);
        return;
      }
    }
  }

  #handleSocketError(error: NetlinkSocketError): void {
    if (this.#closed) return;
    const socket = this.#socket;
    this.#socket = undefined;
    this.#ready = false;
    if (this.#dump !== undefined) this.#endDump(this.#dump.aborted());
    if (this.#dumpRetryTimer !== undefined) clearTimeout(this.#dumpRetryTimer);
    this.#dumpRetryTimer = undefined;
    this.#metrics.socketReopens.inc();
    const delay = this.#reopenDelayMs;
    this.#reopenDelayMs = Math.min(delay * 2, this.#opts.reopenBackoffMs?.max ?? 30_000);
    this.#logger.error({ err: error.message, retry_in_ms: delay }, 'netlink socket failed, reopening');
    void socket?.close();
    this.#reopenTimer = setTimeout(() => {
      this.#reopenTimer = undefined;
      if (this.#closed) return;
      try {
        this.#attach(this.#opts.openSocket());
      } catch (e) {
        this.#handleSocketError(e as NetlinkSocketError);
      }
    }, delay);
  }

}
