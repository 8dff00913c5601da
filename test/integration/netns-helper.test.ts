// The netns test helper itself: children run inside the namespace, the test thread can enter it
// and reach a server on its 127.0.0.1, and the sysfs counters are the namespace's.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { get } from 'node:http';
import { test } from 'node:test';
import { createNetns, enterNetns, requireRoot } from '../helpers/netns.js';

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

test('netns helper', async (t) => {
  if (!requireRoot(t)) return;
  const netns = await createNetns('lsx-helper');
  try {
    await t.test('commands run inside the namespace, which holds only lo (up)', async () => {
      const links = JSON.parse(await netns.run('ip', ['-j', 'link', 'show'])) as { ifname: string; flags: string[] }[];
      assert.deepEqual(links.map((l) => l.ifname), ['lo']);
      assert.ok(links[0]?.flags.includes('UP'));
      await assert.rejects(netns.run('ip', ['link', 'show', 'dev', 'nonexistent0']), /nonexistent0|does not exist/);
    });

    await t.test('the test thread enters the namespace and reaches a server on its 127.0.0.1', async () => {
      const token = randomUUID();
      const server = netns.spawn(
        process.execPath,
        ['-e', `require('http').createServer((q, s) => s.end(${JSON.stringify(token)})).listen(0, '127.0.0.1', function () { console.log(this.address().port) })`],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const port = await new Promise<number>((resolve, reject) => {
        server.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
        server.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
      });
      const leave = enterNetns(netns.name);
      try {
        assert.equal(await httpGet(`http://127.0.0.1:${port}/`), token);
        const response = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
        assert.equal(await response.text(), token);
      } finally {
        leave();
      }
      // Back home the namespace's server is out of reach (whatever answers here, it is not it).
      const home = await httpGet(`http://127.0.0.1:${port}/`).catch((error: NodeJS.ErrnoException) => error.code);
      assert.notEqual(home, token);
    });

    await t.test('kernel counters come from the namespace\'s own sysfs', async () => {
      await netns.ipBatch(['link add lsxh0 type veth peer name lsxh1', 'link set lsxh0 up', 'link set lsxh1 up']);
      const before = await netns.kernelCounters();
      assert.deepEqual([...before.keys()].sort(), ['lo', 'lsxh0', 'lsxh1']);
      assert.equal(existsSync('/sys/class/net/lsxh0'), false, 'the host sysfs does not show it');
      await netns.ipBatch(['link set lsxh1 down']);
      const after = await netns.kernelCounters();
      const a0 = after.get('lsxh0');
      const b0 = before.get('lsxh0');
      assert.ok(a0 !== undefined && b0 !== undefined);
      assert.equal(a0.carrier, 0);
      assert.equal(a0.operstate, 'lowerlayerdown');
      assert.equal(a0.down - b0.down, 1);
      assert.equal(a0.carrierChanges - b0.carrierChanges, 1);
      const peer = after.get('lsxh1');
      assert.equal(peer?.adminUp, false);
      assert.equal(peer?.carrier, undefined, 'sysfs refuses carrier of an admin-down device');
    });
  } finally {
    await netns.destroy();
  }
  assert.equal(existsSync(`/run/netns/${netns.name}`), false);
});
