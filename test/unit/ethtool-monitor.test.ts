// The ethtool client against a FakeSocket playing the kernel: family resolution (and its absence),
// per-link coalescing (one pair in flight, a dirty link asked once more), the in-flight window,
// EOPNOTSUPP / ENODEV, notifications, undecodable replies and overruns.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EthtoolMonitor } from '../../src/ethtool/monitor.js';
import {
  CTRL_ATTR_FAMILY_ID,
  CTRL_ATTR_FAMILY_NAME,
  CTRL_ATTR_MCAST_GROUPS,
  CTRL_ATTR_MCAST_GRP_ID,
  CTRL_ATTR_MCAST_GRP_NAME,
  CTRL_CMD_NEWFAMILY,
  ETHTOOL_A_LINKINFO_HEADER,
  ETHTOOL_A_LINKMODES_AUTONEG,
  ETHTOOL_A_LINKMODES_DUPLEX,
  ETHTOOL_A_LINKMODES_HEADER,
  ETHTOOL_A_LINKMODES_SPEED,
  ETHTOOL_A_HEADER_FLAGS,
  ETHTOOL_A_LINKSTATE_EXT_DOWN_CNT,
  ETHTOOL_A_LINKSTATE_EXT_STATE,
  ETHTOOL_A_LINKSTATE_EXT_SUBSTATE,
  ETHTOOL_A_LINKSTATE_HEADER,
  ETHTOOL_A_LINKSTATE_LINK,
  ETHTOOL_FLAG_COMPACT_BITSETS,
  ETHTOOL_FLAG_STATS,
  ETHTOOL_MSG_LINKINFO_NTF,
  ETHTOOL_MSG_LINKMODES_GET,
  ETHTOOL_MSG_LINKMODES_GET_REPLY,
  ETHTOOL_MSG_LINKMODES_NTF,
  ETHTOOL_MSG_LINKSTATE_GET,
  ETHTOOL_MSG_LINKSTATE_GET_REPLY,
  GENL_ID_CTRL,
} from '../../src/ethtool/constants.js';
import { NetlinkSocketError } from '../../src/netlink/errors.js';
import { LinkTable } from '../../src/links/table.js';
import { createLogger } from '../../src/runtime/logger.js';
import { ExporterMetrics } from '../../src/metrics/exporter-metrics.js';
import { NLMSG_ERROR } from '../../src/netlink/constants.js';
import type { LinkMessage } from '../../src/netlink/types.js';
import { FakeSocket } from '../helpers/fake-socket.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { deviceHeader, genlMessage, nest, str, u16, u32, u8 } from '../helpers/ethtool-bytes.js';
import { nlmsg, vethLink } from '../helpers/netlink-bytes.js';

const FAMILY = 23;
const MONITOR_GROUP = 7;
const PORT = 4242;

/** A message as the kernel addresses a reply to us: our seq and our port id in the header. */
function toUs(bytes: Buffer, seq: number, pid = PORT): Buffer {
  const out = Buffer.from(bytes);
  out.writeUInt32LE(seq, 8);
  out.writeUInt32LE(pid, 12);
  return out;
}

function newFamily(seq: number, groups = true): Buffer {
  const attrs = [u16(CTRL_ATTR_FAMILY_ID, FAMILY), str(CTRL_ATTR_FAMILY_NAME, 'ethtool')];
  if (groups) attrs.push(nest(CTRL_ATTR_MCAST_GROUPS, nest(1, str(CTRL_ATTR_MCAST_GRP_NAME, 'monitor'), u32(CTRL_ATTR_MCAST_GRP_ID, MONITOR_GROUP))));
  return toUs(genlMessage(GENL_ID_CTRL, CTRL_CMD_NEWFAMILY, attrs), seq);
}

function errorFor(request: Buffer, errno: number): Buffer {
  const data = Buffer.alloc(4);
  data.writeInt32LE(-errno, 0);
  return toUs(nlmsg({ type: NLMSG_ERROR }, Buffer.concat([data, request.subarray(0, 16)])), request.readUInt32LE(8));
}

