// Which link dump runs next on the monitor's one socket, and what follows the end of each. One
// entry per namespace (our own and each exported one), keyed by the namespace's table, holds all
// the scheduler knows of it: its retry backoff, whether it was dumped on this socket or ever,
// whether a dump of it has ended at all. The rules (see link-monitor.ts for the why):
// - one dump in flight; a dump asked for meanwhile waits in a queue, in the order asked;
// - none starts after an overrun until the socket has been read empty (congested);
// - a complete dump prunes its namespace's table; an interrupted or failed one is repeated after
//   that namespace's own backoff, without holding up the others;
// - a dump with no reply for a whole stall interval is given up and repeated;
// - ready once our namespace has had a complete dump and every other namespace an attempt.

import { Backoff, type NetlinkClient } from '../netlink/client.js';
import type { NetlinkSocketError } from '../netlink/errors.js';
import type { NetlinkSocket } from '../netlink/socket.js';
import type { LinkTable } from '../links/table.js';
import type { ExporterMetrics } from '../metrics/exporter-metrics.js';
import type { Namespace, NamespaceSet } from '../netns/namespaces.js';
import type { Clock, ClockTimer } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import { DumpSession, type DumpEnd } from './dump-session.js';
import { encodeLinkDumpRequest } from './request.js';

/** What the scheduler knows of one namespace. */
interface NamespaceDumps {
  /** undefined: our own namespace; else the nsid our namespace knows it by (IFLA_TARGET_NETNSID). */
  readonly nsid: number | undefined;
  /** The table its dumps fill; a namespace gone (or an nsid reused) is another table. */
  readonly table: LinkTable;
  /** After a failed or interrupted dump: the timer of the repeat (undefined once it ran), and the delays. */
  retry: { timer: ClockTimer | undefined; readonly backoff: Backoff } | undefined;
  /** A complete dump was applied on the current socket. */
  dumped: boolean;
  /** Dumped before, on any socket: its next dump is a resync. */
  everDumped: boolean;
  /**
   * Other namespaces: a dump of it ended on the current socket, complete, interrupted or failed.
   * Readiness waits for each one's first attempt, not its success: a namespace whose dumps keep
   * failing is counted, logged and retried, and must not keep the exporter unready.
   */
  attempted: boolean;
}

export interface DumpSchedulerOptions {
  readonly namespaces: NamespaceSet;
  /** The monitor's socket, sequence numbers and warnings. */
  readonly client: NetlinkClient<NetlinkSocket>;
  readonly metrics: ExporterMetrics;
  readonly logger: Logger;
  readonly clock: Clock;
  /** First and largest delay before repeating a failed dump. */
  readonly backoff: { readonly initial: number; readonly max: number };
  /** A dump with no reply for this long is given up (without pruning) and asked for again. */
  readonly stallMs: number;
  /** Sending a dump request failed: the socket is broken. */
  readonly onSocketError: (error: NetlinkSocketError) => void;
}

export class DumpScheduler {
  readonly #opts: DumpSchedulerOptions;
  readonly #namespaces: NamespaceSet;
  readonly #clock: Clock;
  /** Every namespace followed, by its table. */
  readonly #states = new Map<LinkTable, NamespaceDumps>();
  /** Namespaces waiting for a dump that could not start yet, in the order asked. */
  readonly #queue = new Set<NamespaceDumps>();
  /** The dump in flight and the namespace it is of. */
  #inFlight: { readonly dump: DumpSession; readonly state: NamespaceDumps } | undefined;
  #watchdog: ClockTimer | undefined;
  #congested = false;
  #ready = false;
  #everReady = false;

  constructor(opts: DumpSchedulerOptions) {
    this.#opts = opts;
    this.#namespaces = opts.namespaces;
    this.#clock = opts.clock;
  }

  /** A complete dump of our namespace, and an attempt at every other, on the current socket. */
  get ready(): boolean {
    return this.#ready;
  }

  /** Ready at least once before (on any socket). */
  get everReady(): boolean {
    return this.#everReady;
  }

  /** The dump in flight, if any. */
  get dump(): DumpSession | undefined {
    return this.#inFlight?.dump;
  }

  /** An overrun was seen and the socket has not been read empty since: losses go unreported. */
  get congested(): boolean {
    return this.#congested;
  }

  /**
   * The table the in-flight dump's replies go to; undefined when its namespace went away
   * meanwhile (also when its nsid now names another namespace: the kernel reuses the lowest free
   * nsid).
   */
  dumpTable(): LinkTable | undefined {
    const state = this.#inFlight?.state;
    return state === undefined ? undefined : this.#currentTable(state);
  }

