// Records ethtool netlink fixtures from the real kernel and builds the ones no device here can
// produce (run as root: `npm run build && node dist/scripts/record-ethtool-fixtures.js`;
// `--built-only` rewrites only the uapi-built ones and needs no root).
//
// Kernel part: in a throwaway network namespace it opens a tiny NETLINK_GENERIC socket of its
// own (koffi, this script only — the exporter's socket lives in src/netlink/socket.ts), resolves
// the ethtool family with CTRL_CMD_GETFAMILY, joins its "monitor" group, then asks a veth pair,
// lo, a missing ifindex and a tap for LINKMODES and LINKSTATE, and changes the tap with
// `ethtool -s` (notifications). Every received datagram becomes
// test/fixtures/ethtool/NN-step-what.bin, and beside it NN-....json (EthtoolFixtureRecord): the
// request sent (hex), the decode as this tree's decoders see it, for review, and what
// `ethtool DEV` printed at that moment (test/unit/ethtool-fixtures.test.ts checks both).
//
// Built part: replies with ext_state/ext_substate, SQI, the PHY link-down count (EXT_DOWN_CNT)
// and advertised-mode bitsets, which veth and tap never send, built to the uapi layout with test/helpers/ethtool-bytes.ts. Their JSON
// holds the decode written by hand from what each was built to say — not the decoder's output.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeBuiltFixture } from '../test/helpers/fixture-record.js';
import koffi from 'koffi';
import { errnoName } from '../src/netlink/errors.js';
import {
  ETHTOOL_A_LINKMODES_AUTONEG,
  ETHTOOL_A_LINKMODES_DUPLEX,
  ETHTOOL_A_LINKMODES_HEADER,
  ETHTOOL_A_LINKMODES_OURS,
  ETHTOOL_A_LINKMODES_PEER,
  ETHTOOL_A_LINKMODES_SPEED,
  ETHTOOL_A_LINKSTATE_EXT_DOWN_CNT,
  ETHTOOL_A_LINKSTATE_EXT_STATE,
  ETHTOOL_A_LINKSTATE_EXT_SUBSTATE,
  ETHTOOL_A_LINKSTATE_HEADER,
  ETHTOOL_A_LINKSTATE_LINK,
  ETHTOOL_A_LINKSTATE_SQI,
  ETHTOOL_A_LINKSTATE_SQI_MAX,
  ETHTOOL_MCGRP_MONITOR_NAME,
  ETHTOOL_MSG_LINKMODES_GET_REPLY,
  ETHTOOL_MSG_LINKMODES_NTF,
  ETHTOOL_MSG_LINKSTATE_GET_REPLY,
} from '../src/ethtool/constants.js';
import { decodeFamily, encodeGetFamilyRequest, multicastGroupId } from '../src/ethtool/genl.js';
import { encodeLinkModesRequest } from '../src/ethtool/linkmodes.js';
import { encodeLinkStateRequest } from '../src/ethtool/linkstate.js';
import type { EthtoolMessage } from '../src/ethtool/types.js';
import { AF_NETLINK, NETLINK_ADD_MEMBERSHIP, NETLINK_GENERIC, SOCK_CLOEXEC, SOCK_RAW, SOL_NETLINK } from '../src/netlink/constants.js';
import { decodeMessages } from '../src/netlink/message.js';
import {
  compactBitset,
  deviceHeader,
  genlMessage,
  u32,
  u8,
  verboseBitset,
} from '../test/helpers/ethtool-bytes.js';
import {
  decodeEthtoolFixture,
  parseEthtoolCli,
  type EthtoolFixtureMessage,
  type EthtoolFixtureRecord,
} from '../test/helpers/ethtool-fixture.js';
import { createNetns, enterNetns, type Netns } from '../test/helpers/netns.js';