function modesReply(ifindex: number, speed: number, duplex: number, autoneg: number, cmd = ETHTOOL_MSG_LINKMODES_GET_REPLY): Buffer {
  return genlMessage(FAMILY, cmd, [
    deviceHeader(ETHTOOL_A_LINKMODES_HEADER, ifindex, `veth${ifindex}`),
    u8(ETHTOOL_A_LINKMODES_AUTONEG, autoneg),
    u32(ETHTOOL_A_LINKMODES_SPEED, speed),
    u8(ETHTOOL_A_LINKMODES_DUPLEX, duplex),
  ]);
}

function stateReply(ifindex: number, link: number, ext?: [number, number], downEvents?: number): Buffer {
  const attrs = [deviceHeader(ETHTOOL_A_LINKSTATE_HEADER, ifindex, `veth${ifindex}`), u8(ETHTOOL_A_LINKSTATE_LINK, link)];
  if (ext !== undefined) attrs.push(u8(ETHTOOL_A_LINKSTATE_EXT_STATE, ext[0]), u8(ETHTOOL_A_LINKSTATE_EXT_SUBSTATE, ext[1]));
  if (downEvents !== undefined) attrs.push(u32(ETHTOOL_A_LINKSTATE_EXT_DOWN_CNT, downEvents));
  return genlMessage(FAMILY, ETHTOOL_MSG_LINKSTATE_GET_REPLY, attrs);
}

/** ETHTOOL_A_HEADER_FLAGS of a request, when it has any (the header nest: DEV_INDEX, then FLAGS). */
function headerFlags(request: Buffer): number | undefined {
  return request.length >= 40 && request.readUInt16LE(34) === ETHTOOL_A_HEADER_FLAGS ? request.readUInt32LE(36) : undefined;
}

interface Request {
  readonly bytes: Buffer;
  readonly seq: number;
  readonly cmd: number;
  readonly ifindex: number;
}

function parseRequest(bytes: Buffer): Request {
  // nlmsghdr, genlmsghdr, then the header nest: its first child is DEV_INDEX (u32)
  const cmd = bytes[16] as number;
  return { bytes, seq: bytes.readUInt32LE(8), cmd, ifindex: bytes.readUInt32LE(28) };
}

function setup(opts: { links?: number; maxInFlightLinks?: number; minIntervalMs?: number; lostAfterMs?: number; open?: () => FakeSocket } = {}) {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', format: 'logfmt', destination: { write: (line: string) => lines.push(line) } });
  const table = new LinkTable();
  const metrics = new ExporterMetrics({ version: 't', revision: 't' }, () => table.size);
  const clock = new ManualClock();
  const socket = new FakeSocket(PORT);
  const client = new EthtoolMonitor({
    openSocket: opts.open ?? (() => socket),
    table,
    metrics,
    logger,
    clock,
    minIntervalMs: opts.minIntervalMs ?? 0,
    ...(opts.lostAfterMs === undefined ? {} : { lostAfterMs: opts.lostAfterMs }),
    ...(opts.maxInFlightLinks === undefined ? {} : { maxInFlightLinks: opts.maxInFlightLinks }),
  });
  table.subscribe(client.onLinkChange);
  const links = opts.links ?? 0;
  for (let i = 1; i <= links; i++) table.apply(vethLink(i + 1), clock.now());
  let taken = 0;
  const kit = {
    lines,
    table,
    metrics,
    socket,
    client,
    /** Time passes: the client's timers due meanwhile run. */
    advance: (ms: number) => clock.advance(ms),
    /** Time passes while the event loop is busy: no timer runs (yet). */
    stall: (ms: number) => clock.stall(ms),
    /** Requests sent since the last call (GETFAMILY excluded). */
    take(): Request[] {
      const out = socket.sent.slice(taken).map(parseRequest).filter((r) => r.cmd === ETHTOOL_MSG_LINKMODES_GET || r.cmd === ETHTOOL_MSG_LINKSTATE_GET);
      taken = socket.sent.length;
      return out;
    },
    resolve(): void {
      client.start();
      assert.equal(client.phase, 'resolving');
      socket.kernel(newFamily(socket.sentSeq(0)));
      assert.equal(client.phase, 'ready');
    },
    /** Answers requests as a veth would (10000 Mb/s full, autoneg off, link up). */
    answer(requests: readonly Request[]): void {
      socket.kernel(
        ...requests.map((r) => toUs(r.cmd === ETHTOOL_MSG_LINKMODES_GET ? modesReply(r.ifindex, 10000, 1, 0) : stateReply(r.ifindex, 1), r.seq)),
      );
    },
    carrier(ifindex: number, up: boolean, changes: number): void {
      const msg: LinkMessage = vethLink(ifindex, {
        carrier: up ? 1 : 0,
        flags: up ? 0x10001 : 0x1,
        carrierChanges: changes,
        carrierUpCount: Math.ceil(changes / 2),
        carrierDownCount: Math.floor(changes / 2),
      });
      table.apply(msg, clock.now());
    },
  };
  return kit;
}

