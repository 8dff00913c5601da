// Discovery of the other network namespaces (--collector.netns): which exist, by what nsid our
// namespace knows each, and what to call it. It tells the NamespaceSet; the monitor dumps what is
// added and drops what is removed.
//
// Sources, each answered at once on a request socket of our own (nsid-requests.ts):
// - RTM_GETNSID dump: every namespace that has an nsid in ours (at start, after any overrun or
//   reopen, and every RESCAN_MS as a safety net);
// - RTNLGRP_NSID notifications, from the monitor's socket: RTM_NEWNSID / RTM_DELNSID;
// - the files under the paths (/run/netns: `ip netns`, containerd/CNI; /run/docker/netns):
//   bind mounts of namespaces, watched with inotify (path-watcher.ts). Their names become the
//   netns label (labels.ts), their inode is the namespace's identity. A named namespace without an
//   nsid is given one (RTM_NEWNSID, NETNSA_FD, nsid -1), or its link events would never reach us.
// - /proc/PID/ns/net, only for the inode of an nsid that has no name (GETNSID by NETNSA_PID).
// A namespace fd is held only for the one request that needs it: open, ask, close. A namespace
// lives while anything holds it, so an fd kept open would keep deleted namespaces, and their
// devices, alive.

import type { Stats } from 'node:fs';
import { fs } from '../runtime/builtins.js';
import type { Logger } from '../runtime/logger.js';
import type { NetnsError } from '../metrics/exporter-metrics.js';
import { decodeKernelText } from '../netlink/kernel-text.js';
import type { NsidMessage } from '../rtnetlink/nsid.js';
import type { RequestSocket } from '../netlink/request-socket.js';
import { systemClock, type Clock, type ClockTimer } from '../runtime/clock.js';
import type { NamespaceSet } from './namespaces.js';
import { chooseLabels } from './labels.js';
import { NsidRequests } from './nsid-requests.js';
import { PathWatcher } from './path-watcher.js';

const { closeSync, constants, fstatSync, openSync, readdirSync, readlinkSync, statSync } = fs;

export interface DiscoveryOptions {
  readonly namespaces: NamespaceSet;
  /** Directories whose files name namespaces, in order of preference. */
  readonly paths: readonly string[];
  readonly openRequestSocket: () => RequestSocket;
  readonly logger: Logger;
  /** Counts a discovery problem (linkstate_exporter_netns_errors_total). */
  readonly countError: (reason: NetnsError) => void;
  /** Full reconciliation interval (ms). */
  readonly rescanMs?: number;
  /** Interval of the rate limit on warnings. */
  readonly logIntervalMs?: number;
  /** The clock of the rescan, retry, debounce and directory-check timers; default the system's. */
  readonly clock?: Clock;
}

/** A startup problem the exporter cannot run with (an unreadable path directory, say). */
export class DiscoveryError extends Error {}

const RESCAN_MS = 30_000;
/** A new file under a path is often not yet a mount of a namespace: `ip netns add` creates it, then mounts. */
const NOT_YET_RETRIES_MS = [20, 50, 100, 200, 400, 400];
/** A file that is still not a namespace this long after it was first seen is one (counted once). */
const NOT_A_NAMESPACE_AFTER_MS = 750;

export class NamespaceDiscovery {
  readonly #opts: DiscoveryOptions;
  readonly #set: NamespaceSet;
  readonly #clock: Clock;
  /** The nsid requests, on a socket of their own, and the rate-limited warnings. */
  readonly #requests: NsidRequests;
  /** device number of nsfs (from our own /proc/self/ns/net): a file with it is a namespace */
  #nsfsDev = -1;
  #ownInode = -1;
  /** inode → nsid, for named namespaces and those found under /proc */
  readonly #nsidOfInode = new Map<number, number>();
  /** inotify on the path directories: a file under them appeared or went. */
  readonly #watcher: PathWatcher;
  #rescanTimer: ClockTimer | undefined;
  #retryTimer: ClockTimer | undefined;
  #retryStep = 0;
  /** Files under the paths that were not (yet) a namespace at the last scan: when first seen so. */
  readonly #notYet = new Map<string, number>();
  /** Reported once each as not_a_namespace, until they change. */
  readonly #reported = new Set<string>();
  /** nsids /proc was walked for (see #findInodesUnderProc) */
  readonly #procTried = new Set<number>();
  /** The periodic rescan is running (it walks /proc again for inodes still unknown). */
  #rescanning = false;
  #closed = false;
  #syncing = false;
  #syncAgain = false;

