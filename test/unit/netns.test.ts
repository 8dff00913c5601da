// Namespaces (--collector.netns), the pure parts: the nsid messages (fixtures recorded from the
// real kernel by scripts/record-netns-fixtures.ts), the NETLINK_LISTEN_ALL_NSID control message
// (built to the uapi's struct cmsghdr layout: no device can hand us its raw bytes), the namespace
// set, the per-namespace rendering and the monitor's routing and per-namespace dumps.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { NetlinkDecodeError } from '../../src/netlink/errors.js';
import { LinkTable } from '../../src/links/table.js';
import { createLogger } from '../../src/runtime/logger.js';
import { ExporterMetrics, type NetnsError } from '../../src/metrics/exporter-metrics.js';
import { LinkFamiliesRenderer } from '../../src/metrics/link-families.js';
import { LinkMonitor } from '../../src/rtnetlink/link-monitor.js';
import {
  NETLINK_LISTEN_ALL_NSID,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_MULTI,
  NLM_F_REQUEST,
  SOL_NETLINK,
} from '../../src/netlink/constants.js';
import {
  IFLA_TARGET_NETNSID,
  NETNSA_FD,
  NETNSA_NSID,
  NETNSA_PID,
  RTM_DELNSID,
  RTM_GETLINK,
  RTM_GETNSID,
  RTM_NEWNSID,
} from '../../src/rtnetlink/constants.js';
import { decodeMessages } from '../../src/netlink/message.js';
import {
  decodeNsidMessage,
  encodeAssignNsidRequest,
  encodeNsidDumpRequest,
  encodeNsidOfFdRequest,
  encodeNsidOfPidRequest,
  type NsidMessage,
} from '../../src/rtnetlink/nsid.js';
import { encodeLinkDumpRequest } from '../../src/rtnetlink/request.js';
import { nsidFromControl } from '../../src/netlink/receiver.js';
import type { LinkMessage } from '../../src/netlink/types.js';
import { NamespaceDiscovery } from '../../src/netns/discovery.js';
import { NamespaceSet } from '../../src/netns/namespaces.js';
import { missingNetnsCapabilities } from '../../src/netns/privileges.js';
import { FakeSocket } from '../helpers/fake-socket.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { errorMessage, linkMessageBytes, nlmsg, vethLink } from '../helpers/netlink-bytes.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/netns/', import.meta.url));
const fixture = (name: string): Buffer => readFileSync(`${FIXTURES}${name}.bin`);

/** The attributes (type → s32) of an RTM_*NSID request. */
function nsidAttributes(bytes: Buffer): Map<number, number> {
  const attrs = new Map<number, number>();
  for (let at = NLMSG_HDRLEN + 4; at + 8 <= bytes.length; at += 8) attrs.set(bytes.readUInt16LE(at + 2), bytes.readInt32LE(at + 4));
  return attrs;
}

