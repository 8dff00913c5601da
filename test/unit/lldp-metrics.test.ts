import { test } from 'node:test';
import { promtoolCheckMetrics } from '../helpers/promtool.js';
import assert from 'node:assert/strict';
import { LinkTable } from '../../src/links/table.js';
import { AF_UNSPEC, IFF_LOWER_UP, IFF_UP } from '../../src/rtnetlink/constants.js';
import { NeighborStore } from '../../src/lldp/neighbors.js';
import { LldpNeighborFamilies } from '../../src/metrics/lldp-families.js';
import { ExporterMetrics } from '../../src/metrics/exporter-metrics.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { neighborAnnouncement } from '../helpers/lldp-bytes.js';

const START_MS = 1_790_000_000_000;

function link(table: LinkTable, ifindex: number, ifname: string): void {
  table.apply(
    { kind: 'new', family: AF_UNSPEC, ifindex, ifname, flags: IFF_UP | IFF_LOWER_UP, change: 0, linkType: 1, carrier: 1 },
    START_MS,
  );
}

const announce = neighborAnnouncement;

function setup(filter: { include?: RegExp; exclude?: RegExp } = {}) {
  const clock = new ManualClock(START_MS);
  const table = new LinkTable();
  link(table, 2, 'eth0');
  link(table, 3, 'eth1');
  const store = new NeighborStore({ clock, holdTimeMs: 3600_000 });
  const families = new LldpNeighborFamilies(store, table, filter);
  const text = (format: 'prometheus' | 'openmetrics' = 'prometheus'): string => Buffer.concat(families.pieces(format)).toString('utf8');
  return { clock, table, store, families, text };
}

test('no neighbour: no LLDP family at all, headers included', () => {
  const { text } = setup();
  assert.equal(text(), '');
});

