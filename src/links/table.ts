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

import {
  AF_BRIDGE,
  AF_UNSPEC,
  IFF_LOWER_UP,
  IFF_UP,
  IF_OPER_UNKNOWN,
  OPER_STATE_NAMES,
} from '../rtnetlink/constants.js';
import type { LinkMessage } from '../netlink/types.js';
import type { Duplex } from '../ethtool/types.js';

/** What the ethtool client learnt from ETHTOOL_MSG_LINKMODES_GET (undefined fields: not said). */
export interface EthtoolLinkModes {
  readonly speedMbps: number | undefined;
  readonly duplex: Duplex | undefined;
  readonly autoneg: boolean | undefined;
  readonly advertisedSpeedMaxMbps: number | undefined;
}

/** What the ethtool client learnt from ETHTOOL_MSG_LINKSTATE_GET. */
export interface EthtoolLinkState {
  readonly sqi: number | undefined;
  readonly sqiMax: number | undefined;
  /** ext_state, lower-case kernel name ('no_cable', ...) */
  readonly extState: string | undefined;
  /** ext_substate named within its state */
  readonly extSubstate: string | undefined;
  /** ETHTOOL_A_LINKSTATE_EXT_DOWN_CNT: link-down events counted by the PHY or driver */
  readonly linkDownEvents: number | undefined;
}

/** A link as the table keeps it; others see it read-only (LinkState). */
interface LinkRecord {
  readonly ifindex: number;
  name: string;
  /** The netns label of the link's namespace; undefined in the exporter's own namespace. */
  netns: string | undefined;
  /** IFF_UP */
  adminUp: boolean;
  /** IFLA_CARRIER, or IFF_LOWER_UP when the attribute is absent */
  carrier: boolean;
  /** IF_OPER_* */
  operstate: number;
  mtu: number | undefined;
  address: string | undefined;
  ifalias: string | undefined;
  /** ifindex of the master device, if enslaved */
  master: number | undefined;
  /** IFLA_LINK: the lower device's (or a veth peer's) ifindex, in linkNetnsid's namespace when set */
  iflink: number | undefined;
  /** IFLA_LINK_NETNSID: the nsid of iflink's namespace when it is not the link's own */
  linkNetnsid: number | undefined;
  /** IFLA_PROTO_DOWN: a daemon holds the link protodown */
  protoDown: boolean;
  /** IFLA_PROTO_DOWN_REASON value bits; undefined when the kernel sent none */
  protoDownReason: number | undefined;
  kind: string | undefined;
  /** IFLA_PARENT_DEV_BUS_NAME ("pci", "virtio"): physical devices only */
  parentBus: string | undefined;
  /** IFLA_PARENT_DEV_NAME ("0000:03:00.0", "virtio2") */
  parentDevice: string | undefined;
  /** true when the counters below are the kernel's own */
  kernelCounters: boolean;
  carrierChanges: number;
  carrierUpChanges: number;
  carrierDownChanges: number;
  /** wall-clock ms when the table saw the latest carrier change; undefined until it saw one */
  lastChangeMs: number | undefined;
  /** ms accumulated without carrier while admin up, excluding the current open interval */
  downMsAccumulated: number;
  /** wall-clock ms when the current "admin up, no carrier" interval began, if one is open */
  downSinceMs: number | undefined;
  /** IFLA_BRPORT_STATE (BR_STATE_*) while the link is a bridge port; undefined otherwise */
  bridgePortState: number | undefined;
  // From the ethtool client (undefined until it says, and when the device or driver does not).
  /** ETHTOOL_A_LINKMODES_SPEED, Mb/s */
  speedMbps: number | undefined;
  duplex: Duplex | undefined;
  autoneg: boolean | undefined;
  /** fastest advertised link mode, Mb/s */
  advertisedSpeedMaxMbps: number | undefined;
  sqi: number | undefined;
  sqiMax: number | undefined;
  /** ETHTOOL_A_LINKSTATE_EXT_STATE name: why the link is down, as the driver says */
  downReason: string | undefined;
  /** ETHTOOL_A_LINKSTATE_EXT_SUBSTATE name */
  downReasonDetail: string | undefined;
  /** ETHTOOL_A_LINKSTATE_EXT_DOWN_CNT: the PHY's own link-down count, where the driver reports one */
  phyLinkDownEvents: number | undefined;
  /** bumped on every change of anything rendered except the down-time clock; caches key on it */
  version: number;
}

export type LinkState = Readonly<LinkRecord>;

export type CarrierWord = 'up' | 'down';

/**
 * What a change compares: a link's state just before a message changed it. Enough to tell
 * every transition the consumers look for (admin, carrier, oper, renames) and why carrier went
 * (the lower device, protodown, the master, the kernel's counters before and after).
 */
export interface LinkSnapshot {
  readonly name: string;
  readonly adminUp: boolean;
  readonly carrier: boolean;
  readonly operstate: number;
  readonly master: number | undefined;
  readonly iflink: number | undefined;
  readonly linkNetnsid: number | undefined;
  readonly protoDown: boolean;
  readonly protoDownReason: number | undefined;
  readonly bridgePortState: number | undefined;
  readonly kernelCounters: boolean;
  readonly carrierChanges: number;
  readonly carrierUpChanges: number;
  readonly carrierDownChanges: number;
}

/** A link the table did not hold (or a new device under a reused ifindex). */
export interface LinkAdded {
  readonly kind: 'added';
  readonly link: LinkState;
}