describe('nsid messages', () => {
  it('decodes the kernel\'s RTM_GETNSID dump answer: one RTM_NEWNSID per nsid, then NLMSG_DONE', () => {
    const messages = decodeMessages(fixture('getnsid-dump-answer'));
    const last = messages.pop();
    assert.equal(last?.type, NLMSG_DONE);
    assert.ok(messages.length >= 1);
    const nsids = messages.map((m) => {
      assert.equal(m.type, RTM_NEWNSID);
      assert.equal(m.flags & NLM_F_MULTI, NLM_F_MULTI);
      return decodeNsidMessage(m);
    });
    for (const n of nsids) assert.equal(n.kind, 'new');
    const ids = nsids.map((n) => n.nsid);
    assert.ok(ids.every((id) => Number.isInteger(id) && id >= 0), String(ids));
    assert.equal(new Set(ids).size, ids.length, 'distinct');
  });

  it('decodes the RTNLGRP_NSID notifications of one namespace given an nsid and deleted', () => {
    const [created] = decodeMessages(fixture('notify-newnsid'));
    const [deleted] = decodeMessages(fixture('notify-delnsid'));
    const a = decodeNsidMessage(created!);
    const b = decodeNsidMessage(deleted!);
    assert.equal(a.kind, 'new');
    assert.equal(b.kind, 'del');
    assert.equal(a.nsid, b.nsid);
    assert.ok(a.nsid >= 0);
  });

  it('rejects a short payload, a missing NETNSA_NSID and another message type with NetlinkDecodeError', () => {
    const [good] = decodeMessages(fixture('notify-newnsid'));
    const short = { ...good!, payload: good!.payload.subarray(0, 2) };
    const noNsid = { ...good!, payload: good!.payload.subarray(0, 4) };
    const other = { ...good!, type: RTM_GETLINK };
    for (const [msg, reason] of [
      [short, 'short_rtgenmsg'],
      [noNsid, 'missing_attribute'],
      [other, 'unexpected_type'],
    ] as const) {
      assert.throws(() => decodeNsidMessage(msg), (e: unknown) => e instanceof NetlinkDecodeError && e.reason === reason, reason);
    }
    // an attribute running past the payload
    const bad = Buffer.from(good!.payload);
    bad.writeUInt16LE(200, 4);
    assert.throws(() => decodeNsidMessage({ ...good!, payload: bad }), NetlinkDecodeError);
  });

  it('encodes the requests to the uapi layout (nlmsghdr, rtgenmsg padded to 4, NETNSA_* s32)', () => {
    const dump = encodeNsidDumpRequest(7);
    assert.equal(dump.readUInt32LE(0), dump.length);
    assert.equal(dump.length, NLMSG_HDRLEN + 4);
    assert.equal(dump.readUInt16LE(4), RTM_GETNSID);
    assert.equal(dump.readUInt16LE(6), NLM_F_REQUEST | NLM_F_DUMP);
    assert.equal(dump.readUInt32LE(8), 7);
    const byFd = encodeNsidOfFdRequest(8, 42);
    assert.equal(byFd.readUInt16LE(6), NLM_F_REQUEST | NLM_F_ACK);
    assert.deepEqual([...nsidAttributes(byFd)], [[NETNSA_FD, 42]]);
    assert.deepEqual([...nsidAttributes(encodeNsidOfPidRequest(9, 1234))], [[NETNSA_PID, 1234]]);
    const assign = encodeAssignNsidRequest(10, 5);
    assert.equal(assign.readUInt16LE(4), RTM_NEWNSID);
    assert.deepEqual([...nsidAttributes(assign)], [[NETNSA_FD, 5], [NETNSA_NSID, -1]]);
  });

  it('a link dump of another namespace carries IFLA_TARGET_NETNSID; one of our own carries nothing', () => {
    const own = encodeLinkDumpRequest(3);
    const other = encodeLinkDumpRequest(3, 17);
    assert.equal(other.length, own.length + 8);
    assert.equal(other.readUInt32LE(0), other.length);
    assert.equal(other.readUInt16LE(own.length + 2), IFLA_TARGET_NETNSID);
    assert.equal(other.readInt32LE(own.length + 4), 17);
    assert.throws(() => encodeLinkDumpRequest(3, -1), RangeError);
  });
});

describe('NETLINK_LISTEN_ALL_NSID control message', () => {
  /** struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; } + data, 64-bit layout. */
  function cmsg(level: number, type: number, data: Buffer): Buffer {
    const len = 16 + data.length;
    const buf = Buffer.alloc(len + ((8 - (len % 8)) % 8));
    buf.writeBigUInt64LE(BigInt(len), 0);
    buf.writeInt32LE(level, 8);
    buf.writeInt32LE(type, 12);
    data.copy(buf, 16);
    return buf;
  }
  const int = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    return b;
  };

  it('reads the nsid, also after another control message, and -1 when there is none', () => {
    const one = cmsg(SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, int(5));
    assert.equal(nsidFromControl(one, one.length), 5);
    const two = Buffer.concat([cmsg(1, 1, int(9)), cmsg(SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, int(12))]);
    assert.equal(nsidFromControl(two, two.length), 12);
    assert.equal(nsidFromControl(Buffer.alloc(64), 0), -1);
    assert.equal(nsidFromControl(cmsg(1, 1, int(9)), 24), -1);
  });

  it('never reads past msg_controllen or trusts a cmsg_len that overruns it', () => {
    const one = cmsg(SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, int(5));
    assert.equal(nsidFromControl(one, 16), -1);
    const lying = Buffer.from(one);
    lying.writeBigUInt64LE(4096n, 0);
    assert.equal(nsidFromControl(lying, lying.length), -1);
    const zero = Buffer.from(one);
    zero.writeBigUInt64LE(0n, 0);
    assert.equal(nsidFromControl(zero, zero.length), -1);
  });
});

