// The shape of test/fixtures/netlink/*.json (written by scripts/record-fixtures.ts) and the
// decode it records for each datagram.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { RTM_DELLINK, RTM_NEWLINK } from '../../src/rtnetlink/constants.js';
import { decodeLink } from '../../src/rtnetlink/link.js';
import { decodeDoneStatus, decodeErrorMessage, decodeMessages, isDone, isError } from '../../src/netlink/message.js';
import type { LinkMessage, NetlinkErrorMessage } from '../../src/netlink/types.js';

/** One decoded message as stored in the .json. */
export interface RecordedMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  /** ifi_family of RTM_NEWLINK/RTM_DELLINK: 0 (AF_UNSPEC) for links, 7 (AF_BRIDGE) for bridge port info. */
  readonly family?: number;
  /** decodeLink, without the keys it leaves undefined. */
  readonly link?: LinkMessage;
  readonly error?: NetlinkErrorMessage;
  readonly doneStatus?: number;
}

/** `ip -j -d link show` of one device, trimmed to what the decode is compared with. */
export interface IpRecord {
  readonly ifindex: number;
  readonly ifname: string;
  readonly flags: string[];
  readonly mtu: number;
  readonly operstate: string;
  readonly address?: string;
  readonly ifalias?: string;
  /** Name of the master device. */
  readonly master?: string;
  /** linkinfo.info_kind */
  readonly info_kind?: string;
  // Recorded since the causes scenario (older records lack them):
  /** Name of the lower device or veth peer (IFLA_LINK) in this namespace; null when ip shows none. */
  readonly link?: string | null;
  /** IFLA_LINK when the device is in another namespace (ip then shows no name). */
  readonly link_index?: number;
  readonly link_netnsid?: number;
  /** IFLA_PROTO_DOWN on. */
  readonly proto_down?: boolean;
  /** The protodown reason bits set, by name (their numbers when /etc/iproute2 names none). */
  readonly proto_down_reason?: string[];
}

export interface FixtureRecord {
  /** The recorder step that produced the datagram (several datagrams share a step). */
  readonly step: string;
  readonly description: string;
  /**
   * Absent for a kernel capture; 'uapi-built' for bytes built to the uapi layout (file name
   * uapi-built-*), whose messages are the decode written by hand and whose ip is empty.
   */
  readonly source?: 'uapi-built';
  /** nl_pid of the sender from recvmsg: 0 for the kernel. */
  readonly senderPid: number;
  readonly truncated: boolean;
  readonly messages: RecordedMessage[];
  /** Every device in the namespace once the step had settled. */
  readonly ip: IpRecord[];
}

/** The decode of one datagram as the fixtures record it (JSON-shaped: no undefined keys). */
export function decodeFixtureMessages(data: Buffer): RecordedMessage[] {
  const decoded = decodeMessages(data).map((m): RecordedMessage => {
    const header = { type: m.type, flags: m.flags, seq: m.seq, pid: m.pid };
    if (m.type === RTM_NEWLINK || m.type === RTM_DELLINK) {
      // family is recorded beside the link (the recordings predate LinkMessage.family)
      const { family, ...link } = decodeLink(m);
      return { ...header, family, link: link as LinkMessage };
    }
    if (isError(m)) return { ...header, error: decodeErrorMessage(m) };
    if (isDone(m)) return { ...header, doneStatus: decodeDoneStatus(m) };
    return header;
  });
  return JSON.parse(JSON.stringify(decoded)) as RecordedMessage[];
}

/**
 * Writes a fixture built to the kernel's uapi layout as `<base>.bin` and `<base>.json` in
 * `outDir`. The decoder's reading is a check for the author, not the source of the expectation:
 * where it disagrees with `expected` it is printed and false is returned.
 */
export function writeBuiltFixture(outDir: string, base: string, data: Buffer, record: object, decoded: unknown, expected: unknown): boolean {
  const agrees = isDeepStrictEqual(JSON.parse(JSON.stringify(decoded)), JSON.parse(JSON.stringify(expected)));
  if (!agrees) console.error(`decoder disagrees with ${base}:\n${JSON.stringify(decoded, null, 2)}`);
  writeFileSync(join(outDir, `${base}.bin`), data);
  writeFileSync(join(outDir, `${base}.json`), JSON.stringify(record, null, 2) + '\n');
  return agrees;
}
