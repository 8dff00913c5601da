// Where carrier-loss causes are shown besides /metrics: the "carrier changed" log line, the event
// stream's carrier events, /api/v1/links and the status page (cause of the current outage, losses
// by cause), with untrusted text escaped as everywhere else.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CarrierCauses } from '../../src/links/carrier-causes.js';
import { linkChangeLog } from '../../src/links/change-log.js';
import { transitionsOf, type LinkEvent } from '../../src/links/event-log.js';
import { LinkTable } from '../../src/links/table.js';
import {
  IFF_LOWER_UP,
  IFF_UP,
  IF_OPER_DOWN,
  IF_OPER_LOWERLAYERDOWN,
  IF_OPER_UP,
} from '../../src/rtnetlink/constants.js';
import type { LinkMessage } from '../../src/netlink/types.js';
import { createLogger } from '../../src/runtime/logger.js';
import { escapeHtml, renderLinksJson, renderStatusPage } from '../../src/web/status-page.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { vethLink } from '../helpers/netlink-bytes.js';

const EVIL = `mv"<b>&'0`;

const up = (over: Partial<LinkMessage> = {}): LinkMessage =>
  vethLink(3, { ifname: EVIL, infoKind: 'macvlan', iflink: 2, carrierChanges: 4, carrierUpCount: 2, carrierDownCount: 2, ...over });
const lost = (downs: number, over: Partial<LinkMessage> = {}): LinkMessage =>
  up({ flags: IFF_UP, carrier: 0, operstate: IF_OPER_DOWN, carrierChanges: 2 * downs - 1, carrierUpCount: downs - 1, carrierDownCount: downs, ...over });

function lab(): { table: LinkTable; causes: CarrierCauses; clock: ManualClock; events: LinkEvent[]; logs: Array<Record<string, unknown>> } {
  const clock = new ManualClock(1_700_000_000_000);
  const table = new LinkTable();
  const causes = new CarrierCauses(clock);
  const logs: Array<Record<string, unknown>> = [];
  const logger = createLogger({ level: 'info', format: 'json', destination: { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) } });
  table.subscribe(causes.onChange);
  table.subscribe(linkChangeLog(logger));
  // as the event log hears them: while the table tells the change (the link changes on after)
  const events: LinkEvent[] = [];
  table.subscribe((change) => {
    if (change.kind === 'updated') events.push(...transitionsOf(change, clock.now()).filter((e) => e.type === 'carrier'));
  });
  table.apply(up(), clock.now());
  return { table, causes, clock, events, logs };
}

