// The link table: ifindex → LinkState. Pure: it is fed decoded messages and a clock reading,
// it never touches sockets, timers or HTTP.
//
// Counting rule. Every RTM_NEWLINK carries the complete state of one link, including the
// kernel's own carrier counters (IFLA_CARRIER_CHANGES, IFLA_CARRIER_UP_COUNT/_DOWN_COUNT).
// linkwatch coalesces notifications, so a down/up pair can arrive as one message that shows
// no change at all; the kernel counters still moved. So the exported counters are the kernel's
// whenever the kernel sends them, and only links whose messages lack them fall back to counting
// the transitions this table observed (which is exact only when no notification was coalesced).
//
// Links change here and nowhere else: outside the table a LinkState is read-only, and each
// change bumps the versions and is told to the subscribers in one step (#commit).

import { AF_BRIDGE, AF_UNSPEC, IFF_UP, IF_OPER_UNKNOWN } from '../rtnetlink/constants.js';
import type { LinkMessage } from '../netlink/types.js';
import type { ApplyResult, LinkAdded, LinkChange, LinkChangeListener, LinkEvicted, LinkRemoved, LinkUpdated } from './link-change.js';
import {
  carrierOf,
  createLink,
  isDifferentDevice,
  snapshot,
  word,
  type EthtoolLinkModes,
  type EthtoolLinkState,
  type LinkRecord,
  type LinkState,
} from './link-record.js';

/**
 * The only place links change. Every change goes through #commit, which bumps the versions the
 * renderer's caches key on and tells the subscribers, synchronously and in order: a link never
 * changes without both.
 */
export class LinkTable {
  readonly #links = new Map<number, LinkRecord>();
  /**
   * name → ifindex. The kernel keeps names unique within a namespace at every moment, so when a
   * message gives a link a name another entry still holds, that entry is stale (its rename or
   * deletion was lost in an overrun) and is dropped: two entries with one name would render
   * duplicate series, and Prometheus rejects a scrape that has any. The resync that follows
   * every overrun brings the dropped link back under its current name if it still exists.
   */
  readonly #byName = new Map<string, number>();
  /** bumped whenever links are added, removed or renamed (membership/ordering changes) */
  #layoutVersion = 0;
  /** bumped on every change to any link's rendered state */
  #version = 0;
  #netns: string | undefined;
  readonly #nsid: number | undefined;
  /** Replaced, never changed in place: a delivery in progress keeps the list it started with. */
  #listeners: readonly LinkChangeListener[] = [];
  /** Links evicted by the change being applied: told after it. */
  #evicted: LinkEvicted[] | undefined;

  /** `netns`: the label of the namespace whose links this table holds, `nsid` its id; none for our own. */
  constructor(netns?: string, nsid?: number) {
    this.#netns = netns;
    this.#nsid = nsid;
  }

  /** The netns label of this table's links (undefined: the exporter's own namespace). */
  get netns(): string | undefined {
    return this.#netns;
  }

  /** Our namespace's id for the namespace of this table's links (undefined: our own). */
  get nsid(): number | undefined {
    return this.#nsid;
  }

