import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { LinkTable } from '../../src/links/table.js';
import { createLogger } from '../../src/runtime/logger.js';
import {
  AF_UNSPEC,
  IFF_LOWER_UP,
  IFF_UP,
  IF_OPER_LOWERLAYERDOWN,
  IF_OPER_UP,
} from '../../src/rtnetlink/constants.js';
import type { LinkMessage } from '../../src/netlink/types.js';
import { createApp, startServer, type MetricsSource } from '../../src/web/server.js';
import { ago, escapeHtml, renderLinksJson, renderStatusPage } from '../../src/web/status-page.js';
import { request } from '../helpers/http-request.js';

const EVIL_NAME = `e"v'il<b>&`;
const EVIL_ALIAS = '<img src=x onerror=alert(1)>"\'&';

function message(ifindex: number, ifname: string, up: boolean, extra: Partial<LinkMessage> = {}): LinkMessage {
  return {
    kind: 'new', family: AF_UNSPEC, ifindex, ifname, flags: IFF_UP | (up ? IFF_LOWER_UP : 0), carrier: up ? 1 : 0,
    operstate: up ? IF_OPER_UP : IF_OPER_LOWERLAYERDOWN, carrierChanges: up ? 2 : 3, carrierUpCount: 1, carrierDownCount: up ? 1 : 2,
    ...extra,
  } as unknown as LinkMessage;
}

function lab(): LinkTable {
  const table = new LinkTable();
  table.apply(message(2, 'eth0', true), 1_000);
  table.apply(message(3, EVIL_NAME, true, { ifalias: EVIL_ALIAS, infoKind: 'veth' } as Partial<LinkMessage>), 1_000);
  table.apply(message(3, EVIL_NAME, false, { ifalias: EVIL_ALIAS, infoKind: 'veth' } as Partial<LinkMessage>), 5_000);
  return table;
}

test('the page: one row per link in ifindex order, state in words, untrusted text escaped everywhere', () => {
  const table = lab();
  const html = renderStatusPage({ name: 'linkstate-exporter', version: '1<2>', telemetryPath: '/metrics' }, table, 65_000);
  const rows = html.match(/<tr class="(up|down)" data-ifindex="\d+"/g) ?? [];
  assert.deepEqual(rows, ['<tr class="up" data-ifindex="2"', '<tr class="down" data-ifindex="3"']);
  assert.ok(!html.includes('<img'), 'alias not markup');
  assert.ok(!html.includes('<b>'), 'name not markup');
  assert.ok(html.includes(`data-device="${escapeHtml(EVIL_NAME)}"`), 'attribute value escaped (quotes too)');
  assert.ok(html.includes(`<td class="alias">${escapeHtml(EVIL_ALIAS)}</td>`));
  assert.ok(html.includes('1&#60;2&#62;'), 'version escaped');
  assert.match(html, /<td class="state down">down<\/td>/);
  assert.match(html, /<td class="oper">lowerlayerdown<\/td>/);
  assert.match(html, /title="1970-01-01T00:00:05\.000Z">1 min ago<\/td>/, 'last change: ago, exact time on hover');
  assert.match(html, /<span id="counts">2 links, 1 down<\/span>/);
  assert.match(html, /<script src="\/static\/status.js" defer><\/script>/);
  assert.equal((html.match(/<script/g) ?? []).length, 1, 'no inline script');
  for (const href of ['/metrics', '/api/v1/links', '/-/healthy', '/-/ready']) assert.ok(html.includes(`href="${href}"`), href);
});

test('/api/v1/links JSON: fields, RFC 3339 last change, down seconds; names and aliases exact', () => {
  const body = JSON.parse(renderLinksJson(lab(), 65_000)) as { links: Array<Record<string, unknown>> };
  assert.equal(body.links.length, 2);
  const evil = body.links[1]!;
  assert.equal(evil['device'], EVIL_NAME);
  assert.equal(evil['alias'], EVIL_ALIAS);
  assert.deepEqual(
    { ...evil, device: undefined, alias: undefined },
    {
      device: undefined, alias: undefined, ifindex: 3, kind: 'veth', admin_up: true, carrier: false, oper_state: 'lowerlayerdown',
      carrier_changes: 3, carrier_up_changes: 1, carrier_down_changes: 2, last_change: '1970-01-01T00:00:05.000Z', down_seconds: 60,
      carrier_down_cause: 'lower_layer', carrier_losses: {},
    },
  );
  assert.equal(body.links[0]!['last_change'], null);
  assert.equal('alias' in body.links[0]!, false);
});

