// Records netlink fixtures from the real kernel (run as root: `npm run record-fixtures`).
//
// Two scenarios, each in a throwaway network namespace of its own, where it opens the exporter's
// own socket (RTMGRP_LINK):
// - veth: dumps the links (only lo exists yet), then drives a veth pair through add, up, peer
//   down (carrier lost), peer up, alias, mtu, rename, enslaving to a bridge and delete, plus a
//   request the kernel refuses (NLMSG_ERROR) and a datagram forged by another user-space socket.
//   Files NN-step-what.
// - causes: why a link loses carrier. A tap held open (TUNSETIFF) with a macvlan on it; the tap's
//   carrier off and on (the macvlan LOWERLAYERDOWN meanwhile); the macvlan set protodown, with a
//   reason bit, and back; a bridge that loses its last port (NO-CARRIER, DOWN, admin up); the tap
//   let go of (no reader: no carrier). Files causes-NN-step-what.
// Every received datagram becomes test/fixtures/netlink/<file>.bin, and beside it <file>.json:
// { step, description, senderPid, truncated, messages: [decoded], ip: [`ip -j -d link show`
// of the namespace once the step settled, trimmed] }. The decode is recorded as this tree's
// decoder sees it, for review; test/unit/fixtures.test.ts checks that it stays so and that it
// agrees with iproute2.
//
// Built part: RTM_NEWLINK messages with IFLA_PARENT_DEV_NAME / IFLA_PARENT_DEV_BUS_NAME, which no
// device a test namespace can hold has, built to the uapi layout (if_link.h, rtnl_fill_ifinfo)
// as uapi-built-*.bin; their JSON holds the decode written by hand, not the decoder's output.
//
// Options: `--scenario veth|causes` (repeatable; default both) records only those and leaves the
// other scenario's files alone; `--built-only` rewrites only the uapi-built files (no root);
// `--redecode` rewrites the recorded decode ("messages") of every kernel capture from its .bin
// with this tree's decoder, keeping the bytes and the ip snapshot (after a decoder change: review
// the diff).
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AF_NETLINK,
  NETLINK_ROUTE,
  NLMSG_HDRLEN,
  NLM_F_REQUEST,
  SOCK_CLOEXEC,
  SOCK_RAW,
} from '../src/netlink/constants.js';
import {
  IFINFOMSG_LEN,
  IFLA_ADDRESS,
  IFLA_CARRIER,
  IFLA_CARRIER_CHANGES,
  IFLA_CARRIER_DOWN_COUNT,
  IFLA_CARRIER_UP_COUNT,
  IFLA_IFNAME,
  IFLA_MTU,
  IFLA_OPERSTATE,
  IFLA_PARENT_DEV_BUS_NAME,
  IFLA_PARENT_DEV_NAME,
  IFLA_PROTO_DOWN,
  IF_OPER_DOWN,
  IF_OPER_UP,
  RTMGRP_LINK,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
} from '../src/rtnetlink/constants.js';
import { libc, lastErrno } from '../src/netlink/libc.js';
import { encodeLinkDumpRequest } from '../src/rtnetlink/request.js';
import type { LinkMessage } from '../src/netlink/types.js';
import { openLinkSocket, type ReceiveEvent } from '../src/netlink/socket.js';
import { decodeFixtureMessages, writeBuiltFixture, type FixtureRecord, type IpRecord, type RecordedMessage } from '../test/helpers/fixture-record.js';
import { addressBytes, ifinfomsg, nlmsg, rtattr, stringAttr, u32Attr, u8Attr } from '../test/helpers/netlink-bytes.js';
import { createNetns, enterNetns, type Netns } from '../test/helpers/netns.js';
import { holdTap } from '../test/helpers/tap.js';

// dist/scripts/record-fixtures.js → <repo>/test/fixtures/netlink
const OUT_DIR = fileURLToPath(new URL('../../test/fixtures/netlink/', import.meta.url));
/** Quiet time that ends a step: linkwatch delays non-urgent events (bridges) by up to 1 s. */
const QUIET_MS = 1300;
const DUMP_SEQ = 1;
const GETLINK_SEQ = 2;

