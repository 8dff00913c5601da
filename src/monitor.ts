// The monitor: subscribe → dump → receive → decode → apply. The recovery policy lives here and
// only here:
// - a datagram not from the kernel (nl_pid != 0), truncated, or that does not decode is counted
//   by reason, logged (rate-limited) and dropped;
// - ENOBUFS (overrun) is counted and answered by a fresh dump that reconciles the table; the
//   kernel's carrier counters make the reconciled counts exact;
// - a dump marked NLM_F_DUMP_INTR is repeated, and prunes nothing;
// - at most one dump is in flight; a resync asked for meanwhile runs when it completes;
// - any other socket failure closes the socket and reopens it with backoff, /-/ready reporting
//   503 until the fresh dump is applied.

import { NetlinkDecodeError, type NetlinkSocketError } from './errors.js';
import { rateLimited, type Logger, type RateLimitedLog } from './logger.js';
import { LinkTable, type ApplyResult } from './links/table.js';
import { MESSAGE_TYPES, type ExporterMetrics, type MessageType } from './metrics/exporter-metrics.js';
import {
  NLMSG_DONE,
  NLMSG_ERROR,
  NLM_F_DUMP_INTR,
  RTM_DELLINK,
  RTM_NEWLINK,
} from './netlink/constants.js';
import { decodeLink } from './netlink/link.js';
import { decodeErrorMessage, decodeMessages } from './netlink/message.js';
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
  /** First and largest delay before reopening a failed socket. */
  readonly reopenBackoffMs?: { readonly initial: number; readonly max: number };
  /** Interval of the rate limit on drop warnings. */
  readonly dropLogIntervalMs?: number;
}

export class LinkMonitor {
  readonly #opts: MonitorOptions;
  readonly #table: LinkTable;
  readonly #metrics: ExporterMetrics;
  readonly #logger: Logger;
  readonly #now: () => number;
  #socket: NetlinkSocket | undefined;
  #seq = 0;
  /** seq of the dump in flight */
  #dumpSeq: number | undefined;
  #dumpInterrupted = false;
  #resyncPending = false;
  #ready = false;
  #everReady = false;
  #closed = false;
  #reopenTimer: NodeJS.Timeout | undefined;
  #reopenDelayMs: number;
  readonly #drops: RateLimitedLog;

  constructor(opts: MonitorOptions) {
    this.#opts = opts;
    this.#table = opts.table;
    this.#metrics = opts.metrics;
    this.#logger = opts.logger;
    this.#now = opts.now ?? Date.now;
    this.#reopenDelayMs = opts.reopenBackoffMs?.initial ?? 100;
    this.#drops = rateLimited(opts.logger, opts.dropLogIntervalMs ?? 10_000, { now: this.#now });
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
    const socket = this.#socket;
    this.#socket = undefined;
    this.#drops.flush();
    await socket?.close();
  }

  #attach(socket: NetlinkSocket): void {
    this.#socket = socket;
    this.#metrics.receiveBuffer.set(socket.receiveBufferBytes);
    this.#dumpSeq = undefined;
    this.#resyncPending = false;
    socket.start((events) => {
      if (this.#socket === socket) this.handle(events);
    });
    this.#requestDump(this.#everReady);
  }

  /** Processes received events in order. Public for tests that replay recorded datagrams. */
  handle(events: readonly ReceiveEvent[]): void {
    try {
      for (const event of events) {
        if (event.kind === 'datagram') this.#handleDatagram(event.data, event.senderPid, event.truncated);
        else if (event.kind === 'overrun') this.#handleOverrun();
        else this.#handleSocketError(event.error);
      }
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
    this.#requestDump(true);
  }

  #handleDatagram(data: Buffer, senderPid: number, truncated: boolean): void {
    if (senderPid !== 0) {
      this.#drop('foreign_sender', 'dropped a netlink datagram not sent by the kernel', { sender_pid: senderPid, bytes: data.length });
      return;
    }
    if (truncated) {
      this.#drop('truncated', 'dropped a truncated netlink datagram (MSG_TRUNC)', { bytes: data.length });
      return;
    }
    let messages: NetlinkMessage[];
    try {
      messages = decodeMessages(data);
    } catch (error) {
      this.#dropDecodeError(error);
      return;
    }
    for (const msg of messages) this.#handleMessage(msg);
  }