  /** Tells the listener every change from now on, synchronously, in order. Returns its unsubscribe. */
  subscribe(listener: LinkChangeListener): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /** Gives the namespace a new label: every link's series move to it. */
  relabel(netns: string | undefined): void {
    if (netns === this.#netns) return;
    this.#netns = netns;
    for (const link of this.#links.values()) link.netns = netns;
    this.#bump(undefined, true);
  }

  get size(): number {
    return this.#links.size;
  }

  /** Changes whenever anything rendered changes (except the down-time clock). */
  get version(): number {
    return this.#version;
  }

  /** Changes whenever a link is added, removed or renamed. */
  get layoutVersion(): number {
    return this.#layoutVersion;
  }

  get(ifindex: number): LinkState | undefined {
    return this.#links.get(ifindex);
  }

  links(): IterableIterator<LinkState> {
    return this.#links.values();
  }

  /**
   * Removes every link not in `keep`: the set of links a complete dump reported (plus those
   * events created while it ran, see DumpSession). Their RTM_DELLINK was lost in an overrun.
   * Only a complete, uninterrupted dump may prune: a partial one would delete live links.
   */
  retainOnly(keep: ReadonlySet<number>): LinkState[] {
    const removed: LinkState[] = [];
    for (const [ifindex, link] of this.#links) {
      if (!keep.has(ifindex)) {
        this.#links.delete(ifindex);
        this.#releaseName(link);
        removed.push(link);
      }
    }
    if (removed.length === 0) return removed;
    this.#bump(undefined, true);
    if (this.#listeners.length > 0) for (const link of removed) this.#deliver({ kind: 'pruned', link });
    return removed;
  }

  /** Applies one decoded RTM_NEWLINK/RTM_DELLINK. nowMs is the wall clock at receipt. */
  apply(msg: LinkMessage, nowMs: number): ApplyResult {
    // Bridge port state (AF_BRIDGE) rides on RTMGRP_LINK too; its RTM_DELLINK means "left the
    // bridge", not "gone". Only AF_UNSPEC messages describe the link itself.
    if (msg.family === AF_BRIDGE) return this.#applyBridgePort(msg);
    if (msg.family !== AF_UNSPEC) return { kind: 'ignored' };
    if (msg.kind === 'del') {
      const link = this.#links.get(msg.ifindex);
      if (!link) return { kind: 'ignored' };
      this.#links.delete(msg.ifindex);
      this.#releaseName(link);
      return this.#commit({ kind: 'removed', link }, true);
    }
    const previous = this.#links.get(msg.ifindex);
    if (!previous || isDifferentDevice(previous, msg)) {
      const link = createLink(msg, nowMs, this.#netns);
      if (previous) {
        // The old device's deletion was lost and its ifindex reused: it is gone, told first.
        this.#releaseName(previous);
        if (this.#listeners.length > 0) this.#deliver({ kind: 'pruned', link: previous });
      }
      this.#claimName(link);
      this.#links.set(msg.ifindex, link);
      return this.#commit({ kind: 'added', link }, true);
    }
    return this.#update(previous, msg, nowMs);
  }

  /**
   * An AF_BRIDGE message: the port state of the link with that ifindex. RTM_DELLINK means the
   * port left its bridge: the state is cleared, the link stays. A port the table does not know
   * yet is ignored (its AF_UNSPEC message carries the state too).
   */
  #applyBridgePort(msg: LinkMessage): ApplyResult {
    const link = this.#links.get(msg.ifindex);
    if (!link) return { kind: 'ignored' };
    const state = msg.kind === 'del' ? undefined : (msg.bridgePortState ?? link.bridgePortState);
    if (state === link.bridgePortState) return { kind: 'unchanged', link };
    const before = snapshot(link);
    link.bridgePortState = state;
    return this.#commit({ kind: 'updated', link, before, carrier: undefined, renamedFrom: undefined }, false);
  }

  /**
   * Applies what ETHTOOL_MSG_LINKMODES_GET (or its notification) said about a link; undefined
   * clears it (the device does not support it). Returns the link, or undefined when unknown.
   */
  applyLinkModes(ifindex: number, modes: EthtoolLinkModes | undefined): LinkState | undefined {
    const link = this.#links.get(ifindex);
    if (!link) return undefined;
    const speed = modes?.speedMbps;
    const duplex = modes?.duplex;
    const autoneg = modes?.autoneg;
    const advertised = modes?.advertisedSpeedMaxMbps;
    if (link.speedMbps !== speed || link.duplex !== duplex || link.autoneg !== autoneg || link.advertisedSpeedMaxMbps !== advertised) {
      const before = snapshot(link);
      link.speedMbps = speed;
      link.duplex = duplex;
      link.autoneg = autoneg;
      link.advertisedSpeedMaxMbps = advertised;
      this.#commit({ kind: 'updated', link, before, carrier: undefined, renamedFrom: undefined }, false);
    }
    return link;
  }

  /** Applies what ETHTOOL_MSG_LINKSTATE_GET said about a link; undefined clears it. */
  applyLinkState(ifindex: number, state: EthtoolLinkState | undefined): LinkState | undefined {
    const link = this.#links.get(ifindex);
    if (!link) return undefined;
    const sqi = state?.sqi;
    const sqiMax = state?.sqiMax;
    const reason = state?.extState;
    const detail = state?.extSubstate;
    const downEvents = state?.linkDownEvents;
    if (
      link.sqi !== sqi ||
      link.sqiMax !== sqiMax ||
      link.downReason !== reason ||
      link.downReasonDetail !== detail ||
      link.phyLinkDownEvents !== downEvents
    ) {
      const before = snapshot(link);
      link.sqi = sqi;
      link.sqiMax = sqiMax;
      link.downReason = reason;
      link.downReasonDetail = detail;
      link.phyLinkDownEvents = downEvents;
      this.#commit({ kind: 'updated', link, before, carrier: undefined, renamedFrom: undefined }, false);
    }
    return link;
  }

  /**
   * The one step of every change: bumps the versions (layout too when links came, went or were
   * renamed), tells the subscribers, then tells them of the links the change evicted.
   */
  #commit<C extends LinkAdded | LinkUpdated | LinkRemoved>(change: C, layout: boolean): C {
    this.#bump(change.kind === 'updated' ? change.link : undefined, layout);
    if (this.#listeners.length > 0) this.#deliver(change);
    const evicted = this.#evicted;
    if (evicted !== undefined) {
      this.#evicted = undefined;
      if (this.#listeners.length > 0) for (const gone of evicted) this.#deliver(gone);
    }
    return change;
  }

  #bump(link: LinkRecord | undefined, layout: boolean): void {
    if (link !== undefined) link.version++;
    this.#version++;
    if (layout) this.#layoutVersion++;
  }

  #deliver(change: LinkChange): void {
    for (const listener of this.#listeners) listener(change, this);
  }

  /** Records link.name as link's, dropping a stale entry that still held it. */
  #claimName(link: LinkRecord): void {
    const holder = this.#byName.get(link.name);
    if (holder !== undefined && holder !== link.ifindex) {
      const stale = this.#links.get(holder);
      this.#links.delete(holder);
      if (stale !== undefined) (this.#evicted ??= []).push({ kind: 'evicted', link: stale, by: link });
    }
    this.#byName.set(link.name, link.ifindex);
  }

  #releaseName(link: LinkRecord): void {
    if (this.#byName.get(link.name) === link.ifindex) this.#byName.delete(link.name);
  }

  #update(link: LinkRecord, msg: LinkMessage, nowMs: number): ApplyResult {
    const renamed = msg.ifname !== undefined && msg.ifname !== link.name;
    const adminUp = (msg.flags & IFF_UP) !== 0;
    const carrier = carrierOf(msg);
    const operstate = msg.operstate ?? IF_OPER_UNKNOWN;
    const protoDown = msg.protoDown !== undefined && msg.protoDown !== 0;
    const fromCarrier = link.carrier;

    // Carrier changes the kernel counted since the previous message (coalesced ones included).
    let counted: number;
    if (msg.carrierChanges !== undefined) {
      counted = msg.carrierChanges - link.carrierChanges;
      if (!link.kernelCounters) counted = carrier !== fromCarrier ? 1 : 0;
    } else {
      counted = carrier !== fromCarrier ? 1 : 0;
    }
    // The counters after this message: the kernel's when it sends them; before Linux 4.16 there
    // are no up/down counts, and they are derived from the state we saw.
    let changes = link.carrierChanges;
    let ups = link.carrierUpChanges;
    let downs = link.carrierDownChanges;
    if (msg.carrierChanges !== undefined) {
      changes = msg.carrierChanges;
      if (msg.carrierUpCount !== undefined && msg.carrierDownCount !== undefined) {
        ups = msg.carrierUpCount;
        downs = msg.carrierDownCount;
      } else if (carrier !== fromCarrier) {
        if (carrier) ups++;
        else downs++;
      }
    } else if (carrier !== fromCarrier) {
      changes++;
      if (carrier) ups++;
      else downs++;
    }
    const kernelCounters = link.kernelCounters || msg.carrierChanges !== undefined;
    const carrierEvent = carrier !== fromCarrier || counted > 0;

    if (
      !renamed &&
      !carrierEvent &&
      link.adminUp === adminUp &&
      link.operstate === operstate &&
      link.kernelCounters === kernelCounters &&
      link.carrierChanges === changes &&
      link.carrierUpChanges === ups &&
      link.carrierDownChanges === downs &&
      (msg.mtu === undefined || link.mtu === msg.mtu) &&
      (msg.address === undefined || link.address === msg.address) &&
      link.ifalias === msg.ifalias &&
      link.master === msg.master &&
      (msg.infoKind === undefined || link.kind === msg.infoKind) &&
      link.bridgePortState === msg.bridgePortState &&
      link.parentBus === msg.parentBus &&
      link.parentDevice === msg.parentDevice &&
      link.iflink === msg.iflink &&
      link.linkNetnsid === msg.linkNetnsid &&
      link.protoDown === protoDown &&
      link.protoDownReason === msg.protoDownReason
    ) {
      return { kind: 'unchanged', link };
    }

    const before = snapshot(link);
    let renamedFrom: string | undefined;
    if (renamed) {
      renamedFrom = link.name;
      this.#releaseName(link);
      link.name = msg.ifname as string;
      this.#claimName(link);
    }
    link.kernelCounters = kernelCounters;
    link.carrierChanges = changes;
    link.carrierUpChanges = ups;
    link.carrierDownChanges = downs;
    if (carrierEvent) link.lastChangeMs = nowMs;

    // Time without carrier while administratively up.
    const wasDown = link.downSinceMs !== undefined;
    const isDown = adminUp && !carrier;
    if (wasDown && !isDown) {
      link.downMsAccumulated += Math.max(0, nowMs - (link.downSinceMs as number));
      link.downSinceMs = undefined;
    } else if (!wasDown && isDown) {
      link.downSinceMs = nowMs;
    }

    link.adminUp = adminUp;
    link.carrier = carrier;
    link.operstate = operstate;
    if (msg.mtu !== undefined) link.mtu = msg.mtu;
    // Strings are stored only when they differ: each message decodes fresh (equal) ones, and
    // storing those in the long-lived link would keep every message's strings alive past the
    // young generation (a storm's garbage promoted, and the scavenger's remembered set grown).
    if (msg.address !== undefined && link.address !== msg.address) link.address = msg.address;
    // IFLA_IFALIAS, IFLA_MASTER, IFLA_LINK and the protodown reason are sent only when set:
    // absence means cleared.
    if (link.ifalias !== msg.ifalias) link.ifalias = msg.ifalias;
    link.master = msg.master;
    link.iflink = msg.iflink;
    link.linkNetnsid = msg.linkNetnsid;
    link.protoDown = protoDown;
    link.protoDownReason = msg.protoDownReason;
    if (msg.infoKind !== undefined && link.kind !== msg.infoKind) link.kind = msg.infoKind;
    // Sent in every message of a device that has a parent: absence means none.
    if (link.parentBus !== msg.parentBus) link.parentBus = msg.parentBus;
    if (link.parentDevice !== msg.parentDevice) link.parentDevice = msg.parentDevice;
    // The AF_UNSPEC message of a bridge port carries its state (IFLA_INFO_SLAVE_DATA); one
    // without it is not (or no longer) a bridge port.
    link.bridgePortState = msg.bridgePortState;

    // Every key set at once: one object shape for every update, whatever it changed.
    const change: LinkUpdated = {
      kind: 'updated',
      link,
      before,
      carrier: carrierEvent ? { from: word(fromCarrier), to: word(carrier), changes: Math.max(counted, 1) } : undefined,
      renamedFrom,
    };
    return this.#commit(change, renamed);
  }
}