describe('NamespaceSet', () => {
  it('routes our own datagrams (no nsid, or our self-id) to our table and others to theirs', () => {
    const set = new NamespaceSet();
    set.upsert(3, 'blue', 100);
    assert.equal(set.route(-1), set.own);
    assert.equal(set.route(3), set.get(3)?.table);
    assert.equal(set.route(4), undefined);
    set.selfNsid = 9;
    assert.equal(set.route(9), set.own);
    set.upsert(9, 'self', 1); // our own namespace is never another one
    assert.equal(set.size, 1);
  });

  it('tells listeners of additions and removals, and orders tables: ours first, then by label', () => {
    const set = new NamespaceSet();
    const seen: string[] = [];
    set.subscribe({ added: (ns) => seen.push(`+${ns.label}`), removed: (ns) => seen.push(`-${ns.label}`) });
    set.upsert(1, 'zeta', undefined);
    set.upsert(2, 'alpha', undefined);
    set.upsert(2, 'alpha', undefined); // no change, no event
    assert.deepEqual(set.tables().map((t) => t.netns), [undefined, 'alpha', 'zeta']);
    const version = set.version;
    set.remove(1);
    set.remove(1);
    assert.deepEqual(seen, ['+zeta', '+alpha', '-zeta']);
    assert.ok(set.version > version);
    assert.deepEqual(set.tables().map((t) => t.netns), [undefined, 'alpha']);
  });

  it('a relabel moves the table\'s links to the new label', () => {
    const set = new NamespaceSet();
    set.upsert(1, 'nsid-1', undefined);
    const table = set.get(1)!.table;
    table.apply(vethLink(2), 0);
    set.upsert(1, 'red', 7);
    assert.equal(set.get(1)?.table, table);
    assert.equal(table.get(2)?.netns, 'red');
    assert.equal(set.get(1)?.inode, 7);
  });

  it('the include/exclude filters leave a namespace out: not exported, its messages routed to "excluded"', () => {
    const set = new NamespaceSet(new LinkTable(), { exclude: /^(?:cni-.*)$/ });
    set.upsert(1, 'cni-1234', undefined);
    set.upsert(2, 'web', undefined);
    assert.equal(set.route(1), 'excluded');
    assert.equal(set.size, 1);
    assert.deepEqual(set.knownNsids().sort(), [1, 2]);
    set.remove(1);
    assert.equal(set.route(1), undefined);
  });
});

describe('missingNetnsCapabilities', () => {
  it('reads CapEff: NET_ADMIN is bit 12, NET_BROADCAST bit 11', () => {
    assert.deepEqual(missingNetnsCapabilities('Name:\tx\nCapEff:\t000001ffffffffff\n'), []);
    assert.deepEqual(missingNetnsCapabilities('CapEff:\t0000000000000000\n'), ['CAP_NET_ADMIN', 'CAP_NET_BROADCAST']);
    assert.deepEqual(missingNetnsCapabilities(`CapEff:\t${(1n << 12n).toString(16).padStart(16, '0')}\n`), ['CAP_NET_BROADCAST']);
    assert.deepEqual(missingNetnsCapabilities(`CapEff:\t${(1n << 11n).toString(16).padStart(16, '0')}\n`), ['CAP_NET_ADMIN']);
    assert.deepEqual(missingNetnsCapabilities('no such line'), ['CAP_NET_ADMIN', 'CAP_NET_BROADCAST']);
  });
});

describe('rendering several namespaces', () => {
  const render = (r: LinkFamiliesRenderer): string => Buffer.concat(r.pieces('prometheus', 0)).toString('utf8');

  it('the same device name in two namespaces gives two series; our own links have no netns label', () => {
    const set = new NamespaceSet();
    set.own.apply(vethLink(2, { ifname: 'eth0' }), 0);
    set.upsert(1, 'pod-a', undefined);
    set.upsert(2, 'pod"b', undefined);
    set.get(1)!.table.apply(vethLink(2, { ifname: 'eth0', carrierChanges: 7 }), 0);
    set.get(2)!.table.apply(vethLink(2, { ifname: 'eth0', carrierChanges: 9 }), 0);
    const text = render(new LinkFamiliesRenderer(set));
    const lines = text.split('\n').filter((l) => l.startsWith('linkstate_carrier_changes_total{'));
    assert.deepEqual(lines, [
      'linkstate_carrier_changes_total{device="eth0"} 2',
      // namespaces by label ('"' sorts before '-'), the label value escaped
      'linkstate_carrier_changes_total{device="eth0",netns="pod\\"b"} 9',
      'linkstate_carrier_changes_total{device="eth0",netns="pod-a"} 7',
    ]);
  });

  it('chunks span namespaces: 100 namespaces of 4 links are 2 pieces per family, not 100', () => {
    const set = new NamespaceSet();
    for (let n = 0; n < 100; n++) {
      set.upsert(n, `ns${String(n).padStart(3, '0')}`, undefined);
      for (let i = 2; i < 6; i++) set.get(n)!.table.apply(vethLink(i), 0);
    }
    const pieces = new LinkFamiliesRenderer(set).pieces('prometheus', 0);
    const carrier = pieces.findIndex((p) => p.toString().startsWith('# HELP linkstate_carrier '));
    // header, then the samples of 400 links in two chunks of up to 256
    assert.ok(pieces[carrier + 1]!.includes('netns="ns000"'));
    assert.ok(pieces[carrier + 2]!.includes('netns="ns099"'));
    assert.ok(pieces[carrier + 3]!.toString().startsWith('# HELP'));
  });

  it('a change re-renders only the chunk of the link that changed; a removed namespace takes its series with it', () => {
    const set = new NamespaceSet();
    set.upsert(1, 'a', undefined);
    set.upsert(2, 'b', undefined);
    for (let i = 2; i < 302; i++) set.get(1)!.table.apply(vethLink(i, { ifname: `v${String(i).padStart(4, '0')}` }), 0);
    set.get(2)!.table.apply(vethLink(2), 0);
    const renderer = new LinkFamiliesRenderer(set);
    const before = renderer.pieces('prometheus', 0);
    set.get(2)!.table.apply(vethLink(2, { carrierChanges: 4 }), 0);
    const after = renderer.pieces('prometheus', 0);
    // the first chunk (the first 256 links of a) is the very same buffers; the second, which
    // holds b's link, is new
    const first = (pieces: Buffer[]): Buffer[] => pieces.filter((p) => p.includes('device="v0002"'));
    const second = (pieces: Buffer[]): Buffer[] => pieces.filter((p) => p.includes('netns="b"'));
    assert.ok(first(before).length > 0);
    assert.deepEqual(first(after).map((p) => before.includes(p)), first(before).map(() => true));
    assert.ok(second(after).length > 0 && second(after).every((p) => !before.includes(p)));
    assert.match(Buffer.concat(after).toString(), /carrier_changes_total\{device="veth2",netns="b"\} 4/);
    set.remove(2);
    assert.doesNotMatch(render(renderer), /netns="b"/);
    assert.equal(renderer.exportedCount, 300);
  });
});