test('ago', () => {
  assert.equal(ago(4_400), '4 s ago');
  assert.equal(ago(180_000), '3 min ago');
  assert.equal(ago(7_200_000), '2 h ago');
  assert.equal(ago(3 * 86_400_000), '3 d ago');
  assert.equal(ago(-5), '0 s ago');
});

const source: MetricsSource = { expose: async () => ({ contentType: 'text/plain', body: [Buffer.from('x 1\n')] }) };

test('served: page, script and API with the CSP (no inline script, style by hash); methods; no event route without a log', async () => {
  const logger = createLogger({ level: 'error', format: 'json', destination: { write: () => undefined } });
  const app = createApp({ source, telemetryPath: '/metrics', isReady: () => true, version: 't', logger, status: lab(), now: () => 65_000 });
  const running = await startServer(app, { host: '127.0.0.1', port: 0 });
  const base = `http://${running.address}`;
  try {
    const page = await request(base, '/');
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
    const style = /<style>(.*)<\/style>/.exec(page.body.toString())![1]!;
    assert.ok(csp.includes(`'sha256-${createHash('sha256').update(style).digest('base64')}'`), 'the inline style allowed by its hash');
    const script = await request(base, '/static/status.js');
    assert.equal(script.status, 200);
    assert.equal(script.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.ok(script.body.length < 8 * 1024, `script is small (${script.body.length} bytes)`);
    assert.doesNotMatch(script.body.toString(), /innerHTML|eval\(|https?:\/\//, 'untrusted text only via textContent; nothing external');
    const links = await request(base, '/api/v1/links');
    assert.equal(links.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal((JSON.parse(links.body.toString()) as { links: unknown[] }).links.length, 2);
    const head = await request(base, '/api/v1/links', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    const post = await request(base, '/api/v1/links', { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal((await request(base, '/api/v1/events')).status, 404, 'no event log given: no stream');
  } finally {
    await running.close();
  }
});

test('a page of 10,000 links is written in pieces, yielding to the event loop between them; the body is whole', async () => {
  const table = new LinkTable();
  for (let i = 1; i <= 10_000; i++) table.apply(message(i, `veth${i}`, i % 7 !== 0), 1_000);
  const logger = createLogger({ level: 'error', format: 'json', destination: { write: () => undefined } });
  const app = createApp({ source, telemetryPath: '/metrics', isReady: () => true, version: 't', logger, status: table, now: () => 65_000 });
  const running = await startServer(app, { host: '127.0.0.1', port: 0 });
  const base = `http://${running.address}`;
  try {
    for (const [path, whole] of [
      ['/', renderStatusPage({ name: 'linkstate-exporter', version: 't', telemetryPath: '/metrics' }, table, 65_000)],
      ['/api/v1/links', renderLinksJson(table, 65_000)],
    ] as const) {
      let turns = 0;
      let spinning = true;
      const spin = (): void => {
        turns += 1;
        if (spinning) setImmediate(spin);
      };
      setImmediate(spin);
      const res = await request(base, path);
      spinning = false;
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), whole, `${path}: the streamed body is the whole body`);
      assert.ok(turns >= 10_000 / 250, `${path}: the event loop turned ${turns} times while it was written`);
    }
    const json = JSON.parse(renderLinksJson(table, 65_000)) as { links: unknown[] };
    assert.equal(json.links.length, 10_000);
  } finally {
    await running.close();
  }
});

test('links of other namespaces: a Namespace cell and data-netns (escaped), netns in the JSON, one row per (namespace, ifindex)', () => {
  const own = new LinkTable();
  own.apply(message(2, 'eth0', true), 1_000);
  const pod = new LinkTable(EVIL_NAME);
  pod.apply(message(2, 'eth0', false), 1_000);
  const source = { *links() { yield* own.links(); yield* pod.links(); } };
  const html = renderStatusPage({ name: 'x', version: '1', telemetryPath: '/metrics' }, source, 5_000);
  const rows = html.match(/<tr class="(up|down)" data-ifindex="2"[^>]*>/g) ?? [];
  assert.deepEqual(rows, [
    '<tr class="up" data-ifindex="2" data-device="eth0">',
    `<tr class="down" data-ifindex="2" data-device="eth0" data-netns="${escapeHtml(EVIL_NAME)}">`,
  ]);
  assert.ok(html.includes(`<td class="netns">${escapeHtml(EVIL_NAME)}</td>`));
  assert.ok(html.includes('<td class="netns"></td>'), 'empty for our own namespace');
  const body = JSON.parse(renderLinksJson(source, 5_000)) as { links: Array<{ device: string; netns?: string; carrier: boolean }> };
  assert.deepEqual(body.links.map((l) => [l.device, l.netns, l.carrier]), [
    ['eth0', undefined, true],
    ['eth0', EVIL_NAME, false],
  ]);
  assert.equal(Object.keys(body.links[0]!).includes('netns'), false, 'no netns key for our own links');
});

test('LLDP: a Neighbour column and lldp_neighbors in the JSON, wire text escaped; none without --collector.lldp', async () => {
  const { NeighborStore } = await import('../../src/lldp/neighbors.js');
  const { ManualClock } = await import('../helpers/manual-clock.js');
  const table = lab();
  const clock = new ManualClock(60_000);
  const store = new NeighborStore({ clock, holdTimeMs: 3600_000 });
  const EVIL_SYSTEM = '<script>alert(1)</script>"&';
  store.receive(2, { chassisIdSubtype: 4, chassisId: '52:54:00:aa:bb:cc', portIdSubtype: 7, portId: 'Ethernet1/12', ttlSeconds: 120, systemName: 'leaf-07', portDescription: 'to db-12' });
  store.receive(3, { chassisIdSubtype: 7, chassisId: 'x<y', portIdSubtype: 7, portId: 'p"1', ttlSeconds: 120, systemName: EVIL_SYSTEM });
  store.carrierLost(3);
  const source = { links: () => table.links(), neighbors: (link: { ifindex: number }) => store.neighbors(link.ifindex) };
  const info = { name: 'linkstate-exporter', version: '1', telemetryPath: '/metrics' };

  const html = renderStatusPage(info, source, 65_000);
  assert.match(html, /<th class="neighbor"[^>]*>Neighbour<\/th>/);
  assert.ok(html.includes('<td class="neighbor">leaf-07 port Ethernet1/12</td>'), html);
  assert.ok(!html.includes('<script>alert'), 'system name not markup');
  assert.ok(html.includes(`<td class="neighbor">${escapeHtml(EVIL_SYSTEM)} port p&#34;1 <span class="muted">(stale)</span></td>`), html);

  const json = JSON.parse(renderLinksJson(source, 65_000)) as { links: Array<Record<string, unknown>> };
  assert.deepEqual(json.links[0]!['lldp_neighbors'], [
    { chassis_id: '52:54:00:aa:bb:cc', port_id: 'Ethernet1/12', port_description: 'to db-12', system_name: 'leaf-07', stale: false, last_seen: '1970-01-01T00:01:00.000Z' },
  ]);
  assert.equal((json.links[1]!['lldp_neighbors'] as Array<Record<string, unknown>>)[0]!['system_name'], EVIL_SYSTEM, 'exact in JSON');
  assert.equal((json.links[1]!['lldp_neighbors'] as Array<Record<string, unknown>>)[0]!['stale'], true);

  const plain = renderStatusPage(info, table, 65_000);
  assert.doesNotMatch(plain, /neighbor/i, 'no column without LLDP');
  assert.ok(!('lldp_neighbors' in (JSON.parse(renderLinksJson(table, 65_000)) as { links: Array<Record<string, unknown>> }).links[0]!));
});
