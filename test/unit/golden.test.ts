// The whole /metrics body for a fixed table, byte for byte. The table is built by replaying the
// datagrams recorded from the real kernel (test/fixtures/netlink) through the monitor with a
// fixed clock; families that depend on the process (process_*, nodejs_*, build_info) are
// filtered out. The body is taken the way the HTTP server takes it: from MetricsExposition as its
// MetricsSource (src/web/server.ts), pieces joined in order, plain and gzip-decoded, so the golden
// files pin what a scraper receives. UPDATE_GOLDEN=1 rewrites the golden files for review.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import { LinkTable } from '../../src/links/table.js';
import { createLogger } from '../../src/runtime/logger.js';
import { ExporterMetrics } from '../../src/metrics/exporter-metrics.js';
import { MetricsExposition, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE } from '../../src/metrics/exposition.js';
import { LINK_FAMILIES, LinkFamiliesRenderer } from '../../src/metrics/link-families.js';
import { CarrierCauses } from '../../src/links/carrier-causes.js';
import { LinkMonitor } from '../../src/rtnetlink/link-monitor.js';
import type { MetricsSource } from '../../src/web/server.js';
import { FakeSocket } from '../helpers/fake-socket.js';
import { promtoolCheckMetrics } from '../helpers/promtool.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { decodeEthtoolMessage, type EthtoolMessage } from '../../src/ethtool/index.js';
import { decodeMessages } from '../../src/netlink/message.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/netlink/', import.meta.url));
const GOLDEN = fileURLToPath(new URL('../../../test/golden/', import.meta.url));
const START_MS = 1_790_000_000_000;

interface Fixture {
  name: string;
  step: string;
  data: Buffer;
  senderPid: number;
}

function fixtures(): Fixture[] {
  // The veth scenario's captures (NN-*): one namespace. The causes-* scenario ran in another whose
  // ifindexes overlap it, and the uapi-built-* ones are not captures.
  const names = readdirSync(FIXTURES).filter((n) => /^\d+-.*\.bin$/.test(n)).sort();
  assert.ok(names.length > 0, `no fixtures in ${FIXTURES}`);
  return names.map((n) => {
    const record = JSON.parse(readFileSync(FIXTURES + n.replace(/\.bin$/, '.json'), 'utf8')) as { step: string; senderPid: number };
    return { name: n, step: record.step, data: readFileSync(FIXTURES + n), senderPid: record.senderPid };
  });
}

/** Replays the recorded datagrams (optionally only some steps), one simulated second apart. */
function replay(filter: (f: Fixture) => boolean) {
  const clock = new ManualClock(START_MS);
  const table = new LinkTable();
  const causes = new CarrierCauses(clock);
  table.subscribe(causes.onChange);
  const renderer = new LinkFamiliesRenderer(table, {}, LINK_FAMILIES, causes.get);
  const metrics = new ExporterMetrics({ version: '0.0.0-golden', revision: 'golden' }, () => renderer.exportedCount);
  const monitor = new LinkMonitor({
    openSocket: () => new FakeSocket(),
    table,
    metrics,
    logger: createLogger({ level: 'error', format: 'logfmt', destination: { write: () => undefined } }),
    clock,
  });
  const socket = monitor.start() as FakeSocket;
  for (const f of fixtures().filter(filter)) {
    clock.stall(1000); // timestamps only: the replay is a recording, no timer of the monitor runs
    socket.deliver({ kind: 'datagram', data: f.data, senderPid: f.senderPid, truncated: false });
  }
  applyEthtoolFixtures(table);
  clock.stall(60_000);
  const source: MetricsSource = new MetricsExposition(renderer, metrics, () => clock.now());
  return { table, source };
}

const ETHTOOL_FIXTURES = fileURLToPath(new URL('../../../test/fixtures/ethtool/', import.meta.url));

