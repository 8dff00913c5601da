// A storm long enough to keep the socket's receive queue full while the resync dump runs. After an
// overflow the kernel reports no further loss until the queue has been emptied (it sets
// NETLINK_S_CONGESTED), so a resync started before that can complete and still miss changes that
// were dropped after it passed their link, with no new ENOBUFS to say so. The exporter must wait
// for the socket to be read empty before it dumps: then every count is exact after the storm.
// The exporter keeps up with this storm on average, so the buffer here is small and every burst
// overflows it: the test demands exact counts through continuous losses. The unit test "after an
// overrun the resync waits until the socket has been read empty" in monitor.test.ts pins the
// rule itself.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, startExporter, type RunningExporter } from '../helpers/exporter.js';
import { parseSamples, sampleValue } from '../helpers/exposition.js';
import { expectExact } from '../helpers/kernel-match.js';
import { enterNetns, requireRoot, type Netns } from '../helpers/netns.js';
import { createVethLab } from '../helpers/veth-lab.js';

const PAIRS = 1000;
const GROUP = 31;

describe('a storm that keeps the receive queue full through the resync', { timeout: 180_000 }, () => {
  let ns: Netns;
  let leave: (() => void) | undefined;
  let exporter: RunningExporter | undefined;

  before(async (t) => {
    if (!requireRoot(t as never)) return;
    ns = await createVethLab('lsx-congest', PAIRS, 'lnk', 'peer', () => GROUP);
    leave = enterNetns(ns.name);
  });

  after(async () => {
    await exporter?.stop();
    leave?.();
    if (ns) await ns.destroy();
  });

  it('counts are exact soon after the storm, although the kernel stops reporting losses mid-storm', async (t) => {
    if (!requireRoot(t)) return;
    // One request below flips 1,000 peers: a burst of 2,000 notifications (~2.6 MB) at once. The
    // exporter keeps up with this storm on average, so the buffer is small (256 KiB asked,
    // 512 KiB granted): every burst overflows it, and losses go on through the resync.
    exporter = await startExporter(ns, ['--log.level=warn', '--no-collector.ethtool', '--netlink.receive-buffer-bytes=256KiB']);
    const running = exporter;
    await eventually('ready', async () => (await running.get('/-/ready')).status === 200);
    const storm: string[] = [];
    for (let round = 0; round < 200; round++) storm.push(`link set group ${GROUP} down`, `link set group ${GROUP} up`);
    await ns.ipBatch(storm);
    const samples = await expectExact(ns, async () => parseSamples((await running.get("/metrics")).text), 10_000);
    const overruns = sampleValue(samples, 'linkstate_exporter_netlink_overruns_total') ?? 0;
    assert.ok(overruns > 0, 'the storm must overrun the buffer');
    assert.ok((sampleValue(samples, 'linkstate_exporter_netlink_resyncs_total') ?? 0) >= 1);
  });
});