describe('carrier-loss causes in the log, the events, the API and the page', () => {
  it('the "carrier changed" line of a loss names its cause; of protodown, the reason bits too', async () => {
    const { table, clock, logs } = lab();
    table.apply(lost(3, { operstate: IF_OPER_LOWERLAYERDOWN }), clock.now());
    table.apply(up({ carrierChanges: 6, carrierUpCount: 3, carrierDownCount: 3 }), clock.now());
    table.apply(lost(4, { protoDown: 1, protoDownReason: 0x5 }), clock.now());
    table.apply(up({ carrierChanges: 12, carrierUpCount: 6, carrierDownCount: 6 }), clock.now()); // two losses merged away
    await new Promise((r) => setImmediate(r)); // the logger writes lines in batches
    const lines = logs.filter((l) => l['msg'] === 'carrier changed').map(({ ts: _t, level: _l, msg: _m, ...rest }) => rest);
    assert.deepEqual(lines, [
      { device: EVIL, from: 'up', to: 'down', changes: 1, cause: 'lower_layer' },
      { device: EVIL, from: 'down', to: 'up', changes: 1 },
      { device: EVIL, from: 'up', to: 'down', changes: 1, cause: 'protodown', protodown_reason: 5 },
      { device: EVIL, from: 'down', to: 'up', changes: 5, unannounced_losses: 2 },
    ]);
  });

  it('a carrier event of a loss carries its cause and protodown reason; losses nobody announced are counted in the event that shows them', () => {
    const { table, clock, events } = lab();
    table.apply(lost(4, { flags: 0 }), clock.now()); // set down, one more loss merged before
    table.apply(up({ carrierChanges: 8, carrierUpCount: 4, carrierDownCount: 4 }), clock.now());
    table.apply(lost(5, { protoDown: 1, protoDownReason: 0x80000000 }), clock.now());
    assert.deepEqual(
      events.map(({ time: _t, ...e }) => e),
      [
        { device: EVIL, ifindex: 3, carrier_changes: 7, from: 'up', to: 'down', cause: 'admin', unannounced_losses: 1 },
        { device: EVIL, ifindex: 3, carrier_changes: 8, from: 'down', to: 'up' },
        { device: EVIL, ifindex: 3, carrier_changes: 9, from: 'up', to: 'down', cause: 'protodown', protodown_reason: 0x80000000 },
      ].map((e) => ({ type: 'carrier', ...e })),
    );
  });

  it('/api/v1/links: the cause of the current outage, the losses by cause, the last outage length', () => {
    const { table, causes, clock } = lab();
    table.apply(lost(3, { operstate: IF_OPER_LOWERLAYERDOWN }), clock.now());
    clock.advance(1500);
    table.apply(up({ carrierChanges: 6, carrierUpCount: 3, carrierDownCount: 3 }), clock.now());
    table.apply(lost(5, { protoDown: 1, protoDownReason: 0x1 }), clock.now());
    const body = JSON.parse(renderLinksJson({ links: () => table.links(), losses: causes.get }, clock.now())) as { links: Array<Record<string, unknown>> };
    const link = body.links[0]!;
    assert.equal(link['device'], EVIL);
    assert.equal(link['carrier_down_cause'], 'protodown');
    assert.equal(link['protodown_reason'], 1);
    assert.deepEqual(link['carrier_losses'], { protodown: 1, lower_layer: 1, unknown: 1 });
    assert.equal(link['last_down_duration_seconds'], 1.5);

    table.apply(up({ carrierChanges: 10, carrierUpCount: 5, carrierDownCount: 5 }), clock.now());
    const back = (JSON.parse(renderLinksJson({ links: () => table.links(), losses: causes.get }, clock.now())) as { links: Array<Record<string, unknown>> }).links[0]!;
    assert.equal('carrier_down_cause' in back, false, 'no cause while it has carrier');
    assert.equal('protodown_reason' in back, false);
    // without the accounting (a source that has none): no losses, the current cause still
    const plain = new LinkTable();
    plain.apply(lost(3, { ifname: 'eth9' }), 0);
    const bare = (JSON.parse(renderLinksJson(plain, 0)) as { links: Array<Record<string, unknown>> }).links[0]!;
    assert.deepEqual(bare['carrier_losses'], {});
    assert.equal(bare['carrier_down_cause'], 'carrier');
  });

  it('the page: a Cause and a Losses column, escaped like every cell', () => {
    const { table, causes, clock } = lab();
    table.apply(lost(3, { operstate: IF_OPER_LOWERLAYERDOWN }), clock.now());
    table.apply(up({ carrierChanges: 8, carrierUpCount: 4, carrierDownCount: 4 }), clock.now());
    table.apply(lost(5, { protoDown: 1, protoDownReason: 0x3 }), clock.now());
    const html = renderStatusPage({ name: 'x', version: '1', telemetryPath: '/metrics' }, { links: () => table.links(), losses: causes.get }, clock.now());
    assert.ok(html.includes(`data-device="${escapeHtml(EVIL)}"`));
    assert.ok(!html.includes('<b>'));
    assert.match(html, /<th[^>]*>Cause<\/th>/);
    assert.match(html, /<th[^>]*>Losses<\/th>/);
    assert.match(html, /<td class="cause" title="protodown reason 0x3">protodown \(reason 0x3\)<\/td>/);
    assert.match(html, /<td class="losses" data-losses="\{&#34;protodown&#34;:1,&#34;lower_layer&#34;:1,&#34;unknown&#34;:1\}">protodown 1, lower_layer 1, unknown 1<\/td>/);

    table.apply(up({ carrierChanges: 10, carrierUpCount: 5, carrierDownCount: 5 }), clock.now());
    const again = renderStatusPage({ name: 'x', version: '1', telemetryPath: '/metrics' }, { links: () => table.links(), losses: causes.get }, clock.now());
    assert.match(again, /<td class="cause"><\/td>/, 'no cause with carrier');
  });

  it('the current cause follows the state: up with carrier, none', () => {
    const table = new LinkTable();
    table.apply(up({ ifname: 'eth9', flags: IFF_UP | IFF_LOWER_UP, operstate: IF_OPER_UP }), 0);
    const json = (JSON.parse(renderLinksJson(table, 0)) as { links: Array<Record<string, unknown>> }).links[0]!;
    assert.equal('carrier_down_cause' in json, false);
  });
});