async function ipRecords(netns: Netns): Promise<IpRecord[]> {
  const raw = JSON.parse(await netns.run('ip', ['-j', '-d', 'link', 'show'])) as Record<string, unknown>[];
  return raw.map((d) => {
    const linkinfo = d['linkinfo'] as { info_kind?: string } | undefined;
    const record: IpRecord = {
      ifindex: d['ifindex'] as number,
      ifname: d['ifname'] as string,
      flags: d['flags'] as string[],
      mtu: d['mtu'] as number,
      operstate: d['operstate'] as string,
      ...(typeof d['address'] === 'string' ? { address: d['address'] } : {}),
      ...(typeof d['ifalias'] === 'string' ? { ifalias: d['ifalias'] } : {}),
      ...(typeof d['master'] === 'string' ? { master: d['master'] } : {}),
      ...(linkinfo?.info_kind !== undefined ? { info_kind: linkinfo.info_kind } : {}),
      // the lower device or peer by name (null: ip shows none), or by index in another namespace
      link: typeof d['link'] === 'string' ? d['link'] : null,
      ...(typeof d['link_index'] === 'number' ? { link_index: d['link_index'] } : {}),
      ...(typeof d['link_netnsid'] === 'number' ? { link_netnsid: d['link_netnsid'] } : {}),
      proto_down: d['proto_down'] === true,
      ...(Array.isArray(d['proto_down_reason']) ? { proto_down_reason: d['proto_down_reason'] as string[] } : {}),
    };
    return record;
  });
}

/** RTM_GETLINK for one ifindex (not a dump): the kernel answers NLMSG_ERROR -ENODEV if it is missing. */
function encodeGetLinkRequest(seq: number, ifindex: number): Buffer {
  const buf = Buffer.alloc(NLMSG_HDRLEN + IFINFOMSG_LEN);
  buf.writeUInt32LE(buf.length, 0);
  buf.writeUInt16LE(RTM_GETLINK, 4);
  buf.writeUInt16LE(NLM_F_REQUEST, 6);
  buf.writeUInt32LE(seq, 8);
  buf.writeInt32LE(ifindex, NLMSG_HDRLEN + 4);
  return buf;
}

/** Sends `bytes` to `portId` from a fresh user-space netlink socket; returns that socket's port id. */
function forge(portId: number, bytes: Buffer): number {
  const fd = libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) throw new Error(`socket: errno ${lastErrno()}`);
  try {
    const to = Buffer.alloc(12);
    to.writeUInt16LE(AF_NETLINK, 0);
    to.writeUInt32LE(portId, 4);
    if (libc.sendto(fd, bytes, bytes.length, 0, to, 12) !== bytes.length) throw new Error(`sendto: errno ${lastErrno()}`);
    const name = Buffer.alloc(12);
    const length = Buffer.alloc(4);
    length.writeUInt32LE(12);
    if (libc.getsockname(fd, name, length) !== 0) throw new Error(`getsockname: errno ${lastErrno()}`);
    return name.readUInt32LE(4);
  } finally {
    libc.close(fd);
  }
}

interface Step {
  readonly name: string;
  readonly description: string;
  readonly act: () => Promise<void> | void;
}

interface Scenario {
  /** file name prefix ('' for the first scenario, whose files predate scenarios) */
  readonly prefix: string;
  readonly steps: (ctx: ScenarioContext) => Step[];
  /** checked once every step ran */
  readonly done?: () => void;
}

interface ScenarioContext {
  readonly netns: Netns;
  readonly socket: ReturnType<typeof openLinkSocket>;
  readonly ip: (lines: string[]) => Promise<void>;
  /** the kernel's last single-message RTM_NEWLINK datagram */
  readonly lastKernelNewlink: () => Buffer | undefined;
}

let forgedPid = 0;

