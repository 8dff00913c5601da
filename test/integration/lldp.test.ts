// --collector.lldp against a real neighbour nobody here wrote: Debian's lldpd in a peer namespace
// at the other end of a veth, configured by lldpcli as a switch port would be (system name, port
// id, port description). The exporter runs in its own namespace with the flag on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNetns, enterNetns, requireRoot, type Netns } from '../helpers/netns.js';
import { startExporter, type RunningExporter } from '../helpers/exporter.js';
import { startLldpd, type Lldpd } from '../helpers/lldpd.js';
import { requireCommand, waitFor } from '../helpers/repo.js';

const DEVICE = 'lldpn0';
const PEER = 'peer0';

interface Lab {
  exp: Netns;
  peer: Netns;
  exporter: RunningExporter;
  lldpd: Lldpd;
}

async function withLab(fn: (lab: Lab) => Promise<void>): Promise<void> {
  const exp = await createNetns('lldpn-exp');
  let peer: Netns | undefined;
  let lldpd: Lldpd | undefined;
  let exporter: RunningExporter | undefined;
  const leave = enterNetns(exp.name);
  try {
    peer = await createNetns('lldpn-peer');
    await exp.ipBatch([`link add ${DEVICE} type veth peer name ${PEER} netns ${peer.name}`, `link set ${DEVICE} up`]);
    await peer.ipBatch([`link set ${PEER} up`]);
    exporter = await startExporter(exp, ['--collector.lldp', '--collector.lldp.hold-time=1h']);
    lldpd = await startLldpd(peer, PEER);
    await fn({ exp, peer, exporter, lldpd });
    const { code } = await exporter.stop();
    assert.equal(code, 0, exporter.log());
  } finally {
    await lldpd?.stop();
    if (exporter !== undefined && exporter.child.exitCode === null) await exporter.stop();
    leave();
    await peer?.destroy();
    await exp.destroy();
  }
}

async function metrics(exporter: RunningExporter): Promise<string> {
  return (await exporter.get('/metrics')).text;
}

const sample = (body: string, name: string, labels: string): string | undefined =>
  new RegExp(`^${name}\\{${labels.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\} (\\S+)$`, 'm').exec(body)?.[1];