  /** True when a resync of the namespace `route` leads to can be counted on: its dumps work. */
  supersedes(route: LinkTable | 'excluded' | undefined): boolean {
    if (route === undefined || route === 'excluded') return true; // nothing to apply anyway
    const state = this.#states.get(route);
    return state !== undefined && state.dumped && state.retry === undefined;
  }

  /** A fresh socket: nothing is dumped on it yet; every namespace wants a dump, our own first. */
  attach(): void {
    this.#inFlight = undefined;
    this.#congested = false;
    this.#queue.clear();
    for (const state of this.#states.values()) {
      state.dumped = false;
      state.attempted = false;
    }
    this.#queueAll();
    this.#pump();
  }

  /** The socket failed: not ready; the dump in flight ends without pruning, no repeat waits. */
  detach(): void {
    this.#ready = false;
    if (this.#inFlight !== undefined) this.end(this.#inFlight.dump.aborted());
    this.#clearRetries();
  }

  /** Notifications of any namespace were lost: the dump in flight is followed by another, and every namespace is dumped again once the socket is read empty. */
  overrun(): void {
    this.#inFlight?.dump.requestAnother();
    this.#congested = true;
    this.#queueAll();
  }

  /** A batch of received events was handled; `drained`: the socket was read empty after it. */
  afterBatch(drained: boolean): void {
    if (drained) this.#congested = false;
    if (this.#queue.size > 0 && !this.#congested) this.#pump();
  }

  /** A namespace is exported now: dump it. */
  added(ns: Namespace): void {
    this.#queue.add(this.#stateOf(ns.nsid, ns.table));
    this.#pump();
  }

  /** A namespace went away: nothing of it is waited for any more. */
  removed(ns: Namespace): void {
    const state = this.#states.get(ns.table);
    if (state !== undefined) {
      this.#clock.clearTimeout(state.retry?.timer);
      this.#states.delete(ns.table);
      this.#queue.delete(state);
    }
    // A dump of it in flight ends as it ends; its replies have no table to go to.
    this.#checkReady();
  }

  close(): void {
    this.#clearRetries();
    this.#clock.clearTimeout(this.#watchdog);
  }

  /** Applies how the dump in flight ended; asks for the next one when it must. */
  end(end: DumpEnd): void {
    const inFlight = this.#inFlight;
    this.#inFlight = undefined;
    this.#clock.clearTimeout(this.#watchdog);
    this.#watchdog = undefined;
    if (inFlight === undefined) return;
    const { state } = inFlight;
    const table = this.#currentTable(state);
    switch (end.kind) {
      case 'complete': {
        // Pruned only when nothing was lost while it ran; else the dump asked for next prunes.
        if (!end.again && table !== undefined) table.retainOnly(end.seen);
        state.retry = undefined;
        if (table !== undefined) {
          state.dumped = true;
          state.everDumped = true;
          if (end.again) this.#queue.add(state);
        }
        this.#checkReady();
        break;
      }
      // An interrupted dump (NLM_F_DUMP_INTR: the dumped namespace's links changed while it ran)
      // is repeated after the same backoff as a failed one, so a tenant churning its links cannot
      // loop it, and counts as that namespace's attempt for readiness (its replies are applied).
      // Our own namespace still needs a complete dump: only the host's own changes interrupt it.
      case 'interrupted':
      case 'failed': {
        if (end.kind === 'interrupted') this.#opts.metrics.dumpsInterrupted.inc();
        else this.#opts.metrics.dumpFailures.inc({ reason: end.reason });
        if (end.kind === 'failed' && end.reason === 'socket_error') return; // the reopen asks for fresh dumps
        if (table === undefined) break; // its namespace is gone: nothing to repeat
        if (state.nsid !== undefined) {
          state.attempted = true;
          this.#checkReady();
        }
        this.#retryLater(state, end);
        if (end.again) this.#queue.add(state);
        break;
      }
    }
    this.#pump();
  }

  #retryLater(state: NamespaceDumps, end: Extract<DumpEnd, { kind: 'interrupted' | 'failed' }>): void {
    const retry = (state.retry ??= { timer: undefined, backoff: new Backoff(this.#opts.backoff.initial, this.#opts.backoff.max) });
    const delay = retry.backoff.next();
    const where = state.nsid === undefined ? {} : { nsid: state.nsid, ...(state.table.netns === undefined ? {} : { netns: state.table.netns }) };
    if (end.kind === 'interrupted') {
      this.#opts.logger.debug({ ...where, retry_in_ms: delay }, 'link dump interrupted by concurrent changes (NLM_F_DUMP_INTR), dumping again');
    } else {
      this.#opts.client.log.log('link dump failed, nothing pruned; dumping again', {
        ...where,
        reason: end.reason,
        ...(end.errno === undefined ? {} : { errno: end.errno }),
        retry_in_ms: delay,
      });
    }
    retry.timer = this.#clock.setTimeout(() => {
      retry.timer = undefined;
      if (this.#opts.client.closed) return;
      this.#queue.add(state);
      this.#pump();
    }, delay);
  }

  /** The table of the namespace `state` is of, if that namespace is still the one its nsid names. */
  #currentTable(state: NamespaceDumps): LinkTable | undefined {
    const now = state.nsid === undefined ? this.#namespaces.own : this.#namespaces.get(state.nsid)?.table;
    return now === state.table ? now : undefined;
  }