const SCENARIOS: Record<string, Scenario> = {
  veth: {
    prefix: '',
    steps: ({ socket, ip, lastKernelNewlink }) => [
      { name: 'dump', description: 'RTM_GETLINK dump in a fresh namespace: only lo', act: () => socket.send(encodeLinkDumpRequest(DUMP_SEQ)) },
      {
        name: 'getlink-missing',
        description: 'RTM_GETLINK for ifindex 9999, which does not exist: NLMSG_ERROR -ENODEV',
        act: () => socket.send(encodeGetLinkRequest(GETLINK_SEQ, 9999)),
      },
      {
        name: 'add-pair',
        description: 'ip link add vetha address 02:00:00:00:00:0a type veth peer name vethb address 02:00:00:00:00:0b',
        act: () => ip(['link add vetha address 02:00:00:00:00:0a type veth peer name vethb address 02:00:00:00:00:0b']),
      },
      { name: 'up', description: 'ip link set vetha up; ip link set vethb up', act: () => ip(['link set vetha up', 'link set vethb up']) },
      { name: 'peer-down', description: 'ip link set vethb down: vetha loses carrier', act: () => ip(['link set vethb down']) },
      { name: 'peer-up', description: 'ip link set vethb up: vetha regains carrier', act: () => ip(['link set vethb up']) },
      { name: 'alias', description: 'ip link set vetha alias "uplink to rack 7"', act: () => ip(['link set vetha alias "uplink to rack 7"']) },
      { name: 'mtu', description: 'ip link set vetha mtu 9000', act: () => ip(['link set vetha mtu 9000']) },
      {
        name: 'rename',
        description: 'ip link set vetha down; ip link set vetha name uplink0; ip link set uplink0 up',
        act: () => ip(['link set vetha down', 'link set vetha name uplink0', 'link set uplink0 up']),
      },
      {
        name: 'bridge',
        description: 'ip link add br0 address 02:00:00:00:00:0c type bridge; ip link set uplink0 master br0; ip link set br0 up',
        act: () => ip(['link add br0 address 02:00:00:00:00:0c type bridge', 'link set uplink0 master br0', 'link set br0 up']),
      },
      {
        name: 'forged',
        description: 'a replay of the kernel\'s last RTM_NEWLINK, sent to our port id by another user-space socket (sender nl_pid != 0)',
        act: () => {
          const last = lastKernelNewlink();
          if (last === undefined) throw new Error('no kernel RTM_NEWLINK to replay');
          forgedPid = forge(socket.portId, last);
        },
      },
      { name: 'delete', description: 'ip link del uplink0 (takes vethb with it); ip link del br0', act: () => ip(['link del uplink0', 'link del br0']) },
    ],
    done: () => {
      if (forgedPid === 0) throw new Error('forged datagram was not sent');
    },
  },
  causes: {
    prefix: 'causes-',
    steps: ({ ip }) => {
      let release: (() => void) | undefined;
      return [
        {
          name: 'tap-add',
          description: 'ip tuntap add tap0 mode tap; address 02:00:00:00:01:0a; up: no process holds it, so no carrier (DOWN)',
          act: () => ip(['tuntap add tap0 mode tap', 'link set tap0 address 02:00:00:00:01:0a', 'link set tap0 up']),
        },
        {
          name: 'tap-hold',
          description: 'a process opens /dev/net/tun and attaches to tap0 (TUNSETIFF, IFF_TAP | IFF_NO_PI): carrier on',
          act: () => {
            release = holdTap('tap0');
          },
        },
        {
          name: 'macvlan-add',
          description: 'ip link add mv0 link tap0 address 02:00:00:00:01:0b type macvlan mode bridge; ip link set mv0 up (IFLA_LINK: tap0)',
          act: () => ip(['link add mv0 link tap0 address 02:00:00:00:01:0b type macvlan mode bridge', 'link set mv0 up']),
        },
        {
          name: 'tap-carrier-off',
          description: 'ip link set tap0 carrier off: tap0 NO-CARRIER, DOWN; mv0 on it LOWERLAYERDOWN',
          act: () => ip(['link set tap0 carrier off']),
        },
        {
          name: 'tap-carrier-on',
          description: 'ip link set tap0 carrier on (allowed while the tap is held): tap0 and mv0 UP again',
          act: () => ip(['link set tap0 carrier on']),
        },
        {
          name: 'protodown',
          description: 'ip link set mv0 protodown on: IFLA_PROTO_DOWN 1, mv0 loses carrier while its lower device has it',
          act: () => ip(['link set mv0 protodown on']),
        },
        {
          name: 'protodown-reason',
          description: 'ip link set mv0 protodown_reason 0 on: IFLA_PROTO_DOWN_REASON { VALUE 1 }',
          act: () => ip(['link set mv0 protodown_reason 0 on']),
        },
        {
          name: 'protodown-off',
          description: 'ip link set mv0 protodown_reason 0 off; ip link set mv0 protodown off: carrier back',
          act: () => ip(['link set mv0 protodown_reason 0 off', 'link set mv0 protodown off']),
        },
        {
          name: 'bridge-port',
          description:
            'ip link add br1 address 02:00:00:00:01:0c type bridge; veth pb0/pb1 (02:00:00:00:01:0d/0e), pb0 master br1; all up',
          act: () =>
            ip([
              'link add br1 address 02:00:00:00:01:0c type bridge',
              'link add pb0 address 02:00:00:00:01:0d type veth peer name pb1 address 02:00:00:00:01:0e',
              'link set pb0 master br1',
              'link set pb0 up',
              'link set pb1 up',
              'link set br1 up',
            ]),
        },
        {
          name: 'bridge-last-port-gone',
          description: 'ip link del pb0 (the container stopped): br1, still admin up, is NO-CARRIER, DOWN',
          act: () => ip(['link del pb0']),
        },
        {
          name: 'tap-release',
          description: 'the process closes its tap0 descriptor: tap0 loses carrier (a tap without a reader); mv0 LOWERLAYERDOWN',
          act: () => {
            release?.();
            release = undefined;
          },
        },
        {
          name: 'teardown',
          description: 'ip link del mv0; ip link del tap0; ip link del br1',
          act: () => ip(['link del mv0', 'link del tap0', 'link del br1']),
        },
      ];
    },
  },
};

