// Records netlink fixtures from the real kernel (run as root: `npm run record-fixtures`).
//
// In a throwaway network namespace it opens the exporter's own socket (RTMGRP_LINK), dumps
// the links (only lo exists yet), then drives a veth pair through add, up, peer down (carrier
// lost), peer up, alias, mtu, rename, enslaving to a bridge and delete, plus a request the
// kernel refuses (NLMSG_ERROR) and a datagram forged by another user-space socket. Every
// received datagram becomes test/fixtures/netlink/NN-step-what.bin, and beside it NN-....json:
// { step, description, senderPid, truncated, messages: [decoded], ip: [`ip -j -d link show`
// of the namespace once the step settled, trimmed] }. The decode is recorded as this tree's
// decoder sees it, for review; test/unit/fixtures.test.ts checks that it stays so and that it
// agrees with iproute2.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AF_NETLINK,
  IFINFOMSG_LEN,
  NETLINK_ROUTE,
  NLMSG_HDRLEN,
  NLM_F_REQUEST,
  RTMGRP_LINK,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
  SOCK_CLOEXEC,
  SOCK_RAW,
} from '../src/netlink/constants.js';
import { libc, lastErrno } from '../src/netlink/libc.js';
import { encodeLinkDumpRequest } from '../src/netlink/request.js';
import { openLinkSocket, type ReceiveEvent } from '../src/netlink/socket.js';
import { decodeFixtureMessages, type FixtureRecord, type IpRecord } from '../test/helpers/fixture-record.js';
import { createNetns, enterNetns, type Netns } from '../test/helpers/netns.js';

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

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('record-fixtures needs root (it creates a network namespace)');
  const netns = await createNetns('lsx-record');
  const leave = enterNetns(netns.name);
  const socket = openLinkSocket({ receiveBufferBytes: 4 << 20, groups: RTMGRP_LINK });
  let pending: ReceiveEvent[] = [];
  let lastEventAt = Date.now();
  socket.start((events) => {
    pending.push(...events);
    lastEventAt = Date.now();
  });
  const keepAlive = setInterval(() => {}, 1000); // the receive worker is unref'd
  const ip = (lines: string[]) => netns.ipBatch(lines);
  let forgedPid = 0;
  let lastKernelNewlink: Buffer | undefined;

  const steps: Step[] = [
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
        if (lastKernelNewlink === undefined) throw new Error('no kernel RTM_NEWLINK to replay');
        forgedPid = forge(socket.portId, lastKernelNewlink);
      },
    },
    { name: 'delete', description: 'ip link del uplink0 (takes vethb with it); ip link del br0', act: () => ip(['link del uplink0', 'link del br0']) },
  ];

  rmSync(OUT_DIR, { recursive: true, force: true });
  mkdirSync(OUT_DIR, { recursive: true });
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
        const base = `${String(n).padStart(2, '0')}-${step.name}-${what}`;
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
      console.log(`${step.name}: ${events.length} datagram(s)`);
    }
    if (forgedPid === 0) throw new Error('forged datagram was not sent');
  } finally {
    clearInterval(keepAlive);
    await socket.close();
    leave();
    await netns.destroy();
  }
  console.log(`${readdirSync(OUT_DIR).length} files in ${OUT_DIR}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
