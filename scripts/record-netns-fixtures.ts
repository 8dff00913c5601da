// Records the kernel's namespace-id messages for the unit tests (test/fixtures/netns/*.bin): the
// answer to an RTM_GETNSID dump, and the RTNLGRP_NSID notifications RTM_NEWNSID and RTM_DELNSID.
// Root only; makes and deletes its own namespaces (rec-nsid-*). Run after a build:
//   node dist/scripts/record-netns-fixtures.js
import { execFileSync } from 'node:child_process';
import { openSync, closeSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RTNLGRP_NSID } from '../src/rtnetlink/constants.js';
import { encodeAssignNsidRequest, encodeNsidDumpRequest } from '../src/rtnetlink/nsid.js';
import { openLinkSocket, type ReceiveEvent } from '../src/netlink/socket.js';
import { openRequestSocket } from '../src/netlink/request-socket.js';

const DIR = fileURLToPath(new URL('../../test/fixtures/netns/', import.meta.url));
const NAME = `rec-nsid-${process.pid}`;

function datagrams(events: readonly ReceiveEvent[]): Buffer[] {
  return events.flatMap((e) => (e.kind === 'datagram' ? [Buffer.from(e.data)] : []));
}

async function main(): Promise<void> {
  execFileSync('ip', ['netns', 'add', NAME]);
  const notifications: Buffer[] = [];
  const listener = openLinkSocket({ receiveBufferBytes: 1 << 20, groups: 0 });
  listener.addMembership(RTNLGRP_NSID);
  listener.start((events) => notifications.push(...datagrams(events)));
  const requests = openRequestSocket();
  try {
    const fd = openSync(`/run/netns/${NAME}`, 'r');
    try {
      requests.request(encodeAssignNsidRequest(1, fd), 1);
    } finally {
      closeSync(fd);
    }
    const dump = requests.request(encodeNsidDumpRequest(2), 2);
    // The dump's messages as the kernel packed them (one datagram here: a handful of nsids).
    writeFileSync(`${DIR}/getnsid-dump-answer.bin`, rebuild(dump));
    await new Promise((resolve) => setTimeout(resolve, 100));
    execFileSync('ip', ['netns', 'del', NAME]);
    await new Promise((resolve) => setTimeout(resolve, 300));
  } finally {
    requests.close();
    await listener.close();
    try {
      execFileSync('ip', ['netns', 'del', NAME], { stdio: 'ignore' });
    } catch {
      // deleted already
    }
  }
  const [newnsid, delnsid] = notifications;
  if (newnsid === undefined || delnsid === undefined) throw new Error(`expected two notifications, got ${notifications.length}`);
  writeFileSync(`${DIR}/notify-newnsid.bin`, newnsid);
  writeFileSync(`${DIR}/notify-delnsid.bin`, delnsid);
  process.stdout.write(`recorded into ${DIR}\n`);
}

/** The answer's messages back to back, as they lay in the datagram (headers included). */
function rebuild(messages: ReadonlyArray<{ type: number; flags: number; seq: number; pid: number; payload: Buffer }>): Buffer {
  const parts: Buffer[] = [];
  for (const m of messages) {
    const header = Buffer.alloc(16);
    const len = 16 + m.payload.length;
    header.writeUInt32LE(len, 0);
    header.writeUInt16LE(m.type, 4);
    header.writeUInt16LE(m.flags, 6);
    header.writeUInt32LE(m.seq, 8);
    header.writeUInt32LE(m.pid, 12);
    parts.push(header, m.payload, Buffer.alloc((4 - (len & 3)) & 3));
  }
  return Buffer.concat(parts);
}

main().catch((error: unknown) => {
  process.stderr.write(`record-netns-fixtures: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