// dist/scripts/record-ethtool-fixtures.js → <repo>/test/fixtures/ethtool
const OUT_DIR = fileURLToPath(new URL('../../test/fixtures/ethtool/', import.meta.url));
/** Quiet time that ends a step. */
const QUIET_MS = 400;
const MSG_DONTWAIT = 0x40;
const MSG_TRUNC = 0x20;
const EAGAIN = 11;
/** The family id the built fixtures use (a real one is assigned at boot; tests take it from the record). */
const BUILT_FAMILY_ID = 20;
/** ETHTOOL_A_BITSET_SIZE of the built link mode bitsets: what Linux 6.18 sends (__ETHTOOL_LINK_MODE_MASK_NBITS). */
const BUILT_LINK_MODE_BITS = 121;

// ---- a tiny blocking-free netlink socket, for this script only ----
const lib = koffi.load('libc.so.6');
const sys = {
  socket: lib.func('int socket(int domain, int type, int protocol)') as (d: number, t: number, p: number) => number,
  bind: lib.func('int bind(int fd, void *addr, uint32_t len)') as (fd: number, addr: Buffer, len: number) => number,
  setsockopt: lib.func('int setsockopt(int fd, int level, int name, void *value, uint32_t len)') as (
    fd: number,
    level: number,
    name: number,
    value: Buffer,
    len: number,
  ) => number,
  sendto: lib.func('long sendto(int fd, void *buf, size_t len, int flags, void *addr, uint32_t addrlen)') as (
    fd: number,
    buf: Buffer,
    len: number,
    flags: number,
    addr: Buffer,
    addrlen: number,
  ) => number,
  recvfrom: lib.func('long recvfrom(int fd, void *buf, size_t len, int flags, void *addr, void *addrlen)') as (
    fd: number,
    buf: Buffer,
    len: number,
    flags: number,
    addr: Buffer,
    addrlen: Buffer,
  ) => number,
  close: lib.func('int close(int fd)') as (fd: number) => number,
};

class GenlSocket {
  private readonly fd: number;
  private readonly buf = Buffer.alloc(65536);

  constructor() {
    this.fd = sys.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
    if (this.fd < 0) throw new Error(`socket: errno ${koffi.errno()}`);
    const addr = Buffer.alloc(12);
    addr.writeUInt16LE(AF_NETLINK, 0);
    if (sys.bind(this.fd, addr, 12) !== 0) throw new Error(`bind: errno ${koffi.errno()}`);
  }

  join(group: number): void {
    const v = Buffer.alloc(4);
    v.writeUInt32LE(group);
    if (sys.setsockopt(this.fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, v, 4) !== 0) {
      throw new Error(`NETLINK_ADD_MEMBERSHIP ${group}: errno ${koffi.errno()}`);
    }
  }

  send(bytes: Buffer): void {
    const to = Buffer.alloc(12);
    to.writeUInt16LE(AF_NETLINK, 0);
    if (sys.sendto(this.fd, bytes, bytes.length, 0, to, 12) !== bytes.length) throw new Error(`sendto: errno ${koffi.errno()}`);
  }

  /** One datagram if one is queued (never blocks); throws on truncation or a non-kernel sender. */
  tryReceive(): Buffer | undefined {
    const from = Buffer.alloc(12);
    const fromLen = Buffer.alloc(4);
    fromLen.writeUInt32LE(12);
    const n = sys.recvfrom(this.fd, this.buf, this.buf.length, MSG_DONTWAIT | MSG_TRUNC, from, fromLen);
    if (n < 0) {
      const errno = koffi.errno();
      if (errno === EAGAIN) return undefined;
      throw new Error(`recvfrom: errno ${errno}`);
    }
    if (n > this.buf.length) throw new Error(`datagram of ${n} bytes truncated to ${this.buf.length}`);
    const pid = from.readUInt32LE(4);
    if (pid !== 0) throw new Error(`datagram from port ${pid}, not the kernel`);
    return Buffer.from(this.buf.subarray(0, n));
  }

