import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinkTable } from '../../src/links/table.js';
import { AF_UNSPEC, IFF_LOWER_UP, IFF_UP } from '../../src/rtnetlink/constants.js';
import { NeighborStore, PER_PORT_NEIGHBORS } from '../../src/lldp/neighbors.js';
import { LLDP_COLLECTOR_DROP_REASONS, LldpCollector, type LldpFrameLike, type LldpFrameSource } from '../../src/lldp/collector.js';
import { createLogger } from '../../src/runtime/logger.js';
import { ManualClock } from '../helpers/manual-clock.js';

const NOW = 1_790_000_000_000;
const LLDP_DST = '01:80:c2:00:00:0e';

class FakeSource implements LldpFrameSource {
  readonly joined = new Set<number>();
  readonly calls: string[] = [];
  listener: ((frames: readonly LldpFrameLike[]) => void) | undefined;
  onError: ((error: Error) => void) | undefined;
  closed = false;
  failJoin = new Set<number>();
  failLeave = false;
  join(ifindex: number): void {
    this.calls.push(`join ${ifindex}`);
    if (this.failJoin.has(ifindex)) throw Object.assign(new Error('setsockopt: EINVAL'), { errno: 22 });
    this.joined.add(ifindex);
  }
  leave(ifindex: number): void {
    this.calls.push(`leave ${ifindex}`);
    if (this.failLeave) throw new Error('setsockopt: EINVAL');
    this.joined.delete(ifindex);
  }
  start(listener: (frames: readonly LldpFrameLike[]) => void, onError?: (error: Error) => void): void {
    this.listener = listener;
    this.onError = onError;
  }
  close(): void {
    this.closed = true;
  }
  deliver(...frames: LldpFrameLike[]): void {
    assert.ok(this.listener, 'started');
    this.listener(frames);
  }
}

function linkMsg(ifindex: number, ifname: string, carrier: boolean, kind: 'new' | 'del' = 'new') {
  return { kind, family: AF_UNSPEC, ifindex, ifname, flags: IFF_UP | (carrier ? IFF_LOWER_UP : 0), change: 0, linkType: 1, carrier: carrier ? 1 : 0 } as const;
}

/** An LLDPDU as 802.1AB lays it out: chassis id (MAC), port id (local), TTL, system name, End. */
function lldpdu(opts: { chassis?: number[]; port?: string; ttl?: number; name?: string } = {}): Buffer {
  const tlv = (type: number, value: Buffer): Buffer => {
    const h = Buffer.alloc(2);
    h.writeUInt16BE((type << 9) | value.length);
    return Buffer.concat([h, value]);
  };
  const ttl = Buffer.alloc(2);
  ttl.writeUInt16BE(opts.ttl ?? 120);
  return Buffer.concat([
    tlv(1, Buffer.from([4, ...(opts.chassis ?? [0x52, 0x54, 0, 0xaa, 0xbb, 0xcc])])),
    tlv(2, Buffer.concat([Buffer.from([7]), Buffer.from(opts.port ?? 'Ethernet1/12')])),
    tlv(3, ttl),
    ...(opts.name === undefined ? [] : [tlv(5, Buffer.from(opts.name))]),
    tlv(0, Buffer.alloc(0)),
  ]);
}

function frame(ifindex: number, payload: Buffer, over: Partial<LldpFrameLike> = {}): LldpFrameLike {
  return { ifindex, destination: LLDP_DST, payload, truncated: false, ...over };
}

function setup() {
  const clock = new ManualClock(NOW);
  const table = new LinkTable();
  table.apply(linkMsg(1, 'lo', true), NOW);
  table.apply(linkMsg(2, 'eth0', true), NOW);
  const store = new NeighborStore({ clock, holdTimeMs: 3600_000 });
  const source = new FakeSource();
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', format: 'logfmt', destination: { write: (l: string) => lines.push(l) } });
  const collector = new LldpCollector({ table, source, store, logger });
  collector.start();
  return { clock, table, store, source, collector, lines };
}

test('joins every link the table holds, and links as they come; leaves them as they go', () => {
  const { table, source } = setup();
  assert.deepEqual([...source.joined].sort(), [1, 2]);
  table.apply(linkMsg(5, 'eth5', true), NOW);
  assert.ok(source.joined.has(5));
  table.apply(linkMsg(5, 'eth5', true, 'del'), NOW);
  assert.ok(!source.joined.has(5));
  assert.deepEqual(source.calls.slice(-2), ['join 5', 'leave 5']);
  // A link pruned after an overrun (its deletion lost) is left too.
  table.retainOnly(new Set([1]));
  assert.deepEqual([...source.joined], [1]);
});

test('a join that fails is logged and the other links still joined', () => {
  const clock = new ManualClock(NOW);
  const table = new LinkTable();
  table.apply(linkMsg(1, 'lo', true), NOW);
  table.apply(linkMsg(2, 'eth0', true), NOW);
  const source = new FakeSource();
  source.failJoin.add(1);
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', format: 'logfmt', destination: { write: (l: string) => lines.push(l) } });
  new LldpCollector({ table, source, store: new NeighborStore({ clock, holdTimeMs: 1 }), logger }).start();
  assert.deepEqual([...source.joined], [2]);
  assert.ok(lines.some((l) => l.includes('device=lo') && l.includes('EINVAL')), lines.join(''));
});