test('lldpd at the other end of a veth: shown within seconds, kept stale after carrier loss, replaced after a change', async (t) => {
  if (!requireRoot(t)) return;
  if (!requireCommand(t, 'lldpd', 'lldpd')) return;
  await withLab(async ({ exporter, peer, lldpd }) => {
    await lldpd.cli(['configure', 'lldp', 'tx-interval', '1']);
    await lldpd.cli(['configure', 'system', 'hostname', 'leaf-07']);
    await lldpd.cli(['configure', 'ports', PEER, 'lldp', 'portidsubtype', 'local', 'Ethernet1/12', 'description', 'to db-12 "eth3"']);
    const before = await metrics(exporter);
    assert.doesNotMatch(before, /^linkstate_lldp_neighbor_info/m, 'no neighbour before lldpd speaks');
    assert.match(before, /^linkstate_exporter_lldp_frames_total 0$/m);

    // 1. lldpd's first frame: the neighbour is there within a few seconds.
    const resumed = Date.now();
    await lldpd.cli(['resume']);
    const info = await waitFor(
      'the neighbour in /metrics',
      async () => /^linkstate_lldp_neighbor_info\{device="lldpn0",chassis_id="([0-9a-f:]+)",port_id="Ethernet1\/12",port_description="to db-12 \\"eth3\\"",system_name="leaf-07",management_address="[^"]*"\} 1$/m.exec(await metrics(exporter)) ?? undefined,
      5_000,
      50,
    );
    const shownMs = Date.now() - resumed;
    t.diagnostic(`neighbour shown ${shownMs} ms after lldpcli resume`);
    const chassis = info[1]!;
    const id = `device="${DEVICE}",chassis_id="${chassis}",port_id="Ethernet1/12"`;
    let body = await metrics(exporter);
    assert.equal(sample(body, 'linkstate_lldp_neighbor_stale', id), '0');
    const lastSeen = Number(sample(body, 'linkstate_lldp_neighbor_last_seen_timestamp_seconds', id));
    assert.ok(Math.abs(lastSeen * 1000 - Date.now()) < 5_000, `last seen ${lastSeen}`);
    assert.match(body, /^linkstate_exporter_lldp_frames_total [1-9]\d*$/m);
    assert.match(body, /^linkstate_exporter_lldp_frames_dropped_total\{reason="unknown_link"\} 0$/m);

    const api = JSON.parse((await exporter.get('/api/v1/links')).text) as { links: { device: string; lldp_neighbors?: Record<string, unknown>[] }[] };
    const row = api.links.find((l) => l.device === DEVICE);
    assert.deepEqual(
      row?.lldp_neighbors?.map((n) => [n['system_name'], n['port_id'], n['port_description'], n['stale']]),
      [['leaf-07', 'Ethernet1/12', 'to db-12 "eth3"', false]],
    );
    const page = (await exporter.get('/')).text;
    assert.ok(page.includes('<td class="neighbor">leaf-07 port Ethernet1/12</td>'), 'the status page names it');

    // 2. The veth peer set down: carrier lost; the neighbour stays, stale, past lldpd's TTL
    // (4 s: tx-interval 1 times tx-hold 4).
    await peer.ipBatch([`link set ${PEER} down`]);
    await waitFor('stale', async () => sample(await metrics(exporter), 'linkstate_lldp_neighbor_stale', id) === '1', 5_000, 50);
    await new Promise((r) => setTimeout(r, 6_000));
    body = await metrics(exporter);
    assert.match(body, /^linkstate_carrier\{device="lldpn0"\} 0$/m);
    assert.equal(sample(body, 'linkstate_lldp_neighbor_stale', id), '1', 'kept past the TTL while without carrier');
    assert.ok(body.includes(`linkstate_lldp_neighbor_info{${id},port_description="to db-12 \\"eth3\\"",system_name="leaf-07",`), 'same info series');

    // 3. lldpd's settings change (another switch, another port) and the link comes back: the new
    // neighbour replaces the stale one.
    await lldpd.cli(['configure', 'system', 'hostname', 'leaf-09']);
    await lldpd.cli(['configure', 'ports', PEER, 'lldp', 'portidsubtype', 'local', 'Ethernet2/1', 'description', 'moved']);
    await peer.ipBatch([`link set ${PEER} up`]);
    const moved = `device="${DEVICE}",chassis_id="${chassis}",port_id="Ethernet2/1"`;
    await waitFor('the new neighbour', async () => sample(await metrics(exporter), 'linkstate_lldp_neighbor_stale', moved) === '0', 10_000, 50);
    body = await metrics(exporter);
    assert.ok(body.includes(`linkstate_lldp_neighbor_info{${moved},port_description="moved",system_name="leaf-09",`), body);
    assert.equal(sample(body, 'linkstate_lldp_neighbor_stale', id), undefined, 'the stale neighbour gave way');
    assert.equal((body.match(/^linkstate_lldp_neighbor_info\{/gm) ?? []).length, 1, 'one neighbour');
    await exporter.logged(/lldp neighbor.*system_name=leaf-09/);
  });
});

test('without --collector.lldp nothing LLDP is exported nor shown', async (t) => {
  if (!requireRoot(t)) return;
  const exp = await createNetns('lldpn-off');
  const leave = enterNetns(exp.name);
  try {
    const exporter = await startExporter(exp, []);
    try {
      assert.doesNotMatch(await metrics(exporter), /lldp/);
      assert.doesNotMatch((await exporter.get('/api/v1/links')).text, /lldp/);
      assert.doesNotMatch((await exporter.get('/')).text, /neighbor/i);
    } finally {
      await exporter.stop();
    }
  } finally {
    leave();
    await exp.destroy();
  }
});