  #stateOf(nsid: number | undefined, table: LinkTable): NamespaceDumps {
    let state = this.#states.get(table);
    if (state === undefined) {
      state = { nsid, table, retry: undefined, dumped: false, everDumped: false, attempted: false };
      this.#states.set(table, state);
    }
    return state;
  }

  /** Every namespace wants a dump, our own first. */
  #queueAll(): void {
    this.#queue.add(this.#stateOf(undefined, this.#namespaces.own));
    for (const ns of this.#namespaces.namespaces()) this.#queue.add(this.#stateOf(ns.nsid, ns.table));
  }

  #clearRetries(): void {
    for (const state of this.#states.values()) {
      this.#clock.clearTimeout(state.retry?.timer);
      state.retry = undefined;
    }
  }

  /** Starts the next queued dump, unless one is in flight or the socket is congested. */
  #pump(): void {
    const socket = this.#opts.client.socket;
    // Never two dumps at once: the kernel would refuse the second (EBUSY). It runs afterwards.
    if (!socket || this.#inFlight !== undefined || this.#opts.client.closed) return;
    // Not before the socket has been read empty (see link-monitor.ts): afterBatch() pumps then.
    if (this.#congested) return;
    for (const state of this.#queue) {
      this.#queue.delete(state);
      if (this.#states.get(state.table) !== state) continue; // gone meanwhile
      if (state.retry?.timer !== undefined) continue; // its backoff asks again
      this.#start(socket, state);
      return;
    }
  }

  #start(socket: NetlinkSocket, state: NamespaceDumps): void {
    // A namespace's first dump is not a resync (nor is our own first, at start).
    const isResync = state.everDumped;
    const dump = new DumpSession(this.#opts.client.seq.next(), socket.portId, isResync, state.nsid ?? -1);
    this.#inFlight = { dump, state };
    if (isResync) this.#opts.metrics.resyncs.inc();
    try {
      socket.send(encodeLinkDumpRequest(dump.seq, state.nsid));
    } catch (error) {
      this.#inFlight = undefined;
      this.#opts.onSocketError(error as NetlinkSocketError);
      return;
    }
    this.#watch(dump, 0);
  }

  /** Gives the dump up when a whole interval passes without a reply (only while one runs). */
  #watch(dump: DumpSession, repliesBefore: number): void {
    this.#clock.clearTimeout(this.#watchdog);
    this.#watchdog = this.#clock.setTimeout(() => {
      this.#watchdog = undefined;
      if (this.#inFlight?.dump !== dump || dump.ended !== undefined) return;
      if (dump.replies > repliesBefore) {
        this.#watch(dump, dump.replies);
        return;
      }
      this.end(dump.stalled());
    }, this.#opts.stallMs);
    this.#watchdog.unref();
  }

  #checkReady(): void {
    if (this.#ready || this.#states.get(this.#namespaces.own)?.dumped !== true) return;
    for (const ns of this.#namespaces.namespaces()) {
      const state = this.#states.get(ns.table);
      if (state === undefined || (!state.dumped && !state.attempted)) return;
    }
    this.#ready = true;
    this.#opts.client.recovered();
    let links = this.#namespaces.own.size;
    for (const ns of this.#namespaces.namespaces()) links += ns.table.size;
    this.#opts.logger.info(
      { links, ...(this.#namespaces.size === 0 ? {} : { namespaces: this.#namespaces.size + 1 }), resync: this.#everReady },
      'link dump applied, ready',
    );
    this.#everReady = true;
  }
}