  constructor(opts: DiscoveryOptions) {
    this.#opts = opts;
    this.#set = opts.namespaces;
    this.#clock = opts.clock ?? systemClock;
    this.#requests = new NsidRequests({
      open: opts.openRequestSocket,
      logger: opts.logger,
      clock: this.#clock,
      logIntervalMs: opts.logIntervalMs ?? 10_000,
      countError: opts.countError,
    });
    this.#watcher = new PathWatcher(opts.paths, this.#clock, () => {
      this.#retryStep = 0;
      this.#sync();
    });
  }

  /**
   * Finds every namespace now (synchronously: the monitor dumps each before it is ready) and
   * starts watching. Throws DiscoveryError for an unreadable path directory, NetlinkSocketError
   * when the request socket cannot be opened.
   */
  start(): void {
    const own = statSync('/proc/self/ns/net');
    this.#nsfsDev = own.dev;
    this.#ownInode = own.ino;
    this.#requests.open();
    for (const dir of this.#opts.paths) {
      try {
        readdirSync(dir);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new DiscoveryError(`cannot read --collector.netns.paths directory ${dir}: ${code ?? String(error)}`);
      }
    }
    this.#sync();
    this.#watcher.check();
    this.#scheduleRescan();
  }

  close(): void {
    this.#closed = true;
    this.#watcher.close();
    for (const timer of [this.#rescanTimer, this.#retryTimer]) this.#clock.clearTimeout(timer);
    this.#requests.close();
  }

  /** RTM_NEWNSID / RTM_DELNSID of our namespace (from the monitor's socket). */
  readonly onNsidMessage = (msg: NsidMessage): void => {
    if (this.#closed || msg.nsid < 0) return;
    if (msg.kind === 'del') {
      this.#set.remove(msg.nsid);
      for (const [inode, nsid] of this.#nsidOfInode) if (nsid === msg.nsid) this.#nsidOfInode.delete(inode);
      return;
    }
    // Named now, so that its first link events find it (they follow this message on the socket).
    if (this.#set.route(msg.nsid) === undefined) this.#sync([msg.nsid]);
  };

  /**
   * A datagram came from an nsid we do not know: its RTM_NEWNSID was lost, or the namespace died
   * with datagrams still queued. Look again, at most once a second per nsid (a storm from a dead
   * namespace must not turn into a storm of scans).
   */
  readonly onUnknownNsid = (nsid: number): boolean => {
    if (this.#closed) return false;
    if (this.#set.route(nsid) !== undefined) return true;
    const now = this.#clock.now();
    if (now - (this.#unknownAskedAt.get(nsid) ?? -Infinity) < 1_000) return false;
    this.#unknownAskedAt.set(nsid, now);
    if (this.#unknownAskedAt.size > 1024) this.#unknownAskedAt.clear();
    // Our own namespace given an id of its own (the kernel does, when a dump of another namespace
    // reports a veth whose peer is ours): from then on our own events carry it. Asked at once, so
    // that not one of them is dropped.
    const selfNsid = this.#requests.ofPid(process.pid);
    if (selfNsid !== undefined && selfNsid === nsid) {
      this.#set.selfNsid = nsid;
      return true;
    }
    this.#syncSoon();
    return false;
  };

  /** Messages were lost (an overrun, a reopen): RTM_NEWNSID/RTM_DELNSID may be among them. */
  readonly onResyncAll = (): void => {
    this.#syncSoon();
  };

  readonly #unknownAskedAt = new Map<number, number>();
  #syncScheduled = false;

  /** One full sync on the next turn of the loop, however many ask for it before then. */
  #syncSoon(): void {
    if (this.#closed || this.#syncScheduled) return;
    this.#syncScheduled = true;
    setImmediate(() => {
      this.#syncScheduled = false;
      this.#sync();
    });
  }

  /**
   * Reconciles the set with the kernel: with `added` only those nsids are new (no dump of the
   * nsid list); without, the list of nsids is dumped and what is gone is removed.
   */
  #sync(added?: readonly number[]): void {
    if (this.#closed) return;
    if (this.#syncing) {
      // A sync from inside a sync (a listener): once more afterwards.
      this.#syncAgain = true;
      return;
    }
    this.#syncing = true;
    try {
      this.#syncOnce(added);
      while (this.#syncAgain && !this.#closed) {
        this.#syncAgain = false;
        this.#syncOnce();
      }
    } finally {
      this.#syncing = false;
    }
  }

  #syncOnce(added?: readonly number[]): void {
    const selfNsid = this.#requests.ofPid(process.pid);
    if (selfNsid !== undefined) this.#set.selfNsid = selfNsid;
    let nsids: Set<number>;
    if (added === undefined) {
      const listed = this.#requests.list(this.#set.selfNsid);
      if (listed === undefined) return; // counted; the next trigger tries again
      nsids = listed;
    } else {
      nsids = new Set([...this.#set.knownNsids(), ...added]);
    }
    const named = this.#scanPaths(nsids);
    const inodeOf = new Map<number, number>();
    for (const [inode, nsid] of this.#nsidOfInode) inodeOf.set(nsid, inode);
    const final = chooseLabels({
      nsids,
      self: this.#set.selfNsid,
      named,
      previous: (nsid) => this.#set.labelOf(nsid),
      inodeOf,
    });
    let unnamedWithoutInode = false;
    for (const [nsid, label] of final) {
      const inode = inodeOf.get(nsid);
      if (inode === undefined) unnamedWithoutInode = true;
      this.#set.upsert(nsid, label, inode);
    }
    if (added === undefined) {
      for (const nsid of this.#set.knownNsids()) if (!nsids.has(nsid)) this.#set.remove(nsid);
      for (const [inode, nsid] of this.#nsidOfInode) if (!nsids.has(nsid)) this.#nsidOfInode.delete(inode);
    }
    if (unnamedWithoutInode) this.#findInodesUnderProc(nsids, this.#rescanning);
    for (const nsid of this.#procTried) if (!nsids.has(nsid) && added === undefined) this.#procTried.delete(nsid);
  }

  /**
   * Reads the paths: nsid → file name for every namespace named there. A named namespace without an
   * nsid is given one and added to `nsids`. Files that are not (yet) namespaces are retried.
   */
  #scanPaths(nsids: Set<number>): Map<number, string> {
    const named = new Map<number, string>();
    const seenInodes = new Set<number>();
    const seenPaths = new Set<string>();
    let notYet = false;
    for (const dir of this.#opts.paths) {
      let entries: Buffer[];
      try {
        // As bytes: a name that is not UTF-8 must still be stat-able, and its label distinct.
        entries = readdirSync(dir, { encoding: 'buffer' });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') {
          this.#opts.countError('unreadable');
          this.#requests.log.log('cannot read a --collector.netns.paths directory', { path: dir, err: code ?? String(error) });
        }
        continue;
      }
      for (const raw of entries) {
        const name = decodeKernelText(raw);
        const rawPath = Buffer.concat([Buffer.from(`${dir}/`), raw]);
        const path = `${dir}/${name}`;
        seenPaths.add(path);
        let stats: Stats;
        try {
          stats = statSync(rawPath);
        } catch {
          continue; // gone already
        }
        if (stats.dev !== this.#nsfsDev || !stats.isFile()) {
          // `ip netns add` creates the file, then mounts the namespace on it: look again soon,
          // and only then call it not a namespace.
          notYet = true;
          const firstSeen = this.#notYet.get(path) ?? this.#clock.now();
          this.#notYet.set(path, firstSeen);
          if (this.#clock.now() - firstSeen >= NOT_A_NAMESPACE_AFTER_MS && !this.#reported.has(path)) {
            this.#reported.add(path);
            this.#opts.countError('not_a_namespace');
            this.#requests.log.log('a file under --collector.netns.paths is not a network namespace, skipped', { path });
          }
          continue;
        }
        this.#notYet.delete(path);
        this.#reported.delete(path);
        const inode = stats.ino;
        if (inode === this.#ownInode || seenInodes.has(inode)) continue; // ours, or named twice
        seenInodes.add(inode);
        let nsid = this.#nsidOfInode.get(inode);
        if (nsid === undefined || !nsids.has(nsid)) {
          nsid = this.#nsidOfFile(rawPath, stats);
          if (nsid === undefined) continue;
          this.#nsidOfInode.set(inode, nsid);
          nsids.add(nsid);
        }
        if (nsid === this.#set.selfNsid) continue;
        named.set(nsid, name);
      }
    }
    // Forget files that are gone.
    for (const path of this.#notYet.keys()) if (!seenPaths.has(path)) this.#notYet.delete(path);
    for (const path of this.#reported) if (!seenPaths.has(path)) this.#reported.delete(path);
    if (notYet) this.#retrySoon();
    else this.#retryStep = 0;
    return named;
  }

  /** The nsid of the namespace mounted at `path`, given one if it has none; undefined on failure (counted). */
  #nsidOfFile(rawPath: string | Buffer, expected: Stats): number | undefined {
    const path = rawPath.toString();
    let fd: number;
    try {
      // Non-blocking: the path is opened again after it was checked, and what is there now may
      // be a FIFO, whose open would block the event loop. It must still be the file checked.
      // (libuv opens every file O_CLOEXEC.)
      fd = openSync(rawPath, constants.O_RDONLY | constants.O_NONBLOCK);
      const now = fstatSync(fd);
      if (now.dev !== expected.dev || now.ino !== expected.ino) {
        closeSync(fd);
        return undefined; // swapped meanwhile: the next scan looks again
      }
    } catch (error) {
      this.#opts.countError('vanished');
      this.#requests.log.log('a namespace under --collector.netns.paths went away before it could be asked', { path, err: (error as NodeJS.ErrnoException).code });
      return undefined;
    }
    try {
      return this.#requests.ofFd(fd, path);
    } finally {
      closeSync(fd); // never hold a namespace
    }
  }

  /** Inodes of nsids without a name, from the processes in them (GETNSID by pid; no fd opened). */
  #findInodesUnderProc(nsids: ReadonlySet<number>, full: boolean): void {
    const wanted = new Set<number>();
    const known = new Set(this.#nsidOfInode.values());
    for (const nsid of nsids) if (!known.has(nsid) && nsid !== this.#set.selfNsid) wanted.add(nsid);
    if (wanted.size === 0) return;
    // /proc is walked for an nsid once when it appears, then only by the periodic rescan: a
    // namespace no process is in (held by a bind mount elsewhere, say) is not found there, and
    // must not cost a walk of every process at every sync.
    if (!full && [...wanted].every((nsid) => this.#procTried.has(nsid))) return;
    for (const nsid of wanted) this.#procTried.add(nsid);
    const tried = new Set<number>([this.#ownInode, ...this.#nsidOfInode.keys()]);
    let pids: string[];
    try {
      pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
    } catch {
      return;
    }
    for (const pid of pids) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/ns/net`);
      } catch {
        continue; // gone, or not ours to read
      }
      const inode = Number(/^net:\[(\d+)\]$/.exec(link)?.[1]);
      if (!Number.isSafeInteger(inode) || tried.has(inode)) continue;
      tried.add(inode);
      const nsid = this.#requests.ofPid(Number(pid));
      if (nsid === undefined || !wanted.has(nsid)) continue;
      this.#nsidOfInode.set(inode, nsid);
      wanted.delete(nsid);
      const ns = this.#set.get(nsid);
      if (ns !== undefined) this.#set.upsert(nsid, ns.label, inode);
      if (wanted.size === 0) return;
    }
  }

  #retrySoon(): void {
    if (this.#closed || this.#retryTimer !== undefined || this.#retryStep >= NOT_YET_RETRIES_MS.length) return;
    const delay = NOT_YET_RETRIES_MS[this.#retryStep++] as number;
    this.#retryTimer = this.#clock.setTimeout(() => {
      this.#retryTimer = undefined;
      this.#sync();
    }, delay);
    this.#retryTimer.unref();
  }

  #scheduleRescan(): void {
    this.#rescanTimer = this.#clock.setTimeout(() => {
      this.#rescanTimer = undefined;
      if (this.#closed) return;
      this.#watcher.check();
      this.#rescanning = true;
      try {
        this.#sync();
      } finally {
        this.#rescanning = false;
      }
      this.#scheduleRescan();
    }, this.#opts.rescanMs ?? RESCAN_MS);
    this.#rescanTimer.unref();
  }
}