async function recordScenario(name: string, scenario: Scenario): Promise<number> {
  const netns = await createNetns(`lsx-record-${name}`);
  const leave = enterNetns(netns.name);
  const socket = openLinkSocket({ receiveBufferBytes: 4 << 20, groups: RTMGRP_LINK });
  let pending: ReceiveEvent[] = [];
  let lastEventAt = Date.now();
  socket.start((events) => {
    // a datagram's bytes are a view into the socket's receive buffer, reused by the next round
    for (const e of events) pending.push(e.kind === 'datagram' ? { ...e, data: Buffer.from(e.data) } : e);
    lastEventAt = Date.now();
  });
  const keepAlive = setInterval(() => {}, 1000); // the receive worker is unref'd
  let lastKernelNewlink: Buffer | undefined;
  const steps = scenario.steps({
    netns,
    socket,
    ip: (lines) => netns.ipBatch(lines),
    lastKernelNewlink: () => lastKernelNewlink,
  });
  let n = 0;
  try {
    for (const step of steps) {
      pending = [];
      lastEventAt = Date.now();
      await step.act();
      while (Date.now() - lastEventAt < QUIET_MS) await new Promise((r) => setTimeout(r, 100));
      const events = pending;
      const state = await ipRecords(netns);
      for (const event of events) {
        if (event.kind === 'error') throw event.error;
        if (event.kind === 'overrun') throw new Error(`overrun during ${step.name}: raise the buffer`);
        const messages = decodeFixtureMessages(event.data);
        if (event.senderPid === 0 && messages.length === 1 && messages[0]?.type === RTM_NEWLINK) {
          lastKernelNewlink = event.data;
        }
        n += 1;
        const what = messages
          .map((m) => {
            const link = m.link;
            if (link !== undefined) {
              const kind = m.type === RTM_DELLINK ? 'dellink' : 'newlink';
              return `${kind}${m.family === 7 ? '-bridge' : ''}-${link.ifname ?? link.ifindex}`;
            }
            if (m.error !== undefined) return 'error';
            if (m.doneStatus !== undefined) return 'done';
            return `type${m.type}`;
          })
          .join('+');
        const base = `${scenario.prefix}${String(n).padStart(2, '0')}-${step.name}-${what}`;
        const record: FixtureRecord = {
          step: step.name,
          description: step.description,
          senderPid: event.senderPid,
          truncated: event.truncated,
          messages,
          ip: state,
        };
        writeFileSync(join(OUT_DIR, `${base}.bin`), event.data);
        writeFileSync(join(OUT_DIR, `${base}.json`), JSON.stringify(record, null, 2) + '\n');
      }
      console.log(`${name} ${step.name}: ${events.length} datagram(s)`);
    }
    scenario.done?.();
  } finally {
    clearInterval(keepAlive);
    await socket.close();
    leave();
    await netns.destroy();
  }
  return n;
}