test('a frame becomes the port\'s neighbour; carrier loss marks it stale; link deletion drops it', () => {
  const { table, store, source, collector } = setup();
  source.deliver(frame(2, lldpdu({ name: 'leaf-07' })));
  assert.equal(collector.frames, 1);
  assert.equal(store.neighbors(2)[0]?.systemName, 'leaf-07');
  assert.equal(store.neighbors(2)[0]?.portId, 'Ethernet1/12');
  table.apply(linkMsg(2, 'eth0', false), NOW + 1000);
  assert.equal(store.neighbors(2)[0]?.stale, true);
  table.apply(linkMsg(2, 'eth0', true), NOW + 2000);
  assert.equal(store.neighbors(2)[0]?.stale, true, 'carrier back without a frame: still stale');
  table.apply(linkMsg(2, 'eth0', true, 'del'), NOW + 3000);
  assert.equal(store.size, 0);
});

test('malformed, foreign and surplus frames are counted by reason and dropped; every reason is declared', () => {
  const { source, collector, store } = setup();
  for (const reason of ['truncated', 'tlv_overrun', 'missing_mandatory', 'shutdown', 'not_lldp', 'unknown_link', 'neighbor_limit']) {
    assert.ok((LLDP_COLLECTOR_DROP_REASONS as readonly string[]).includes(reason), reason);
    assert.equal(collector.dropped(reason), 0);
  }
  source.deliver(
    frame(2, Buffer.from([0x02])),
    frame(2, Buffer.from([0x02, 0x07, 0x04])),
    frame(2, lldpdu(), { destination: 'ff:ff:ff:ff:ff:ff' }),
    frame(2, lldpdu(), { truncated: true }),
    frame(99, lldpdu()),
  );
  assert.equal(collector.frames, 5);
  assert.equal(collector.dropped('truncated'), 2, 'one short frame, one cut by the receive slot');
  assert.equal(collector.dropped('tlv_overrun'), 1);
  assert.equal(collector.dropped('not_lldp'), 1);
  assert.equal(collector.dropped('unknown_link'), 1);
  assert.equal(store.size, 0);
  for (let i = 0; i < PER_PORT_NEIGHBORS + 3; i++) source.deliver(frame(2, lldpdu({ chassis: [2, 0, 0, 0, 0, i] })));
  assert.equal(store.size, PER_PORT_NEIGHBORS);
  assert.equal(collector.dropped('neighbor_limit'), 3);
});

test('a shutdown LLDPDU is counted and marks the held neighbour stale', () => {
  const { source, collector, store } = setup();
  source.deliver(frame(2, lldpdu({ name: 'leaf-07' })));
  source.deliver(frame(2, lldpdu({ ttl: 0 })));
  assert.equal(collector.dropped('shutdown'), 1);
  assert.equal(store.neighbors(2)[0]?.stale, true);
});

test('a new neighbour is logged with its wire text escaped', () => {
  const { source, lines } = setup();
  source.deliver(frame(2, lldpdu({ name: 'evil\nlevel=error msg=forged' })));
  const line = lines.find((l) => l.includes('lldp neighbor'));
  assert.ok(line, lines.join(''));
  assert.equal(line.trimEnd().split('\n').length, 1, 'one line');
  assert.ok(!line.includes('\nlevel=error'), line);
});

test('close() unsubscribes from the table, stops the store timer and closes the socket', () => {
  const { table, source, collector, clock } = setup();
  source.deliver(frame(2, lldpdu()));
  assert.equal(clock.pending, 1);
  collector.close();
  assert.equal(source.closed, true);
  assert.equal(clock.pending, 0);
  table.apply(linkMsg(7, 'eth7', true), NOW);
  assert.ok(!source.joined.has(7));
});

test('missingLldpCapabilities reads CAP_NET_RAW (bit 13) from CapEff', async () => {
  const { missingLldpCapabilities } = await import('../../src/lldp/privileges.js');
  assert.deepEqual(missingLldpCapabilities('Name:\tx\nCapEff:\t000001ffffffffff\n'), []);
  assert.deepEqual(missingLldpCapabilities('CapEff:\t0000000000002000\n'), []);
  assert.deepEqual(missingLldpCapabilities('CapEff:\t0000000000001800\n'), ['CAP_NET_RAW'], 'NET_ADMIN and NET_BROADCAST only');
  assert.deepEqual(missingLldpCapabilities('Name:\tx\n'), ['CAP_NET_RAW'], 'no CapEff line: nothing assumed');
});

test('a failing leave is logged, never thrown into the table; a failed socket is logged once', () => {
  const { table, source, store, lines } = setup();
  source.deliver(frame(2, lldpdu()));
  source.failLeave = true;
  assert.doesNotThrow(() => table.apply(linkMsg(2, 'eth0', true, 'del'), NOW));
  assert.equal(store.size, 0, 'the neighbour went with the link all the same');
  assert.ok(lines.some((l) => l.includes('cannot leave') && l.includes('device=eth0')), lines.join(''));
  source.onError?.(new Error('recvmmsg: ENETDOWN'));
  assert.equal(lines.filter((l) => l.includes('level=error') && l.includes('ENETDOWN')).length, 1, lines.join(''));
});
