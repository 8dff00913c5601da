// A link as the link table keeps it (LinkRecord; LinkState to everyone else), what the ethtool
// client adds to it, and the pure helpers that build, compare and read one from its messages.

import { IFF_LOWER_UP, IFF_UP, IF_OPER_UNKNOWN, OPER_STATE_NAMES } from '../rtnetlink/constants.js';
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
export interface LinkRecord {
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

/** The carrier gauge's word for a carrier flag. */
export const word = (carrier: boolean): CarrierWord => (carrier ? 'up' : 'down');

export function operStateName(value: number): string {
  return OPER_STATE_NAMES[value] ?? 'unknown';
}

export function snapshot(link: LinkState): LinkSnapshot {
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
export function isDifferentDevice(link: LinkState, msg: LinkMessage): boolean {
  if (link.kernelCounters && msg.carrierChanges !== undefined && msg.carrierChanges < link.carrierChanges) return true;
  if (link.kind !== undefined && msg.infoKind !== undefined && link.kind !== msg.infoKind) return true;
  return false;
}

export function createLink(msg: LinkMessage, nowMs: number, netns: string | undefined): LinkRecord {
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