// ---- the monitor with namespaces, against a fake socket playing the kernel ----

interface Harness {
  monitor: LinkMonitor;
  set: NamespaceSet;
  metrics: ExporterMetrics;
  socket: FakeSocket;
  unknown: number[];
  nsidMessages: NsidMessage[];
  resyncs: number;
  /** The monitor's clock: time moves only by clock.advance(). */
  clock: ManualClock;
}

function harness(): Harness {
  const logger = createLogger({ level: 'error', format: 'json', destination: { write: () => undefined } });
  const set = new NamespaceSet();
  const metrics = new ExporterMetrics({ version: 't', revision: 't' }, () => 0);
  const sockets: FakeSocket[] = [];
  const h: Harness = {
    set,
    metrics,
    unknown: [],
    nsidMessages: [],
    resyncs: 0,
    clock: new ManualClock(1_000),
    socket: undefined as unknown as FakeSocket,
    monitor: undefined as unknown as LinkMonitor,
  };
  h.monitor = new LinkMonitor({
    openSocket: () => {
      const s = new FakeSocket(500 + sockets.length);
      sockets.push(s);
      h.socket = s;
      return s;
    },
    table: set.own,
    namespaces: set,
    metrics,
    logger,
    clock: h.clock,
    reopenBackoffMs: { initial: 5, max: 20 },
    discovery: {
      onUnknownNsid: (nsid) => {
        h.unknown.push(nsid);
        if (nsid === 42) set.selfNsid = 42; // as the discovery does when it is our own self-id
        return set.route(nsid) !== undefined;
      },
      onNsidMessage: (msg) => h.nsidMessages.push(msg),
      onResyncAll: () => h.resyncs++,
    },
  });
  return h;
}

/** The target nsid of the n-th request (undefined: our own namespace). */
function targetOf(s: FakeSocket, n: number): number | undefined {
  const bytes = s.sent[n]!;
  assert.equal(bytes.readUInt16LE(4), RTM_GETLINK);
  return bytes.length > NLMSG_HDRLEN + 16 ? bytes.readInt32LE(NLMSG_HDRLEN + 16 + 4) : undefined;
}

function reply(s: FakeSocket, n: number, ...links: LinkMessage[]): void {
  const seq = s.sentSeq(n);
  s.kernel(
    ...links.map((l) => linkMessageBytes(l, { flags: NLM_F_MULTI, seq, pid: s.portId })),
    nlmsg({ type: NLMSG_DONE, flags: NLM_F_MULTI, seq, pid: s.portId }, Buffer.alloc(4)),
  );
}

function fromNs(s: FakeSocket, nsid: number, link: LinkMessage): void {
  s.deliver({ kind: 'datagram', data: linkMessageBytes(link), senderPid: 0, truncated: false, nsid });
}

async function metric(metrics: ExporterMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const data = await metrics.registry.getSingleMetric(name)!.get();
  return data.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))?.value ?? 0;
}