// ---- uapi-built fixtures ----

interface Built {
  readonly name: string;
  readonly description: string;
  readonly data: Buffer;
  /** The decode, by hand: what the bytes were built to say. */
  readonly expected: RecordedMessage[];
}

/** ifi_flags of the built NICs: UP|BROADCAST|RUNNING|MULTICAST|LOWER_UP with carrier, UP|BROADCAST|MULTICAST without. */
const NIC_FLAGS_CARRIER = 0x11043;
const NIC_FLAGS_NO_CARRIER = 0x1003;

/**
 * An RTM_NEWLINK of a physical NIC, attributes in rtnl_fill_ifinfo's order (the ones the decoder
 * reads, IFLA_TXQLEN standing for the ones it skips), IFLA_PARENT_DEV_NAME and
 * IFLA_PARENT_DEV_BUS_NAME last, as the kernel puts them (after IFLA_PERM_ADDRESS).
 */
function nicNewlink(ifindex: number, ifname: string, address: string, carrier: boolean, parent: string, bus: string): Buffer {
  const flags = carrier ? NIC_FLAGS_CARRIER : NIC_FLAGS_NO_CARRIER;
  const txqlen = Buffer.alloc(4);
  txqlen.writeUInt32LE(1000);
  return nlmsg(
    { type: RTM_NEWLINK, seq: 0, pid: 0 },
    Buffer.concat([
      ifinfomsg({ family: 0, type: 1, index: ifindex, flags, change: 0 }),
      stringAttr(IFLA_IFNAME, ifname),
      rtattr(13, txqlen), // IFLA_TXQLEN
      u8Attr(IFLA_OPERSTATE, carrier ? IF_OPER_UP : IF_OPER_DOWN),
      u32Attr(IFLA_MTU, 1500),
      u8Attr(IFLA_CARRIER, carrier ? 1 : 0),
      u32Attr(IFLA_CARRIER_CHANGES, carrier ? 1 : 2),
      u32Attr(IFLA_CARRIER_UP_COUNT, 1),
      u32Attr(IFLA_CARRIER_DOWN_COUNT, carrier ? 0 : 1),
      u8Attr(IFLA_PROTO_DOWN, 0),
      rtattr(IFLA_ADDRESS, addressBytes(address)),
      stringAttr(IFLA_PARENT_DEV_NAME, parent),
      stringAttr(IFLA_PARENT_DEV_BUS_NAME, bus),
    ]),
  );
}

function nicDecode(ifindex: number, ifname: string, address: string, carrier: boolean, parent: string, bus: string): RecordedMessage[] {
  return [
    {
      type: RTM_NEWLINK,
      flags: 0,
      seq: 0,
      pid: 0,
      family: 0,
      link: {
        kind: 'new',
        ifindex,
        flags: carrier ? NIC_FLAGS_CARRIER : NIC_FLAGS_NO_CARRIER,
        change: 0,
        linkType: 1,
        ifname,
        operstate: carrier ? IF_OPER_UP : IF_OPER_DOWN,
        carrier: carrier ? 1 : 0,
        carrierChanges: carrier ? 1 : 2,
        carrierUpCount: 1,
        carrierDownCount: carrier ? 0 : 1,
        mtu: 1500,
        address,
        protoDown: 0,
        parentDevice: parent,
        parentBus: bus,
      } as LinkMessage, // recorded without family, as decodeFixtureMessages does
    },
  ];
}

