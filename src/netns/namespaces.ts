// The namespaces whose links are exported: the exporter's own (its table, no netns label) and one
// entry per other namespace, keyed by the nsid our namespace gives it. Pure bookkeeping: the
// discovery (discovery.ts) says which namespaces exist and what they are called, the monitor
// routes each datagram to the table of its nsid, and the renderer renders tables() in order.
//
// ifindexes and device names repeat across namespaces (every pod has an eth0), so each namespace
// has a LinkTable of its own: a link's key is (nsid, ifindex), and name uniqueness, which the table
// relies on to drop stale entries, holds within each table exactly as the kernel keeps it.

import { nameSelected, type NameFilter } from '../links/name-filter.js';
import type { LinkChangeListener } from '../links/link-change.js';
import { LinkTable } from '../links/table.js';

export interface Namespace {
  /** Our namespace's id for it (NETNSA_NSID, >= 0). */
  readonly nsid: number;
  /** The netns label: its file name under the paths, else `nsid-N`. */
  readonly label: string;
  /** Its inode (the namespace's identity, as /proc/PID/ns/net shows it), when known. */
  readonly inode: number | undefined;
  readonly table: LinkTable;
}

/** --collector.netns.include/exclude, on namespace labels. */
export type NamespaceFilter = NameFilter;

export interface NamespaceListener {
  /** A namespace is exported now (its table is empty: dump it). */
  added(ns: Namespace): void;
  /** A namespace is gone or no longer exported: its table and series are dropped. */
  removed(ns: Namespace): void;
  /** Its label or inode changed (the table is the same; its links were relabelled). */
  changed?(ns: Namespace): void;
}

export class NamespaceSet {
  readonly own: LinkTable;
  readonly #filter: NamespaceFilter;
  readonly #byNsid = new Map<number, Namespace>();
  /** nsids of namespaces that exist but are excluded by the filter: their messages are ignored. */
  readonly #excluded = new Map<number, string>();
  readonly #listeners: NamespaceListener[] = [];
  readonly #linkListeners: LinkChangeListener[] = [];
  #ordered: LinkTable[] | undefined;
  #version = 0;
  #infoVersion = 0;
  /**
   * The nsid our namespace has in itself, if it was given one (the kernel gives one when a dump
   * of another namespace reports a veth whose peer is ours): datagrams with it are our own.
   */
  selfNsid = -1;

  constructor(own: LinkTable = new LinkTable(), filter: NamespaceFilter = {}) {
    this.own = own;
    this.#filter = filter;
  }

  /** Moves whenever a namespace is added, removed or relabelled (the renderer re-reads tables()). */
  get version(): number {
    return this.#version;
  }

  /** Moves whenever anything linkstate_netns_info shows changes (a namespace, label or inode). */
  get infoVersion(): number {
    return this.#infoVersion;
  }

  /** Exported namespaces other than our own. */
  get size(): number {
    return this.#byNsid.size;
  }

  subscribe(listener: NamespaceListener): void {
    this.#listeners.push(listener);
  }

  /** Tells the listener every link change in our table and in every exported namespace's, from now on. */
  subscribeLinks(listener: LinkChangeListener): void {
    this.#linkListeners.push(listener);
    this.own.subscribe(listener);
    for (const ns of this.#byNsid.values()) ns.table.subscribe(listener);
  }

  get(nsid: number): Namespace | undefined {
    return this.#byNsid.get(nsid);
  }

  /** Every exported namespace other than our own. */
  namespaces(): IterableIterator<Namespace> {
    return this.#byNsid.values();
  }

  /** The label of a namespace known to exist, exported or excluded. */
  labelOf(nsid: number): string | undefined {
    return this.#byNsid.get(nsid)?.label ?? this.#excluded.get(nsid);
  }

  /** nsids known to exist, exported or excluded. */
  knownNsids(): number[] {
    return [...this.#byNsid.keys(), ...this.#excluded.keys()];
  }

  /**
   * Where a datagram with this nsid (from its control message; -1 when none) belongs: a table,
   * 'excluded' (a namespace the filters leave out), or undefined (an nsid nobody has told us of).
   */
  route(nsid: number): LinkTable | 'excluded' | undefined {
    if (nsid < 0 || nsid === this.selfNsid) return this.own;
    const ns = this.#byNsid.get(nsid);
    if (ns !== undefined) return ns.table;
    return this.#excluded.has(nsid) ? 'excluded' : undefined;
  }

  /** The exporter's own table first, then each namespace's, by label. */
  tables(): LinkTable[] {
    if (this.#ordered === undefined) {
      const others = [...this.#byNsid.values()].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : a.nsid - b.nsid));
      this.#ordered = [this.own, ...others.map((ns) => ns.table)];
    }
    return this.#ordered;
  }

  /** Whether the filters export a namespace of this label. */
  selected(label: string): boolean {
    return nameSelected(this.#filter, label);
  }

  /**
   * Says that the namespace with this nsid exists, under this label and inode: adds it (or, when
   * the filters leave it out, notes it as excluded), or updates what changed.
   */
  upsert(nsid: number, label: string, inode: number | undefined): void {
    if (nsid < 0 || nsid === this.selfNsid) return;
    const known = this.#byNsid.get(nsid);
    if (!this.selected(label)) {
      if (known !== undefined) this.remove(nsid);
      this.#excluded.set(nsid, label);
      return;
    }
    this.#excluded.delete(nsid);
    if (known === undefined) {
      const table = new LinkTable(label, nsid);
      for (const listener of this.#linkListeners) table.subscribe(listener);
      const ns: Namespace = { nsid, label, inode, table };
      this.#byNsid.set(nsid, ns);
      this.#changed();
      for (const listener of this.#listeners) listener.added(ns);
      return;
    }
    if (known.label === label && known.inode === inode) return;
    if (known.inode !== undefined && inode !== undefined && known.inode !== inode) {
      // Another namespace under a reused nsid (the kernel hands out the lowest free one): not a
      // rename. The old one's table goes, the new one is dumped afresh.
      this.remove(nsid);
      this.upsert(nsid, label, inode);
      return;
    }
    const updated: Namespace = { nsid, label, inode, table: known.table };
    this.#byNsid.set(nsid, updated);
    this.#infoVersion++;
    if (known.label !== label) {
      known.table.relabel(label);
      this.#changed();
    }
    for (const listener of this.#listeners) listener.changed?.(updated);
  }

  /** The namespace with this nsid is gone (or our namespace no longer has an id for it). */
  remove(nsid: number): void {
    this.#excluded.delete(nsid);
    const ns = this.#byNsid.get(nsid);
    if (ns === undefined) return;
    this.#byNsid.delete(nsid);
    this.#changed();
    for (const listener of this.#listeners) listener.removed(ns);
  }

  #changed(): void {
    this.#ordered = undefined;
    this.#version++;
    this.#infoVersion++;
  }
}
