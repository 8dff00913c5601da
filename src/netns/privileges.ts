// The capabilities --collector.netns needs, checked before anything is opened so that a missing
// one is one clear line rather than a failure half-way through start-up:
// - CAP_NET_BROADCAST: NETLINK_LISTEN_ALL_NSID (receive other namespaces' link events);
// - CAP_NET_ADMIN: RTM_NEWNSID (give a named namespace an nsid) and the link dumps of other
//   namespaces (IFLA_TARGET_NETNSID).
import { fs } from '../runtime/builtins.js';

const { readFileSync } = fs;

const CAP_NET_BROADCAST = 11;
const CAP_NET_ADMIN = 12;

export const NETNS_CAPABILITIES: ReadonlyArray<readonly [string, number]> = [
  ['CAP_NET_ADMIN', CAP_NET_ADMIN],
  ['CAP_NET_BROADCAST', CAP_NET_BROADCAST],
];

/** The names of the capabilities --collector.netns needs that this process does not have (CapEff). */
export function missingNetnsCapabilities(status: string = readFileSync('/proc/self/status', 'utf8')): string[] {
  const hex = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(status)?.[1];
  const effective = hex === undefined ? 0n : BigInt(`0x${hex}`);
  return NETNS_CAPABILITIES.filter(([, bit]) => ((effective >> BigInt(bit)) & 1n) === 0n).map(([name]) => name);
}
