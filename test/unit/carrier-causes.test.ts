// Carrier-loss causes: the accounting (src/links/carrier-causes.ts) on the datagrams recorded from
// the real kernel (test/fixtures/netlink/causes-*: a tap, a macvlan on it, protodown, a bridge
// losing its last port), on built messages for what a recording cannot pin (coalesced losses,
// old kernels), and the three families it feeds.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { CARRIER_CAUSES, CarrierCauses, classifyCause, type CarrierCause } from '../../src/links/carrier-causes.js';
import type { LinkState } from '../../src/links/link-record.js';
import { LinkTable } from '../../src/links/table.js';
import { LinkFamiliesRenderer, LINK_FAMILIES } from '../../src/metrics/link-families.js';
import {
  IFF_LOWER_UP,
  IFF_UP,
  IF_OPER_DOWN,
  IF_OPER_LOWERLAYERDOWN,
  IF_OPER_UP,
  RTM_DELLINK,
  RTM_NEWLINK,
} from '../../src/rtnetlink/constants.js';
import { decodeMessages } from '../../src/netlink/message.js';
import type { LinkMessage } from '../../src/netlink/types.js';
import { decodeLink } from '../../src/rtnetlink/link.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { vethLink } from '../helpers/netlink-bytes.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/netlink/', import.meta.url));

interface Replayed {
  readonly table: LinkTable;
  readonly causes: CarrierCauses;
  readonly clock: ManualClock;
  /** carrier-down count of each device when first seen and at its latest message */
  readonly firstDown: Map<string, number>;
  readonly lastDown: Map<string, number>;
  /** the links by name, removed ones included */
  readonly seen: Map<string, LinkState>;
  /** the losses of each removed link as they were when it went */
  readonly atRemoval: Map<LinkState, Partial<Record<CarrierCause, number>>>;
}

/** Replays the causes-* recordings whose number passes `upTo`, one clock second apart. */
function replayCauses(upTo = Infinity): Replayed {
  const clock = new ManualClock(1_700_000_000_000);
  const table = new LinkTable();
  const causes = new CarrierCauses(clock);
  const atRemoval = new Map<LinkState, Partial<Record<CarrierCause, number>>>();
  // told before the accounting, which forgets a link when it goes
  table.subscribe((change) => {
    if (change.kind === 'removed') atRemoval.set(change.link, lossesOf(causes, change.link));
  });
  table.subscribe(causes.onChange);
  const firstDown = new Map<string, number>();
  const lastDown = new Map<string, number>();
  const seen = new Map<string, LinkState>();
  const names = readdirSync(FIXTURES).filter((n) => /^causes-\d+-.*\.bin$/.test(n)).sort();
  assert.ok(names.length >= 50, `causes-* recordings missing from ${FIXTURES}`);
  for (const name of names) {
    if (Number(name.slice('causes-'.length, 'causes-'.length + 2)) > upTo) break;
    clock.advance(1000);
    for (const m of decodeMessages(readFileSync(FIXTURES + name))) {
      if (m.type !== RTM_NEWLINK && m.type !== RTM_DELLINK) continue;
      const msg = decodeLink(m);
      table.apply(msg, clock.now());
      const link = table.get(msg.ifindex);
      if (link !== undefined) seen.set(link.name, link);
      if (msg.family === 0 && msg.ifname !== undefined && msg.carrierDownCount !== undefined) {
        if (!firstDown.has(msg.ifname)) firstDown.set(msg.ifname, msg.carrierDownCount);
        lastDown.set(msg.ifname, msg.carrierDownCount);
      }
    }
  }
  return { table, causes, clock, firstDown, lastDown, seen, atRemoval };
}

/** The link's losses as { cause: count }, counted causes only. */
function lossesOf(causes: CarrierCauses, link: LinkState | undefined): Partial<Record<CarrierCause, number>> {
  assert.ok(link !== undefined);
  const record = causes.get(link);
  const out: Partial<Record<CarrierCause, number>> = {};
  if (record === undefined) return out;
  CARRIER_CAUSES.forEach((cause, i) => {
    const n = record.counts[i] as number;
    if (n > 0) out[cause] = n;
  });
  return out;
}

const sum = (losses: Partial<Record<CarrierCause, number>>): number => Object.values(losses).reduce((a, b) => a + (b ?? 0), 0);