/** The one ethtool message of a uapi-built fixture, decoded. */
function ethtoolFixture(name: string): EthtoolMessage {
  const { familyId } = JSON.parse(readFileSync(`${ETHTOOL_FIXTURES}${name}.json`, 'utf8')) as { familyId: number };
  const [msg] = decodeMessages(readFileSync(`${ETHTOOL_FIXTURES}${name}.bin`));
  assert.ok(msg);
  return decodeEthtoolMessage(msg, familyId);
}

/**
 * What the ethtool client applies to the table, from uapi-built replies (veth has no advertised
 * modes, SQI or PHY counters): uplink0 (ifindex 3) came back at 1000 Mb/s of the 10000 it
 * advertises and its driver counted 7 PHY link-down events, and vethb (ifindex 2) has a PHY that
 * reports SQI 5 of 7.
 */
function applyEthtoolFixtures(table: LinkTable): void {
  const modes = ethtoolFixture('uapi-built-linkmodes-verbose-renegotiated-slower');
  assert.ok(modes.kind === 'linkmodes' && modes.linkModes.ifindex === 3);
  table.applyLinkModes(3, modes.linkModes);
  const sqi = ethtoolFixture('uapi-built-linkstate-sqi');
  assert.ok(sqi.kind === 'linkstate');
  table.applyLinkState(2, sqi.linkState);
  const downs = ethtoolFixture('uapi-built-linkstate-ext-down-cnt');
  assert.ok(downs.kind === 'linkstate' && downs.linkState.ifindex === 3);
  table.applyLinkState(3, downs.linkState);
}

/**
 * The body the server sends for these request flags, as text: checked to be plain or one gzip
 * member as announced, with the content type the format asks for.
 */
async function scrape(source: MetricsSource, openMetrics: boolean, gzip: boolean): Promise<string> {
  const e = await source.expose({ openMetrics, gzip });
  assert.equal(e.contentType, openMetrics ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE);
  assert.equal(e.contentEncoding, gzip ? 'gzip' : undefined);
  const body = Buffer.concat(Buffer.isBuffer(e.body) ? [e.body] : e.body);
  return (gzip ? zlib.gunzipSync(body) : body).toString('utf8');
}

const UNSTABLE = /^(# (HELP|TYPE) )?(process_|nodejs_|linkstate_exporter_build_info)/;
const stable = (text: string): string =>
  text
    .split('\n')
    .filter((l) => !UNSTABLE.test(l))
    .join('\n');

function compare(actual: string, file: string): void {
  const path = GOLDEN + file;
  if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(path, actual);
  assert.ok(existsSync(path), `${path} missing: run with UPDATE_GOLDEN=1 and review it`);
  assert.equal(actual, readFileSync(path, 'utf8'));
}

describe('golden /metrics', () => {
  for (const gzip of [false, true]) {
    const as = gzip ? ', gzip-decoded' : '';
    it(`Prometheus text format matches test/golden/metrics.prom byte for byte${as}`, async () => {
      const { source } = replay((f) => f.step !== 'delete');
      compare(stable(await scrape(source, false, gzip)), 'metrics.prom');
    });

    it(`OpenMetrics format matches test/golden/metrics.openmetrics byte for byte${as}`, async () => {
      const { source } = replay((f) => f.step !== 'delete');
      const text = stable(await scrape(source, true, gzip));
      assert.ok(text.endsWith('# EOF\n'));
      compare(text, 'metrics.openmetrics');
    });
  }

  it('passes promtool check metrics (the whole exposition, process metrics included)', async (t) => {
    const { source } = replay((f) => f.step !== 'delete');
    promtoolCheckMetrics(t, await scrape(source, false, false));
  });

  it('after the recorded deletions only lo is left (an AF_BRIDGE RTM_DELLINK deletes nothing)', () => {
    const { table } = replay(() => true);
    assert.deepEqual([...table.links()].map((l) => l.name), ['lo']);
    const bridgePortLeft = replay((f) => f.step !== 'delete' || f.name.startsWith('37-'));
    assert.ok([...bridgePortLeft.table.links()].some((l) => l.name === 'uplink0'));
  });
});