/** A known link whose state changed; `link` is its state now, `before` what it was. */
export interface LinkUpdated {
  readonly kind: 'updated';
  readonly link: LinkState;
  readonly before: LinkSnapshot;
  /** set when the carrier gauge changed or the kernel counted carrier changes */
  readonly carrier?: { readonly from: CarrierWord; readonly to: CarrierWord; readonly changes: number } | undefined;
  /** set when the link's name changed: its series move to the new device label */
  readonly renamedFrom?: string | undefined;
}

/** RTM_DELLINK of a known link. */
export interface LinkRemoved {
  readonly kind: 'removed';
  readonly link: LinkState;
}

/** A stale link dropped because another took its name (its deletion was lost in an overrun). */
export interface LinkEvicted {
  readonly kind: 'evicted';
  readonly link: LinkState;
  /** the link that now holds the name */
  readonly by: LinkState;
}

/**
 * A link whose deletion was lost (in an overrun): a complete dump did not report it, or a new
 * device took its ifindex.
 */
export interface LinkPruned {
  readonly kind: 'pruned';
  readonly link: LinkState;
}

/** Everything that changes a table, as its subscribers hear it. */
export type LinkChange = LinkAdded | LinkUpdated | LinkRemoved | LinkEvicted | LinkPruned;

/** `table`: the table that changed (one listener may hear several, see NamespaceSet.subscribeLinks). */
export type LinkChangeListener = (change: LinkChange, table: LinkTable) => void;

/** What one applied message did: the change it made (also told to subscribers), or none. */
export type ApplyResult =
  | LinkAdded
  | LinkUpdated
  | LinkRemoved
  | { readonly kind: 'unchanged'; readonly link: LinkState }
  | { readonly kind: 'ignored' };

const word = (carrier: boolean): CarrierWord => (carrier ? 'up' : 'down');

export function operStateName(value: number): string {
  return OPER_STATE_NAMES[value] ?? 'unknown';
}

function snapshot(link: LinkState): LinkSnapshot {
  return {
    name: link.name,
    adminUp: link.adminUp,
    carrier: link.carrier,
    operstate: link.operstate,
    master: link.master,
    iflink: link.iflink,
    linkNetnsid: link.linkNetnsid,
    protoDown: link.protoDown,
    protoDownReason: link.protoDownReason,
    bridgePortState: link.bridgePortState,
    kernelCounters: link.kernelCounters,
    carrierChanges: link.carrierChanges,
    carrierUpChanges: link.carrierUpChanges,
    carrierDownChanges: link.carrierDownChanges,
  };
}

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

/** Carrier: IFLA_CARRIER when present (it is reported even for admin-down links), else IFF_LOWER_UP. */
export function carrierOf(msg: LinkMessage): boolean {
  if (msg.carrier !== undefined) return msg.carrier !== 0;
  return (msg.flags & IFF_LOWER_UP) !== 0;
}

/** Current time without carrier while admin up, in seconds, including the open interval. */
export function downSeconds(link: LinkState, nowMs: number): number {
  const open = link.downSinceMs === undefined ? 0 : Math.max(0, nowMs - link.downSinceMs);
  return (link.downMsAccumulated + open) / 1000;
}

/**
 * A message for a known ifindex that describes another device: the kernel counters went
 * backwards or the link kind changed. That happens only when an RTM_DELLINK was lost and the
 * ifindex was reused; the old series must not continue into the new device's.
 */
function isDifferentDevice(link: LinkState, msg: LinkMessage): boolean {
  if (link.kernelCounters && msg.carrierChanges !== undefined && msg.carrierChanges < link.carrierChanges) return true;
  if (link.kind !== undefined && msg.infoKind !== undefined && link.kind !== msg.infoKind) return true;
  return false;
}

function createLink(msg: LinkMessage, nowMs: number, netns: string | undefined): LinkRecord {
  const adminUp = (msg.flags & IFF_UP) !== 0;
  const carrier = carrierOf(msg);
  const kernelCounters = msg.carrierChanges !== undefined;
  return {
    ifindex: msg.ifindex,
    name: msg.ifname ?? `if${msg.ifindex}`,
    netns,
    adminUp,
    carrier,
    operstate: msg.operstate ?? IF_OPER_UNKNOWN,
    mtu: msg.mtu,
    address: msg.address,
    ifalias: msg.ifalias,
    master: msg.master,
    iflink: msg.iflink,
    linkNetnsid: msg.linkNetnsid,
    protoDown: msg.protoDown !== undefined && msg.protoDown !== 0,
    protoDownReason: msg.protoDownReason,
    kind: msg.infoKind,
    parentBus: msg.parentBus,
    parentDevice: msg.parentDevice,
    kernelCounters,
    carrierChanges: msg.carrierChanges ?? 0,
    carrierUpChanges: msg.carrierUpCount ?? 0,
    carrierDownChanges: msg.carrierDownCount ?? 0,
    lastChangeMs: undefined,
    downMsAccumulated: 0,
    downSinceMs: adminUp && !carrier ? nowMs : undefined,
    bridgePortState: msg.bridgePortState,
    speedMbps: undefined,
    duplex: undefined,
    autoneg: undefined,
    advertisedSpeedMaxMbps: undefined,
    sqi: undefined,
    sqiMax: undefined,
    downReason: undefined,
    downReasonDetail: undefined,
    phyLinkDownEvents: undefined,
    version: 0,
  };
}
