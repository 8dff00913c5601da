// The capability --collector.lldp needs, checked before anything is opened so that its absence is
// one clear line rather than a failure half-way through start-up: CAP_NET_RAW, for the
// AF_PACKET socket that reads the LLDP frames.
import { fs } from '../runtime/builtins.js';

const { readFileSync } = fs;

const CAP_NET_RAW = 13;

/** The names of the capabilities --collector.lldp needs that this process does not have (CapEff). */
export function missingLldpCapabilities(status: string = readFileSync('/proc/self/status', 'utf8')): string[] {
  const hex = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(status)?.[1];
  const effective = hex === undefined ? 0n : BigInt(`0x${hex}`);
  return ((effective >> BigInt(CAP_NET_RAW)) & 1n) === 0n ? ['CAP_NET_RAW'] : [];
}