  #handleMessage(msg: NetlinkMessage): void {
    const counts = this.#messageCounts;
    const fromOurDump = this.#dumpSeq !== undefined && msg.seq === this.#dumpSeq && msg.pid === this.#socket?.portId;
    switch (msg.type) {
      case RTM_NEWLINK:
      case RTM_DELLINK: {
        if (msg.type === RTM_NEWLINK) counts.newlink++;
        else counts.dellink++;
        if (fromOurDump && (msg.flags & NLM_F_DUMP_INTR) !== 0) this.#dumpInterrupted = true;
        let result: ApplyResult;
        try {
          result = this.#table.apply(decodeLink(msg), this.#now());
        } catch (error) {
          this.#dropDecodeError(error);
          return;
        }
        this.#logResult(result);
        return;
      }
      case NLMSG_DONE:
        counts.done++;
        if (fromOurDump) {
          if ((msg.flags & NLM_F_DUMP_INTR) !== 0) this.#dumpInterrupted = true;
          this.#finishDump();
        }
        return;
      case NLMSG_ERROR: {
        counts.error++;
        let error;
        try {
          error = decodeErrorMessage(msg);
        } catch (e) {
          this.#dropDecodeError(e);
          return;
        }
        if (this.#dumpSeq !== undefined && error.requestSeq === this.#dumpSeq) {
          // The kernel refused the dump (e.g. EBUSY). Give up this one and ask again.
          this.#logger.warn({ errno: -error.error }, 'link dump request failed, retrying');
          this.#table.endDump(false);
          this.#dumpSeq = undefined;
          this.#requestDump(true);
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
          logger.info(
            { device: result.link.name, from: result.carrier.from, to: result.carrier.to, changes: result.carrier.changes },
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
    if (this.#dumpSeq !== undefined) {
      // Never two dumps at once: the kernel would refuse the second (EBUSY). Run it afterwards.
      this.#resyncPending = true;
      return;
    }
    this.#seq = (this.#seq + 1) >>> 0 || 1;
    this.#dumpSeq = this.#seq;
    this.#dumpInterrupted = false;
    this.#table.beginDump();
    if (isResync) this.#metrics.resyncs.inc();
    try {
      socket.send(encodeLinkDumpRequest(this.#seq));
    } catch (error) {
      this.#table.endDump(false);
      this.#dumpSeq = undefined;
      this.#handleSocketError(error as NetlinkSocketError);
    }
  }

  #finishDump(): void {
    const interrupted = this.#dumpInterrupted;
    const removed = this.#table.endDump(!interrupted);
    this.#dumpSeq = undefined;
    for (const link of removed) {
      this.#logger.debug({ device: link.name, ifindex: link.ifindex }, 'link gone (missed its deletion), removed');
    }
    if (interrupted) {
      this.#metrics.dumpsInterrupted.inc();
      this.#logger.debug('link dump interrupted by concurrent changes (NLM_F_DUMP_INTR), dumping again');
      this.#requestDump(true);
      return;
    }
    if (!this.#ready) {
      this.#ready = true;
      this.#reopenDelayMs = this.#opts.reopenBackoffMs?.initial ?? 100;
      this.#logger.info({ links: this.#table.size, resync: this.#everReady }, 'link dump applied, ready');
      this.#everReady = true;
    }
    if (this.#resyncPending) {
      this.#resyncPending = false;
      this.#requestDump(true);
    }
  }

  #handleSocketError(error: NetlinkSocketError): void {
    if (this.#closed) return;
    const socket = this.#socket;
    this.#socket = undefined;
    this.#ready = false;
    this.#dumpSeq = undefined;
    if (this.#table.dumpInProgress) this.#table.endDump(false);
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

  #drop(reason: string, message: string, fields: Record<string, unknown>): void {
    this.#metrics.dropped.inc({ reason });
    this.#drops.log(message, { reason, ...fields });
  }

  #dropDecodeError(error: unknown): void {
    if (error instanceof NetlinkDecodeError) {
      this.#drop(error.reason, 'dropped a netlink message that does not decode', { err: error.message });
      return;
    }
    throw error;
  }
}