describe('LinkMonitor with namespaces', () => {
  it('dumps our namespace, then each other one with IFLA_TARGET_NETNSID, one at a time; ready after the last', () => {
    const h = harness();
    h.set.upsert(4, 'a', undefined);
    h.set.upsert(6, 'b', undefined);
    h.monitor.start();
    const s = h.socket;
    assert.equal(s.sent.length, 1);
    assert.equal(targetOf(s, 0), undefined);
    reply(s, 0, vethLink(2));
    assert.equal(h.monitor.ready, false);
    assert.equal(s.sent.length, 2);
    assert.equal(targetOf(s, 1), 4);
    reply(s, 1, vethLink(2, { ifname: 'eth0' }));
    assert.equal(targetOf(s, 2), 6);
    assert.equal(h.monitor.ready, false);
    reply(s, 2, vethLink(2, { ifname: 'eth0' }), vethLink(3));
    assert.equal(h.monitor.ready, true);
    assert.equal(s.sent.length, 3);
    assert.equal(h.set.own.size, 1);
    assert.equal(h.set.get(4)?.table.size, 1);
    assert.equal(h.set.get(6)?.table.size, 2);
    assert.equal(h.set.get(6)?.table.get(2)?.netns, 'b');
  });

  it('routes each notification by its nsid: the same ifindex in three namespaces is three links', () => {
    const h = harness();
    h.set.upsert(4, 'a', undefined);
    h.monitor.start();
    const s = h.socket;
    reply(s, 0, vethLink(2));
    reply(s, 1, vethLink(2));
    fromNs(s, 4, vethLink(2, { carrierChanges: 11 }));
    fromNs(s, -1, vethLink(2, { carrierChanges: 5 }));
    assert.equal(h.set.get(4)?.table.get(2)?.carrierChanges, 11);
    assert.equal(h.set.own.get(2)?.carrierChanges, 5);
  });

  it('a datagram from an unknown nsid is counted, dropped and reported; a known excluded one is ignored', async () => {
    const h = harness();
    h.monitor.start();
    reply(h.socket, 0);
    fromNs(h.socket, 8, vethLink(2));
    assert.deepEqual(h.unknown, [8]);
    assert.equal(await metric(h.metrics, 'linkstate_exporter_netlink_dropped_total', { reason: 'unknown_nsid' }), 1);
    assert.equal(h.set.own.size, 0);
    // our own namespace's new self-id: known at once, the datagram applied to our own table
    fromNs(h.socket, 42, vethLink(2));
    assert.equal(h.set.own.size, 1);
    assert.equal(await metric(h.metrics, 'linkstate_exporter_netlink_dropped_total', { reason: 'unknown_nsid' }), 1);
  });

  it('a namespace whose dumps keep failing does not keep the exporter unready; it is retried', async () => {
    const h = harness();
    h.set.upsert(1, 'bad', undefined);
    h.monitor.start();
    const s = h.socket;
    reply(s, 0);
    s.kernel(errorMessage(-13, s.sent[1]!.subarray(0, NLMSG_HDRLEN)));
    assert.equal(h.monitor.ready, true);
    h.clock.advance(4);
    assert.equal(s.sent.length, 2, 'not at once');
    h.clock.advance(1);
    assert.equal(targetOf(s, 2), 1, 'retried');
    await h.monitor.close();
  });

  it('replies of a dump whose nsid now names another namespace are not applied to the new one', () => {
    const h = harness();
    h.set.upsert(5, 'old', 100);
    h.monitor.start();
    const s = h.socket;
    reply(s, 0);
    assert.equal(targetOf(s, 1), 5);
    h.set.upsert(5, 'new', 200); // nsid 5 reused: the old namespace's table goes, the new one is dumped
    reply(s, 1, vethLink(9));
    assert.equal(h.set.get(5)?.table.get(9), undefined, 'the old dump is not the new namespace\'s');
    assert.equal(targetOf(s, 2), 5, 'the new namespace is dumped');
    reply(s, 2, vethLink(3));
    assert.equal(h.set.get(5)?.table.get(3)?.netns, 'new');
  });

  it('a namespace added later is dumped; one removed mid-dump neither blocks the queue nor gets a table', () => {
    const h = harness();
    h.monitor.start();
    const s = h.socket;
    reply(s, 0, vethLink(2));
    assert.equal(h.monitor.ready, true);
    h.set.upsert(3, 'late', undefined);
    h.set.upsert(5, 'gone', undefined);
    assert.equal(targetOf(s, 1), 3);
    h.set.remove(3);
    reply(s, 1, vethLink(2)); // its replies find no table
    assert.equal(targetOf(s, 2), 5);
    reply(s, 2, vethLink(7));
    assert.equal(h.set.get(5)?.table.size, 1);
    assert.equal(h.set.get(3), undefined);
  });

  it('the first dump of a namespace is not a resync; its dump after an overrun is', async () => {
    const h = harness();
    h.monitor.start();
    const s = h.socket;
    reply(s, 0);
    h.set.upsert(3, 'late', undefined);
    reply(s, 1, vethLink(2));
    assert.equal(await metric(h.metrics, 'linkstate_exporter_netlink_resyncs_total'), 0);
    s.deliver({ kind: 'overrun' });
    reply(s, 2);
    reply(s, 3, vethLink(2));
    assert.equal(await metric(h.metrics, 'linkstate_exporter_netlink_resyncs_total'), 2);
  });

  it('a failed dump of one namespace is retried after a backoff of its own while the others go on', async () => {
    const h = harness();
    h.set.upsert(1, 'bad', undefined);
    h.set.upsert(2, 'good', undefined);
    h.monitor.start();
    const s = h.socket;
    reply(s, 0);
    assert.equal(targetOf(s, 1), 1);
    s.kernel(errorMessage(-22, s.sent[1]!.subarray(0, NLMSG_HDRLEN)));
    assert.equal(targetOf(s, 2), 2, 'the next namespace is dumped at once');
    reply(s, 2, vethLink(4));
    assert.equal(h.monitor.ready, true, 'ready: every namespace has had its first attempt');
    assert.equal(h.set.get(1)?.table.size, 0);
    h.clock.advance(4);
    assert.equal(s.sent.length, 3, 'not at once');
    h.clock.advance(1);
    assert.equal(targetOf(s, 3), 1, 'retried');
    reply(s, 3, vethLink(4));
    assert.equal(h.set.get(1)?.table.size, 1);
    assert.equal(await metric(h.metrics, 'linkstate_exporter_netlink_dump_failures_total', { reason: 'refused' }), 1);
    await h.monitor.close();
  });

  /** Delivers a datagram that carries an nsid (NETLINK_LISTEN_ALL_NSID), as a notification does. */
  const forge = (s: FakeSocket, nsid: number, ...messages: Buffer[]): void =>
    s.deliver({ kind: 'datagram', data: Buffer.concat(messages), senderPid: 0, truncated: false, nsid });
  /** The header of the n-th dump's replies: its seq, our port id. */
  const replyHeader = (s: FakeSocket, n: number, flags = 0): { flags: number; seq: number; pid: number } => ({ flags: NLM_F_MULTI | flags, seq: s.sentSeq(n), pid: s.portId });

  it('during the dump of our namespace, a datagram with an nsid and its seq and our port id is that nsid\'s notification', () => {
    const h = harness();
    h.set.upsert(4, 'a', undefined);
    h.monitor.start();
    const s = h.socket;
    // a tenant of a forges a "reply" and a DONE of our dump
    forge(s, 4, linkMessageBytes(vethLink(55), replyHeader(s, 0)), nlmsg({ type: NLMSG_DONE, ...replyHeader(s, 0) }, Buffer.alloc(4)));
    assert.equal(h.set.own.get(55), undefined, 'not in our own table');
    assert.equal(h.set.get(4)?.table.get(55)?.netns, 'a', 'a notification of a');
    assert.equal(s.sent.length, 1, 'our dump still runs');
    reply(s, 0, vethLink(2));
    assert.deepEqual([...h.set.own.links()].map((l) => l.ifindex), [2]);
  });

  it('during the dump of another namespace, a datagram with an nsid and its seq and our port id is that nsid\'s notification', async () => {
    const h = harness();
    h.set.upsert(4, 'a', undefined);
    h.set.upsert(6, 'b', undefined);
    h.monitor.start();
    const s = h.socket;
    reply(s, 0, vethLink(2));
    // the dump of a (IFLA_TARGET_NETNSID 4): forged by a tenant of b, and by one of a itself
    assert.equal(targetOf(s, 1), 4);
    forge(s, 6, linkMessageBytes(vethLink(66), replyHeader(s, 1)));
    forge(s, 4, linkMessageBytes(vethLink(77), replyHeader(s, 1, NLM_F_DUMP_INTR)));
    forge(s, 4, nlmsg({ type: NLMSG_DONE, ...replyHeader(s, 1) }, Buffer.from([0xa6, 0xff, 0xff, 0xff]))); // status -90
    forge(s, 4, nlmsg({ type: NLMSG_DONE, ...replyHeader(s, 1, NLM_F_DUMP_INTR) }, Buffer.alloc(4)));
    forge(s, 4, errorMessage(-16, s.sent[1]!.subarray(0, NLMSG_HDRLEN))); // echoing our request
    forge(s, 6, nlmsg({ type: NLMSG_DONE, ...replyHeader(s, 1) }, Buffer.alloc(4)));
    assert.equal(h.set.get(6)?.table.get(66)?.netns, 'b', 'b\'s notification applied to b');
    assert.equal(h.set.get(4)?.table.get(66), undefined, 'and not to the dumped namespace');
    assert.equal(s.sent.length, 2, 'nothing ended the dump of a');
    reply(s, 1, vethLink(3));
    assert.equal(targetOf(s, 2), 6, 'the real DONE (no nsid) ended it');
    reply(s, 2, vethLink(66));
    assert.equal(h.monitor.ready, true);
    // 77, announced by a while its dump ran, is kept by the prune of that complete dump
    assert.deepEqual([...h.set.get(4)!.table.links()].map((l) => l.ifindex).sort((x, y) => x - y), [3, 77]);
    assert.equal(await metric(h.metrics, 'linkstate_exporter_netlink_dumps_interrupted_total'), 0);
    for (const reason of ['done_error', 'refused']) {
      assert.equal(await metric(h.metrics, 'linkstate_exporter_netlink_dump_failures_total', { reason }), 0, reason);
    }
    assert.deepEqual([...h.set.own.links()].map((l) => l.ifindex), [2]);
  });

  it('a namespace whose every dump is interrupted is dumped again at the backoff\'s pace and does not keep the exporter unready', async () => {
    const h = harness(); // backoff 5 ms, doubling up to 20
    h.set.upsert(4, 'churning', undefined);
    h.monitor.start();
    const s = h.socket;
    reply(s, 0, vethLink(2));
    const interrupt = (n: number): void => {
      assert.equal(targetOf(s, n), 4);
      s.kernel(linkMessageBytes(vethLink(3), replyHeader(s, n, NLM_F_DUMP_INTR)), nlmsg({ type: NLMSG_DONE, ...replyHeader(s, n, NLM_F_DUMP_INTR) }, Buffer.alloc(4)));
    };
    interrupt(1);
    assert.equal(h.monitor.ready, true, 'its first attempt counts, as a failed one does');
    assert.equal(s.sent.length, 2, 'not dumped again at once');
    const gaps: number[] = [];
    for (let n = 2; n <= 5; n++) {
      let waited = 0;
      while (s.sent.length <= n && waited < 1000) {
        h.clock.advance(1);
        waited++;
      }
      gaps.push(waited);
      interrupt(n);
    }
    assert.deepEqual(gaps, [5, 10, 20, 20]);
    assert.equal(await metric(h.metrics, 'linkstate_exporter_netlink_dumps_interrupted_total'), 5);
    assert.equal(h.set.get(4)?.table.get(3)?.netns, 'churning', 'what the interrupted dumps saw is applied');
    await h.monitor.close();
  });

  it('a complete dump prunes its own namespace\'s table only', () => {
    const h = harness();
    h.set.upsert(1, 'a', undefined);
    h.monitor.start();
    const s = h.socket;
    reply(s, 0, vethLink(2), vethLink(3));
    reply(s, 1, vethLink(2), vethLink(3));
    // an overrun: everything is dumped again, ours first
    s.deliver({ kind: 'overrun' });
    assert.equal(h.resyncs, 1);
    assert.equal(targetOf(s, 2), undefined);
    reply(s, 2, vethLink(2), vethLink(3));
    assert.equal(targetOf(s, 3), 1);
    reply(s, 3, vethLink(2)); // veth3 of namespace a was deleted while messages were lost
    assert.equal(h.set.get(1)?.table.size, 1);
    assert.equal(h.set.own.size, 2);
  });

  it('hands our own RTM_NEWNSID/RTM_DELNSID to the discovery, and ignores those other namespaces send', () => {
    const h = harness();
    h.set.upsert(1, 'a', undefined);
    h.monitor.start();
    const s = h.socket;
    const nsidMsg = (type: number, nsid: number): Buffer => {
      const payload = Buffer.alloc(12);
      payload.writeUInt16LE(8, 4);
      payload.writeUInt16LE(NETNSA_NSID, 6);
      payload.writeInt32LE(nsid, 8);
      return nlmsg({ type, flags: 0, seq: 0, pid: 0 }, payload);
    };
    s.deliver({ kind: 'datagram', data: nsidMsg(RTM_NEWNSID, 7), senderPid: 0, truncated: false, nsid: -1 });
    s.deliver({ kind: 'datagram', data: nsidMsg(RTM_DELNSID, 7), senderPid: 0, truncated: false });
    s.deliver({ kind: 'datagram', data: nsidMsg(RTM_NEWNSID, 3), senderPid: 0, truncated: false, nsid: 1 });
    assert.deepEqual(h.nsidMessages, [
      { kind: 'new', nsid: 7 },
      { kind: 'del', nsid: 7 },
    ]);
  });
});