const BUILT: Built[] = [
  {
    name: 'newlink-parent-pci',
    description: 'RTM_NEWLINK of a PCI NIC with carrier: IFLA_PARENT_DEV_NAME "0000:03:00.0", IFLA_PARENT_DEV_BUS_NAME "pci"',
    data: nicNewlink(2, 'enp3s0', '52:54:00:12:34:56', true, '0000:03:00.0', 'pci'),
    expected: nicDecode(2, 'enp3s0', '52:54:00:12:34:56', true, '0000:03:00.0', 'pci'),
  },
  {
    name: 'newlink-parent-virtio-no-carrier',
    description: 'RTM_NEWLINK of a virtio NIC without carrier: IFLA_PARENT_DEV_NAME "virtio2", IFLA_PARENT_DEV_BUS_NAME "virtio"',
    data: nicNewlink(3, 'eth1', '52:54:00:ab:cd:ef', false, 'virtio2', 'virtio'),
    expected: nicDecode(3, 'eth1', '52:54:00:ab:cd:ef', false, 'virtio2', 'virtio'),
  },
];

function writeBuilt(): number {
  let mismatches = 0;
  for (const b of BUILT) {
    const base = `uapi-built-${b.name}`;
    const record: FixtureRecord = {
      step: `uapi-built-${b.name}`,
      description: b.description,
      source: 'uapi-built',
      senderPid: 0,
      truncated: false,
      messages: b.expected,
      ip: [],
    };
    if (!writeBuiltFixture(OUT_DIR, base, b.data, record, decodeFixtureMessages(b.data), b.expected)) mismatches += 1;
  }
  if (mismatches > 0) process.exitCode = 1;
  return BUILT.length;
}

/** Rewrites the decode of every kernel capture from its bytes, keeping everything else. */
function redecode(): number {
  let n = 0;
  for (const f of readdirSync(OUT_DIR).filter((x) => x.endsWith('.json') && !x.startsWith('uapi-built-'))) {
    const path = join(OUT_DIR, f);
    const record = JSON.parse(readFileSync(path, 'utf8')) as FixtureRecord;
    const data = readFileSync(join(OUT_DIR, `${f.slice(0, -'.json'.length)}.bin`));
    writeFileSync(path, JSON.stringify({ ...record, messages: decodeFixtureMessages(data) }, null, 2) + '\n');
    n += 1;
  }
  return n;
}

function optionValues(flag: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < process.argv.length; i++) if (process.argv[i] === flag && process.argv[i + 1] !== undefined) values.push(process.argv[i + 1] as string);
  return values;
}

async function main(): Promise<void> {
  mkdirSync(OUT_DIR, { recursive: true });
  if (process.argv.includes('--redecode')) {
    console.log(`${redecode()} kernel captures re-decoded in ${OUT_DIR}`);
    return;
  }
  const builtOnly = process.argv.includes('--built-only');
  const chosen = optionValues('--scenario');
  for (const name of chosen) if (!(name in SCENARIOS)) throw new Error(`unknown scenario ${name} (${Object.keys(SCENARIOS).join(', ')})`);
  const names = builtOnly ? [] : chosen.length > 0 ? chosen : Object.keys(SCENARIOS);
  if (names.length > 0 && process.getuid?.() !== 0) throw new Error('record-fixtures needs root (it creates a network namespace); use --built-only otherwise');
  // A scenario's files: its prefix and a number ('' + digits for the first one).
  const ownedBy = (file: string, scenario: Scenario): boolean =>
    file.startsWith('uapi-built-') ? false : scenario.prefix === '' ? /^\d/.test(file) : file.startsWith(scenario.prefix);
  for (const f of readdirSync(OUT_DIR)) {
    if (f.startsWith('uapi-built-') || names.some((name) => ownedBy(f, SCENARIOS[name] as Scenario))) rmSync(join(OUT_DIR, f));
  }
  let recorded = 0;
  for (const name of names) recorded += await recordScenario(name, SCENARIOS[name] as Scenario);
  const built = writeBuilt();
  console.log(`${recorded} recorded and ${built} built fixtures; ${readdirSync(OUT_DIR).length} files in ${OUT_DIR}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
