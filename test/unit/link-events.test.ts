import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinkEventLog, isDownTransition, transitionsOf, type LinkEvent, type TransitionType } from '../../src/links/event-log.js';
import { LinkTable } from '../../src/links/table.js';
import { AF_UNSPEC, IFF_LOWER_UP, IFF_UP, IF_OPER_DOWN, IF_OPER_UP } from '../../src/rtnetlink/constants.js';
import type { LinkMessage } from '../../src/netlink/types.js';

function event(n: number, type: TransitionType, to: string): LinkEvent {
  return { time: new Date(1_700_000_000_000 + n).toISOString(), type, device: `d${n}`, ifindex: n, from: 'x', to, carrier_changes: n };
}

const ids = (log: LinkEventLog, after = 0): number[] =>
  log.replay(after).map((frame) => (JSON.parse(/^data: (.*)$/m.exec(frame)![1]!) as LinkEvent).ifindex);

test('history: bounded; when full the oldest non-down event goes first, so down transitions are kept longest', () => {
  const log = new LinkEventLog(4, 1);
  log.publish(event(1, 'carrier', 'down'));
  log.publish(event(2, 'carrier', 'up'));
  log.publish(event(3, 'oper', 'lowerlayerdown'));
  log.publish(event(4, 'admin', 'up'));
  assert.deepEqual(ids(log), [1, 2, 3, 4]);
  log.publish(event(5, 'carrier', 'up')); // evicts 2 (oldest non-down), not 1
  assert.deepEqual(ids(log), [1, 3, 4, 5]);
  log.publish(event(6, 'carrier', 'down'));
  log.publish(event(7, 'admin', 'down'));
  assert.deepEqual(ids(log), [1, 3, 6, 7], 'only downs left');
  log.publish(event(8, 'carrier', 'up')); // nothing but downs before it: the oldest down goes
  assert.deepEqual(ids(log), [3, 6, 7, 8]);
  assert.equal(log.size, 4);
  assert.equal(log.published, 8);
});

test('replay after a sequence number, in order across both lists; ids carry this process epoch', () => {
  const log = new LinkEventLog(10, 1234);
  for (let n = 1; n <= 6; n++) log.publish(event(n, 'carrier', n % 2 === 0 ? 'down' : 'up'));
  assert.deepEqual(ids(log, 0), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(ids(log, 3), [4, 5, 6]);
  assert.deepEqual(ids(log, 6), []);
  const id4 = log.idOf(4);
  assert.equal(id4, `${(1234).toString(36)}-4`);
  assert.equal(log.seqOf(id4), 4);
  assert.equal(log.seqOf(undefined), 0);
  assert.equal(log.seqOf('zz-3'), 0, 'another process: replay everything');
  assert.equal(log.seqOf(`${(1234).toString(36)}-99`), 0, 'ahead of this process: replay everything');
  assert.equal(log.seqOf('garbage'), 0);
  assert.match(log.replay(5)[0]!, new RegExp(`^id: ${log.idOf(6)}\nevent: link\ndata: \\{.*\\}\n\n$`));
});

test('history 0 keeps nothing but still delivers live events to listeners', () => {
  const log = new LinkEventLog(0);
  const seen: string[] = [];
  const off = log.subscribe((f) => seen.push(f));
  log.publish(event(1, 'carrier', 'down'));
  assert.equal(log.size, 0);
  assert.equal(seen.length, 1);
  off();
  log.publish(event(2, 'carrier', 'down'));
  assert.equal(seen.length, 1);
});

test('untrusted device names are JSON-encoded in the frame: one data line, exact round trip', () => {
  const log = new LinkEventLog(5);
  const name = 'x\n\ndata: {"evil":1}\n<script>';
  log.publish({ ...event(1, 'carrier', 'down'), device: name });
  const frame = log.replay()[0]!;
  assert.equal(frame.split('\n').filter((l) => l.startsWith('data:')).length, 1);
  assert.equal((JSON.parse(/^data: (.*)$/m.exec(frame)![1]!) as LinkEvent).device, name);
});

test('isDownTransition', () => {
  assert.equal(isDownTransition('carrier', 'down'), true);
  assert.equal(isDownTransition('admin', 'up'), false);
  assert.equal(isDownTransition('oper', 'lowerlayerdown'), true);
  assert.equal(isDownTransition('oper', 'dormant'), false);
});

function msg(flags: number, operstate: number, carrierChanges: number): LinkMessage {
  return {
    kind: 'new', family: AF_UNSPEC, ifindex: 7, ifname: 'eth7', flags, operstate, carrier: flags & IFF_LOWER_UP ? 1 : 0,
    carrierChanges, carrierUpCount: Math.ceil(carrierChanges / 2), carrierDownCount: Math.floor(carrierChanges / 2),
  } as unknown as LinkMessage;
}

test('transitionsOf: admin, carrier and oper transitions of one message, from the state before it', () => {
  const table = new LinkTable();
  table.apply(msg(IFF_UP | IFF_LOWER_UP, IF_OPER_UP, 2), 1000);
  const result = table.apply(msg(0, IF_OPER_DOWN, 3), 2000);
  const events = transitionsOf(result, 2000);
  assert.deepEqual(
    events.map((e) => [e.type, e.from, e.to, e.carrier_changes, e.device, e.ifindex]),
    [
      ['admin', 'up', 'down', 3, 'eth7', 7],
      ['carrier', 'up', 'down', 3, 'eth7', 7],
      ['oper', 'up', 'down', 3, 'eth7', 7],
    ],
  );
  assert.equal(events[0]!.time, '1970-01-01T00:00:02.000Z');
  const same = table.apply(msg(0, IF_OPER_DOWN, 3), 3000);
  assert.deepEqual(transitionsOf(same, 3000), []);
});