test('a neighbour: info, stale, last seen and the partner speed, by device name', () => {
  const { store, clock, text } = setup();
  store.receive(3, announce({ macPhy: { speedBytesPerSecond: 1_250_000_000, duplex: 'full' } }));
  clock.advance(1500);
  store.receive(2, announce({ chassisId: '52:54:00:00:00:01', portId: 'Ethernet1/1', systemName: undefined, managementAddress: undefined, portDescription: undefined }));
  const id3 = 'device="eth1",chassis_id="52:54:00:aa:bb:cc",port_id="Ethernet1/12"';
  const id2 = 'device="eth0",chassis_id="52:54:00:00:00:01",port_id="Ethernet1/1"';
  assert.equal(
    text(),
    '# HELP linkstate_lldp_neighbor_info ' + LldpNeighborFamilies.HELP.info + '\n' +
      '# TYPE linkstate_lldp_neighbor_info gauge\n' +
      `linkstate_lldp_neighbor_info{${id2},port_description="",system_name="",management_address=""} 1\n` +
      `linkstate_lldp_neighbor_info{${id3},port_description="to db-12 eth3",system_name="leaf-07",management_address="192.0.2.7"} 1\n` +
      '# HELP linkstate_lldp_neighbor_stale ' + LldpNeighborFamilies.HELP.stale + '\n' +
      '# TYPE linkstate_lldp_neighbor_stale gauge\n' +
      `linkstate_lldp_neighbor_stale{${id2}} 0\n` +
      `linkstate_lldp_neighbor_stale{${id3}} 0\n` +
      '# HELP linkstate_lldp_neighbor_last_seen_timestamp_seconds ' + LldpNeighborFamilies.HELP.lastSeen + '\n' +
      '# TYPE linkstate_lldp_neighbor_last_seen_timestamp_seconds gauge\n' +
      `linkstate_lldp_neighbor_last_seen_timestamp_seconds{${id2}} ${(START_MS + 1500) / 1000}\n` +
      `linkstate_lldp_neighbor_last_seen_timestamp_seconds{${id3}} ${START_MS / 1000}\n` +
      '# HELP linkstate_lldp_neighbor_speed_bytes ' + LldpNeighborFamilies.HELP.speed + '\n' +
      '# TYPE linkstate_lldp_neighbor_speed_bytes gauge\n' +
      `linkstate_lldp_neighbor_speed_bytes{${id3}} 1250000000\n`,
  );
  assert.match(text('openmetrics'), /^# TYPE linkstate_lldp_neighbor info$/m, 'OpenMetrics: an info family without _info');
});

test('stale after carrier loss: the info series keeps its labels, the stale gauge turns 1', () => {
  const { store, text } = setup();
  store.receive(3, announce());
  const info = /^linkstate_lldp_neighbor_info\{.*\} 1$/m.exec(text())?.[0];
  store.carrierLost(3);
  assert.equal(/^linkstate_lldp_neighbor_info\{.*\} 1$/m.exec(text())?.[0], info);
  assert.match(text(), /^linkstate_lldp_neighbor_stale\{device="eth1",chassis_id="52:54:00:aa:bb:cc",port_id="Ethernet1\/12"\} 1$/m);
});

test('wire text is escaped in labels: quotes, backslashes, line feeds cannot forge a series', () => {
  const { store, text } = setup();
  store.receive(3, announce({ systemName: 'evil"} 1\nlinkstate_up{device="eth0"} 0\n', portDescription: 'back\\slash', chassisId: 'a"b' }));
  const body = text();
  assert.ok(body.includes('system_name="evil\\"} 1\\nlinkstate_up{device=\\"eth0\\"} 0\\n"'), body);
  assert.ok(body.includes('port_description="back\\\\slash"'));
  assert.ok(body.includes('chassis_id="a\\"b"'));
  for (const line of body.split('\n')) if (line !== '' && !line.startsWith('#')) assert.match(line, /^linkstate_lldp_neighbor_\w+\{/);
});

test('a renamed link moves its neighbour to the new device label; filtered devices are not exported', () => {
  const { store, table, text } = setup({ exclude: /^eth0$/ });
  store.receive(2, announce({ portId: 'p2' }));
  store.receive(3, announce());
  assert.doesNotMatch(text(), /device="eth0"/);
  table.apply({ kind: 'new', family: AF_UNSPEC, ifindex: 3, ifname: 'uplink0', flags: IFF_UP | IFF_LOWER_UP, change: 0, linkType: 1, carrier: 1 }, START_MS);
  assert.match(text(), /device="uplink0"/);
  assert.doesNotMatch(text(), /device="eth1"/);
});

test('the pieces are cached between changes and rendered anew after one', () => {
  const { store, clock, families } = setup();
  store.receive(3, announce());
  const first = families.pieces('prometheus');
  assert.equal(families.pieces('prometheus')[1], first[1], 'the same Buffer while nothing changed');
  clock.advance(1000);
  store.receive(3, announce());
  assert.notEqual(families.pieces('prometheus')[1], first[1], 'last seen moved');
});

test('exporter counters: registered only with LLDP, every reason declared at 0', async () => {
  const plain = new ExporterMetrics({ version: 'v', revision: 'r' }, () => 0);
  assert.doesNotMatch(await plain.renderPrometheus(), /lldp/);
  const metrics = new ExporterMetrics({ version: 'v', revision: 'r' }, () => 0);
  const drops = new Map<string, number>([['truncated', 3]]);
  let frames = 7;
  metrics.registerLldp(['truncated', 'shutdown', 'neighbor_limit'], () => frames, (reason) => drops.get(reason) ?? 0);
  let body = await metrics.renderPrometheus();
  assert.match(body, /^linkstate_exporter_lldp_frames_total 7$/m);
  assert.match(body, /^linkstate_exporter_lldp_frames_dropped_total\{reason="truncated"\} 3$/m);
  assert.match(body, /^linkstate_exporter_lldp_frames_dropped_total\{reason="shutdown"\} 0$/m);
  assert.match(body, /^linkstate_exporter_lldp_frames_dropped_total\{reason="neighbor_limit"\} 0$/m);
  frames = 9;
  drops.set('neighbor_limit', 2);
  body = await metrics.renderPrometheus();
  assert.match(body, /^linkstate_exporter_lldp_frames_total 9$/m);
  assert.match(body, /^linkstate_exporter_lldp_frames_dropped_total\{reason="neighbor_limit"\} 2$/m);
});

test('passes promtool check metrics: the neighbour families and the exporter LLDP counters', async (t) => {
  const { store, text } = setup();
  store.receive(3, announce({ macPhy: { speedBytesPerSecond: 1_250_000_000, duplex: 'full' } }));
  store.receive(2, announce({ chassisId: '52:54:00:00:00:01', portId: 'Ethernet1/1', systemName: 'sw "a"\\b' }));
  store.carrierLost(2);
  const metrics = new ExporterMetrics({ version: 'v', revision: 'r' }, () => 0);
  metrics.registerLldp(['truncated', 'shutdown', 'neighbor_limit'], () => 7, () => 1);
  const exposition = text() + (await metrics.renderPrometheus());
  assert.match(exposition, /^linkstate_lldp_neighbor_stale\{device="eth0",.*\} 1$/m);
  promtoolCheckMetrics(t, exposition);
});
