// The JSON side of test/fixtures/ethtool: each datagram's messages as src/ethtool and
// src/netlink decode them, undefined fields dropped. Shared by scripts/record-ethtool-fixtures.ts
// (which writes it for review) and test/unit/ethtool-fixtures.test.ts (which checks it).
import { GENL_ID_CTRL } from '../../src/ethtool/constants.js';
import { decodeFamily, decodeGenlHeader } from '../../src/ethtool/genl.js';
import { decodeEthtoolMessage } from '../../src/ethtool/message.js';
import type { EthtoolMessage, GenlFamily } from '../../src/ethtool/types.js';
import { NLMSG_DONE, NLMSG_ERROR } from '../../src/netlink/constants.js';
import { decodeDoneStatus, decodeErrorMessage, decodeMessages } from '../../src/netlink/message.js';

export interface EthtoolFixtureMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  readonly genl?: { readonly cmd: number; readonly version: number };
  readonly family?: GenlFamily;
  readonly ethtool?: EthtoolMessage;
  readonly error?: { readonly error: number; readonly requestType?: number; readonly requestSeq?: number };
  readonly doneStatus?: number;
}

/** What `ethtool DEV` printed when the datagram was recorded (an independent reading). */
export interface EthtoolCliRecord {
  readonly device: string;
  readonly speed?: string;
  readonly duplex?: string;
  readonly autoneg?: string;
  readonly linkDetected?: string;
}

export interface EthtoolFixtureRecord {
  readonly step: string;
  readonly description: string;
  /** "kernel" for a recorded datagram, "uapi-built" for one built to the uapi layout. */
  readonly source: 'kernel' | 'uapi-built';
  /** The ethtool family id the datagram's messages use (dynamic: assigned at boot). */
  readonly familyId: number;
  /** The request that drew the reply, hex, when the step sent one (kernel fixtures). */
  readonly request?: string;
  readonly messages: EthtoolFixtureMessage[];
  readonly cli?: EthtoolCliRecord;
}

function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Decode every message of a fixture datagram; genl ones with the family id given. */
export function decodeEthtoolFixture(data: Buffer, familyId: number): EthtoolFixtureMessage[] {
  return decodeMessages(data).map((m) => {
    const base = { type: m.type, flags: m.flags, seq: m.seq, pid: m.pid };
    if (m.type === NLMSG_ERROR) return plain({ ...base, error: decodeErrorMessage(m) });
    if (m.type === NLMSG_DONE) return plain({ ...base, doneStatus: decodeDoneStatus(m) });
    const genl = decodeGenlHeader(m);
    if (m.type === GENL_ID_CTRL) return plain({ ...base, genl, family: decodeFamily(m) });
    return plain({ ...base, genl, ethtool: decodeEthtoolMessage(m, familyId) });
  });
}

/** The lines of `ethtool DEV` the fixtures keep. */
export function parseEthtoolCli(device: string, text: string): EthtoolCliRecord {
  const field = (label: string): string | undefined => {
    const m = new RegExp(`^\\s*${label}:\\s*(.*)$`, 'm').exec(text);
    return m?.[1]?.trim();
  };
  return plain({
    device,
    speed: field('Speed'),
    duplex: field('Duplex'),
    autoneg: field('Auto-negotiation'),
    linkDetected: field('Link detected'),
  });
}