describe('link events of other namespaces', () => {
  it('carry netns after device; our own carry no netns key', async () => {
    const { transitionsOf } = await import('../../src/links/event-log.js');
    const pod = new LinkTable('pod-a');
    pod.apply(vethLink(2), 0);
    const down = pod.apply(vethLink(2, { carrier: 0, flags: 1, carrierChanges: 3, carrierDownCount: 2 }), 1);
    const [event] = transitionsOf(down, 0).filter((e) => e.type === 'carrier');
    assert.deepEqual(Object.keys(event!).slice(0, 4), ['time', 'type', 'device', 'netns']);
    assert.equal(event!.netns, 'pod-a');
    const own = new LinkTable();
    own.apply(vethLink(2), 0);
    const ownDown = own.apply(vethLink(2, { carrier: 0, flags: 1, carrierChanges: 3, carrierDownCount: 2 }), 1);
    for (const e of transitionsOf(ownDown, 0)) assert.equal('netns' in e, false);
  });
});

describe('linkstate_netns_info', () => {
  it('one sample per exported namespace, by label, escaped; cached until a namespace, label or inode changes', async () => {
    const { NamespaceInfoFamily } = await import('../../src/metrics/namespace-info-family.js');
    const set = new NamespaceSet();
    const family = new NamespaceInfoFamily(set);
    assert.deepEqual(family.pieces('prometheus'), [], 'no namespace, no family');
    set.upsert(7, 'web', 4026532177);
    set.upsert(3, 'a"b', undefined);
    const [header, samples] = family.pieces('prometheus');
    assert.equal(header!.toString(), `# HELP linkstate_netns_info ${header!.toString().split('\n')[0]!.slice('# HELP linkstate_netns_info '.length)}\n# TYPE linkstate_netns_info gauge\n`);
    assert.equal(samples!.toString(), 'linkstate_netns_info{netns="a\\"b",nsid="3",inode=""} 1\nlinkstate_netns_info{netns="web",nsid="7",inode="4026532177"} 1\n');
    assert.match(family.pieces('openmetrics')[0]!.toString(), /^# TYPE linkstate_netns info$/m);
    assert.equal(family.pieces('prometheus')[1], samples, 'the same buffer while nothing changed');
    set.upsert(3, 'a"b', 99);
    assert.match(family.pieces('prometheus')[1]!.toString(), /nsid="3",inode="99"/);
    set.remove(7);
    assert.doesNotMatch(family.pieces('prometheus')[1]!.toString(), /web/);
  });
});

// ---- the discovery's timing, on a ManualClock, against a request socket playing the kernel ----

describe('NamespaceDiscovery timing', () => {
  /**
   * A discovery of one path directory, in a kernel where no namespace has an nsid: the nsid dump
   * is empty and every other request is refused (ENOENT).
   */
  function discoveryOf(files: readonly string[]) {
    const dir = mkdtempSync(join(tmpdir(), 'discovery-clock-'));
    for (const name of files) writeFileSync(join(dir, name), '');
    const clock = new ManualClock();
    const errors: NetnsError[] = [];
    const requests: number[] = []; // nlmsg_type of each request
    const discovery = new NamespaceDiscovery({
      namespaces: new NamespaceSet(),
      paths: [dir],
      logger: createLogger({ level: 'error', format: 'json', destination: { write: () => undefined } }),
      countError: (reason) => errors.push(reason),
      clock,
      openRequestSocket: () => ({
        request: (bytes, seq) => {
          requests.push(bytes.readUInt16LE(4));
          if ((bytes.readUInt16LE(6) & NLM_F_DUMP) === NLM_F_DUMP) return decodeMessages(nlmsg({ type: NLMSG_DONE, flags: NLM_F_MULTI, seq }, Buffer.alloc(4)));
          const refusal = Buffer.alloc(4);
          refusal.writeInt32LE(-2, 0);
          return decodeMessages(nlmsg({ type: NLMSG_ERROR, seq }, Buffer.concat([refusal, bytes.subarray(0, NLMSG_HDRLEN)])));
        },
        close: () => undefined,
      }),
    });
    const done = (): void => {
      discovery.close();
      rmSync(dir, { recursive: true, force: true });
    };
    return { discovery, clock, errors, requests, done };
  }

  it('a file under a path that never becomes a namespace is counted once, not before 750 ms after it was first seen', () => {
    const d = discoveryOf(['not-a-namespace']);
    try {
      d.discovery.start();
      d.clock.advance(749); // looked at again meanwhile: `ip netns add` mounts after it creates
      assert.deepEqual(d.errors, [], 'maybe not mounted yet');
      d.clock.advance(1_000);
      assert.deepEqual(d.errors, ['not_a_namespace']);
      d.clock.advance(60_000); // the periodic rescans see it again
      assert.deepEqual(d.errors, ['not_a_namespace'], 'counted once');
    } finally {
      d.done();
    }
  });

  it('a datagram from an unknown nsid is looked into at most once a second per nsid', () => {
    const d = discoveryOf([]);
    try {
      d.discovery.start();
      const asked = (nsid: number): number => {
        const before = d.requests.length;
        assert.equal(d.discovery.onUnknownNsid(nsid), false);
        return d.requests.length - before;
      };
      assert.equal(asked(9), 1, 'asked at once whether it is our own self-id');
      d.clock.advance(999);
      assert.equal(asked(9), 0, 'not again within the second');
      assert.equal(asked(10), 1, 'another nsid is asked about on its own');
      d.clock.advance(1);
      assert.equal(asked(9), 1, 'again a second later');
      assert.ok(d.requests.every((type) => type === RTM_GETNSID));
    } finally {
      d.done();
    }
  });
});