describe('carrier-loss causes on the kernel recordings', () => {
  const r = replayCauses();
  /** a device's losses: as they are, or as they were when it was deleted */
  const losses = (name: string): Partial<Record<CarrierCause, number>> => {
    const link = r.seen.get(name);
    assert.ok(link !== undefined, name);
    return r.atRemoval.get(link) ?? lossesOf(r.causes, link);
  };

  it('a tap without a reader and a tap switched carrier off: admin while it was down, then the medium', () => {
    // created admin down (recording 02), `carrier off` (09), the reader closed its descriptor (45)
    assert.deepEqual(losses('tap0'), { admin: 1, carrier: 2 });
  });

  it('a macvlan: lower_layer when its tap lost carrier, protodown when set protodown', () => {
    // tap carrier off (10), protodown on (13: the kernel still says oper UP, then DOWN), tap released (47)
    assert.deepEqual(losses('mv0'), { lower_layer: 2, protodown: 1 });
  });

  it('a bridge whose last port left: no_active_members; its deleted veth ports: admin', () => {
    assert.deepEqual(losses('br1'), { no_active_members: 1 });
    assert.deepEqual(losses('pb0'), { admin: 1 });
    assert.deepEqual(losses('pb1'), { admin: 1 });
  });

  it('every device was deleted at the end, and the accounting forgot it', () => {
    assert.equal(r.table.size, 0);
    for (const link of r.seen.values()) assert.equal(r.causes.get(link), undefined, link.name);
  });

  it('for every device, the sum over causes is the kernel carrier_down count now minus at first sight', () => {
    assert.ok(r.firstDown.size >= 5);
    for (const [name, first] of r.firstDown) {
      assert.equal(sum(losses(name)), (r.lastDown.get(name) as number) - first, name);
    }
  });

  it('the last outage lasts from the announced loss to the announced return, on the injected clock', () => {
    const mid = replayCauses(12);
    // tap0 lost carrier at recording 09 and got it back at 11; mv0 at 10 and 12
    assert.equal(mid.causes.get(mid.table.get(2) as LinkState)?.lastDownSeconds, 2);
    assert.equal(mid.causes.get(mid.table.get(3) as LinkState)?.lastDownSeconds, 2);
    const after = replayCauses(18);
    // protodown on at 13, carrier back at 17: the latest outage replaces the earlier one
    assert.equal(after.causes.get(after.table.get(3) as LinkState)?.lastDownSeconds, 4);
    // br1 was first seen without carrier: an outage it did not see begin is not measured
    assert.equal(after.causes.get(after.table.get(4) as LinkState), undefined);
  });

  it('renders the three families: losses by cause, the current outage cause, the last outage length', () => {
    const mid = replayCauses(44);
    const text = Buffer.concat(new LinkFamiliesRenderer(mid.table, {}, LINK_FAMILIES, mid.causes.get).pieces('prometheus', mid.clock.now())).toString('utf8');
    const lines = (name: string): string[] => text.split('\n').filter((l) => l.startsWith(`${name}{`));
    assert.deepEqual(lines('linkstate_carrier_losses_total'), [
      'linkstate_carrier_losses_total{device="br1",cause="no_active_members"} 1',
      'linkstate_carrier_losses_total{device="mv0",cause="protodown"} 1',
      'linkstate_carrier_losses_total{device="mv0",cause="lower_layer"} 1',
      'linkstate_carrier_losses_total{device="tap0",cause="admin"} 1',
      'linkstate_carrier_losses_total{device="tap0",cause="carrier"} 1',
    ]);
    assert.deepEqual(lines('linkstate_carrier_down_cause'), ['linkstate_carrier_down_cause{device="br1",cause="no_active_members"} 1']);
    assert.deepEqual(lines('linkstate_carrier_last_down_duration_seconds'), [
      'linkstate_carrier_last_down_duration_seconds{device="mv0"} 4',
      'linkstate_carrier_last_down_duration_seconds{device="tap0"} 2',
    ]);
    assert.match(text, /# TYPE linkstate_carrier_losses_total counter\n/);
    assert.match(text, /# TYPE linkstate_carrier_down_cause gauge\n/);
    assert.match(text, /# TYPE linkstate_carrier_last_down_duration_seconds gauge\n/);
  });
});

describe('carrier-loss causes on built messages', () => {
  const up = (over: Partial<LinkMessage> = {}): LinkMessage => vethLink(1, { carrierChanges: 10, carrierUpCount: 5, carrierDownCount: 5, ...over });
  const downMsg = (downs: number, over: Partial<LinkMessage> = {}): LinkMessage =>
    up({ flags: IFF_UP, carrier: 0, operstate: IF_OPER_DOWN, carrierChanges: 2 * downs, carrierUpCount: downs - 1, carrierDownCount: downs, ...over });
  const upMsg = (downs: number): LinkMessage => up({ carrierChanges: 2 * downs, carrierUpCount: downs, carrierDownCount: downs });

  function setup(): { table: LinkTable; causes: CarrierCauses; clock: ManualClock; link: () => LinkState } {
    const clock = new ManualClock();
    const table = new LinkTable();
    const causes = new CarrierCauses(clock);
    table.subscribe(causes.onChange);
    table.apply(up(), clock.now());
    return { table, causes, clock, link: () => table.get(1) as LinkState };
  }

  it('no record, hence no series, before the first loss', () => {
    const { table, causes, link } = setup();
    table.apply(up({ mtu: 9000 }), 0);
    assert.equal(causes.get(link()), undefined);
  });

  it('an announced loss with more counted: one under its cause, the rest unknown', () => {
    const { table, causes, link } = setup();
    table.apply(downMsg(8), 0); // 5 → 8: one announced, two coalesced before it
    assert.deepEqual(lossesOf(causes, link()), { carrier: 1, unknown: 2 });
  });

  it('losses counted while carrier stayed (coalesced down and up) are all unknown, and no outage is measured', () => {
    const { table, causes, clock, link } = setup();
    clock.advance(500);
    table.apply(upMsg(9), clock.now());
    assert.deepEqual(lossesOf(causes, link()), { unknown: 4 });
    assert.equal(causes.get(link())?.lastDownSeconds, undefined);
    table.apply(downMsg(10), clock.now());
    table.apply(downMsg(11), clock.now()); // another loss and return coalesced during the outage
    assert.deepEqual(lossesOf(causes, link()), { carrier: 1, unknown: 5 });
  });

  it('precedence: admin > protodown > lower_layer > no_active_members > carrier', () => {
    const base = { adminUp: true, protoDown: false, operstate: IF_OPER_UP, kind: 'bridge' as string | undefined };
    assert.equal(classifyCause({ ...base, adminUp: false, protoDown: true, operstate: IF_OPER_LOWERLAYERDOWN }), 'admin');
    assert.equal(classifyCause({ ...base, protoDown: true, operstate: IF_OPER_LOWERLAYERDOWN }), 'protodown');
    assert.equal(classifyCause({ ...base, operstate: IF_OPER_LOWERLAYERDOWN }), 'lower_layer');
    assert.equal(classifyCause(base), 'no_active_members');
    assert.equal(classifyCause({ ...base, kind: 'bond' }), 'no_active_members');
    assert.equal(classifyCause({ ...base, kind: 'team' }), 'no_active_members');
    assert.equal(classifyCause({ ...base, kind: 'veth' }), 'carrier');
    assert.equal(classifyCause({ ...base, kind: undefined }), 'carrier');
  });

  it('on a kernel without IFLA_CARRIER_DOWN_COUNT only announced losses count', () => {
    const clock = new ManualClock();
    const table = new LinkTable();
    const causes = new CarrierCauses(clock);
    table.subscribe(causes.onChange);
    const old = (carrier: boolean, changes: number): LinkMessage =>
      vethLink(1, { flags: carrier ? IFF_UP | IFF_LOWER_UP : IFF_UP, carrier: carrier ? 1 : 0, operstate: carrier ? IF_OPER_UP : IF_OPER_DOWN, carrierChanges: changes, carrierUpCount: undefined, carrierDownCount: undefined });
    table.apply(old(true, 4), 0);
    table.apply(old(false, 7), 0); // three changes counted: the kernel cannot say how many were losses
    table.apply(old(true, 8), 0);
    table.apply(old(true, 10), 0); // a coalesced loss and return: not counted without the down count
    assert.deepEqual(lossesOf(causes, table.get(1)), { carrier: 1 });
  });

  it('the last outage: measured on the injected clock, replaced by the next one', () => {
    const { table, causes, clock, link } = setup();
    table.apply(downMsg(6), clock.now());
    clock.advance(2_500);
    assert.equal(causes.get(link())?.lastDownSeconds, undefined, 'still in progress: no completed outage yet');
    table.apply(upMsg(6), clock.now());
    assert.equal(causes.get(link())?.lastDownSeconds, 2.5);
    table.apply(downMsg(7, { flags: 0 }), clock.now());
    clock.advance(100);
    table.apply(upMsg(7), clock.now());
    assert.equal(causes.get(link())?.lastDownSeconds, 0.1);
    assert.deepEqual(lossesOf(causes, link()), { admin: 1, carrier: 1 });
  });

  it('a loss seen before linkwatch set the operstate (no carrier, still UP, a lower device) takes the cause the next message settles', () => {
    // What a resync dump can catch: netif_carrier_off has run, linkwatch's rfc2863_policy not yet.
    const unsettled = { operstate: IF_OPER_UP, iflink: 7 };
    const lower = setup();
    lower.table.apply(downMsg(6, unsettled), 0);
    assert.equal(sum(lossesOf(lower.causes, lower.link())), 0, 'not counted under a cause the next message may contradict');
    lower.table.apply(downMsg(6, { ...unsettled, protoDownReason: undefined, mtu: 1400 }), 0);
    assert.equal(sum(lossesOf(lower.causes, lower.link())), 0, 'still unsettled');
    lower.table.apply(downMsg(6, { iflink: 7, operstate: IF_OPER_LOWERLAYERDOWN }), 0);
    assert.deepEqual(lossesOf(lower.causes, lower.link()), { lower_layer: 1 });

    const medium = setup();
    medium.table.apply(downMsg(6, unsettled), 0);
    medium.table.apply(downMsg(6, { iflink: 7, operstate: IF_OPER_DOWN }), 0); // the kernel found the lower up
    assert.deepEqual(lossesOf(medium.causes, medium.link()), { carrier: 1 });

    const returned = setup();
    returned.table.apply(downMsg(6, unsettled), 0);
    returned.table.apply(up({ iflink: 7, carrierChanges: 13, carrierUpCount: 6, carrierDownCount: 7 }), 0); // back, and one more loss coalesced
    assert.deepEqual(lossesOf(returned.causes, returned.link()), { unknown: 2 }, 'nobody said why: unknown');

    // a link without a lower device has no operstate to wait for: the medium at once
    const plain = setup();
    plain.table.apply(downMsg(6, { operstate: IF_OPER_UP }), 0);
    assert.deepEqual(lossesOf(plain.causes, plain.link()), { carrier: 1 });
  });

  it('a renderer that rendered before the loss shows it at the next scrape (its cache moved with the link)', () => {
    const { table, causes, clock } = setup();
    const renderer = new LinkFamiliesRenderer(table, {}, LINK_FAMILIES, causes.get);
    const scrape = (): string => Buffer.concat(renderer.pieces('prometheus', clock.now())).toString('utf8');
    assert.doesNotMatch(scrape(), /linkstate_carrier_losses_total|linkstate_carrier_down_cause/);
    table.apply(downMsg(7, { operstate: IF_OPER_LOWERLAYERDOWN }), clock.now());
    let text = scrape();
    assert.match(text, /^linkstate_carrier_losses_total\{device="veth1",cause="lower_layer"\} 1$/m);
    assert.match(text, /^linkstate_carrier_losses_total\{device="veth1",cause="unknown"\} 1$/m);
    assert.match(text, /^linkstate_carrier_down_cause\{device="veth1",cause="lower_layer"\} 1$/m);
    clock.advance(3000);
    table.apply(upMsg(7), clock.now());
    text = scrape();
    assert.doesNotMatch(text, /linkstate_carrier_down_cause\{/);
    assert.match(text, /^linkstate_carrier_last_down_duration_seconds\{device="veth1"\} 3$/m);
  });

  it('links of another namespace: the netns label, as the other per-link families', () => {
    const clock = new ManualClock();
    const table = new LinkTable('pod-a', 3);
    const causes = new CarrierCauses(clock);
    table.subscribe(causes.onChange);
    table.apply(up(), 0);
    table.apply(downMsg(6, { flags: 0 }), 0);
    const text = Buffer.concat(new LinkFamiliesRenderer(table, {}, LINK_FAMILIES, causes.get).pieces('prometheus', 0)).toString('utf8');
    assert.match(text, /^linkstate_carrier_losses_total\{device="veth1",netns="pod-a",cause="admin"\} 1$/m);
    assert.match(text, /^linkstate_carrier_down_cause\{device="veth1",netns="pod-a",cause="admin"\} 1$/m);
  });

  it('a removed link takes its record with it; a new link under its ifindex starts afresh', () => {
    const { table, causes } = setup();
    table.apply(downMsg(6), 0);
    const gone = table.get(1) as LinkState;
    table.apply({ ...downMsg(6), kind: 'del' }, 0);
    assert.equal(causes.get(gone), undefined);
    table.apply(up(), 0);
    assert.equal(causes.get(table.get(1) as LinkState), undefined);
  });
});