  close(): void {
    sys.close(this.fd);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function collect(socket: GenlSocket): Promise<Buffer[]> {
  const out: Buffer[] = [];
  let last = Date.now();
  while (Date.now() - last < QUIET_MS) {
    const d = socket.tryReceive();
    if (d === undefined) {
      await sleep(10);
      continue;
    }
    out.push(d);
    last = Date.now();
  }
  return out;
}

function hex(b: Buffer): string {
  return b.toString('hex');
}

// ---- kernel fixtures ----
interface Step {
  readonly name: string;
  readonly description: string;
  /** Shell-level changes first (ip, ethtool -s). */
  readonly before?: (netns: Netns) => Promise<void>;
  /** The request to send, built when the step runs (the family id is known by then). */
  readonly request?: () => Buffer;
  /** Device whose `ethtool DEV` output is kept. */
  readonly cli?: string;
}

function what(messages: EthtoolFixtureMessage[]): string {
  return messages
    .map((m) => {
      if (m.family !== undefined) return 'newfamily';
      if (m.error !== undefined) return `error-${(errnoName(-m.error.error) ?? String(m.error.error)).toLowerCase()}`;
      if (m.doneStatus !== undefined) return 'done';
      const e = m.ethtool;
      if (e === undefined) return `type${m.type}`;
      if (e.kind === 'linkmodes') return `linkmodes-${e.notification ? 'ntf' : 'reply'}-${e.linkModes.ifname ?? e.linkModes.ifindex}`;
      if (e.kind === 'linkstate') return `linkstate-reply-${e.linkState.ifname ?? e.linkState.ifindex}`;
      if (e.kind === 'linkinfo') return `linkinfo-${e.notification ? 'ntf' : 'reply'}-${e.linkInfo.ifname ?? e.linkInfo.ifindex}`;
      return `cmd${e.cmd}`;
    })
    .join('+');
}

async function recordKernel(): Promise<number> {
  if (process.getuid?.() !== 0) throw new Error('recording needs root (it creates a network namespace); use --built-only otherwise');
  const netns = await createNetns('lsx-ethtool-record');
  const leave = enterNetns(netns.name);
  const socket = new GenlSocket();
  leave(); // the socket stays in the namespace it was opened in
  let familyId = 0;
  const ifindex = async (dev: string): Promise<number> =>
    Number((await netns.run('cat', [`/sys/class/net/${dev}/ifindex`])).trim());
  const ip = (lines: string[]) => (n: Netns) => n.ipBatch(lines);
  const ethtoolSet = (args: string[]) => async (n: Netns) => {
    await n.run('ethtool', ['-s', ...args]);
  };
  let vetha = 0;
  let tap = 0;
  let seq = 0;
  const steps: Step[] = [
    {
      name: 'getfamily',
      description: 'CTRL_CMD_GETFAMILY "ethtool": CTRL_CMD_NEWFAMILY with the family id and the "monitor" group',
      request: () => encodeGetFamilyRequest((seq += 1)),
    },
    {
      name: 'getfamily-missing',
      description: 'CTRL_CMD_GETFAMILY "nosuchfamily" (what a kernel without ethtool netlink answers for "ethtool"): NLMSG_ERROR -ENOENT',
      request: () => encodeGetFamilyRequest((seq += 1), 'nosuchfamily'),
    },
    {
      name: 'add-veth',
      description: 'ip link add vetha address 02:00:00:00:00:0a type veth peer name vethb address 02:00:00:00:00:0b; both up',
      before: async (n) => {
        await ip(['link add vetha address 02:00:00:00:00:0a type veth peer name vethb address 02:00:00:00:00:0b', 'link set vetha up', 'link set vethb up'])(n);
        vetha = await ifindex('vetha');
        await sleep(300);
      },
    },
    {
      name: 'linkmodes-veth',
      description: 'ETHTOOL_MSG_LINKMODES_GET vetha, ETHTOOL_FLAG_COMPACT_BITSETS: 10000 Mb/s, full, autoneg off, empty bitsets',
      request: () => encodeLinkModesRequest(familyId, (seq += 1), vetha),
      cli: 'vetha',
    },
    {
      name: 'linkmodes-veth-verbose',
      description: 'ETHTOOL_MSG_LINKMODES_GET vetha without flags: bit-by-bit bitsets (empty BITS nests)',
      request: () => encodeLinkModesRequest(familyId, (seq += 1), vetha, 0),
      cli: 'vetha',
    },
    {
      name: 'linkstate-veth-up',
      description: 'ETHTOOL_MSG_LINKSTATE_GET vetha with its peer up: link only',
      request: () => encodeLinkStateRequest(familyId, (seq += 1), vetha),
      cli: 'vetha',
    },
    {
      name: 'linkstate-veth-peer-down',
      description: 'ip link set vethb down, then ETHTOOL_MSG_LINKSTATE_GET vetha: link 0, no ext_state (veth has none)',
      before: async (n) => {
        await ip(['link set vethb down'])(n);
        await sleep(300);
      },
      request: () => encodeLinkStateRequest(familyId, (seq += 1), vetha),
      cli: 'vetha',
    },
    {
      name: 'linkmodes-lo',
      description: 'ETHTOOL_MSG_LINKMODES_GET lo (no get_link_ksettings): NLMSG_ERROR -EOPNOTSUPP',
      request: () => encodeLinkModesRequest(familyId, (seq += 1), 1),
    },
    {
      name: 'linkstate-lo',
      description: 'ETHTOOL_MSG_LINKSTATE_GET lo: link 1 (ethtool_op_get_link)',
      request: () => encodeLinkStateRequest(familyId, (seq += 1), 1),
      cli: 'lo',
    },
    {
      name: 'linkmodes-missing',
      description: 'ETHTOOL_MSG_LINKMODES_GET ifindex 9999, which does not exist: NLMSG_ERROR -ENODEV',
      request: () => encodeLinkModesRequest(familyId, (seq += 1), 9999),
    },
    {
      name: 'add-tap',
      description: 'ip tuntap add tap0 mode tap',
      before: async (n) => {
        await n.run('ip', ['tuntap', 'add', 'tap0', 'mode', 'tap']);
        tap = await ifindex('tap0');
      },
    },
    {
      name: 'linkmodes-tap',
      description: 'ETHTOOL_MSG_LINKMODES_GET tap0 as created: 10000 Mb/s, full, autoneg off',
      request: () => encodeLinkModesRequest(familyId, (seq += 1), tap),
      cli: 'tap0',
    },
    {
      name: 'set-tap-100-half',
      description: 'ethtool -s tap0 speed 100 duplex half autoneg off: ETHTOOL_MSG_LINKMODES_NTF on "monitor"',
      before: ethtoolSet(['tap0', 'speed', '100', 'duplex', 'half', 'autoneg', 'off']),
      cli: 'tap0',
    },
    {
      name: 'linkmodes-tap-100-half',
      description: 'ETHTOOL_MSG_LINKMODES_GET tap0 after the change: 100 Mb/s, half, autoneg off',
      request: () => encodeLinkModesRequest(familyId, (seq += 1), tap),
      cli: 'tap0',
    },
    {
      name: 'set-tap-port-fibre',
      description: 'ethtool -s tap0 port fibre: ETHTOOL_MSG_LINKINFO_NTF on "monitor"',
      before: ethtoolSet(['tap0', 'port', 'fibre']),
    },
    {
      name: 'set-tap-autoneg-on',
      description: 'ethtool -s tap0 autoneg on: ETHTOOL_MSG_LINKMODES_NTF with autoneg on',
      before: ethtoolSet(['tap0', 'autoneg', 'on']),
      cli: 'tap0',
    },
    {
      name: 'linkstate-tap',
      description: 'ETHTOOL_MSG_LINKSTATE_GET tap0 (no reader attached: no carrier): link 0',
      request: () => encodeLinkStateRequest(familyId, (seq += 1), tap),
      cli: 'tap0',
    },
  ];

  let n = 0;
  try {
    for (const step of steps) {
      await step.before?.(netns);
      const request = step.request?.();
      if (request !== undefined) socket.send(request);
      const datagrams = await collect(socket);
      const cli = step.cli === undefined ? undefined : parseEthtoolCli(step.cli, await netns.run('ethtool', [step.cli]));
      for (const data of datagrams) {
        if (familyId === 0) {
          const family = decodeFamily(decodeMessages(data)[0]!);
          familyId = family.familyId;
          const monitor = multicastGroupId(family, ETHTOOL_MCGRP_MONITOR_NAME);
          if (monitor === undefined) throw new Error('ethtool family without a "monitor" group');
          socket.join(monitor);
        }
        const messages = decodeEthtoolFixture(data, familyId);
        n += 1;
        const base = `${String(n).padStart(2, '0')}-${step.name}-${what(messages)}`;
        const record: EthtoolFixtureRecord = {
          step: step.name,
          description: step.description,
          source: 'kernel',
          familyId,
          ...(request === undefined ? {} : { request: hex(request) }),
          messages,
          ...(cli === undefined ? {} : { cli }),
        };
        writeFileSync(join(OUT_DIR, `${base}.bin`), data);
        writeFileSync(join(OUT_DIR, `${base}.json`), JSON.stringify(record, null, 2) + '\n');
      }
      console.log(`${step.name}: ${datagrams.length} datagram(s)`);
    }
  } finally {
    socket.close();
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
  readonly expected: EthtoolMessage;
}

const F = BUILT_FAMILY_ID;
const NBITS = BUILT_LINK_MODE_BITS;
// link mode bits used below (ethtool.h)
const B_1000baseT_Full = 5;
const B_Autoneg = 6;
const B_TP = 7;
const B_10000baseT_Full = 12;
const B_Pause = 13;
const B_2500baseT_Full = 47;
const B_5000baseT_Full = 48;
const B_25000baseSR_Full = 33;
const B_10000baseSR_Full = 43;
const B_100000baseSR4_Full = 37;
const B_FEC_RS = 50;
const B_400000baseSR4_Full = 86;
const B_800000baseSR8_Full = 97;

function linkstate(ifindex: number, ifname: string, attrs: Buffer[]): Buffer {
  return genlMessage(F, ETHTOOL_MSG_LINKSTATE_GET_REPLY, [deviceHeader(ETHTOOL_A_LINKSTATE_HEADER, ifindex, ifname), ...attrs], {
    seq: 7,
  });
}

function ls(
  ifindex: number,
  ifname: string,
  fields: Partial<Record<'link' | 'sqi' | 'sqiMax' | 'extState' | 'extSubstate' | 'linkDownEvents', unknown>>,
): EthtoolMessage {
  return { kind: 'linkstate', linkState: { ifindex, ifname, ...fields } } as unknown as EthtoolMessage;
}

function lm(notification: boolean, ifindex: number, ifname: string, fields: Record<string, unknown>): EthtoolMessage {
  return { kind: 'linkmodes', notification, linkModes: { ifindex, ifname, ...fields } } as unknown as EthtoolMessage;
}

const BUILT: Built[] = [
  {
    name: 'linkstate-no-cable',
    description: 'LINKSTATE reply of a NIC whose driver reports ext_state: link 0, ETHTOOL_LINK_EXT_STATE_NO_CABLE (4), no substate',
    data: linkstate(4, 'eth0', [u8(ETHTOOL_A_LINKSTATE_LINK, 0), u8(ETHTOOL_A_LINKSTATE_EXT_STATE, 4)]),
    expected: ls(4, 'eth0', { link: false, extState: 'no_cable' }),
  },
  {
    name: 'linkstate-autoneg-no-partner',
    description: 'LINKSTATE reply: link 0, ext_state AUTONEG (0), substate AN_NO_PARTNER_DETECTED (1)',
    data: linkstate(4, 'eth0', [u8(ETHTOOL_A_LINKSTATE_LINK, 0), u8(ETHTOOL_A_LINKSTATE_EXT_STATE, 0), u8(ETHTOOL_A_LINKSTATE_EXT_SUBSTATE, 1)]),
    expected: ls(4, 'eth0', { link: false, extState: 'autoneg', extSubstate: 'autoneg_no_partner_detected' }),
  },
  {
    name: 'linkstate-link-training-remote-fault',
    description: 'LINKSTATE reply: link 0, ext_state LINK_TRAINING_FAILURE (1), substate LT_REMOTE_FAULT (4)',
    data: linkstate(9, 'swp1', [u8(ETHTOOL_A_LINKSTATE_LINK, 0), u8(ETHTOOL_A_LINKSTATE_EXT_STATE, 1), u8(ETHTOOL_A_LINKSTATE_EXT_SUBSTATE, 4)]),
    expected: ls(9, 'swp1', { link: false, extState: 'link_training_failure', extSubstate: 'link_training_remote_fault' }),
  },
  {
    name: 'linkstate-module-cmis-not-ready',
    description: 'LINKSTATE reply: link 0, ext_state MODULE (10), substate MODULE_CMIS_NOT_READY (1)',
    data: linkstate(9, 'swp1', [u8(ETHTOOL_A_LINKSTATE_LINK, 0), u8(ETHTOOL_A_LINKSTATE_EXT_STATE, 10), u8(ETHTOOL_A_LINKSTATE_EXT_SUBSTATE, 1)]),
    expected: ls(9, 'swp1', { link: false, extState: 'module', extSubstate: 'module_cmis_not_ready' }),
  },
  {
    name: 'linkstate-unknown-ext-state',
    description: 'LINKSTATE reply from a kernel newer than our tables: ext_state 17, substate 3 — names, not errors',
    data: linkstate(4, 'eth0', [u8(ETHTOOL_A_LINKSTATE_LINK, 0), u8(ETHTOOL_A_LINKSTATE_EXT_STATE, 17), u8(ETHTOOL_A_LINKSTATE_EXT_SUBSTATE, 3)]),
    expected: ls(4, 'eth0', { link: false, extState: 'unknown_17', extSubstate: 'unknown_3' }),
  },
  {
    name: 'linkstate-sqi',
    description: 'LINKSTATE reply of a 100BASE-T1 PHY that measures signal quality: link 1, SQI 5 of 7',
    data: linkstate(5, 't1', [u8(ETHTOOL_A_LINKSTATE_LINK, 1), u32(ETHTOOL_A_LINKSTATE_SQI, 5), u32(ETHTOOL_A_LINKSTATE_SQI_MAX, 7)]),
    expected: ls(5, 't1', { link: true, sqi: 5, sqiMax: 7 }),
  },
  {
    name: 'linkstate-ext-down-cnt',
    description:
      'LINKSTATE reply to a request with ETHTOOL_FLAG_STATS (Linux >= 6.2) from a driver that counts PHY link-down events: link 1, EXT_DOWN_CNT 7',
    data: linkstate(3, 'eno1', [u8(ETHTOOL_A_LINKSTATE_LINK, 1), u32(ETHTOOL_A_LINKSTATE_EXT_DOWN_CNT, 7)]),
    expected: ls(3, 'eno1', { link: true, linkDownEvents: 7 }),
  },
  {
    name: 'linkstate-no-cable-ext-down-cnt',
    description: 'LINKSTATE reply with ETHTOOL_FLAG_STATS while the cable is out: link 0, EXT_STATE NO_CABLE (4), EXT_DOWN_CNT 8 (in kernel order)',
    data: linkstate(3, 'eno1', [u8(ETHTOOL_A_LINKSTATE_LINK, 0), u8(ETHTOOL_A_LINKSTATE_EXT_STATE, 4), u32(ETHTOOL_A_LINKSTATE_EXT_DOWN_CNT, 8)]),
    expected: ls(3, 'eno1', { link: false, extState: 'no_cable', linkDownEvents: 8 }),
  },
  {
    name: 'linkmodes-compact-advertised',
    description:
      'LINKMODES reply, compact bitsets: supports 1000baseT/10000baseT/10000baseSR/25000baseSR/100000baseSR4 (+Autoneg, TP, Pause, FEC_RS), advertises up to 25000baseSR; partner list 10000baseSR, 25000baseSR; 25000 Mb/s full, autoneg on',
    data: genlMessage(
      F,
      ETHTOOL_MSG_LINKMODES_GET_REPLY,
      [
        deviceHeader(ETHTOOL_A_LINKMODES_HEADER, 6, 'ens1f0'),
        u8(ETHTOOL_A_LINKMODES_AUTONEG, 1),
        compactBitset(
          ETHTOOL_A_LINKMODES_OURS,
          NBITS,
          [B_1000baseT_Full, B_Autoneg, B_10000baseT_Full, B_10000baseSR_Full, B_25000baseSR_Full, B_Pause, B_FEC_RS],
          [B_1000baseT_Full, B_Autoneg, B_TP, B_10000baseT_Full, B_10000baseSR_Full, B_25000baseSR_Full, B_100000baseSR4_Full, B_Pause, B_FEC_RS],
        ),
        compactBitset(ETHTOOL_A_LINKMODES_PEER, NBITS, [B_10000baseSR_Full, B_25000baseSR_Full]),
        u32(ETHTOOL_A_LINKMODES_SPEED, 25000),
        u8(ETHTOOL_A_LINKMODES_DUPLEX, 1),
      ],
      { seq: 8 },
    ),
    expected: lm(false, 6, 'ens1f0', {
      speedMbps: 25000,
      duplex: 'full',
      autoneg: true,
      advertisedSpeedMaxMbps: 25000,
      supportedSpeedMaxMbps: 100000,
    }),
  },
  {
    name: 'linkmodes-verbose-renegotiated-slower',
    description:
      'LINKMODES notification, bit-by-bit bitsets: a 10GBASE-T port advertising 1000/2500/5000/10000baseT that came back at 1000 Mb/s full, autoneg on',
    data: genlMessage(F, ETHTOOL_MSG_LINKMODES_NTF, [
      deviceHeader(ETHTOOL_A_LINKMODES_HEADER, 3, 'eno1'),
      u8(ETHTOOL_A_LINKMODES_AUTONEG, 1),
      verboseBitset(
        ETHTOOL_A_LINKMODES_OURS,
        NBITS,
        [B_1000baseT_Full, B_Autoneg, B_2500baseT_Full, B_5000baseT_Full, B_10000baseT_Full],
        [B_1000baseT_Full, B_Autoneg, B_TP, B_2500baseT_Full, B_5000baseT_Full, B_10000baseT_Full],
      ),
      verboseBitset(ETHTOOL_A_LINKMODES_PEER, NBITS, [B_1000baseT_Full, B_Autoneg]),
      u32(ETHTOOL_A_LINKMODES_SPEED, 1000),
      u8(ETHTOOL_A_LINKMODES_DUPLEX, 1),
    ]),
    expected: lm(true, 3, 'eno1', {
      speedMbps: 1000,
      duplex: 'full',
      autoneg: true,
      advertisedSpeedMaxMbps: 10000,
      supportedSpeedMaxMbps: 10000,
    }),
  },
  {
    name: 'linkmodes-verbose-advertise-subset',
    description:
      'LINKMODES reply, bit-by-bit: supports up to 800000baseSR8 but advertises only 400000baseSR4 (BIT_VALUE on that bit alone); 400000 Mb/s full',
    data: genlMessage(
      F,
      ETHTOOL_MSG_LINKMODES_GET_REPLY,
      [
        deviceHeader(ETHTOOL_A_LINKMODES_HEADER, 12, 'swp12'),
        u8(ETHTOOL_A_LINKMODES_AUTONEG, 1),
        verboseBitset(ETHTOOL_A_LINKMODES_OURS, NBITS, [B_400000baseSR4_Full], [B_100000baseSR4_Full, B_400000baseSR4_Full, B_800000baseSR8_Full]),
        u32(ETHTOOL_A_LINKMODES_SPEED, 400000),
        u8(ETHTOOL_A_LINKMODES_DUPLEX, 1),
      ],
      { seq: 9 },
    ),
    expected: lm(false, 12, 'swp12', {
      speedMbps: 400000,
      duplex: 'full',
      autoneg: true,
      advertisedSpeedMaxMbps: 400000,
      supportedSpeedMaxMbps: 800000,
    }),
  },
  {
    name: 'linkmodes-link-down-unknown',
    description:
      'LINKMODES reply of an autonegotiating port without link: SPEED_UNKNOWN (0xffffffff), DUPLEX_UNKNOWN (0xff); advertises 1000baseT only',
    data: genlMessage(
      F,
      ETHTOOL_MSG_LINKMODES_GET_REPLY,
      [
        deviceHeader(ETHTOOL_A_LINKMODES_HEADER, 4, 'eth0'),
        u8(ETHTOOL_A_LINKMODES_AUTONEG, 1),
        compactBitset(ETHTOOL_A_LINKMODES_OURS, NBITS, [B_1000baseT_Full, B_Autoneg], [B_1000baseT_Full, B_Autoneg, B_TP]),
        u32(ETHTOOL_A_LINKMODES_SPEED, 0xffffffff),
        u8(ETHTOOL_A_LINKMODES_DUPLEX, 0xff),
      ],
      { seq: 10 },
    ),
    expected: lm(false, 4, 'eth0', {
      duplex: 'unknown',
      autoneg: true,
      advertisedSpeedMaxMbps: 1000,
      supportedSpeedMaxMbps: 1000,
    }),
  },
];

function writeBuilt(): number {
  let mismatches = 0;
  for (const b of BUILT) {
    const base = `uapi-built-${b.name}`;
    const m = decodeMessages(b.data)[0]!;
    const expectedMessage: EthtoolFixtureMessage = {
      type: m.type,
      flags: m.flags,
      seq: m.seq,
      pid: m.pid,
      genl: { cmd: m.payload[0]!, version: m.payload[1]! },
      ethtool: b.expected,
    };
    const record: EthtoolFixtureRecord = {
      step: b.name,
      description: b.description,
      source: 'uapi-built',
      familyId: F,
      messages: [expectedMessage],
    };
    if (!writeBuiltFixture(OUT_DIR, base, b.data, record, decodeEthtoolFixture(b.data, F), record.messages)) mismatches += 1;
  }
  if (mismatches > 0) process.exitCode = 1;
  return BUILT.length;
}

async function main(): Promise<void> {
  const builtOnly = process.argv.includes('--built-only');
  mkdirSync(OUT_DIR, { recursive: true });
  for (const f of readdirSync(OUT_DIR)) {
    const built = f.startsWith('uapi-built-');
    if (built || !builtOnly) rmSync(join(OUT_DIR, f));
  }
  const recorded = builtOnly ? 0 : await recordKernel();
  const built = writeBuilt();
  console.log(`${recorded} recorded and ${built} built fixtures in ${OUT_DIR}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