describe('ethtool client', () => {
  it('resolves the family, joins the monitor group and asks every known link one LINKMODES + LINKSTATE pair', () => {
    const k = setup({ links: 3 });
    assert.equal(k.socket.sent.length, 0, 'nothing sent before start');
    k.resolve();
    assert.deepEqual(k.socket.memberships, [MONITOR_GROUP]);
    const sent = k.take();
    assert.equal(sent.length, 6);
    for (const ifindex of [2, 3, 4]) {
      assert.deepEqual(sent.filter((r) => r.ifindex === ifindex).map((r) => r.cmd).sort(), [ETHTOOL_MSG_LINKMODES_GET, ETHTOOL_MSG_LINKSTATE_GET]);
    }
    assert.ok(sent.every((r) => r.bytes.readUInt16LE(4) === FAMILY), 'requests go to the resolved family id');
    k.answer(sent);
    const link = k.table.get(2);
    assert.equal(link?.speedMbps, 10000);
    assert.equal(link?.duplex, 'full');
    assert.equal(link?.autoneg, false);
    assert.equal(k.client.inFlight, 0);
    assert.equal(k.client.requestsSent, 6);
  });

  it('without an ethtool family: one info line, nothing more sent, values absent', () => {
    const k = setup({ links: 2 });
    k.client.start();
    const getFamily = k.socket.sent[0] as Buffer;
    k.socket.kernel(errorFor(getFamily, 2 /* ENOENT */));
    assert.equal(k.client.phase, 'unavailable');
    assert.ok(k.socket.closed);
    const info = k.lines.filter((l) => l.includes('ethtool netlink not available'));
    assert.equal(info.length, 1);
    assert.match(info[0] as string, /level=info/);
    k.carrier(2, false, 3);
    assert.equal(k.take().length, 0);
    assert.equal(k.table.get(2)?.speedMbps, undefined);
  });

  it('when no generic netlink socket can be opened: one info line, off', () => {
    const k = setup({
      links: 1,
      open: () => {
        throw new NetlinkSocketError('socket', 93 /* EPROTONOSUPPORT */);
      },
    });
    k.client.start();
    assert.equal(k.client.phase, 'unavailable');
    assert.equal(k.lines.filter((l) => l.includes('ethtool netlink not available')).length, 1);
  });

  it('coalesces per link: a burst of carrier changes while a pair is in flight asks exactly once more', () => {
    const k = setup({ links: 1 });
    k.resolve();
    const first = k.take();
    assert.equal(first.length, 2);
    for (let i = 1; i <= 100; i++) k.carrier(2, i % 2 === 0, 2 + i);
    assert.equal(k.take().length, 0, 'nothing sent while the pair is in flight');
    k.answer(first.slice(0, 1));
    assert.equal(k.take().length, 0, 'not before both replies are in');
    k.answer(first.slice(1));
    const again = k.take();
    assert.equal(again.length, 2, 'the dirty link is asked once more');
    k.answer(again);
    assert.equal(k.take().length, 0, 'and then it rests');
    assert.equal(k.client.requestsSent, 4);
  });

  it('in a storm over many links, requests stay within links x a small factor', () => {
    const links = 200;
    const k = setup({ links, maxInFlightLinks: 64 });
    k.resolve();
    let pending = k.take();
    assert.equal(pending.length, 2 * 64, 'no more than the window in flight');
    let changes = 2;
    let seed = 7;
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    for (let round = 0; round < 500; round++) {
      changes++;
      for (let j = 0; j < 20; j++) k.carrier(2 + random(links), changes % 2 === 0, changes);
      // the kernel answers part of what is out, in order
      const answered = pending.splice(0, random(pending.length + 1));
      k.answer(answered);
      pending.push(...k.take());
      assert.ok(k.client.inFlight <= 64);
    }
    while (pending.length > 0) {
      k.answer(pending.splice(0));
      pending = k.take();
    }
    const sent = k.client.requestsSent;
    assert.ok(sent <= links * 2 * 40, `bounded: ${sent}`); // 10,000 carrier events, never one pair each
    assert.ok(sent < 10_000, `fewer than the 10,000 events: ${sent}`);
    for (const link of k.table.links()) assert.equal(link.speedMbps, 10000, `${link.name} answered`);
  });

  it('asks a link at most once per minIntervalMs: changes meanwhile are asked when it is over; after a quiet spell at once', () => {
    const k = setup({ links: 1, minIntervalMs: 50 });
    k.resolve();
    k.answer(k.take());
    for (let i = 1; i <= 10; i++) k.carrier(2, i % 2 === 0, 2 + i);
    assert.equal(k.take().length, 0, 'held down');
    k.advance(49);
    assert.equal(k.take().length, 0, 'held down until the interval is over');
    k.advance(1);
    const late = k.take();
    assert.equal(late.length, 2, 'asked once the interval is over');
    k.answer(late);
    assert.equal(k.take().length, 0);
    k.advance(1000);
    k.carrier(2, false, 13);
    assert.equal(k.take().length, 2, 'the first change after a quiet spell is asked at once');
  });

  it('in a storm answered at once, requests per link are bounded by its duration / minIntervalMs', () => {
    const links = 20;
    const k = setup({ links, minIntervalMs: 50 });
    k.resolve();
    k.answer(k.take());
    let changes = 2;
    for (let ms = 0; ms < 1000; ms++) {
      k.advance(1);
      changes++;
      k.carrier(2 + (ms % links), changes % 2 === 0, changes);
      k.answer(k.take());
    }
    const sent = k.client.requestsSent;
    // 1,000 carrier events; 20 links x (1000 / 50 + 1 first) pairs at most
    assert.ok(sent <= links * 2 * (1000 / 50 + 2), `bounded: ${sent}`);
    assert.ok(sent >= links * 2 * 2, `but asked: ${sent}`);
  });

  it('holds its requests while the rtnetlink socket has a backlog, sends them once it is read empty, and holds at most maxHoldMs', () => {
    const k = setup({ links: 3 });
    k.resolve();
    k.answer(k.take());
    k.client.holdForBacklog(true);
    k.carrier(2, false, 3);
    k.carrier(3, false, 3);
    k.advance(500);
    k.client.holdForBacklog(true);
    assert.equal(k.take().length, 0, 'nothing sent while the storm is being read');
    k.client.holdForBacklog(false);
    const released = k.take();
    assert.deepEqual(released.map((r) => r.ifindex).sort(), [2, 2, 3, 3], 'both links asked once it is read empty');
    k.answer(released);

    k.client.holdForBacklog(true);
    k.carrier(2, true, 4);
    k.advance(999);
    assert.equal(k.take().length, 0, 'held until maxHoldMs');
    k.advance(1);
    k.carrier(3, true, 4);
    const late = k.take();
    assert.deepEqual(late.map((r) => r.ifindex), [3, 3], 'after maxHoldMs a change is asked at once, backlog or not');
    k.answer(late);
    assert.deepEqual(k.take().map((r) => r.ifindex), [2, 2], 'and what waited goes out with the next replies');
    k.client.holdForBacklog(true);
    k.carrier(4, false, 3);
    assert.deepEqual(k.take().map((r) => r.ifindex), [4, 4], 'a backlog that outlasted maxHoldMs holds nothing until it is read empty');
  });

  it('asks each link once at start even when there are more links than the window', () => {
    const k = setup({ links: 300, maxInFlightLinks: 64 });
    k.resolve();
    let out = k.take();
    let total = 0;
    while (out.length > 0) {
      assert.ok(out.length <= 128);
      total += out.length;
      k.answer(out);
      out = k.take();
    }
    assert.equal(total, 600);
    assert.equal(k.client.requestsSent, 600);
  });

  it('EOPNOTSUPP: that half stays absent and is not asked again for the device; ENODEV: absent, no retry', () => {
    const k = setup({ links: 2 });
    k.resolve();
    const sent = k.take();
    const modes2 = sent.find((r) => r.ifindex === 2 && r.cmd === ETHTOOL_MSG_LINKMODES_GET) as Request;
    const state2 = sent.find((r) => r.ifindex === 2 && r.cmd === ETHTOOL_MSG_LINKSTATE_GET) as Request;
    const modes3 = sent.find((r) => r.ifindex === 3 && r.cmd === ETHTOOL_MSG_LINKMODES_GET) as Request;
    const state3 = sent.find((r) => r.ifindex === 3 && r.cmd === ETHTOOL_MSG_LINKSTATE_GET) as Request;
    k.socket.kernel(errorFor(modes2.bytes, 95), toUs(stateReply(2, 1), state2.seq), errorFor(modes3.bytes, 19), errorFor(state3.bytes, 19));
    assert.equal(k.table.get(2)?.speedMbps, undefined);
    assert.equal(k.table.get(2)?.duplex, undefined);
    assert.equal(k.client.inFlight, 0);
    assert.equal(k.take().length, 0, 'no retry');
    k.carrier(2, false, 3);
    const next = k.take();
    assert.deepEqual(next.map((r) => r.cmd), [ETHTOOL_MSG_LINKSTATE_GET], 'LINKMODES is not asked again for a device that does not do it');
    k.answer(next);
    // the device reappears (a new device under that ifindex): asked in full again
    k.table.apply({ ...vethLink(2), kind: 'del' }, 0);
    k.table.apply(vethLink(2), 0);
    assert.equal(k.take().length, 2);
  });

  it('a link pruned by a dump or evicted by a name is forgotten as one deleted: its successor is asked at once', () => {
    const k = setup({ links: 2, minIntervalMs: 60_000 });
    k.resolve();
    k.answer(k.take());
    k.advance(10);
    k.table.retainOnly(new Set([3])); // veth2's RTM_DELLINK was lost in an overrun
    k.table.apply(vethLink(2, { ifname: 'new2' }), 0); // a new device under that ifindex
    assert.deepEqual(k.take().map((r) => r.ifindex), [2, 2], 'not held down by the pruned link\'s last ask');
    k.table.apply(vethLink(9, { ifname: 'veth3' }), 0); // veth3 was deleted unseen: evicted
    k.take();
    k.table.apply(vethLink(3, { ifname: 'other3' }), 0);
    assert.deepEqual(k.take().map((r) => r.ifindex), [3, 3], 'nor by the evicted one\'s');
  });

  it('LINKSTATE asks for ETHTOOL_FLAG_STATS; EXT_DOWN_CNT in a reply is applied, a reply without it leaves it absent', () => {
    const k = setup({ links: 2 });
    k.resolve();
    const sent = k.take();
    for (const r of sent) {
      assert.equal(headerFlags(r.bytes), r.cmd === ETHTOOL_MSG_LINKSTATE_GET ? ETHTOOL_FLAG_STATS : ETHTOOL_FLAG_COMPACT_BITSETS, `cmd ${r.cmd}`);
    }
    k.socket.kernel(
      ...sent.map((r) =>
        toUs(
          r.cmd === ETHTOOL_MSG_LINKMODES_GET ? modesReply(r.ifindex, 10000, 1, 0) : r.ifindex === 2 ? stateReply(r.ifindex, 1, undefined, 7) : stateReply(r.ifindex, 1),
          r.seq,
        ),
      ),
    );
    assert.equal(k.table.get(2)?.phyLinkDownEvents, 7);
    assert.equal(k.table.get(3)?.phyLinkDownEvents, undefined);
  });

  it('a kernel that refuses ETHTOOL_FLAG_STATS on LINKSTATE (EINVAL, before 6.2): one info line, asked again without it, and from then on', () => {
    const k = setup({ links: 2 });
    k.resolve();
    const sent = k.take();
    k.socket.kernel(
      ...sent.map((r) => (r.cmd === ETHTOOL_MSG_LINKSTATE_GET ? errorFor(r.bytes, 22) : toUs(modesReply(r.ifindex, 10000, 1, 0), r.seq))),
    );
    assert.equal(k.lines.filter((l) => l.includes('ETHTOOL_FLAG_STATS')).length, 1);
    assert.equal(k.lines.some((l) => l.includes('ethtool request refused')), false);
    const again = k.take();
    const states = again.filter((r) => r.cmd === ETHTOOL_MSG_LINKSTATE_GET);
    assert.deepEqual(states.map((r) => r.ifindex).sort(), [2, 3], 'both links asked again');
    for (const r of states) assert.equal(headerFlags(r.bytes), undefined, 'without the flag');
    k.answer(again);
    assert.equal(k.client.inFlight, 0);
    // a later change: still without the flag; an EINVAL now is an ordinary refusal
    k.carrier(2, false, 3);
    const later = k.take().filter((r) => r.cmd === ETHTOOL_MSG_LINKSTATE_GET);
    assert.equal(later.length, 1);
    assert.equal(headerFlags(later[0]!.bytes), undefined);
    k.socket.kernel(errorFor(later[0]!.bytes, 22));
    assert.ok(k.lines.some((l) => l.includes('ethtool request refused')));
    assert.equal(k.lines.filter((l) => l.includes('ETHTOOL_FLAG_STATS')).length, 1);
  });

  it('a kernel that took ETHTOOL_FLAG_STATS once: a later EINVAL is that link\'s refusal, the flag stays', () => {
    const k = setup({ links: 2 });
    k.resolve();
    k.answer(k.take()); // both LINKSTATE requests, with the flag, answered
    k.carrier(2, false, 3);
    const later = k.take().filter((r) => r.cmd === ETHTOOL_MSG_LINKSTATE_GET);
    assert.equal(later.length, 1);
    assert.notEqual(headerFlags(later[0]!.bytes), undefined, 'sent with the flag');
    k.socket.kernel(errorFor(later[0]!.bytes, 22));
    assert.ok(k.lines.some((l) => l.includes('ethtool request refused')), 'logged as a refusal');
    assert.equal(k.lines.filter((l) => l.includes('ETHTOOL_FLAG_STATS')).length, 0, 'not taken for an old kernel');
    k.carrier(3, false, 3);
    const other = k.take().filter((r) => r.cmd === ETHTOOL_MSG_LINKSTATE_GET);
    assert.equal(other.length, 1);
    assert.notEqual(headerFlags(other[0]!.bytes), undefined, 'the other link is still asked with the flag');
  });

  it('the down reason: applied from LINKSTATE while without carrier, logged, cleared on the next reply without it', () => {
    const k = setup({ links: 1 });
    k.resolve();
    k.answer(k.take());
    k.carrier(2, false, 3);
    const down = k.take();
    k.socket.kernel(
      ...down.map((r) => toUs(r.cmd === ETHTOOL_MSG_LINKMODES_GET ? modesReply(2, 10000, 1, 0) : stateReply(2, 0, [4, 0] /* no_cable */), r.seq)),
    );
    const link = k.table.get(2);
    assert.equal(link?.downReason, 'no_cable');
    assert.ok(k.lines.some((l) => l.includes('carrier down reason') && l.includes('reason=no_cable')));
    k.carrier(2, true, 4);
    k.answer(k.take());
    assert.equal(link?.downReason, undefined);
  });

  it('a LINKMODES notification is applied at once and refreshes the link; a LINKINFO one asks; neither is taken for a reply', () => {
    const k = setup({ links: 1 });
    k.resolve();
    const first = k.take();
    // a notification carrying the seq of one of our requests, but another socket's port id
    k.socket.kernel(toUs(modesReply(2, 100, 0, 0, ETHTOOL_MSG_LINKMODES_NTF), first[0]!.seq, 9999));
    assert.equal(k.table.get(2)?.speedMbps, 100);
    assert.equal(k.table.get(2)?.duplex, 'half');
    assert.equal(k.client.inFlight, 1, 'our pair is still in flight');
    k.answer(first);
    assert.equal(k.take().length, 2, 'the notification made the link dirty: asked once more');
    k.answer([]);
    const linkinfo = toUs(genlMessage(FAMILY, ETHTOOL_MSG_LINKINFO_NTF, [deviceHeader(ETHTOOL_A_LINKINFO_HEADER, 2)]), 55, 9999);
    k.socket.kernel(linkinfo);
  });

  it('an undecodable reply is counted by reason and skipped; its link is answered', async () => {
    const k = setup({ links: 1 });
    k.resolve();
    const [modes, state] = k.take() as [Request, Request];
    const bad = toUs(genlMessage(FAMILY, ETHTOOL_MSG_LINKMODES_GET_REPLY, [u8(ETHTOOL_A_LINKMODES_SPEED, 1)]), modes.seq);
    k.socket.kernel(bad, toUs(stateReply(2, 1), state.seq));
    const dropped = await k.metrics.dropped.get();
    const total = dropped.values.reduce((n, v) => n + v.value, 0);
    assert.equal(total, 1);
    assert.equal(k.client.inFlight, 0);
    k.carrier(2, false, 3);
    assert.equal(k.take().length, 2, 'asked again on the next carrier change');
  });

  it('an overrun on the ethtool socket asks every link again', () => {
    const k = setup({ links: 3 });
    k.resolve();
    k.take();
    k.socket.deliver({ kind: 'overrun' });
    const again = k.take();
    assert.equal(again.length, 6);
    k.answer(again);
    assert.equal(k.client.inFlight, 0);
  });

  it('a pair whose replies never come is taken as lost after a while, and the link can be asked again', () => {
    const k = setup({ links: 1 });
    k.resolve();
    k.take();
    k.carrier(2, false, 3);
    assert.equal(k.take().length, 0);
    k.stall(6000); // the lost-reply timer has not run: the next change finds the pair expired
    k.carrier(2, true, 4);
    assert.equal(k.take().length, 2);
  });

  it('replies that never come (dropped on a congested socket) are asked again after lostAfterMs, with no event needed', async () => {
    const k = setup({ links: 2, lostAfterMs: 30 });
    k.resolve();
    const first = k.take();
    assert.equal(first.length, 4);
    k.answer(first.filter((r) => r.ifindex === 3)); // ifindex 2's replies are lost
    k.advance(29);
    assert.equal(k.take().length, 0, 'not before lostAfterMs');
    k.advance(1);
    const again = k.take();
    assert.deepEqual(again.map((r) => r.ifindex), [2, 2]);
    k.answer(again);
    assert.equal(k.client.inFlight, 0);
    assert.equal(k.table.get(2)?.speedMbps, 10000);
    await k.client.close();
  });

  it('counts requests in linkstate_exporter_ethtool_requests_total', async () => {
    const k = setup({ links: 2 });
    k.resolve();
    k.answer(k.take());
    const text = await k.metrics.renderPrometheus();
    assert.match(text, /^linkstate_exporter_ethtool_requests_total 4$/m);
  });
});
